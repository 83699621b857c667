/*
 * wallet/inflight.c - a mutex-protected hash set of in-flight idempotency keys.
 */
#include "wallet/inflight.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096

struct node {
    unsigned char digest[16];
    struct node *next;
};

struct wd_inflight {
    pthread_mutex_t mu;
    struct node *buckets[NBUCKETS];
};

static void digest_of(unsigned char out[16], const char *tenant, const char *scope, const char *key)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, (const unsigned char *)tenant, strlen(tenant) + 1);
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope) + 1);
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&st, out, 16);
}

static unsigned bucket_of(const unsigned char digest[16])
{
    return ((unsigned)digest[0] << 8 | digest[1]) % NBUCKETS;
}

struct wd_inflight *wd_inflight_new(void)
{
    struct wd_inflight *set = calloc(1, sizeof(*set));

    if (set)
        pthread_mutex_init(&set->mu, NULL);
    return set;
}

void wd_inflight_free(struct wd_inflight *set)
{
    if (!set)
        return;
    for (unsigned i = 0; i < NBUCKETS; i++) {
        struct node *n = set->buckets[i];
        while (n) {
            struct node *next = n->next;
            free(n);
            n = next;
        }
    }
    pthread_mutex_destroy(&set->mu);
    free(set);
}

bool wd_inflight_add(struct wd_inflight *set, const char *tenant, const char *scope,
                     const char *key)
{
    struct node *fresh = malloc(sizeof(*fresh));

    if (!fresh)
        return false;
    digest_of(fresh->digest, tenant, scope, key);
    unsigned b = bucket_of(fresh->digest);
    pthread_mutex_lock(&set->mu);
    for (struct node *n = set->buckets[b]; n; n = n->next) {
        if (memcmp(n->digest, fresh->digest, 16) == 0) {
            pthread_mutex_unlock(&set->mu);
            free(fresh);
            return false;
        }
    }
    fresh->next = set->buckets[b];
    set->buckets[b] = fresh;
    pthread_mutex_unlock(&set->mu);
    return true;
}

void wd_inflight_remove(struct wd_inflight *set, const char *tenant, const char *scope,
                        const char *key)
{
    unsigned char digest[16];
    struct node *gone = NULL;

    digest_of(digest, tenant, scope, key);
    unsigned b = bucket_of(digest);
    pthread_mutex_lock(&set->mu);
    for (struct node **p = &set->buckets[b]; *p; p = &(*p)->next) {
        if (memcmp((*p)->digest, digest, 16) == 0) {
            gone = *p;
            *p = gone->next;
            break;
        }
    }
    pthread_mutex_unlock(&set->mu);
    free(gone);
}
