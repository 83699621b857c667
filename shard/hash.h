/*
 * shard/hash.h - the fixed hash from a customer account ID to a virtual bucket.
 *
 * Owns: the keyspace's first step. An account ID (1-64 chars of [A-Za-z0-9_.:-]) maps to one of
 * WD_BUCKETS virtual buckets by a hash that must never change, on any pod, in any version:
 *
 *     bucket = LE64(BLAKE2b(accountId, digest 16 bytes, no key)[0..8)) mod 16384
 *
 * i.e. unkeyed BLAKE2b with a 16-byte digest (libsodium crypto_generichash), its first 8 bytes
 * read as a little-endian unsigned 64-bit integer, modulo 16384. Golden vectors in
 * tests/unit/shard/test_hash.c pin it. Buckets are assigned to shards by shard/map, so adding a
 * shard moves bucket ranges, never re-hashes accounts.
 * Pure; thread-safe once sodium_init() has run.
 */
#ifndef WD_SHARD_HASH_H
#define WD_SHARD_HASH_H

#include "core/limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WD_BUCKETS 16384

/* True if s[0..len) is a valid account ID: 1-64 chars of [A-Za-z0-9_.:-]. */
bool wd_hash_account_valid(const char *s, size_t len);

/* The bucket of account ID s[0..len). The ID should be valid; any bytes hash safely. */
uint32_t wd_hash_bucket(const char *s, size_t len);

#endif
