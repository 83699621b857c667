/*
 * tests/unit/testing.h - what several unit tests share: cmocka with the headers it needs first,
 * the length of a table of cases, the check of a reply envelope, and of a parsed URL, and
 * jansson's allocations failing one at a time.
 *
 * Include it after the header of the module under test. Everything here is static inline, so a
 * test that uses only part of it compiles without warnings.
 */
#ifndef WD_TESTS_TESTING_H
#define WD_TESTS_TESTING_H

#include "core/envelope.h"
#include "core/json.h"
#include "core/url.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The number of rows of a table of cases (an array, not a pointer). */
#define N_CASES(table) (sizeof(table) / sizeof((table)[0]))

/* reply is a JSON envelope with this HTTP status and "code"; a failure shows the whole reply. */
static inline void expect_reply(const struct wd_body *reply, int status, const char *code)
{
    json_t *root = json_loadb(reply->data ? reply->data : "", reply->len, 0, NULL);
    const char *got = json_string_value(json_object_get(root, "code"));

    if (!root || reply->status != status || !got || strcmp(got, code) != 0)
        fail_msg("reply %d '%.*s', expected %d with code %s", reply->status, (int)reply->len,
                 reply->data ? reply->data : "", status, code);
    json_decref(root);
}

/* Every part of got is the part of want; text is the URL, for the failure message. */
static inline void expect_url(const char *text, const struct wd_url *got, const struct wd_url *want)
{
    const struct {
        const char *name, *got, *want;
    } parts[] = {
        {"scheme", got->scheme, want->scheme},
        {"user", got->user, want->user},
        {"password", got->password, want->password},
        {"host", got->host, want->host},
        {"path", got->path, want->path},
        {"query", got->query, want->query},
    };

    for (size_t i = 0; i < N_CASES(parts); i++) {
        if (strcmp(parts[i].got, parts[i].want) != 0)
            fail_msg("'%s': %s is '%s', expected '%s'", text, parts[i].name, parts[i].got,
                     parts[i].want);
    }
    if (got->port != want->port)
        fail_msg("'%s': port is %d, expected %d", text, got->port, want->port);
}

/* [0]: jansson allocations since jansson_fail_at(); [1]: the one that fails (0: none). */
static inline long *jansson_fault(void)
{
    static long state[2];

    return state;
}

static inline void *jansson_failing_alloc(size_t size)
{
    long *s = jansson_fault();

    return ++s[0] == s[1] ? NULL : malloc(size);
}

/*
 * From now on the nth jansson allocation fails (none for 0), counted by core/json as a real
 * failure. A test loops n = 1, 2, ... until jansson_all_tried(): the last run made fewer than n
 * allocations, so every one has failed once. jansson_fail_at(0) when done.
 */
static inline void jansson_fail_at(long n)
{
    jansson_fault()[0] = 0;
    jansson_fault()[1] = n;
    wd_json_start(n ? jansson_failing_alloc : NULL);
}

static inline bool jansson_all_tried(void)
{
    return jansson_fault()[0] < jansson_fault()[1];
}

#endif
