/*
 * db/redis.c - hiredis connection management: connect with timeout, AUTH, SELECT, PING.
 */
#include "db/redis.h"

#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_BACKOFF_NS 200000000LL

void wd_redis_init(struct wd_redis *r, const struct wd_url *url, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    r->url = url;
    r->timeout_ms = timeout_ms;
}

void wd_redis_close(struct wd_redis *r)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

/* Sends argv on a connected context. NULL with err set if the connection broke: it is dropped
 * and the next call reconnects after the back-off (hiredis's errors are sticky). */
static redisReply *send_argv(struct wd_redis *r, int argc, const char **argv, struct wd_error *err)
{
    redisReply *reply = redisCommandArgv(r->ctx, argc, argv, NULL);

    if (!reply) {
        wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: %s", r->ctx->errstr);
        wd_redis_close(r);
        r->retry_after_ns = wd_clock_mono_ns() + REDIS_BACKOFF_NS;
    }
    return reply;
}

/* Runs one command given as argv on a connected context; checks for an error reply and, if
 * expect is set, for that status reply. 0 or -1 with err set (the connection is dropped). */
static int command(struct wd_redis *r, int argc, const char **argv, const char *expect,
                   struct wd_error *err)
{
    redisReply *reply = send_argv(r, argc, argv, err);

    if (!reply)
        return -1;
    int bad = reply->type == REDIS_REPLY_ERROR ||
              (expect && (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, expect) != 0));
    if (bad) {
        wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: %s: unexpected reply %.80s", argv[0],
                     reply->str ? reply->str : "");
        wd_redis_close(r);
    }
    freeReplyObject(reply);
    return bad ? -1 : 0;
}

static int handshake(struct wd_redis *r, struct wd_error *err)
{
    if (r->url->password[0]) {
        const char *argv[] = {"AUTH", r->url->password};
        if (command(r, 2, argv, "OK", err) < 0)
            return -1;
    }
    if (r->url->path[0] && strcmp(r->url->path, "0") != 0) {
        const char *argv[] = {"SELECT", r->url->path};
        if (command(r, 2, argv, "OK", err) < 0)
            return -1;
    }
    return 0;
}

int wd_redis_open(struct wd_redis *r, struct wd_error *err)
{
    if (r->ctx)
        return 0;
    int64_t now = wd_clock_mono_ns();
    if (now < r->retry_after_ns)
        return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: unavailable (retrying)");
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    r->ctx = redisConnectWithTimeout(r->url->host, r->url->port, tv);
    if (!r->ctx || r->ctx->err) {
        wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: connect: %s",
                     r->ctx ? r->ctx->errstr : "out of memory");
        wd_redis_close(r);
        r->retry_after_ns = now + REDIS_BACKOFF_NS;
        return -WD_E_SERVICE_UNAVAILABLE;
    }
    if (redisSetTimeout(r->ctx, tv) != REDIS_OK || handshake(r, err) < 0) {
        wd_redis_close(r);
        r->retry_after_ns = now + REDIS_BACKOFF_NS;
        return -WD_E_SERVICE_UNAVAILABLE;
    }
    return 0;
}

int wd_redis_ping(struct wd_redis *r, struct wd_error *err)
{
    int rc = wd_redis_open(r, err);

    if (rc < 0)
        return rc;
    const char *argv[] = {"PING"};
    return command(r, 1, argv, "PONG", err) < 0 ? -WD_E_SERVICE_UNAVAILABLE : 0;
}

redisReply *wd_redis_command(struct wd_redis *r, int argc, const char **argv, struct wd_error *err)
{
    return wd_redis_open(r, err) < 0 ? NULL : send_argv(r, argc, argv, err);
}
