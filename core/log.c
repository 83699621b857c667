/*
 * core/log.c - JSON-lines logger. Lines are built with jansson (so every message is escaped
 * correctly, whatever bytes a client sent), copied whole into a ring buffer and written by the
 * process's log thread, each write holding whole lines, so lines from many threads and processes
 * never interleave.
 */
#define _GNU_SOURCE
#include "core/log.h"

#include "core/clock.h"
#include "core/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536 /* the most the log thread writes at once */

/* The process's log buffer: a ring of whole lines, drained by the log thread. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* lines arrived, or stop */
    pthread_cond_t idle; /* lines were written (the ring may be empty) */
    char *ring;
    size_t cap, head, used; /* head: where the next line goes; the oldest byte is head - used */
    unsigned long long queued, written; /* bytes ever put in the ring; ever written from it */
    bool running, stopping, started;
    pthread_t thread;
    atomic_bool async;
    atomic_ullong dropped; /* since the last "dropped" line */
} lb = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER};

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

/* Writes all of text to stdout (the log thread, or a process without one). */
static void write_all(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stdout is gone: nothing to be done about it */
        text += n;
        len -= (size_t)n;
    }
}

static void buffer_line(const char *text, size_t len);

/* After lines were dropped, the next line that fits is followed by one that counts them. */
static void note_dropped(void)
{
    unsigned long long n = atomic_exchange(&lb.dropped, 0);
    char line[192], ts[WD_TIMESTAMP_LEN];

    if (n == 0)
        return;
    wd_clock_format(wd_clock_now_ms(), ts);
    int len = snprintf(line, sizeof(line),
                       "{\"ts\":\"%s\",\"level\":\"warn\",\"pid\":%d,\"msg\":\"log lines dropped: "
                       "the log buffer was full\",\"dropped\":%llu}\n",
                       ts, (int)getpid(), n);
    buffer_line(line, (size_t)len);
}

/* Copies a whole line into the ring, or drops it if it does not fit. */
static void buffer_line(const char *text, size_t len)
{
    pthread_mutex_lock(&lb.lock);
    if (len > lb.cap - lb.used) {
        pthread_mutex_unlock(&lb.lock);
        atomic_fetch_add(&lb.dropped, 1);
        wd_metrics_edge(WD_METRICS_LOG_DROPPED, 1);
        return;
    }
    size_t first = len < lb.cap - lb.head ? len : lb.cap - lb.head;
    memcpy(lb.ring + lb.head, text, first);
    memcpy(lb.ring, text + first, len - first);
    lb.head = (lb.head + len) % lb.cap;
    lb.used += len;
    lb.queued += len;
    pthread_mutex_unlock(&lb.lock);
    pthread_cond_signal(&lb.wake);
    if (atomic_load_explicit(&lb.dropped, memory_order_relaxed))
        note_dropped();
}

/* One whole line, ending in '\n', to the buffer (or, before wd_log_start, to stdout). */
static void emit(const char *text, size_t len)
{
    if (atomic_load_explicit(&lb.async, memory_order_acquire))
        buffer_line(text, len);
    else
        write_all(text, len); /* a full stdout must never stop money: only before start */
}

static void write_line(json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the buffer is ours and written by length */
    emit(text, len + 1);
    free(text);
}

/* The length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or > U+10FFFF), or
 * 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xE0) == 0xC0 ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    if ((n == 2 && s[0] < 0xC2) || (n == 3 && s[0] == 0xE0 && s[1] < 0xA0) ||
        (n == 3 && s[0] == 0xED && s[1] >= 0xA0) || (n == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
        (n == 4 && (s[0] > 0xF4 || (s[0] == 0xF4 && s[1] >= 0x90))))
        return 0;
    return n;
}

bool wd_log_escape(char *out, size_t cap, size_t *len, const char *s)
{
    size_t at = *len;

    if (at + 2 >= cap)
        return false;
    out[at++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_sequence(p);
        if (n == 0 || at + 8 >= cap) { /* room for the longest escape, the quote and NUL */
            out[*len] = '\0';
            return false;
        }
        if (n > 1) {
            memcpy(out + at, p, n);
            at += n;
        } else if (*p == '"' || *p == '\\') {
            out[at++] = '\\';
            out[at++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            at += (size_t)snprintf(out + at, cap - at, "\\u%04x", *p);
        } else {
            out[at++] = (char)*p;
        }
        p += n;
    }
    out[at++] = '"';
    out[at] = '\0';
    *len = at;
    return true;
}

void wd_log_members(int level, const char *msg, const char *members)
{
    char line[WD_LOG_LINE_MAX + 256];
    char ts[WD_TIMESTAMP_LEN];

    wd_clock_format(wd_clock_now_ms(), ts);
    int n =
        snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"msg\":\"%s\"",
                 ts, level_names[level], (int)getpid(), msg);
    size_t len = (size_t)n, more = strlen(members);
    if (more && len + more + 3 <= sizeof(line)) {
        line[len++] = ',';
        memcpy(line + len, members, more);
        len += more;
    }
    line[len++] = '}';
    line[len++] = '\n';
    emit(line, len);
}

