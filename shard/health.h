/*
 * shard/health.h - is every dependency of this process reachable right now?
 *
 * Owns: a background thread per worker process that checks each shard primary, each replica (is
 * it up, how far behind its primary: Seconds_Behind_Master) and Redis every HEALTH_INTERVAL_MS
 * over its own connections, reconnecting after an outage, and the latest result, which
 * /health/ready reports without doing any I/O on the request path. Readiness depends on the
 * primaries and Redis only; replica state is reported, and is what replica routing will read.
 * Thread-safety: snapshot may be called from any thread (mutex); start/stop from one thread.
 */
#ifndef WD_SHARD_HEALTH_H
#define WD_SHARD_HEALTH_H

#include "core/config.h"
#include "core/error.h"

#include <stdbool.h>

#define WD_HEALTH_MSG 160

struct wd_health_status {
    bool checked; /* at least one full round has run */
    int shard_count;
    bool primary_ok[WD_MAX_SHARDS];
    char primary_error[WD_MAX_SHARDS][WD_HEALTH_MSG];
    int replica_count[WD_MAX_SHARDS];
    bool replica_ok[WD_MAX_SHARDS][WD_MAX_REPLICAS];
    int replica_lag_s[WD_MAX_SHARDS][WD_MAX_REPLICAS]; /* -1: replication not running */
    bool redis_ok;
    char redis_error[WD_HEALTH_MSG];
};

struct wd_health;

/* Starts the checker; the first round runs at once. cfg must outlive it. */
int wd_health_start(struct wd_health **out, const struct wd_config *cfg, struct wd_error *err);

/* Copies the latest status into out. */
void wd_health_snapshot(struct wd_health *h, struct wd_health_status *out);

/* True if s has been checked and every shard primary and Redis are up (replicas are reported,
 * not counted). */
bool wd_health_all_ok(const struct wd_health_status *s);

void wd_health_stop(struct wd_health *h);

#endif
