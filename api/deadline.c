/*
 * api/deadline.c - the connection set and its deadline thread (see api/deadline.h).
 */
#define _GNU_SOURCE
#include "api/deadline.h"

#include "core/clock.h"
#include "core/metrics.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

struct wd_deadline {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stop */
    struct wd_deadline_entry *head;
    int tick_ms;
    bool stopping;
    pthread_t thread;
};

/* Shuts down every connection past its deadline; the lock is held. Returns how many. */
static uint64_t expire(struct wd_deadline *d, int64_t now)
{
    uint64_t n = 0;

    for (struct wd_deadline_entry *e = d->head; e; e = e->next) {
        int64_t due = atomic_load(&e->due_ns);
        if (due == 0 || now < due)
            continue;
        shutdown(e->fd, SHUT_RDWR);
        atomic_store(&e->due_ns, 0);
        n++;
    }
    return n;
}

static void *run(void *arg)
{
    struct wd_deadline *d = arg;

    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)d->tick_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        uint64_t n = expire(d, wd_clock_mono_ns());
        if (n)
            wd_metrics_edge(WD_METRICS_DEADLINE_CLOSED, n);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int wd_deadline_start(struct wd_deadline **out, int tick_ms, struct wd_error *err)
{
    struct wd_deadline *d = calloc(1, sizeof(*d));
    sigset_t all, old;

    if (!d)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->tick_ms = tick_ms;
    sigfillset(&all); /* signals are for the worker's main thread */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&d->thread, NULL, run, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(d);
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "cannot start the deadline thread");
    }
    *out = d;
    return 0;
}

void wd_deadline_stop(struct wd_deadline *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void wd_deadline_add(struct wd_deadline *d, struct wd_deadline_entry *e, int fd, int64_t due_ns)
{
    e->fd = fd;
    atomic_store(&e->due_ns, due_ns);
    pthread_mutex_lock(&d->lock);
    e->prev = NULL;
    e->next = d->head;
    if (d->head)
        d->head->prev = e;
    d->head = e;
    pthread_mutex_unlock(&d->lock);
}

void wd_deadline_remove(struct wd_deadline *d, struct wd_deadline_entry *e)
{
    pthread_mutex_lock(&d->lock);
    if (e->prev)
        e->prev->next = e->next;
    else
        d->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    e->prev = e->next = NULL;
    pthread_mutex_unlock(&d->lock);
}

void wd_deadline_set(struct wd_deadline_entry *e, int64_t due_ns)
{
    atomic_store(&e->due_ns, due_ns);
}
