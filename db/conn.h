/*
 * db/conn.h - one MariaDB/MySQL connection (Connector/C, mysqlclient API) with its prepared
 * statements.
 *
 * Owns: connecting to one endpoint with timeouts, the session settings every walletd connection
 * runs with (UTC, READ COMMITTED, utf8mb4, autocommit off for transactional use), a per-connection
 * cache of prepared statements in numbered slots (prepared once, reused until the connection
 * drops), and the classification of MySQL errors into project codes. The error state is sticky
 * in the hiredis way: after a connection-level error the connection is dropped and the next call
 * reconnects (with a short back-off so a dead server fails requests fast).
 * Thread-safety: none, but for wd_conn_interrupt. One connection belongs to one thread, never
 * shared; another thread may only interrupt it (at shutdown).
 */
#ifndef WD_DB_CONN_H
#define WD_DB_CONN_H

#include "core/config.h"
#include "core/error.h"

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum wd_conn_flags {
    WD_CONN_TRANSACTIONAL = 1 << 0, /* autocommit off: every unit of work ends in commit/rollback */
    WD_CONN_READ_ONLY = 1 << 1,     /* readers: refuse writes at the session level */
    WD_CONN_MULTI_STATEMENTS = 1 << 2, /* walletctl migrate only: runs our own SQL files */
};

#define WD_CONN_SLOTS_MAX 4096 /* statement slots one connection may use */

struct wd_conn {
    MYSQL *mysql;                    /* NULL while disconnected */
    const struct wd_db_endpoint *ep; /* borrowed from the immutable configuration */
    char label[48];                  /* "shard0-primary", for logs and errors */
    unsigned flags;
    int connect_timeout_s;
    int query_timeout_s;
    int64_t retry_after_ns; /* monotonic: no reconnect attempt before this */
    MYSQL_STMT **stmts;     /* prepared statements by slot; grown as slots are used */
    unsigned nstmts;
    pthread_mutex_t mu;      /* guards fd against wd_conn_interrupt */
    int fd;                  /* the connection's socket while connected, else -1 */
    atomic_bool interrupted; /* set by wd_conn_interrupt: no more connecting */
};

/* Initialises c (not connected yet). ep must outlive c. */
void wd_conn_init(struct wd_conn *c, const struct wd_db_endpoint *ep, const char *label,
                  unsigned flags, int connect_timeout_s, int query_timeout_s);

/* Closes the connection and frees its statements; c can be opened again. */
void wd_conn_close(struct wd_conn *c);

/* Closes c for the end of its life. */
void wd_conn_release(struct wd_conn *c);

/*
 * From any thread: breaks off whatever c is sending or waiting for (its socket is shut down, so
 * the owner's call fails at once as a lost connection) and makes every later wd_conn_open fail.
 * For stopping a process whose database does not answer.
 */
void wd_conn_interrupt(struct wd_conn *c);

/* True once wd_conn_interrupt was called on c. */
bool wd_conn_interrupted(struct wd_conn *c);

/*
 * Connects if not connected. Returns 0; -WD_E_DB_UNAVAILABLE (err says why) if the server cannot
 * be reached, the last attempt failed less than the back-off ago, or c was interrupted;
 * -WD_E_NOMEM; or the classified error of the session set-up.
 */
int wd_conn_open(struct wd_conn *c, struct wd_error *err);

/*
 * Connects c again after its connection was lost: until it succeeds or deadline_ns (monotonic)
 * passes, trying at the connection's back-off; a deadline already past means one try. Gives up
 * at once when c was interrupted. 0 or what wd_conn_open returned last.
 */
int wd_conn_reopen(struct wd_conn *c, int64_t deadline_ns, struct wd_error *err);

/*
 * The statement in slot (slots are the caller's numbering, below WD_CONN_SLOTS_MAX; db/stmt
 * numbers the ledger's), preparing sql on first use on this connection. Borrowed: valid until
 * the connection is closed. NULL on failure, with err set (and the connection dropped if the
 * failure was the connection's).
 */
MYSQL_STMT *wd_conn_stmt(struct wd_conn *c, unsigned slot, const char *sql, struct wd_error *err);

/*
 * Classifies the connection's last error (what = the operation, for the message). Connection
 * loss drops the connection and gives -WD_E_DB_UNAVAILABLE; deadlock and lock-wait timeout give
 * -WD_E_DB_RETRY; everything else -WD_E_DB. Logs at warn, but for deadlocks and lock-wait
 * timeouts (the caller retries those).
 */
int wd_conn_fail(struct wd_conn *c, const char *what, struct wd_error *err);

/*
 * The project code of a MySQL/MariaDB error number: -WD_E_DB_UNAVAILABLE when the connection is
 * gone or no longer usable (lost, killed, server shutting down, read-only: not a primary any
 * more), -WD_E_DB_RETRY for a deadlock or lock-wait timeout (the transaction can run again),
 * -WD_E_DB for everything else.
 */
int wd_conn_error_code(unsigned no);

/* As wd_conn_fail, for a statement's error. */
int wd_conn_stmt_fail(struct wd_conn *c, MYSQL_STMT *stmt, const char *what, struct wd_error *err);

/* Runs fixed SQL text (never built from input) and discards any result. 0 or a code. */
int wd_conn_exec(struct wd_conn *c, const char *sql, struct wd_error *err);

int wd_conn_commit(struct wd_conn *c, struct wd_error *err);

/* After a COMMIT on a WD_CONN_TRANSACTIONAL connection: the GTID it produced
 * (@@SESSION.last_gtid, which the server's OK packet carries) into out[0..size), or "" when the
 * transaction wrote nothing to the binary log. */
void wd_conn_last_gtid(struct wd_conn *c, char *out, size_t size);

/* Runs fixed SQL text (never built from input) whose answer is one value, and copies it (or ""
 * for no row or NULL) into out[0..size). 0 or a classified error. */
int wd_conn_query_text(struct wd_conn *c, const char *sql, char *out, size_t size,
                       struct wd_error *err);

/* Rolls back; on failure the connection is dropped (the server then rolls back for us). */
void wd_conn_rollback(struct wd_conn *c);

/* Round-trip check: connects if needed, then pings. 0, -WD_E_DB_UNAVAILABLE, or what
 * wd_conn_open returned. */
int wd_conn_ping(struct wd_conn *c, struct wd_error *err);

/* What SHOW ALL SLAVES STATUS says of a replica's (default) replication connection. */
struct wd_replica_status {
    bool io_running, sql_running; /* receiving from its primary; applying what it received */
    int lag_s;                    /* Seconds_Behind_Master; -1 when NULL (not both running) */
    char received[65];            /* Gtid_IO_Pos: the position it has received */
    char applied[65];             /* Gtid_Slave_Pos: the position it has applied */
};

/*
 * On a replica: connects if needed and reads its replication status into out. 0, or
 * -WD_E_DB_UNAVAILABLE (also when the server is not a replica) or another classified error.
 */
int wd_conn_replica_status(struct wd_conn *c, struct wd_replica_status *out, struct wd_error *err);

/* Converts between Unix milliseconds (UTC) and MYSQL_TIME for DATETIME(3) columns. */
void wd_conn_time_from_ms(MYSQL_TIME *t, int64_t ms);
int64_t wd_conn_time_to_ms(const MYSQL_TIME *t);

#endif
