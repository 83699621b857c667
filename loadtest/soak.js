// loadtest/soak.js - moderate constant load for hours: leaks, slow drift, growing tables.
//
//   k6 run -e API_URL=http://localhost:3000 -e TEST_TOKEN=$(cat .cluster/dev-api-key) loadtest/soak.js
//
// A constant-arrival-rate scenario (default 200 iterations/s for 2 h). Each iteration is one of:
//   50%  authorize + capture (partial or full)      2 requests
//   15%  authorize + void                             2 requests
//   20%  GET wallet                                   1 request
//   10%  GET ledger page (limit 20)                   1 request
//    5%  direct debit (small) + GET transaction       2 requests
// so about 1.6 requests per iteration. Every money request has a fresh Idempotency-Key.
// teardown() checks that every setup() wallet still adds up (available = balance - held >= 0)
// and that no hold was left behind.
//
// Options: -e DURATION=2h -e RATE=200 -e WALLETS=500 -e FUND=1000000000000

import { sleep } from 'k6';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import {
    COMMON_OPTIONS,
    CURRENCY,
    api,
    createFundedWallets,
    envInt,
    envStr,
    expectEnvelope,
    pick,
    preflight,
    durationSeconds,
    randInt,
    req,
    summary,
    summaryMetrics,
    walletConsistent,
} from './lib.js';

const DURATION = envStr('DURATION', '2h');
const RATE = envInt('RATE', 200);
const WALLETS = envInt('WALLETS', 500);
const FUND = envInt('FUND', 1000000000000);

const flowDuration = new Trend('flow_duration', true); // authorize + capture/void, wall time (ms)
const flowSuccess = new Rate('flow_success');

export const options = Object.assign({}, COMMON_OPTIONS, {
    scenarios: {
        soak: {
            executor: 'constant-arrival-rate',
            rate: RATE,
            timeUnit: '1s',
            duration: DURATION,
            preAllocatedVUs: Math.max(10, Math.ceil(RATE * 0.2)),
            maxVUs: Math.max(20, Math.ceil(RATE * 2)),
            gracefulStop: '30s',
        },
    },
    thresholds: Object.assign(summaryMetrics(['soak']), {
        'http_req_duration{scenario:soak}': ['p(50)<100', 'p(95)<200', 'p(99)<500'],
        'http_req_duration{op:authorize}': ['p(99)<500'],
        'http_req_duration{op:capture}': ['p(99)<500'],
        'http_req_duration{op:get_wallet}': ['p(99)<500'],
        http_req_failed: ['rate<0.01'],
        checks: ['rate>0.99'],
        flow_success: ['rate>0.99'],
        flow_duration: ['p(99)<1000'],
        'dropped_iterations{scenario:soak}': ['count<100'],
    }),
});

export function setup() {
    preflight();
    return { wallets: createFundedWallets(WALLETS, FUND, { prefix: 'k6-soak' }) };
}

function holdThen(wallet, finish) {
    const amount = randInt(100, 5000);
    const started = Date.now();
    const hold = expectEnvelope(api.authorize(wallet, amount, { currency: CURRENCY }), 'authorize', 201, 'CREATED', {
        'PENDING': (d) => d.status === 'PENDING' && d.amount === amount,
    });
    if (!hold) {
        flowSuccess.add(false);
        return;
    }
    const ok = finish(hold, amount);
    flowDuration.add(Date.now() - started);
    flowSuccess.add(ok);
}

export default function (data) {
    const wallet = pick(data.wallets);
    const r = Math.random();
    if (r < 0.5) {
        holdThen(wallet, (hold, amount) => {
            const part = Math.random() < 0.5 ? randInt(1, amount) : null;
            const want = part === null ? amount : part;
            return (
                expectEnvelope(api.capture(hold.id, part), 'capture', 200, 'OK', {
                    'COMPLETED with capturedAmount': (d) => d.status === 'COMPLETED' && d.capturedAmount === want,
                }) !== null
            );
        });
    } else if (r < 0.65) {
        holdThen(wallet, (hold) => {
            return expectEnvelope(api.void(hold.id), 'void', 200, 'OK', { 'VOIDED': (d) => d.status === 'VOIDED' }) !== null;
        });
    } else if (r < 0.85) {
        expectEnvelope(api.getWallet(wallet), 'get wallet', 200, 'OK', { 'consistent': walletConsistent });
    } else if (r < 0.95) {
        expectEnvelope(api.ledger(wallet, 20), 'ledger', 200, 'OK', {
            'entries': (d) => Array.isArray(d.entries) && d.entries.length <= 20 && d.walletId === wallet,
        });
    } else {
        const amount = randInt(1, 100);
        const debit = expectEnvelope(api.directDebit(wallet, amount), 'direct debit', 201, 'CREATED', {
            'COMPLETED': (d) => d.type === 'DEBIT' && d.status === 'COMPLETED' && d.amount === amount,
        });
        if (debit) {
            expectEnvelope(api.getTransaction(debit.id, { strong: true }), 'get transaction', 200, 'OK', {
                'same transaction': (d) => d.id === debit.id && d.amount === amount,
            });
        }
    }
}

export function teardown(data) {
    sleep(1); // holds of iterations cut by gracefulStop are still pending; nothing else should be
    let held = 0;
    let balance = 0;
    for (let i = 0; i < data.wallets.length; i += 50) {
        const responses = http.batch(data.wallets.slice(i, i + 50).map((id) => req.getWallet(id, { strong: true })));
        responses.forEach((res) => {
            const w = expectEnvelope(res, 'teardown wallet', 200, 'OK', { 'consistent': walletConsistent });
            if (w) {
                held += w.held;
                balance += w.balance;
            }
        });
    }
    const spent = data.wallets.length * FUND - balance;
    console.log(`teardown: ${data.wallets.length} wallets consistent; ${spent} minor units captured or debited; ${held} still held`);
    if (held !== 0) console.warn(`teardown: ${held} minor units are still held (flows cut short, or a capture/void failed)`);
}

export function handleSummary(data) {
    return summary(data, {
        script: 'soak.js',
        settings: { DURATION, RATE, WALLETS, FUND, CURRENCY },
        scenarios: [{ name: 'soak', seconds: durationSeconds(DURATION), judgeThroughput: false }],
    });
}
