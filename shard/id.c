/*
 * shard/id.c - generating and validating routable IDs (bucket + time + libsodium randomness).
 */
#include "shard/id.h"

#include "shard/hash.h"

#include <sodium.h>
#include <string.h>

static const char *const prefixes[] = {"wal_", "txn_"};

#define ID_PREFIX_LEN 4
#define ID_RANDOM     10

void wd_id_new(char out[WD_ID_LEN + 1], enum wd_id_kind kind, uint32_t bucket, int64_t now_ms)
{
    unsigned char raw[2 + 6 + ID_RANDOM];
    uint64_t t = (uint64_t)now_ms;

    raw[0] = (unsigned char)(bucket >> 8);
    raw[1] = (unsigned char)bucket;
    for (int i = 0; i < 6; i++)
        raw[2 + i] = (unsigned char)(t >> (8 * (5 - i)));
    randombytes_buf(raw + 8, ID_RANDOM);
    memcpy(out, prefixes[kind], ID_PREFIX_LEN);
    sodium_bin2hex(out + ID_PREFIX_LEN, WD_ID_LEN + 1 - ID_PREFIX_LEN, raw, sizeof(raw));
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is refused: every ID has exactly one spelling */
}

int wd_id_parse(const char *s, size_t len, enum wd_id_kind kind, uint32_t *bucket)
{
    uint32_t b = 0;

    if (len != WD_ID_LEN || memcmp(s, prefixes[kind], ID_PREFIX_LEN) != 0)
        return -1;
    for (size_t i = ID_PREFIX_LEN; i < WD_ID_LEN; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        if (i < ID_PREFIX_LEN + 4)
            b = b * 16 + (uint32_t)d;
    }
    if (b >= WD_BUCKETS)
        return -1;
    *bucket = b;
    return 0;
}
