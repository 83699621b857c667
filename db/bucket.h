/*
 * db/bucket.h - token buckets kept in Redis, shared by every pod: the per-tenant rate limit.
 *
 * Owns: the Lua script that refills a bucket and takes from it atomically inside Redis, loading
 * it (SCRIPT LOAD, and again after NOSCRIPT when Redis restarted) and running it (EVALSHA), and
 * the key layout walletd:rl:{<name>}. Time is Redis's own clock (TIME inside the script), so pods
 * with skewed clocks still share one bucket correctly. A bucket's key expires once it would be
 * full again: a missing key is a full bucket.
 * Thread-safety: none, like db/redis: one struct wd_bucket per thread.
 */
#ifndef WD_DB_BUCKET_H
#define WD_DB_BUCKET_H

#include "core/error.h"
#include "db/redis.h"

#include <stdint.h>

struct wd_bucket {
    struct wd_redis redis;
    char sha[41]; /* the script's SHA-1 as Redis reported it; "" until loaded */
};

struct wd_bucket_result {
    int64_t granted;        /* tokens taken, 0..want; 0 means refused */
    int64_t retry_after_ms; /* refused: when the next token will be there */
    int64_t remaining;      /* whole tokens left after this take */
};

/* url is borrowed for the life of b (it comes from the immutable configuration). */
void wd_bucket_init(struct wd_bucket *b, const struct wd_url *url, int timeout_ms);

/* Drops the connection. */
void wd_bucket_close(struct wd_bucket *b);

/*
 * Takes up to want tokens (as many whole ones as there are) from the bucket called name,
 * refilled at rate tokens a second and holding at most burst (rate, burst, want >= 1). 0 with
 * *out filled, or -WD_E_SERVICE_UNAVAILABLE with err saying why (Redis unreachable, or an
 * answer that is not the script's).
 */
int wd_bucket_take(struct wd_bucket *b, const char *name, int64_t rate, int64_t burst, int64_t want,
                   struct wd_bucket_result *out, struct wd_error *err);

#endif
