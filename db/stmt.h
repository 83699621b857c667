/*
 * db/stmt.h - the statement layer under the ledger's SQL: slots, execution, rows in and out.
 *
 * Owns: which slot of a connection's statement cache each prepared statement uses (one kind per
 * statement, times a size class for statements over a batch's rows), so a connection holds a
 * bounded set of statements whatever the batch sizes; the two ways a multi-row statement takes
 * its rows (one JSON array parameter read through JSON_TABLE, or an IN list padded to a power of
 * two); executing and fetching with the MySQL error kept in the caller's error; and reading result
 * rows into C structs described by a column table, so every SELECT has one reading path.
 * SQL text is built only from constants and a row count; every value is a bound parameter.
 * Thread-safety: none; each call uses the caller's connection, which belongs to one thread.
 */
#ifndef WD_DB_STMT_H
#define WD_DB_STMT_H

#include "core/clock.h"
#include "core/error.h"
#include "core/limits.h"
#include "db/bind.h"
#include "db/conn.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Every prepared statement walletd runs on a shard, by the module that owns its SQL. */
enum wd_stmt_kind {
    WD_STMT_CLAIM_KEYS = 0, /* db/idem */
    WD_STMT_LOAD_KEY,
    WD_STMT_FINISH_KEYS,
    WD_STMT_PURGE_KEYS,
    WD_STMT_LOCK_WALLETS, /* db/ledger */
    WD_STMT_LOCK_TXNS,
    WD_STMT_INSERT_WALLETS,
    WD_STMT_INSERT_TXNS,
    WD_STMT_UPDATE_TXNS,
    WD_STMT_UPDATE_WALLETS,
    WD_STMT_INSERT_ENTRIES,
    WD_STMT_GET_WALLET,
    WD_STMT_GET_TXN,
    WD_STMT_LIST_WALLETS,
    WD_STMT_FIND_REFERENCE,
    WD_STMT_PAGE,
    WD_STMT_EXPIRED_HOLDS,
    WD_STMT_GTID_WAIT, /* db/replica */
    WD_STMT_KIND_COUNT
};

/* Size class 0 holds SQL that does not depend on the row count; classes 1..7 hold IN lists of
 * 1, 2, 4, ... 64 rows. */
#define WD_STMT_SIZE_CLASSES 8
#define WD_STMT_SLOTS        (WD_STMT_KIND_COUNT * WD_STMT_SIZE_CLASSES)
#define WD_STMT_SQL_MAX      16384 /* the longest SQL text a size class may build */
_Static_assert(WD_BATCH_MAX <= 1 << (WD_STMT_SIZE_CLASSES - 2), "a size class per power of two");

/* Builds the SQL of a statement for n rows into buf (WD_STMT_SQL_MAX bytes); ctx is the caller's
 * (e.g. which table). 0, or -1 if it does not fit. */
typedef int (*wd_stmt_sql_fn)(char *buf, int n, const void *ctx);

/* The size class of a statement over n rows (1 <= n <= WD_BATCH_MAX), and the padded row count
 * it is built for (the next power of two). */
int wd_stmt_size_class(int n, int *padded);

/* The statement of kind whose SQL does not depend on the row count. Borrowed: valid until the
 * connection closes. NULL with err set on failure. */
MYSQL_STMT *wd_stmt_fixed(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql,
                          struct wd_error *err);

/*
 * The start of most calls: the statement of kind (its SQL fixed) in *st, and p ready for nparams
 * parameters. 0, or an error with err set (p then needs no release).
 */
int wd_stmt_prepare(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql, int nparams,
                    MYSQL_STMT **st, struct wd_binder *p, struct wd_error *err);

/* The statement of kind for n rows, its lists padded to *padded rows; built by fn(ctx) and
 * prepared on first use. Borrowed. NULL with err set on failure. */
MYSQL_STMT *wd_stmt_sized(struct wd_conn *c, enum wd_stmt_kind kind, int n, wd_stmt_sql_fn fn,
                          const void *ctx, int *padded, struct wd_error *err);

/* As wd_stmt_prepare, for a statement over n rows (wd_stmt_sized): p is ready for per_row
 * parameters per padded row plus extra. */
