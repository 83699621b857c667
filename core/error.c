/*
 * core/error.c - the table behind core/error.h: names, HTTP statuses and default messages of
 * every error code, and the caller-owned error struct's setters.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct code_info {
    const char *name;
    int status;
    const char *message;
};

#define WD_CODE_INFO(name, status, msg) {#name, status, msg},
static const struct code_info code_table[] = {{"OK", 200, "ok"}, WD_CODES(WD_CODE_INFO)};
#undef WD_CODE_INFO

static const struct code_info *code_lookup(int code)
{
    int index = -code;

    if (index <= 0 || index >= WD_CODE_COUNT_)
        return &code_table[WD_E_INTERNAL_ERROR];
    return &code_table[index];
}

int wd_error_set(struct wd_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    if (!fmt) {
        snprintf(err->message, sizeof(err->message), "%s", code_lookup(code)->message);
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void wd_error_clear(struct wd_error *err)
{
    err->code = 0;
    err->message[0] = '\0';
}

const char *wd_error_name(int code)
{
    return code_lookup(code)->name;
}

int wd_error_status(int code)
{
    return code_lookup(code)->status;
}

const char *wd_error_message(int code)
{
    return code_lookup(code)->message;
}

int wd_error_public(int code)
{
    switch (-code) {
    case WD_E_NOMEM:
    case WD_E_CONFIG:
    case WD_E_DB:
        return -WD_E_INTERNAL_ERROR;
    case WD_E_DB_RETRY:
    case WD_E_DB_UNAVAILABLE:
        return -WD_E_SERVICE_UNAVAILABLE;
    default:
        return code < 0 && -code < WD_CODE_COUNT_ ? code : -WD_E_INTERNAL_ERROR;
    }
}
