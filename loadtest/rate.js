// loadtest/rate.js - hold exact transaction rates: the business target's average and peak.
//
//   k6 run -e API_URL=https://wallet.example.com -e TEST_TOKEN=... loadtest/rate.js
//
// 100 M transactions/day = 1,160 TPS average; peaks of 3,500-5,000 TPS. Two constant-arrival-rate
// scenarios (open model: k6 starts iterations at the rate whatever the latency, so a slow server
// shows up as latency and dropped_iterations, not as a quietly lower rate):
//   average  1,160 authorizations/s for 5 min
//   peak     5,000 authorizations/s for 5 min, starting when "average" has finished
// Each iteration is one authorize on a random setup() wallet with a fresh Idempotency-Key.
//
// Thresholds per scenario (tag scenario:average / scenario:peak): p50/p95/p99 latency, failed
// requests, checks, and dropped iterations. LEVEL picks the column of the targets table:
//   acceptable (default)  p50/p95/p99 < 100/200/500 ms, errors < 1%
//   target                p50/p95/p99 <  50/100/200 ms, errors < 0.1%
//
// Options:
//   -e RATE=2000                 both scenarios at this rate (quick what-if)
//   -e AVERAGE_RATE=1160 -e PEAK_RATE=5000
//   -e DURATION=5m               each scenario's duration
//   -e SCENARIOS=average,peak    which scenarios to run (e.g. SCENARIOS=peak)
//   -e LEVEL=acceptable|target
//   -e WALLETS=2000 -e FUND=1000000000000
//   -e HOLD_SECONDS=3600         expiresInSeconds of the holds (the sweeper releases them)
//   -e VU_SECONDS=0.1 -e MAX_VU_SECONDS=0.5   VUs = rate x these (latency budget per iteration)

import {
    COMMON_OPTIONS,
    CURRENCY,
    api,
    createFundedWallets,
    durationSeconds,
    envFloat,
    envInt,
    envStr,
    expectEnvelope,
    pick,
    preflight,
    randInt,
    summary,
    summaryMetrics,
    TARGETS,
} from './lib.js';

const DURATION = envStr('DURATION', '5m');
const DURATION_S = durationSeconds(DURATION);
const AVERAGE_RATE = envInt('AVERAGE_RATE', envInt('RATE', 1160));
const PEAK_RATE = envInt('PEAK_RATE', envInt('RATE', 5000));
const WALLETS = envInt('WALLETS', 2000);
const FUND = envInt('FUND', 1000000000000);
// The holds are never captured: let them expire (the sweeper releases them) instead of after 7 days.
const HOLD_SECONDS = envInt('HOLD_SECONDS', 3600);
const VU_SECONDS = envFloat('VU_SECONDS', 0.1); // pre-allocated VUs: enough for 100 ms per iteration
const MAX_VU_SECONDS = envFloat('MAX_VU_SECONDS', 0.5); // at most: enough for 500 ms per iteration
const GRACEFUL_STOP_S = 10;
const SELECTED = envStr('SCENARIOS', 'average,peak')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const LEVEL = envStr('LEVEL', 'acceptable');
if (LEVEL !== 'acceptable' && LEVEL !== 'target') throw new Error(`LEVEL must be "acceptable" or "target", got "${LEVEL}"`);
const LIMITS = { p50: TARGETS.p50[LEVEL], p95: TARGETS.p95[LEVEL], p99: TARGETS.p99[LEVEL], errors: TARGETS.errors[LEVEL] };

const RATES = { average: AVERAGE_RATE, peak: PEAK_RATE };
SELECTED.forEach((name) => {
    if (!(name in RATES)) throw new Error(`SCENARIOS: unknown scenario "${name}" (use average, peak)`);
});

const scenarios = {};
const thresholds = summaryMetrics(SELECTED);
let startS = 0;
['average', 'peak'].forEach((name) => {
    if (SELECTED.indexOf(name) < 0) return;
    const rate = RATES[name];
    const pre = Math.max(10, Math.ceil(rate * VU_SECONDS));
    scenarios[name] = {
        executor: 'constant-arrival-rate',
        rate: rate,
        timeUnit: '1s',
        duration: DURATION,
        preAllocatedVUs: pre,
        maxVUs: Math.max(pre, Math.ceil(rate * MAX_VU_SECONDS)),
        startTime: `${startS}s`,
        gracefulStop: `${GRACEFUL_STOP_S}s`,
    };
    // The next scenario starts once this one has stopped, so they never overlap.
    startS += DURATION_S + GRACEFUL_STOP_S;

    const planned = rate * DURATION_S;
    thresholds[`http_req_duration{scenario:${name}}`] = [`p(50)<${LIMITS.p50}`, `p(95)<${LIMITS.p95}`, `p(99)<${LIMITS.p99}`];
    thresholds[`http_req_failed{scenario:${name}}`] = [`rate<${LIMITS.errors}`];
    thresholds[`checks{scenario:${name}}`] = [`rate>${1 - LIMITS.errors}`];
    // The rate was really held: fewer than 1% of the planned iterations could not start.
    thresholds[`dropped_iterations{scenario:${name}}`] = [`count<${Math.max(1, Math.ceil(planned * 0.01))}`];
});

export const options = Object.assign({}, COMMON_OPTIONS, {
    scenarios: scenarios,
    thresholds: thresholds,
    // Connections are reused (keep-alive); no per-request DNS lookups at 5,000/s.
    dns: { ttl: '5m', select: 'random' },
});

export function setup() {
    preflight();
    return { wallets: createFundedWallets(WALLETS, FUND, { prefix: 'k6-rate' }) };
}

export default function (data) {
    const amount = randInt(1, 1000);
    const res = api.authorize(pick(data.wallets), amount, { currency: CURRENCY, expiresInSeconds: HOLD_SECONDS });
    expectEnvelope(res, 'authorize', 201, 'CREATED', {
        'PENDING hold of the amount': (d) => d.status === 'PENDING' && d.amount === amount,
    });
}

export function handleSummary(data) {
    return summary(data, {
        script: 'rate.js',
        settings: { SCENARIOS: SELECTED.join(','), AVERAGE_RATE, PEAK_RATE, DURATION, LEVEL, WALLETS, FUND, HOLD_SECONDS, VU_SECONDS, MAX_VU_SECONDS, CURRENCY },
        scenarios: ['average', 'peak']
            .filter((name) => SELECTED.indexOf(name) >= 0)
            .map((name) => ({ name: name, label: `${name} ${RATES[name]}/s`, seconds: DURATION_S })),
    });
}
