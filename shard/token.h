/*
 * shard/token.h - consistency tokens (read-your-writes) and MariaDB GTID positions.
 *
 * Owns: the token a write's 2xx answer carries in X-Consistency-Token — the shard it was written
 * on and the GTID its COMMIT produced (@@SESSION.last_gtid), or for a replay a position at or
 * past it — and its text: base64url("v1:" shard ":" gtid), opaque to clients. Also the comparison
 * of GTID positions, so a read can tell whether a replica has applied a token's write.
 * A GTID is "domain-server-sequence"; a position is a comma-separated list of GTIDs, at most one
 * per replication domain. Within a domain, sequence numbers grow in commit order.
 * Pure; thread-safe.
 */
#ifndef WD_SHARD_TOKEN_H
#define WD_SHARD_TOKEN_H

#include <stdbool.h>

#define WD_GTID_MAX  64  /* the GTID or position a token carries */
#define WD_TOKEN_MAX 128 /* a token's text */

struct wd_token {
    int shard;
    char gtid[WD_GTID_MAX + 1];
};

/* The token's text into out (at most WD_TOKEN_MAX bytes and a NUL). 0, or -1 if t's GTID is not
 * a valid position. */
int wd_token_encode(const struct wd_token *t, char out[WD_TOKEN_MAX + 1]);

/* Parses a token's text. 0, or -1 when it is not a token walletd made for a shard below
 * shard_count. */
int wd_token_decode(const char *text, int shard_count, struct wd_token *out);

/* True if text is a GTID position: "D-S-N" GTIDs of decimal numbers, comma-separated, each
 * domain once. */
bool wd_token_position_valid(const char *text);

/* True if position pos has reached every GTID of want: for each of want's domains, pos has that
 * domain with a sequence number at least as high. False for malformed input. */
bool wd_token_reached(const char *pos, const char *want);

#endif
