/*
 * shard/token.c - consistency tokens and GTID position comparison.
 */
#include "shard/token.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_DOMAINS 16

struct gtid {
    uint32_t domain;
    uint64_t seq;
};

/* Reads a decimal number up to a delimiter; NULL if there is none or it overflows max. */
static const char *number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = s;

    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s++ - '0');
        if (v > (max - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    *out = v;
    return s > start && s - start <= 20 ? s : NULL;
}

/* Parses a position into g[0..*n): -1 if malformed or a domain repeats. */
static int parse_position(const char *text, struct gtid *g, int *n)
{
    const char *s = text;
    uint64_t domain, server, seq;

    *n = 0;
    if (!s || !*s)
        return -1;
    for (;;) {
        if (*n == MAX_DOMAINS || !(s = number(s, UINT32_MAX, &domain)) || *s++ != '-' ||
            !(s = number(s, UINT32_MAX, &server)) || *s++ != '-' ||
            !(s = number(s, UINT64_MAX, &seq)))
            return -1;
        for (int i = 0; i < *n; i++) {
            if (g[i].domain == domain)
                return -1;
        }
        g[(*n)++] = (struct gtid){(uint32_t)domain, seq};
        if (*s == '\0')
            return 0;
        if (*s++ != ',')
            return -1;
    }
}

bool wd_token_position_valid(const char *text)
{
    struct gtid g[MAX_DOMAINS];
    int n;

    return strlen(text) <= WD_GTID_MAX && parse_position(text, g, &n) == 0;
}

bool wd_token_reached(const char *pos, const char *want)
{
    struct gtid have[MAX_DOMAINS], need[MAX_DOMAINS];
    int nhave, nneed;

    if (parse_position(pos, have, &nhave) < 0 || parse_position(want, need, &nneed) < 0)
        return false;
    for (int i = 0; i < nneed; i++) {
        bool ok = false;
        for (int j = 0; j < nhave && !ok; j++)
            ok = have[j].domain == need[i].domain && have[j].seq >= need[i].seq;
        if (!ok)
            return false;
    }
    return true;
}

int wd_token_encode(const struct wd_token *t, char out[WD_TOKEN_MAX + 1])
{
    char plain[WD_GTID_MAX + 32];

    if (!wd_token_position_valid(t->gtid) || t->shard < 0)
        return -1;
    int len = snprintf(plain, sizeof(plain), "v1:%d:%s", t->shard, t->gtid);
    if (len < 0 || (size_t)len >= sizeof(plain))
        return -1;
    sodium_bin2base64(out, WD_TOKEN_MAX + 1, (const unsigned char *)plain, (size_t)len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int wd_token_decode(const char *text, int shard_count, struct wd_token *out)
{
    char plain[WD_GTID_MAX + 32];
    size_t len = 0;
    uint64_t shard;

    if (strlen(text) > WD_TOKEN_MAX ||
        sodium_base642bin((unsigned char *)plain, sizeof(plain) - 1, text, strlen(text), NULL, &len,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    plain[len] = '\0';
    const char *s = plain;
    if (memchr(plain, '\0', len) || strncmp(s, "v1:", 3) != 0 ||
        !(s = number(s + 3, (uint64_t)shard_count, &shard)) || *s++ != ':' ||
        shard >= (uint64_t)shard_count || !wd_token_position_valid(s))
        return -1;
    out->shard = (int)shard;
    snprintf(out->gtid, sizeof(out->gtid), "%s", s);
    return 0;
}
