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

struct wd_binder {
    MYSQL_BIND *binds;
    unsigned long *lengths;
    my_bool *nulls;
    MYSQL_TIME *times;
    int n, cap;
    int failed; /* 0, or why binding failed: every later call is a no-op, wd_bind_ok says so */
};

/* Prepares a binder for up to cap values. Returns 0 or -WD_E_NOMEM. */
int wd_bind_init(struct wd_binder *b, int cap);
void wd_bind_release(struct wd_binder *b);

/* 0 if every bind so far fit; -WD_E_NOMEM if the arrays could not be allocated;
 * -WD_E_INTERNAL_ERROR if more values were bound than the binder was made for (a bug). */
int wd_bind_ok(const struct wd_binder *b);

/* Parameters. */
void wd_bind_str(struct wd_binder *b, const char *s);              /* NUL-terminated */
void wd_bind_strn(struct wd_binder *b, const char *s, size_t len); /* exact bytes */
void wd_bind_i64(struct wd_binder *b, const int64_t *v);
void wd_bind_u64(struct wd_binder *b, const uint64_t *v);
void wd_bind_i32(struct wd_binder *b, const int32_t *v);
void wd_bind_time(struct wd_binder *b, int64_t ms); /* DATETIME(3), UTC */
void wd_bind_null(struct wd_binder *b);

/* Results: out buffers filled by mysql_stmt_fetch; after each fetch read them with
 * wd_bind_fix_str, wd_bind_is_null, wd_bind_time_ms and wd_bind_length. */
void wd_bind_result_str(struct wd_binder *b, char *buf, size_t size); /* NUL added by fixup */
void wd_bind_result_blob(struct wd_binder *b, void *buf, size_t size);
void wd_bind_result_i64(struct wd_binder *b, int64_t *v);
void wd_bind_result_u64(struct wd_binder *b, uint64_t *v);
void wd_bind_result_i32(struct wd_binder *b, int32_t *v);
void wd_bind_result_time(struct wd_binder *b);

/* After a fetch: NUL-terminates string column i; returns its length. */
size_t wd_bind_fix_str(struct wd_binder *b, int i, char *buf, size_t size);

/* After a fetch: true if column i was NULL. */
bool wd_bind_is_null(const struct wd_binder *b, int i);

/* After a fetch: the ms value of DATETIME column i (0 if NULL). */
int64_t wd_bind_time_ms(const struct wd_binder *b, int i);

/* Length of the value of column i after a fetch. */
unsigned long wd_bind_length(const struct wd_binder *b, int i);

#endif
