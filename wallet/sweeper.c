/*
 * wallet/sweeper.c - releases expired holds through the engine; purges old idempotency keys.
 */
#define _GNU_SOURCE
#include "wallet/sweeper.h"

#include "core/clock.h"
#include "core/ticker.h"
#include "core/log.h"
#include "db/conn.h"
#include "db/idem.h"
#include "db/ledger.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPIRE_BATCH 256
#define EXPIRE_ROUNDS                                                           \
    16 /* pages per shard per pass while pages come back full: a backlog drains \
        */
#define PURGE_BATCH  1000
#define PURGE_ROUNDS 10

struct wd_sweeper {
    const struct wd_config *cfg;
    struct wd_engine *engine;
    struct wd_ticker ticker;
    pthread_mutex_t mu; /* guards pending */
    pthread_cond_t cv;
    int pending; /* EXPIRE ops submitted and not done */
    struct wd_conn conns[WD_MAX_SHARDS];
    struct wd_op ops[EXPIRE_BATCH];
    char ids[EXPIRE_BATCH][WD_ID_LEN + 1];
};

static void expire_done(struct wd_op *op)
{
    struct wd_sweeper *s = op->arg;

    wd_envelope_release(&op->reply);
    pthread_mutex_lock(&s->mu);
    if (--s->pending == 0)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Submits an EXPIRE op per id and waits until all are done (the ops array is reused). */
static void expire(struct wd_sweeper *s, int shard, char (*ids)[WD_ID_LEN + 1], int n)
{
    struct wd_error err;

    for (int i = 0; i < n; i++) {
        struct wd_op *op = &s->ops[i];
        memset(op, 0, sizeof(*op));
        op->kind = WD_OP_EXPIRE;
        op->shard = shard;
        memcpy(op->txn_id, ids[i], sizeof(op->txn_id));
        op->done = expire_done;
        op->arg = s;
        pthread_mutex_lock(&s->mu);
        s->pending++;
        pthread_mutex_unlock(&s->mu);
        if (wd_engine_submit(s->engine, op, &err) < 0)
            expire_done(op);
    }
    pthread_mutex_lock(&s->mu);
    while (s->pending > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void sweep_shard(struct wd_sweeper *s, int shard)
{
    struct wd_error err = {0};
    int n = EXPIRE_BATCH, released = 0, deleted = 0;
    int64_t now = wd_clock_now_ms();

    for (int round = 0; round < EXPIRE_ROUNDS && n == EXPIRE_BATCH; round++) {
        if (wd_ledger_expired_holds(&s->conns[shard], now, s->ids, EXPIRE_BATCH, &n, &err) < 0) {
            wd_log_debug("sweeper: shard %d: %s", shard, err.message);
            return;
        }
        expire(s, shard, s->ids, n);
        released += n;
    }
    if (released > 0)
        wd_log_info("sweeper: shard %d: released %d expired holds", shard, released);
    int64_t before = now - (int64_t)s->cfg->idempotency_retention_s * 1000;
    for (int round = 0; round < PURGE_ROUNDS; round++) {
        if (wd_idem_purge(&s->conns[shard], before, PURGE_BATCH, &deleted, &err) < 0 ||
            deleted < PURGE_BATCH)
            break;
    }
}

static void sweep(void *arg)
{
    struct wd_sweeper *s = arg;

    for (int i = 0; i < s->cfg->shard_count; i++)
        sweep_shard(s, i);
}

/* A query on a stuck primary ends now. */
static void interrupt(void *arg)
{
    struct wd_sweeper *s = arg;

    for (int i = 0; i < s->cfg->shard_count; i++)
        wd_conn_interrupt(&s->conns[i]);
}

int wd_sweeper_start(struct wd_sweeper **out, const struct wd_config *cfg, struct wd_engine *engine,
                     struct wd_error *err)
{
    struct wd_sweeper *s = calloc(1, sizeof(*s));

    if (!s)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    s->cfg = cfg;
    s->engine = engine;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < cfg->shard_count; i++) {
        char label[48];
        snprintf(label, sizeof(label), "shard%d-primary", i);
        wd_conn_init(&s->conns[i], &cfg->shards[i].primary, label, 0, cfg->db_connect_timeout_s,
                     cfg->db_query_timeout_s);
    }
    if (wd_ticker_start(&s->ticker, cfg->sweeper_interval_ms, sweep, s) < 0) {
        wd_sweeper_stop(s);
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "cannot start the sweeper");
    }
    *out = s;
    return 0;
}

void wd_sweeper_stop(struct wd_sweeper *s)
{
    if (!s)
        return;
    wd_ticker_stop(&s->ticker, interrupt);
    for (int i = 0; i < s->cfg->shard_count; i++)
        wd_conn_release(&s->conns[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
