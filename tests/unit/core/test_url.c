/*
 * tests/unit/core/test_url.c - core/url: the connection-URL grammar (userinfo with %-escapes,
 * IPv6 hosts, ports, paths, queries) and its length limits.
 */
#include "core/url.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/testing.h"

static int parse(struct wd_url *u, const char *text, struct wd_error *err)
{
    wd_error_clear(err);
    return wd_url_parse(u, text, err);
}

static void expect_refused(const char *text, const char *message_part)
{
    struct wd_url u;
    struct wd_error err;

    if (parse(&u, text, &err) != -WD_E_CONFIG)
        fail_msg("'%s' was not refused", text);
    assert_int_equal(err.code, -WD_E_CONFIG);
    if (!strstr(err.message, message_part))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, message_part);
}

struct refusal {
    const char *text, *message_part;
};

/* A URL and every part it parses to: scheme, user, password, host, port, path, query. */
struct parsed {
    const char *text;
    struct wd_url want;
};

static void expect_parsed(const struct parsed *rows, size_t n)
{
    struct wd_url u;
    struct wd_error err;

    for (size_t i = 0; i < n; i++) {
        if (parse(&u, rows[i].text, &err) != 0)
            fail_msg("'%s' was refused: %s", rows[i].text, err.message);
        expect_url(rows[i].text, &u, &rows[i].want);
    }
}

