/*
 * api/auth.h - API keys: their format, the key file, and verifying a request's key.
 *
 * Owns: the API key format "wdk_<16 hex key id>_<43 base64url secret chars>" (32 random bytes
 * from libsodium), and the key file (API_KEYS_FILE), one key per line:
 *
 *     <key id> <tenant> <BLAKE2b-256 of the whole key, 64 hex>
 *
 * with '#' comments. Only hashes are stored; a presented key is hashed and compared in constant
 * time (sodium_memcmp). Each key is bound to one tenant; tenants are 1-64 chars of
 * [A-Za-z0-9_.-]. `walletctl apikey create --tenant NAME` makes keys.
 *
 * Live keys (struct wd_auth_live): what a server verifies against, replaced while it serves when
 * the file is reloaded (SIGHUP, or the file changed, as a Kubernetes Secret volume does), so a key
 * is revoked without a restart. A file that other users may read (or write) is refused: readable
 * by others, writable by group or others, or readable by a group that is not walletd's own (the
 * one exception: a Kubernetes Secret volume gives the pod's fsGroup read access). A reload that
 * fails keeps the keys in use. Tenants keep their numbers across reloads; new ones get the next.
 * Thread-safety: a loaded struct wd_auth is read-only and may be shared by all threads; a struct
 * wd_auth_live may be verified against from any thread while one thread reloads it.
 */
#ifndef WD_API_AUTH_H
#define WD_API_AUTH_H

#include "core/limits.h"
#include "core/error.h"

#include <linux/limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define WD_AUTH_KEY_LEN    64
#define WD_AUTH_KEY_ID_LEN 16

struct wd_auth_entry {
    char key_id[WD_AUTH_KEY_ID_LEN + 1];
    char tenant[WD_TENANT_MAX + 1];
    unsigned char hash[32];
    int tenant_ix; /* the tenant's number in this file, 0..ntenants-1, shared by its keys */
};

struct wd_auth {
    struct wd_auth_entry *entries; /* owned */
    size_t n;
    int ntenants;
};

/* True if s is a valid tenant name. */
bool wd_auth_tenant_valid(const char *s);

/* Loads the key file at path. A missing file is an error. 0 or -WD_E_CONFIG (err: line). */
int wd_auth_load(struct wd_auth *keys, const char *path, struct wd_error *err);

void wd_auth_release(struct wd_auth *keys);

/*
 * Verifies an Authorization header value ("Bearer <key>"). On success copies the key's tenant
 * into tenant and its number into *tenant_ix (if not NULL) and returns 0; otherwise
 * -WD_E_UNAUTHORIZED. NULL header is unauthorized.
 */
int wd_auth_verify(const struct wd_auth *keys, const char *authorization,
                   char tenant[WD_TENANT_MAX + 1], int *tenant_ix);

struct wd_auth_live {
    pthread_rwlock_t lock;
    struct wd_auth keys; /* under lock */
    char path[PATH_MAX];
    struct stat seen; /* the file as last loaded, to notice a change */
    int tenants;      /* tenant numbers handed out so far (they are never reused) */
};

/* Loads the file at path into live (its permissions checked first). 0 or -WD_E_CONFIG
 * (err names API_KEYS_FILE). */
int wd_auth_open(struct wd_auth_live *live, const char *path, struct wd_error *err);

/* Loads the file again; on success the new keys replace the old at once. On failure the old keys
 * stay, and -WD_E_CONFIG says why. */
int wd_auth_reload(struct wd_auth_live *live, struct wd_error *err);

/* True if the file is not the one last loaded (another inode, size or modification time). */
bool wd_auth_changed(const struct wd_auth_live *live);

/* wd_auth_verify against the live keys. */
int wd_auth_check(struct wd_auth_live *live, const char *authorization,
                  char tenant[WD_TENANT_MAX + 1], int *tenant_ix);

void wd_auth_close(struct wd_auth_live *live);

/*
 * Makes a new key for tenant: the key itself into key (shown once, never stored) and the line
 * to append to the key file into line (with trailing newline). 0 or -WD_E_VALIDATION_ERROR.
 */
int wd_auth_generate(const char *tenant, char key[WD_AUTH_KEY_LEN + 1], char *line, size_t linelen,
                     struct wd_error *err);

#endif
