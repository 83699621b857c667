/*
 * core/clock.h - wall-clock and monotonic time, and the one timestamp format of the API.
 *
 * Owns: how time is read (CLOCK_REALTIME for stored timestamps, CLOCK_MONOTONIC for durations)
 * and how a timestamp is written in JSON: RFC 3339, UTC, milliseconds ("2026-11-23T13:28:02.123Z").
 * Thread-safe: no state.
 */
#ifndef WD_CORE_CLOCK_H
#define WD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch. */
int64_t wd_clock_now_ms(void);

/* Monotonic nanoseconds, for measuring durations only. */
int64_t wd_clock_mono_ns(void);

/* Sleeps ns nanoseconds (nothing when ns <= 0), resuming after signals. */
void wd_clock_sleep_ns(int64_t ns);

/* The CLOCK_REALTIME instant us microseconds from now, for pthread_cond_timedwait. */
void wd_clock_deadline(struct timespec *out, int64_t us);

#define WD_TIMESTAMP_LEN 25 /* "2026-11-23T13:28:02.123Z" + NUL */

/* Writes ms as RFC 3339 UTC with milliseconds into out (at least WD_TIMESTAMP_LEN bytes). */
void wd_clock_format(int64_t ms, char out[WD_TIMESTAMP_LEN]);

#endif
