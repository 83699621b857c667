/*
 * db/bucket.c - the token-bucket script and running it with EVALSHA.
 */
#include "db/bucket.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * KEYS[1] the bucket; ARGV rate (tokens a second), burst (capacity), want (tokens asked for).
 * The hash holds the tokens left (t, fractional) and when that was computed (ts, Redis ms).
 * Grants as many whole tokens as are there, up to want. Returns {granted, ms until one token
 * is there (0 if granted), whole tokens left}.
 */
static const char bucket_script[] =
    "local rate = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local want = tonumber(ARGV[3])\n"
    "local clock = redis.call('TIME')\n"
    "local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local tokens = tonumber(b[1])\n"
    "local ts = tonumber(b[2])\n"
    "if tokens == nil or ts == nil then\n"
    "  tokens = burst\n"
    "  ts = now\n"
    "elseif now > ts then\n"
    "  tokens = tokens + (now - ts) * rate / 1000\n"
    "  ts = now\n"
    "end\n"
    "if tokens > burst then tokens = burst end\n"
    "local granted = math.min(want, math.floor(tokens))\n"
    "local wait = 0\n"
    "if granted >= 1 then\n"
    "  tokens = tokens - granted\n"
    "else\n"
    "  granted = 0\n"
    "  wait = math.ceil((1 - tokens) * 1000 / rate)\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 't', tokens, 'ts', ts)\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)\n"
    "return {granted, wait, math.floor(tokens)}\n";

void wd_bucket_init(struct wd_bucket *b, const struct wd_url *url, int timeout_ms)
{
    memset(b, 0, sizeof(*b));
    wd_redis_init(&b->redis, url, timeout_ms);
}

void wd_bucket_close(struct wd_bucket *b)
{
    wd_redis_close(&b->redis);
}

static int bucket_load(struct wd_bucket *b, struct wd_error *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", bucket_script};
    redisReply *reply = wd_redis_command(&b->redis, 3, argv, err);

    if (!reply)
        return -WD_E_SERVICE_UNAVAILABLE;
    int rc = 0;
    if (reply->type == REDIS_REPLY_STRING && reply->len == sizeof(b->sha) - 1)
        memcpy(b->sha, reply->str, sizeof(b->sha));
    else
        rc = wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE,
                          "redis: SCRIPT LOAD: unexpected reply %.80s",
                          reply->str ? reply->str : "");
    freeReplyObject(reply);
    return rc;
}

/* Reads {allowed, wait, remaining} into out. */
static int bucket_parse(const redisReply *reply, struct wd_bucket_result *out, struct wd_error *err)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: bucket: unexpected reply %.80s",
                            reply->str ? reply->str : "");
    for (size_t i = 0; i < 3; i++)
        if (reply->element[i]->type != REDIS_REPLY_INTEGER)
            return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: bucket: non-integer reply");
    out->granted = reply->element[0]->integer;
    out->retry_after_ms = reply->element[1]->integer;
    out->remaining = reply->element[2]->integer;
    return 0;
}

int wd_bucket_take(struct wd_bucket *b, const char *name, int64_t rate, int64_t burst, int64_t want,
                   struct wd_bucket_result *out, struct wd_error *err)
{
    char key[128], rate_s[24], burst_s[24], want_s[24];

    snprintf(key, sizeof(key), "walletd:rl:{%s}", name);
    snprintf(rate_s, sizeof(rate_s), "%lld", (long long)rate);
    snprintf(burst_s, sizeof(burst_s), "%lld", (long long)burst);
    snprintf(want_s, sizeof(want_s), "%lld", (long long)want);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!b->sha[0] && bucket_load(b, err) < 0)
            return -WD_E_SERVICE_UNAVAILABLE;
        const char *argv[] = {"EVALSHA", b->sha, "1", key, rate_s, burst_s, want_s};
        redisReply *reply = wd_redis_command(&b->redis, 7, argv, err);
        if (!reply)
            return -WD_E_SERVICE_UNAVAILABLE;
        bool noscript = reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0;
        int rc = noscript ? 0 : bucket_parse(reply, out, err);
        freeReplyObject(reply);
        if (!noscript)
            return rc;
        b->sha[0] = '\0'; /* Redis restarted or was flushed: load the script again */
    }
    return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "redis: bucket script not kept by redis");
}