/* A string of n copies of c (n < 1000). */
static const char *repeat(char c, size_t n)
{
    static char buf[1000];

    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_accepted(void **state)
{
    static const struct parsed rows[] = {
        /* every part */
        {"mysql://wallet:s3cret@db1.internal:3307/walletd?socket=x",
         {"mysql", "wallet", "s3cret", "db1.internal", 3307, "walletd", "socket=x"}},
        /* only a host: no port is 0 */
        {"redis://localhost", {"redis", "", "", "localhost", 0, "", ""}},
        /* Redis's password-only userinfo */
        {"redis://:p%40ss@127.0.0.1:6380/2", {"redis", "", "p@ss", "127.0.0.1", 6380, "2", ""}},
        /* escapes in userinfo and path */
        {"mysql://us%65r:a%3Ab%2Fc%25d@h/db%5F1", {"mysql", "user", "a:b/c%d", "h", 0, "db_1", ""}},
        /* the last '@' ends the userinfo, so an unescaped '@' in a password still works */
        {"mysql://u:p@ss@host/db", {"mysql", "u", "p@ss", "host", 0, "db", ""}},
        /* IPv6 */
        {"mysql://root@[::1]:3307/db", {"mysql", "root", "", "::1", 3307, "db", ""}},
        {"mysql://[fe80::1:2]/db", {"mysql", "", "", "fe80::1:2", 0, "db", ""}},
        /* the port range */
        {"mysql://h:1/db", {"mysql", "", "", "h", 1, "db", ""}},
        {"mysql://h:65535/db", {"mysql", "", "", "h", 65535, "db", ""}},
    };

    (void)state;
    expect_parsed(rows, N_CASES(rows));
}

static void test_refused(void **state)
{
    static const struct refusal rows[] = {
        /* bad escapes */
        {"mysql://u:%4@h/db", "password"},
        {"mysql://u:%zz@h/db", "password"},
        {"mysql://u:abc%@h/db", "password"},
        {"mysql://u:%00@h/db", "password"}, /* NUL would truncate the secret */
        {"mysql://%g1@h/db", "user"},
        {"mysql://h/d%2", "path"},
        /* IPv6 */
        {"mysql://[::1/db", "unterminated"},
        {"mysql://[::1]x:3307/db", "after ]"},
        {"mysql://[::1]:/db", "port"},
        /* ports */
        {"mysql://h:0/db", "port"},
        {"mysql://h:65536/db", "port"},
        {"mysql://h:99999/db", "port"},
        {"mysql://h:123456/db", "port"},
        {"mysql://h:abc/db", "port"},
        {"mysql://h:33a/db", "port"},
        {"mysql://h:-1/db", "port"},
        {"mysql://h:/db", "port"},
        {"mysql://h:+80/db", "port"},
        /* schemes */
        {"localhost:3306/db", "scheme"},
        {"://h/db", "scheme"},
        {"", "scheme"},
        {"mysql:/h/db", "scheme"},
        {"abcdefghijklmnop://h/db", "scheme too long"}, /* 16 chars, max 15 */
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(rows); i++)
        expect_refused(rows[i].text, rows[i].message_part);
}

/* Each part's buffer holds its size minus one: the largest fits, one more is refused. */
static void test_part_lengths(void **state)
{
    static const struct {
        const char *before;
        char fill;
        size_t max;
        const char *after;
        size_t field; /* offsetof the part in struct wd_url */
        const char *message_part;
    } parts[] = {
        {"mysql://", 'u', 127, "@h/db", offsetof(struct wd_url, user), "user"},
        {"mysql://u:", 'p', 127, "@h/db", offsetof(struct wd_url, password), "password"},
        {"mysql://", 'h', 255, "/db", offsetof(struct wd_url, host), "host too long"},
        {"mysql://h/", 'd', 127, "", offsetof(struct wd_url, path), "path"},
        {"mysql://h/db?", 'q', 511, "", offsetof(struct wd_url, query), "query too long"},
    };
    struct wd_url u;
    struct wd_error err;
    char text[1200];

    (void)state;
    for (size_t i = 0; i < N_CASES(parts); i++) {
        snprintf(text, sizeof(text), "%s%s%s", parts[i].before, repeat(parts[i].fill, parts[i].max),
                 parts[i].after);
        if (parse(&u, text, &err) != 0)
            fail_msg("%s of %zu was refused: %s", parts[i].message_part, parts[i].max, err.message);
        assert_int_equal(strlen((const char *)&u + parts[i].field), parts[i].max);
        snprintf(text, sizeof(text), "%s%s%s", parts[i].before,
                 repeat(parts[i].fill, parts[i].max + 1), parts[i].after);
        expect_refused(text, parts[i].message_part);
    }
    snprintf(text, sizeof(text), "mysql://[%s]/db", repeat('1', 256));
    expect_refused(text, "host too long");
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
    static const struct {
        const char *name;
        size_t size;
        int rc;
        const char *value; /* when rc is 1 */
    } gets[] = {
        {"socket", 64, 1, "/run/m.sock"},
        {"a", 64, 1, "1"},
        {"flag", 64, 1, ""},
        {"b", 64, 1, ""},
        {"sock", 64, 0, NULL}, /* no prefix match */
        {"missing", 64, 0, NULL},
        {"socket", 4, -WD_E_CONFIG, NULL}, /* a value that does not fit */
    };
    struct wd_url u;
    struct wd_error err;
    char value[64];

    (void)state;
    assert_int_equal(parse(&u, "mysql://h/db?a=1&socket=%2Frun%2Fm.sock&flag&b=", &err), 0);
    for (size_t i = 0; i < N_CASES(gets); i++) {
        int rc = wd_url_query_get(&u, gets[i].name, value, gets[i].size);
        if (rc != gets[i].rc)
            fail_msg("%s in %zu bytes: %d, expected %d", gets[i].name, gets[i].size, rc,
                     gets[i].rc);
        if (gets[i].value)
            assert_string_equal(value, gets[i].value);
    }
    /* a malformed escape */
    assert_int_equal(parse(&u, "mysql://h/db?socket=%zz", &err), 0);
    assert_int_equal(wd_url_query_get(&u, "socket", value, sizeof(value)), -WD_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),     cmocka_unit_test(test_refused),
        cmocka_unit_test(test_part_lengths), cmocka_unit_test(test_password_never_echoed),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
