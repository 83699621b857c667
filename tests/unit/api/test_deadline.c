/*
 * tests/unit/api/test_deadline.c - api/deadline over socket pairs: a connection past its deadline
 * is shut down (its peer reads the end), one without a deadline or before it is left alone, and a
 * removed one is never touched.
 */
#define _GNU_SOURCE
#include "api/deadline.h"

#include "core/clock.h"

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/unit/testing.h"

#define MS 1000000LL

/* True if the peer of a pair sees the end of the stream within wait_ms. */
static bool ended(int peer, int wait_ms)
{
    char c;
    struct timeval tv = {0, wait_ms * 1000};

    setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return recv(peer, &c, 1, 0) == 0;
}

static void test_deadlines(void **state)
{
    struct wd_deadline *d = NULL;
    struct wd_deadline_entry past, none, later, removed;
    int a[2], b[2], c[2], e[2];

    (void)state;
    assert_int_equal(wd_deadline_start(&d, 10, NULL), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, e), 0);
    int64_t now = wd_clock_mono_ns();
    wd_deadline_add(d, &past, a[0], now + 30 * MS);
    wd_deadline_add(d, &none, b[0], 0);
    wd_deadline_add(d, &later, c[0], now + 60000 * MS);
    wd_deadline_add(d, &removed, e[0], now + 30 * MS);
    wd_deadline_remove(d, &removed);
    assert_true(ended(a[1], 500));
    assert_false(ended(b[1], 100));
    assert_false(ended(c[1], 50));
    assert_false(ended(e[1], 50));
    wd_deadline_set(&later, wd_clock_mono_ns()); /* moved up from another thread */
    assert_true(ended(c[1], 500));
    wd_deadline_remove(d, &past);
    wd_deadline_remove(d, &none);
    wd_deadline_remove(d, &later);
    wd_deadline_stop(d);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
        close(c[i]);
        close(e[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
