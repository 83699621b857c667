/*
 * core/log.h - structured logging: one JSON object per line on stdout.
 *
 * Owns: the log level (set once at start from LOG_LEVEL, before threads exist) and the line
 * format {"ts":...,"level":...,"pid":...,"msg":..., fields...}. The macros test the level before
 * any formatting happens, so a disabled debug line costs one comparison.
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef WD_CORE_LOG_H
#define WD_CORE_LOG_H

#include <jansson.h>

enum wd_log_level { WD_LOG_DEBUG = 0, WD_LOG_INFO, WD_LOG_WARN, WD_LOG_ERROR, WD_LOG_OFF };

extern int wd_log_min_level;

/* Parses "debug", "info", "warn", "error" or "off"; returns the level or -1. */
int wd_log_parse_level(const char *name);

/* Writes one line: msg formatted printf-style. Use the macros, which check the level first. */
void wd_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line with msg and the members of fields added; takes over fields (steals). */
void wd_log_fields(int level, const char *msg, json_t *fields);

#define wd_log_enabled(level) ((level) >= wd_log_min_level)

#define WD_LOG(level, ...)                    \
    do {                                      \
        if (wd_log_enabled(level))            \
            wd_log_write(level, __VA_ARGS__); \
    } while (0)

#define wd_log_debug(...) WD_LOG(WD_LOG_DEBUG, __VA_ARGS__)
#define wd_log_info(...)  WD_LOG(WD_LOG_INFO, __VA_ARGS__)
#define wd_log_warn(...)  WD_LOG(WD_LOG_WARN, __VA_ARGS__)
#define wd_log_error(...) WD_LOG(WD_LOG_ERROR, __VA_ARGS__)

#endif
