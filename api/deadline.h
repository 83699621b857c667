/*
 * api/deadline.h - hard deadlines on connections, which no byte that arrives resets.
 *
 * Owns: the set of a worker's open connections and a thread that, every tick, shuts down
 * (shutdown(2), both ways) each connection whose deadline has passed; its owner (libmicrohttpd)
 * then sees the end of the stream and closes it as usual. libmicrohttpd's own timeout
 * (KEEPALIVE_TIMEOUT_SECONDS) counts from the last byte received, so a client sending one byte a
 * second kept a connection forever; the server sets a deadline for a request's headers and body
 * (REQUEST_TIMEOUT_SECONDS) and one for an idle keep-alive connection, counted from its last
 * answer.
 * An entry must be removed before its file descriptor is closed (libmicrohttpd's "connection
 * closed" notification comes before its close(2)), so the thread never shuts down a descriptor
 * that another connection has reused. Thread-safe.
 */
#ifndef WD_API_DEADLINE_H
#define WD_API_DEADLINE_H

#include "core/error.h"

#include <stdatomic.h>
#include <stdint.h>

struct wd_deadline_entry {
    struct wd_deadline_entry *prev, *next; /* the set's list: under its lock */
    int fd;
    _Atomic int_fast64_t due_ns; /* monotonic; 0: none */
};

struct wd_deadline;

/* Starts the thread, which looks every tick_ms. *out owned by the caller. */
int wd_deadline_start(struct wd_deadline **out, int tick_ms, struct wd_error *err);

/* Stops the thread and frees d; entries still in it are the caller's. NULL is a no-op. */
void wd_deadline_stop(struct wd_deadline *d);

/* Adds e (the connection on fd) with a first deadline. */
void wd_deadline_add(struct wd_deadline *d, struct wd_deadline_entry *e, int fd, int64_t due_ns);

/* Removes e; call before its descriptor is closed. */
void wd_deadline_remove(struct wd_deadline *d, struct wd_deadline_entry *e);

/* Sets e's deadline (0: none), from any thread. */
void wd_deadline_set(struct wd_deadline_entry *e, int64_t due_ns);

#endif
