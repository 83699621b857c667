/*
 * tests/unit/core/test_config.c - core/config: wd_config_load over a fake environment (defaults,
 * required and malformed variables named in the message, replica lists, retention floor), the
 * storage-only loader, and wd_config_parse_db_url.
 */
#include "core/config.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testing.h"

#define ENV_MAX 32

struct fake_env {
    const char *name[ENV_MAX];
    const char *value[ENV_MAX];
    int n;
};

static const char *fake_getenv(void *ctx, const char *name)
{
    struct fake_env *env = ctx;

    for (int i = 0; i < env->n; i++) {
        if (strcmp(env->name[i], name) == 0)
            return env->value[i];
    }
    return NULL;
}

/* Sets (or with value NULL, removes) a variable. */
static void env_set(struct fake_env *env, const char *name, const char *value)
{
    for (int i = 0; i < env->n; i++) {
        if (strcmp(env->name[i], name) == 0) {
            if (value) {
                env->value[i] = value;
            } else {
                env->n--;
                env->name[i] = env->name[env->n];
                env->value[i] = env->value[env->n];
            }
            return;
        }
    }
    if (!value)
        return;
    assert_true(env->n < ENV_MAX);
    env->name[env->n] = name;
    env->value[env->n] = value;
    env->n++;
}

/* The smallest environment walletd starts with: one shard, Redis, a key file. */
static void env_minimal(struct fake_env *env)
{
    env->n = 0;
    env_set(env, "SHARD_COUNT", "1");
    env_set(env, "DATABASE_SHARD_0_URL", "mysql://wallet:pw@127.0.0.1:3306/walletd_0");
    env_set(env, "REDIS_URL", "redis://127.0.0.1:6379/0");
    env_set(env, "API_KEYS_FILE", "/etc/walletd/keys");
}

/*
 * A test's configuration and the environment it is loaded from, minimal when the test starts.
 * struct wd_config is ~900 KB (64 shards of 9 parsed URLs): keep it off the stack.
 */
