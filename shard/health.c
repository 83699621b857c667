/*
 * shard/health.c - the dependency checker thread: ping each primary and Redis, read each
 * replica's lag, keep the result.
 */
#define _GNU_SOURCE
#include "shard/health.h"

#include "core/clock.h"
#include "core/ticker.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/conn.h"
#include "db/redis.h"
#include "shard/token.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_TIMEOUT_S 2
/*
 * A dependency that has answered before is reported down only after this many failed rounds in
 * a row: a CPU stall longer than the ping timeout must not pull a healthy pod out of the load
 * balancer. One that never answered is reported down at once.
 */
#define FAILS_TO_DOWN 2

struct wd_health {
    const struct wd_config *cfg;
    struct wd_ticker ticker;
    pthread_mutex_t mu;                      /* guards status */
    struct wd_health_status status;          /* guarded by mu */
    struct wd_conn primaries[WD_MAX_SHARDS]; /* the checker thread's own */
    struct wd_redis redis;
    int primary_fails[WD_MAX_SHARDS]; /* consecutive failed rounds; checker thread only */
    bool primary_seen[WD_MAX_SHARDS]; /* answered at least once */
    int redis_fails;
    bool redis_seen;
    struct wd_conn *replicas; /* every shard's replicas, in order; the checker thread's own */
    int nreplicas;
};

/* Folds one ping result into the dependency's streak; true if it is to be reported up. */
static bool judge(bool ok, int *fails, bool *seen)
{
    if (ok) {
        *fails = 0;
        *seen = true;
        return true;
    }
    ++*fails;
    return *seen && *fails < FAILS_TO_DOWN;
}

bool wd_health_all_ok(const struct wd_health_status *s)
{
    if (!s->checked || !s->redis_ok)
        return false;
    for (int i = 0; i < s->shard_count; i++) {
        if (!s->primary_ok[i])
            return false;
    }
    return true;
}

bool wd_health_started(const struct wd_health_status *s)
{
    if (!s->checked)
        return false;
    for (int i = 0; i < s->shard_count; i++) {
        if (!s->primary_reached[i])
            return false;
    }
    return true;
}

/* Publishes the primaries' and Redis's results, keeping the last replica results. */
static void publish_gating(struct wd_health *h, const struct wd_health_status *next)
{
    pthread_mutex_lock(&h->mu);
    bool was_ok = wd_health_all_ok(&h->status) || !h->status.checked;
    h->status.checked = true;
    h->status.shard_count = next->shard_count;
    memcpy(h->status.primary_ok, next->primary_ok, sizeof(next->primary_ok));
    memcpy(h->status.primary_reached, next->primary_reached, sizeof(next->primary_reached));
    memcpy(h->status.primary_error, next->primary_error, sizeof(next->primary_error));
    h->status.redis_ok = next->redis_ok;
    memcpy(h->status.redis_error, next->redis_error, sizeof(next->redis_error));
    pthread_mutex_unlock(&h->mu);
    if (was_ok != wd_health_all_ok(next))
        WD_LOG(wd_health_all_ok(next) ? WD_LOG_INFO : WD_LOG_WARN, "dependencies %s",
               wd_health_all_ok(next) ? "all reachable" : "not all reachable");
}

/*
 * A replica's state, and whether it may serve reads: reachable and applying, and at most
 * MAX_REPLICA_LAG_SECONDS behind; or, while its primary cannot be reached, having applied all it
 * received (no newer write can exist, so it is as fresh as the shard can be).
 */
static void check_replica(struct wd_health *h, struct wd_conn *c, bool primary_ok,
                          struct wd_health_replica *out)
{
    struct wd_replica_status st;
    struct wd_error err = {0};

    memset(out, 0, sizeof(*out));
    out->lag_s = -1;
    if (wd_conn_replica_status(c, &st, &err) < 0)
        return;
    out->ok = true;
    out->io_running = st.io_running;
    out->sql_running = st.sql_running;
    out->lag_s = st.lag_s;
    snprintf(out->applied, sizeof(out->applied), "%s", st.applied);
    bool current = st.io_running && st.lag_s >= 0 && st.lag_s <= h->cfg->max_replica_lag_s;
    out->standby = st.sql_running && st.applied[0] && st.received[0] &&
                   wd_token_reached(st.applied, st.received);
    out->fit = st.sql_running && (current || (!primary_ok && out->standby));
}

/*
 * One round: primaries and Redis first, published at once, since readiness depends on them;
 * then the replicas, which are only reported (a dead replica can take a connect timeout per
 * round and must not make readiness stale). The first round publishes everything together.
 */
