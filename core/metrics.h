/*
 * core/metrics.h - pod-wide counters in memory shared by the master and all its workers.
 *
 * Owns: the counters behind GET /metrics (Prometheus text format) and their names, which follow
 * the old service's dashboards and alerts: wallet_http_requests_total,
 * wallet_http_request_duration_ms (histogram), wallet_transactions_total,
 * wallet_db_connections_active / _max, wallet_batch_*. The region is one anonymous MAP_SHARED
 * mapping made by the master before it forks, so every worker adds to the same totals and any
 * worker answers /metrics for the whole pod.
 * Thread- and process-safe: counters are lock-free atomics. Until wd_metrics_init has run every
 * call is a no-op (unit tests, walletctl).
 */
#ifndef WD_CORE_METRICS_H
#define WD_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WD_METRICS_ROUTES 24 /* route indexes 0..23; anything else counts as "unmatched" */

enum wd_metrics_outcome {
    WD_OUTCOME_SUCCESS = 0,
    WD_OUTCOME_REFUSED,
    WD_OUTCOME_FAILED,
    WD_OUTCOME_REPLAYED,
    WD_OUTCOME_COUNT
};

/* Maps the shared region. Call once in the master before forking. 0 or -WD_E_NOMEM. */
int wd_metrics_init(void);

/* One HTTP request on route (index into the route table, or -1), its status and duration. */
void wd_metrics_http(int route, int status, int64_t duration_ns);

/* One money operation of kind (enum wd_op_kind) with its outcome. */
void wd_metrics_txn(int kind, enum wd_metrics_outcome outcome);

/* One group commit of n operations. */
void wd_metrics_batch(int n);

/* Database connections of the engine's pools: delta_active to the number in use by an op right
 * now; delta_max added once per pool at start. */
void wd_metrics_db_conns(int delta_active, int delta_max);

/* One worker restarted by the master. */
void wd_metrics_worker_restart(void);

/* The rate limit's decisions: a request refused (429), or let through unchecked because Redis
 * could not be asked. */
void wd_metrics_rate_limited(void);
void wd_metrics_rate_limit_unchecked(void);

#define WD_METRICS_REASONS 8 /* why a primary served a read: shard/pick's reasons */

/* One read on shard, served by a replica, or by the primary for reason (an index of
 * WD_METRICS_REASONS; names come with the labels). */
void wd_metrics_read(int shard, bool replica, int reason);

/* A replica's lag as the health checks last saw it; -1 when replication is not running or the
 * replica cannot be reached. */
void wd_metrics_replica_lag(int shard, int replica, int lag_s);

/* Whether a shard's primary (shard >= 0) or Redis (shard -1) answered the last health check. */
void wd_metrics_dependency_up(int shard, bool up);

/* What the HTTP edge refused, closed or dropped (docs/API.md, "Edge limits"). */
enum wd_metrics_edge {
    WD_METRICS_AUTH_THROTTLED = 0, /* 429: a source over its failed-authentication budget */
    WD_METRICS_DEADLINE_CLOSED,    /* a connection closed for missing REQUEST_TIMEOUT_SECONDS */
    WD_METRICS_LOG_DROPPED,        /* log lines dropped because the log buffer was full */
    WD_METRICS_LOG_SUPPRESSED,     /* access lines of refused authentications not written */
    WD_METRICS_EDGE_COUNT
};

/* Counts n events of kind. */
void wd_metrics_edge(enum wd_metrics_edge kind, uint64_t n);

#define WD_METRICS_WORKERS 64

/* Worker worker's HTTP connections: delta open now; its limit (set once at its start). */
void wd_metrics_connections(int worker, int delta);
void wd_metrics_connections_max(int worker, int max);

/* The first worker below nworkers whose connections are at their limit, or within 1/16 of it
 * (at most 64: the room kept for the probes that ask), or -1. */
int wd_metrics_connections_full(int nworkers);

/* Names used when rendering. */
struct wd_metrics_labels {
    const char *const *routes; /* "POST /api/v1/wallets", one per route index */
    size_t nroutes;
    const char *const *kinds; /* "authorize", one per op kind */
    size_t nkinds;
    const char *const *reasons; /* "strong", one per read reason */
    size_t nreasons;
    int shard_count;
    const int *replica_count; /* replicas per shard */
};

/* Renders everything in Prometheus text format. Caller frees. NULL on allocation failure. */
char *wd_metrics_render(const struct wd_metrics_labels *labels, size_t *len);

#endif
