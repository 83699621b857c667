/*
 * tests/unit/core/test_log.c - core/log's allocation-free line: JSON string escaping (quotes,
 * backslashes, control characters, UTF-8 kept, invalid UTF-8 and overflow refused) and the line
 * wd_log_members builds, read back with jansson.
 */
#define _GNU_SOURCE
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testing.h"

static void test_escape(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"/api/v1/wallets", "\"/api/v1/wallets\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"", "\"\""},
    };
    static const char *const bad[] = {
        "\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xe2\x82"};
    char out[64];

    (void)state;
    for (size_t i = 0; i < N_CASES(ok); i++) {
        size_t len = 0;
        assert_true(wd_log_escape(out, sizeof(out), &len, ok[i].in));
        assert_string_equal(out, ok[i].out);
        assert_int_equal(len, strlen(ok[i].out));
    }
    for (size_t i = 0; i < N_CASES(bad); i++) {
        size_t len = 3;
        memcpy(out, "ab,", 4);
        assert_false(wd_log_escape(out, sizeof(out), &len, bad[i]));
        assert_int_equal(len, 3);
        assert_string_equal(out, "ab,");
    }
    size_t len = 0;
    assert_false(wd_log_escape(out, 8, &len, "longer than eight"));
    assert_int_equal(len, 0);
}

static void test_members_line(void **state)
{
    int fds[2];
    char text[WD_LOG_LINE_MAX + 512];

    (void)state;
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO); /* no log thread started: written at once */
    char m[256];
    size_t len = 0;
    snprintf(m, sizeof(m), "\"status\":200,\"path\":");
    len = strlen(m);
    assert_true(wd_log_escape(m, sizeof(m), &len, "/a\"b"));
    wd_log_members(WD_LOG_INFO, "request", m);
    wd_log_members(WD_LOG_WARN, "bare", "");
    dup2(saved, STDOUT_FILENO);
    close(fds[1]);
    ssize_t n = read(fds[0], text, sizeof(text) - 1);
    close(fds[0]);
    assert_true(n > 0);
    text[n] = '\0';
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *a = json_loads(text, 0, NULL), *b = json_loads(second, 0, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(a, "msg")), "request");
    assert_string_equal(json_string_value(json_object_get(a, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(a, "path")), "/a\"b");
    assert_int_equal(json_integer_value(json_object_get(a, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(a, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(b, "msg")), "bare");
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_members_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
