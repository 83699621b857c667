/*
 * tests/unit/db/test_conn.c - how MySQL/MariaDB errors are classified (db/conn.c): what is a
 * lost connection (reconnect; the batch runs again), what can simply run again, and what cannot.
 */
#include "db/conn.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void test_lost_connections_are_unavailable(void **state)
{
    static const unsigned lost[] = {CR_SERVER_LOST,       CR_SERVER_GONE_ERROR,
                                    CR_CONNECTION_ERROR,  CR_CONN_HOST_ERROR,
                                    CR_ERR_NET_READ,      CR_ERR_NET_WRITE,
                                    ER_CONNECTION_KILLED, ER_SERVER_SHUTDOWN,
                                    ER_QUERY_INTERRUPTED, ER_OPTION_PREVENTS_STATEMENT};

    (void)state;
    for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
        assert_int_equal(wd_conn_error_code(lost[i]), -WD_E_DB_UNAVAILABLE);
}

static void test_deadlocks_and_lock_timeouts_retry(void **state)
{
    (void)state;
    assert_int_equal(wd_conn_error_code(ER_LOCK_DEADLOCK), -WD_E_DB_RETRY);
    assert_int_equal(wd_conn_error_code(ER_LOCK_WAIT_TIMEOUT), -WD_E_DB_RETRY);
}

static void test_everything_else_is_a_database_error(void **state)
{
    (void)state;
    assert_int_equal(wd_conn_error_code(ER_DUP_ENTRY), -WD_E_DB);
    assert_int_equal(wd_conn_error_code(ER_NO_SUCH_TABLE), -WD_E_DB);
    assert_int_equal(wd_conn_error_code(ER_PARSE_ERROR), -WD_E_DB);
    assert_int_equal(wd_conn_error_code(0), -WD_E_DB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_connections_are_unavailable),
        cmocka_unit_test(test_deadlocks_and_lock_timeouts_retry),
        cmocka_unit_test(test_everything_else_is_a_database_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
