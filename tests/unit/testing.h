/*
 * tests/unit/testing.h - what several unit tests share: cmocka with the headers it needs first,
 * the length of a table of cases, the check of a reply envelope, and of a parsed URL.
 *
 * Include it after the header of the module under test. Everything here is static inline, so a
 * test that uses only part of it compiles without warnings.
 */
#ifndef WD_TESTS_TESTING_H
#define WD_TESTS_TESTING_H

#include "core/envelope.h"
#include "core/url.h"

#include <jansson.h>
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

#endif
