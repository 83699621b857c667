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

#define SETTLE_MS     2000 /* for the last replies to leave, after the engine answered every op */
#define KEYS_CHECK_MS 1000 /* how often the API key file is looked at for a change */
#define TENANTS_SPARE 1024 /* tenants a reload may add that the rate limit still counts */

struct worker {
    struct wd_context ctx;
    struct wd_health *health;
    struct wd_engine *engine;
    struct wd_sweeper *sweeper;
    struct wd_server *server;
    struct wd_ratelimit *ratelimit;
};

/*
 * The order matters: the engine answers every op first (queued ones 503, work in progress broken
 * off), so no connection is left suspended; libmicrohttpd aborts the process if its daemon is
 * stopped with a suspended connection. Then the sweeper (its submits now fail at once), the
 * replies are let out, and the HTTP daemon stops, joining the threads that use the rate limit.
 */
static void worker_stop_parts(struct worker *w)
{
    wd_engine_shutdown(w->engine);
    wd_sweeper_stop(w->sweeper);
    if (w->server && wd_server_settle(w->server, SETTLE_MS) > 0)
        wd_log_warn("stopping with connections whose requests were not answered");
    if (wd_server_stop(w->server) < 0)
        return; /* HTTP threads may still run: what they use is left to the process's exit */
    wd_ratelimit_free(w->ratelimit);
    wd_engine_free(w->engine);
    wd_health_stop(w->health);
}

static int worker_start_parts(struct worker *w, int listen_fd, int admin_fd, struct wd_error *err)
{
    int rc = wd_health_start(&w->health, w->ctx.cfg, err);

    if (rc == 0)
        rc = wd_engine_start(&w->engine, w->ctx.cfg, w->health, err);
    w->ctx.health = w->health;
    w->ctx.engine = w->engine;
    if (rc == 0 && w->ctx.worker_index == 0)
        rc = wd_sweeper_start(&w->sweeper, w->ctx.cfg, w->engine, err);
    if (rc == 0)
        rc = wd_ratelimit_new(&w->ratelimit, w->ctx.cfg, w->ctx.keys->tenants + TENANTS_SPARE, err);
    w->ctx.ratelimit = w->ratelimit;
    if (rc == 0)
        rc = wd_server_start(&w->server, &w->ctx, listen_fd, admin_fd, err);
    return rc;
}

/* Loads the API key file again; a file that does not load leaves the keys in use. */
static void reload_keys(struct wd_auth_live *keys, const char *why)
{
    struct wd_error err = {0};

    if (wd_auth_reload(keys, &err) < 0)
        wd_log_error("API keys not reloaded (%s), the old ones stay: %s", why, err.message);
    else
        wd_log_info("API keys reloaded (%s): %zu keys", why, keys->keys.n);
}

/* Blocks until SIGTERM or SIGINT, reloading the API keys on SIGHUP or when their file changes. */
static void wait_for_stop(const sigset_t *set, struct wd_auth_live *keys)
{
    struct timespec tick = {KEYS_CHECK_MS / 1000, (KEYS_CHECK_MS % 1000) * 1000000L};

    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig == SIGHUP)
            reload_keys(keys, "SIGHUP");
        else if (wd_auth_changed(keys))
            reload_keys(keys, "the file changed");
    }
}

/* Ready is already 503: keep serving through the drain delay, then stop taking connections and
 * let the requests in flight finish (bounded by SHUTDOWN_TIMEOUT_SECONDS). */
static void drain(struct worker *w)
{
    const struct wd_config *cfg = w->ctx.cfg;

    wd_log_info("draining: ready is 503; serving for %d s more", cfg->drain_delay_s);
    wd_clock_sleep_ns((int64_t)cfg->drain_delay_s * 1000000000LL);
    wd_server_quiesce(w->server);
    int64_t deadline = wd_clock_mono_ns() + (int64_t)cfg->shutdown_timeout_s * 1000000000LL;
    while (wd_server_inflight(w->server) > 0 && wd_clock_mono_ns() < deadline)
        wd_clock_sleep_ns(10000000);
    if (wd_server_inflight(w->server) > 0)
        wd_log_warn("shutdown timeout: %d requests still in flight", wd_server_inflight(w->server));
}

int wd_worker_run(const struct wd_config *cfg, const struct wd_map *map, struct wd_auth_live *keys,
                  int listen_fd, int admin_fd, int index)
{
    struct worker w;
    struct wd_error err = {0};
    sigset_t set;

    memset(&w, 0, sizeof(w));
    wd_log_start(cfg->log_buffer_bytes); /* the fork left this process without a log thread */
    w.ctx.cfg = cfg;
    w.ctx.map = map;
    w.ctx.keys = keys;
    w.ctx.worker_index = index;
    atomic_init(&w.ctx.draining, false);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a worker never outlives its master */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread: they all inherit it */
    if (wd_auth_changed(keys)) /* changed since the master loaded it (a restarted worker) */
        reload_keys(keys, "the file changed");
    mysql_thread_init();
    if (worker_start_parts(&w, listen_fd, admin_fd, &err) < 0) {
        wd_log_error("worker %d failed to start: %s", index, err.message);
        worker_stop_parts(&w);
        wd_log_stop(1000);
        return 1;
    }
    wd_log_info("worker %d serving", index);
    wait_for_stop(&set, keys);
    atomic_store(&w.ctx.draining, true);
    drain(&w);
    worker_stop_parts(&w);
    mysql_thread_end();
    wd_log_info("worker %d stopped", index);
    wd_log_stop(1000);
    return 0;
}
