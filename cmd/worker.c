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

#include <errno.h>
#include <mysql.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct worker {
    struct api_context ctx;
    struct shard_health *health;
    struct wallet_engine *engine;
    struct wallet_sweeper *sweeper;
    struct api_server *server;
    struct api_ratelimit *ratelimit;
};

static void worker_stop_parts(struct worker *w)
{
    api_server_stop(w->server); /* joins the threads that use the rate limit */
    api_ratelimit_free(w->ratelimit);
    wallet_sweeper_stop(w->sweeper);
    wallet_engine_stop(w->engine);
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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Ready is already 503: keep serving through the drain delay, then stop taking connections and
 * let the requests in flight finish (bounded by SHUTDOWN_TIMEOUT_SECONDS). */
static void drain(struct worker *w)
{
    const struct wd_config *cfg = w->ctx.cfg;

    wd_info("draining: ready is 503; serving for %d s more", cfg->drain_delay_s);
    sleep_ms(cfg->drain_delay_s * 1000);
    api_server_quiesce(w->server);
    int64_t deadline = wd_clock_mono_ns() + (int64_t)cfg->shutdown_timeout_s * 1000000000LL;
    while (api_server_inflight(w->server) > 0 && wd_clock_mono_ns() < deadline)
        sleep_ms(10);
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
