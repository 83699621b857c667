/*
 * tests/unit/core/test_fault.c - core/fault: the rules a test arms, how each counts its hits and
 * when it fires, re-arming when the file changes, and refusing a malformed file whole. Built only
 * with WALLETD_FAULT_INJECTION (it links walletd_core_faults).
 */
#define _GNU_SOURCE
#include "core/fault.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/testing.h"

static char path[256];
static int generation;

/* Replaces the rules file with text and a comment of its own, as the integration tests do: new
 * text every time, so the rules are armed afresh even when they are the same. */
static void arm(const char *text)
{
    char tmp[300];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    assert_non_null(f = fopen(tmp, "w"));
    fprintf(f, "# %d\n%s", ++generation, text);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static enum wd_fault_failure execute(const char *statement)
{
    return wd_fault_hit(WD_FAULT_EXECUTE, statement);
}

static enum wd_fault_failure commit(void)
{
    return wd_fault_hit(WD_FAULT_COMMIT, NULL);
}

static int group_setup(void **state)
{
    (void)state;
    wd_log_min_level = WD_LOG_OFF;
    snprintf(path, sizeof(path), "/tmp/walletd-test-fault-%d", (int)getpid());
    setenv("WALLETD_FAULTS_FILE", path, 1);
    wd_fault_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void test_a_statement_fails_at_its_nth_hit(void **state)
{
    (void)state;
    arm("execute:insert transactions = deadlock @2\n");
    assert_int_equal(execute("lock wallets"), WD_FAULT_NONE); /* another statement: not counted */
    assert_int_equal(execute("insert transactions"), WD_FAULT_NONE);
    assert_int_equal(commit(), WD_FAULT_NONE);
    assert_int_equal(execute("insert transactions"), WD_FAULT_DEADLOCK);
    assert_int_equal(execute("insert transactions"), WD_FAULT_NONE); /* once */
}

static void test_counts_and_every_hit_from_n_on(void **state)
{
    (void)state;
    arm("execute = lost @2 *0");
    assert_int_equal(execute("claim keys"), WD_FAULT_NONE);
    for (int i = 0; i < 10; i++)
        assert_int_equal(execute(i % 2 ? "lock wallets" : "update wallets"), WD_FAULT_LOST);
    assert_int_equal(commit(), WD_FAULT_NONE);

    arm("commit = lost-reply @1 *2");
    assert_int_equal(commit(), WD_FAULT_LOST_REPLY);
    assert_int_equal(commit(), WD_FAULT_LOST_REPLY);
    assert_int_equal(commit(), WD_FAULT_NONE);
}

static void test_several_rules_and_comments(void **state)
{
    (void)state;
    arm("# a comment, then a blank line\n\ncommit = error @1; commit = timeout @3\n"
        "  execute:claim keys  =  lost  @1  \n");
    assert_int_equal(commit(), WD_FAULT_ERROR);
    assert_int_equal(commit(), WD_FAULT_NONE);
    assert_int_equal(commit(), WD_FAULT_TIMEOUT);
    assert_int_equal(execute("claim keys"), WD_FAULT_LOST);
}

static void test_a_new_file_arms_anew(void **state)
{
    (void)state;
    arm("commit = error @2");
    assert_int_equal(commit(), WD_FAULT_NONE);
    arm("commit = error @2"); /* the same rule, armed afresh: the counter starts again */
    assert_int_equal(commit(), WD_FAULT_NONE);
    assert_int_equal(commit(), WD_FAULT_ERROR);
    arm("commit = error @1");
    unlink(path); /* no file: nothing armed */
    assert_int_equal(commit(), WD_FAULT_NONE);
}

static void test_a_malformed_file_arms_nothing(void **state)
{
    static const char *const malformed[] = {
        "commit = nomem @1",           /* not a failure of commit */
        "alloc:json = lost @1",        /* not a failure of an allocation */
        "execute = lost-reply @1",     /* only a COMMIT's reply is lost */
        "bogus = lost @1",             /* no such point */
        "commit = lost @0",            /* hits count from 1 */
        "commit = lost 1",             /* @ missing */
        "commit = lost @1 *x",         /* not a count */
        "commit = lost @1 extra",      /* trailing text */
        "commit lost @1",              /* = missing */
        "commit = error @1\nnonsense", /* one bad rule refuses the file */
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(malformed); i++) {
        arm(malformed[i]);
        for (int hit = 0; hit < 3; hit++) {
            if (commit() != WD_FAULT_NONE || execute("x") != WD_FAULT_NONE)
                fail_msg("'%s' armed something", malformed[i]);
        }
    }
}

static void test_allocation_points(void **state)
{
    (void)state;
    arm("alloc:bind = nomem @2");
    void *first = WD_FAULT_ALLOC(WD_FAULT_ALLOC_BIND, malloc(8));
    void *second = WD_FAULT_ALLOC(WD_FAULT_ALLOC_BIND, malloc(8));
    void *other = WD_FAULT_ALLOC(WD_FAULT_ALLOC_BATCH, malloc(8));
    assert_non_null(first);
    assert_null(second);
    assert_non_null(other);
    free(first);
    free(other);

    arm("alloc:json = nomem @1"); /* jansson's allocator is the point */
    assert_null(json_object());
    json_t *obj = json_object();
    assert_non_null(obj);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_statement_fails_at_its_nth_hit),
        cmocka_unit_test(test_counts_and_every_hit_from_n_on),
        cmocka_unit_test(test_several_rules_and_comments),
        cmocka_unit_test(test_a_new_file_arms_anew),
        cmocka_unit_test(test_a_malformed_file_arms_nothing),
        cmocka_unit_test(test_allocation_points),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
