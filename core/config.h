/*
 * core/config.h - walletd's configuration, read from the environment (12-factor).
 *
 * Owns: every setting walletd has, its environment variable, default and allowed range. The
 * struct is built once in the master before any worker is forked and is immutable afterwards;
 * every module receives the parts it needs. A bad or missing variable fails the start with a
 * message that names it. Pure given the lookup function, so unit tests feed a fake environment.
 * Thread-safety: wd_config_load is not thread-safe; the loaded struct is read-only.
 */
#ifndef WD_CORE_CONFIG_H
#define WD_CORE_CONFIG_H

#include "core/error.h"
#include "core/url.h"

#include <limits.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WD_MAX_SHARDS   64
#define WD_MAX_REPLICAS 8

/* One MySQL/MariaDB server: a parsed mysql:// URL. */
struct wd_db_endpoint {
    struct wd_url url;
    char socket[256]; /* ?socket=/path, or "" for TCP */
};

struct wd_shard_config {
    struct wd_db_endpoint primary;
    struct wd_db_endpoint replicas[WD_MAX_REPLICAS];
    int replica_count;
};

struct wd_config {
    char listen_addr[64]; /* HOST */
    int port;             /* PORT */
    int admin_port;       /* ADMIN_PORT: probes and /metrics only; 0 = served on PORT */
    int workers;          /* WORKERS */
    int http_threads;     /* HTTP_THREADS: libmicrohttpd thread pool per worker */

    int shard_count; /* SHARD_COUNT */
    struct wd_shard_config shards[WD_MAX_SHARDS];
    char shard_map[1024]; /* SHARD_MAP, "" = even split; parsed by shard/map */

    int db_pool_size;         /* DB_POOL_SIZE: writer connections per shard per worker */
    int db_read_pool_size;    /* DB_READ_POOL_SIZE: read connections per shard per worker */
    int db_connect_timeout_s; /* DB_CONNECT_TIMEOUT_SECONDS */
    int db_query_timeout_s;   /* DB_QUERY_TIMEOUT_SECONDS */
    int resolve_timeout_s;    /* RESOLVE_TIMEOUT_SECONDS: learning the outcome of a lost COMMIT */
    int batch_max;            /* BATCH_MAX: movements per group commit */
    int batch_window_us;      /* BATCH_WINDOW_US: how long a batch waits to fill */
    int max_replica_lag_s; /* MAX_REPLICA_LAG_SECONDS: a replica further behind serves no reads */

    struct wd_url redis;      /* REDIS_URL */
    int redis_timeout_ms;     /* REDIS_TIMEOUT_MS: the rate limit's connect and command timeout */
    int64_t rate_limit_rps;   /* RATE_LIMIT_RPS: requests a second per tenant, 0 = no limit */
    int64_t rate_limit_burst; /* RATE_LIMIT_BURST: bucket size; default 2 x RATE_LIMIT_RPS */

    char api_keys_file[PATH_MAX];   /* API_KEYS_FILE */
    char cursor_key_file[PATH_MAX]; /* CURSOR_KEY_FILE, "" = a random key per pod (core/seal) */

    int log_level;           /* LOG_LEVEL */
    bool access_log;         /* ACCESS_LOG */
    size_t log_buffer_bytes; /* LOG_BUFFER_BYTES: lines waiting for stdout, per process */

    int drain_delay_s;       /* DRAIN_DELAY_SECONDS */
    int shutdown_timeout_s;  /* SHUTDOWN_TIMEOUT_SECONDS */
    int keepalive_timeout_s; /* KEEPALIVE_TIMEOUT_SECONDS */
    size_t max_body_bytes;   /* MAX_BODY_BYTES */

    int auth_failures_per_s; /* AUTH_FAILURES_PER_SECOND: per source address, 0 = no limit */
    int max_connections;     /* MAX_CONNECTIONS per worker; 0 until wd_config_fit_connections */
    int max_connections_ip;  /* MAX_CONNECTIONS_PER_IP per worker; 0: a quarter of the above */
    int request_timeout_s;   /* REQUEST_TIMEOUT_SECONDS: a request's headers and body, in all */

    int idempotency_retention_s; /* IDEMPOTENCY_RETENTION_HOURS, in seconds */
    int64_t hold_default_s;      /* HOLD_DEFAULT_EXPIRY_SECONDS */
    int64_t hold_max_s;          /* HOLD_MAX_EXPIRY_SECONDS */
    int sweeper_interval_ms;     /* SWEEPER_INTERVAL_MS */
    int health_interval_ms;      /* HEALTH_INTERVAL_MS */
};

/* Returns the value of an environment variable, or NULL. ctx is passed through. */
typedef const char *(*wd_config_getenv_fn)(void *ctx, const char *name);

/* A wd_config_getenv_fn that reads the process environment (ctx unused). */
const char *wd_config_process_env(void *ctx, const char *name);

/*
 * Fills cfg from the variables get returns. Returns 0, or -WD_E_CONFIG with err naming the
 * variable and what is wrong with it ("DATABASE_SHARD_1_URL: port must be ...").
 */
int wd_config_load(struct wd_config *cfg, wd_config_getenv_fn get, void *ctx, struct wd_error *err);

/*
 * Fills only what the operator tool needs: the shards (SHARD_COUNT, DATABASE_SHARD_<n>_URL,
 * DATABASE_SHARD_<n>_REPLICA_URLS), SHARD_MAP and the storage settings (pools, timeouts,
 * batching). Same contract as wd_config_load.
 */
int wd_config_load_storage(struct wd_config *cfg, wd_config_getenv_fn get, void *ctx,
                           struct wd_error *err);

/* File descriptors a worker needs beside its HTTP connections: its database and Redis
 * connections (one more each for a reconnect), logs, epoll, listen sockets and a margin. */
int wd_config_worker_fds(const struct wd_config *cfg);

/*
 * Fits the HTTP connection limits to nofile, the open-file limit of each worker: MAX_CONNECTIONS
 * unset becomes nofile minus wd_config_worker_fds (at most 65536), and MAX_CONNECTIONS_PER_IP
 * unset a quarter of it. A MAX_CONNECTIONS that would leave the pools short of descriptors is
 * refused (-WD_E_CONFIG naming it), so the databases and Redis can always reconnect.
 */
int wd_config_fit_connections(struct wd_config *cfg, long nofile, struct wd_error *err);

/* Parses a mysql:// or mariadb:// URL into ep. Returns 0 or -WD_E_CONFIG. */
int wd_config_parse_db_url(struct wd_db_endpoint *ep, const char *text, struct wd_error *err);

#endif
