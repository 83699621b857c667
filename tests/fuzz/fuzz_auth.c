/*
 * tests/fuzz/fuzz_auth.c - wd_auth_verify on arbitrary Authorization header values, against a
 * small key file loaded once with wd_auth_load.
 *
 * The keys are fixed (not from wd_auth_generate) so runs are reproducible and the corpus can
 * hold valid headers for the fuzzer to mutate. Input: the header value, cut at a NUL as
 * libmicrohttpd would hand it over. Checked: the answer is 0 exactly when the value is
 * "Bearer " (any case) followed by one of the keys, the tenant is that key's, and a refusal is
 * UNAUTHORIZED and leaves the tenant buffer alone.
 */
#define _GNU_SOURCE /* mkstemp, fdopen, strncasecmp */
#include "fuzz.h"

#include "api/auth.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FUZZ_HEADER_MAX 4096

static const struct {
    const char *key;
    const char *tenant;
} known[] = {
    {"wdk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "acme"},
    {"wdk_fedcba9876543210_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234", "globex"},
    {"wdk_00000000000000ff_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "t.e_s-t"},
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

static struct wd_auth keys;

/* Writes the key file (id, tenant, BLAKE2b-256 of the key) and loads it. Once per process. */
static void load_keys(void)
{
    static int loaded;
    char path[] = "/tmp/walletd-fuzz-keys-XXXXXX";

    if (loaded)
        return;
    FUZZ_CHECK(sodium_init() >= 0);
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    FUZZ_CHECK(f != NULL);
    fprintf(f, "# fuzz keys\n");
    for (size_t i = 0; i < N_KNOWN; i++) {
        unsigned char hash[32];
        char hex[65];
        FUZZ_CHECK(strlen(known[i].key) == WD_AUTH_KEY_LEN);
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)known[i].key, WD_AUTH_KEY_LEN,
                           NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
        fprintf(f, "%.16s %s %s\n", known[i].key + 4, known[i].tenant, hex);
    }
    FUZZ_CHECK(fclose(f) == 0);
    struct wd_error err = {0};
    int rc = wd_auth_load(&keys, path, &err);
    unlink(path);
    FUZZ_CHECK(rc == 0 && keys.n == N_KNOWN);
    loaded = 1;
}

/* The index of the key header presents, or -1. */
static int presented_key(const char *header)
{
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return -1;
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (strcmp(header + 7, known[i].key) == 0)
            return (int)i;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char header[FUZZ_HEADER_MAX + 1];
    char tenant[WD_TENANT_MAX + 1];

    if (size > FUZZ_HEADER_MAX)
        return 0;
    load_keys();
    memcpy(header, data, size);
    header[size] = '\0';
    memset(tenant, '#', sizeof(tenant));
    tenant[WD_TENANT_MAX] = '\0';

    int rc = wd_auth_verify(&keys, header, tenant, NULL);
    int want = presented_key(header);
    if (want < 0) {
        FUZZ_CHECK(rc == -WD_E_UNAUTHORIZED);
        for (size_t i = 0; i < WD_TENANT_MAX; i++)
            FUZZ_CHECK(tenant[i] == '#');
        return 0;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(tenant, known[want].tenant) == 0);
    return 0;
}
