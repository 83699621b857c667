// loadtest/rollout.js - a fixed request rate through a load balancer while walletd pods are
// replaced one by one: every request must succeed.
//
//   k6 run -e API_URL=https://wallet.example.com -e TEST_TOKEN=... -e RATE=50 -e DURATION=2m \
//       loadtest/rollout.js      # while: kubectl -n walletd rollout restart deployment/walletd
//
// tests/deploy/test_rollout.py runs it through HAProxy in front of three local walletd processes
// while it SIGTERMs each in turn and starts a replacement. Open model (constant-arrival-rate):
// requests keep coming at RATE whatever happens to the pods, as a real client's would.
//
// Each iteration alternates an authorization on a random setup() wallet (a fresh Idempotency-Key)
// and a read of a wallet, so both the write and the read paths cross the rollout. Thresholds: no
// failed request at all, every check passed, no dropped iteration, and RATE x DURATION requests
// (+1: k6 starts one at each end) sent by the scenario (the test reads them back with k6's --summary-export).
//
// Options: -e RATE=50 -e DURATION=60s -e WALLETS=20 -e FUND=1000000000000 -e HOLD_SECONDS=3600
//          -e VUS=50 (pre-allocated; at most 4x)

import {
    COMMON_OPTIONS,
    CURRENCY,
    api,
    createFundedWallets,
    durationSeconds,
    envInt,
    envStr,
    expectEnvelope,
    pick,
    preflight,
    randInt,
    summary,
    summaryMetrics,
} from './lib.js';

const RATE = envInt('RATE', 50);
const DURATION = envStr('DURATION', '60s');
const PLANNED = Math.round(RATE * durationSeconds(DURATION));
const WALLETS = envInt('WALLETS', 20);
const FUND = envInt('FUND', 1000000000000);
const HOLD_SECONDS = envInt('HOLD_SECONDS', 3600);
const VUS = envInt('VUS', 50);

export const options = Object.assign({}, COMMON_OPTIONS, {
    scenarios: {
        rollout: {
            executor: 'constant-arrival-rate',
            rate: RATE,
            timeUnit: '1s',
            duration: DURATION,
            preAllocatedVUs: VUS,
            maxVUs: VUS * 4,
            gracefulStop: '30s',
        },
    },
    thresholds: Object.assign(summaryMetrics(['rollout']), {
        'http_req_failed{scenario:rollout}': ['rate==0'],
        'checks{scenario:rollout}': ['rate==1'],
        // k6 starts an iteration at both ends of the duration: RATE x DURATION, plus one.
        'http_reqs{scenario:rollout}': [`count>=${PLANNED}`, `count<=${PLANNED + 1}`],
        dropped_iterations: ['count==0'],
    }),
});

export function setup() {
    preflight();
    return { wallets: createFundedWallets(WALLETS, FUND, { prefix: 'k6-rollout' }) };
}

export default function (data) {
    const wallet = pick(data.wallets);
    if (__ITER % 2 === 0) {
        const amount = randInt(1, 100);
        const res = api.authorize(wallet, amount, { currency: CURRENCY, expiresInSeconds: HOLD_SECONDS });
        expectEnvelope(res, 'authorize', 201, 'CREATED', {
            'PENDING hold of the amount': (d) => d.status === 'PENDING' && d.amount === amount,
        });
    } else {
        expectEnvelope(api.getWallet(wallet), 'get wallet', 200, 'OK', {
            'the wallet': (d) => d.id === wallet,
        });
    }
}

export function handleSummary(data) {
    return summary(data, {
        script: 'rollout.js',
        settings: { RATE, DURATION, WALLETS, FUND, HOLD_SECONDS, VUS, CURRENCY },
        scenarios: [{ name: 'rollout', seconds: durationSeconds(DURATION), judgeThroughput: false }],
    });
}
