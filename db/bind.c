/*
 * db/bind.c - MYSQL_BIND bookkeeping for parameters and results.
 */
#include "db/bind.h"

#include "core/fault.h"
#include "db/conn.h"

#include <stdlib.h>
#include <string.h>

int wd_bind_init(struct wd_binder *b, int cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
    b->binds = WD_FAULT_ALLOC(WD_FAULT_ALLOC_BIND, calloc((size_t)cap, sizeof(*b->binds)));
    b->lengths = calloc((size_t)cap, sizeof(*b->lengths));
    b->nulls = calloc((size_t)cap, sizeof(*b->nulls));
    b->times = calloc((size_t)cap, sizeof(*b->times));
    if (!b->binds || !b->lengths || !b->nulls || !b->times) {
        wd_bind_release(b);
        b->failed = -WD_E_NOMEM;
        return -WD_E_NOMEM;
    }
    return 0;
}

void wd_bind_release(struct wd_binder *b)
{
    free(b->binds);
    free(b->lengths);
    free(b->nulls);
    free(b->times);
    b->binds = NULL;
    b->lengths = NULL;
    b->nulls = NULL;
    b->times = NULL;
    b->n = b->cap = 0;
}

int wd_bind_ok(const struct wd_binder *b)
{
    return b->failed;
}

static MYSQL_BIND *next(struct wd_binder *b)
{
    if (b->failed)
        return NULL;
    if (b->n >= b->cap) {
        b->failed = -WD_E_INTERNAL_ERROR;
        return NULL;
    }
    MYSQL_BIND *bind = &b->binds[b->n];
    memset(bind, 0, sizeof(*bind));
    bind->length = &b->lengths[b->n];
    bind->is_null = &b->nulls[b->n];
    b->n++;
    return bind;
}

void wd_bind_strn(struct wd_binder *b, const char *s, size_t len)
{
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    bind->buffer_type = MYSQL_TYPE_STRING;
    bind->buffer = (void *)s; /* Connector/C never writes through parameter buffers */
    bind->buffer_length = (unsigned long)len;
    *bind->length = (unsigned long)len;
}

void wd_bind_str(struct wd_binder *b, const char *s)
{
    wd_bind_strn(b, s, strlen(s));
}

static void bind_int(struct wd_binder *b, enum enum_field_types type, const void *v,
                     bool is_unsigned)
{
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    bind->buffer_type = type;
    bind->buffer = (void *)v;
    bind->is_unsigned = is_unsigned;
}

void wd_bind_i64(struct wd_binder *b, const int64_t *v)
{
    bind_int(b, MYSQL_TYPE_LONGLONG, v, false);
}

void wd_bind_u64(struct wd_binder *b, const uint64_t *v)
{
    bind_int(b, MYSQL_TYPE_LONGLONG, v, true);
}

void wd_bind_i32(struct wd_binder *b, const int32_t *v)
{
    bind_int(b, MYSQL_TYPE_LONG, v, false);
}

void wd_bind_time(struct wd_binder *b, int64_t ms)
{
    int index = b->n;
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    wd_conn_time_from_ms(&b->times[index], ms);
    bind->buffer_type = MYSQL_TYPE_DATETIME;
    bind->buffer = &b->times[index];
}

void wd_bind_null(struct wd_binder *b)
{
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    bind->buffer_type = MYSQL_TYPE_NULL;
    *bind->is_null = 1;
}

/* A result buffer of type for buf[0..len). */
static void bind_buffer(struct wd_binder *b, enum enum_field_types type, void *buf, size_t len)
{
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    bind->buffer_type = type;
    bind->buffer = buf;
    bind->buffer_length = (unsigned long)len;
}

void wd_bind_result_str(struct wd_binder *b, char *buf, size_t size)
{
    bind_buffer(b, MYSQL_TYPE_STRING, buf, size - 1); /* room for the NUL fix_str adds */
}

void wd_bind_result_blob(struct wd_binder *b, void *buf, size_t size)
{
    bind_buffer(b, MYSQL_TYPE_BLOB, buf, size);
}

void wd_bind_result_i64(struct wd_binder *b, int64_t *v)
{
    bind_int(b, MYSQL_TYPE_LONGLONG, v, false);
}

void wd_bind_result_u64(struct wd_binder *b, uint64_t *v)
{
    bind_int(b, MYSQL_TYPE_LONGLONG, v, true);
}

void wd_bind_result_i32(struct wd_binder *b, int32_t *v)
{
    bind_int(b, MYSQL_TYPE_LONG, v, false);
}

void wd_bind_result_time(struct wd_binder *b)
{
    int index = b->n;
    MYSQL_BIND *bind = next(b);

    if (!bind)
        return;
    bind->buffer_type = MYSQL_TYPE_DATETIME;
    bind->buffer = &b->times[index];
}

size_t wd_bind_fix_str(struct wd_binder *b, int i, char *buf, size_t size)
{
    size_t len = b->nulls[i] ? 0 : b->lengths[i];

    if (len > size - 1)
        len = size - 1; /* truncated: callers size buffers to the column width */
    buf[len] = '\0';
    return len;
}

bool wd_bind_is_null(const struct wd_binder *b, int i)
{
    return b->nulls[i] != 0;
}

int64_t wd_bind_time_ms(const struct wd_binder *b, int i)
{
    return b->nulls[i] ? 0 : wd_conn_time_to_ms(&b->times[i]);
}

unsigned long wd_bind_length(const struct wd_binder *b, int i)
{
    return b->lengths[i];
}
