/*
 * wallet/search.h - a search by reference over every shard: one part per shard, then a merge.
 *
 * Owns: a search's parts (an op per shard, for that shard's readers; wallet/read fills its rows),
 * counting them down, and merging their rows into the caller's reply: newest first, at most
 * limit, with hasMore. If any part fails, the search fails with that part's error, because a
 * partial list would look like a complete one. The engine owns the queues; it asks this module
 * for the parts and queues them.
 * Thread-safety: parts finish on any reader thread; the count is atomic, and whoever drops it to
 * zero (a reader or the submitter) merges, frees the search and completes the caller's op.
 */
#ifndef WD_WALLET_SEARCH_H
#define WD_WALLET_SEARCH_H

#include "wallet/op.h"

struct wd_search;

/* A search for parent (a WD_OP_FIND_REFERENCE op) over nshards shards; the submitter holds one
 * count until wd_search_release. NULL when out of memory. */
struct wd_search *wd_search_new(struct wd_op *parent, int nshards);

/* Part i: the op to queue on shard i's readers. Borrowed from s. */
struct wd_op *wd_search_part(struct wd_search *s, int i);

/* Part i could not be queued: it fails with code, and its count is dropped (never the last: the
 * submitter still holds one). */
void wd_search_fail_part(struct wd_search *s, int i, int code);

/* Drops the submitter's count: if every part has finished, merges, frees s and completes the
 * parent (parent->done), on this thread. */
void wd_search_release(struct wd_search *s);

/* Frees a search of which no part was queued; the parent is not completed. */
void wd_search_free(struct wd_search *s);

#endif
