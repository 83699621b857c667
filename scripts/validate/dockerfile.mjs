// scripts/validate/dockerfile.mjs - lints a Dockerfile with two linters; exit 1 on any finding.
//
//   node dockerfile.mjs PATH
//
// dockerlinter (its rules, and Debian's shellcheck on every RUN; installed with --ignore-scripts,
// so it uses the shellcheck on PATH instead of downloading one), then dockerfile-utils'
// validator (instruction syntax and semantics), every diagnostic an error. Inline ignores are
// dockerlinter's `# linter ignore=RULE` comments, each with its reason in the Dockerfile.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const version = (name) =>
    JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;

const file = process.argv[2];
if (!file) {
    console.error('usage: node dockerfile.mjs PATH');
    process.exit(2);
}
const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
if (shellcheck.status !== 0) {
    console.error('dockerfile: shellcheck is not on PATH (Debian: apt-get install shellcheck)');
    process.exit(2);
}
let failed = false;
// dockerlinter writes its shellcheck scratch files into the working directory.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerlinter-'));
const linter = spawnSync(
    process.execPath,
    [path.join(HERE, 'node_modules', 'dockerlinter', 'bin', 'dockerfilelinter.js'), '-f', path.resolve(file), '-e', 'info'],
    { cwd: scratch, encoding: 'utf8' }
);
fs.rmSync(scratch, { recursive: true, force: true });
if (linter.status !== 0) {
    process.stderr.write(`dockerfile: dockerlinter:\n${linter.stdout}${linter.stderr}`);
    failed = true;
}
for (const d of validate(fs.readFileSync(file, 'utf8'))) {
    console.error(`dockerfile: dockerfile-utils: line ${d.range.start.line + 1}: ${d.message}`);
    failed = true;
}
const tools = `dockerlinter ${version('dockerlinter')} with ${shellcheck.stdout.match(/version: (\S+)/)[0].replace('version: ', 'shellcheck ')}, dockerfile-utils ${version('dockerfile-utils')}`;
if (failed) {
    console.error(`dockerfile: ${file} fails (${tools})`);
    process.exit(1);
}
console.log(`dockerfile: ${file} passes (${tools})`);
