/*
 * tests/unit/core/test_seal.c - core/seal: cursors round-trip for their own wallet only, are
 * never the same text twice, and refuse anything altered, truncated or of the old v1 format;
 * entry IDs are stable, distinct and of the documented shape; the key file's checks.
 */
#define _GNU_SOURCE
#include "core/seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/testing.h"

#define W1 "wal_0000abababababababababababababababab"
#define W2 "wal_0000cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

static void test_cursor_round_trip(void **state)
{
    static const uint64_t ids[] = {1, 42, 12345, UINT64_C(9007199254740992), UINT64_MAX};
    char a[WD_SEAL_CURSOR_MAX], b[WD_SEAL_CURSOR_MAX];
    uint64_t id;

    (void)state;
    for (size_t i = 0; i < N_CASES(ids); i++) {
        wd_seal_cursor(W1, ids[i], a);
        wd_seal_cursor(W1, ids[i], b);
        assert_string_not_equal(a, b); /* a fresh nonce each time: no counter shows through */
        assert_true(strlen(a) < WD_SEAL_CURSOR_MAX);
        id = 0;
        assert_int_equal(wd_seal_open_cursor(W1, a, &id), 0);
        assert_true(id == ids[i]);
        id = 777;
        assert_int_equal(wd_seal_open_cursor(W2, a, &id), -1); /* another wallet's */
        assert_int_equal(id, 777);
    }
}

static void test_cursor_garbage(void **state)
{
    char good[WD_SEAL_CURSOR_MAX], bad[WD_SEAL_CURSOR_MAX + 8];
    uint64_t id = 777;

    (void)state;
    wd_seal_cursor(W1, 5, good);
    static const char *const texts[] = {"", "djEuNQ", "djEuNDI", "42", "garbage!"};
    for (size_t i = 0; i < N_CASES(texts); i++)
        assert_int_equal(wd_seal_open_cursor(W1, texts[i], &id), -1);
    for (size_t i = 0; good[i]; i++) { /* any character changed */
        memcpy(bad, good, sizeof(good));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(wd_seal_open_cursor(W1, bad, &id), -1);
    }
    memcpy(bad, good, sizeof(good));
    bad[strlen(bad) - 1] = '\0'; /* truncated */
    assert_int_equal(wd_seal_open_cursor(W1, bad, &id), -1);
    snprintf(bad, sizeof(bad), "%s=", good); /* padded */
    assert_int_equal(wd_seal_open_cursor(W1, bad, &id), -1);
    assert_int_equal(id, 777);
}

static void test_entry_ids(void **state)
{
    char a[WD_SEAL_ENTRY_ID_LEN + 1], b[WD_SEAL_ENTRY_ID_LEN + 1];

    (void)state;
    wd_seal_entry_id(W1, 3, a);
    wd_seal_entry_id(W1, 3, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), WD_SEAL_ENTRY_ID_LEN);
    assert_memory_equal(a, "ent_", 4);
    wd_seal_entry_id(W1, 4, b);
    assert_string_not_equal(a, b);
    wd_seal_entry_id(W2, 3, b);
    assert_string_not_equal(a, b);
}

static void write_key(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_key_file(void **state)
{
    char path[] = "/tmp/walletd-seal-XXXXXX";
    struct wd_error err = {0};
    bool random = false;

    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_key(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644);
    assert_int_equal(wd_seal_load_key(path, &random, &err), -WD_E_CONFIG); /* others can read */
    assert_non_null(strstr(err.message, "CURSOR_KEY_FILE"));
    write_key(path, "0011", 0600);
    assert_int_equal(wd_seal_load_key(path, &random, &err), -WD_E_CONFIG);
    write_key(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffzz", 0600);
    assert_int_equal(wd_seal_load_key(path, &random, &err), -WD_E_CONFIG);
    write_key(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
    assert_int_equal(wd_seal_load_key(path, &random, &err), 0);
    assert_false(random);
    /* the same key gives the same entry IDs: what every pod must agree on */
    char id[WD_SEAL_ENTRY_ID_LEN + 1], again[WD_SEAL_ENTRY_ID_LEN + 1];
    wd_seal_entry_id(W1, 9, id);
    assert_int_equal(wd_seal_load_key(path, &random, &err), 0);
    wd_seal_entry_id(W1, 9, again);
    assert_string_equal(id, again);
    assert_int_equal(wd_seal_load_key("", &random, &err), 0);
    assert_true(random);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_garbage),
        cmocka_unit_test(test_entry_ids),
        cmocka_unit_test(test_key_file),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
