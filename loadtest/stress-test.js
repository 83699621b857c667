// loadtest/stress-test.js - the old service's stress profile, against walletd.
//
//   k6 run -e API_URL=https://wallet.example.com -e TEST_TOKEN=... loadtest/stress-test.js
//
// Stages (ramping VUs): 2m -> 100, 5m -> 500, 2m -> 1000, 5m hold 1000, 2m -> 0 (16 min).
// Each iteration authorizes a random amount (1..1000 cents) on a random wallet made by setup(),
// with a fresh Idempotency-Key, checks 201 PENDING, then sleeps 0.1 s.
// Thresholds (the old service's): p(99) < 500 ms, failed requests < 1%.
//
// Options:
//   -e STAGES_SCALE=0.1   multiply every stage duration (0.1: a 1 min 36 s run)
//   -e VUS_SCALE=0.2      multiply every stage's VU target (0.2: 20 -> 100 -> 200)
//   -e WALLETS=1000       wallets made and funded in setup()
//   -e FUND=1000000000000 credit per wallet, minor units (default 10^12: holds never run out)
//   -e SLEEP=0.1          think time per iteration, seconds
//   -e HOLD_SECONDS=3600  expiresInSeconds of the holds (released by walletd's sweeper after that)

import { sleep } from 'k6';
import {
    COMMON_OPTIONS,
    CURRENCY,
    api,
    createFundedWallets,
    envFloat,
    envInt,
    expectEnvelope,
    pick,
    preflight,
    randInt,
    req,
    durationSeconds,
    scaleDuration,
    summary,
    summaryMetrics,
    walletConsistent,
} from './lib.js';
import http from 'k6/http';

const STAGES_SCALE = envFloat('STAGES_SCALE', 1);
const VUS_SCALE = envFloat('VUS_SCALE', 1);
const WALLETS = envInt('WALLETS', 1000);
const FUND = envInt('FUND', 1000000000000);
// The holds are never captured: let them expire (the sweeper releases them) instead of after 7 days.
const HOLD_SECONDS = envInt('HOLD_SECONDS', 3600);
const SLEEP = envFloat('SLEEP', 0.1);

// The old service's profile (loadtest/stress-test.js of the Node.js wallet API).
const PROFILE = [
    { duration: '2m', target: 100 }, // ramp up
    { duration: '5m', target: 500 }, // 500 users
    { duration: '2m', target: 1000 }, // push to 1000
    { duration: '5m', target: 1000 }, // hold the peak
    { duration: '2m', target: 0 }, // ramp down
];

const STAGES = PROFILE.map((s) => ({
    duration: scaleDuration(s.duration, STAGES_SCALE),
    target: s.target === 0 ? 0 : Math.max(1, Math.round(s.target * VUS_SCALE)),
}));

// `stages` is k6's shorthand for one ramping-vus scenario, named "default".
export const options = Object.assign({}, COMMON_OPTIONS, {
    stages: STAGES,
    thresholds: Object.assign(summaryMetrics(['default']), {
        http_req_duration: ['p(99)<500'], // 99% under 500 ms
        http_req_failed: ['rate<0.01'], // error rate < 1%
        'http_req_duration{op:authorize}': ['p(95)<200'],
        checks: ['rate>0.99'],
    }),
});

export function setup() {
    preflight();
    return { wallets: createFundedWallets(WALLETS, FUND, { prefix: 'k6-stress' }) };
}

export default function (data) {
    const amount = randInt(1, 1000);
    const res = api.authorize(pick(data.wallets), amount, { currency: CURRENCY, expiresInSeconds: HOLD_SECONDS });
    expectEnvelope(res, 'authorize', 201, 'CREATED', {
        'PENDING hold of the amount': (d) => d.status === 'PENDING' && d.type === 'AUTHORIZATION' && d.amount === amount,
    });
    sleep(SLEEP);
}

// After the run: the wallets' numbers must still add up (available = balance - held >= 0), and
// balance must be untouched (authorizations only hold).
export function teardown(data) {
    const sample = data.wallets.slice(0, Math.min(100, data.wallets.length));
    const responses = http.batch(sample.map((id) => req.getWallet(id, { strong: true })));
    let held = 0;
    responses.forEach((res) => {
        const w = expectEnvelope(res, 'teardown wallet', 200, 'OK', {
            'consistent': walletConsistent,
            'balance untouched': (d) => d.balance === FUND,
        });
        if (w) held += w.held;
    });
    console.log(`teardown: ${sample.length} wallets checked, ${held} minor units held on them`);
}

export function handleSummary(data) {
    return summary(data, {
        script: 'stress-test.js',
        settings: { STAGES: STAGES.map((s) => `${s.duration}:${s.target}`).join(','), STAGES_SCALE, VUS_SCALE, WALLETS, FUND, SLEEP, HOLD_SECONDS, CURRENCY },
        scenarios: [{ name: 'default', label: 'stress', seconds: STAGES.reduce((sum, s) => sum + durationSeconds(s.duration), 0) }],
    });
}
