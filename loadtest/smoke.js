// loadtest/smoke.js - every endpoint, every iteration, with exact checks (1-2 VUs, ~30 s).
//
//   k6 run -e API_URL=http://localhost:3000 -e TEST_TOKEN=$(cat .cluster/dev-api-key) loadtest/smoke.js
//
// Options: -e VUS=2 -e DURATION=30s, or -e ITERATIONS=1 (each VU runs the iteration that many
// times instead, within 5 minutes). Passes only if every check passes and no request fails.
//
// One iteration, on a wallet it creates for a new account:
//   ready -> create wallet -> credit 100.00 -> replay the credit (same key: same answer, nothing
//   moves) -> authorize 25.00 -> capture 20.00 -> authorize 10.00 -> void -> direct debit 5.00 ->
//   authorize 1,000.00 (422 INSUFFICIENT_FUNDS) -> capture again (409 INVALID_TRANSACTION_STATE) ->
//   wallet = 75.00 / held 0 -> ledger in two pages (6 entries, newest first) -> the transaction ->
//   the account's wallets; and a hold + void on this VU's funded setup() wallet.

import { sleep, check } from 'k6';
import {
    COMMON_OPTIONS,
    CURRENCY,
    api,
    createFundedWallets,
    durationSeconds,
    envInt,
    envStr,
    expectEnvelope,
    expectError,
    newAccountId,
    newKey,
    preflight,
    summary,
    summaryMetrics,
    walletConsistent,
} from './lib.js';

const VUS = envInt('VUS', 2);
const DURATION = envStr('DURATION', '30s');
const ITERATIONS = envInt('ITERATIONS', 0);

