/*
 * shard/pick.h - where a read goes: a replica of its shard, or the primary, and why.
 *
 * Owns: the routing decision for a read, made from what the background health checks last saw
 * of the shard's replicas (never a query per request). A replica is fit when it is reachable,
 * applying, and at most MAX_REPLICA_LAG_SECONDS behind (or, while the primary cannot be reached,
 * has applied everything it received: no newer write can exist). Reads go round-robin over fit
 * replicas; a strong read, a read with a token no fit replica can serve, and a read with no fit
 * replica go to the primary, each for its reason.
 * Pure; thread-safe.
 */
#ifndef WD_SHARD_PICK_H
#define WD_SHARD_PICK_H

#include "shard/token.h"

#include <stdbool.h>

enum wd_pick_reason {
    WD_PICK_REPLICA = 0, /* a fit replica serves */
    WD_PICK_STRONG,      /* X-Consistency: strong */
    WD_PICK_TOKEN,       /* a token no fit replica has applied in time */
    WD_PICK_NO_FIT,      /* no fit replica */
    WD_PICK_RETRY,       /* a replica failed mid-read; the primary serves the retry */
    WD_PICK_REASON_COUNT
};

/* One replica as the health checks last saw it. */
struct wd_pick_replica {
    bool fit;
    bool standby;                  /* applying and caught up with what it received: can answer
                                    * when the primary cannot, however old its data */
    int lag_s;                     /* Seconds_Behind_Master; -1 when unknown */
    char applied[WD_GTID_MAX + 1]; /* Gtid_Slave_Pos: what it has applied ("" if unknown) */
};

struct wd_pick {
    int replica; /* the replica to read, or -1 for the primary */
    enum wd_pick_reason reason;
    bool wait; /* the replica must first be asked to reach the token (MASTER_GTID_WAIT) */
};

/*
 * Picks where a read goes among replicas v[0..n) of its shard. strong reads the primary. With a
 * token (gtid not NULL), a fit replica whose applied position has reached it serves; else a fit
 * replica is picked to wait on (wait set); with none the primary serves. Otherwise the next fit
 * replica from *rr (which advances) serves. skip (or -1) is a replica not to pick: the one that
 * just failed.
 */
struct wd_pick wd_pick_read(const struct wd_pick_replica *v, int n, bool strong, const char *gtid,
                            unsigned *rr, int skip);

/* A replica to answer in the primary's place when the primary cannot answer (a standby, not
 * skip), from *rr; -1 if there is none. */
int wd_pick_standby(const struct wd_pick_replica *v, int n, unsigned *rr, int skip);

/* The metrics label of a reason: "replica", "strong", "token", "no_fit_replica", "retry". */
const char *wd_pick_reason_name(enum wd_pick_reason r);

#endif
