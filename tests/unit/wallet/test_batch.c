/*
 * tests/unit/wallet/test_batch.c - the group commit (wallet/batch.c, wallet/claim.c) against an
 * in-memory shard with injected faults (fake_store.c): replies, what is written, what is retried.
 */
#include "fake_store.h"
#include "wallet/batch.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/testing.h"

#define TENANT   "t1"
#define WALLET_A "wal_0001aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define WALLET_B "wal_0001bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define WALLET_C "wal_0001cccccccccccccccccccccccccccccccc"

static struct wd_batch *batch;
static struct wd_conn conn; /* only its address is used: the fake stands behind every call */
static struct wd_op ops[8];
static struct wd_op *order[8];
static int nops;

static int setup(void **state)
{
    (void)state;
    fake_reset();
    memset(ops, 0, sizeof(ops));
    nops = 0;
    batch = wd_batch_new(1);
    return batch ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nops; i++)
        wd_envelope_release(&ops[i].reply);
    wd_batch_free(batch);
    return 0;
}

/* A request hash that differs per seed, as two different requests' hashes do. */
static void hash_of(unsigned char out[WD_HASH_LEN], int seed)
{
    memset(out, 0, WD_HASH_LEN);
    out[0] = (unsigned char)seed;
    out[1] = 0x5a;
}

static struct wd_op *add_op(enum wd_op_kind kind, const char *wallet, long amount, const char *key)
{
    struct wd_op *op = &ops[nops];

    op->kind = kind;
    snprintf(op->tenant, sizeof(op->tenant), "%s", TENANT);
    if (wallet)
        snprintf(op->wallet_id, sizeof(op->wallet_id), "%s", wallet);
    op->amount = amount;
    op->has_amount = amount > 0;
    op->bucket = 1;
    snprintf(op->reference_id, sizeof(op->reference_id), "ref-%d", nops);
    op->expires_in_s = 3600;
    if (key) {
        op->has_idem = true;
        snprintf(op->idem_key, sizeof(op->idem_key), "%s", key);
    }
    hash_of(op->request_hash, nops + 1);
    order[nops] = op;
    nops++;
    return op;
}

static struct wd_op *add_create(const char *account, const char *key)
{
    struct wd_op *op = add_op(WD_OP_CREATE_WALLET, NULL, 0, key);

    snprintf(op->account_id, sizeof(op->account_id), "%s", account);
    snprintf(op->currency, sizeof(op->currency), "USD");
    return op;
}

static void run(void)
{
    wd_batch_run(batch, &conn, order, nops);
}

/* The reply's data.<member> as a string (copied into out). */
static void data_string(const struct wd_op *op, const char *member, char *out, size_t size)
{
    json_t *root = json_loadb(op->reply.data, op->reply.len, 0, NULL);

    assert_non_null(root);
    const char *s = json_string_value(json_object_get(json_object_get(root, "data"), member));
    assert_non_null(s);
    snprintf(out, size, "%s", s);
    json_decref(root);
}

static long balance(const char *wallet)
{
    const struct wd_wallet *w = fake_wallet(wallet);

    assert_non_null(w);
    return (long)w->balance;
}

static void assert_first_time(const struct wd_op *op, int status, const char *code)
{
    expect_reply(&op->reply, status, code);
    assert_false(op->replayed);
}

/* Every op of the batch was answered 201 CREATED, and not as a replay. */
static void assert_all_created(void)
{
    for (int i = 0; i < nops; i++)
        assert_first_time(&ops[i], 201, "CREATED");
}

/* Seeds the first n of wallets A, B and C (accounts acct-a, -b, -c), each holding balance. */
static void seed(int n, long balance)
{
    static const char *const ids[] = {WALLET_A, WALLET_B, WALLET_C};
    static const char *const accounts[] = {"acct-a", "acct-b", "acct-c"};

    for (int i = 0; i < n; i++)
        fake_add_wallet(ids[i], TENANT, accounts[i], "USD", balance);
}

/* ---- claims and replays -------------------------------------------------------------------- */

