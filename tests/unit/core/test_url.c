/*
 * tests/unit/core/test_url.c - core/url: the connection-URL grammar (userinfo with %-escapes,
 * IPv6 hosts, ports, paths, queries) and its length limits.
 */
#include "core/url.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static int parse(struct wd_url *u, const char *text, struct wd_error *err)
{
    wd_error_clear(err);
    return wd_url_parse(u, text, err);
}

static void expect_refused(const char *text, const char *message_part)
{
    struct wd_url u;
    struct wd_error err;

    assert_int_equal(parse(&u, text, &err), -WD_E_CONFIG);
    assert_int_equal(err.code, -WD_E_CONFIG);
    if (!strstr(err.message, message_part))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, message_part);
}

/* A string of n copies of c (n < 1000). */
static const char *repeat(char c, size_t n)
{
    static char buf[1000];

    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_full_url(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "mysql://wallet:s3cret@db1.internal:3307/walletd?socket=x", &err),
                     0);
    assert_string_equal(u.scheme, "mysql");
    assert_string_equal(u.user, "wallet");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "db1.internal");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.path, "walletd");
    assert_string_equal(u.query, "socket=x");
}

static void test_minimal_url(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "redis://localhost", &err), 0);
    assert_string_equal(u.scheme, "redis");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 0); /* absent */
    assert_string_equal(u.path, "");
    assert_string_equal(u.query, "");
}

static void test_redis_password_only(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "redis://:p%40ss@127.0.0.1:6380/2", &err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_string_equal(u.path, "2");
}

static void test_escapes_in_userinfo_and_path(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "mysql://us%65r:a%3Ab%2Fc%25d@h/db%5F1", &err), 0);
    assert_string_equal(u.user, "user");
    assert_string_equal(u.password, "a:b/c%d");
    assert_string_equal(u.path, "db_1");
    /* the last '@' ends the userinfo, so an unescaped '@' in a password still works */
    assert_int_equal(parse(&u, "mysql://u:p@ss@host/db", &err), 0);
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "host");
}

static void test_bad_escapes(void **state)
{
    (void)state;
    expect_refused("mysql://u:%4@h/db", "password");
    expect_refused("mysql://u:%zz@h/db", "password");
    expect_refused("mysql://u:abc%@h/db", "password");
    expect_refused("mysql://u:%00@h/db", "password"); /* NUL would truncate the secret */
    expect_refused("mysql://%g1@h/db", "user");
    expect_refused("mysql://h/d%2", "path");
}

static void test_ipv6(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "mysql://root@[::1]:3307/db", &err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.path, "db");
    assert_int_equal(parse(&u, "mysql://[fe80::1:2]/db", &err), 0);
    assert_string_equal(u.host, "fe80::1:2");
    assert_int_equal(u.port, 0);
    expect_refused("mysql://[::1/db", "unterminated");
    expect_refused("mysql://[::1]x:3307/db", "after ]");
    expect_refused("mysql://[::1]:/db", "port");
}

static void test_ports(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "mysql://h:1/db", &err), 0);
    assert_int_equal(u.port, 1);
    assert_int_equal(parse(&u, "mysql://h:65535/db", &err), 0);
    assert_int_equal(u.port, 65535);
    expect_refused("mysql://h:0/db", "port");
    expect_refused("mysql://h:65536/db", "port");
    expect_refused("mysql://h:99999/db", "port");
    expect_refused("mysql://h:123456/db", "port");
    expect_refused("mysql://h:abc/db", "port");
    expect_refused("mysql://h:33a/db", "port");
    expect_refused("mysql://h:-1/db", "port");
    expect_refused("mysql://h:/db", "port");
    expect_refused("mysql://h:+80/db", "port");
}

static void test_scheme(void **state)
{
    (void)state;
    expect_refused("localhost:3306/db", "scheme");
    expect_refused("://h/db", "scheme");
    expect_refused("", "scheme");
    expect_refused("mysql:/h/db", "scheme");
    expect_refused("abcdefghijklmnop://h/db", "scheme too long"); /* 16 chars, max 15 */
}

