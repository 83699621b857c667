/*
 * core/config.c - environment variables to struct wd_config, every value range-checked.
 */
#define _GNU_SOURCE
#include "core/config.h"

#include "core/limits.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *wd_config_process_env(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

struct loader {
    wd_config_getenv_fn get;
    void *ctx;
    struct wd_error *err;
};

static const char *lookup(struct loader *ld, const char *name)
{
    const char *value = ld->get(ld->ctx, name);

    return value && value[0] ? value : NULL;
}

/* Reads an integer variable in [min, max]; absent means def. */
static int load_int(struct loader *ld, const char *name, int64_t def, int64_t min, int64_t max,
                    int64_t *out)
{
    const char *text = lookup(ld, name);

    if (!text) {
        *out = def;
        return 0;
    }
    errno = 0;
    char *end;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return wd_error_set(ld->err, -WD_E_CONFIG, "%s: not an integer: '%.40s'", name, text);
    if (value < min || value > max)
        return wd_error_set(ld->err, -WD_E_CONFIG, "%s: must be in %lld..%lld, got %lld", name,
                            (long long)min, (long long)max, value);
    *out = value;
    return 0;
}

static int load_int32(struct loader *ld, const char *name, int def, int min, int max, int *out)
{
    int64_t value = 0;
    int rc = load_int(ld, name, def, min, max, &value);

    if (rc == 0)
        *out = (int)value;
    return rc;
}

static int load_bool(struct loader *ld, const char *name, bool def, bool *out)
{
    const char *text = lookup(ld, name);

    if (!text) {
        *out = def;
        return 0;
    }
    if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "on"))
        *out = true;
    else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "off"))
        *out = false;
    else
        return wd_error_set(ld->err, -WD_E_CONFIG, "%s: expected true or false", name);
    return 0;
}

