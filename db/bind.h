/*
 * db/bind.h - building MYSQL_BIND arrays for prepared statements, parameters and results.
 *
 * Owns: the bookkeeping Connector/C's binary protocol needs around each bound value (lengths,
 * NULL flags, MYSQL_TIME conversions) so the SQL modules read as "bind this field, then that".
 * A binder owns its arrays; the values it points at are borrowed and must stay alive until the
 * statement has executed (parameters) or been fetched (results).
 * Thread-safety: none; a binder belongs to one statement on one thread.
 */
#ifndef WD_DB_BIND_H
#define WD_DB_BIND_H

#include "core/error.h"

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_binder {
    MYSQL_BIND *binds;
    unsigned long *lengths;
    my_bool *nulls;
    MYSQL_TIME *times;
    int n, cap;
    bool failed; /* allocation failed: every later call is a no-op, db_binder_ok says so */
};

/* Prepares a binder for up to cap values. Returns 0 or -WD_E_NOMEM. */
int db_binder_init(struct db_binder *b, int cap);
void db_binder_release(struct db_binder *b);

/* 0 if every bind so far fit, else -WD_E_NOMEM / -WD_E_INTERNAL_ERROR. */
int db_binder_ok(const struct db_binder *b);

/* Parameters. */
void db_bind_str(struct db_binder *b, const char *s);              /* NUL-terminated */
void db_bind_strn(struct db_binder *b, const char *s, size_t len); /* exact bytes */
void db_bind_i64(struct db_binder *b, const int64_t *v);
void db_bind_u64(struct db_binder *b, const uint64_t *v);
void db_bind_i32(struct db_binder *b, const int32_t *v);
void db_bind_time(struct db_binder *b, int64_t ms); /* DATETIME(3), UTC */
void db_bind_null(struct db_binder *b);

/* Results: out buffers filled by mysql_stmt_fetch; call db_result_* after each fetch. */
void db_result_str(struct db_binder *b, char *buf, size_t size); /* NUL added by fixup */
void db_result_blob(struct db_binder *b, void *buf, size_t size);
void db_result_i64(struct db_binder *b, int64_t *v);
void db_result_u64(struct db_binder *b, uint64_t *v);
void db_result_i32(struct db_binder *b, int32_t *v);
void db_result_time(struct db_binder *b);

/* After a fetch: NUL-terminates string column i; returns its length. */
size_t db_result_fix_str(struct db_binder *b, int i, char *buf, size_t size);

/* After a fetch: true if column i was NULL. */
bool db_result_is_null(const struct db_binder *b, int i);

/* After a fetch: the ms value of DATETIME column i (0 if NULL). */
int64_t db_result_time_ms(const struct db_binder *b, int i);

/* Length of the value of column i after a fetch. */
unsigned long db_result_length(const struct db_binder *b, int i);

#endif
