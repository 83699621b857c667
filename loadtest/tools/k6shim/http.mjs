// k6/http stand-in for the dry run: synchronous requests through curl; batch() is sequential.
import { spawnSync } from 'node:child_process';
import { S } from './state.mjs';
function canon(h) { return h.toLowerCase().replace(/(^|-)([a-z])/g, (m, a, b) => a + b.toUpperCase()); }
export function expectedStatuses(...args) { return { expected: args }; }
export function request(method, url, body, params) {
  params = params || {};
  const args = ['-s', '-i', '-X', method, '--max-time', '30', url];
  for (const [k, v] of Object.entries(params.headers || {})) args.push('-H', `${k}: ${v}`);
  if (body !== null && body !== undefined) args.push('--data-binary', '@-');
  const t0 = Date.now();
  const r = spawnSync('curl', args, { input: body == null ? '' : body, encoding: 'utf8' });
  const dur = Date.now() - t0;
  let status = 0, headers = {}, resBody = '';
  if (r.status === 0) {
    const i = r.stdout.indexOf('\r\n\r\n');
    const head = r.stdout.slice(0, i).split('\r\n'); resBody = r.stdout.slice(i + 4);
    status = parseInt(head[0].split(' ')[1], 10);
    for (const l of head.slice(1)) { const j = l.indexOf(':'); headers[canon(l.slice(0, j))] = l.slice(j + 1).trim(); }
  }
  S.reqs++;
  const exp = params.responseCallback ? params.responseCallback.expected : null;
  const ok = exp ? exp.includes(status) : status >= 200 && status < 400;
  if (!ok) S.failed++;
  const tag = (params.tags && params.tags.op) || method;
  S.byStatus[`${tag} ${status}`] = (S.byStatus[`${tag} ${status}`] || 0) + 1;
  return { status, body: resBody, headers, timings: { duration: dur }, error: r.status ? 'curl failed' : '', error_code: r.status ? 1000 : 0,
    json(sel) { const j = JSON.parse(this.body); return j; } };
}
export function get(url, params) { return request('GET', url, null, params); }
export function post(url, body, params) { return request('POST', url, body, params); }
export function batch(reqs) { return reqs.map((r) => Array.isArray(r) ? request(r[0], r[1], r[2], r[3]) : request(r.method, r.url, r.body, r.params)); }
export default { request, get, post, batch, expectedStatuses };
