/*
 * shard/hash.c - account ID validation and the account -> bucket hash (BLAKE2b via libsodium).
 */
#include "shard/hash.h"

#include <sodium.h>

bool wd_hash_account_valid(const char *s, size_t len)
{
    if (len < 1 || len > WD_ACCOUNT_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
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
