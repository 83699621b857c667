/*
 * tests/unit/core/test_config.c - core/config: wd_config_load over a fake environment (defaults,
 * required and malformed variables named in the message, replica lists, retention floor), the
 * storage-only loader, and wd_config_parse_db_url.
 */
#include "core/config.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

/* struct wd_config is ~900 KB (64 shards of 9 parsed URLs): keep it off the stack. */
static int setup(void **state)
{
    *state = calloc(1, sizeof(struct wd_config));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static int load(struct wd_config *cfg, struct fake_env *env, struct wd_error *err)
{
    wd_error_clear(err);
    return wd_config_load(cfg, fake_getenv, env, err);
}

/* Loading must fail with -WD_E_CONFIG and a message that starts with the variable's name. */
static void expect_named(struct wd_config *cfg, struct fake_env *env, const char *name)
{
    struct wd_error err;
    size_t n = strlen(name);

    assert_int_equal(load(cfg, env, &err), -WD_E_CONFIG);
    if (strncmp(err.message, name, n) != 0 || err.message[n] != ':')
        fail_msg("expected an error naming %s, got '%s'", name, err.message);
}

static void test_defaults(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    assert_int_equal(load(cfg, &env, &err), 0);
    /* the defaults column of README.md's configuration table */
    assert_string_equal(cfg->listen_addr, "0.0.0.0");
    assert_int_equal(cfg->port, 3000);
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
    assert_int_equal(cfg->drain_delay_s, 10);
    assert_int_equal(cfg->shutdown_timeout_s, 20);
    assert_int_equal(cfg->keepalive_timeout_s, 75);
    assert_int_equal(cfg->max_body_bytes, 16384);
    assert_int_equal(cfg->idempotency_retention_s, 24 * 3600);
    assert_int_equal(cfg->hold_default_s, 7 * 86400);
    assert_int_equal(cfg->hold_max_s, 30 * 86400);
    assert_int_equal(cfg->sweeper_interval_ms, 1000);
    assert_int_equal(cfg->health_interval_ms, 1000);
    assert_string_equal(cfg->api_keys_file, "/etc/walletd/keys");

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
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    /* the burst follows the rate unless set */
    env_minimal(&env);
    env_set(&env, "RATE_LIMIT_RPS", "50");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->rate_limit_rps, 50);
    assert_int_equal(cfg->rate_limit_burst, 100);
    env_set(&env, "RATE_LIMIT_BURST", "7");
    env_set(&env, "REDIS_TIMEOUT_MS", "250");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->rate_limit_burst, 7);
    assert_int_equal(cfg->redis_timeout_ms, 250);
    /* 0 turns the limit off */
    env_minimal(&env);
    env_set(&env, "RATE_LIMIT_RPS", "0");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->rate_limit_rps, 0);
}

static void test_overrides(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(&env, "HOST", "127.0.0.1");
    env_set(&env, "PORT", "8080");
    env_set(&env, "WORKERS", "3");
    env_set(&env, "LOG_LEVEL", "warn");
    env_set(&env, "ACCESS_LOG", "false");
    env_set(&env, "MAX_BODY_BYTES", "1048576");
    env_set(&env, "IDEMPOTENCY_RETENTION_HOURS", "48");
    env_set(&env, "HOLD_DEFAULT_EXPIRY_SECONDS", "60");
    env_set(&env, "REDIS_URL", "redis://:pw@cache"); /* no port: Redis's default */
    env_set(&env, "SHARD_MAP", "0-16383=0");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_string_equal(cfg->listen_addr, "127.0.0.1");
    assert_int_equal(cfg->port, 8080);
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->log_level, WD_LOG_WARN);
    assert_false(cfg->access_log);
    assert_int_equal(cfg->max_body_bytes, 1048576);
    assert_int_equal(cfg->idempotency_retention_s, 48 * 3600);
    assert_int_equal(cfg->hold_default_s, 60);
    assert_string_equal(cfg->redis.password, "pw");
    assert_int_equal(cfg->redis.port, 6379);
    assert_string_equal(cfg->shard_map, "0-16383=0");
}