struct fixture {
    struct wd_config cfg;
    struct fake_env env;
    struct wd_error err; /* the last load's */
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    env_minimal(&fx->env);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void set(struct fixture *fx, const char *name, const char *value)
{
    env_set(&fx->env, name, value);
}

static int load(struct fixture *fx)
{
    wd_error_clear(&fx->err);
    return wd_config_load(&fx->cfg, fake_getenv, &fx->env, &fx->err);
}

/* Loading must succeed; returns the configuration. */
static const struct wd_config *load_ok(struct fixture *fx)
{
    if (load(fx) != 0)
        fail_msg("the environment was refused: %s", fx->err.message);
    return &fx->cfg;
}

/* Loading must fail with -WD_E_CONFIG and a message that starts with the variable's name. */
static void expect_named(struct fixture *fx, const char *name)
{
    size_t n = strlen(name);
    const char *value = fake_getenv(&fx->env, name);
    int rc = load(fx);

    if (rc != -WD_E_CONFIG || strncmp(fx->err.message, name, n) != 0 || fx->err.message[n] != ':')
        fail_msg("%s=%s: expected an error naming %s, got %d '%s'", name, value ? value : "(unset)",
                 name, rc, fx->err.message);
}

/* name=value over the environment: loading must fail with -WD_E_CONFIG. Returns the message. */
static const char *refusal_of(struct fixture *fx, const char *name, const char *value)
{
    set(fx, name, value);
    int rc = load(fx);
    if (rc != -WD_E_CONFIG)
        fail_msg("%s=%s: loaded with %d, expected -WD_E_CONFIG", name, value, rc);
    return fx->err.message;
}

static void test_defaults(void **state)
{
    const struct wd_config *cfg = load_ok(*state);

    /* the defaults column of README.md's configuration table */
    assert_string_equal(cfg->listen_addr, "0.0.0.0");
    assert_int_equal(cfg->port, 3000);
    assert_int_equal(cfg->admin_port, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(cfg->workers, cpus < 1 ? 1 : cpus > 64 ? 64 : cpus);
    assert_int_equal(cfg->http_threads, 2);
    assert_int_equal(cfg->shard_count, 1);
    assert_string_equal(cfg->shard_map, "");
    assert_int_equal(cfg->db_pool_size, 1);
    assert_int_equal(cfg->db_read_pool_size, 2);
    assert_int_equal(cfg->db_connect_timeout_s, 2);
    assert_int_equal(cfg->db_query_timeout_s, 10);
    assert_int_equal(cfg->resolve_timeout_s, 5);
    assert_int_equal(cfg->batch_max, 64);
    assert_int_equal(cfg->batch_window_us, 0);
    assert_int_equal(cfg->max_replica_lag_s, 5);
    assert_int_equal(cfg->log_level, WD_LOG_INFO);
    assert_true(cfg->access_log);
    assert_int_equal(cfg->log_buffer_bytes, 1048576);
    assert_int_equal(cfg->drain_delay_s, 10);
    assert_int_equal(cfg->shutdown_timeout_s, 20);
    assert_int_equal(cfg->keepalive_timeout_s, 75);
    assert_int_equal(cfg->max_body_bytes, 16384);
    assert_int_equal(cfg->auth_failures_per_s, 10);
    assert_int_equal(cfg->max_connections, 0); /* until fitted to the open-file limit */
    assert_int_equal(cfg->max_connections_ip, 0);
    assert_int_equal(cfg->request_timeout_s, 10);
    assert_int_equal(cfg->idempotency_retention_s, 24 * 3600);
    assert_int_equal(cfg->hold_default_s, 7 * 86400);
    assert_int_equal(cfg->hold_max_s, 30 * 86400);
    assert_int_equal(cfg->sweeper_interval_ms, 1000);
    assert_int_equal(cfg->health_interval_ms, 1000);
    assert_string_equal(cfg->api_keys_file, "/etc/walletd/keys");
    assert_string_equal(cfg->cursor_key_file, "");

    const struct wd_db_endpoint *p = &cfg->shards[0].primary;
    assert_string_equal(p->url.user, "wallet");
    assert_string_equal(p->url.password, "pw");
    assert_string_equal(p->url.host, "127.0.0.1");
    assert_int_equal(p->url.port, 3306);
    assert_string_equal(p->url.path, "walletd_0");
    assert_string_equal(p->socket, "");
    assert_int_equal(cfg->shards[0].replica_count, 0);
    assert_string_equal(cfg->redis.host, "127.0.0.1");
    assert_int_equal(cfg->redis.port, 6379);
    assert_int_equal(cfg->redis_timeout_ms, 100);
    assert_int_equal(cfg->rate_limit_rps, 10000);
    assert_int_equal(cfg->rate_limit_burst, 20000);
}

static void test_rate_limit(void **state)
{
    struct fixture *fx = *state;
    const struct wd_config *cfg = &fx->cfg;

    /* the burst follows the rate unless set */
    set(fx, "RATE_LIMIT_RPS", "50");
    load_ok(fx);
    assert_int_equal(cfg->rate_limit_rps, 50);
    assert_int_equal(cfg->rate_limit_burst, 100);
    set(fx, "RATE_LIMIT_BURST", "7");
    set(fx, "REDIS_TIMEOUT_MS", "250");
    load_ok(fx);
    assert_int_equal(cfg->rate_limit_burst, 7);
    assert_int_equal(cfg->redis_timeout_ms, 250);
    /* 0 turns the limit off */
    env_minimal(&fx->env);
    set(fx, "RATE_LIMIT_RPS", "0");
    load_ok(fx);
    assert_int_equal(cfg->rate_limit_rps, 0);
}

static void test_overrides(void **state)
{
    struct fixture *fx = *state;

    set(fx, "HOST", "127.0.0.1");
    set(fx, "PORT", "8080");
    set(fx, "ADMIN_PORT", "9000");
    set(fx, "WORKERS", "3");
    set(fx, "LOG_LEVEL", "warn");
    set(fx, "ACCESS_LOG", "false");
    set(fx, "MAX_BODY_BYTES", "1048576");
    set(fx, "AUTH_FAILURES_PER_SECOND", "0");
    set(fx, "CURSOR_KEY_FILE", "/etc/walletd/keys/cursor_key");
    set(fx, "IDEMPOTENCY_RETENTION_HOURS", "48");
    set(fx, "HOLD_DEFAULT_EXPIRY_SECONDS", "60");
    set(fx, "REDIS_URL", "redis://:pw@cache"); /* no port: Redis's default */
    set(fx, "SHARD_MAP", "0-16383=0");
    const struct wd_config *cfg = load_ok(fx);
    assert_string_equal(cfg->listen_addr, "127.0.0.1");
    assert_int_equal(cfg->port, 8080);
    assert_int_equal(cfg->admin_port, 9000);
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->log_level, WD_LOG_WARN);
    assert_false(cfg->access_log);
    assert_int_equal(cfg->max_body_bytes, 1048576);
    assert_int_equal(cfg->auth_failures_per_s, 0);
    assert_string_equal(cfg->cursor_key_file, "/etc/walletd/keys/cursor_key");
    assert_int_equal(cfg->idempotency_retention_s, 48 * 3600);
    assert_int_equal(cfg->hold_default_s, 60);
    assert_string_equal(cfg->redis.password, "pw");
    assert_int_equal(cfg->redis.port, 6379);
    assert_string_equal(cfg->shard_map, "0-16383=0");
}

static void test_empty_value_means_default(void **state)
{
    struct fixture *fx = *state;

    set(fx, "PORT", "");
    assert_int_equal(load_ok(fx)->port, 3000);
    /* but an empty required variable is missing */
    set(fx, "SHARD_COUNT", "");
    expect_named(fx, "SHARD_COUNT");
}

static void test_required_variables(void **state)
{
    struct fixture *fx = *state;
    static const char *const required[] = {"SHARD_COUNT", "DATABASE_SHARD_0_URL", "REDIS_URL",
                                           "API_KEYS_FILE"};

    for (size_t i = 0; i < N_CASES(required); i++) {
        env_minimal(&fx->env);
        set(fx, required[i], NULL);
        expect_named(fx, required[i]);
    }
}

static void test_second_shard_url_required(void **state)
{
    struct fixture *fx = *state;

    set(fx, "SHARD_COUNT", "2");
    expect_named(fx, "DATABASE_SHARD_1_URL");
    set(fx, "DATABASE_SHARD_1_URL", "mariadb://w@db2/walletd_1");
    const struct wd_config *cfg = load_ok(fx);
    assert_int_equal(cfg->shard_count, 2);
    assert_string_equal(cfg->shards[1].primary.url.host, "db2");
    assert_string_equal(cfg->shards[1].primary.url.path, "walletd_1");
    assert_int_equal(cfg->shards[1].primary.url.port, 3306);
}

static void test_range_message_says_range(void **state)
{
    struct fixture *fx = *state;
    const char *message = refusal_of(fx, "IDEMPOTENCY_RETENTION_HOURS", "23");

    assert_non_null(strstr(message, "24.."));
    assert_non_null(strstr(message, "23"));
    set(fx, "IDEMPOTENCY_RETENTION_HOURS", "24");
    assert_int_equal(load_ok(fx)->idempotency_retention_s, 86400);
}

static void test_bad_values_are_named(void **state)
{
    static const struct {
        const char *name, *value;
    } bad[] = {
        /* integers: malformed or out of range */
        {"SHARD_COUNT", "0"},
        {"SHARD_COUNT", "65"},
        {"SHARD_COUNT", "two"},
        {"PORT", "0"},
        {"PORT", "65536"},
        {"PORT", "abc"},
        {"PORT", "80x"},
        {"PORT", "99999999999999999999999"},
        {"PORT", "8080 "},
        {"ADMIN_PORT", "3000"}, /* the same as PORT */
        {"ADMIN_PORT", "65536"},
        {"WORKERS", "0"},
        {"WORKERS", "65"},
        {"HTTP_THREADS", "-1"},
        {"DB_POOL_SIZE", "0"},
        {"DB_READ_POOL_SIZE", "257"},
        {"DB_CONNECT_TIMEOUT_SECONDS", "61"},
        {"DB_QUERY_TIMEOUT_SECONDS", "1.5"},
        {"BATCH_MAX", "65"},
        {"BATCH_WINDOW_US", "100001"},
        {"MAX_REPLICA_LAG_SECONDS", "-1"},
        {"DRAIN_DELAY_SECONDS", "601"},
        {"SHUTDOWN_TIMEOUT_SECONDS", "0"},
        {"KEEPALIVE_TIMEOUT_SECONDS", "3601"},
        {"MAX_BODY_BYTES", "255"},
        {"MAX_BODY_BYTES", "1048577"},
        {"IDEMPOTENCY_RETENTION_HOURS", "23"},
        {"IDEMPOTENCY_RETENTION_HOURS", "0"},
        {"IDEMPOTENCY_RETENTION_HOURS", "24h"},
        {"HOLD_DEFAULT_EXPIRY_SECONDS", "0"},
        {"HOLD_MAX_EXPIRY_SECONDS", "31536001"},
        {"SWEEPER_INTERVAL_MS", "9"},
        {"HEALTH_INTERVAL_MS", "49"},
        {"MAX_CONNECTIONS", "-1"},
        {"MAX_CONNECTIONS_PER_IP", "1000001"},
        {"REQUEST_TIMEOUT_SECONDS", "0"},
        {"REQUEST_TIMEOUT_SECONDS", "601"},
        {"LOG_BUFFER_BYTES", "65535"},
        {"LOG_BUFFER_BYTES", "67108865"},
        {"AUTH_FAILURES_PER_SECOND", "-1"},
        {"AUTH_FAILURES_PER_SECOND", "100001"},
        {"RATE_LIMIT_RPS", "-1"},
        {"RATE_LIMIT_RPS", "1000000001"},
        {"RATE_LIMIT_RPS", "10k"},
        {"RATE_LIMIT_BURST", "0"},
        {"REDIS_TIMEOUT_MS", "0"},
        {"REDIS_TIMEOUT_MS", "10001"},
        /* everything else */
        {"LOG_LEVEL", "verbose"},
        {"ACCESS_LOG", "yes please"},
        {"REDIS_URL", "http://cache:6379"},
        {"REDIS_URL", "redis://cache:0"},
        {"REDIS_URL", "redis://:pw@"},
        {"DATABASE_SHARD_0_URL", "postgres://u@h/db"},
        {"HOST", "a-very-long-host-name-that-does-not-fit-in-sixty-four-bytes.example.com"},
    };
    struct fixture *fx = *state;

    /* each value alone over the minimal environment */
    for (size_t i = 0; i < N_CASES(bad); i++) {
        env_minimal(&fx->env);
        set(fx, bad[i].name, bad[i].value);
        expect_named(fx, bad[i].name);
    }
    /* the default hold may not exceed the maximum */
    env_minimal(&fx->env);
    set(fx, "HOLD_DEFAULT_EXPIRY_SECONDS", "700");
    set(fx, "HOLD_MAX_EXPIRY_SECONDS", "600");
    expect_named(fx, "HOLD_DEFAULT_EXPIRY_SECONDS");
}

static void test_db_url_error_hides_password(void **state)
{
    const char *message =
        refusal_of(*state, "DATABASE_SHARD_0_URL", "mysql://u:topsecretpw@h:70000/db");

    assert_non_null(strstr(message, "DATABASE_SHARD_0_URL"));
    assert_non_null(strstr(message, "port"));
    assert_null(strstr(message, "topsecretpw"));
}

static void test_replica_urls(void **state)
{
    struct fixture *fx = *state;

    set(fx, "DATABASE_SHARD_0_REPLICA_URLS",
        "mysql://r:pw@replica-a:3307/walletd_0,mysql://r@[::1]/walletd_0?socket=%2Ftmp%2Fr.sock");
    const struct wd_shard_config *s = &load_ok(fx)->shards[0];
    assert_int_equal(s->replica_count, 2);
    assert_string_equal(s->replicas[0].url.host, "replica-a");
    assert_int_equal(s->replicas[0].url.port, 3307);
    assert_string_equal(s->replicas[0].url.password, "pw");
    assert_string_equal(s->replicas[1].url.host, "::1");
    assert_int_equal(s->replicas[1].url.port, 3306);
    assert_string_equal(s->replicas[1].socket, "/tmp/r.sock");
}

static void test_bad_replica_url_is_named(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {
        "mysql://r@replica-a/db,http://replica-b/db",
        "mysql://r@replica-a/db,mysql://replica-b",
        "mysql://r@replica-a:0/db",
        "mysql://r@replica-a/db,,mysql://r@replica-c/db",
    };

    set(fx, "SHARD_COUNT", "2");
    set(fx, "DATABASE_SHARD_1_URL", "mysql://w@db2/walletd_1");
    for (size_t i = 0; i < N_CASES(bad); i++) {
        set(fx, "DATABASE_SHARD_1_REPLICA_URLS", bad[i]);
        expect_named(fx, "DATABASE_SHARD_1_REPLICA_URLS");
    }
}

static void test_too_many_replicas(void **state)
{
    struct fixture *fx = *state;
    char list[1024] = "";

    for (int i = 0; i < WD_MAX_REPLICAS; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%smysql://r@rep%d/db", i ? "," : "", i);
    }
    set(fx, "DATABASE_SHARD_0_REPLICA_URLS", list);
    const struct wd_config *cfg = load_ok(fx);
    assert_int_equal(cfg->shards[0].replica_count, WD_MAX_REPLICAS);
    assert_string_equal(cfg->shards[0].replicas[WD_MAX_REPLICAS - 1].url.host, "rep7");

    size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, ",mysql://r@rep8/db");
    expect_named(fx, "DATABASE_SHARD_0_REPLICA_URLS");
}

