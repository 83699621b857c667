// loadtest/lib.js - shared helpers for walletd's k6 scripts (stock k6 v0.46+, no remote imports).
//
// Configuration (k6 -e NAME=value, or the environment with --include-system-env-vars):
//   API_URL      base URL of walletd, e.g. http://localhost:3000 (no /api/v1)      required
//   TEST_TOKEN   an API key (walletctl apikey create --tenant NAME)               required
//   CURRENCY     wallet currency (default USD)
//   RUN_ID       prefix for the account IDs this run creates (default: random)
//
// Every money request gets a fresh Idempotency-Key from newKey(); setup() code makes its own
// funded wallets with createFundedWallets(), so a run never depends on data that exists already.

import http from 'k6/http';
import { check } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function requireEnv(name, example) {
    const v = __ENV[name];
    if (v === undefined || v === null || String(v).trim() === '') {
        throw new Error(
            `${name} is not set. Run e.g.: k6 run -e API_URL=http://localhost:3000 ` +
                `-e TEST_TOKEN=$(cat .cluster/dev-api-key) <script>  (${name}: ${example})`
        );
    }
    return String(v).trim();
}

export const API_URL = requireEnv('API_URL', 'walletd base URL, e.g. http://localhost:3000').replace(/\/+$/, '');
if (!/^https?:\/\/[^/]+/.test(API_URL)) {
    throw new Error(`API_URL must be an http:// or https:// URL, got "${API_URL}"`);
}
export const TEST_TOKEN = requireEnv('TEST_TOKEN', 'an API key from walletctl apikey create');
export const BASE = `${API_URL}/api/v1`;
export const CURRENCY = envStr('CURRENCY', 'USD');

export function envStr(name, def) {
    const v = __ENV[name];
    return v === undefined || v === null || String(v).trim() === '' ? def : String(v).trim();
}

export function envInt(name, def) {
    const v = envStr(name, null);
    if (v === null) return def;
    const n = parseInt(v, 10);
    if (!isFinite(n) || String(n) !== v.replace(/^\+/, '')) {
        throw new Error(`${name} must be an integer, got "${v}"`);
    }
    return n;
}