static int load_string(struct loader *ld, const char *name, const char *def, char *out,
                       size_t outlen)
{
    const char *text = lookup(ld, name);

    if (!text)
        text = def;
    if (!text)
        return wd_error_set(ld->err, -WD_E_CONFIG, "%s: is required", name);
    if (strlen(text) >= outlen)
        return wd_error_set(ld->err, -WD_E_CONFIG, "%s: longer than %zu bytes", name, outlen - 1);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

int wd_config_parse_db_url(struct wd_db_endpoint *ep, const char *text, struct wd_error *err)
{
    memset(ep, 0, sizeof(*ep));
    int rc = wd_url_parse(&ep->url, text, err);
    if (rc < 0)
        return rc;
    if (strcmp(ep->url.scheme, "mysql") != 0 && strcmp(ep->url.scheme, "mariadb") != 0)
        return wd_error_set(err, -WD_E_CONFIG, "scheme must be mysql:// or mariadb://");
    if (!ep->url.host[0])
        return wd_error_set(err, -WD_E_CONFIG, "host is missing");
    if (!ep->url.path[0])
        return wd_error_set(err, -WD_E_CONFIG, "database name (the URL path) is missing");
    if (!ep->url.port)
        ep->url.port = 3306;
    if (wd_url_query_get(&ep->url, "socket", ep->socket, sizeof(ep->socket)) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "socket parameter is malformed");
    return 0;
}

/* Prefixes the message in ld->err with the variable's name. */
static int name_error(struct loader *ld, const char *name, int rc)
{
    char inner[WD_ERROR_MSG_MAX];

    if (ld->err) {
        snprintf(inner, sizeof(inner), "%s", ld->err->message);
        wd_error_set(ld->err, rc, "%s: %s", name, inner);
    }
    return rc;
}

static int load_replicas(struct loader *ld, struct wd_shard_config *shard, const char *name)
{
    const char *text = lookup(ld, name);

    if (!text)
        return 0;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[512];
        if (len >= sizeof(item))
            return wd_error_set(ld->err, -WD_E_CONFIG, "%s: a URL is too long", name);
        if (shard->replica_count == WD_MAX_REPLICAS)
            return wd_error_set(ld->err, -WD_E_CONFIG, "%s: more than %d replicas", name,
                                WD_MAX_REPLICAS);
        memcpy(item, p, len);
        item[len] = '\0';
        int rc = wd_config_parse_db_url(&shard->replicas[shard->replica_count], item, ld->err);
        if (rc < 0)
            return name_error(ld, name, rc);
        shard->replica_count++;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int load_shards(struct loader *ld, struct wd_config *cfg)
{
    int rc = load_int32(ld, "SHARD_COUNT", 0, 1, WD_MAX_SHARDS, &cfg->shard_count);

    if (rc < 0)
        return rc;
    if (cfg->shard_count == 0)
        return wd_error_set(ld->err, -WD_E_CONFIG, "SHARD_COUNT: is required");
    for (int i = 0; i < cfg->shard_count; i++) {
        char name[64];
        snprintf(name, sizeof(name), "DATABASE_SHARD_%d_URL", i);
        const char *text = lookup(ld, name);
        if (!text)
            return wd_error_set(ld->err, -WD_E_CONFIG, "%s: is required", name);
        rc = wd_config_parse_db_url(&cfg->shards[i].primary, text, ld->err);
        if (rc < 0)
            return name_error(ld, name, rc);
        snprintf(name, sizeof(name), "DATABASE_SHARD_%d_REPLICA_URLS", i);
        rc = load_replicas(ld, &cfg->shards[i], name);
        if (rc < 0)
            return rc;
    }
    return load_string(ld, "SHARD_MAP", "", cfg->shard_map, sizeof(cfg->shard_map));
}

static int load_redis(struct loader *ld, struct wd_config *cfg)
{
    const char *text = lookup(ld, "REDIS_URL");

    if (!text)
        return wd_error_set(ld->err, -WD_E_CONFIG, "REDIS_URL: is required");
    int rc = wd_url_parse(&cfg->redis, text, ld->err);
    if (rc < 0)
        return name_error(ld, "REDIS_URL", rc);
    if (strcmp(cfg->redis.scheme, "redis") != 0)
        return wd_error_set(ld->err, -WD_E_CONFIG, "REDIS_URL: scheme must be redis://");
    if (!cfg->redis.host[0])
        return wd_error_set(ld->err, -WD_E_CONFIG, "REDIS_URL: host is missing");
    if (!cfg->redis.port)
        cfg->redis.port = 6379;
    return load_int32(ld, "REDIS_TIMEOUT_MS", 100, 1, 10000, &cfg->redis_timeout_ms);
}

static int load_rate_limit(struct loader *ld, struct wd_config *cfg)
{
    int rc = load_int(ld, "RATE_LIMIT_RPS", 10000, 0, 1000000000, &cfg->rate_limit_rps);

    if (rc < 0)
        return rc;
    int64_t def = cfg->rate_limit_rps > 0 ? 2 * cfg->rate_limit_rps : 1;
    return load_int(ld, "RATE_LIMIT_BURST", def, 1, 2000000000, &cfg->rate_limit_burst);
}

static int load_log(struct loader *ld, struct wd_config *cfg)
{
    const char *text = lookup(ld, "LOG_LEVEL");

    cfg->log_level = text ? wd_log_parse_level(text) : WD_LOG_INFO;
    if (cfg->log_level < 0)
        return wd_error_set(ld->err, -WD_E_CONFIG,
                            "LOG_LEVEL: expected debug, info, warn, error or off");
    int64_t bytes;
    int rc = load_int(ld, "LOG_BUFFER_BYTES", 1048576, 65536, 67108864, &bytes);
    cfg->log_buffer_bytes = (size_t)bytes;
    return rc ? rc : load_bool(ld, "ACCESS_LOG", true, &cfg->access_log);
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static int load_server(struct loader *ld, struct wd_config *cfg)
{
    int rc;

    if ((rc = load_string(ld, "HOST", "0.0.0.0", cfg->listen_addr, sizeof(cfg->listen_addr))) ||
        (rc = load_int32(ld, "PORT", 3000, 1, 65535, &cfg->port)) ||
        (rc = load_int32(ld, "ADMIN_PORT", 0, 0, 65535, &cfg->admin_port)) ||
        (rc = load_int32(ld, "WORKERS", cpu_count(), 1, 64, &cfg->workers)) ||
        (rc = load_int32(ld, "HTTP_THREADS", 2, 1, 64, &cfg->http_threads)) ||
        (rc = load_int32(ld, "DRAIN_DELAY_SECONDS", 10, 0, 600, &cfg->drain_delay_s)) ||
        (rc = load_int32(ld, "SHUTDOWN_TIMEOUT_SECONDS", 20, 1, 600, &cfg->shutdown_timeout_s)) ||
        (rc = load_int32(ld, "KEEPALIVE_TIMEOUT_SECONDS", 75, 1, 3600, &cfg->keepalive_timeout_s)))
        return rc;
    if (cfg->admin_port == cfg->port)
        return wd_error_set(ld->err, -WD_E_CONFIG, "ADMIN_PORT: must differ from PORT (%d)",
                            cfg->port);
    int64_t body;
    rc = load_int(ld, "MAX_BODY_BYTES", 16384, 256, 1048576, &body);
    cfg->max_body_bytes = (size_t)body;
    return rc;
}

/* The HTTP edge's limits (docs/API.md, "Edge limits"). */
static int load_edge(struct loader *ld, struct wd_config *cfg)
{
    int rc;

    if ((rc = load_int32(ld, "AUTH_FAILURES_PER_SECOND", 10, 0, 100000,
                         &cfg->auth_failures_per_s)) ||
        (rc = load_int32(ld, "MAX_CONNECTIONS", 0, 0, 1000000, &cfg->max_connections)) ||
        (rc = load_int32(ld, "MAX_CONNECTIONS_PER_IP", 0, 0, 1000000, &cfg->max_connections_ip)))
        return rc;
    return load_int32(ld, "REQUEST_TIMEOUT_SECONDS", 10, 1, 600, &cfg->request_timeout_s);
}

#define MAX_CONNECTIONS_CAP 65536

int wd_config_worker_fds(const struct wd_config *cfg)
{
    int pools = cfg->db_pool_size + cfg->db_read_pool_size, health = 0;

    for (int i = 0; i < cfg->shard_count; i++)
        health += 1 + cfg->shards[i].replica_count;
    /* 2 x: a reconnect may open its socket before the old one is gone; Redis: the health check,
     * one per HTTP thread for the rate limit; 64: stdio, epoll and its pipes, listen sockets,
     * the sweeper, libraries' own files */
    return 2 * (cfg->shard_count * pools + health + 1 + cfg->http_threads) + 4 * cfg->http_threads +
           64;
}

int wd_config_fit_connections(struct wd_config *cfg, long nofile, struct wd_error *err)
{
    long room = nofile - wd_config_worker_fds(cfg);

    if (room < 16)
        return wd_error_set(err, -WD_E_CONFIG,
                            "MAX_CONNECTIONS: the open-file limit %ld leaves no room for "
                            "connections beside the %d the pools need (raise ulimit -n)",
                            nofile, wd_config_worker_fds(cfg));
    if (cfg->max_connections > room)
        return wd_error_set(err, -WD_E_CONFIG,
                            "MAX_CONNECTIONS: %d does not fit the open-file limit %ld less the %d "
                            "the pools need; at most %ld",
                            cfg->max_connections, nofile, wd_config_worker_fds(cfg), room);
    if (cfg->max_connections == 0)
        cfg->max_connections = room > MAX_CONNECTIONS_CAP ? MAX_CONNECTIONS_CAP : (int)room;
    if (cfg->max_connections_ip == 0 || cfg->max_connections_ip > cfg->max_connections)
        cfg->max_connections_ip =
            cfg->max_connections_ip ? cfg->max_connections : (cfg->max_connections + 3) / 4;
    return 0;
}

static int load_storage(struct loader *ld, struct wd_config *cfg)
{
    int rc;

    if ((rc = load_int32(ld, "DB_POOL_SIZE", 1, 1, 256, &cfg->db_pool_size)) ||
        (rc = load_int32(ld, "DB_READ_POOL_SIZE", 2, 1, 256, &cfg->db_read_pool_size)) ||
        (rc = load_int32(ld, "DB_CONNECT_TIMEOUT_SECONDS", 2, 1, 60, &cfg->db_connect_timeout_s)) ||
        (rc = load_int32(ld, "DB_QUERY_TIMEOUT_SECONDS", 10, 1, 600, &cfg->db_query_timeout_s)) ||
        (rc = load_int32(ld, "RESOLVE_TIMEOUT_SECONDS", 5, 1, 600, &cfg->resolve_timeout_s)) ||
        (rc = load_int32(ld, "BATCH_MAX", WD_BATCH_MAX, 1, WD_BATCH_MAX, &cfg->batch_max)) ||
        (rc = load_int32(ld, "BATCH_WINDOW_US", 0, 0, 100000, &cfg->batch_window_us)) ||
        (rc = load_int32(ld, "MAX_REPLICA_LAG_SECONDS", 5, 0, 86400, &cfg->max_replica_lag_s)))
        return rc;
    return 0;
}

static int load_money_rules(struct loader *ld, struct wd_config *cfg)
{
    int rc;
    int hours;

    if ((rc = load_int32(ld, "IDEMPOTENCY_RETENTION_HOURS", 24, 24, 24 * 365, &hours)) ||
        (rc = load_int(ld, "HOLD_DEFAULT_EXPIRY_SECONDS", 7 * 86400, 1, 365 * 86400,
                       &cfg->hold_default_s)) ||
        (rc = load_int(ld, "HOLD_MAX_EXPIRY_SECONDS", 30 * 86400, 1, 365 * 86400,
                       &cfg->hold_max_s)) ||
        (rc =
             load_int32(ld, "SWEEPER_INTERVAL_MS", 1000, 10, 3600000, &cfg->sweeper_interval_ms)) ||
        (rc = load_int32(ld, "HEALTH_INTERVAL_MS", 1000, 50, 60000, &cfg->health_interval_ms)))
        return rc;
    cfg->idempotency_retention_s = hours * 3600;
    if (cfg->hold_default_s > cfg->hold_max_s)
        return wd_error_set(ld->err, -WD_E_CONFIG,
                            "HOLD_DEFAULT_EXPIRY_SECONDS: exceeds HOLD_MAX_EXPIRY_SECONDS");
    return 0;
}

int wd_config_load(struct wd_config *cfg, wd_config_getenv_fn get, void *ctx, struct wd_error *err)
{
    struct loader ld = {get, ctx, err};
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if ((rc = load_server(&ld, cfg)) || (rc = load_edge(&ld, cfg)) ||
        (rc = load_shards(&ld, cfg)) || (rc = load_storage(&ld, cfg)) ||
        (rc = load_redis(&ld, cfg)) || (rc = load_rate_limit(&ld, cfg)) ||
        (rc = load_log(&ld, cfg)) || (rc = load_money_rules(&ld, cfg)) ||
        (rc = load_string(&ld, "CURSOR_KEY_FILE", "", cfg->cursor_key_file,
                          sizeof(cfg->cursor_key_file))))
        return rc;
    return load_string(&ld, "API_KEYS_FILE", NULL, cfg->api_keys_file, sizeof(cfg->api_keys_file));
}

int wd_config_load_storage(struct wd_config *cfg, wd_config_getenv_fn get, void *ctx,
                           struct wd_error *err)
{
    struct loader ld = {get, ctx, err};
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if ((rc = load_shards(&ld, cfg)) || (rc = load_storage(&ld, cfg)))
        return rc;
    return 0;
}