static int load_storage(struct fixture *fx)
{
    wd_error_clear(&fx->err);
    return wd_config_load_storage(&fx->cfg, fake_getenv, &fx->env, &fx->err);
}

static void test_load_storage_needs_only_shards(void **state)
{
    struct fixture *fx = *state;

    fx->env.n = 0;
    set(fx, "SHARD_COUNT", "2");
    set(fx, "DATABASE_SHARD_0_URL", "mysql://w@db1/walletd_0");
    set(fx, "DATABASE_SHARD_1_URL", "mysql://w@db2:3310/walletd_1");
    set(fx, "DB_QUERY_TIMEOUT_SECONDS", "30");
    assert_int_equal(load_storage(fx), 0);
    assert_int_equal(fx->cfg.shard_count, 2);
    assert_int_equal(fx->cfg.shards[1].primary.url.port, 3310);
    assert_int_equal(fx->cfg.db_query_timeout_s, 30);
    assert_int_equal(fx->cfg.db_connect_timeout_s, 2);
    /* the full loader refuses the same environment: it lacks REDIS_URL */
    expect_named(fx, "REDIS_URL");

    set(fx, "DATABASE_SHARD_1_URL", NULL);
    assert_int_equal(load_storage(fx), -WD_E_CONFIG);
    assert_non_null(strstr(fx->err.message, "DATABASE_SHARD_1_URL"));
    set(fx, "SHARD_COUNT", NULL);
    assert_int_equal(load_storage(fx), -WD_E_CONFIG);
    assert_non_null(strstr(fx->err.message, "SHARD_COUNT"));
}

