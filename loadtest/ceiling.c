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
 * Usage: wallet-ceiling [--mode single|engine] [--clients 64] [--seconds 20]
 *                       [--wallets 1000 | --wallets-file F --tenant T]
 *
 * The holds (1 minor unit each, expiring after an hour) go to random wallets: with --wallets-file,
 * the funded wallets listed in F (one ID per line, as loadtest/bench's bench_seed.py writes them)
 * that belong to tenant T; without it, N wallets it creates and funds first (10^12 each) for
 * tenant "ceiling", a new set on every run. Every op is run the way the mode runs it, seeding
 * included (engine mode: one engine for the seeding and the run).
 * Configuration (shards, DB_POOL_SIZE, BATCH_MAX) comes from the same environment as walletd.
 * Prints one JSON line with the results; the first failed hold, if any, goes to stderr (e.g. 422
 * INSUFFICIENT_FUNDS: the listed wallets ran dry) and the exit status is then 1.
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

#include <ctype.h>
#include <errno.h>
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
#define SEED_TENANT "ceiling"
#define SEED_AMOUNT 1000000000000LL

struct run {
    struct wd_config cfg;
    struct wd_map map;
    struct wd_engine *engine;
    bool engine_mode;
    int clients, seconds, nwallets;
    const char *wallets_file; /* NULL: seed nwallets wallets */
    const char *tenant;
    char (*wallets)[WD_ID_LEN + 1];
    atomic_bool stop;
    atomic_bool failure_shown; /* the first failure went to stderr */
    atomic_long done, failed;
    atomic_long nlat;
    uint32_t *lat_us; /* sampled latencies */
};

/* What one thread needs to run ops one at a time in either mode. */
struct session {
    pthread_mutex_t mu; /* engine mode: op_done's signal */
    pthread_cond_t cv;
    bool done;
    struct wd_batch *batch;              /* single mode */
    struct wd_conn conns[WD_MAX_SHARDS]; /* single mode: one per shard primary */
};

static void op_done(struct wd_op *op)
{
    struct session *ss = op->arg;

    pthread_mutex_lock(&ss->mu);
    ss->done = true;
    pthread_cond_signal(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
}

static int session_open(struct run *r, struct session *ss)
{
    memset(ss, 0, sizeof(*ss));
    pthread_mutex_init(&ss->mu, NULL);
    pthread_cond_init(&ss->cv, NULL);
    if (r->engine_mode)
        return 0;
    for (int s = 0; s < r->cfg.shard_count; s++)
        wd_conn_init(&ss->conns[s], &r->cfg.shards[s].primary, "ceiling", WD_CONN_TRANSACTIONAL, 5,
                     30);
    ss->batch = wd_batch_new(r->cfg.resolve_timeout_s);
    return ss->batch ? 0 : -1;
}

static void session_close(struct run *r, struct session *ss)
{
    for (int s = 0; !r->engine_mode && s < r->cfg.shard_count; s++)
        wd_conn_release(&ss->conns[s]);
    wd_batch_free(ss->batch);
    pthread_cond_destroy(&ss->cv);
    pthread_mutex_destroy(&ss->mu);
}

/*
 * Runs op (op->shard set) to its reply: engine mode submits it to the engine and waits for it,
 * single mode runs it alone in one DB transaction on the session's connection to its shard.
 * Returns 0, or -1 if the engine refused to queue it (err says why; op has no reply).
 */
static int submit_wait(struct run *r, struct session *ss, struct wd_op *op, struct wd_error *err)
{
    if (!r->engine_mode) {
        struct wd_op *ops[1] = {op};
        wd_batch_run(ss->batch, &ss->conns[op->shard], ops, 1);
        return 0;
    }
    op->done = op_done;
    op->arg = ss;
    ss->done = false;
    if (wd_engine_submit(r->engine, op, err) < 0)
        return -1;
    pthread_mutex_lock(&ss->mu);
    while (!ss->done)
        pthread_cond_wait(&ss->cv, &ss->mu);
    pthread_mutex_unlock(&ss->mu);
    return 0;
}

static void fill_authorize(struct run *r, struct wd_op *op, unsigned *seed, long n, int id)
{
    const char *wallet = r->wallets[rand_r(seed) % (unsigned)r->nwallets];
    uint32_t bucket = 0;

    memset(op, 0, sizeof(*op));
    op->kind = WD_OP_AUTHORIZE;
    wd_id_parse(wallet, WD_ID_LEN, WD_ID_WALLET, &bucket);
    op->bucket = bucket;
    op->shard = wd_map_lookup(&r->map, bucket);
    snprintf(op->tenant, sizeof(op->tenant), "%s", r->tenant);
    memcpy(op->wallet_id, wallet, WD_ID_LEN + 1);
    op->amount = 1;
    op->has_amount = true;
    snprintf(op->reference_id, sizeof(op->reference_id), "ceiling");
    op->expires_in_s = 3600;
    op->has_idem = true;
    snprintf(op->idem_key, sizeof(op->idem_key), "ceil-%d-%ld-%lld", id, n,
             (long long)wd_clock_now_ms());
    randombytes_buf(op->request_hash, sizeof(op->request_hash));
}

static void record(struct run *r, int64_t start_ns, const struct wd_op *op)
{
    int64_t us = (wd_clock_mono_ns() - start_ns) / 1000;
    long i = atomic_fetch_add(&r->nlat, 1);

    if (i < LAT_SLOTS)
        r->lat_us[i] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
    if (op->reply.status == 201) {
        atomic_fetch_add(&r->done, 1);
        return;
    }
    atomic_fetch_add(&r->failed, 1);
    if (!atomic_exchange(&r->failure_shown, true))
        fprintf(stderr, "wallet-ceiling: first failed hold, on %s: %d %s\n", op->wallet_id,
                op->reply.status, op->reply.data ? op->reply.data : "");
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
    struct wd_op op;
    struct session ss;
    unsigned seed = (unsigned)c->id * 2654435761u;
    struct wd_error err = {0};

    if (session_open(r, &ss) < 0) {
        fprintf(stderr, "wallet-ceiling: client %d: out of memory\n", c->id);
        atomic_fetch_add(&r->failed, 1);
        session_close(r, &ss);
        return NULL;
    }
    for (long n = 0; !atomic_load(&r->stop); n++) {
        fill_authorize(r, &op, &seed, n, c->id);
        int64_t start = wd_clock_mono_ns();
        if (submit_wait(r, &ss, &op, &err) < 0) {
            atomic_fetch_add(&r->failed, 1);
            if (!atomic_exchange(&r->failure_shown, true))
                fprintf(stderr, "wallet-ceiling: engine refused a hold: %s\n", err.message);
            continue;
        }
        record(r, start, &op);
        wd_envelope_release(&op.reply);
    }
    session_close(r, &ss);
    return NULL;
}

/* Reads r->wallets_file: one wallet ID per line (blank lines skipped). */
static int load_wallets(struct run *r)
{
    FILE *f = fopen(r->wallets_file, "r");
    char line[256];
    int cap = 0, lineno = 0;

    if (!f)
        return fprintf(stderr, "wallet-ceiling: %s: %s\n", r->wallets_file, strerror(errno)), -1;
    r->nwallets = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        uint32_t bucket;

        lineno++;
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (wd_id_parse(line, len, WD_ID_WALLET, &bucket) < 0) {
            fprintf(stderr, "wallet-ceiling: %s:%d: not a wallet ID: %.60s\n", r->wallets_file,
                    lineno, line);
            fclose(f);
            return -1;
        }
        if (r->nwallets == cap) {
            cap = cap ? 2 * cap : 1024;
            void *p = realloc(r->wallets, (size_t)cap * sizeof(*r->wallets));
            if (!p) {
                fclose(f);
                return fprintf(stderr, "wallet-ceiling: out of memory\n"), -1;
            }
            r->wallets = p;
        }
        memcpy(r->wallets[r->nwallets++], line, WD_ID_LEN + 1);
    }
    fclose(f);
    if (r->nwallets == 0)
        return fprintf(stderr, "wallet-ceiling: no wallets in %s\n", r->wallets_file), -1;
    return 0;
}

/* Creates and funds r->nwallets wallets for tenant "ceiling", one op at a time, as the run will. */
static int seed_wallets(struct run *r)
{
    struct wd_error err = {0};
    struct session ss;
    struct wd_op op;
    int rc = -1;

    r->wallets = calloc((size_t)r->nwallets, sizeof(*r->wallets));
    if (!r->wallets)
        return fprintf(stderr, "wallet-ceiling: out of memory\n"), -1;
    if (session_open(r, &ss) < 0) {
        fprintf(stderr, "wallet-ceiling: out of memory\n");
        goto out;
    }
    for (int i = 0; i < r->nwallets; i++) {
        for (int step = 0; step < 2; step++) {
            memset(&op, 0, sizeof(op));
            snprintf(op.tenant, sizeof(op.tenant), "%s", r->tenant);
            if (step == 0) {
                op.kind = WD_OP_CREATE_WALLET;
                snprintf(op.account_id, sizeof(op.account_id), "ceiling-%d-%lld", i,
                         (long long)wd_clock_now_ms());
                op.bucket = wd_hash_bucket(op.account_id, strlen(op.account_id));
                memcpy(op.currency, "USD", 4);
            } else {
                op.kind = WD_OP_CREDIT;
                memcpy(op.wallet_id, r->wallets[i], WD_ID_LEN + 1);
                wd_id_parse(op.wallet_id, WD_ID_LEN, WD_ID_WALLET, &op.bucket);
                op.amount = SEED_AMOUNT;
                snprintf(op.reference_id, sizeof(op.reference_id), "seed");
                op.has_idem = true;
                snprintf(op.idem_key, sizeof(op.idem_key), "seed-%s", op.wallet_id);
            }
            op.shard = wd_map_lookup(&r->map, op.bucket);
            if (submit_wait(r, &ss, &op, &err) < 0) {
                fprintf(stderr, "wallet-ceiling: seed: %s\n", err.message);
                goto out;
            }
            const char *id = op.reply.data ? strstr(op.reply.data, "\"id\":\"") : NULL;
            if (op.reply.status != 201 || (step == 0 && !id)) {
                fprintf(stderr, "wallet-ceiling: seed failed: %d %s\n", op.reply.status,
                        op.reply.data ? op.reply.data : "");
                wd_envelope_release(&op.reply);
                goto out;
            }
            if (step == 0) {
                memcpy(r->wallets[i], id + 6, WD_ID_LEN);
                r->wallets[i][WD_ID_LEN] = '\0';
            }
            wd_envelope_release(&op.reply);
        }
    }
    rc = 0;
out:
    session_close(r, &ss);
    return rc;
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
    bool counted = false;

    r->clients = 64;
    r->seconds = 20;
    r->nwallets = 1000;
    if (argc % 2 == 0)
        return -1; /* an option without its value */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode")) {
            r->engine_mode = !strcmp(argv[i + 1], "engine");
            if (!r->engine_mode && strcmp(argv[i + 1], "single") != 0)
                return -1;
        } else if (!strcmp(argv[i], "--clients"))
            r->clients = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seconds"))
            r->seconds = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--wallets")) {
            r->nwallets = (int)strtol(argv[i + 1], NULL, 10);
            counted = true;
        } else if (!strcmp(argv[i], "--wallets-file"))
            r->wallets_file = argv[i + 1];
        else if (!strcmp(argv[i], "--tenant"))
            r->tenant = argv[i + 1];
        else
            return -1;
    }
    /* The listed wallets belong to the tenant that made them; seeded ones to "ceiling". */
    if (r->wallets_file ? counted || !r->tenant : r->tenant != NULL)
        return -1;
    if (!r->tenant)
        r->tenant = SEED_TENANT;
    return r->clients < 1 || r->clients > MAX_CLIENTS || r->seconds < 1 || r->nwallets < 1 ||
                   !*r->tenant || strlen(r->tenant) > WD_TENANT_MAX
               ? -1
               : 0;
}

