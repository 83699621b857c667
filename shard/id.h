/*
 * shard/id.h - server-generated wallet and transaction IDs that carry their own route.
 *
 * Owns: the ID format. An ID is a type prefix and 36 lowercase hex digits:
 *
 *     wal_BBBBTTTTTTTTTTTTRRRRRRRRRRRRRRRRRRRR      (txn_ for transactions)
 *
 * BBBB the bucket (0..16383) of the owning account, TTTTTTTTTTTT the creation time in ms (48
 * bits, so IDs of one bucket sort by age and inserts stay local in the B-tree), and 20 hex digits
 * of libsodium randomness (80 bits: unguessable). The bucket routes any ID to its shard with no
 * directory lookup; a malformed ID is refused by wd_id_parse before any query runs.
 * Thread-safe (randombytes_buf is) once sodium_init() has run.
 */
#ifndef WD_SHARD_ID_H
#define WD_SHARD_ID_H

#include "core/limits.h"
#include <stddef.h>
#include <stdint.h>

enum wd_id_kind { WD_ID_WALLET = 0, WD_ID_TXN = 1 };

/* Writes a new ID of kind for bucket, created at now_ms, into out (NUL-terminated). */
void wd_id_new(char out[WD_ID_LEN + 1], enum wd_id_kind kind, uint32_t bucket, int64_t now_ms);

/*
 * Checks that s[0..len) is a well-formed ID of kind and sets *bucket. Returns 0, or -1 if it is
 * not one (wrong length, prefix, character or bucket); callers answer 404 or 400.
 */
int wd_id_parse(const char *s, size_t len, enum wd_id_kind kind, uint32_t *bucket);

#endif
