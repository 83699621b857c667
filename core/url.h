/*
 * core/url.h - parsing of the connection URLs walletd is configured with
 * (mysql://user:pass@host:port/db?socket=/path, redis://:pass@host:port/0).
 *
 * Owns: the URL grammar we accept: scheme "://" [user [":" password] "@"] host [":" port]
 * ["/" path] ["?" key=value ("&" key=value)*], with %XX escapes decoded in user, password, path
 * and query values, and IPv6 hosts in brackets. Every part has a fixed maximum length; anything
 * longer or malformed is refused with a message saying what is wrong (never echoing a password).
 * Pure; thread-safe.
 */
#ifndef WD_CORE_URL_H
#define WD_CORE_URL_H

#include "core/error.h"

struct wd_url {
    char scheme[16];
    char user[128];
    char password[128];
    char host[256];
    int port; /* 0 when absent */
    char path[128];
    char query[512]; /* raw, still escaped; read it with wd_url_query_get */
};

/* Parses text into out. Returns 0 or -WD_E_CONFIG with err saying which part is wrong. */
int wd_url_parse(struct wd_url *out, const char *text, struct wd_error *err);

/*
 * Looks up key in the URL's query and writes its decoded value into out (outlen bytes with NUL).
 * Returns 1 if found, 0 if absent, -WD_E_CONFIG if the value is malformed or too long.
 */
int wd_url_query_get(const struct wd_url *url, const char *key, char *out, size_t outlen);

/* The value of the hex digit c (either case), or -1. */
int wd_url_hex_value(char c);

#endif
