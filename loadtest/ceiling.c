/*
 * loadtest/ceiling.c - the database ceiling for authorize, with no HTTP in between.
 *
 * Drives the exact SQL walletd runs for an authorize (wallet/batch.c over db/ledger.c: claim the
 * idempotency key, lock the wallet, insert the transaction, update the wallet, insert the ledger
 * row, store the reply, commit) straight at the shard primaries, from C threads, and reports
 * movements per second and latency percentiles. Two modes:
 *
 *   --mode single   every client thread owns a connection and commits each authorize alone:
 *                   one DB transaction per movement (what a server without group commit does)
 *   --mode engine   client threads submit to wallet/engine exactly as walletd's HTTP threads do
 *                   (group commit with DB_POOL_SIZE writers per shard): walletd minus HTTP
 *
 * Usage: wallet-ceiling [--mode single|engine] [--clients 64] [--seconds 20] [--wallets 1000]
 * Configuration (shards, DB_POOL_SIZE, BATCH_MAX) comes from the same environment as walletd.
 * Prints one JSON line with the results.
 */
#define _GNU_SOURCE
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "db/conn.h"
#include "shard/id.h"
#include "shard/map.h"
#include "wallet/batch.h"
#include "wallet/engine.h"

#include <mysql.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define LAT_SLOTS   (1 << 20)
#define TENANT      "ceiling"

struct run {
    struct wd_config cfg;
    struct shard_map map;
    struct wallet_engine *engine;
    bool engine_mode;
    int clients, seconds, nwallets;
    char (*wallets)[SHARD_ID_LEN + 1];
    atomic_bool stop;
    atomic_long done, failed;
    atomic_long nlat;
    uint32_t *lat_us; /* sampled latencies */
};

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void op_done(struct wallet_op *op)
{
    struct waiter *w = op->arg;

    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void fill_authorize(struct run *r, struct wallet_op *op, unsigned *seed, long n, int id)
{
    const char *wallet = r->wallets[rand_r(seed) % (unsigned)r->nwallets];
    uint32_t bucket = 0;

    memset(op, 0, sizeof(*op));
    op->kind = WALLET_OP_AUTHORIZE;
    shard_id_parse(wallet, SHARD_ID_LEN, SHARD_ID_WALLET, &bucket);
    op->bucket = bucket;
    op->shard = shard_map_lookup(&r->map, bucket);
    snprintf(op->tenant, sizeof(op->tenant), TENANT);
    memcpy(op->wallet_id, wallet, SHARD_ID_LEN + 1);
    op->amount = 1;
    op->has_amount = true;
    snprintf(op->reference_id, sizeof(op->reference_id), "ceiling");
    op->expires_in_s = 3600;
    op->has_idem = true;
    snprintf(op->idem_key, sizeof(op->idem_key), "ceil-%d-%ld-%lld", id, n,
             (long long)wd_clock_now_ms());
    randombytes_buf(op->request_hash, sizeof(op->request_hash));
}

static void record(struct run *r, int64_t start_ns, const struct wallet_op *op)
{
    int64_t us = (wd_clock_mono_ns() - start_ns) / 1000;
    long i = atomic_fetch_add(&r->nlat, 1);

    if (i < LAT_SLOTS)
        r->lat_us[i] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
    if (op->reply.status == 201)
        atomic_fetch_add(&r->done, 1);
    else
        atomic_fetch_add(&r->failed, 1);
}

struct client {
    struct run *run;
    int id;
    pthread_t tid;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct run *r = c->run;
    struct wallet_op op;
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    unsigned seed = (unsigned)c->id * 2654435761u;
    struct db_conn conns[WD_MAX_SHARDS];
    struct wallet_batch *batch = r->engine_mode ? NULL : wallet_batch_new();
    struct wd_error err;

    for (int s = 0; !r->engine_mode && s < r->cfg.shard_count; s++)
        db_conn_init(&conns[s], &r->cfg.shards[s].primary, "ceiling", DB_CONN_TRANSACTIONAL, 5, 30);
    for (long n = 0; !atomic_load(&r->stop); n++) {
        fill_authorize(r, &op, &seed, n, c->id);
        int64_t start = wd_clock_mono_ns();
        if (r->engine_mode) {
            op.done = op_done;
            op.arg = &w;
            w.done = false;
            if (wallet_engine_submit(r->engine, &op, &err) < 0) {
                atomic_fetch_add(&r->failed, 1);
                continue;
            }
            pthread_mutex_lock(&w.mu);
            while (!w.done)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
        } else {
            struct wallet_op *ops[1] = {&op};
            wallet_batch_run(batch, &conns[op.shard], ops, 1);
        }
        record(r, start, &op);
        wd_body_release(&op.reply);
    }
    for (int s = 0; !r->engine_mode && s < r->cfg.shard_count; s++)
        db_conn_release(&conns[s]);
    wallet_batch_free(batch);
    return NULL;
}

/* Creates and funds the wallets used by the run, through the same engine code. */
static int seed_wallets(struct run *r)
{
    struct wallet_engine *e;
    struct wd_error err = {0};
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    struct wallet_op op;

    if (wallet_engine_start(&e, &r->cfg, &err) < 0)
        return fprintf(stderr, "engine: %s\n", err.message), -1;
    for (int i = 0; i < r->nwallets; i++) {
        for (int step = 0; step < 2; step++) {
            memset(&op, 0, sizeof(op));
            snprintf(op.tenant, sizeof(op.tenant), TENANT);
            if (step == 0) {
                op.kind = WALLET_OP_CREATE_WALLET;
                snprintf(op.account_id, sizeof(op.account_id), "ceiling-%d-%lld", i,
                         (long long)wd_clock_now_ms());
                op.bucket = shard_hash_bucket(op.account_id, strlen(op.account_id));
                memcpy(op.currency, "USD", 4);
            } else {
                op.kind = WALLET_OP_CREDIT;
                memcpy(op.wallet_id, r->wallets[i], SHARD_ID_LEN + 1);
                shard_id_parse(op.wallet_id, SHARD_ID_LEN, SHARD_ID_WALLET, &op.bucket);
                op.amount = 1000000000000LL;
                snprintf(op.reference_id, sizeof(op.reference_id), "seed");
                op.has_idem = true;
                snprintf(op.idem_key, sizeof(op.idem_key), "seed-%s", op.wallet_id);
            }
            op.shard = shard_map_lookup(&r->map, op.bucket);
            op.done = op_done;
            op.arg = &w;
            w.done = false;
            if (wallet_engine_submit(e, &op, &err) < 0)
                return fprintf(stderr, "seed: %s\n", err.message), -1;
            pthread_mutex_lock(&w.mu);
            while (!w.done)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
            if (op.reply.status != 201)
                return fprintf(stderr, "seed failed: %s\n", op.reply.data), -1;
            if (step == 0) {
                const char *id = strstr(op.reply.data, "\"id\":\"") + 6;
                memcpy(r->wallets[i], id, SHARD_ID_LEN);
                r->wallets[i][SHARD_ID_LEN] = '\0';
            }
            wd_body_release(&op.reply);
        }
    }
    wallet_engine_stop(e);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint32_t *sorted, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p / 100.0 * (double)(n - 1));
    return sorted[i] / 1000.0;
}

