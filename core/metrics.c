/*
 * core/metrics.c - shared-memory counters and their Prometheus rendering.
 */
#define _GNU_SOURCE
#include "core/metrics.h"

#include "core/config.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STATUS_CLASSES 6 /* index = status / 100, 0 for anything odd */
#define KINDS_MAX      16
static const double bucket_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NBUCKETS    (sizeof(bucket_ms) / sizeof(bucket_ms[0]))
#define ROUTE_SLOTS (WD_METRICS_ROUTES + 1)

struct shm {
    atomic_uint_fast64_t requests[ROUTE_SLOTS][STATUS_CLASSES];
    atomic_uint_fast64_t duration_bucket[ROUTE_SLOTS][NBUCKETS];
    atomic_uint_fast64_t duration_count[ROUTE_SLOTS];
    atomic_uint_fast64_t duration_sum_us[ROUTE_SLOTS];
    atomic_uint_fast64_t txns[KINDS_MAX][WD_OUTCOME_COUNT];
    atomic_uint_fast64_t batches;
    atomic_uint_fast64_t batch_ops;
    atomic_int_fast64_t db_active;
    atomic_int_fast64_t db_max;
    atomic_uint_fast64_t worker_restarts;
    atomic_uint_fast64_t rate_limited;
    atomic_uint_fast64_t rate_limit_unchecked;
    atomic_uint_fast64_t reads_replica[WD_MAX_SHARDS];
    atomic_uint_fast64_t reads_primary[WD_MAX_SHARDS][WD_METRICS_REASONS];
    atomic_int_fast64_t replica_lag[WD_MAX_SHARDS][WD_MAX_REPLICAS]; /* lag + 2; 0: never seen */
    atomic_int_fast64_t primary_up[WD_MAX_SHARDS];                   /* up + 1; 0: never seen */
    atomic_int_fast64_t redis_up;                                    /* up + 1; 0: never seen */
    atomic_uint_fast64_t edge[WD_METRICS_EDGE_COUNT];
    atomic_int connections[WD_METRICS_WORKERS];
    atomic_int connections_max[WD_METRICS_WORKERS];
};

static struct shm *m;

int wd_metrics_init(void)
{
    void *p =
        mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return -WD_E_NOMEM;
    m = p; /* zero-filled by the kernel */
    return 0;
}

static int route_slot(int route)
{
    return route >= 0 && route < WD_METRICS_ROUTES ? route : WD_METRICS_ROUTES;
}

void wd_metrics_http(int route, int status, int64_t duration_ns)
{
    if (!m)
        return;
    int r = route_slot(route);
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    atomic_fetch_add_explicit(&m->requests[r][cls], 1, memory_order_relaxed);
    double ms = (double)duration_ns / 1e6;
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (ms <= bucket_ms[b]) {
            atomic_fetch_add_explicit(&m->duration_bucket[r][b], 1, memory_order_relaxed);
            break; /* buckets are stored non-cumulative and summed when rendered */
        }
    }
    atomic_fetch_add_explicit(&m->duration_count[r], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->duration_sum_us[r], (uint64_t)(duration_ns / 1000),
                              memory_order_relaxed);
}

void wd_metrics_txn(int kind, enum wd_metrics_outcome outcome)
{
    if (m && kind >= 0 && kind < KINDS_MAX)
        atomic_fetch_add_explicit(&m->txns[kind][outcome], 1, memory_order_relaxed);
}

void wd_metrics_batch(int n)
{
    if (!m)
        return;
    atomic_fetch_add_explicit(&m->batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batch_ops, (uint64_t)n, memory_order_relaxed);
}

void wd_metrics_db_conns(int delta_active, int delta_max)
{
    if (!m)
        return;
    atomic_fetch_add_explicit(&m->db_active, delta_active, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->db_max, delta_max, memory_order_relaxed);
}

void wd_metrics_worker_restart(void)
{
    if (m)
        atomic_fetch_add_explicit(&m->worker_restarts, 1, memory_order_relaxed);
}

void wd_metrics_rate_limited(void)
{
    if (m)
        atomic_fetch_add_explicit(&m->rate_limited, 1, memory_order_relaxed);
}

void wd_metrics_rate_limit_unchecked(void)
{
    if (m)
        atomic_fetch_add_explicit(&m->rate_limit_unchecked, 1, memory_order_relaxed);
}

void wd_metrics_edge(enum wd_metrics_edge kind, uint64_t n)
{
    if (m && kind < WD_METRICS_EDGE_COUNT)
        atomic_fetch_add_explicit(&m->edge[kind], n, memory_order_relaxed);
}

void wd_metrics_connections(int worker, int delta)
{
    if (m && worker >= 0 && worker < WD_METRICS_WORKERS)
        atomic_fetch_add_explicit(&m->connections[worker], delta, memory_order_relaxed);
}

void wd_metrics_connections_max(int worker, int max)
{
    if (m && worker >= 0 && worker < WD_METRICS_WORKERS)
        atomic_store(&m->connections_max[worker], max);
}

