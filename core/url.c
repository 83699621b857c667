/*
 * core/url.c - a small, strict URL parser for connection strings. Hand-written because none of
 * the project's libraries parse URLs; kept to the subset the configuration needs.
 */
#include "core/url.h"

#include <stdlib.h>
#include <string.h>

int wd_url_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) with %XX escapes into out (outlen with NUL). 0 or -1 if bad/too long. */
static int decode(char *out, size_t outlen, const char *src, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = wd_url_hex_value(src[i + 1]), lo = wd_url_hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return -1;
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int copy_part(char *out, size_t outlen, const char *src, size_t len)
{
    if (len >= outlen)
        return -1;
    memcpy(out, src, len);
    out[len] = '\0';
    return 0;
}

static int parse_port(const char *s, size_t len, int *port)
{
    int value = 0;

    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    if (value < 1 || value > 65535)
        return -1;
    *port = value;
    return 0;
}

/* Parses "host[:port]" or "[v6]:port" from s[0..len). */
static int parse_hostport(struct wd_url *out, const char *s, size_t len, struct wd_error *err)
{
    const char *colon;
    size_t hostlen;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return wd_error_set(err, -WD_E_CONFIG, "unterminated [ in host");
        if (copy_part(out->host, sizeof(out->host), s + 1, (size_t)(close - s - 1)) < 0)
            return wd_error_set(err, -WD_E_CONFIG, "host too long");
        colon = close + 1 < s + len && close[1] == ':' ? close + 1 : NULL;
        if (!colon && close + 1 != s + len)
            return wd_error_set(err, -WD_E_CONFIG, "unexpected text after ]");
    } else {
        colon = memchr(s, ':', len);
        hostlen = colon ? (size_t)(colon - s) : len;
        if (copy_part(out->host, sizeof(out->host), s, hostlen) < 0)
            return wd_error_set(err, -WD_E_CONFIG, "host too long");
    }
    if (colon && parse_port(colon + 1, (size_t)(s + len - colon - 1), &out->port) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "port must be a number in 1..65535");
    return 0;
}

static int parse_userinfo(struct wd_url *out, const char *s, size_t len, struct wd_error *err)
{
    const char *colon = memchr(s, ':', len);
    size_t userlen = colon ? (size_t)(colon - s) : len;

    if (decode(out->user, sizeof(out->user), s, userlen) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "user is malformed or too long");
    if (colon &&
        decode(out->password, sizeof(out->password), colon + 1, (size_t)(s + len - colon - 1)) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "password is malformed or too long");
    return 0;
}

int wd_url_parse(struct wd_url *out, const char *text, struct wd_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *sep = strstr(text, "://");
    if (!sep || sep == text)
        return wd_error_set(err, -WD_E_CONFIG, "expected scheme://...");
    if (copy_part(out->scheme, sizeof(out->scheme), text, (size_t)(sep - text)) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "scheme too long");

    const char *auth = sep + 3;
    size_t authlen = strcspn(auth, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < authlen; i++) {
        if (auth[i] == '@')
            at = auth + i; /* the last @ ends the userinfo */
    }
    if (at && parse_userinfo(out, auth, (size_t)(at - auth), err) < 0)
        return err ? err->code : -WD_E_CONFIG;
    const char *hp = at ? at + 1 : auth;
    if (parse_hostport(out, hp, (size_t)(auth + authlen - hp), err) < 0)
        return err ? err->code : -WD_E_CONFIG;

    const char *rest = auth + authlen;
    if (*rest == '/') {
        size_t pathlen = strcspn(rest + 1, "?");
        if (decode(out->path, sizeof(out->path), rest + 1, pathlen) < 0)
            return wd_error_set(err, -WD_E_CONFIG, "path is malformed or too long");
        rest += 1 + pathlen;
    }
    if (*rest == '?' && copy_part(out->query, sizeof(out->query), rest + 1, strlen(rest + 1)) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "query too long");
    return 0;
}

int wd_url_query_get(const struct wd_url *url, const char *key, char *out, size_t outlen)
{
    size_t keylen = strlen(key);
    const char *p = url->query;

    while (*p) {
        size_t itemlen = strcspn(p, "&");
        const char *eq = memchr(p, '=', itemlen);
        size_t namelen = eq ? (size_t)(eq - p) : itemlen;
        if (namelen == keylen && memcmp(p, key, keylen) == 0) {
            const char *value = eq ? eq + 1 : p + itemlen;
            size_t valuelen = (size_t)(p + itemlen - value);
            return decode(out, outlen, value, valuelen) < 0 ? -WD_E_CONFIG : 1;
        }
        p += itemlen;
        if (*p == '&')
            p++;
    }
    return 0;
}