static void check_round(struct wd_health *h)
{
    struct wd_health_status next = {.checked = true, .shard_count = h->cfg->shard_count};
    struct wd_error err;

    for (int i = 0; i < h->cfg->shard_count; i++) {
        wd_error_clear(&err);
        bool ok = wd_conn_ping(&h->primaries[i], &err) == 0;
        next.primary_ok[i] = judge(ok, &h->primary_fails[i], &h->primary_seen[i]);
        next.primary_reached[i] = h->primary_seen[i];
        wd_metrics_dependency_up(i, next.primary_ok[i]);
        if (!next.primary_ok[i])
            snprintf(next.primary_error[i], WD_HEALTH_MSG, "%s", err.message);
    }
    wd_error_clear(&err);
    bool ok = wd_redis_ping(&h->redis, &err) == 0;
    next.redis_ok = judge(ok, &h->redis_fails, &h->redis_seen);
    wd_metrics_dependency_up(-1, next.redis_ok);
    if (!next.redis_ok)
        snprintf(next.redis_error, WD_HEALTH_MSG, "%s", err.message);
    bool first = !h->status.checked; /* this thread alone writes status */
    if (!first)
        publish_gating(h, &next);

    struct wd_conn *replica = h->replicas;
    for (int i = 0; i < h->cfg->shard_count; i++) {
        next.replica_count[i] = h->cfg->shards[i].replica_count;
        for (int r = 0; r < next.replica_count[i]; r++, replica++) {
            check_replica(h, replica, next.primary_ok[i], &next.replicas[i][r]);
            wd_metrics_replica_lag(i, r, next.replicas[i][r].ok ? next.replicas[i][r].lag_s : -1);
        }
    }
    pthread_mutex_lock(&h->mu);
    memcpy(h->status.replica_count, next.replica_count, sizeof(next.replica_count));
    memcpy(h->status.replicas, next.replicas, sizeof(next.replicas));
    pthread_mutex_unlock(&h->mu);
    if (first) /* the first answer is complete: replicas included */
        publish_gating(h, &next);
}

static void tick(void *arg)
{
    check_round(arg);
}

/* A ping of a stuck server ends now. */
static void interrupt(void *arg)
{
    struct wd_health *h = arg;

    for (int i = 0; i < h->cfg->shard_count; i++)
        wd_conn_interrupt(&h->primaries[i]);
    for (int i = 0; i < h->nreplicas; i++)
        wd_conn_interrupt(&h->replicas[i]);
}

int wd_health_start(struct wd_health **out, const struct wd_config *cfg, struct wd_error *err)
{
    struct wd_health *h = calloc(1, sizeof(*h));

    if (!h)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    h->cfg = cfg;
    pthread_mutex_init(&h->mu, NULL);
    for (int i = 0; i < cfg->shard_count; i++) {
        char label[48];
        snprintf(label, sizeof(label), "shard%d-primary", i);
        wd_conn_init(&h->primaries[i], &cfg->shards[i].primary, label, 0, CHECK_TIMEOUT_S,
                     CHECK_TIMEOUT_S);
    }
    wd_redis_init(&h->redis, &cfg->redis, CHECK_TIMEOUT_S * 1000);
    for (int i = 0; i < cfg->shard_count; i++)
        h->nreplicas += cfg->shards[i].replica_count;
    h->replicas = calloc((size_t)h->nreplicas + 1, sizeof(*h->replicas));
    if (!h->replicas) {
        free(h);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    for (int i = 0, n = 0; i < cfg->shard_count; i++) {
        for (int r = 0; r < cfg->shards[i].replica_count; r++) {
            char label[48];
            snprintf(label, sizeof(label), "shard%d-replica%d", i, r);
            wd_conn_init(&h->replicas[n++], &cfg->shards[i].replicas[r], label, 0, CHECK_TIMEOUT_S,
                         CHECK_TIMEOUT_S);
        }
    }
    if (wd_ticker_start(&h->ticker, cfg->health_interval_ms, tick, h) < 0) {
        wd_health_stop(h);
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "cannot start the health thread");
    }
    *out = h;
    return 0;
}

int wd_health_routes(struct wd_health *h, int shard, struct wd_pick_replica *out)
{
    pthread_mutex_lock(&h->mu);
    int n = h->cfg->shards[shard].replica_count;
    for (int r = 0; r < n; r++) {
        const struct wd_health_replica *s = &h->status.replicas[shard][r];
        out[r].fit = h->status.checked && s->fit;
        out[r].standby = h->status.checked && s->standby;
        out[r].lag_s = s->lag_s;
        memcpy(out[r].applied, s->applied, sizeof(out[r].applied));
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

void wd_health_snapshot(struct wd_health *h, struct wd_health_status *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->status;
    pthread_mutex_unlock(&h->mu);
}

void wd_health_stop(struct wd_health *h)
{
    if (!h)
        return;
    wd_ticker_stop(&h->ticker, interrupt);
    wd_redis_close(&h->redis);
    for (int i = 0; i < h->cfg->shard_count; i++)
        wd_conn_release(&h->primaries[i]);
    for (int i = 0; i < h->nreplicas; i++)
        wd_conn_release(&h->replicas[i]);
    free(h->replicas);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
