// scripts/validate/k8s.mjs - checks walletd's Kubernetes manifests against the API's types.
//
//   node k8s.mjs [--kubectl PATH] TARGET...
//
// A TARGET is a kustomization directory (built with `kubectl kustomize`) or a plain manifest
// file. Every document it yields must:
//   1. not use an apiVersion that Kubernetes has removed (REMOVED below: kubernetes-models ships
//      the removed versions too, so it would accept them);
//   2. be a kind that kubernetes-models (Kubernetes v1.36 schema) or
//      @kubernetes-models/prometheus-operator defines for that apiVersion;
//   3. pass that model's validate() (JSON Schema: wrong types, missing required fields, bad
//      enums; it does NOT report unknown fields);
//   4. type-check, as a TypeScript object literal of the model's interface, under
//      `tsc --strict` (excess property checks: an unknown or misspelt field is an error).
// Prints one line per problem and exits 1 if there is any; 0 with a summary otherwise.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import YAML from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require_ = (name) => JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8'));

// apiVersion -> the release that removed it, for every kind (or {kind: release} when only some
// kinds went). From the Kubernetes deprecated API migration guide.
const REMOVED = {
    'extensions/v1beta1': 'v1.22',
    'apps/v1beta1': 'v1.16',
    'apps/v1beta2': 'v1.16',
    'networking.k8s.io/v1beta1': 'v1.22',
    'batch/v1beta1': 'v1.25',
    'autoscaling/v2beta1': 'v1.25',
    'autoscaling/v2beta2': 'v1.26',
    'policy/v1beta1': 'v1.25',
    'discovery.k8s.io/v1beta1': 'v1.25',
    'events.k8s.io/v1beta1': 'v1.25',
    'node.k8s.io/v1beta1': 'v1.25',
    'rbac.authorization.k8s.io/v1beta1': 'v1.22',
    'apiextensions.k8s.io/v1beta1': 'v1.22',
    'apiregistration.k8s.io/v1beta1': 'v1.22',
    'authentication.k8s.io/v1beta1': 'v1.22',
    'authorization.k8s.io/v1beta1': 'v1.22',
    'coordination.k8s.io/v1beta1': 'v1.22',
    'scheduling.k8s.io/v1beta1': 'v1.22',
    'flowcontrol.apiserver.k8s.io/v1beta1': 'v1.26',
    'flowcontrol.apiserver.k8s.io/v1beta2': 'v1.29',
    'flowcontrol.apiserver.k8s.io/v1beta3': 'v1.32',
    'admissionregistration.k8s.io/v1beta1': {
        MutatingWebhookConfiguration: 'v1.22',
        ValidatingWebhookConfiguration: 'v1.22',
    },
    'certificates.k8s.io/v1beta1': { CertificateSigningRequest: 'v1.22' },
    'storage.k8s.io/v1beta1': {
        CSIDriver: 'v1.22',
        CSINode: 'v1.22',
        StorageClass: 'v1.22',
        VolumeAttachment: 'v1.22',
        CSIStorageCapacity: 'v1.27',
    },
};

const CRD_PACKAGES = { 'monitoring.coreos.com': '@kubernetes-models/prometheus-operator' };

function removedIn(apiVersion, kind) {
    const r = REMOVED[apiVersion];
    if (!r) return null;
    return typeof r === 'string' ? r : r[kind] || null;
}

// The module that defines apiVersion/kind, e.g. kubernetes-models/apps/v1/Deployment.
function modulePath(apiVersion, kind) {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    if (!/^[A-Za-z0-9]+$/.test(kind) || !/^v[0-9a-z]+$/.test(version || '')) return null;
    if (group === '') return `kubernetes-models/${version}/${kind}`;
    if (CRD_PACKAGES[group]) return `${CRD_PACKAGES[group]}/${group}/${version}/${kind}`;
    return `kubernetes-models/${group}/${version}/${kind}`;
}

