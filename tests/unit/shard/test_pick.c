/*
 * tests/unit/shard/test_pick.c - shard/pick: where a read goes (a fit replica, round-robin; the
 * primary for strong reads, unreached tokens and no fit replica) and the standby fallback.
 */
#include "shard/pick.h"

#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct wd_pick_replica fit(const char *applied)
{
    struct wd_pick_replica r = {.fit = true, .standby = true, .lag_s = 0};
    strcpy(r.applied, applied);
    return r;
}

static void test_strong_reads_primary(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-10")};
    unsigned rr = 0;
    struct wd_pick p = wd_pick_read(v, 2, true, NULL, &rr, -1);

    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_STRONG);
    assert_false(p.wait);
    /* Even with a token. */
    p = wd_pick_read(v, 2, true, "0-1-5", &rr, -1);
    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_STRONG);
}

static void test_round_robin_over_fit(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-10"), fit("0-1-10")};
    unsigned rr = 0;
    int seen[3] = {0};

    v[1].fit = false;
    for (int i = 0; i < 10; i++) {
        struct wd_pick p = wd_pick_read(v, 3, false, NULL, &rr, -1);
        assert_int_equal(p.reason, WD_PICK_REPLICA);
        assert_false(p.wait);
        assert_int_not_equal(p.replica, 1);
        seen[p.replica]++;
    }
    assert_int_equal(seen[0], 5);
    assert_int_equal(seen[2], 5);
}

static void test_no_fit_replica(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10")};
    unsigned rr = 0;

    v[0].fit = false;
    struct wd_pick p = wd_pick_read(v, 1, false, NULL, &rr, -1);
    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_NO_FIT);
    p = wd_pick_read(v, 0, false, NULL, &rr, -1);
    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_NO_FIT);
}

static void test_skip_is_not_picked(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-10")};
    unsigned rr = 0;

    for (int i = 0; i < 4; i++)
        assert_int_equal(wd_pick_read(v, 2, false, NULL, &rr, 0).replica, 1);
    struct wd_pick p = wd_pick_read(v, 1, false, NULL, &rr, 0);
    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_NO_FIT);
}

static void test_token_prefers_a_replica_that_has_it(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-20")};
    unsigned rr = 0;

    for (int i = 0; i < 4; i++) {
        struct wd_pick p = wd_pick_read(v, 2, false, "0-1-15", &rr, -1);
        assert_int_equal(p.replica, 1);
        assert_int_equal(p.reason, WD_PICK_REPLICA);
        assert_false(p.wait);
    }
}

static void test_token_not_reached_waits_on_a_fit_replica(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-11")};
    unsigned rr = 0;
    struct wd_pick p = wd_pick_read(v, 2, false, "0-1-12", &rr, -1);

    assert_true(p.replica == 0 || p.replica == 1);
    assert_int_equal(p.reason, WD_PICK_REPLICA);
    assert_true(p.wait);
    /* A replica that is not fit is never waited on, however far it got. */
    v[0].fit = v[1].fit = false;
    strcpy(v[0].applied, "0-1-99");
    p = wd_pick_read(v, 2, false, "0-1-12", &rr, -1);
    assert_int_equal(p.replica, -1);
    assert_int_equal(p.reason, WD_PICK_TOKEN);
    assert_false(p.wait);
}

static void test_token_with_unknown_applied(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("")};
    unsigned rr = 0;
    struct wd_pick p = wd_pick_read(v, 1, false, "0-1-1", &rr, -1);

    assert_int_equal(p.replica, 0);
    assert_true(p.wait);
}

static void test_standby(void **state)
{
    (void)state;
    struct wd_pick_replica v[] = {fit("0-1-10"), fit("0-1-10")};
    unsigned rr = 0;

    v[0].fit = false;
    v[0].standby = false;
    v[1].fit = false; /* lagging, but the primary is down and it applied all it got */
    assert_int_equal(wd_pick_standby(v, 2, &rr, -1), 1);
    assert_int_equal(wd_pick_standby(v, 2, &rr, 1), -1);
    v[1].standby = false;
    assert_int_equal(wd_pick_standby(v, 2, &rr, -1), -1);
    v[0].fit = true; /* a fit replica is a standby too */
    assert_int_equal(wd_pick_standby(v, 2, &rr, -1), 0);
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(wd_pick_reason_name(WD_PICK_REPLICA), "replica");
    assert_string_equal(wd_pick_reason_name(WD_PICK_STRONG), "strong");
    assert_string_equal(wd_pick_reason_name(WD_PICK_TOKEN), "token");
    assert_string_equal(wd_pick_reason_name(WD_PICK_NO_FIT), "no_fit_replica");
    assert_string_equal(wd_pick_reason_name(WD_PICK_RETRY), "retry");
    assert_string_equal(wd_pick_reason_name(WD_PICK_REASON_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong_reads_primary),
        cmocka_unit_test(test_round_robin_over_fit),
        cmocka_unit_test(test_no_fit_replica),
        cmocka_unit_test(test_skip_is_not_picked),
        cmocka_unit_test(test_token_prefers_a_replica_that_has_it),
        cmocka_unit_test(test_token_not_reached_waits_on_a_fit_replica),
        cmocka_unit_test(test_token_with_unknown_applied),
        cmocka_unit_test(test_standby),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
