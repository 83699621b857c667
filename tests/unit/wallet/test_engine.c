/*
 * tests/unit/wallet/test_engine.c - the engine's queues and threads (wallet/engine.c) with the
 * group commit, the reads and the connections faked: a writer that cannot allocate its batch
 * keeps draining its queue, and a shutdown answers every op, queued or in progress.
 */
#include "core/config.h"
#include "db/conn.h"
#include "wallet/batch.h"
#include "wallet/engine.h"
#include "wallet/read.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/testing.h"

/* ---- fakes of what the engine drives --------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int failing_news;  /* wd_batch_new calls that fail, as when memory is out */
static bool hold_batches; /* wd_batch_run waits until its connection is interrupted */
static bool holding;      /* a batch is waiting */
static bool interrupted;
static int batch_dummy;

struct wd_batch *wd_batch_new(int resolve_timeout_s)
{
    (void)resolve_timeout_s;
    pthread_mutex_lock(&mu);
    bool fail = failing_news > 0 && failing_news--;
    pthread_mutex_unlock(&mu);
    return fail ? NULL : (struct wd_batch *)&batch_dummy;
}

void wd_batch_free(struct wd_batch *b)
{
    (void)b;
}

void wd_batch_run(struct wd_batch *b, struct wd_conn *c, struct wd_op **ops, int n)
{
    int code = 0;

    (void)b;
    (void)c;
    pthread_mutex_lock(&mu);
    if (hold_batches) {
        holding = true;
        pthread_cond_broadcast(&cv);
        while (!interrupted)
            pthread_cond_wait(&cv, &mu);
        code = -WD_E_SERVICE_UNAVAILABLE; /* what a batch whose I/O was broken off answers */
    }
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++) {
        wd_envelope_release(&ops[i]->reply);
        if (code)
            wd_envelope_error(&ops[i]->reply, code, NULL);
        else
            wd_envelope_success(&ops[i]->reply, 201, json_pack("{s:s}", "ran", "yes"));
    }
}

void wd_read_run(struct wd_read_conns *rc, struct wd_health *health, struct wd_op *op)
{
    (void)rc;
    (void)health;
    wd_envelope_success(&op->reply, 200, json_object());
}

void wd_conn_init(struct wd_conn *c, const struct wd_db_endpoint *ep, const char *label,
                  unsigned flags, int connect_timeout_s, int query_timeout_s)
{
    (void)ep;
    (void)label;
    (void)flags;
    (void)connect_timeout_s;
    (void)query_timeout_s;
    memset(c, 0, sizeof(*c));
}

void wd_conn_release(struct wd_conn *c)
{
    (void)c;
}

void wd_conn_interrupt(struct wd_conn *c)
{
    (void)c;
    pthread_mutex_lock(&mu);
    interrupted = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* ---- ops and their completions --------------------------------------------------------------- */

static struct wd_config cfg;
static struct wd_engine *engine;
static struct wd_op ops[4];
static int done_count;

static void on_done(struct wd_op *op)
{
    (void)op;
    pthread_mutex_lock(&mu);
    done_count++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static struct wd_op *write_op(int i)
{
    struct wd_op *op = &ops[i];

    memset(op, 0, sizeof(*op));
    op->kind = WD_OP_CREDIT;
    op->shard = 0;
    op->done = on_done;
    snprintf(op->tenant, sizeof(op->tenant), "t");
    return op;
}

static void wait_for(int *counter, int value)
{
    pthread_mutex_lock(&mu);
    while (*counter < value)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static int setup(void **state)
{
    struct wd_error err = {0};

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.shard_count = 1;
    cfg.db_pool_size = 1;
    cfg.db_read_pool_size = 1;
    cfg.batch_max = 64;
    cfg.resolve_timeout_s = 1;
    failing_news = 0;
    hold_batches = holding = interrupted = false;
    done_count = 0;
    return wd_engine_start(&engine, &cfg, NULL, &err);
}

static int teardown(void **state)
{
    (void)state;
    wd_engine_free(engine);
    for (int i = 0; i < 4; i++)
        wd_envelope_release(&ops[i].reply);
    return 0;
}

static void test_a_writer_without_memory_answers_500_and_keeps_draining(void **state)
{
    struct wd_error err = {0};

    (void)state;
    failing_news = 1;
    assert_int_equal(wd_engine_submit(engine, write_op(0), &err), 0);
    wait_for(&done_count, 1);
    expect_reply(&ops[0].reply, 500, "INTERNAL_ERROR");
    assert_int_equal(wd_engine_submit(engine, write_op(1), &err), 0);
    wait_for(&done_count, 2);
    expect_reply(&ops[1].reply, 201, "CREATED"); /* the same writer, its batch allocated now */
}

static void test_shutdown_answers_queued_and_in_progress_ops(void **state)
{
    struct wd_error err = {0};

    (void)state;
    hold_batches = true;
    assert_int_equal(wd_engine_submit(engine, write_op(0), &err), 0);
    pthread_mutex_lock(&mu);
    while (!holding)
        pthread_cond_wait(&cv, &mu); /* op 0 is in the writer's batch, its database stuck */
    pthread_mutex_unlock(&mu);
    assert_int_equal(wd_engine_submit(engine, write_op(1), &err), 0); /* queued behind it */
    wd_engine_shutdown(engine);
    assert_int_equal(done_count, 2); /* every op answered before shutdown returned */
    assert_true(interrupted);
    expect_reply(&ops[0].reply, 503, "SERVICE_UNAVAILABLE");
    expect_reply(&ops[1].reply, 503, "SERVICE_UNAVAILABLE");
    assert_int_equal(wd_engine_submit(engine, write_op(2), &err), -WD_E_SERVICE_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_writer_without_memory_answers_500_and_keeps_draining,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_answers_queued_and_in_progress_ops, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
