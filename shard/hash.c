/*
 * shard/hash.c - account ID validation and the account -> bucket hash (BLAKE2b via libsodium).
 */
#include "shard/hash.h"

#include "core/text.h"

#include <sodium.h>

bool wd_hash_account_valid(const char *s, size_t len)
{
    return wd_text_valid(s, len, WD_ACCOUNT_MAX, WD_TEXT_ID);
}

uint32_t wd_hash_bucket(const char *s, size_t len)
{
    unsigned char digest[16];
    uint64_t value = 0;

    crypto_generichash(digest, sizeof(digest), (const unsigned char *)s, len, NULL, 0);
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | digest[i];
    return (uint32_t)(value % WD_BUCKETS);
}
