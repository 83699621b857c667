/*
 * api/edge.h - what walletd refuses at the HTTP edge before a request is routed: the checks
 * libmicrohttpd 0.9.75 does not make (strict HTTP framing, encoded NUL and slashes).
 *
 * Owns: percent-decoding of the path and query arguments (libmicrohttpd's unescape callback),
 * which notes an encoded NUL or an encoded '/' instead of letting them truncate or split the path;
 * and the check of a request's header block as libmicrohttpd parsed it. libmicrohttpd 0.9.75 is
 * lenient where a proxy in front may not be (RFC 9112): it accepts a bare LF as a line end, drops
 * folded (obs-fold) lines, cuts a header value at a NUL, and takes "Content-Length : 5" as a header
 * named "Content-Length " that frames nothing. A proxy that reads such a request differently can
 * smuggle a second request past walletd's checks, so each of these is refused (400, connection
 * closed). libmicrohttpd parses the header block in place, in one buffer, replacing each ':' and
 * each line end's CR and LF by NUL: what lies between one header's value and the next header's name
 * says how the line ended, which the parsed values alone no longer say.
 * Pure; thread-safe.
 */
#ifndef WD_API_EDGE_H
#define WD_API_EDGE_H

#include <stdbool.h>
#include <stddef.h>

/* What decoding one string found. */
struct wd_edge_escapes {
    bool nul;   /* "%00" */
    bool slash; /* "%2F" or "%2f" */
};

/*
 * Decodes "%XX" in the NUL-terminated s in place (other bytes, and '%' not followed by two hex
 * digits, are kept as they are: libmicrohttpd's own rule), notes what it decoded into *found, and
 * returns the decoded length (a decoded NUL is inside it).
 */
size_t wd_edge_unescape(char *s, struct wd_edge_escapes *found);

/* One header as libmicrohttpd hands it over (pointers into its read buffer). */
struct wd_edge_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/*
 * Checks a request's header block: version is the request line's HTTP version (libmicrohttpd's,
 * in the same buffer), headers the request's headers in the order received. Every name must be
 * an RFC 9110 token; every line must end in CRLF (so no bare LF, no NUL cut, no folded line);
 * Host at most once; Transfer-Encoding, if sent,
 * exactly once and "chunked". (Other control characters in a value are left to the checks of
 * the header's own meaning, e.g. 400 INVALID_IDEMPOTENCY_KEY.) Returns NULL if all is well, else
 * a short reason (static).
 */
const char *wd_edge_check_headers(const char *version, const struct wd_edge_header *headers,
                                  size_t n);

#endif
