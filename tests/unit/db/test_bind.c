/*
 * tests/unit/db/test_bind.c - the binder's sticky failure (db/bind.c): a bug that binds more
 * values than the binder was made for is told apart from running out of memory.
 */
#include "db/bind.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void test_binding_past_the_capacity_is_an_internal_error(void **state)
{
    struct wd_binder b;
    int64_t v = 1;

    (void)state;
    assert_int_equal(wd_bind_init(&b, 1), 0);
    wd_bind_i64(&b, &v);
    assert_int_equal(wd_bind_ok(&b), 0);
    wd_bind_str(&b, "one too many");
    assert_int_equal(wd_bind_ok(&b), -WD_E_INTERNAL_ERROR);
    wd_bind_null(&b); /* sticky: later calls do nothing */
    assert_int_equal(b.n, 1);
    assert_int_equal(wd_bind_ok(&b), -WD_E_INTERNAL_ERROR);
    wd_bind_release(&b);
}

static void test_results_record_lengths_and_nulls(void **state)
{
    struct wd_binder b;
    char text[8];

    (void)state;
    assert_int_equal(wd_bind_init(&b, 1), 0);
    wd_bind_result_str(&b, text, sizeof(text));
    assert_int_equal(b.binds[0].buffer_length, sizeof(text) - 1); /* room for the NUL */
    b.lengths[0] = 12;                                            /* the server had more */
    assert_int_equal(wd_bind_fix_str(&b, 0, text, sizeof(text)), 7);
    assert_int_equal(text[7], '\0');
    b.nulls[0] = 1;
    assert_true(wd_bind_is_null(&b, 0));
    assert_int_equal(wd_bind_fix_str(&b, 0, text, sizeof(text)), 0);
    wd_bind_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding_past_the_capacity_is_an_internal_error),
        cmocka_unit_test(test_results_record_lengths_and_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
