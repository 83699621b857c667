/*
 * api/server.h - the HTTP edge of one worker process: libmicrohttpd with a thread pool.
 *
 * Owns: the daemon on the listen socket the master opened, the request lifecycle (first call
 * allocates the request, later calls consume the body, the reply is queued once the body is
 * complete (but for 400 MALFORMED_REQUEST, queued at once to close the connection), and the
 * request is freed in the completion callback), suspending a connection while
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

struct wd_auth_live;
struct wd_request;
struct wd_ratelimit;
struct wd_map;
struct wd_health;
struct wd_engine;

/* Everything handlers need; owned by the worker, borrowed by the server. */
struct wd_context {
    const struct wd_config *cfg;
    const struct wd_map *map;
    struct wd_auth_live *keys; /* replaced while serving (SIGHUP, file changed) */
    struct wd_ratelimit *ratelimit;
    struct wd_engine *engine;
    struct wd_health *health;
    atomic_bool draining; /* set on SIGTERM: /health/ready answers 503 from then on */
    int worker_index;
};

struct wd_server;

/*
 * Starts serving on listen_fd, and on admin_fd (ADMIN_PORT) unless it is -1; both are owned by
 * the caller. With ADMIN_PORT the probes and /metrics are answered there only (404
 * ROUTE_NOT_FOUND on PORT) and the API on PORT only, so the Service the load balancer reaches
 * need not expose them. *out is owned by the caller.
 */
int wd_server_start(struct wd_server **out, struct wd_context *ctx, int listen_fd, int admin_fd,
                    struct wd_error *err);

/*
 * Hands req->op to the engine (wallet/engine.h); the connection is suspended and the reply is
 * queued when the op is done. If the engine refuses the op at once, the request is answered with
 * that error. Called by handlers on libmicrohttpd's threads.
 */
void wd_server_submit(struct wd_request *req);

/* Stops accepting new connections; requests already received are still answered. */
void wd_server_quiesce(struct wd_server *s);

/* Requests received and not yet completed. */
int wd_server_inflight(struct wd_server *s);

/*
 * Waits up to timeout_ms until no connection is suspended (every op it waited for was answered
 * and libmicrohttpd has taken the connection back) and no request is in flight (replies sent).
 * Returns the connections still suspended. Call after wd_engine_shutdown, which answers
 * every op.
 */
int wd_server_settle(struct wd_server *s, int timeout_ms);

/* Stops the daemon, closing every connection, and frees s; 0. Every suspended connection must
 * have been resumed (wd_server_settle), or libmicrohttpd aborts the process: then the daemon and
 * s are left running, to end with the process, and -1 says that its threads may still use what
 * the caller handed them (the context's engine, rate limit and health), which must not be freed. */
int wd_server_stop(struct wd_server *s);

#endif
