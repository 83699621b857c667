/*
 * core/ticker.c - the periodic background thread.
 */
#include "core/ticker.h"

#include "core/clock.h"

#include <string.h>
#include <time.h>

static void *ticker_main(void *arg)
{
    struct wd_ticker *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        pthread_mutex_unlock(&t->mu);
        t->tick(t->arg);
        pthread_mutex_lock(&t->mu);
        struct timespec until;
        wd_clock_deadline(&until, (int64_t)t->interval_ms * 1000);
        while (!t->stopping && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int wd_ticker_start(struct wd_ticker *t, int interval_ms, void (*tick)(void *arg), void *arg)
{
    memset(t, 0, sizeof(*t));
    t->interval_ms = interval_ms;
    t->tick = tick;
    t->arg = arg;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->started = pthread_create(&t->tid, NULL, ticker_main, t) == 0;
    return t->started ? 0 : -1;
}

void wd_ticker_stop(struct wd_ticker *t, void (*interrupt)(void *arg))
{
    if (!t->started)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (interrupt)
        interrupt(t->arg);
    pthread_join(t->tid, NULL);
    t->started = false;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}