static void test_part_lengths(void **state)
{
    struct wd_url u;
    struct wd_error err;
    char text[1200];

    (void)state;
    /* each part's buffer holds its size minus one: the largest fits, one more is refused */
    snprintf(text, sizeof(text), "mysql://%s@h/db", repeat('u', 127));
    assert_int_equal(parse(&u, text, &err), 0);
    assert_int_equal(strlen(u.user), 127);
    snprintf(text, sizeof(text), "mysql://%s@h/db", repeat('u', 128));
    expect_refused(text, "user");

    snprintf(text, sizeof(text), "mysql://u:%s@h/db", repeat('p', 127));
    assert_int_equal(parse(&u, text, &err), 0);
    snprintf(text, sizeof(text), "mysql://u:%s@h/db", repeat('p', 128));
    expect_refused(text, "password");

    snprintf(text, sizeof(text), "mysql://%s/db", repeat('h', 255));
    assert_int_equal(parse(&u, text, &err), 0);
    assert_int_equal(strlen(u.host), 255);
    snprintf(text, sizeof(text), "mysql://%s/db", repeat('h', 256));
    expect_refused(text, "host too long");
    snprintf(text, sizeof(text), "mysql://[%s]/db", repeat('1', 256));
    expect_refused(text, "host too long");

    snprintf(text, sizeof(text), "mysql://h/%s", repeat('d', 127));
    assert_int_equal(parse(&u, text, &err), 0);
    snprintf(text, sizeof(text), "mysql://h/%s", repeat('d', 128));
    expect_refused(text, "path");

    snprintf(text, sizeof(text), "mysql://h/db?%s", repeat('q', 511));
    assert_int_equal(parse(&u, text, &err), 0);
    snprintf(text, sizeof(text), "mysql://h/db?%s", repeat('q', 512));
    expect_refused(text, "query too long");
}

static void test_password_never_echoed(void **state)
{
    struct wd_url u;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse(&u, "mysql://u:hunter2secret@h:notaport/db", &err), -WD_E_CONFIG);
    assert_null(strstr(err.message, "hunter2secret"));
    assert_int_equal(parse(&u, "mysql://u:hunter2%zz@h/db", &err), -WD_E_CONFIG);
    assert_null(strstr(err.message, "hunter2"));
}

static void test_query_get(void **state)
{
    struct wd_url u;
    struct wd_error err;
    char value[64];

    (void)state;
    assert_int_equal(parse(&u, "mysql://h/db?a=1&socket=%2Frun%2Fm.sock&flag&b=", &err), 0);
    assert_int_equal(wd_url_query_get(&u, "socket", value, sizeof(value)), 1);
    assert_string_equal(value, "/run/m.sock");
    assert_int_equal(wd_url_query_get(&u, "a", value, sizeof(value)), 1);
    assert_string_equal(value, "1");
    assert_int_equal(wd_url_query_get(&u, "flag", value, sizeof(value)), 1);
    assert_string_equal(value, "");
    assert_int_equal(wd_url_query_get(&u, "b", value, sizeof(value)), 1);
    assert_string_equal(value, "");
    assert_int_equal(wd_url_query_get(&u, "sock", value, sizeof(value)), 0); /* no prefix match */
    assert_int_equal(wd_url_query_get(&u, "missing", value, sizeof(value)), 0);
    /* a value that does not fit, and a malformed escape */
    assert_int_equal(wd_url_query_get(&u, "socket", value, 4), -WD_E_CONFIG);
    assert_int_equal(parse(&u, "mysql://h/db?socket=%zz", &err), 0);
    assert_int_equal(wd_url_query_get(&u, "socket", value, sizeof(value)), -WD_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_url),
        cmocka_unit_test(test_minimal_url),
        cmocka_unit_test(test_redis_password_only),
        cmocka_unit_test(test_escapes_in_userinfo_and_path),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_part_lengths),
        cmocka_unit_test(test_password_never_echoed),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