static void test_replay_in_a_mixed_batch_and_the_second_rules_pass(void **state)
{
    static const char stored[] = "{\"status\":201,\"code\":\"CREATED\",\"data\":{\"id\":\"x\"}}";
    unsigned char h[WD_HASH_LEN];

    (void)state;
    seed(1, 1000);
    struct wd_op *fresh = add_op(WD_OP_CREDIT, WALLET_A, 100, "k1");
    struct wd_op *again = add_op(WD_OP_CREDIT, WALLET_A, 100, "k2");
    /* funded only if the replayed credit counted: its first answer is stored as 201, then
     * restated as a refusal once the rules run without the replay */
    struct wd_op *debit = add_op(WD_OP_DEBIT, WALLET_A, 1150, "k3");
    hash_of(h, 2);
    fake_add_key(TENANT, WALLET_A, "k2", h, 201, stored);
    run();
    assert_first_time(fresh, 201, "CREATED");
    assert_true(again->replayed);
    assert_int_equal(again->reply.len, strlen(stored));
    assert_memory_equal(again->reply.data, stored, strlen(stored));
    assert_first_time(debit, 422, "INSUFFICIENT_FUNDS");
    assert_int_equal(balance(WALLET_A), 1100);
    assert_int_equal(fake_entries(WALLET_A), 1);
    const struct fake_key *k3 = fake_key(TENANT, WALLET_A, "k3");
    assert_non_null(k3);
    assert_int_equal(k3->status, 422); /* the stored answer is the one the client got */
    assert_memory_equal(k3->response, debit->reply.data, debit->reply.len);
    const struct fake_key *k1 = fake_key(TENANT, WALLET_A, "k1");
    assert_non_null(k1);
    assert_memory_equal(k1->response, fresh->reply.data, fresh->reply.len);
    assert_int_equal(fake.commits, 1);
    /* every answer of the batch, the replay too, carries the position after its commit */
    assert_string_equal(fresh->gtid, "0-1-1");
    assert_string_equal(again->gtid, "0-1-1");
    assert_string_equal(debit->gtid, "0-1-1");
}

