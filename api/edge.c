/*
 * api/edge.c - strict percent-decoding and the header block check (see api/edge.h).
 */
#include "api/edge.h"

#include "core/url.h"

#include <string.h>
#include <strings.h>

#define GAP_MAX 64 /* whitespace walletd accepts around a value before its line ends */

size_t wd_edge_unescape(char *s, struct wd_edge_escapes *found)
{
    char *out = s;

    for (const char *in = s; *in; in++) {
        int hi = in[0] == '%' ? wd_url_hex_value(in[1]) : -1;
        int lo = hi >= 0 ? wd_url_hex_value(in[2]) : -1;
        if (lo < 0) {
            *out++ = *in;
            continue;
        }
        char c = (char)(hi * 16 + lo);
        found->nul |= c == '\0';
        found->slash |= c == '/';
        *out++ = c;
        in += 2;
    }
    *out = '\0';
    return (size_t)(out - s);
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool token(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return false;
    }
    return len > 0;
}

/* Skips spaces and tabs from p, at most GAP_MAX of them. */
static const char *skip_blanks(const char *p)
{
    for (int i = 0; i < GAP_MAX && (*p == ' ' || *p == '\t'); i++)
        p++;
    return p;
}

/*
 * A line ended at end (after its value and any trailing blanks) and the next thing in the buffer
 * is next: there must be exactly its CR and LF, both now NUL. Anything else is a bare LF, a NUL
 * inside the value (its rest still there), or a line libmicrohttpd moved (a folded one).
 */
static bool crlf_between(const char *end, const char *next)
{
    if (next < end || next - end > GAP_MAX)
        return false;
    const char *p = skip_blanks(end);
    return p + 2 == next && p[0] == '\0' && p[1] == '\0';
}

/* The name is followed by its colon (now NUL), blanks, then the value. */
static bool value_follows(const struct wd_edge_header *h)
{
    const char *colon = h->name + h->name_len;

    if (*colon != '\0' || h->value <= colon || h->value - colon > GAP_MAX)
        return false;
    for (const char *p = colon + 1; p < h->value; p++) {
        if (*p != ' ' && *p != '\t')
            return false;
    }
    return true;
}

static const char *check_one(const struct wd_edge_header *h, int *hosts, int *encodings)
{
    if (!token(h->name, h->name_len))
        return "a header name is not a token (whitespace before the colon?)";
    if (!value_follows(h))
        return "a header line is malformed (folded?)";
    if (h->name_len == 4 && strncasecmp(h->name, "Host", 4) == 0)
        ++*hosts;
    if (h->name_len == 17 && strncasecmp(h->name, "Transfer-Encoding", 17) == 0) {
        if (++*encodings > 1 || h->value_len != 7 || strncasecmp(h->value, "chunked", 7) != 0)
            return "Transfer-Encoding other than one chunked";
    }
    return NULL;
}

const char *wd_edge_check_headers(const char *version, const struct wd_edge_header *headers,
                                  size_t n)
{
    int hosts = 0, encodings = 0;

    if (!version || !version[0])
        return "no HTTP version";
    const char *end = version + strlen(version);
    for (size_t i = 0; i < n; i++) {
        const struct wd_edge_header *h = &headers[i];
        if (!crlf_between(end, h->name))
            return "a line does not end in CRLF";
        const char *why = check_one(h, &hosts, &encodings);
        if (why)
            return why;
        end = h->value + h->value_len;
    }
    /* the last line's CRLF, then the empty line's */
    if (!crlf_between(end, skip_blanks(end) + 2) || skip_blanks(end)[2] != '\0' ||
        skip_blanks(end)[3] != '\0')
        return "the header block does not end in CRLF CRLF";
    return hosts > 1 ? "Host is sent more than once" : NULL;
}
