/*
 * db/redis.h - one Redis connection (hiredis), reconnecting after errors.
 *
 * Owns: connecting to REDIS_URL (redis://[:password@]host[:port][/db]) with timeouts, AUTH and
 * SELECT, and hiredis's sticky error rule: once a context reports an error it is dropped and the
 * next call reconnects (after a short back-off). Users: the readiness check (shard/health) and
 * the shared per-tenant rate limit (db/bucket).
 * Thread-safety: none. One context per thread, never shared.
 */
#ifndef WD_DB_REDIS_H
#define WD_DB_REDIS_H

#include "core/error.h"
#include "core/url.h"

#include <hiredis/hiredis.h>
#include <stdint.h>

struct wd_redis {
    redisContext *ctx;        /* NULL while disconnected */
    const struct wd_url *url; /* borrowed from the immutable configuration */
    int timeout_ms;
    int64_t retry_after_ns;
};

void wd_redis_init(struct wd_redis *r, const struct wd_url *url, int timeout_ms);

/* Drops the connection. */
void wd_redis_close(struct wd_redis *r);

/* Connects if needed. 0 or -WD_E_SERVICE_UNAVAILABLE with err saying why. */
int wd_redis_open(struct wd_redis *r, struct wd_error *err);

/* Connects if needed and sends PING. 0 or -WD_E_SERVICE_UNAVAILABLE. */
int wd_redis_ping(struct wd_redis *r, struct wd_error *err);

/*
 * Connects if needed and runs one command given as argv (lengths from strlen). Returns the
 * reply, which the caller frees with freeReplyObject; an error reply is a reply. NULL with err
 * set (-WD_E_SERVICE_UNAVAILABLE) if Redis could not be reached or the connection broke; the
 * connection is then dropped and the next call reconnects.
 */
redisReply *wd_redis_command(struct wd_redis *r, int argc, const char **argv, struct wd_error *err);

#endif
