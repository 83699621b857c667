/*
 * shard/health.h - is every dependency of this process reachable right now?
 *
 * Owns: a background thread per worker process that checks each shard primary, each replica (is
 * it up and replicating, how far behind: Seconds_Behind_Master, which GTID position it has
 * applied) and Redis every HEALTH_INTERVAL_MS over its own connections, reconnecting after an
 * outage, and the latest result, which /health/ready reports and read routing uses (which
 * replicas are fit) without any I/O on the request path. Readiness depends on none of them once
 * every primary has answered since start: every pod sees a shared dependency's outage at once, so
 * an outage is answered per request (503 for that shard's accounts), never by the whole fleet
 * turning unready. Each primary's and Redis's state is also a metric.
 * Thread-safety: snapshot may be called from any thread (mutex); start/stop from one thread.
 */
#ifndef WD_SHARD_HEALTH_H
#define WD_SHARD_HEALTH_H

#include "core/config.h"
#include "core/error.h"
#include "shard/pick.h"

#include <stdbool.h>

#define WD_HEALTH_MSG 160

/* One replica as the last round saw it. */
struct wd_health_replica {
    bool ok;                       /* reachable, and a replica */
    bool io_running, sql_running;  /* receiving from the primary; applying */
    int lag_s;                     /* Seconds_Behind_Master; -1 when unknown */
    bool fit;                      /* may serve reads (see shard/pick.h) */
    bool standby;                  /* applying, caught up with what it received */
    char applied[WD_GTID_MAX + 1]; /* the GTID position it has applied */
};

struct wd_health_status {
    bool checked; /* at least one full round has run */
    int shard_count;
    bool primary_ok[WD_MAX_SHARDS];
    bool primary_reached[WD_MAX_SHARDS]; /* has answered at least once since start */
    char primary_error[WD_MAX_SHARDS][WD_HEALTH_MSG];
    int replica_count[WD_MAX_SHARDS];
    struct wd_health_replica replicas[WD_MAX_SHARDS][WD_MAX_REPLICAS];
    bool redis_ok;
    char redis_error[WD_HEALTH_MSG];
};

struct wd_health;

/* Starts the checker; the first round runs at once. cfg must outlive it. */
int wd_health_start(struct wd_health **out, const struct wd_config *cfg, struct wd_error *err);

/* Copies the latest status into out. */
void wd_health_snapshot(struct wd_health *h, struct wd_health_status *out);

/* Copies shard's replicas as read routing needs them into out[0..WD_MAX_REPLICAS); returns how
 * many the shard has (none fit before the first round). Cheap: for every read. */
int wd_health_routes(struct wd_health *h, int shard, struct wd_pick_replica *out);

/* True if s has been checked and every shard primary and Redis are up (replicas are reported,
 * not counted). */
bool wd_health_all_ok(const struct wd_health_status *s);

/* True if every shard primary has answered at least once since start (so a pod with a wrong
 * database address or password never becomes ready); what is down now does not count. */
bool wd_health_started(const struct wd_health_status *s);

void wd_health_stop(struct wd_health *h);

#endif
