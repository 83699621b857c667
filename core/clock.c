/*
 * core/clock.c - time sources and the RFC 3339 millisecond format used in every response.
 */
#define _GNU_SOURCE
#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t wd_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wd_clock_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void wd_clock_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

void wd_clock_deadline(struct timespec *out, int64_t us)
{
    clock_gettime(CLOCK_REALTIME, out);
    int64_t ns = out->tv_nsec + us % 1000000 * 1000;
    out->tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
    out->tv_nsec = (long)(ns % 1000000000);
}

void wd_clock_format(int64_t ms, char out[WD_TIMESTAMP_LEN])
{
    time_t secs = (time_t)(ms / 1000);
    int millis = (int)(ms % 1000);
    struct tm tm;

    if (millis < 0) {
        millis += 1000;
        secs -= 1;
    }
    char text[64]; /* wide enough for any int fields, so the compiler can prove no truncation */
    gmtime_r(&secs, &tm);
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    memcpy(out, text, WD_TIMESTAMP_LEN - 1);
    out[WD_TIMESTAMP_LEN - 1] = '\0';
}