function load(target, kubectl) {
    const stat = fs.statSync(target);
    if (stat.isDirectory()) {
        try {
            return execFileSync(kubectl, ['kustomize', target], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (e) {
            throw new Error(`kubectl kustomize ${target} failed: ${(e.stderr || e.message).trim()}`);
        }
    }
    return fs.readFileSync(target, 'utf8');
}

function describe(doc) {
    const name = doc && doc.metadata && doc.metadata.name;
    return `${(doc && doc.kind) || '?'}/${name || '?'}`;
}

async function main(argv) {
    let kubectl = 'kubectl';
    const targets = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--kubectl') kubectl = argv[++i];
        else targets.push(argv[i]);
    }
    if (targets.length === 0) {
        console.error('usage: node k8s.mjs [--kubectl PATH] DIR-OR-FILE...');
        return 2;
    }
    const problems = [];
    const docs = []; // {target, doc, module}
    for (const target of targets) {
        let text;
        try {
            text = load(target, kubectl);
        } catch (e) {
            problems.push(`${target}: ${e.message}`);
            continue;
        }
        for (const parsed of YAML.parseAllDocuments(text)) {
            if (parsed.errors.length) {
                problems.push(`${target}: YAML: ${parsed.errors[0].message}`);
                continue;
            }
            const doc = parsed.toJS();
            if (doc === null) continue;
            const where = `${target}: ${describe(doc)}`;
            if (typeof doc !== 'object' || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
                problems.push(`${where}: apiVersion and kind are required`);
                continue;
            }
            const gone = removedIn(doc.apiVersion, doc.kind);
            if (gone) {
                problems.push(`${where}: apiVersion ${doc.apiVersion} was removed in Kubernetes ${gone}`);
                continue;
            }
            const mod = modulePath(doc.apiVersion, doc.kind);
            let Model = null;
            try {
                Model = mod && (await import(mod))[doc.kind];
            } catch (e) {
                Model = null;
            }
            if (!Model) {
                problems.push(`${where}: no kind ${doc.kind} in ${doc.apiVersion} (Kubernetes v1.36 or the Prometheus Operator)`);
                continue;
            }
            try {
                new Model(doc).validate();
            } catch (e) {
                problems.push(`${where}: ${e.message}`);
                continue;
            }
            docs.push({ target, doc, mod });
        }
    }
    problems.push(...typeCheck(docs));
    const versions = ['kubernetes-models', '@kubernetes-models/prometheus-operator', 'typescript']
        .map((n) => `${n} ${require_(n).version}`)
        .join(', ');
    if (problems.length) {
        for (const p of problems) console.error(`k8s: ${p}`);
        console.error(`k8s: ${problems.length} problem(s) (${versions})`);
        return 1;
    }
    console.log(`k8s: ${docs.length} documents from ${targets.length} target(s) valid against Kubernetes v1.36 ` +
        `types (${versions}, tsc --strict)`);
    return 0;
}

// Every document as a typed object literal in one TypeScript file; tsc --strict reports fields
// the interface does not have (and anything validate() missed about types).
function typeCheck(docs) {
    if (docs.length === 0) return [];
    const dir = fs.mkdtempSync(path.join(HERE, '.work-'));
    try {
        const lines = [];
        const starts = []; // the first line of each document's literal
        docs.forEach((d, i) => {
            lines.push(`import type { I${d.doc.kind} as T${i} } from ${JSON.stringify(d.mod)};`);
        });
        docs.forEach((d, i) => {
            starts.push(lines.length);
            const literal = `export const doc${i}: T${i} = ${JSON.stringify(d.doc, null, 1)};`;
            lines.push(...literal.split('\n'));
        });
        const file = path.join(dir, 'documents.ts');
        fs.writeFileSync(file, lines.join('\n') + '\n');
        const program = ts.createProgram([file], {
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.NodeNext,
            moduleResolution: ts.ModuleResolutionKind.NodeNext,
            types: [],
        });
        return ts.getPreEmitDiagnostics(program).map((diag) => {
            const text = ts.flattenDiagnosticMessageText(diag.messageText, ' ');
            if (!diag.file || diag.file.fileName !== file) return `typescript: ${text}`;
            const { line } = diag.file.getLineAndCharacterOfPosition(diag.start || 0);
            let index = 0;
            while (index + 1 < starts.length && starts[index + 1] <= line) index++;
            const d = docs[index];
            return `${d.target}: ${describe(d.doc)}: ${text}`;
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

process.exitCode = await main(process.argv.slice(2));