static void test_empty_value_means_default(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(&env, "PORT", "");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->port, 3000);
    /* but an empty required variable is missing */
    env_set(&env, "SHARD_COUNT", "");
    expect_named(cfg, &env, "SHARD_COUNT");
}

static void test_required_variables(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    static const char *const required[] = {"SHARD_COUNT", "DATABASE_SHARD_0_URL", "REDIS_URL",
                                           "API_KEYS_FILE"};

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        env_minimal(&env);
        env_set(&env, required[i], NULL);
        expect_named(cfg, &env, required[i]);
    }
}

static void test_second_shard_url_required(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(&env, "SHARD_COUNT", "2");
    expect_named(cfg, &env, "DATABASE_SHARD_1_URL");
    env_set(&env, "DATABASE_SHARD_1_URL", "mariadb://w@db2/walletd_1");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->shard_count, 2);
    assert_string_equal(cfg->shards[1].primary.url.host, "db2");
    assert_string_equal(cfg->shards[1].primary.url.path, "walletd_1");
    assert_int_equal(cfg->shards[1].primary.url.port, 3306);
}

static void test_bad_integers_are_named(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"SHARD_COUNT", "0"},
        {"SHARD_COUNT", "65"},
        {"SHARD_COUNT", "two"},
        {"PORT", "0"},
        {"PORT", "65536"},
        {"PORT", "abc"},
        {"PORT", "80x"},
        {"PORT", "99999999999999999999999"},
        {"PORT", "8080 "},
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
        {"RATE_LIMIT_RPS", "-1"},
        {"RATE_LIMIT_RPS", "1000000001"},
        {"RATE_LIMIT_RPS", "10k"},
        {"RATE_LIMIT_BURST", "0"},
        {"REDIS_TIMEOUT_MS", "0"},
        {"REDIS_TIMEOUT_MS", "10001"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_minimal(&env);
        env_set(&env, bad[i].name, bad[i].value);
        expect_named(cfg, &env, bad[i].name);
    }
}

static void test_range_message_says_range(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(&env, "IDEMPOTENCY_RETENTION_HOURS", "23");
    assert_int_equal(load(cfg, &env, &err), -WD_E_CONFIG);
    assert_non_null(strstr(err.message, "24.."));
    assert_non_null(strstr(err.message, "23"));
    env_set(&env, "IDEMPOTENCY_RETENTION_HOURS", "24");
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->idempotency_retention_s, 86400);
}

static void test_other_bad_values_are_named(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;

    env_minimal(&env);
    env_set(&env, "LOG_LEVEL", "verbose");
    expect_named(cfg, &env, "LOG_LEVEL");
    env_minimal(&env);
    env_set(&env, "ACCESS_LOG", "yes please");
    expect_named(cfg, &env, "ACCESS_LOG");
    env_minimal(&env);
    env_set(&env, "REDIS_URL", "http://cache:6379");
    expect_named(cfg, &env, "REDIS_URL");
    env_minimal(&env);
    env_set(&env, "REDIS_URL", "redis://cache:0");
    expect_named(cfg, &env, "REDIS_URL");
    env_minimal(&env);
    env_set(&env, "REDIS_URL", "redis://:pw@");
    expect_named(cfg, &env, "REDIS_URL");
    env_minimal(&env);
    env_set(&env, "DATABASE_SHARD_0_URL", "postgres://u@h/db");
    expect_named(cfg, &env, "DATABASE_SHARD_0_URL");
    env_minimal(&env);
    env_set(&env, "HOST",
            "a-very-long-host-name-that-does-not-fit-in-sixty-four-bytes.example.com");
    expect_named(cfg, &env, "HOST");
    /* the default hold may not exceed the maximum */
    env_minimal(&env);
    env_set(&env, "HOLD_DEFAULT_EXPIRY_SECONDS", "700");
    env_set(&env, "HOLD_MAX_EXPIRY_SECONDS", "600");
    expect_named(cfg, &env, "HOLD_DEFAULT_EXPIRY_SECONDS");
}

