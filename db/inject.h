/*
 * db/inject.h - how the database failure points of core/fault.h fail a connection: for real
 * wherever that can be done.
 *
 * Owns: making each failure happen on a live connection. lost shuts the connection's socket down,
 * so the call that follows fails inside Connector/C exactly as on a dropped connection (and the
 * server rolls the transaction back); deadlock, timeout and error have the server itself raise
 * the error (SIGNAL), so it comes back through the client library like any other; lost-reply lets
 * COMMIT commit and then drops the connection before its answer is read. The caller reports the
 * failure as it reports any: nothing downstream knows it was injected.
 *
 * Compiled only with WALLETD_FAULT_INJECTION (the walletd-faults binary); otherwise both calls are
 * the constant false. Thread-safety: as db/conn.h (the caller's own connection).
 */
#ifndef WD_DB_INJECT_H
#define WD_DB_INJECT_H

#include "db/conn.h"

#include <stdbool.h>

#ifdef WALLETD_FAULT_INJECTION

/* At the execution of statement what on c: true when c now holds the server's error for the
 * failure (report it with wd_conn_fail); false to go on (after lost, to fail for real). */
bool wd_inject_execute(struct wd_conn *c, const char *what);

/* At COMMIT on c: as wd_inject_execute; after lost-reply the COMMIT has committed. */
bool wd_inject_commit(struct wd_conn *c);

#else

#    define wd_inject_execute(c, what) false
#    define wd_inject_commit(c)        false

#endif

#endif
