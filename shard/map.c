/*
 * shard/map.c - building the bucket -> shard table, from an even split or an explicit SHARD_MAP.
 */
#include "shard/map.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Reads a decimal number at *p in [0, max]; advances *p. 0 or -1. */
static int read_number(const char **p, long max, long *out)
{
    if (**p < '0' || **p > '9')
        return -1;
    errno = 0;
    char *end;
    long value = strtol(*p, &end, 10);
    if (errno || value > max)
        return -1;
    *p = end;
    *out = value;
    return 0;
}

static int parse_spec(struct wd_map *map, const char *spec, struct wd_error *err)
{
    static const long last = WD_BUCKETS - 1;
    bool seen[WD_BUCKETS] = {false};
    const char *p = spec;

    while (*p) {
        long lo, hi, shard;
        if (read_number(&p, last, &lo) < 0 || *p++ != '-' || read_number(&p, last, &hi) < 0 ||
            *p++ != '=' || read_number(&p, map->shard_count - 1, &shard) < 0)
            return wd_error_set(err, -WD_E_CONFIG,
                                "SHARD_MAP: expected lo-hi=shard items with buckets 0..%ld and "
                                "shards 0..%d, separated by commas",
                                last, map->shard_count - 1);
        if (lo > hi)
            return wd_error_set(err, -WD_E_CONFIG, "SHARD_MAP: range %ld-%ld is reversed", lo, hi);
        for (long b = lo; b <= hi; b++) {
            if (seen[b])
                return wd_error_set(err, -WD_E_CONFIG, "SHARD_MAP: bucket %ld assigned twice", b);
            seen[b] = true;
            map->shard_of[b] = (uint8_t)shard;
        }
        if (*p == ',')
            p++;
        else if (*p)
            return wd_error_set(err, -WD_E_CONFIG, "SHARD_MAP: unexpected '%c'", *p);
    }
    for (long b = 0; b <= last; b++) {
        if (!seen[b])
            return wd_error_set(err, -WD_E_CONFIG, "SHARD_MAP: bucket %ld is not assigned", b);
    }
    return 0;
}

int wd_map_init(struct wd_map *map, int shard_count, const char *spec, struct wd_error *err)
{
    if (shard_count < 1 || shard_count > 255)
        return wd_error_set(err, -WD_E_CONFIG, "SHARD_COUNT: must be in 1..255");
    map->shard_count = shard_count;
    if (spec && spec[0])
        return parse_spec(map, spec, err);
    for (uint32_t b = 0; b < WD_BUCKETS; b++)
        map->shard_of[b] = (uint8_t)((uint64_t)b * (uint64_t)shard_count / WD_BUCKETS);
    return 0;
}
