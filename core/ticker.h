/*
 * core/ticker.h - a background thread that runs a function now and then every interval, until
 * it is stopped.
 *
 * Owns: the thread, its schedule and its stop: wd_ticker_stop wakes the thread from its wait,
 * lets the caller break off a tick in progress (e.g. interrupt a database call), and joins it.
 * Used by the dependency checker (shard/health) and the sweeper (wallet/sweeper).
 * Thread-safety: start and stop from one thread; tick runs on the ticker's thread.
 */
#ifndef WD_CORE_TICKER_H
#define WD_CORE_TICKER_H

#include <pthread.h>
#include <stdbool.h>

struct wd_ticker {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, started;
    int interval_ms;
    void (*tick)(void *arg);
    void *arg;
};

/* Starts a thread that calls tick(arg) at once and then interval_ms after each call ends.
 * 0, or -1 if the thread could not be started. */
int wd_ticker_start(struct wd_ticker *t, int interval_ms, void (*tick)(void *arg), void *arg);

/* Stops t: no tick starts any more; interrupt(arg), when not NULL, is called to break off a
 * tick in progress; then the thread is joined. Harmless on a ticker never started. */
void wd_ticker_stop(struct wd_ticker *t, void (*interrupt)(void *arg));

#endif
