/*
 * tests/unit/api/test_ratelimit.c - api/ratelimit's pure parts: the Retry-After seconds a refused
 * request is told (a wait in milliseconds rounded up to whole seconds, never 0, capped at a day)
 * and the per-thread leases (sized to recent use within a cap, used one token per request,
 * dropped when they expire). The bucket itself runs in Redis and is tested against a real one
 * (tests/integration/test_ratelimit.py).
 */
#include "api/ratelimit.h"

#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_retry_after_rounds_up(void **state)
{
    (void)state;
    assert_int_equal(wd_ratelimit_retry_after_s(0), 1);
    assert_int_equal(wd_ratelimit_retry_after_s(-5), 1);
    assert_int_equal(wd_ratelimit_retry_after_s(1), 1);
    assert_int_equal(wd_ratelimit_retry_after_s(999), 1);
    assert_int_equal(wd_ratelimit_retry_after_s(1000), 1);
    assert_int_equal(wd_ratelimit_retry_after_s(1001), 2);
    assert_int_equal(wd_ratelimit_retry_after_s(2000), 2);
    assert_int_equal(wd_ratelimit_retry_after_s(59001), 60);
    assert_int_equal(wd_ratelimit_retry_after_s(86400000), 86400);
    assert_int_equal(wd_ratelimit_retry_after_s(INT64_MAX), 86400);
}

#define MS 1000000LL

static void test_lease_max_follows_burst(void **state)
{
    (void)state;
    assert_int_equal(wd_ratelimit_lease_max(1), 1);
    assert_int_equal(wd_ratelimit_lease_max(8), 1);
    assert_int_equal(wd_ratelimit_lease_max(63), 1);
    assert_int_equal(wd_ratelimit_lease_max(64), 2);
    assert_int_equal(wd_ratelimit_lease_max(320), 10);
    assert_int_equal(wd_ratelimit_lease_max(20000), WD_RATELIMIT_LEASE_MAX);
}

static void test_light_traffic_asks_for_one_token_each_time(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = 1000 * MS;

    (void)state;
    for (int i = 0; i < 10; i++) {
        t += 3 * WD_RATELIMIT_LEASE_WINDOW_MS * MS; /* idle for more than two windows each time */
        assert_int_equal(wd_ratelimit_lease_use(&l, t, 256), 1);
        wd_ratelimit_lease_grant(&l, 1, t);
        assert_int_equal(l.tokens, 0);
    }
}

static void test_lease_is_used_token_by_token(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = 1000 * MS;

    (void)state;
    assert_int_equal(wd_ratelimit_lease_use(&l, t, 256), 1);
    wd_ratelimit_lease_grant(&l, 1, t);
    /* second request of the same window: asks for what this window used so far */
    assert_int_equal(wd_ratelimit_lease_use(&l, t + 1, 256), 2);
    wd_ratelimit_lease_grant(&l, 2, t + 1);
    assert_int_equal(l.tokens, 1);
    assert_int_equal(wd_ratelimit_lease_use(&l, t + 2, 256), 0); /* the leased token */
    assert_int_equal(l.tokens, 0);
    assert_int_equal(wd_ratelimit_lease_use(&l, t + 3, 256), 4);
    /* Redis had only one token left: a partial grant leases nothing more */
    wd_ratelimit_lease_grant(&l, 1, t + 3);
    assert_int_equal(l.tokens, 0);
    assert_int_equal(wd_ratelimit_lease_use(&l, t + 4, 256), 5);
}

static void test_lease_size_follows_the_last_window_within_the_cap(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = 1000 * MS;

    (void)state;
    for (int i = 0; i < 100; i++) { /* 100 requests in one window, every one refused */
        int64_t want = wd_ratelimit_lease_use(&l, t + i, 50);
        assert_true(want >= 1 && want <= 50);
    }
    /* next window: sized to the last one's 100 requests, capped at 50 */
    t += WD_RATELIMIT_LEASE_WINDOW_MS * MS;
    assert_int_equal(wd_ratelimit_lease_use(&l, t, 50), 50);
    wd_ratelimit_lease_grant(&l, 50, t);
    for (int i = 1; i < 50; i++)
        assert_int_equal(wd_ratelimit_lease_use(&l, t + i, 50), 0);
    assert_int_equal(l.tokens, 0);
    assert_int_equal(wd_ratelimit_lease_use(&l, t + 50, 50), 50);
}

static void test_expired_lease_is_dropped(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = 1000 * MS;

    (void)state;
    assert_int_equal(wd_ratelimit_lease_use(&l, t, 256), 1);
    wd_ratelimit_lease_grant(&l, 10, t);
    assert_int_equal(wd_ratelimit_lease_use(&l, t + (WD_RATELIMIT_LEASE_TTL_MS * MS) - 1, 256), 0);
    assert_int_equal(l.tokens, 8);
    /* past the lease's life its 8 tokens are not used */
    assert_true(wd_ratelimit_lease_use(&l, t + WD_RATELIMIT_LEASE_TTL_MS * MS, 256) >= 1);
    assert_int_equal(l.tokens, 0);
}

static void test_clock_going_backwards_restarts_the_window(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = 1000 * MS;

    (void)state;
    assert_int_equal(wd_ratelimit_lease_use(&l, t, 256), 1);
    wd_ratelimit_lease_grant(&l, 3, t);
    /* a window start in the future is reset; the lease's tokens are still usable until expiry */
    assert_int_equal(wd_ratelimit_lease_use(&l, t - 5 * MS, 256), 0);
    assert_int_equal(l.window_ns, t - 5 * MS);
    assert_int_equal(l.used, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_rounds_up),
        cmocka_unit_test(test_lease_max_follows_burst),
        cmocka_unit_test(test_light_traffic_asks_for_one_token_each_time),
        cmocka_unit_test(test_lease_is_used_token_by_token),
        cmocka_unit_test(test_lease_size_follows_the_last_window_within_the_cap),
        cmocka_unit_test(test_expired_lease_is_dropped),
        cmocka_unit_test(test_clock_going_backwards_restarts_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
