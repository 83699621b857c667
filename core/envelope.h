/*
 * core/envelope.h - the JSON envelope every API response is wrapped in.
 *
 * Owns: the exact bytes of {"status":201,"code":"CREATED","data":{...}} and
 * {"status":422,"code":"INSUFFICIENT_FUNDS","message":"..."}. Stored idempotent replies are
 * rendered here too, so a replay is byte-for-byte what the first answer was.
 * Thread-safe: no state. Bodies are malloc'ed; the caller owns them and frees with free().
 */
#ifndef WD_CORE_ENVELOPE_H
#define WD_CORE_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>

struct wd_body {
    char *data; /* malloc'ed, NUL-terminated; owned by whoever holds the struct */
    size_t len;
    int status; /* HTTP status */
};

/*
 * Renders a success envelope with status 200 ("OK") or 201 ("CREATED") around data, which it
 * takes over (steals, even on failure). Returns 0 or -WD_E_NOMEM.
 */
int wd_envelope_success(struct wd_body *out, int status, json_t *data);

/*
 * Renders the error envelope for a negative code: the public name and status of the code, and
 * message (the code's default when NULL). Internal codes are folded by wd_error_public().
 * Returns 0 or -WD_E_NOMEM.
 */
int wd_envelope_error(struct wd_body *out, int code, const char *message);

/* Frees the body's data and zeroes it; safe on a zeroed body. */
void wd_envelope_release(struct wd_body *body);

#endif
