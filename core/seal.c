/*
 * core/seal.c - cursor and entry-ID sealing with libsodium (see core/seal.h).
 */
#define _GNU_SOURCE
#include "core/seal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define VERSION  0x02 /* v1 was base64url("v1." + decimal id), refused now */
#define NONCE    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG      crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEALED   (1 + NONCE + 8 + TAG)
#define KDF_CTX  "wdcursor"
#define KEY_SIZE 32

static unsigned char cursor_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
static unsigned char id_key[crypto_generichash_KEYBYTES];
static pthread_once_t keyed = PTHREAD_ONCE_INIT;

static void derive(const unsigned char master[KEY_SIZE])
{
    crypto_kdf_derive_from_key(cursor_key, sizeof(cursor_key), 1, KDF_CTX, master);
    crypto_kdf_derive_from_key(id_key, sizeof(id_key), 2, KDF_CTX, master);
}

/* A process that never loaded a key (unit tests, walletctl) gets a random one. */
static void draw_key(void)
{
    unsigned char master[KEY_SIZE];

    randombytes_buf(master, sizeof(master));
    derive(master);
    sodium_memzero(master, sizeof(master));
}

static int read_key(const char *path, unsigned char master[KEY_SIZE], struct wd_error *err)
{
    char text[160];
    struct stat st;
    size_t len = 0;
    FILE *f = fopen(path, "re");

    if (!f)
        return wd_error_set(err, -WD_E_CONFIG, "CURSOR_KEY_FILE: cannot open %s", path);
    int ok = fstat(fileno(f), &st) == 0 && !(st.st_mode & (S_IRWXO | S_IWGRP));
    size_t n = ok ? fread(text, 1, sizeof(text) - 1, f) : 0;
    fclose(f);
    if (!ok)
        return wd_error_set(err, -WD_E_CONFIG,
                            "CURSOR_KEY_FILE: %s is open to other users: "
                            "chmod 600 it",
                            path);
    text[n] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    const char *end = NULL;
    int rc = sodium_hex2bin(master, KEY_SIZE, text, strlen(text), NULL, &len, &end);
    rc = rc == 0 && *end == '\0' ? 0 : -1;
    sodium_memzero(text, sizeof(text));
    if (rc != 0 || len != KEY_SIZE)
        return wd_error_set(err, -WD_E_CONFIG,
                            "CURSOR_KEY_FILE: %s must hold 64 hex digits (openssl rand -hex 32)",
                            path);
    return 0;
}

int wd_seal_load_key(const char *path, bool *random, struct wd_error *err)
{
    unsigned char master[KEY_SIZE];

    *random = !path || !path[0];
    if (*random) {
        pthread_once(&keyed, draw_key);
        return 0;
    }
    int rc = read_key(path, master, err);
    if (rc == 0) {
        pthread_once(&keyed, draw_key); /* marks the key as set; replaced at once */
        derive(master);
    }
    sodium_memzero(master, sizeof(master));
    return rc;
}

void wd_seal_cursor(const char *wallet_id, uint64_t id, char out[WD_SEAL_CURSOR_MAX])
{
    unsigned char sealed[SEALED], plain[8];

    pthread_once(&keyed, draw_key);
    for (int i = 0; i < 8; i++)
        plain[i] = (unsigned char)(id >> (8 * i));
    sealed[0] = VERSION;
    randombytes_buf(sealed + 1, NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + 1 + NONCE, NULL, plain, sizeof(plain),
                                               (const unsigned char *)wallet_id, strlen(wallet_id),
                                               NULL, sealed + 1, cursor_key);
    sodium_bin2base64(out, WD_SEAL_CURSOR_MAX, sealed, sizeof(sealed),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int wd_seal_open_cursor(const char *wallet_id, const char *text, uint64_t *id)
{
    unsigned char sealed[SEALED], plain[8];
    size_t len = 0;
    const char *end = NULL;

    pthread_once(&keyed, draw_key);
    if (strlen(text) >= WD_SEAL_CURSOR_MAX ||
        sodium_base642bin(sealed, sizeof(sealed), text, strlen(text), NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        *end != '\0' || len != SEALED || sealed[0] != VERSION)
        return -1;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, sealed + 1 + NONCE, 8 + TAG,
                                                   (const unsigned char *)wallet_id,
                                                   strlen(wallet_id), sealed + 1, cursor_key) != 0)
        return -1;
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value |= (uint64_t)plain[i] << (8 * i);
    if (value == 0)
        return -1;
    *id = value;
    return 0;
}

void wd_seal_entry_id(const char *wallet_id, uint64_t id, char out[WD_SEAL_ENTRY_ID_LEN + 1])
{
    crypto_generichash_state st;
    unsigned char plain[8], digest[16];

    pthread_once(&keyed, draw_key);
    for (int i = 0; i < 8; i++)
        plain[i] = (unsigned char)(id >> (8 * i));
    crypto_generichash_init(&st, id_key, sizeof(id_key), sizeof(digest));
    crypto_generichash_update(&st, (const unsigned char *)wallet_id, strlen(wallet_id) + 1);
    crypto_generichash_update(&st, plain, sizeof(plain));
    crypto_generichash_final(&st, digest, sizeof(digest));
    memcpy(out, "ent_", 4);
    sodium_bin2hex(out + 4, 33, digest, sizeof(digest));
}