static void test_db_url_error_hides_password(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(&env, "DATABASE_SHARD_0_URL", "mysql://u:topsecretpw@h:70000/db");
    assert_int_equal(load(cfg, &env, &err), -WD_E_CONFIG);
    assert_non_null(strstr(err.message, "DATABASE_SHARD_0_URL"));
    assert_non_null(strstr(err.message, "port"));
    assert_null(strstr(err.message, "topsecretpw"));
}

static void test_replica_urls(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env_minimal(&env);
    env_set(
        &env, "DATABASE_SHARD_0_REPLICA_URLS",
        "mysql://r:pw@replica-a:3307/walletd_0,mysql://r@[::1]/walletd_0?socket=%2Ftmp%2Fr.sock");
    assert_int_equal(load(cfg, &env, &err), 0);
    const struct wd_shard_config *s = &cfg->shards[0];
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
    struct wd_config *cfg = *state;
    struct fake_env env;
    static const char *const bad[] = {
        "mysql://r@replica-a/db,http://replica-b/db",
        "mysql://r@replica-a/db,mysql://replica-b",
        "mysql://r@replica-a:0/db",
        "mysql://r@replica-a/db,,mysql://r@replica-c/db",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_minimal(&env);
        env_set(&env, "SHARD_COUNT", "2");
        env_set(&env, "DATABASE_SHARD_1_URL", "mysql://w@db2/walletd_1");
        env_set(&env, "DATABASE_SHARD_1_REPLICA_URLS", bad[i]);
        expect_named(cfg, &env, "DATABASE_SHARD_1_REPLICA_URLS");
    }
}

static void test_too_many_replicas(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;
    char list[1024] = "";

    for (int i = 0; i < WD_MAX_REPLICAS; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%smysql://r@rep%d/db", i ? "," : "", i);
    }
    env_minimal(&env);
    env_set(&env, "DATABASE_SHARD_0_REPLICA_URLS", list);
    assert_int_equal(load(cfg, &env, &err), 0);
    assert_int_equal(cfg->shards[0].replica_count, WD_MAX_REPLICAS);
    assert_string_equal(cfg->shards[0].replicas[WD_MAX_REPLICAS - 1].url.host, "rep7");

    size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, ",mysql://r@rep8/db");
    expect_named(cfg, &env, "DATABASE_SHARD_0_REPLICA_URLS");
}

static void test_load_storage_needs_only_shards(void **state)
{
    struct wd_config *cfg = *state;
    struct fake_env env;
    struct wd_error err;

    env.n = 0;
    env_set(&env, "SHARD_COUNT", "2");
    env_set(&env, "DATABASE_SHARD_0_URL", "mysql://w@db1/walletd_0");
    env_set(&env, "DATABASE_SHARD_1_URL", "mysql://w@db2:3310/walletd_1");
    env_set(&env, "DB_QUERY_TIMEOUT_SECONDS", "30");
    assert_int_equal(wd_config_load_storage(cfg, fake_getenv, &env, &err), 0);
    assert_int_equal(cfg->shard_count, 2);
    assert_int_equal(cfg->shards[1].primary.url.port, 3310);
    assert_int_equal(cfg->db_query_timeout_s, 30);
    assert_int_equal(cfg->db_connect_timeout_s, 2);
    /* the full loader refuses the same environment: it lacks REDIS_URL */
    expect_named(cfg, &env, "REDIS_URL");

    env_set(&env, "DATABASE_SHARD_1_URL", NULL);
    wd_error_clear(&err);
    assert_int_equal(wd_config_load_storage(cfg, fake_getenv, &env, &err), -WD_E_CONFIG);
    assert_non_null(strstr(err.message, "DATABASE_SHARD_1_URL"));
    env_set(&env, "SHARD_COUNT", NULL);
    assert_int_equal(wd_config_load_storage(cfg, fake_getenv, &env, &err), -WD_E_CONFIG);
    assert_non_null(strstr(err.message, "SHARD_COUNT"));
}