int main(int argc, char **argv)
{
    static struct run r;
    static struct client clients[MAX_CLIENTS];
    struct wd_error err = {0};

    if (parse_args(&r, argc, argv) < 0) {
        fprintf(stderr, "usage: wallet-ceiling [--mode single|engine] [--clients N] [--seconds N] "
                        "[--wallets N | --wallets-file F --tenant T]\n");
        return 2;
    }
    if (sodium_init() < 0 || mysql_library_init(0, NULL, NULL) != 0)
        return 1;
    wd_log_min_level = WD_LOG_ERROR;
    if (wd_config_load_storage(&r.cfg, wd_config_process_env, NULL, &err) < 0 ||
        wd_map_init(&r.map, r.cfg.shard_count, r.cfg.shard_map, &err) < 0) {
        fprintf(stderr, "wallet-ceiling: %s\n", err.message);
        return 2;
    }
    r.lat_us = calloc(LAT_SLOTS, sizeof(*r.lat_us));
    if (!r.lat_us)
        return 1;
    if (r.engine_mode && wd_engine_start(&r.engine, &r.cfg, NULL, &err) < 0) {
        fprintf(stderr, "wallet-ceiling: %s\n", err.message);
        return 1;
    }
    if ((r.wallets_file ? load_wallets(&r) : seed_wallets(&r)) < 0) {
        wd_engine_free(r.engine);
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
    wd_engine_free(r.engine);
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