export const options = Object.assign({}, COMMON_OPTIONS, {
    scenarios: {
        smoke:
            ITERATIONS > 0
                ? { executor: 'per-vu-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: '5m' }
                : { executor: 'constant-vus', vus: VUS, duration: DURATION },
    },
    thresholds: Object.assign(summaryMetrics(['smoke']), {
        checks: ['rate==1'],
        http_req_failed: ['rate==0'],
        'http_req_duration{scenario:smoke}': ['p(95)<1000'],
    }),
});

export function setup() {
    preflight();
    // One funded wallet per VU, so VUs never touch each other's balances.
    return { wallets: createFundedWallets(VUS, 1000000, { prefix: 'k6-smoke' }) };
}

export default function (data) {
    // --- health --------------------------------------------------------------------------------
    expectEnvelope(api.healthReady(), 'health/ready', 200, 'OK', {
        'ready': (d) => d.status === 'ready',
    });

    // --- a new wallet ------------------------------------------------------------------------
    const accountId = newAccountId('k6-smoke');
    const wallet = expectEnvelope(api.createWallet(accountId), 'create wallet', 201, 'CREATED', {
        'wallet id': (d) => /^wal_[0-9a-f]{36}$/.test(d.id),
        'accountId': (d) => d.accountId === accountId,
        'currency': (d) => d.currency === CURRENCY,
        'empty and active': (d) => d.balance === 0 && d.held === 0 && d.available === 0 && d.status === 'ACTIVE',
    });
    if (!wallet) return;
    const w = wallet.id;

    // --- credit, and its idempotent replay ----------------------------------------------------
    const creditKey = newKey('smoke-credit');
    const creditRes = api.credit(w, 10000, { key: creditKey, referenceId: 'smoke-topup' });
    const credit = expectEnvelope(creditRes, 'credit', 201, 'CREATED', {
        'transaction id': (d) => /^txn_[0-9a-f]{36}$/.test(d.id),
        'completed credit': (d) => d.type === 'CREDIT' && d.status === 'COMPLETED' && d.amount === 10000,
        'referenceId': (d) => d.referenceId === 'smoke-topup',
    });
    if (!credit) return;
    const replay = api.credit(w, 10000, { key: creditKey, referenceId: 'smoke-topup' });
    check(replay, {
        'credit replay: same status': (r) => r.status === 201,
        'credit replay: Idempotent-Replayed: true': (r) => r.headers['Idempotent-Replayed'] === 'true',
        'credit replay: same body, byte for byte': (r) => r.body === creditRes.body,
    });

    // --- authorize 25.00, capture 20.00 ---------------------------------------------------------
    const auth = expectEnvelope(api.authorize(w, 2500, { currency: CURRENCY, referenceId: 'smoke-order-1' }), 'authorize', 201, 'CREATED', {
        'pending authorization': (d) => d.type === 'AUTHORIZATION' && d.status === 'PENDING' && d.amount === 2500,
        'expiresAt set': (d) => typeof d.expiresAt === 'string' && d.capturedAmount === null,
    });
    if (!auth) return;
    expectEnvelope(api.capture(auth.id, 2000), 'capture', 200, 'OK', {
        'completed with capturedAmount': (d) => d.id === auth.id && d.status === 'COMPLETED' && d.capturedAmount === 2000,
    });

    // --- authorize 10.00, void --------------------------------------------------------------
    const auth2 = expectEnvelope(api.authorize(w, 1000), 'authorize (to void)', 201, 'CREATED', {
        'pending': (d) => d.status === 'PENDING',
    });
    if (!auth2) return;
    expectEnvelope(api.void(auth2.id), 'void', 200, 'OK', {
        'voided': (d) => d.id === auth2.id && d.status === 'VOIDED',
    });

    // --- direct debit 5.00 -------------------------------------------------------------------
    expectEnvelope(api.directDebit(w, 500), 'direct debit', 201, 'CREATED', {
        'completed debit': (d) => d.type === 'DEBIT' && d.status === 'COMPLETED' && d.amount === 500,
    });

    // --- refusals (expected statuses, so they do not count as failed requests) -----------------
    expectError(api.authorize(w, 100000, { expected: [422] }), 'authorize over available', 422, 'INSUFFICIENT_FUNDS');
    expectError(api.capture(auth.id, null, { expected: [409] }), 'capture twice', 409, 'INVALID_TRANSACTION_STATE');

    // --- reads: 100.00 - 20.00 - 5.00 = 75.00, nothing held ------------------------------------
    expectEnvelope(api.getWallet(w, { strong: true }), 'get wallet', 200, 'OK', {
        'balance 7500, held 0, available 7500': (d) => d.balance === 7500 && d.held === 0 && d.available === 7500,
        'consistent': walletConsistent,
    });

    // CREDIT, HOLD, CAPTURE, HOLD, RELEASE, DEBIT: 6 entries, newest first, in pages of 5 + 1.
    const page1 = expectEnvelope(api.ledger(w, 5, null, { strong: true }), 'ledger page 1', 200, 'OK', {
        '5 entries': (d) => d.walletId === w && Array.isArray(d.entries) && d.entries.length === 5,
        'newest first: the debit': (d) => d.entries[0].type === 'DEBIT' && d.entries[0].amount === -500 && d.entries[0].balanceAfter === 7500,
        'nextCursor': (d) => typeof d.nextCursor === 'string' && d.nextCursor.length > 0,
    });
    if (page1) {
        expectEnvelope(api.ledger(w, 5, page1.nextCursor, { strong: true }), 'ledger page 2', 200, 'OK', {
            'the credit, last': (d) => d.entries.length === 1 && d.entries[0].type === 'CREDIT' && d.entries[0].balanceAfter === 10000,
            'no more pages': (d) => d.nextCursor === null,
        });
    }

    expectEnvelope(api.getTransaction(auth.id, { strong: true }), 'get transaction', 200, 'OK', {
        'captured authorization': (d) => d.id === auth.id && d.walletId === w && d.status === 'COMPLETED' && d.capturedAmount === 2000,
    });

    expectEnvelope(api.accountWallets(accountId, { strong: true }), 'account wallets', 200, 'OK', {
        'one wallet': (d) => d.accountId === accountId && d.wallets.length === 1 && d.wallets[0].id === w,
    });

    // --- the funded setup() wallet of this VU: hold and release --------------------------------
    const mine = data.wallets[(__VU - 1) % data.wallets.length];
    const hold = expectEnvelope(api.authorize(mine, 100), 'authorize (setup wallet)', 201, 'CREATED', {
        'pending': (d) => d.status === 'PENDING' && d.walletId === mine,
    });
    if (hold) expectEnvelope(api.void(hold.id), 'void (setup wallet)', 200, 'OK', { 'voided': (d) => d.status === 'VOIDED' });
    expectEnvelope(api.getWallet(mine, { strong: true }), 'get wallet (setup wallet)', 200, 'OK', {
        'funded, nothing held': (d) => d.balance === 1000000 && d.held === 0,
    });

    sleep(1);
}

export function handleSummary(data) {
    return summary(data, {
        script: 'smoke.js',
        settings: ITERATIONS > 0 ? { VUS, ITERATIONS, CURRENCY } : { VUS, DURATION, CURRENCY },
        scenarios: [{ name: 'smoke', seconds: ITERATIONS > 0 ? null : durationSeconds(DURATION), judgeThroughput: false }],
    });
}
