/*
 * api/ratelimit.c - per-thread Redis buckets and leases, the fail-open rule, its logs and
 * metrics.
 */
#include "api/ratelimit.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/bucket.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define NS_PER_MS 1000000LL

struct thread_state {
    struct wd_bucket bucket;
    struct wd_ratelimit_lease leases[]; /* one per tenant, by its number */
};

struct wd_ratelimit {
    const struct wd_config *cfg;
    pthread_key_t key; /* this thread's struct thread_state */
    int ntenants;
    int64_t max_lease;
    atomic_bool unchecked; /* Redis could not be asked last time: log only the transitions */
};

int64_t wd_ratelimit_lease_max(int64_t burst)
{
    int64_t n = burst / 32;

    return n < 1 ? 1 : n > WD_RATELIMIT_LEASE_MAX ? WD_RATELIMIT_LEASE_MAX : n;
}

int64_t wd_ratelimit_lease_use(struct wd_ratelimit_lease *l, int64_t now_ns, int64_t max_lease)
{
    int64_t elapsed = now_ns - l->window_ns;

    if (elapsed >= WD_RATELIMIT_LEASE_WINDOW_MS * NS_PER_MS || elapsed < 0) {
        l->used_last = elapsed < 2 * WD_RATELIMIT_LEASE_WINDOW_MS * NS_PER_MS ? l->used : 0;
        l->used = 0;
        l->window_ns = now_ns;
    }
    l->used++;
    if (l->tokens > 0 && now_ns < l->expires_ns) {
        l->tokens--;
        return 0;
    }
    l->tokens = 0;
    int64_t want = l->used_last > l->used ? l->used_last : l->used;
    return want < 1 ? 1 : want > max_lease ? max_lease : want;
}

void wd_ratelimit_lease_grant(struct wd_ratelimit_lease *l, int64_t granted, int64_t now_ns)
{
    l->tokens = granted > 1 ? granted - 1 : 0;
    l->expires_ns = now_ns + WD_RATELIMIT_LEASE_TTL_MS * NS_PER_MS;
}

int wd_ratelimit_retry_after_s(int64_t wait_ms)
{
    if (wait_ms <= 1000)
        return 1;
    int64_t s = wait_ms / 1000 + (wait_ms % 1000 != 0);
    return s > 86400 ? 86400 : (int)s;
}

static void thread_state_free(void *p)
{
    struct thread_state *ts = p;

    wd_bucket_close(&ts->bucket);
    free(ts);
}

int wd_ratelimit_new(struct wd_ratelimit **out, const struct wd_config *cfg, int ntenants,
                     struct wd_error *err)
{
    struct wd_ratelimit *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return wd_error_set(err, -WD_E_NOMEM, "rate limit: out of memory");
    if (pthread_key_create(&rl->key, thread_state_free) != 0) {
        free(rl);
        return wd_error_set(err, -WD_E_NOMEM, "rate limit: no thread-specific key");
    }
    rl->cfg = cfg;
    rl->ntenants = ntenants;
    rl->max_lease = wd_ratelimit_lease_max(cfg->rate_limit_burst);
    atomic_init(&rl->unchecked, false);
    *out = rl;
    return 0;
}

void wd_ratelimit_free(struct wd_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_key_delete(rl->key);
    free(rl);
}

static struct thread_state *thread_state(struct wd_ratelimit *rl)
{
    struct thread_state *ts = pthread_getspecific(rl->key);

    if (ts)
        return ts;
    ts = calloc(1, sizeof(*ts) + (size_t)rl->ntenants * sizeof(ts->leases[0]));
    if (!ts)
        return NULL;
    wd_bucket_init(&ts->bucket, &rl->cfg->redis, rl->cfg->redis_timeout_ms);
    if (pthread_setspecific(rl->key, ts) != 0) {
        free(ts);
        return NULL;
    }
    return ts;
}

/* Redis could not be asked: let the request through, count it, log when this starts. */
static int let_through(struct wd_ratelimit *rl, const struct wd_error *err)
{
    wd_metrics_rate_limit_unchecked();
    if (!atomic_load_explicit(&rl->unchecked, memory_order_relaxed) &&
        !atomic_exchange(&rl->unchecked, true))
        wd_log_warn("rate limit: redis unavailable, requests pass unchecked: %s", err->message);
    return 0;
}

int wd_ratelimit_check(struct wd_ratelimit *rl, const char *tenant, int tenant_ix,
                       int *retry_after_s)
{
    const struct wd_config *cfg = rl->cfg;
    struct wd_error err = {0};
    struct wd_bucket_result res;

    if (cfg->rate_limit_rps <= 0 || tenant_ix < 0 || tenant_ix >= rl->ntenants)
        return 0;
    struct thread_state *ts = thread_state(rl);
    if (!ts) {
        wd_error_set(&err, -WD_E_NOMEM, "out of memory");
        return let_through(rl, &err);
    }
    struct wd_ratelimit_lease *l = &ts->leases[tenant_ix];
    int64_t now = wd_clock_mono_ns();
    int64_t want = wd_ratelimit_lease_use(l, now, rl->max_lease);
    if (want == 0)
        return 0;
    if (wd_bucket_take(&ts->bucket, tenant, cfg->rate_limit_rps, cfg->rate_limit_burst, want, &res,
                       &err) < 0)
        return let_through(rl, &err);
    if (atomic_load_explicit(&rl->unchecked, memory_order_relaxed) &&
        atomic_exchange(&rl->unchecked, false))
        wd_log_info("rate limit: redis answers again, limits apply");
    if (res.granted >= 1) {
        wd_ratelimit_lease_grant(l, res.granted, now);
        return 0;
    }
    wd_metrics_rate_limited();
    *retry_after_s = wd_ratelimit_retry_after_s(res.retry_after_ms);
    return -WD_E_RATE_LIMITED;
}
