/*
 * db/replica.h - what a read asks of a replica before it trusts it with a token.
 *
 * Owns: MASTER_GTID_WAIT on a replica's connection: wait (briefly) until the replica has applied
 * a GTID position, so a read that carries a consistency token sees the write it names.
 * Thread-safety: none; each call uses the caller's connection, which belongs to one thread.
 */
#ifndef WD_DB_REPLICA_H
#define WD_DB_REPLICA_H

#include "core/error.h"
#include "db/conn.h"

/* Waits up to timeout_ms for the replica on c to apply gtid (a valid position). 1 if it has, 0
 * if the wait timed out, or a classified error. */
int wd_replica_wait(struct wd_conn *c, const char *gtid, int timeout_ms, struct wd_error *err);

#endif
