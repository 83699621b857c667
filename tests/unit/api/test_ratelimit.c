/*
 * tests/unit/api/test_ratelimit.c - api/ratelimit's pure parts: the Retry-After seconds a refused
 * request is told (a wait in milliseconds rounded up to whole seconds, never 0, capped at a day)
 * and the per-thread leases (sized to recent use within a cap, used one token per request,
 * dropped when they expire). The bucket itself runs in Redis and is tested against a real one
 * (tests/integration/test_ratelimit.py).
 */
#include "api/ratelimit.h"

#include <inttypes.h>
#include <string.h>

#include "tests/unit/testing.h"

static void test_retry_after_rounds_up(void **state)
{
    static const struct {
        int64_t wait_ms;
        int seconds;
    } cases[] = {
        {0, 1},    {-5, 1},   {1, 1},      {999, 1},          {1000, 1},
        {1001, 2}, {2000, 2}, {59001, 60}, {86400000, 86400}, {INT64_MAX, 86400},
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        int got = wd_ratelimit_retry_after_s(cases[i].wait_ms);
        if (got != cases[i].seconds)
            fail_msg("a wait of %" PRId64 " ms: Retry-After %d, expected %d", cases[i].wait_ms, got,
                     cases[i].seconds);
    }
}

#define MS  1000000LL
#define T0  (1000 * MS) /* a lease's first request */
#define CAP 256         /* the most a lease asks for, unless a test says otherwise */

static void test_lease_max_follows_burst(void **state)
{
    static const struct {
        int64_t burst;
        int64_t max;
    } cases[] = {
        {1, 1}, {8, 1}, {63, 1}, {64, 2}, {320, 10}, {20000, WD_RATELIMIT_LEASE_MAX},
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        int64_t got = wd_ratelimit_lease_max(cases[i].burst);
        if (got != cases[i].max)
            fail_msg("burst %" PRId64 ": lease max %" PRId64 ", expected %" PRId64, cases[i].burst,
                     got, cases[i].max);
    }
}

/* A request at t must ask Redis for asked tokens; Redis grants granted. */
static void ask_and_grant(struct wd_ratelimit_lease *l, int64_t t, int64_t asked, int64_t granted)
{
    assert_int_equal(wd_ratelimit_lease_use(l, t, CAP), asked);
    wd_ratelimit_lease_grant(l, granted, t);
}

/* A new lease after its first request, at T0: it asked for one token and was granted granted. */
static struct wd_ratelimit_lease first_request(int64_t granted)
{
    struct wd_ratelimit_lease l = {0};

    ask_and_grant(&l, T0, 1, granted);
    return l;
}

static void test_light_traffic_asks_for_one_token_each_time(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = T0;

    (void)state;
    for (int i = 0; i < 10; i++) {
        t += 3 * WD_RATELIMIT_LEASE_WINDOW_MS * MS; /* idle for more than two windows each time */
        ask_and_grant(&l, t, 1, 1);
        assert_int_equal(l.tokens, 0);
    }
}

static void test_lease_is_used_token_by_token(void **state)
{
    struct wd_ratelimit_lease l = first_request(1);

    (void)state;
    /* second request of the same window: asks for what this window used so far */
    ask_and_grant(&l, T0 + 1, 2, 2);
    assert_int_equal(l.tokens, 1);
    assert_int_equal(wd_ratelimit_lease_use(&l, T0 + 2, CAP), 0); /* the leased token */
    assert_int_equal(l.tokens, 0);
    /* Redis had only one token left: a partial grant leases nothing more */
    ask_and_grant(&l, T0 + 3, 4, 1);
    assert_int_equal(l.tokens, 0);
    assert_int_equal(wd_ratelimit_lease_use(&l, T0 + 4, CAP), 5);
}

static void test_lease_size_follows_the_last_window_within_the_cap(void **state)
{
    struct wd_ratelimit_lease l = {0};
    int64_t t = T0;

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
    struct wd_ratelimit_lease l = first_request(10);

    (void)state;
    assert_int_equal(wd_ratelimit_lease_use(&l, T0 + (WD_RATELIMIT_LEASE_TTL_MS * MS) - 1, CAP), 0);
    assert_int_equal(l.tokens, 8);
    /* past the lease's life its 8 tokens are not used */
    assert_true(wd_ratelimit_lease_use(&l, T0 + WD_RATELIMIT_LEASE_TTL_MS * MS, CAP) >= 1);
    assert_int_equal(l.tokens, 0);
}

static void test_clock_going_backwards_restarts_the_window(void **state)
{
    struct wd_ratelimit_lease l = first_request(3);

    (void)state;
    /* a window start in the future is reset; the lease's tokens are still usable until expiry */
    assert_int_equal(wd_ratelimit_lease_use(&l, T0 - 5 * MS, CAP), 0);
    assert_int_equal(l.window_ns, T0 - 5 * MS);
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
