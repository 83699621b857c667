/*
 * core/log.h - structured logging: one JSON object per line on stdout.
 *
 * Owns: the log level (set once at start from LOG_LEVEL, before threads exist), the line format
 * {"ts":...,"level":...,"pid":...,"msg":..., fields...}, and the log buffer. The macros test the
 * level before any formatting happens, so a disabled debug line costs one comparison.
 *
 * Logs never block money: once wd_log_start has run, a line is copied into a bounded buffer
 * (LOG_BUFFER_BYTES) and written to stdout by the process's own log thread; when the buffer is
 * full (stdout is slow, or a pipe nobody reads) the line is dropped and counted
 * (wallet_log_lines_dropped_total, and a "log lines dropped" line once there is room again). Before
 * wd_log_start (and in walletctl) each line is written at once. A fork leaves the child without a
 * log thread and with an empty buffer (the parent writes what it held): a worker calls
 * wd_log_start again.
 * Thread-safe: each line is written whole, with a single write(2), never interleaved.
 */
#ifndef WD_CORE_LOG_H
#define WD_CORE_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum wd_log_level { WD_LOG_DEBUG = 0, WD_LOG_INFO, WD_LOG_WARN, WD_LOG_ERROR, WD_LOG_OFF };

extern int wd_log_min_level;

/* Starts this process's log thread with a buffer of bytes. 0, or -1 (lines are then written at
 * once, as before). */
int wd_log_start(size_t bytes);

/* Stops the log thread after writing what the buffer holds, waiting at most timeout_ms (stdout may
 * be blocked); later lines are written at once. */
void wd_log_stop(int timeout_ms);

/* Waits (at most timeout_ms) until every line logged so far by any thread has been written: for a
 * line that must be out before what the caller does next (walletd-faults' "fault injected",
 * which its tests read once the request that met the fault has been answered). */
void wd_log_flush(int timeout_ms);

/* Parses "debug", "info", "warn", "error" or "off"; returns the level or -1. */
int wd_log_parse_level(const char *name);

/* Writes one line: msg formatted printf-style. Use the macros, which check the level first. */
void wd_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line with msg and the members of fields added; takes over fields (steals). */
void wd_log_fields(int level, const char *msg, json_t *fields);

/*
 * The allocation-free way, for a line written on every request (the access log): members is
 * the rest of the object, already JSON ("\"status\":200,\"ms\":1.5"), each string in it
 * escaped by wd_log_escape; msg is a literal that needs no escaping. A line longer than
 * WD_LOG_LINE_MAX is written without members.
 */
#define WD_LOG_LINE_MAX 4096
void wd_log_members(int level, const char *msg, const char *members);

/* Appends s as a JSON string (quotes included) at out + *len, within cap; false (and out left
 * as it was) if s is not valid UTF-8 or does not fit. */
bool wd_log_escape(char *out, size_t cap, size_t *len, const char *s);

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
