// Runs a k6 script's setup(), ITERS iterations for each of VUS virtual users (one after another),
// and teardown(), then prints every check with its pass/fail counts. Exit 1 if a check failed or a
// request failed (k6's http_req_failed rules, responseCallback included).
// usage: node --import ./register.mjs run.mjs SCRIPT [VUS] [ITERS]
import { pathToFileURL } from 'node:url';
import { resolve as resolvePath } from 'node:path';
import { S } from './state.mjs';

const [script, vus = '1', iters = '1'] = process.argv.slice(2);
if (!script) {
    console.error('usage: run.mjs SCRIPT [VUS] [ITERS]');
    process.exit(2);
}
globalThis.__ENV = Object.assign({}, process.env);
let vu = 0;
let iter = 0;
Object.defineProperty(globalThis, '__VU', { get: () => vu });
Object.defineProperty(globalThis, '__ITER', { get: () => iter });

const m = await import(pathToFileURL(resolvePath(script)).href);
console.log('options:', JSON.stringify(m.options));
const data = m.setup ? m.setup() : undefined;
const copy = () => (data === undefined ? undefined : JSON.parse(JSON.stringify(data)));
for (let i = 0; i < +iters; i++) {
    iter = i;
    for (vu = 1; vu <= +vus; vu++) m.default(copy());
}
vu = 0;
if (m.teardown) m.teardown(copy());

let bad = 0;
for (const [name, c] of Object.entries(S.checks)) {
    if (c.fail) bad++;
    console.log(`${c.fail ? 'FAIL' : '  ok'}  ${name}  (${c.pass} passed, ${c.fail} failed)`);
}
console.log(`requests: ${S.reqs}, failed: ${S.failed}, by op and status: ${JSON.stringify(S.byStatus)}`);
for (const [name, v] of Object.entries(S.metrics)) {
    const avg = v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
    console.log(`metric ${name}: ${v.length} samples, mean ${avg.toFixed(3)}`);
}
process.exit(bad || S.failed ? 1 : 0);
