/*
 * api/authfail.c - per-source token buckets for failed authentications (see api/authfail.h).
 */
#include "api/authfail.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS     4096
#define ADDR_MAX  16
#define MICRO     1000000LL /* tokens are kept in millionths */
#define SECOND_NS 1000000000LL

struct slot {
    unsigned char addr[ADDR_MAX];
    size_t len;
    int64_t tokens; /* millionths */
    int64_t at_ns;  /* when tokens was last brought up to date */
};

struct wd_authfail {
    pthread_mutex_t lock;
    int64_t rate;  /* tokens a second */
    int64_t burst; /* millionths */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    struct slot slots[SLOTS];
};

int wd_authfail_new(struct wd_authfail **out, int per_second, struct wd_error *err)
{
    struct wd_authfail *af = calloc(1, sizeof(*af));

    if (!af)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    pthread_mutex_init(&af->lock, NULL);
    af->rate = per_second;
    af->burst = 2 * (int64_t)per_second * MICRO;
    /* keyed, so a stranger cannot pick addresses that share a bucket with someone else's */
    crypto_shorthash_keygen(af->hash_key);
    *out = af;
    return 0;
}

void wd_authfail_free(struct wd_authfail *af)
{
    if (!af)
        return;
    pthread_mutex_destroy(&af->lock);
    free(af);
}

bool wd_authfail_charge(struct wd_authfail *af, const void *addr, size_t len, int64_t now_ns)
{
    unsigned char h[crypto_shorthash_BYTES];
    bool allowed;

    if (af->rate <= 0)
        return true;
    len = len > ADDR_MAX ? ADDR_MAX : len;
    crypto_shorthash(h, addr, len, af->hash_key);
    uint64_t index;
    memcpy(&index, h, sizeof(index));
    pthread_mutex_lock(&af->lock);
    struct slot *s = &af->slots[index % SLOTS];
    if (s->len != len || memcmp(s->addr, addr, len) != 0) { /* a new source takes the slot */
        memcpy(s->addr, addr, len);
        s->len = len;
        s->tokens = af->burst;
        s->at_ns = now_ns;
    }
    int64_t elapsed = now_ns - s->at_ns;
    if (elapsed > 0) {
        int64_t refill = elapsed >= 1000 * SECOND_NS ? af->burst : elapsed * af->rate / 1000;
        s->tokens = s->tokens + refill > af->burst ? af->burst : s->tokens + refill;
        s->at_ns = now_ns;
    }
    allowed = s->tokens >= MICRO;
    if (allowed)
        s->tokens -= MICRO;
    pthread_mutex_unlock(&af->lock);
    return allowed;
}
