/*
 * tests/unit/db/test_stmt.c - the statement layer's pure parts (db/stmt.c): size classes, the SQL
 * it builds for a row count, padded IN lists, and the JSON_TABLE parameter.
 */
#include "db/stmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_size_classes_are_powers_of_two(void **state)
{
    static const struct {
        int n, cls, padded;
    } cases[] = {{1, 1, 1}, {2, 2, 2},   {3, 3, 4},   {4, 3, 4},
                 {5, 4, 8}, {17, 6, 32}, {33, 7, 64}, {64, 7, 64}};
    int padded;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(wd_stmt_size_class(cases[i].n, &padded), cases[i].cls);
        assert_int_equal(padded, cases[i].padded);
    }
    /* the largest class still has a slot of its own */
    assert_true(wd_stmt_size_class(WD_BATCH_MAX, &padded) < WD_STMT_SIZE_CLASSES);
}

static void test_build_and_case(void **state)
{
    char *buf = malloc(WD_STMT_SQL_MAX);
    char small[64];

    (void)state;
    assert_int_equal(wd_stmt_build(buf, "SELECT x WHERE id IN (", "?", ", ", 3, ")"), 0);
    assert_string_equal(buf, "SELECT x WHERE id IN (?, ?, ?)");
    assert_int_equal(wd_stmt_build_case(small, sizeof(small), 2), 0);
    assert_string_equal(small, "CASE id WHEN ? THEN ? WHEN ? THEN ? END");
    assert_int_equal(wd_stmt_build_case(small, sizeof(small), 10), -1); /* does not fit */
    assert_int_equal(wd_stmt_build(buf, "", "?", ", ", WD_STMT_SQL_MAX, ""), -1);
    free(buf);
}

static void test_padded_ids_repeat_the_last(void **state)
{
    char ids[3][WD_ID_LEN + 1] = {"a", "b", "c"};
    struct wd_binder p;

    (void)state;
    assert_int_equal(wd_bind_init(&p, 4), 0);
    wd_stmt_bind_ids(&p, (const char(*)[WD_ID_LEN + 1]) ids, 3, 4);
    assert_int_equal(p.n, 4);
    assert_string_equal((const char *)p.binds[2].buffer, "c");
    assert_string_equal((const char *)p.binds[3].buffer, "c");
    wd_bind_release(&p);
}

static void test_json_rows_parameter(void **state)
{
    struct wd_binder p;
    json_t *rows = json_array();
    int64_t when = 1764000000123;

    (void)state;
    wd_stmt_add_row(&rows, json_pack("[si]", "it's \"quoted\"", 7));
    char *json = wd_stmt_bind_json_rows(&p, rows, &when, 1);
    assert_non_null(json);
    assert_string_equal(json, "[[\"it's \\\"quoted\\\"\",7]]"); /* escaped by jansson */
    assert_int_equal(p.n, 2);                                   /* the time, then the rows */
    free(json);
    wd_bind_release(&p);
    rows = json_array();
    wd_stmt_add_row(&rows, NULL); /* a row that could not be built poisons the list */
    assert_null(rows);
    assert_null(wd_stmt_bind_json_rows(&p, rows, NULL, 0));
    wd_bind_release(&p);
}

static void test_sql_datetime(void **state)
{
    char out[WD_TIMESTAMP_LEN];

    (void)state;
    wd_stmt_sql_datetime(1764000000123, out);
    assert_string_equal(out, "2025-11-24 16:00:00.123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_classes_are_powers_of_two),
        cmocka_unit_test(test_build_and_case),
        cmocka_unit_test(test_padded_ids_repeat_the_last),
        cmocka_unit_test(test_json_rows_parameter),
        cmocka_unit_test(test_sql_datetime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
