// loadtest/flow.js - the payment flow: authorize a hold, then capture it (debit), step by step.
//
//   k6 run -e API_URL=http://localhost:3000 -e TEST_TOKEN=$(cat .cluster/dev-api-key) loadtest/flow.js
//
// Each iteration: authorize a random amount on a random setup() wallet (201 PENDING), then capture
// it with POST /transactions/debit {transactionId, amount?} (200 COMPLETED with capturedAmount):
// 70% partial captures (a random part of the hold; the rest is released), 30% full (no amount).
// Every request carries a fresh Idempotency-Key. flow_duration is the wall time of the whole flow.
//
// Options: -e VUS=50 -e DURATION=3m (hold) -e RAMP=30s (ramp up, and again down) -e WALLETS=500
//          -e FUND=1000000000000 -e SLEEP=0.1

import { sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
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
} from './lib.js';

const VUS = envInt('VUS', 50);
const DURATION = envStr('DURATION', '3m');
const RAMP = envStr('RAMP', '30s');
const WALLETS = envInt('WALLETS', 500);
const FUND = envInt('FUND', 1000000000000);
const SLEEP = envFloat('SLEEP', 0.1);

const flowDuration = new Trend('flow_duration', true); // authorize + capture, wall time (ms)
const flowSuccess = new Rate('flow_success'); // both steps answered as expected
const capturedTotal = new Counter('flow_captured_minor_units'); // money moved by completed flows

export const options = Object.assign({}, COMMON_OPTIONS, {
    scenarios: {
        flow: {
            executor: 'ramping-vus',
            startVUs: 0,
            stages: [
                { duration: RAMP, target: VUS },
                { duration: DURATION, target: VUS },
                { duration: RAMP, target: 0 },
            ],
            gracefulRampDown: '10s',
        },
    },
    thresholds: Object.assign(summaryMetrics(['flow']), {
        flow_duration: ['p(95)<400', 'p(99)<1000'],
        flow_success: ['rate>0.99'],
        http_req_failed: ['rate<0.01'],
        'http_req_duration{op:authorize}': ['p(95)<200', 'p(99)<500'],
        'http_req_duration{op:capture}': ['p(95)<200', 'p(99)<500'],
        checks: ['rate>0.99'],
    }),
});

export function setup() {
    preflight();
    return { wallets: createFundedWallets(WALLETS, FUND, { prefix: 'k6-flow' }) };
}

export default function (data) {
    const wallet = pick(data.wallets);
    const amount = randInt(100, 10000);
    const partial = Math.random() < 0.7;
    const captureAmount = partial ? randInt(1, amount) : null;
    const expectedCapture = partial ? captureAmount : amount;
    const started = Date.now();

    const hold = expectEnvelope(api.authorize(wallet, amount, { currency: CURRENCY }), 'authorize', 201, 'CREATED', {
        'PENDING authorization': (d) => d.type === 'AUTHORIZATION' && d.status === 'PENDING',
        'amount held': (d) => d.amount === amount && d.walletId === wallet && d.capturedAmount === null,
    });
    if (!hold) {
        flowSuccess.add(false);
        sleep(SLEEP);
        return;
    }

    const captured = expectEnvelope(api.capture(hold.id, captureAmount), 'capture', 200, 'OK', {
        'COMPLETED': (d) => d.id === hold.id && d.status === 'COMPLETED',
        'capturedAmount': (d) => d.capturedAmount === expectedCapture && d.amount === amount,
    });
    flowDuration.add(Date.now() - started);
    flowSuccess.add(captured !== null);
    if (captured) capturedTotal.add(expectedCapture);
    sleep(SLEEP);
}

export function handleSummary(data) {
    return summary(data, {
        script: 'flow.js',
        settings: { VUS, DURATION, RAMP, WALLETS, FUND, SLEEP, CURRENCY },
        scenarios: [{ name: 'flow', seconds: 2 * durationSeconds(RAMP) + durationSeconds(DURATION), judgeThroughput: false }],
    });
}