static int parse_db(struct wd_db_endpoint *ep, const char *text, struct wd_error *err)
{
    wd_error_clear(err);
    return wd_config_parse_db_url(ep, text, err);
}

static void test_db_url_accepted(void **state)
{
    static const struct {
        const char *text;
        struct wd_db_endpoint want; /* scheme, user, password, host, port, path, query; socket */
    } rows[] = {
        {"mysql://wallet:p%40ss%3Aw%2Frd@db.example:3307/walletd",
         {{"mysql", "wallet", "p@ss:w/rd", "db.example", 3307, "walletd", ""}, ""}},
        {"mysql://root@[::1]:3307/walletd",
         {{"mysql", "root", "", "::1", 3307, "walletd", ""}, ""}},
        /* the default port */
        {"mariadb://root@localhost/walletd",
         {{"mariadb", "root", "", "localhost", 3306, "walletd", ""}, ""}},
        {"mysql://root@localhost/walletd?socket=/run/mysqld/mysqld.sock",
         {{"mysql", "root", "", "localhost", 3306, "walletd", "socket=/run/mysqld/mysqld.sock"},
          "/run/mysqld/mysqld.sock"}},
        {"mysql://root@localhost/walletd?x=1&socket=%2Ftmp%2Fa%20b",
         {{"mysql", "root", "", "localhost", 3306, "walletd", "x=1&socket=%2Ftmp%2Fa%20b"},
          "/tmp/a b"}},
    };
    struct wd_db_endpoint ep;
    struct wd_error err;

    (void)state;
    for (size_t i = 0; i < N_CASES(rows); i++) {
        if (parse_db(&ep, rows[i].text, &err) != 0)
            fail_msg("'%s' was refused: %s", rows[i].text, err.message);
        expect_url(rows[i].text, &ep.url, &rows[i].want.url);
        if (strcmp(ep.socket, rows[i].want.socket) != 0)
            fail_msg("'%s': socket is '%s', expected '%s'", rows[i].text, ep.socket,
                     rows[i].want.socket);
    }
}

