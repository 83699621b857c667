/*
 * api/ratelimit.h - the per-tenant request rate limit (docs/API.md, "Rate limits"), shared by every
 * pod.
 *
 * Owns: deciding whether an authenticated request may go on. Each tenant has one token bucket
 * in Redis (db/bucket), refilled at RATE_LIMIT_RPS tokens a second up to RATE_LIMIT_BURST, and
 * every /api/v1 request needs one token, whichever pod serves it. A refused request is answered
 * 429 RATE_LIMITED with Retry-After before anything runs, so nothing is written or stored.
 *
 * Leases: asking Redis once per request would cost a round trip and a script run for each one,
 * so each HTTP thread takes tokens for a tenant in small leases sized to what that thread used
 * in the last WD_RATELIMIT_LEASE_WINDOW_MS (1 when traffic is light, at most burst / 32 and 256),
 * and drops what is left of a lease after WD_RATELIMIT_LEASE_TTL_MS. Tokens are always taken from
 * Redis before they are used, so all pods together never admit more than the bucket allows; what a
 * dropped lease held is lost to the tenant (a slight under-admission, never an over-admission).
 *
 * If Redis cannot be asked (down, slower than REDIS_TIMEOUT_MS, reconnecting), the request goes
 * on unchecked: money keeps moving, since balances and idempotency live in MySQL. That is
 * counted in wallet_rate_limit_unchecked_total and logged when it starts and when it ends.
 * Thread-safety: wd_ratelimit_check may be called from any thread; each thread has its own
 * Redis connection and leases (thread-specific data), freed when the thread exits.
 */
#ifndef WD_API_RATELIMIT_H
#define WD_API_RATELIMIT_H

#include "core/config.h"
#include "core/error.h"

#include <stdint.h>

#define WD_RATELIMIT_LEASE_WINDOW_MS 20
#define WD_RATELIMIT_LEASE_TTL_MS    40
#define WD_RATELIMIT_LEASE_MAX       256

/* One thread's tokens for one tenant. Zeroed means none. */
struct wd_ratelimit_lease {
    int64_t tokens;     /* leased and not used yet */
    int64_t expires_ns; /* the leased tokens are dropped then */
    int64_t window_ns;  /* start of the current counting window */
    int64_t used;       /* requests in the current window */
    int64_t used_last;  /* requests in the window before */
};

struct wd_ratelimit;

/* For ntenants tenants (numbered as wd_auth_verify numbers them). *out is owned by the caller;
 * cfg is borrowed for its life. 0 or -WD_E_NOMEM. */
int wd_ratelimit_new(struct wd_ratelimit **out, const struct wd_config *cfg, int ntenants,
                     struct wd_error *err);

/* Frees rl. Call after every thread that used it has exited. NULL is a no-op. */
void wd_ratelimit_free(struct wd_ratelimit *rl);

/*
 * Takes one of the tokens of tenant (named, and numbered 0..ntenants-1). 0: go on (also when the
 * limit is off or Redis could not be asked). -WD_E_RATE_LIMITED: refuse, with *retry_after_s the
 * whole seconds until a token is there (at least 1).
 */
int wd_ratelimit_check(struct wd_ratelimit *rl, const char *tenant, int tenant_ix,
                       int *retry_after_s);

/*
 * Pure parts, exposed for unit tests. wd_ratelimit_lease_use counts one request at now_ns and uses
 * a leased token if one is left and the lease has not expired: returns 0. Otherwise returns how
 * many tokens to ask Redis for: the requests of the busier of the last two windows, at least 1,
 * at most max_lease. wd_ratelimit_lease_grant records granted tokens, one of them used by the
 * request that asked (granted >= 1).
 */
int64_t wd_ratelimit_lease_use(struct wd_ratelimit_lease *l, int64_t now_ns, int64_t max_lease);
void wd_ratelimit_lease_grant(struct wd_ratelimit_lease *l, int64_t granted, int64_t now_ns);

/* The largest lease for a bucket of this size: burst / 32, within 1..WD_RATELIMIT_LEASE_MAX. */
int64_t wd_ratelimit_lease_max(int64_t burst);

/* Whole seconds for a Retry-After header from a wait in milliseconds: rounded up, at least 1. */
int wd_ratelimit_retry_after_s(int64_t wait_ms);

#endif
