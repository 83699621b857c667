/*
 * cmd/worker.h - one walletd worker process.
 *
 * Owns: a worker's life after fork: start the dependency checker, the engine, the sweeper (in
 * worker 0 only) and the HTTP server on the listen socket the master handed over; reload the API
 * keys on SIGHUP or when their file changes (checked every KEYS_CHECK_MS); wait for SIGTERM; then
 * drain (ready turns 503 at once, serving goes on for DRAIN_DELAY_SECONDS, then
 * new connections stop, in-flight requests finish, everything stops) and exit 0.
 * Thread-safety: wd_worker_run is the worker process's main thread; it starts the others.
 */
#ifndef WD_CMD_WORKER_H
#define WD_CMD_WORKER_H

#include "api/auth.h"
#include "core/config.h"
#include "shard/map.h"

/* Runs the worker until it has drained; returns the process exit code. listen_fd: PORT's
 * socket; admin_fd: ADMIN_PORT's, or -1. */
int wd_worker_run(const struct wd_config *cfg, const struct wd_map *map, struct wd_auth_live *keys,
                  int listen_fd, int admin_fd, int index);

#endif
