/*
 * api/server.h - the HTTP edge of one worker process: libmicrohttpd with a thread pool.
 *
 * Owns: the daemon on the listen socket the master opened, the request lifecycle (first call
 * allocates the request, later calls consume the body, the reply is queued once the body is
 * complete, and the request is freed in the completion callback), suspending a connection while
 * the engine works on its op and resuming it when the op is done, the in-flight count used by
 * the drain, and the access log. Handlers live in api/handlers.c.
 * Thread-safety: start/quiesce/stop are called by the worker's main thread only; callbacks run
 * on libmicrohttpd's threads and on engine threads (resume).
 */
#ifndef WD_API_SERVER_H
#define WD_API_SERVER_H

#include "core/config.h"
#include "core/error.h"

#include <stdatomic.h>
#include <stdbool.h>

struct api_keys;
struct api_ratelimit;
struct shard_map;
struct shard_health;
struct wallet_engine;

/* Everything handlers need; owned by the worker, borrowed by the server. */
struct api_context {
    const struct wd_config *cfg;
    const struct shard_map *map;
    const struct api_keys *keys;
    struct api_ratelimit *ratelimit;
    struct wallet_engine *engine;
    struct shard_health *health;
    atomic_bool draining; /* set on SIGTERM: /health/ready answers 503 from then on */
    int worker_index;
};

struct api_server;

/* Starts serving on listen_fd (owned by the caller). *out is owned by the caller. */
int api_server_start(struct api_server **out,
                     struct api_context *ctx,
                     int listen_fd,
                     struct wd_error *err);

/* Stops accepting new connections; requests already received are still answered. */
void api_server_quiesce(struct api_server *s);

/* Requests received and not yet completed. */
int api_server_inflight(struct api_server *s);

/*
 * Waits up to timeout_ms until no connection is suspended (every op it waited for was answered
 * and libmicrohttpd has taken the connection back) and no request is in flight (replies sent).
 * Returns the connections still suspended. Call after wallet_engine_shutdown, which answers
 * every op.
 */
int api_server_settle(struct api_server *s, int timeout_ms);

/* Stops the daemon, closing every connection, and frees s. Every suspended connection must have
 * been resumed (api_server_settle), or libmicrohttpd aborts: then the daemon (and s) are left as
 * they are, to end with the process, and the fact is logged. */
void api_server_stop(struct api_server *s);

#endif
