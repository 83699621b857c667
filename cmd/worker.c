/*
 * cmd/worker.c - a worker process: start the parts, wait for SIGTERM, drain, stop, exit.
 */
#define _GNU_SOURCE
#include "cmd/worker.h"

#include "api/ratelimit.h"
#include "api/server.h"
#include "core/clock.h"
#include "core/log.h"
#include "shard/health.h"
#include "wallet/engine.h"
#include "wallet/sweeper.h"

#include <mysql.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SETTLE_MS 2000 /* for the last replies to leave, after the engine answered every op */

struct worker {
    struct api_context ctx;
    struct shard_health *health;
    struct wallet_engine *engine;
    struct wallet_sweeper *sweeper;
    struct api_server *server;
    struct api_ratelimit *ratelimit;
};

/*
 * The order matters: the engine answers every op first (queued ones 503, work in progress broken
 * off), so no connection is left suspended; libmicrohttpd aborts the process if its daemon is
 * stopped with a suspended connection. Then the sweeper (its submits now fail at once), the
 * replies are let out, and the HTTP daemon stops, joining the threads that use the rate limit.
 */
static void worker_stop_parts(struct worker *w)
{
    wallet_engine_shutdown(w->engine);
    wallet_sweeper_stop(w->sweeper);
    if (w->server && api_server_settle(w->server, SETTLE_MS) > 0)
        wd_warn("stopping with connections whose requests were not answered");
    api_server_stop(w->server);
    api_ratelimit_free(w->ratelimit);
    wallet_engine_free(w->engine);
    shard_health_stop(w->health);
}

static int worker_start_parts(struct worker *w, int listen_fd, struct wd_error *err)
{
    int rc = shard_health_start(&w->health, w->ctx.cfg, err);

    if (rc == 0)
        rc = wallet_engine_start(&w->engine, w->ctx.cfg, err);
    w->ctx.health = w->health;
    w->ctx.engine = w->engine;
    if (rc == 0 && w->ctx.worker_index == 0)
        rc = wallet_sweeper_start(&w->sweeper, w->ctx.cfg, w->engine, err);
    if (rc == 0)
        rc = api_ratelimit_new(&w->ratelimit, w->ctx.cfg, w->ctx.keys->ntenants, err);
    w->ctx.ratelimit = w->ratelimit;
    if (rc == 0)
        rc = api_server_start(&w->server, &w->ctx, listen_fd, err);
    return rc;
}

/* Blocks until SIGTERM or SIGINT. */
static void wait_for_stop(const sigset_t *set)
{
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig == SIGTERM || sig == SIGINT)
            return;
    }
}

/* Ready is already 503: keep serving through the drain delay, then stop taking connections and
 * let the requests in flight finish (bounded by SHUTDOWN_TIMEOUT_SECONDS). */
static void drain(struct worker *w)
{
    const struct wd_config *cfg = w->ctx.cfg;

    wd_info("draining: ready is 503; serving for %d s more", cfg->drain_delay_s);
    wd_clock_sleep_ns((int64_t)cfg->drain_delay_s * 1000000000LL);
    api_server_quiesce(w->server);
    int64_t deadline = wd_clock_mono_ns() + (int64_t)cfg->shutdown_timeout_s * 1000000000LL;
    while (api_server_inflight(w->server) > 0 && wd_clock_mono_ns() < deadline)
        wd_clock_sleep_ns(10000000);
    if (api_server_inflight(w->server) > 0)
        wd_warn("shutdown timeout: %d requests still in flight", api_server_inflight(w->server));
}

int worker_run(const struct wd_config *cfg,
               const struct shard_map *map,
               const struct api_keys *keys,
               int listen_fd,
               int index)
{
    struct worker w;
    struct wd_error err = {0};
    sigset_t set;

    memset(&w, 0, sizeof(w));
    w.ctx.cfg = cfg;
    w.ctx.map = map;
    w.ctx.keys = keys;
    w.ctx.worker_index = index;
    atomic_init(&w.ctx.draining, false);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a worker never outlives its master */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread: they all inherit it */
    mysql_thread_init();
    if (worker_start_parts(&w, listen_fd, &err) < 0) {
        wd_error("worker %d failed to start: %s", index, err.message);
        worker_stop_parts(&w);
        return 1;
    }
    wd_info("worker %d serving", index);
    wait_for_stop(&set);
    atomic_store(&w.ctx.draining, true);
    drain(&w);
    worker_stop_parts(&w);
    mysql_thread_end();
    wd_info("worker %d stopped", index);
    return 0;
}
