/*
 * tests/unit/core/test_json.c - core/json: failed jansson allocations are counted per thread, and
 * the count is what tells a whole result from one jansson cut short without saying so.
 */
#include "core/json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tests/unit/testing.h"

static void *other_thread(void *arg)
{
    unsigned long *seen = arg;

    *seen = wd_json_failures();
    return NULL;
}

static void test_failures_are_counted_per_thread(void **state)
{
    unsigned long before = wd_json_failures(), there = 99;
    pthread_t t;

    (void)state;
    jansson_fail_at(1);
    assert_null(json_object());
    assert_int_equal(wd_json_failures(), before + 1);
    json_t *obj = json_object();
    assert_non_null(obj);
    json_decref(obj);
    assert_int_equal(wd_json_failures(), before + 1);
    assert_int_equal(pthread_create(&t, NULL, other_thread, &there), 0);
    pthread_join(t, NULL);
    assert_int_equal(there, 0); /* another thread's count is its own */
    jansson_fail_at(0);
}

/* The request body of a credit, with a key long enough to make jansson's buffers grow. */
static const char body[] = "{\"walletId\":\"wal_30390000019a0b5e2f1c1234567890abcdef\","
                           "\"amount\":9007199254740991,\"referenceId\":\"order-2026-11-29-0001\","
                           "\"aMemberNameLongerThanSixteenBytes\":\"x\"}";

/* For every n: with the nth allocation failing, a parse is exactly the body's value or a counted
 * failure; so is its canonical text. (jansson itself returns short results in some of those
 * runs, with no error: the count is the only sign.) */
static void test_a_result_is_whole_or_a_failure_is_counted(void **state)
{
    json_t *want = json_loadb(body, sizeof(body) - 1, 0, NULL);
    char *want_text = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    long n;

    (void)state;
    assert_non_null(want_text);
    for (n = 1;; n++) {
        unsigned long before = wd_json_failures();
        jansson_fail_at(n);
        json_t *got = json_loadb(body, sizeof(body) - 1, 0, NULL);
        char *text = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        bool failed = wd_json_failures() != before;
        if (!failed && (!json_equal(got, want) || !text || strcmp(text, want_text) != 0))
            fail_msg("allocation %ld failed unnoticed: '%s'", n, text ? text : "(null)");
        json_decref(got);
        free(text);
        if (jansson_all_tried())
            break;
    }
    jansson_fail_at(0);
    assert_true(n > 10);
    json_decref(want);
    free(want_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_are_counted_per_thread),
        cmocka_unit_test(test_a_result_is_whole_or_a_failure_is_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
