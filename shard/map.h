/*
 * shard/map.h - which shard owns which virtual bucket.
 *
 * Owns: the bucket -> shard table. By default the 16384 buckets are split into SHARD_COUNT
 * contiguous, even ranges (bucket * count / 16384). SHARD_MAP overrides it with explicit ranges,
 * "0-8191=0,8192-16383=1", which must cover every bucket exactly once; moving a range to another
 * shard (after moving its rows) is how the cluster grows without re-hashing every account.
 * Built once before workers start; read-only afterwards, so thread-safe.
 */
#ifndef WD_SHARD_MAP_H
#define WD_SHARD_MAP_H

#include "core/error.h"
#include "shard/hash.h"

#include <stdint.h>

struct wd_map {
    int shard_count;
    uint8_t shard_of[WD_BUCKETS];
};

/*
 * Builds map for shard_count shards from spec (NULL or "" for the even split). Returns 0 or
 * -WD_E_CONFIG with err saying what is wrong with the spec.
 */
int wd_map_init(struct wd_map *map, int shard_count, const char *spec, struct wd_error *err);

/* The shard that owns bucket (bucket < WD_BUCKETS). */
static inline int wd_map_lookup(const struct wd_map *map, uint32_t bucket)
{
    return map->shard_of[bucket % WD_BUCKETS];
}

#endif