export function envFloat(name, def) {
    const v = envStr(name, null);
    if (v === null) return def;
    const n = parseFloat(v);
    if (!isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
    return n;
}

// Parses a k6 duration ("90s", "2m", "1h30m", "500ms") into seconds.
export function durationSeconds(d) {
    const s = String(d).trim();
    const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
    let total = 0;
    let consumed = 0;
    let m;
    while ((m = re.exec(s)) !== null) {
        const n = parseFloat(m[1]);
        total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
        consumed += m[0].length;
    }
    if (consumed === 0 || consumed !== s.length) throw new Error(`not a duration: "${d}" (use e.g. 30s, 5m, 2h)`);
    return total;
}

// A duration multiplied by scale, as whole seconds (at least 1s), e.g. scaleDuration('2m', 0.1) = '12s'.
export function scaleDuration(d, scale) {
    return `${Math.max(1, Math.round(durationSeconds(d) * scale))}s`;
}

// ---------------------------------------------------------------------------------------------
// Randomness and keys
// ---------------------------------------------------------------------------------------------

const HEX = '0123456789abcdef';

// n random bytes from k6/crypto as 2n lowercase hex digits.
export function randomHex(n) {
    const bytes = new Uint8Array(crypto.randomBytes(n));
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
    return out;
}

// Random integer in [min, max].
export function randInt(min, max) {
    return min + Math.floor(Math.random() * (max - min + 1));
}

export function pick(arr) {
    return arr[Math.floor(Math.random() * arr.length)];
}

// Module state is per VU in k6 (setup() and teardown() run in a VU of their own): this VU's part
// of every key, made on first use, and its counter.
let keyPrefix = null;
let keySeq = 0;

// A fresh, never reused Idempotency-Key: "<tag>-<vu>-<random>-<seq>" (printable ASCII, < 50
// chars): unique within the VU by its counter, across VUs by the VU number, and across runs by 48
// random bits drawn once per VU (a key is made for every request: at thousands a second the
// generator's own CPU counts). The VU number comes from k6/execution, which setup() and
// teardown() may read (VU 0); __ITER is not defined there, so it is not part of the key.
export function newKey(tag) {
    if (keyPrefix === null) keyPrefix = `${exec.vu.idInTest}-${randomHex(6)}`;
    keySeq += 1;
    return `${tag || 'k6'}-${keyPrefix}-${keySeq}`;
}

// One random ID per run (per VU for init code; setup() passes its own to the VUs).
export const RUN_ID = envStr('RUN_ID', `k6${Date.now().toString(36)}${randomHex(3)}`);

// An accountId that is new for this run: 1-64 chars of [A-Za-z0-9_.:-].
export function newAccountId(prefix) {
    return `${prefix || 'k6'}-${RUN_ID}-${randomHex(6)}`.slice(0, 64);
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export function headers(extra) {
    return Object.assign(
        {
            Authorization: `Bearer ${TEST_TOKEN}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
        },
        extra || {}
    );
}

// Request params: a "name" tag groups URLs with IDs in them (one time series per endpoint, not per
// wallet) and an "op" tag (no spaces: authorize, capture, ...) is what thresholds select on, e.g.
// 'http_req_duration{op:authorize}'; opts.tags adds or overrides tags; opts.expected lists the statuses that count as success for http_req_failed (default:
// k6's 200-399); opts.key sets the Idempotency-Key; opts.strong reads the primary.
function params(name, op, opts) {
    const o = opts || {};
    const extra = {};
    if (o.key) extra['Idempotency-Key'] = o.key;
    if (o.strong) extra['X-Consistency'] = 'strong';
    const p = { headers: headers(extra), tags: Object.assign({ name: name, op: op }, o.tags || {}) };
    if (o.expected) p.responseCallback = http.expectedStatuses(...o.expected);
    if (o.timeout) p.timeout = o.timeout;
    return p;
}

// Each builder returns a request object for http.batch(); the matching function below sends it.
export const req = {
    createWallet(accountId, opts) {
        const o = opts || {};
        return {
            method: 'POST',
            url: `${BASE}/wallets`,
            body: JSON.stringify({ accountId: accountId, currency: o.currency || CURRENCY }),
            params: params('POST /wallets', 'create_wallet', o),
        };
    },
    credit(walletId, amount, opts) {
        const o = Object.assign({ key: newKey('credit') }, opts || {});
        return {
            method: 'POST',
            url: `${BASE}/transactions/credit`,
            body: JSON.stringify({ walletId: walletId, amount: amount, referenceId: o.referenceId || `k6-credit-${RUN_ID}` }),
            params: params('POST /transactions/credit', 'credit', o),
        };
    },
    authorize(walletId, amount, opts) {
        const o = Object.assign({ key: newKey('auth') }, opts || {});
        const body = { walletId: walletId, amount: amount, referenceId: o.referenceId || `k6-${o.key}` };
        if (o.currency) body.currency = o.currency;
        if (o.expiresInSeconds) body.expiresInSeconds = o.expiresInSeconds;
        return {
            method: 'POST',
            url: `${BASE}/transactions/authorize`,
            body: JSON.stringify(body),
            params: params('POST /transactions/authorize', 'authorize', o),
        };
    },
    // Capture of a pending authorization; amount omitted (null/undefined) captures the whole hold.
    capture(transactionId, amount, opts) {
        const o = Object.assign({ key: newKey('capture') }, opts || {});
        const body = { transactionId: transactionId };
        if (amount !== undefined && amount !== null) body.amount = amount;
        return {
            method: 'POST',
            url: `${BASE}/transactions/debit`,
            body: JSON.stringify(body),
            params: params('POST /transactions/debit (capture)', 'capture', o),
        };
    },
    directDebit(walletId, amount, opts) {
        const o = Object.assign({ key: newKey('debit') }, opts || {});
        return {
            method: 'POST',
            url: `${BASE}/transactions/debit`,
            body: JSON.stringify({ walletId: walletId, amount: amount, referenceId: o.referenceId || `k6-${o.key}` }),
            params: params('POST /transactions/debit (direct)', 'direct_debit', o),
        };
    },
    void(transactionId, opts) {
        const o = Object.assign({ key: newKey('void') }, opts || {});
        return {
            method: 'POST',
            url: `${BASE}/transactions/void`,
            body: JSON.stringify({ transactionId: transactionId }),
            params: params('POST /transactions/void', 'void', o),
        };
    },
    getWallet(walletId, opts) {
        return { method: 'GET', url: `${BASE}/wallets/${walletId}`, body: null, params: params('GET /wallets/{id}', 'get_wallet', opts) };
    },
    ledger(walletId, limit, cursor, opts) {
        let url = `${BASE}/wallets/${walletId}/ledger?limit=${limit || 50}`;
        if (cursor) url += `&cursor=${encodeURIComponent(cursor)}`;
        return { method: 'GET', url: url, body: null, params: params('GET /wallets/{id}/ledger', 'ledger', opts) };
    },
    getTransaction(transactionId, opts) {
        return {
            method: 'GET',
            url: `${BASE}/transactions/${transactionId}`,
            body: null,
            params: params('GET /transactions/{id}', 'get_transaction', opts),
        };
    },
    accountWallets(accountId, opts) {
        return {
            method: 'GET',
            url: `${BASE}/accounts/${encodeURIComponent(accountId)}/wallets`,
            body: null,
            params: params('GET /accounts/{id}/wallets', 'account_wallets', opts),
        };
    },
    healthReady() {
        return { method: 'GET', url: `${API_URL}/health/ready`, body: null, params: { tags: { name: 'GET /health/ready', op: 'health_ready' } } };
    },
    healthLive() {
        return { method: 'GET', url: `${API_URL}/health/live`, body: null, params: { tags: { name: 'GET /health/live', op: 'health_live' } } };
    },
};

// Sends one request object built by req.*.
export function send(r) {
    return http.request(r.method, r.url, r.body, r.params);
}

export const api = {
    createWallet: (accountId, opts) => send(req.createWallet(accountId, opts)),
    credit: (walletId, amount, opts) => send(req.credit(walletId, amount, opts)),
    authorize: (walletId, amount, opts) => send(req.authorize(walletId, amount, opts)),
    capture: (transactionId, amount, opts) => send(req.capture(transactionId, amount, opts)),
    directDebit: (walletId, amount, opts) => send(req.directDebit(walletId, amount, opts)),
    void: (transactionId, opts) => send(req.void(transactionId, opts)),
    getWallet: (walletId, opts) => send(req.getWallet(walletId, opts)),
    ledger: (walletId, limit, cursor, opts) => send(req.ledger(walletId, limit, cursor, opts)),
    getTransaction: (transactionId, opts) => send(req.getTransaction(transactionId, opts)),
    accountWallets: (accountId, opts) => send(req.accountWallets(accountId, opts)),
    healthReady: () => send(req.healthReady()),
    healthLive: () => send(req.healthLive()),
};

// ---------------------------------------------------------------------------------------------
// Envelopes and checks
// ---------------------------------------------------------------------------------------------

// The parsed JSON body, or null (never throws: a truncated or HTML body is just "not an envelope").
export function body(res) {
    if (!res || typeof res.body !== 'string' || res.body.length === 0) return null;
    try {
        return JSON.parse(res.body);
    } catch (e) {
        return null;
    }
}

// The envelope's data for a success envelope with this status, else null.
export function dataOf(res, status) {
    const j = body(res);
    if (res && res.status === status && j && j.status === status && j.data && typeof j.data === 'object') return j.data;
    return null;
}

let loggedFailures = 0;
const MAX_LOGGED_FAILURES = envInt('LOG_FAILURES', 20);

function describe(res) {
    if (!res) return 'no response';
    if (res.status === 0) return `network error ${res.error_code || ''} ${res.error || ''}`.trim();
    return `${res.status} ${String(res.body || '').slice(0, 300)}`;
}

// Checks a success envelope: HTTP status, {"status":S,"code":C,"data":{...}}, and optional checks on
// data (name -> predicate(data)). Returns data when every check passed, else null. The first few
// failures per VU are logged with the response, so a failing run says why.
export function expectEnvelope(res, label, status, code, more) {
    const j = body(res);
    const data = j && j.data && typeof j.data === 'object' ? j.data : null;
    const checks = {};
    checks[`${label}: status ${status}`] = (r) => r.status === status;
    checks[`${label}: envelope ${code}`] = () => j !== null && j.status === status && j.code === code && data !== null;
    const extra = more || {};
    Object.keys(extra).forEach((name) => {
        checks[`${label}: ${name}`] = () => {
            try {
                return data !== null && extra[name](data) === true;
            } catch (e) {
                return false;
            }
        };
    });
    const ok = check(res, checks, { endpoint: label });
    if (!ok && loggedFailures < MAX_LOGGED_FAILURES) {
        loggedFailures += 1;
        console.warn(`[VU ${__VU}] ${label}: expected ${status} ${code}, got ${describe(res)}`);
    }
    return ok ? data : null;
}

// Checks an error envelope: {"status":S,"code":C,"message":"..."}.
export function expectError(res, label, status, code) {
    const j = body(res);
    const checks = {};
    checks[`${label}: status ${status}`] = (r) => r.status === status;
    checks[`${label}: error ${code}`] = () => j !== null && j.status === status && j.code === code && typeof j.message === 'string';
    const ok = check(res, checks, { endpoint: label });
    if (!ok && loggedFailures < MAX_LOGGED_FAILURES) {
        loggedFailures += 1;
        console.warn(`[VU ${__VU}] ${label}: expected ${status} ${code}, got ${describe(res)}`);
    }
    return ok;
}

// balance/held/available are integers and available = balance - held >= 0.
export function walletConsistent(w) {
    return (
        Number.isInteger(w.balance) &&
        Number.isInteger(w.held) &&
        Number.isInteger(w.available) &&
        w.available === w.balance - w.held &&
        w.available >= 0 &&
        w.held >= 0
    );
}

// ---------------------------------------------------------------------------------------------
// Setup: funded wallets
// ---------------------------------------------------------------------------------------------

// Sends requests with http.batch in chunks; retries a request that failed with a network error,
// 5xx or 409 IDEMPOTENCY_KEY_IN_PROGRESS with the *same* Idempotency-Key (safe: a retry never moves
// money twice). Returns the responses in order; throws if one still fails after `attempts`.
function batchWithRetry(requests, expected, what, attempts) {
    const out = new Array(requests.length);
    let todo = requests.map((r, i) => i);
    for (let attempt = 1; todo.length > 0; attempt++) {
        const responses = http.batch(todo.map((i) => requests[i]));
        const retry = [];
        for (let k = 0; k < todo.length; k++) {
            const i = todo[k];
            const res = responses[k];
            out[i] = res;
            if (res.status === expected) continue;
            const j = body(res);
            const transient = res.status === 0 || res.status >= 500 || (res.status === 409 && j && j.code === 'IDEMPOTENCY_KEY_IN_PROGRESS');
            if (!transient || attempt >= attempts) {
                throw new Error(`setup: ${what} failed after ${attempt} attempt(s): ${describe(res)}`);
            }
            retry.push(i);
        }
        todo = retry;
    }
    return out;
}

// Creates n wallets for new random accounts and credits each with `amount` (minor units), in
// http.batch chunks (opts.chunk, default 50; set options.batchPerHost to at least that). Returns
// the wallet IDs. Throws (failing setup() and the run) if any wallet cannot be made or funded.
export function createFundedWallets(n, amount, opts) {
    const o = opts || {};
    const chunk = o.chunk || 50;
    const currency = o.currency || CURRENCY;
    const prefix = o.prefix || 'k6';
    const attempts = o.attempts || 4;
    if (!Number.isInteger(amount) || amount <= 0 || amount > 9007199254740991) {
        throw new Error(`createFundedWallets: amount must be an integer in 1..2^53-1, got ${amount}`);
    }
    const ids = [];
    const started = Date.now();
    for (let start = 0; start < n; start += chunk) {
        const count = Math.min(chunk, n - start);
        const creates = [];
        for (let i = 0; i < count; i++) {
            // Wallet creation takes an optional Idempotency-Key: with one, a retry replays the 201.
            creates.push(req.createWallet(newAccountId(prefix), { currency: currency, key: newKey('setup-wallet') }));
        }
        const made = batchWithRetry(creates, 201, 'create wallet', attempts);
        const batchIds = made.map((res) => {
            const d = dataOf(res, 201);
            if (!d || typeof d.id !== 'string') throw new Error(`setup: create wallet: unexpected answer ${describe(res)}`);
            return d.id;
        });
        const credits = batchIds.map((id) =>
            req.credit(id, amount, { key: newKey('setup-credit'), referenceId: `k6-setup-${RUN_ID}` })
        );
        batchWithRetry(credits, 201, 'credit', attempts);
        for (let i = 0; i < batchIds.length; i++) ids.push(batchIds[i]);
    }
    console.log(`setup: ${ids.length} wallets created and funded with ${amount} each in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return ids;
}

// Fails setup() early, with a clear message, if walletd is not ready or the key is refused.
export function preflight() {
    const ready = api.healthReady();
    if (ready.status !== 200) {
        throw new Error(`preflight: ${API_URL}/health/ready answered ${describe(ready)}`);
    }
    // An unknown wallet: 404 is the expected answer here (not a failed request).
    const probe = api.getWallet('wal_000000000000000000000000000000000000', { expected: [404], tags: { name: 'preflight', op: 'preflight' } });
    if (probe.status === 401) {
        throw new Error('preflight: TEST_TOKEN was refused (401 UNAUTHORIZED): create one with walletctl apikey create');
    }
    if (probe.status !== 404) {
        throw new Error(`preflight: GET of an unknown wallet answered ${describe(probe)} (expected 404)`);
    }
}

// Options every script shares: http.batch width for setup(), and a generous setup timeout.
export const COMMON_OPTIONS = {
    batch: 50,
    batchPerHost: 50,
    setupTimeout: envStr('SETUP_TIMEOUT', '10m'),
    teardownTimeout: '2m',
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
};

// ---------------------------------------------------------------------------------------------
// End-of-test summary (every script's handleSummary)
// ---------------------------------------------------------------------------------------------

// The old service's targets (PRODUCT.md section 5; loadtest/bench prints the same table).
export const TARGETS = {
    throughput: { target: 1500, acceptable: 1000, unit: 'req/s', higherIsBetter: true },
    p50: { target: 50, acceptable: 100, unit: 'ms' },
    p95: { target: 100, acceptable: 200, unit: 'ms' },
    p99: { target: 200, acceptable: 500, unit: 'ms' },
    errors: { target: 0.001, acceptable: 0.01, unit: 'share of requests' },
};

// Where handleSummary() writes its files, relative to the directory k6 runs in (the repository
// root in every example). k6 does not create directories: a missing one is an error in k6's log,
// and the summary is still printed.
export const RESULTS_DIR = envStr('RESULTS_DIR', 'loadtest/results').replace(/\/+$/, '');

const SCENARIO_METRICS = ['http_req_duration', 'http_req_failed', 'iterations', 'dropped_iterations'];

// Thresholds without conditions for these scenarios' submetrics. k6 puts a submetric into the
// end-of-test summary only if a threshold names it; an empty list names it and checks nothing.
// Merge them under the script's own thresholds: Object.assign(summaryMetrics([...]), {...}).
export function summaryMetrics(scenarios) {
    const out = {};
    scenarios.forEach((name) => {
        SCENARIO_METRICS.forEach((metric) => {
            out[`${metric}{scenario:${name}}`] = [];
        });
    });
    return out;
}

function pad(s, width, left) {
    const str = String(s);
    const fill = width > str.length ? ' '.repeat(width - str.length) : '';
    return left ? fill + str : str + fill;
}

// n with thousands separators and `digits` decimals ('-' if it is not a number).
function fmtNum(n, digits) {
    if (n === null || n === undefined || !isFinite(n)) return '-';
    const parts = Math.abs(n).toFixed(digits).split('.');
    const whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (n < 0 ? '-' : '') + whole + (parts.length > 1 ? `.${parts[1]}` : '');
}

function fmtInt(n) {
    return fmtNum(n, 0);
}

function fmtPct(share) {
    return share === null || share === undefined || !isFinite(share) ? '-' : `${(share * 100).toFixed(3)}%`;
}

// PASS meets the target, OK the acceptable level, FAIL neither; '-' when there is no value.
function verdict(value, t) {
    if (value === null || value === undefined || !isFinite(value)) return '-';
    const meets = (limit) => (t.higherIsBetter ? value > limit : value < limit);
    return meets(t.target) ? 'PASS' : meets(t.acceptable) ? 'OK' : 'FAIL';
}

// One scenario's row against TARGETS, from its submetrics (see summaryMetrics).
function scenarioRow(metrics, s) {
    const sub = (name) => metrics[`${name}{scenario:${s.name}}`];
    const duration = sub('http_req_duration');
    const failed = sub('http_req_failed'); // a Rate of failures: passes = failed requests
    const requests = failed ? failed.values.passes + failed.values.fails : 0;
    const stat = (key) => (duration && requests > 0 && isFinite(duration.values[key]) ? duration.values[key] : null);
    const row = {
        name: s.name,
        label: s.label || s.name,
        seconds: s.seconds || null,
        requests: requests,
        iterations: sub('iterations') ? sub('iterations').values.count : 0,
        dropped: sub('dropped_iterations') ? sub('dropped_iterations').values.count : 0,
        perSecond: s.seconds > 0 ? requests / s.seconds : null,
        p50: stat('med'),
        p95: stat('p(95)'),
        p99: stat('p(99)'),
        errors: requests > 0 ? failed.values.rate : null,
    };
    row.verdicts = {
        throughput: s.judgeThroughput === false ? 'n/a' : verdict(row.perSecond, TARGETS.throughput),
        p50: verdict(row.p50, TARGETS.p50),
        p95: verdict(row.p95, TARGETS.p95),
        p99: verdict(row.p99, TARGETS.p99),
        errors: verdict(row.errors, TARGETS.errors),
    };
    return row;
}

// The value a threshold expression ("p(99)<500", "rate<0.01", "count<100") was checked against.
function observed(metric, expr) {
    const m = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))/.exec(expr);
    if (!m) return null;
    let v = metric.values[m[1]];
    if (v === undefined && m[2] === '50') v = metric.values.med;
    return v === undefined ? null : v;
}

function thresholdRows(metrics) {
    const rows = [];
    Object.keys(metrics)
        .sort()
        .forEach((name) => {
            const th = metrics[name].thresholds || {};
            Object.keys(th).forEach((expr) => {
                rows.push({ metric: name, threshold: expr, ok: th[expr].ok === true, observed: observed(metrics[name], expr) });
            });
        });
    return rows;
}

function failedChecks(group, out) {
    (group.checks || []).forEach((c) => {
        if (c.fails > 0) out.push({ name: c.name, passes: c.passes, fails: c.fails });
    });
    (group.groups || []).forEach((g) => failedChecks(g, out));
    return out;
}

// Metrics left out of the printed list (k6's connection timings; they stay in the JSON).
const QUIET_METRICS = /^(http_req_(blocked|connecting|tls_handshaking|sending|receiving|waiting)|data_sent|data_received)$/;

function metricLine(m) {
    const v = m.values;
    const ms = m.contains === 'time';
    const t = (x) => (ms ? `${fmtNum(x, 2)}ms` : fmtNum(x, 2));
    if (m.type === 'trend') {
        return `${t(v.avg)} avg  ${t(v.med)} p50  ${t(v['p(95)'])} p95  ${t(v['p(99)'])} p99  ${t(v.max)} max  (${fmtInt(v.count)})`;
    }
    if (m.type === 'rate') return `${fmtPct(v.rate)}  (${fmtInt(v.passes)} of ${fmtInt(v.passes + v.fails)})`;
    if (m.type === 'counter') return `${fmtInt(v.count)}  (${fmtNum(v.rate, 1)}/s over the whole run)`;
    return `${fmtNum(v.value, 0)}  (min ${fmtNum(v.min, 0)}, max ${fmtNum(v.max, 0)})`;
}

// One line of the targets table: scenario (left-aligned), requests, req/s, p50, p95, p99, errors,
// dropped iterations (right-aligned).
const COLUMNS = [16, 11, 10, 9, 9, 9, 10, 9];

function tableLine(cells) {
    return `  ${cells.map((c, i) => pad(c, COLUMNS[i], i > 0)).join('')}`;
}

function summaryText(out, data) {
    const L = [];
    const settings = Object.keys(out.settings)
        .map((k) => `${k}=${out.settings[k]}`)
        .join(' ');
    L.push(`walletd k6 summary: ${out.script} against ${out.apiUrl}, ${out.generated}`);
    L.push(`settings: ${settings}`);
    L.push(`k6 ran ${fmtNum(data.state.testRunDurationMs / 1000, 1)} s (setup and teardown included)`);
    L.push('');
    L.push('metrics');
    Object.keys(data.metrics)
        .sort()
        .filter((name) => !QUIET_METRICS.test(name))
        .forEach((name) => L.push(`  ${pad(name, 44)} ${metricLine(data.metrics[name])}`));
    L.push('');
    if (out.failedChecks.length > 0) {
        L.push(`failed checks (${out.failedChecks.length})`);
        out.failedChecks.slice(0, 15).forEach((c) => L.push(`  ${pad(fmtInt(c.fails), 8, true)} failed, ${pad(fmtInt(c.passes), 8, true)} passed  ${c.name}`));
        L.push('');
    }
    L.push('thresholds (k6 exits non-zero when one fails)');
    out.thresholds.forEach((t) => {
        L.push(`  ${pad(t.ok ? 'ok' : 'FAIL', 5)} ${pad(t.metric, 44)} ${pad(t.threshold, 16)} observed ${fmtNum(t.observed, 3)}`);
    });
    L.push('');
    L.push('against the targets (PRODUCT.md section 5): PASS = target, OK = acceptable, FAIL = neither');
    L.push(tableLine(['scenario', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'dropped']));
    ['target', 'acceptable'].forEach((level) => {
        const T = TARGETS;
        L.push(tableLine([level, '', `>${fmtInt(T.throughput[level])}`, `<${T.p50[level]}`, `<${T.p95[level]}`, `<${T.p99[level]}`, `<${fmtPct(T.errors[level])}`]));
    });
    out.scenarios.forEach((r) => {
        L.push(tableLine([r.label, fmtInt(r.requests), fmtNum(r.perSecond, 1), fmtNum(r.p50, 2), fmtNum(r.p95, 2), fmtNum(r.p99, 2), fmtPct(r.errors), fmtInt(r.dropped)]));
        const v = r.verdicts;
        L.push(tableLine(['', '', v.throughput, v.p50, v.p95, v.p99, v.errors]));
    });
    L.push('  req/s = the scenario\'s requests / its planned length; n/a: this script\'s load is light by design.');
    L.push('  Where k6 shares walletd\'s machine, the CPU k6 itself takes is part of every latency above.');
    return L.join('\n') + '\n';
}

// handleSummary() for every script. k6 calls it once at the end instead of printing its own
// summary; this prints a readable one (metrics, failed checks, thresholds, and each scenario
// against TARGETS) and writes it, and everything as JSON, to RESULTS_DIR as
// <script>-<UTC time>.txt and .json.
//   spec.script     the script's file name, e.g. 'rate.js'
//   spec.settings   {NAME: value} of the options this run used (printed and saved)
//   spec.scenarios  [{name, label, seconds, judgeThroughput}]: name is the k6 scenario (its
//                   submetrics must be in the summary: summaryMetrics), seconds its planned length
//                   (for req/s), judgeThroughput false where the load is light by design
export function summary(data, spec) {
    const generated = new Date().toISOString();
    const out = {
        script: spec.script,
        generated: generated,
        apiUrl: API_URL,
        settings: spec.settings || {},
        targets: TARGETS,
        scenarios: spec.scenarios.map((s) => scenarioRow(data.metrics, s)),
        thresholds: thresholdRows(data.metrics),
        failedChecks: failedChecks(data.root_group, []),
        // k6's own summary, less setup()'s return value (thousands of wallet IDs)
        k6: { state: data.state, options: data.options, metrics: data.metrics, root_group: data.root_group },
    };
    const text = summaryText(out, data);
    const base = `${RESULTS_DIR}/${spec.script.replace(/\.js$/, '')}-${generated.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    const files = { stdout: `${text}results: ${base}.json and .txt\n` };
    files[`${base}.json`] = JSON.stringify(out, null, 2) + '\n';
    files[`${base}.txt`] = text;
    return files;
}