int wd_metrics_connections_full(int nworkers)
{
    for (int w = 0; m && w < nworkers && w < WD_METRICS_WORKERS; w++) {
        int max = atomic_load(&m->connections_max[w]);
        int slack = max / 16 + 1 < 64 ? max / 16 + 1 : 64; /* room left for the probes */
        if (max > 0 && atomic_load(&m->connections[w]) + slack >= max)
            return w;
    }
    return -1;
}

/* A growable text buffer; on allocation failure it stays failed and render returns NULL. */
struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void scalar(struct text *t, const char *name, const char *type, const char *help,
                   long long value);
static void put(struct text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

/* One metric without labels, with its HELP and TYPE lines. */
static void scalar(struct text *t, const char *name, const char *type, const char *help,
                   long long value)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, value);
}

static const char *route_name(const struct wd_metrics_labels *l, int r)
{
    return r < (int)l->nroutes ? l->routes[r] : "unmatched";
}

static void render_http(struct text *t, const struct wd_metrics_labels *l)
{
    put(t, "# HELP wallet_http_requests_total HTTP requests by route and status class.\n"
           "# TYPE wallet_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_SLOTS; r++) {
        for (int c = 1; c < STATUS_CLASSES; c++) {
            uint64_t v = atomic_load_explicit(&m->requests[r][c], memory_order_relaxed);
            if (v)
                put(t, "wallet_http_requests_total{route=\"%s\",status=\"%dxx\"} %llu\n",
                    route_name(l, r), c, (unsigned long long)v);
        }
    }
    put(t, "# HELP wallet_http_request_duration_ms HTTP request latency in milliseconds.\n"
           "# TYPE wallet_http_request_duration_ms histogram\n");
    for (int r = 0; r < ROUTE_SLOTS; r++) {
        uint64_t count = atomic_load_explicit(&m->duration_count[r], memory_order_relaxed);
        if (!count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += atomic_load_explicit(&m->duration_bucket[r][b], memory_order_relaxed);
            put(t, "wallet_http_request_duration_ms_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                route_name(l, r), bucket_ms[b], (unsigned long long)cum);
        }
        put(t, "wallet_http_request_duration_ms_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
            route_name(l, r), (unsigned long long)count);
        put(t, "wallet_http_request_duration_ms_sum{route=\"%s\"} %.3f\n", route_name(l, r),
            (double)atomic_load_explicit(&m->duration_sum_us[r], memory_order_relaxed) / 1e3);
        put(t, "wallet_http_request_duration_ms_count{route=\"%s\"} %llu\n", route_name(l, r),
            (unsigned long long)count);
    }
}

void wd_metrics_read(int shard, bool replica, int reason)
{
    if (!m || shard < 0 || shard >= WD_MAX_SHARDS || reason < 0 || reason >= WD_METRICS_REASONS)
        return;
    atomic_fetch_add_explicit(replica ? &m->reads_replica[shard] : &m->reads_primary[shard][reason],
                              1, memory_order_relaxed);
}

void wd_metrics_replica_lag(int shard, int replica, int lag_s)
{
    if (m && shard >= 0 && shard < WD_MAX_SHARDS && replica >= 0 && replica < WD_MAX_REPLICAS)
        atomic_store_explicit(&m->replica_lag[shard][replica], (lag_s < 0 ? -1 : lag_s) + 2,
                              memory_order_relaxed);
}

void wd_metrics_dependency_up(int shard, bool up)
{
    if (m && shard < WD_MAX_SHARDS)
        atomic_store_explicit(shard < 0 ? &m->redis_up : &m->primary_up[shard], up + 1,
                              memory_order_relaxed);
}

static void render_dependencies(struct text *t, const struct wd_metrics_labels *l)
{
    put(t, "# HELP wallet_shard_primary_up Whether the shard's primary answered the last health "
           "check (readiness does not follow it: its accounts get 503 while it is down).\n"
           "# TYPE wallet_shard_primary_up gauge\n");
    for (int s = 0; s < l->shard_count; s++) {
        int64_t v = atomic_load_explicit(&m->primary_up[s], memory_order_relaxed);
        if (v)
            put(t, "wallet_shard_primary_up{shard=\"%d\"} %lld\n", s, (long long)(v - 1));
    }
    int64_t v = atomic_load_explicit(&m->redis_up, memory_order_relaxed);
    put(t, "# HELP wallet_redis_up Whether Redis answered the last health check (while it is "
           "down the rate limit is off).\n"
           "# TYPE wallet_redis_up gauge\n");
    if (v)
        put(t, "wallet_redis_up %lld\n", (long long)(v - 1));
}

static void render_reads(struct text *t, const struct wd_metrics_labels *l)
{
    put(t, "# HELP wallet_reads_total Reads by shard and the role of the server that answered.\n"
           "# TYPE wallet_reads_total counter\n");
    for (int s = 0; s < l->shard_count; s++) {
        uint64_t primary = 0;
        for (int r = 0; r < WD_METRICS_REASONS; r++)
            primary += atomic_load_explicit(&m->reads_primary[s][r], memory_order_relaxed);
        put(t, "wallet_reads_total{shard=\"%d\",role=\"replica\"} %llu\n", s,
            (unsigned long long)atomic_load_explicit(&m->reads_replica[s], memory_order_relaxed));
        put(t, "wallet_reads_total{shard=\"%d\",role=\"primary\"} %llu\n", s,
            (unsigned long long)primary);
    }
    put(t, "# HELP wallet_reads_primary_total Reads the primary answered, by reason.\n"
           "# TYPE wallet_reads_primary_total counter\n");
    for (int s = 0; s < l->shard_count; s++) {
        for (size_t r = 1; r < l->nreasons && r < WD_METRICS_REASONS; r++)
            put(t, "wallet_reads_primary_total{shard=\"%d\",reason=\"%s\"} %llu\n", s,
                l->reasons[r],
                (unsigned long long)atomic_load_explicit(&m->reads_primary[s][r],
                                                         memory_order_relaxed));
    }
    put(t, "# HELP wallet_replica_lag_seconds Replica lag (Seconds_Behind_Master) at the last "
           "health check; -1 when not replicating or unreachable.\n"
           "# TYPE wallet_replica_lag_seconds gauge\n");
    for (int s = 0; s < l->shard_count; s++) {
        for (int r = 0; r < l->replica_count[s] && r < WD_MAX_REPLICAS; r++) {
            int64_t v = atomic_load_explicit(&m->replica_lag[s][r], memory_order_relaxed);
            if (v)
                put(t, "wallet_replica_lag_seconds{shard=\"%d\",replica=\"%d\"} %lld\n", s, r,
                    (long long)(v - 2));
        }
    }
}

static void render_money(struct text *t, const struct wd_metrics_labels *l)
{
    static const char *const outcomes[] = {"success", "refused", "failed", "replayed"};

    put(t, "# HELP wallet_transactions_total Money operations by type and outcome.\n"
           "# TYPE wallet_transactions_total counter\n");
    for (size_t k = 0; k < l->nkinds && k < KINDS_MAX; k++) {
        for (int o = 0; o < WD_OUTCOME_COUNT; o++) {
            uint64_t v = atomic_load_explicit(&m->txns[k][o], memory_order_relaxed);
            if (v)
                put(t, "wallet_transactions_total{type=\"%s\",status=\"%s\"} %llu\n", l->kinds[k],
                    outcomes[o], (unsigned long long)v);
        }
    }
    scalar(t, "wallet_batches_total", "counter", "Group commits (one DB transaction each).",
           (long long)atomic_load(&m->batches));
    scalar(t, "wallet_batch_operations_total", "counter", "Operations carried by group commits.",
           (long long)atomic_load(&m->batch_ops));
    scalar(t, "wallet_db_connections_active", "gauge", "Open database connections in this pod.",
           (long long)atomic_load(&m->db_active));
    scalar(t, "wallet_db_connections_max", "gauge", "Database connections this pod may open.",
           (long long)atomic_load(&m->db_max));
    scalar(t, "wallet_worker_restarts_total", "counter", "Worker processes restarted after dying.",
           (long long)atomic_load(&m->worker_restarts));
    scalar(t, "wallet_rate_limited_total", "counter",
           "Requests refused with 429 by the per-tenant rate limit.",
           (long long)atomic_load(&m->rate_limited));
    scalar(t, "wallet_rate_limit_unchecked_total", "counter",
           "Requests let through without a rate-limit check because Redis was unavailable.",
           (long long)atomic_load(&m->rate_limit_unchecked));
}

static void render_edge(struct text *t)
{
    static const char *const names[][2] = {
        {"wallet_auth_failures_throttled_total",
         "Requests refused with 429 because their source failed authentication too often."},
        {"wallet_http_deadline_closed_total",
         "Connections closed because a request was not received within its deadline."},
        {"wallet_log_lines_dropped_total", "Log lines dropped because the log buffer was full."},
        {"wallet_access_log_suppressed_total",
         "Access log lines of failed authentications not written (sampled)."},
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == WD_METRICS_EDGE_COUNT, "a name each");
    long long open = 0, max = 0;

    for (int e = 0; e < WD_METRICS_EDGE_COUNT; e++)
        scalar(t, names[e][0], "counter", names[e][1], (long long)atomic_load(&m->edge[e]));
    for (int w = 0; w < WD_METRICS_WORKERS; w++) {
        open += atomic_load(&m->connections[w]);
        max += atomic_load(&m->connections_max[w]);
    }
    scalar(t, "wallet_http_connections", "gauge", "Open HTTP connections in this pod.", open);
    scalar(t, "wallet_http_connections_max", "gauge", "HTTP connections this pod may hold.", max);
}

char *wd_metrics_render(const struct wd_metrics_labels *labels, size_t *len)
{
    struct text t = {malloc(8192), 0, 8192, 0};

    if (!t.buf)
        return NULL;
    t.buf[0] = '\0';
    if (m) {
        render_http(&t, labels);
        render_money(&t, labels);
        render_reads(&t, labels);
        render_dependencies(&t, labels);
        render_edge(&t);
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