static void test_a_reused_key_with_another_body_is_422_and_writes_nothing(void **state)
{
    unsigned char other[WD_HASH_LEN];

    (void)state;
    seed(1, 1000);
    hash_of(other, 99);
    fake_add_key(TENANT, WALLET_A, "k", other, 201, "{\"first\":true}");
    struct wd_op *op = add_op(WD_OP_CREDIT, WALLET_A, 5, "k");
    run();
    assert_first_time(op, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_int_equal(balance(WALLET_A), 1000);
    assert_int_equal(fake_entries(NULL), 0);
    assert_string_equal(fake_key(TENANT, WALLET_A, "k")->response, "{\"first\":true}");
}

static void test_the_same_key_for_another_wallet_is_another_request(void **state)
{
    (void)state;
    seed(2, 0);
    add_op(WD_OP_CREDIT, WALLET_A, 7, "same");
    add_op(WD_OP_CREDIT, WALLET_B, 9, "same");
    run();
    assert_all_created();
    assert_int_equal(balance(WALLET_A), 7);
    assert_int_equal(balance(WALLET_B), 9);
}

static void test_a_create_that_finds_its_wallet_existing_is_409_stored(void **state)
{
    (void)state;
    seed(1, 0);
    struct wd_op *keyed = add_create("acct-a", "create-1");
    run();
    assert_first_time(keyed, 409, "WALLET_EXISTS");
    const struct fake_key *k = fake_key(TENANT, "acct-a", "create-1");
    assert_non_null(k);
    assert_int_equal(k->status, 409); /* the claimed 201 was restated before the commit */
    assert_int_equal(fake.committed.nwallets, 1);
}

/* ---- retries ------------------------------------------------------------------------------- */

static void test_a_deadlock_retries_the_whole_batch_without_moving_twice(void **state)
{
    (void)state;
    seed(2, 0);
    add_op(WD_OP_CREDIT, WALLET_A, 10, "ka");
    add_op(WD_OP_CREDIT, WALLET_B, 20, "kb");
    fake.fail_statement = 6; /* past the locks and the claim: mid-write */
    fake.fail_code = -WD_E_DB_RETRY;
    run();
    assert_all_created();
    assert_int_equal(balance(WALLET_A), 10);
    assert_int_equal(balance(WALLET_B), 20);
    assert_int_equal(fake_entries(NULL), 2);
    assert_int_equal(fake.commits, 1);
    assert_true(fake.rollbacks >= 1);
}

static void test_a_connection_lost_before_commit_runs_the_batch_again(void **state)
{
    (void)state;
    seed(1, 0);
    add_op(WD_OP_CREDIT, WALLET_A, 10, "ka");
    fake.fail_statement = 3;
    fake.fail_code = -WD_E_DB_UNAVAILABLE;
    run();
    assert_all_created();
    assert_int_equal(balance(WALLET_A), 10);
    assert_int_equal(fake.reopens, 1);
    assert_int_equal(fake.commits, 1);
}

static void test_a_lost_commit_that_applied_is_answered_once_as_a_first_answer(void **state)
{
    char id[WD_ID_LEN + 1];

    (void)state;
    seed(1, 0);
    struct wd_op *credit = add_op(WD_OP_CREDIT, WALLET_A, 10, "ka");
    struct wd_op *create = add_create("acct-new", NULL); /* keyless: found by its own ID */
    fake.commit_fault = FAKE_COMMIT_LOST_APPLIED;
    run();
    assert_all_created();
    assert_int_equal(balance(WALLET_A), 10); /* once */
    assert_int_equal(fake_entries(WALLET_A), 1);
    data_string(create, "id", id, sizeof(id));
    assert_non_null(fake_wallet(id)); /* the answer names the wallet that exists */
    assert_int_equal(fake.committed.nwallets, 2);
    const struct fake_key *k = fake_key(TENANT, WALLET_A, "ka");
    assert_memory_equal(k->response, credit->reply.data, credit->reply.len);
    assert_int_equal(fake.reopens, 1);
}

static void test_a_lost_commit_that_did_not_apply_executes_once(void **state)
{
    (void)state;
    seed(1, 0);
    add_op(WD_OP_CREDIT, WALLET_A, 10, "ka");
    fake.commit_fault = FAKE_COMMIT_LOST_DROPPED;
    run();
    assert_all_created();
    assert_int_equal(balance(WALLET_A), 10);
    assert_int_equal(fake.commits, 1);
}

static void test_a_lost_commit_that_cannot_be_resolved_is_outcome_unknown(void **state)
{
    (void)state;
    seed(1, 0);
    struct wd_op *a = add_op(WD_OP_CREDIT, WALLET_A, 10, "ka");
    struct wd_op *b = add_op(WD_OP_DEBIT, WALLET_A, 5, "kb");
    fake.commit_fault = FAKE_COMMIT_LOST_APPLIED;
    fake.failing_reopens = 1000;
    run();
    assert_first_time(a, 503, "OUTCOME_UNKNOWN");
    assert_first_time(b, 503, "OUTCOME_UNKNOWN");
    assert_int_equal(balance(WALLET_A), 5); /* it had applied: "unknown" was the truth */
}

static void test_an_unexpected_error_on_one_op_fails_only_that_op(void **state)
{
    (void)state;
    seed(3, 0);
    struct wd_op *a = add_op(WD_OP_CREDIT, WALLET_A, 1, "ka");
    struct wd_op *b = add_op(WD_OP_CREDIT, WALLET_B, 2, "kb");
    struct wd_op *c = add_op(WD_OP_CREDIT, WALLET_C, 3, "kc");
    snprintf(fake.poisoned, sizeof(fake.poisoned), "%s", WALLET_B);
    run();
    assert_first_time(a, 201, "CREATED");
    assert_first_time(b, 500, "INTERNAL_ERROR");
    assert_first_time(c, 201, "CREATED");
    assert_int_equal(balance(WALLET_A), 1);
    assert_int_equal(balance(WALLET_B), 0);
    assert_int_equal(balance(WALLET_C), 3);
    assert_null(fake_key(TENANT, WALLET_B, "kb")); /* a failure stores nothing */
    assert_non_null(fake_key(TENANT, WALLET_C, "kc"));
}

static void test_capture_and_void_of_existing_holds(void **state)
{
    const struct wd_txn hold = {.id = "txn_0001aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                .tenant = TENANT,
                                .wallet_id = WALLET_A,
                                .currency = "USD",
                                .type = WD_TXN_AUTHORIZATION,
                                .status = WD_TXN_PENDING,
                                .amount = 300,
                                .expires_ms = (int64_t)4e12};

    (void)state;
    fake_add_wallet(WALLET_A, TENANT, "acct-a", "USD", 1000)->held = 300;
    fake_add_txn(&hold);
    struct wd_op *capture = add_op(WD_OP_CAPTURE, NULL, 200, "cap");
    snprintf(capture->txn_id, sizeof(capture->txn_id), "%s", hold.id);
    struct wd_op *twice = add_op(WD_OP_VOID, NULL, 0, "void");
    snprintf(twice->txn_id, sizeof(twice->txn_id), "%s", hold.id);
    run();
    assert_first_time(capture, 200, "OK");
    assert_first_time(twice, 409, "INVALID_TRANSACTION_STATE"); /* captured first, in order */
    assert_int_equal(balance(WALLET_A), 800);
    assert_int_equal(fake_wallet(WALLET_A)->held, 0);
    assert_int_equal(fake_txn(hold.id)->status, WD_TXN_COMPLETED);
    assert_int_equal(fake_txn(hold.id)->captured, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_in_a_mixed_batch_and_the_second_rules_pass,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_reused_key_with_another_body_is_422_and_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_same_key_for_another_wallet_is_another_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_create_that_finds_its_wallet_existing_is_409_stored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_deadlock_retries_the_whole_batch_without_moving_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_connection_lost_before_commit_runs_the_batch_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_lost_commit_that_applied_is_answered_once_as_a_first_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_lost_commit_that_did_not_apply_executes_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_lost_commit_that_cannot_be_resolved_is_outcome_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unexpected_error_on_one_op_fails_only_that_op,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_and_void_of_existing_holds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
