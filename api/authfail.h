/*
 * api/authfail.h - the budget of failed authentications per source address.
 *
 * Owns: one token bucket per client address (direct-mapped in a fixed table, so a flood from many
 * addresses costs no memory): AUTH_FAILURES_PER_SECOND tokens a second, twice that at once. Each
 * failed authentication takes a token; a source with none left is answered 429 instead of 401,
 * its connection closed and its access line not written, so a stranger cannot make a pod hash
 * keys or write log lines without bound. Authenticated requests never touch it. Sources are the
 * TCP peers walletd sees (behind the ALB: its nodes), never a forwarded header anyone can send.
 * Thread-safe (one mutex, taken only on the failure path).
 */
#ifndef WD_API_AUTHFAIL_H
#define WD_API_AUTHFAIL_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wd_authfail;

/* A budget of per_second failures a second per source (0: unlimited). *out owned by the
 * caller. 0 or -WD_E_NOMEM. */
int wd_authfail_new(struct wd_authfail **out, int per_second, struct wd_error *err);

/* NULL is a no-op. */
void wd_authfail_free(struct wd_authfail *af);

/* One failed authentication from the address addr[0..len) at now_ns: true while the source is
 * within its budget (answer 401), false once it is over (answer 429). */
bool wd_authfail_charge(struct wd_authfail *af, const void *addr, size_t len, int64_t now_ns);

#endif
