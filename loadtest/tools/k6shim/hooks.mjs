// Module hooks for the k6 dry run: 'k6', 'k6/http', ... resolve to the stand-ins in this folder,
// and the .js files of loadtest/ load as ES modules (as k6 reads them).
import { readFileSync } from 'node:fs';

const HERE = new URL('./', import.meta.url);
const LOADTEST = new URL('../../', import.meta.url).href;
const MAP = {
    k6: 'k6.mjs',
    'k6/http': 'http.mjs',
    'k6/crypto': 'crypto.mjs',
    'k6/metrics': 'metrics.mjs',
    'k6/execution': 'execution.mjs',
};

export async function resolve(specifier, context, next) {
    if (MAP[specifier]) return { url: new URL(MAP[specifier], HERE).href, shortCircuit: true };
    return next(specifier, context);
}

export async function load(url, context, next) {
    if (url.startsWith(LOADTEST) && url.endsWith('.js')) {
        return { format: 'module', source: readFileSync(new URL(url), 'utf8'), shortCircuit: true };
    }
    return next(url, context);
}
