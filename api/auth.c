/*
 * api/auth.c - API key generation, the key file and constant-time verification (libsodium).
 */
#define _GNU_SOURCE
#include "api/auth.h"

#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KEY_PREFIX     "wdk_"
#define KEY_PREFIX_LEN 4
#define SECRET_BYTES   32
#define SECRET_CHARS   43 /* base64url, no padding, of 32 bytes */

bool wd_auth_tenant_valid(const char *s)
{
    return wd_text_valid(s, strlen(s), WD_TENANT_MAX, WD_TEXT_NAME);
}

static void hash_key(unsigned char out[32], const char *key, size_t len)
{
    crypto_generichash(out, 32, (const unsigned char *)key, len, NULL, 0);
}

static bool is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* Format check of a presented key; false for anything that cannot be one of ours. */
static bool key_well_formed(const char *key, size_t len)
{
    if (len != WD_AUTH_KEY_LEN || memcmp(key, KEY_PREFIX, KEY_PREFIX_LEN) != 0 ||
        key[KEY_PREFIX_LEN + WD_AUTH_KEY_ID_LEN] != '_')
        return false;
    if (!is_lower_hex(key + KEY_PREFIX_LEN, WD_AUTH_KEY_ID_LEN))
        return false;
    for (size_t i = KEY_PREFIX_LEN + WD_AUTH_KEY_ID_LEN + 1; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int wd_auth_generate(const char *tenant, char key[WD_AUTH_KEY_LEN + 1], char *line, size_t linelen,
                     struct wd_error *err)
{
    unsigned char id[WD_AUTH_KEY_ID_LEN / 2], secret[SECRET_BYTES], hash[32];
    char hash_hex[65];

    if (!wd_auth_tenant_valid(tenant))
        return wd_error_set(err, -WD_E_VALIDATION_ERROR,
                            "tenant must be 1-64 characters of [A-Za-z0-9_.-]");
    randombytes_buf(id, sizeof(id));
    randombytes_buf(secret, sizeof(secret));
    memcpy(key, KEY_PREFIX, KEY_PREFIX_LEN);
    sodium_bin2hex(key + KEY_PREFIX_LEN, WD_AUTH_KEY_ID_LEN + 1, id, sizeof(id));
    key[KEY_PREFIX_LEN + WD_AUTH_KEY_ID_LEN] = '_';
    sodium_bin2base64(key + KEY_PREFIX_LEN + WD_AUTH_KEY_ID_LEN + 1, SECRET_CHARS + 1, secret,
                      sizeof(secret), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof(secret));
    hash_key(hash, key, WD_AUTH_KEY_LEN);
    sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));
    snprintf(line, linelen, "%.*s %s %s\n", WD_AUTH_KEY_ID_LEN, key + KEY_PREFIX_LEN, tenant,
             hash_hex);
    return 0;
}

/* Parses one non-comment line of the key file into e. 0 or -1. */
static int parse_line(char *text, struct wd_auth_entry *e)
{
    char *save = NULL;
    char *id = strtok_r(text, " \t", &save);
    char *tenant = strtok_r(NULL, " \t", &save);
    char *hash = strtok_r(NULL, " \t", &save);

    if (!id || !tenant || !hash || strtok_r(NULL, " \t", &save))
        return -1;
    if (strlen(id) != WD_AUTH_KEY_ID_LEN || !is_lower_hex(id, WD_AUTH_KEY_ID_LEN) ||
        !wd_auth_tenant_valid(tenant) || strlen(hash) != 64 || !is_lower_hex(hash, 64))
        return -1;
    memcpy(e->key_id, id, WD_AUTH_KEY_ID_LEN + 1);
    snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
    size_t bin_len = 0;
    if (sodium_hex2bin(e->hash, sizeof(e->hash), hash, 64, NULL, &bin_len, NULL) != 0 ||
        bin_len != 32)
        return -1;
    return 0;
}

