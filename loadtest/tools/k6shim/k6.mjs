// k6 stand-in for the dry run: check(), sleep() (capped at 50 ms), fail(), group().
import { S } from './state.mjs';
export function check(val, sets, tags) {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    let ok = false;
    ok = typeof fn === 'function' ? !!fn(val) : !!fn;
    const c = S.checks[name] || (S.checks[name] = { pass: 0, fail: 0 });
    ok ? c.pass++ : c.fail++;
    all = all && ok;
  }
  return all;
}
const sab = new Int32Array(new SharedArrayBuffer(4));
export function sleep(s) { Atomics.wait(sab, 0, 0, Math.min(s, 0.05) * 1000); }
export function fail(msg) { throw new Error(msg); }
export function group(name, fn) { return fn(); }
export default { check, sleep, fail, group };