static void expect_db_refused(const char *text, const char *message_part)
{
    struct wd_db_endpoint ep;
    struct wd_error err;

    if (parse_db(&ep, text, &err) != -WD_E_CONFIG)
        fail_msg("'%s' was not refused", text);
    if (!strstr(err.message, message_part))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, message_part);
}

static void test_db_url_refused(void **state)
{
    static const struct {
        const char *text, *message_part;
    } rows[] = {
        {"mysql://u@h:3306", "database name"},
        {"mysql://u@h:3306/", "database name"},
        {"mysql://u@h/?socket=/tmp/s", "database name"},
        {"postgres://u@h/db", "scheme"},
        {"redis://h/db", "scheme"},
        {"u@h/db", "scheme"},
        {"mysql://u:p@/db", "host"},
        {"mysql://u@h:0/db", "port"},
        {"mysql://u@h:65536/db", "port"},
        {"mysql://u@h:abc/db", "port"},
        {"mysql://u@h/db?socket=%zz", "socket"},
    };
    /* a part longer than the endpoint keeps: n zeros between before and after */
    static const struct {
        const char *before;
        int n;
        const char *after, *message_part;
    } long_parts[] = {
        {"mysql://u@h/db?socket=/", 300, "", "socket"}, /* the 255 bytes of a socket path */
        {"mysql://", 200, "@h/db", "user"},
        {"mysql://u@", 300, "/db", "host"},
        {"mysql://u@h/", 200, "", "path"},
    };
    char text[600];

    (void)state;
    for (size_t i = 0; i < N_CASES(rows); i++)
        expect_db_refused(rows[i].text, rows[i].message_part);
    for (size_t i = 0; i < N_CASES(long_parts); i++) {
        snprintf(text, sizeof(text), "%s%0*d%s", long_parts[i].before, long_parts[i].n, 0,
                 long_parts[i].after);
        expect_db_refused(text, long_parts[i].message_part);
    }
}