/* Takes up to CHUNK bytes of whole lines from the ring into out; the lock is held. */
static size_t take_lines(char *out)
{
    size_t n = lb.used < CHUNK ? lb.used : CHUNK;
    size_t tail = (lb.head + lb.cap - lb.used) % lb.cap;
    size_t first = n < lb.cap - tail ? n : lb.cap - tail;

    memcpy(out, lb.ring + tail, first);
    memcpy(out + first, lb.ring, n - first);
    while (n > 0 && out[n - 1] != '\n') /* a line longer than CHUNK is cut, never torn apart */
        n--;
    if (n == 0)
        n = lb.used < CHUNK ? lb.used : CHUNK;
    lb.used -= n;
    return n;
}

static void *drain(void *arg)
{
    char *out = malloc(CHUNK);

    (void)arg;
    pthread_mutex_lock(&lb.lock);
    lb.started = true; /* wd_log_start waits for this (see there) */
    pthread_cond_broadcast(&lb.idle);
    while (out) {
        while (lb.used == 0 && !lb.stopping)
            pthread_cond_wait(&lb.wake, &lb.lock);
        if (lb.used == 0)
            break; /* stopping, and all written */
        size_t n = take_lines(out);
        pthread_mutex_unlock(&lb.lock);
        write_all(out, n); /* the log thread only writes: no allocation or libc lock held here */
        pthread_mutex_lock(&lb.lock);
        lb.written += n;
        pthread_cond_broadcast(&lb.idle); /* wd_log_flush waits for written, stop for empty */
    }
    lb.running = false;
    pthread_cond_broadcast(&lb.idle);
    pthread_mutex_unlock(&lb.lock);
    free(out);
    return NULL;
}

/* fork: the child gets no log thread and an empty buffer (the parent writes what it held). */
static void before_fork(void)
{
    pthread_mutex_lock(&lb.lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&lb.lock);
}

static void after_fork_child(void)
{
    pthread_mutex_init(&lb.lock, NULL);
    pthread_cond_init(&lb.wake, NULL);
    pthread_cond_init(&lb.idle, NULL);
    atomic_store(&lb.async, false);
    lb.running = lb.stopping = lb.started = false;
    lb.head = lb.used = 0;
    lb.queued = lb.written = 0;
    atomic_store(&lb.dropped, 0);
}

int wd_log_start(size_t bytes)
{
    static atomic_bool registered;

    if (lb.running)
        return 0;
    if (!lb.ring || lb.cap != bytes) {
        free(lb.ring);
        lb.ring = malloc(bytes);
        lb.cap = lb.ring ? bytes : 0;
    }
    if (!lb.ring)
        return -1;
    if (!atomic_exchange(&registered, true))
        pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    lb.stopping = false;
    sigset_t all, old; /* the log thread takes no signal: they are for the process's own threads */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    lb.started = false;
    lb.running = pthread_create(&lb.thread, NULL, drain, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* The master forks soon after: not while the new thread is still being set up (holding the
     * allocator's or a sanitizer's thread-registry lock, which the child would inherit held). */
    pthread_mutex_lock(&lb.lock);
    while (lb.running && !lb.started)
        pthread_cond_wait(&lb.idle, &lb.lock);
    pthread_mutex_unlock(&lb.lock);
    atomic_store_explicit(&lb.async, lb.running, memory_order_release);
    return lb.running ? 0 : -1;
}

/* now + timeout_ms on the clock the condition variables wait by. */
static struct timespec deadline(int timeout_ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

void wd_log_flush(int timeout_ms)
{
    if (!atomic_load_explicit(&lb.async, memory_order_acquire))
        return; /* lines are written at once */
    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&lb.lock);
    unsigned long long want = lb.queued;
    int rc = 0;
    while (lb.running && lb.written < want && rc == 0)
        rc = pthread_cond_timedwait(&lb.idle, &lb.lock, &until);
    pthread_mutex_unlock(&lb.lock);
}

void wd_log_stop(int timeout_ms)
{
    if (!atomic_exchange(&lb.async, false))
        return;
    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&lb.lock);
    lb.stopping = true;
    pthread_cond_signal(&lb.wake);
    int rc = 0;
    while (lb.running && rc == 0)
        rc = pthread_cond_timedwait(&lb.idle, &lb.lock, &until);
    bool stopped = !lb.running;
    pthread_mutex_unlock(&lb.lock);
    if (stopped)
        pthread_join(lb.thread, NULL);
    /* else the log thread is stuck writing to stdout: it ends with the process */
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