static int parse_args(struct run *r, int argc, char **argv)
{
    r->clients = 64;
    r->seconds = 20;
    r->nwallets = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode"))
            r->engine_mode = !strcmp(argv[i + 1], "engine");
        else if (!strcmp(argv[i], "--clients"))
            r->clients = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seconds"))
            r->seconds = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--wallets"))
            r->nwallets = (int)strtol(argv[i + 1], NULL, 10);
        else
            return -1;
    }
    return r->clients < 1 || r->clients > MAX_CLIENTS || r->seconds < 1 || r->nwallets < 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
    static struct run r;
    static struct client clients[MAX_CLIENTS];
    struct wd_error err = {0};

    if (parse_args(&r, argc, argv) < 0) {
        fprintf(stderr, "usage: wallet-ceiling [--mode single|engine] [--clients N] "
                        "[--seconds N] [--wallets N]\n");
        return 2;
    }
    if (sodium_init() < 0 || mysql_library_init(0, NULL, NULL) != 0)
        return 1;
    wd_log_min_level = WD_LOG_ERROR;
    if (wd_config_load_storage(&r.cfg, wd_config_process_env, NULL, &err) < 0 ||
        shard_map_init(&r.map, r.cfg.shard_count, r.cfg.shard_map, &err) < 0) {
        fprintf(stderr, "wallet-ceiling: %s\n", err.message);
        return 2;
    }
    r.wallets = calloc((size_t)r.nwallets, sizeof(*r.wallets));
    r.lat_us = calloc(LAT_SLOTS, sizeof(*r.lat_us));
    if (!r.wallets || !r.lat_us || seed_wallets(&r) < 0)
        return 1;
    if (r.engine_mode && wallet_engine_start(&r.engine, &r.cfg, &err) < 0) {
        fprintf(stderr, "wallet-ceiling: %s\n", err.message);
        return 1;
    }
    int64_t start = wd_clock_mono_ns();
    for (int i = 0; i < r.clients; i++) {
        clients[i] = (struct client){&r, i, 0};
        pthread_create(&clients[i].tid, NULL, client_main, &clients[i]);
    }
    sleep((unsigned)r.seconds);
    atomic_store(&r.stop, true);
    for (int i = 0; i < r.clients; i++)
        pthread_join(clients[i].tid, NULL);
    double secs = (double)(wd_clock_mono_ns() - start) / 1e9;
    wallet_engine_stop(r.engine);
    long n = atomic_load(&r.nlat) < LAT_SLOTS ? atomic_load(&r.nlat) : LAT_SLOTS;
    qsort(r.lat_us, (size_t)n, sizeof(*r.lat_us), cmp_u32);
    printf("{\"mode\":\"%s\",\"clients\":%d,\"seconds\":%.1f,\"tps\":%.1f,\"failed\":%ld,"
           "\"p50_ms\":%.2f,\"p95_ms\":%.2f,\"p99_ms\":%.2f,\"db_pool_size\":%d,"
           "\"batch_max\":%d}\n",
           r.engine_mode ? "engine" : "single", r.clients, secs,
           (double)atomic_load(&r.done) / secs, atomic_load(&r.failed), pct(r.lat_us, n, 50),
           pct(r.lat_us, n, 95), pct(r.lat_us, n, 99), r.cfg.db_pool_size, r.cfg.batch_max);
    mysql_library_end();
    return atomic_load(&r.failed) ? 1 : 0;
}