static void test_connections_fit_the_open_file_limit(void **state)
{
    struct fixture *fx = *state;
    struct wd_config *cfg = &fx->cfg;

    load_ok(fx);
    int need = wd_config_worker_fds(cfg);
    assert_true(need > 2 * (cfg->db_pool_size + cfg->db_read_pool_size));
    /* derived: what the pools leave; a quarter of it per source */
    assert_int_equal(wd_config_fit_connections(cfg, 1024, &fx->err), 0);
    assert_int_equal(cfg->max_connections, 1024 - need);
    assert_int_equal(cfg->max_connections_ip, (1024 - need + 3) / 4);
    load_ok(fx);
    assert_int_equal(wd_config_fit_connections(cfg, 1L << 30, &fx->err), 0);
    assert_int_equal(cfg->max_connections, 65536);
    /* more pools, less room */
    set(fx, "DB_READ_POOL_SIZE", "50");
    load_ok(fx);
    assert_true(wd_config_worker_fds(cfg) > need + 90);
    /* set: kept if it fits, refused (naming it) if it would starve the pools */
    env_minimal(&fx->env);
    set(fx, "MAX_CONNECTIONS", "500");
    set(fx, "MAX_CONNECTIONS_PER_IP", "9999");
    load_ok(fx);
    assert_int_equal(wd_config_fit_connections(cfg, 4096, &fx->err), 0);
    assert_int_equal(cfg->max_connections, 500);
    assert_int_equal(cfg->max_connections_ip, 500);
    load_ok(fx);
    assert_int_equal(wd_config_fit_connections(cfg, 512, &fx->err), -WD_E_CONFIG);
    assert_non_null(strstr(fx->err.message, "MAX_CONNECTIONS: 500"));
    load_ok(fx);
    assert_int_equal(wd_config_fit_connections(cfg, 32, &fx->err), -WD_E_CONFIG);
}

/* A test that starts from a fresh fixture. */
#define FIXTURE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_defaults),
        FIXTURE_TEST(test_overrides),
        FIXTURE_TEST(test_rate_limit),
        FIXTURE_TEST(test_empty_value_means_default),
        FIXTURE_TEST(test_required_variables),
        FIXTURE_TEST(test_second_shard_url_required),
        FIXTURE_TEST(test_range_message_says_range),
        FIXTURE_TEST(test_bad_values_are_named),
        FIXTURE_TEST(test_db_url_error_hides_password),
        FIXTURE_TEST(test_replica_urls),
        FIXTURE_TEST(test_bad_replica_url_is_named),
        FIXTURE_TEST(test_too_many_replicas),
        FIXTURE_TEST(test_load_storage_needs_only_shards),
        FIXTURE_TEST(test_connections_fit_the_open_file_limit),
        cmocka_unit_test(test_db_url_accepted),
        cmocka_unit_test(test_db_url_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