static int add_entry(struct wd_auth *keys, struct wd_auth_entry *e)
{
    e->tenant_ix = -1;
    for (size_t i = 0; i < keys->n; i++) {
        if (strcmp(keys->entries[i].key_id, e->key_id) == 0)
            return -1;
        if (strcmp(keys->entries[i].tenant, e->tenant) == 0)
            e->tenant_ix = keys->entries[i].tenant_ix;
    }
    if (e->tenant_ix < 0)
        e->tenant_ix = keys->ntenants++;
    struct wd_auth_entry *grown = realloc(keys->entries, (keys->n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    keys->entries = grown;
    keys->entries[keys->n++] = *e;
    return 0;
}

int wd_auth_load(struct wd_auth *keys, const char *path, struct wd_error *err)
{
    FILE *f = fopen(path, "re");
    char *text = NULL; /* getline: a line of any length is one line */
    size_t cap = 0;
    int lineno = 0, rc = 0;

    memset(keys, 0, sizeof(*keys));
    if (!f)
        return wd_error_set(err, -WD_E_CONFIG, "API_KEYS_FILE: cannot open %s", path);
    while (getline(&text, &cap, f) >= 0) {
        lineno++;
        text[strcspn(text, "\r\n")] = '\0';
        char *p = text + strspn(text, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        struct wd_auth_entry e;
        if (parse_line(p, &e) < 0 || add_entry(keys, &e) < 0) {
            rc =
                wd_error_set(err, -WD_E_CONFIG,
                             "API_KEYS_FILE: %s line %d is malformed or a duplicate", path, lineno);
            break;
        }
    }
    free(text);
    fclose(f);
    if (rc < 0)
        wd_auth_release(keys);
    return rc;
}

void wd_auth_release(struct wd_auth *keys)
{
    if (keys->entries)
        sodium_memzero(keys->entries, keys->n * sizeof(*keys->entries));
    free(keys->entries);
    keys->entries = NULL;
    keys->n = 0;
    keys->ntenants = 0;
}

int wd_auth_verify(const struct wd_auth *keys, const char *authorization,
                   char tenant[WD_TENANT_MAX + 1], int *tenant_ix)
{
    static const char scheme[] = "Bearer ";
    unsigned char presented[32];

    if (!authorization || strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return -WD_E_UNAUTHORIZED;
    const char *key = authorization + sizeof(scheme) - 1;
    size_t len = strlen(key);
    if (!key_well_formed(key, len))
        return -WD_E_UNAUTHORIZED;
    for (size_t i = 0; i < keys->n; i++) {
        const struct wd_auth_entry *e = &keys->entries[i];
        if (memcmp(e->key_id, key + KEY_PREFIX_LEN, WD_AUTH_KEY_ID_LEN) != 0)
            continue;
        hash_key(presented, key, len);
        if (sodium_memcmp(presented, e->hash, sizeof(presented)) != 0)
            return -WD_E_UNAUTHORIZED;
        memcpy(tenant, e->tenant, strlen(e->tenant) + 1);
        if (tenant_ix)
            *tenant_ix = e->tenant_ix;
        return 0;
    }
    return -WD_E_UNAUTHORIZED;
}

/* Refuses a key file that users other than walletd could read or change (see api/auth.h). */
static int check_mode(const struct stat *st, const char *path, struct wd_error *err)
{
    if (!S_ISREG(st->st_mode))
        return wd_error_set(err, -WD_E_CONFIG, "API_KEYS_FILE: %s is not a regular file", path);
    if ((st->st_mode & (S_IRWXO | S_IWGRP)) || ((st->st_mode & S_IRGRP) && st->st_gid != getegid()))
        return wd_error_set(err, -WD_E_CONFIG,
                            "API_KEYS_FILE: %s is readable or writable by other users (mode %03o):"
                            " chmod 600 it",
                            path, (unsigned)(st->st_mode & 0777));
    return 0;
}

/* Gives fresh's tenants the numbers old gave them, and new tenants the next ones. */
static int renumber(struct wd_auth *fresh, const struct wd_auth *old, int *tenants)
{
    int *map = malloc((size_t)(fresh->ntenants ? fresh->ntenants : 1) * sizeof(*map));

    if (!map)
        return -1;
    for (int i = 0; i < fresh->ntenants; i++)
        map[i] = -1;
    for (size_t i = 0; i < fresh->n; i++) {
        struct wd_auth_entry *e = &fresh->entries[i];
        int local = e->tenant_ix;
        for (size_t j = 0; map[local] < 0 && j < old->n; j++) {
            if (strcmp(old->entries[j].tenant, e->tenant) == 0)
                map[local] = old->entries[j].tenant_ix;
        }
        if (map[local] < 0)
            map[local] = (*tenants)++;
        e->tenant_ix = map[local];
    }
    free(map);
    fresh->ntenants = *tenants;
    return 0;
}

static int load_live(struct wd_auth_live *live, struct wd_error *err)
{
    struct stat st;
    struct wd_auth fresh;

    if (stat(live->path, &st) < 0)
        return wd_error_set(err, -WD_E_CONFIG, "API_KEYS_FILE: cannot open %s", live->path);
    int rc = check_mode(&st, live->path, err);
    if (rc == 0)
        rc = wd_auth_load(&fresh, live->path, err);
    if (rc < 0)
        return rc;
    pthread_rwlock_wrlock(&live->lock);
    if (renumber(&fresh, &live->keys, &live->tenants) < 0) {
        pthread_rwlock_unlock(&live->lock);
        wd_auth_release(&fresh);
        return wd_error_set(err, -WD_E_CONFIG, "API_KEYS_FILE: out of memory");
    }
    struct wd_auth old = live->keys;
    live->keys = fresh;
    live->seen = st;
    pthread_rwlock_unlock(&live->lock);
    wd_auth_release(&old);
    return 0;
}

int wd_auth_open(struct wd_auth_live *live, const char *path, struct wd_error *err)
{
    memset(live, 0, sizeof(*live));
    pthread_rwlock_init(&live->lock, NULL);
    snprintf(live->path, sizeof(live->path), "%s", path);
    int rc = load_live(live, err);
    if (rc < 0)
        wd_auth_close(live);
    return rc;
}

int wd_auth_reload(struct wd_auth_live *live, struct wd_error *err)
{
    return load_live(live, err);
}

bool wd_auth_changed(const struct wd_auth_live *live)
{
    struct stat st;

    if (stat(live->path, &st) < 0)
        return false; /* gone for a moment (a Secret being swapped): keep what we have */
    return st.st_ino != live->seen.st_ino || st.st_dev != live->seen.st_dev ||
           st.st_size != live->seen.st_size || st.st_mtim.tv_sec != live->seen.st_mtim.tv_sec ||
           st.st_mtim.tv_nsec != live->seen.st_mtim.tv_nsec;
}

int wd_auth_check(struct wd_auth_live *live, const char *authorization,
                  char tenant[WD_TENANT_MAX + 1], int *tenant_ix)
{
    pthread_rwlock_rdlock(&live->lock);
    int rc = wd_auth_verify(&live->keys, authorization, tenant, tenant_ix);
    pthread_rwlock_unlock(&live->lock);
    return rc;
}

void wd_auth_close(struct wd_auth_live *live)
{
    wd_auth_release(&live->keys);
    pthread_rwlock_destroy(&live->lock);
}