int wd_stmt_prepare_sized(struct wd_conn *c, enum wd_stmt_kind kind, int n, wd_stmt_sql_fn fn,
                          const void *ctx, int per_row, int extra, MYSQL_STMT **st,
                          struct wd_binder *p, int *padded, struct wd_error *err);

/* Binds params and executes st. 0, or a classified error with the server's message (what names
 * the statement in it). */
int wd_stmt_execute(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *params, const char *what,
                    struct wd_error *err);

/* Binds result buffers to st, after it executed. 0 or a classified error. */
int wd_stmt_bind_results(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *res, const char *what,
                         struct wd_error *err);

/* Fetches the next row: 1 a row, 0 no more (the result is freed), or a negative error. */
int wd_stmt_fetch(struct wd_conn *c, MYSQL_STMT *st, const char *what, struct wd_error *err);

/* A statement of a batch must touch exactly n rows, or the batch would half-apply: 0, or
 * -WD_E_DB saying how many it did. */
int wd_stmt_expect_rows(MYSQL_STMT *st, int n, const char *what, struct wd_error *err);

/* How one result column lands in a row struct. */
enum wd_col_type {
    WD_COL_STR,  /* into a char array (NUL-terminated; binary bytes are kept) */
    WD_COL_I64,  /* into an int64_t; NULL reads as 0 */
    WD_COL_U64,  /* into a uint64_t; NULL reads as 0 */
    WD_COL_TIME, /* DATETIME(3) into an int64_t of Unix milliseconds; NULL reads as 0 */
    WD_COL_NAME, /* an ENUM's text into an int: its index in names, or -1 */
};

struct wd_col {
    enum wd_col_type type;
    size_t offset;            /* of the field in the row struct */
    size_t size;              /* of the field */
    const char *const *names; /* WD_COL_NAME only */
    int nnames;
};

#define WD_COL_FIELD(type, row, field)                                   \
    {                                                                    \
        (type), offsetof(row, field), sizeof(((row *)0)->field), NULL, 0 \
    }
#define WD_COL_ENUM(row, field, table)                                         \
    {                                                                          \
        WD_COL_NAME, offsetof(row, field), sizeof(((row *)0)->field), (table), \
            (int)(sizeof(table) / sizeof((table)[0]))                          \
    }

/*
 * Executes st with params and reads its rows, whose columns are cols[0..ncols) in order, into
 * out: an array of max structs of row_size bytes. Rows past max are read and dropped; *found says
 * how many were kept. 0 or an error.
 */
int wd_stmt_read_rows(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *params,
                      const struct wd_col *cols, int ncols, void *out, size_t row_size, int max,
                      int *found, const char *what, struct wd_error *err);

/* Appends to buf head, n copies of row joined by sep, and tail. 0, or -1 if it does not fit in
 * WD_STMT_SQL_MAX bytes. */
int wd_stmt_build(char *buf, const char *head, const char *row, const char *sep, int n,
                  const char *tail);

/* Writes "CASE id WHEN ? THEN ? ... END" for n rows into buf[0..size). 0 or -1. */
int wd_stmt_build_case(char *buf, size_t size, int n);

/* Binds ids[0..n) as an IN list of padded (>= n) entries, repeating the last id (IN ignores the
 * repeats; CASE takes the first match). */
void wd_stmt_bind_ids(struct wd_binder *p, const char (*ids)[WD_ID_LEN + 1], int n, int padded);

/* Appends row (stolen) to *rows; a row jansson could not build poisons the list (NULL). */
void wd_stmt_add_row(json_t **rows, json_t *row);

/*
 * Binds times[0..ntimes), then rows (stolen) as the JSON text of a JSON_TABLE parameter, into p.
 * Returns the text, which the caller frees after executing; NULL when out of memory or a row
 * could not be built (p is then empty, and releasing it is harmless).
 */
char *wd_stmt_bind_json_rows(struct wd_binder *p, json_t *rows, const int64_t *times, int ntimes);

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC): how JSON_TABLE's DATETIME(3) columns read a time. */
void wd_stmt_sql_datetime(int64_t ms, char out[WD_TIMESTAMP_LEN]);

#endif