static int parse_db(struct wd_db_endpoint *ep, const char *text, struct wd_error *err)
{
    wd_error_clear(err);
    return wd_config_parse_db_url(ep, text, err);
}

static void test_db_url_accepted(void **state)
{
    struct wd_db_endpoint ep;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse_db(&ep, "mysql://wallet:p%40ss%3Aw%2Frd@db.example:3307/walletd", &err),
                     0);
    assert_string_equal(ep.url.user, "wallet");
    assert_string_equal(ep.url.password, "p@ss:w/rd");
    assert_string_equal(ep.url.host, "db.example");
    assert_int_equal(ep.url.port, 3307);
    assert_string_equal(ep.url.path, "walletd");
    assert_string_equal(ep.socket, "");

    assert_int_equal(parse_db(&ep, "mysql://root@[::1]:3307/walletd", &err), 0);
    assert_string_equal(ep.url.host, "::1");
    assert_int_equal(ep.url.port, 3307);

    assert_int_equal(parse_db(&ep, "mariadb://root@localhost/walletd", &err), 0);
    assert_int_equal(ep.url.port, 3306); /* the default */

    assert_int_equal(
        parse_db(&ep, "mysql://root@localhost/walletd?socket=/run/mysqld/mysqld.sock", &err), 0);
    assert_string_equal(ep.socket, "/run/mysqld/mysqld.sock");
    assert_int_equal(
        parse_db(&ep, "mysql://root@localhost/walletd?x=1&socket=%2Ftmp%2Fa%20b", &err), 0);
    assert_string_equal(ep.socket, "/tmp/a b");
}

static void expect_db_refused(const char *text, const char *message_part)
{
    struct wd_db_endpoint ep;
    struct wd_error err;

    assert_int_equal(parse_db(&ep, text, &err), -WD_E_CONFIG);
    if (!strstr(err.message, message_part))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, message_part);
}

static void test_db_url_refused(void **state)
{
    char text[600];

    (void)state;
    expect_db_refused("mysql://u@h:3306", "database name");
    expect_db_refused("mysql://u@h:3306/", "database name");
    expect_db_refused("mysql://u@h/?socket=/tmp/s", "database name");
    expect_db_refused("postgres://u@h/db", "scheme");
    expect_db_refused("redis://h/db", "scheme");
    expect_db_refused("u@h/db", "scheme");
    expect_db_refused("mysql://u:p@/db", "host");
    expect_db_refused("mysql://u@h:0/db", "port");
    expect_db_refused("mysql://u@h:65536/db", "port");
    expect_db_refused("mysql://u@h:abc/db", "port");
    expect_db_refused("mysql://u@h/db?socket=%zz", "socket");
    memset(text, 0, sizeof(text));
    /* a socket path longer than the 255 bytes the endpoint keeps */
    snprintf(text, sizeof(text), "mysql://u@h/db?socket=/%0300d", 0);
    expect_db_refused(text, "socket");
    snprintf(text, sizeof(text), "mysql://%0200d@h/db", 0);
    expect_db_refused(text, "user");
    snprintf(text, sizeof(text), "mysql://u@%0300d/db", 0);
    expect_db_refused(text, "host");
    snprintf(text, sizeof(text), "mysql://u@h/%0200d", 0);
    expect_db_refused(text, "path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_value_means_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_shard_url_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_integers_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_message_says_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bad_values_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_url_error_hides_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_replica_url_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_replicas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_storage_needs_only_shards, setup, teardown),
        cmocka_unit_test(test_db_url_accepted),
        cmocka_unit_test(test_db_url_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
