/*
 * core/log.c - JSON-lines logger. Lines are built with jansson (so every message is escaped
 * correctly, whatever bytes a client sent) and written with one write(2) so lines from many
 * threads and processes never interleave.
 */
#define _GNU_SOURCE
#include "core/log.h"

#include "core/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int wd_log_min_level = WD_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int wd_log_parse_level(const char *name)
{
    for (int i = 0; i <= WD_LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

static void write_line(json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the buffer is ours and written by length */
    ssize_t ignored = write(STDOUT_FILENO, text, len + 1);
    (void)ignored; /* a full stdout must never stop money from moving */
    free(text);
}

void wd_log_fields(int level, const char *msg, json_t *fields)
{
    char ts[WD_TIMESTAMP_LEN];
    json_t *line = json_object();

    if (!line) {
        json_decref(fields);
        return;
    }
    wd_clock_format(wd_clock_now_ms(), ts);
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "pid", json_integer(getpid()));
    json_t *text = json_string(msg);
    /* json_string refuses invalid UTF-8; a log line is never silently lost because of it */
    json_object_set_new(line, "msg", text ? text : json_string("(message not valid UTF-8)"));
    if (fields)
        json_object_update(line, fields);
    json_decref(fields);
    write_line(line);
    json_decref(line);
}

void wd_log_write(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wd_log_fields(level, msg, NULL);
}
