/*
 * tests/unit/api/test_auth.c - api/auth: key generation, the key file, and verification of
 * Authorization headers against it.
 */
#define _GNU_SOURCE /* mkstemp, fdopen */
#include "api/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testing.h"

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* Writes text to a new temporary file; path gets its name. */
static void write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/walletd-test-keys-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Loads text as a key file. */
static int load_text(struct wd_auth *keys, const char *text, struct wd_error *err)
{
    char path[64];

    write_temp(path, text);
    wd_error_clear(err);
    int rc = wd_auth_load(keys, path, err);
    unlink(path);
    return rc;
}

static void test_generate_format(void **state)
{
    char key[WD_AUTH_KEY_LEN + 1], line[256];
    struct wd_error err;

    (void)state;
    assert_int_equal(wd_auth_generate("acme", key, line, sizeof(line), &err), 0);
    /* wdk_ + 16 lowercase hex + _ + 43 base64url characters */
    assert_int_equal(strlen(key), WD_AUTH_KEY_LEN);
    assert_memory_equal(key, "wdk_", 4);
    for (int i = 4; i < 20; i++)
        assert_non_null(strchr("0123456789abcdef", key[i]));
    assert_int_equal(key[20], '_');
    for (int i = 21; i < WD_AUTH_KEY_LEN; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", key[i]));

    /* the line: key id, tenant, BLAKE2b-256 of the whole key in hex, newline */
    unsigned char hash[32];
    char hex[65], expect[256];
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)key, WD_AUTH_KEY_LEN, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    snprintf(expect, sizeof(expect), "%.16s acme %s\n", key + 4, hex);
    assert_string_equal(line, expect);
    /* the secret itself is never in the line */
    assert_null(strstr(line, key + 21));

    /* two keys differ in id and secret */
    char key2[WD_AUTH_KEY_LEN + 1];
    assert_int_equal(wd_auth_generate("acme", key2, line, sizeof(line), &err), 0);
    assert_memory_not_equal(key + 4, key2 + 4, 16);
    assert_memory_not_equal(key + 21, key2 + 21, 43);
}

static void test_generate_refuses_bad_tenants(void **state)
{
    char key[WD_AUTH_KEY_LEN + 1], line[256], tenant[80];
    struct wd_error err;

    (void)state;
    static const char *const bad[] = {"",      "two words",   "a:b",       "a/b",
                                      "tab\t", "caf\xc3\xa9", "semi;colon"};
    for (size_t i = 0; i < N_CASES(bad); i++) {
        wd_error_clear(&err);
        assert_int_equal(wd_auth_generate(bad[i], key, line, sizeof(line), &err),
                         -WD_E_VALIDATION_ERROR);
        assert_int_equal(err.code, -WD_E_VALIDATION_ERROR);
        assert_false(wd_auth_tenant_valid(bad[i]));
    }
    memset(tenant, 't', sizeof(tenant));
    tenant[64] = '\0';
    assert_true(wd_auth_tenant_valid(tenant));
    assert_int_equal(wd_auth_generate(tenant, key, line, sizeof(line), &err), 0);
    tenant[64] = 't';
    tenant[65] = '\0';
    assert_false(wd_auth_tenant_valid(tenant));
    assert_int_equal(wd_auth_generate(tenant, key, line, sizeof(line), &err),
                     -WD_E_VALIDATION_ERROR);
    assert_true(wd_auth_tenant_valid("Acme_Corp.eu-1"));
}

struct fixture {
    struct wd_auth keys;
    char acme[WD_AUTH_KEY_LEN + 1];
    char globex[WD_AUTH_KEY_LEN + 1];
};

/* Two tenants' keys in one file, with comments and blank lines around them. */
static int keys_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char line1[256], line2[256], text[800];
    struct wd_error err;

    if (!fx)
        return -1;
    if (wd_auth_generate("acme", fx->acme, line1, sizeof(line1), &err) < 0 ||
        wd_auth_generate("globex", fx->globex, line2, sizeof(line2), &err) < 0)
        return -1;
    /* a line is whitespace-separated fields; a '#' after the hash is a fourth field, not a comment
     */
    snprintf(text, sizeof(text), "# walletd API keys\n\n%.*s   \t# not a comment\n",
             (int)strcspn(line1, "\n"), line1);
    /* the trailing text makes line 3 malformed: check that first, then build the real file */
    if (load_text(&fx->keys, text, &err) != -WD_E_CONFIG)
        return -1;
    /* indented, CRLF, and the last line without its newline */
    snprintf(text, sizeof(text), "# walletd API keys\n\n  %.*s\r\n%.*s", (int)strcspn(line1, "\n"),
             line1, (int)strcspn(line2, "\n"), line2);
    if (load_text(&fx->keys, text, &err) < 0)
        return -1;
    *state = fx;
    return 0;
}

static int keys_teardown(void **state)
{
    struct fixture *fx = *state;

    wd_auth_release(&fx->keys);
    assert_null(fx->keys.entries);
    assert_int_equal(fx->keys.n, 0);
    free(fx);
    return 0;
}

static int verify_ix(const struct fixture *fx, const char *header, char tenant[WD_TENANT_MAX + 1],
                     int *ix)
{
    snprintf(tenant, WD_TENANT_MAX + 1, "unchanged");
    *ix = -7;
    int rc = wd_auth_verify(&fx->keys, header, tenant, ix);
    if (rc < 0) {
        assert_int_equal(rc, -WD_E_UNAUTHORIZED);
        assert_string_equal(tenant, "unchanged");
        assert_int_equal(*ix, -7);
    }
    return rc;
}

static int verify(const struct fixture *fx, const char *header, char tenant[WD_TENANT_MAX + 1])
{
    int ix;

    return verify_ix(fx, header, tenant, &ix);
}

static void test_verify_success(void **state)
{
    struct fixture *fx = *state;
    /* the scheme is case-insensitive (RFC 9110) */
    static const struct {
        const char *scheme;
        bool globex;
        const char *tenant;
        int ix;
    } cases[] = {
        {"Bearer", false, "acme", 0},
        {"Bearer", true, "globex", 1},
        {"bearer", false, "acme", 0},
        {"BEARER", true, "globex", 1},
    };
    char header[128], tenant[WD_TENANT_MAX + 1];
    int ix;

    assert_int_equal(fx->keys.n, 2);
    assert_int_equal(fx->keys.ntenants, 2);
    for (size_t i = 0; i < N_CASES(cases); i++) {
        snprintf(header, sizeof(header), "%s %s", cases[i].scheme,
                 cases[i].globex ? fx->globex : fx->acme);
        if (verify_ix(fx, header, tenant, &ix) != 0)
            fail_msg("%s %s's key was refused", cases[i].scheme, cases[i].tenant);
        if (strcmp(tenant, cases[i].tenant) != 0 || ix != cases[i].ix)
            fail_msg("%s %s's key: tenant %s number %d, expected number %d", cases[i].scheme,
                     cases[i].tenant, tenant, ix, cases[i].ix);
    }
}

/* Tenants are numbered in the order they first appear; every key of a tenant has its number. */
static void test_tenant_numbers(void **state)
{
    struct wd_auth keys;
    char key[3][WD_AUTH_KEY_LEN + 1], line[3][256], text[900], header[WD_AUTH_KEY_LEN + 16];
    char tenant[WD_TENANT_MAX + 1];
    struct wd_error err;
    int ix = -1;

    (void)state;
    assert_int_equal(wd_auth_generate("globex", key[0], line[0], sizeof(line[0]), &err), 0);
    assert_int_equal(wd_auth_generate("acme", key[1], line[1], sizeof(line[1]), &err), 0);
    assert_int_equal(wd_auth_generate("globex", key[2], line[2], sizeof(line[2]), &err), 0);
    snprintf(text, sizeof(text), "%s%s%s", line[0], line[1], line[2]);
    assert_int_equal(load_text(&keys, text, &err), 0);
    assert_int_equal(keys.n, 3);
    assert_int_equal(keys.ntenants, 2);
    static const int want[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        snprintf(header, sizeof(header), "Bearer %.*s", WD_AUTH_KEY_LEN, key[i]);
        assert_int_equal(wd_auth_verify(&keys, header, tenant, &ix), 0);
        assert_int_equal(ix, want[i]);
    }
    wd_auth_release(&keys);
    assert_int_equal(keys.ntenants, 0);
}

/* The last character of the secret, changed to another valid base64url character. */
static void flip_last(char *key)
{
    key[WD_AUTH_KEY_LEN - 1] = key[WD_AUTH_KEY_LEN - 1] == 'A' ? 'B' : 'A';
}

/* header must be refused; name says which case it is. */
static void expect_refused(const struct fixture *fx, const char *header, const char *name)
{
    char tenant[WD_TENANT_MAX + 1];

    if (verify(fx, header, tenant) != -WD_E_UNAUTHORIZED)
        fail_msg("%s: accepted as %s", name, tenant);
}

/* "Bearer key" must be refused. */
static void expect_key_refused(const struct fixture *fx, const char *key, const char *name)
{
    char header[160];

    snprintf(header, sizeof(header), "Bearer %s", key);
    expect_refused(fx, header, name);
}

static void test_verify_refused(void **state)
{
    struct fixture *fx = *state;
    char header[160], key[WD_AUTH_KEY_LEN + 1];

    expect_refused(fx, NULL, "no header");
    expect_refused(fx, "", "empty header");
    expect_refused(fx, "Bearer ", "no key");
    expect_refused(fx, "Bearer", "scheme alone");

    memcpy(key, fx->acme, sizeof(key));
    flip_last(key);
    expect_key_refused(fx, key, "wrong secret for a known key id");
    memcpy(key, fx->acme, 21);
    memcpy(key + 21, fx->globex + 21, WD_AUTH_KEY_LEN - 21 + 1);
    expect_key_refused(fx, key, "acme's key id with globex's secret");
    memcpy(key, fx->acme, sizeof(key));
    key[4] = key[4] == '0' ? '1' : '0';
    expect_key_refused(fx, key, "unknown key id with a real secret");
    /* uppercase hex in the key id is not our format */
    memcpy(key, fx->acme, sizeof(key));
    for (int i = 4; i < 20; i++)
        key[i] = key[i] >= 'a' && key[i] <= 'f' ? (char)(key[i] - 'a' + 'A') : key[i];
    if (strcmp(key, fx->acme) != 0)
        expect_key_refused(fx, key, "uppercase key id");

    /* acme's key (its first len characters) between prefix and suffix */
    static const struct {
        const char *name, *prefix;
        int len;
        const char *suffix;
    } framed[] = {
        {"no scheme", "", WD_AUTH_KEY_LEN, ""},
        {"Basic scheme", "Basic ", WD_AUTH_KEY_LEN, ""},
        {"two spaces after the scheme", "Bearer  ", WD_AUTH_KEY_LEN, ""},
        {"a tab after the scheme", "Bearer\t", WD_AUTH_KEY_LEN, ""},
        {"no space after the scheme", "Bearer", WD_AUTH_KEY_LEN, ""},
        {"truncated to 63", "Bearer ", 63, ""},
        {"truncated to 20", "Bearer ", 20, ""},
        {"extended", "Bearer ", WD_AUTH_KEY_LEN, "A"},
        {"trailing whitespace", "Bearer ", WD_AUTH_KEY_LEN, " "},
    };
    for (size_t i = 0; i < N_CASES(framed); i++) {
        snprintf(header, sizeof(header), "%s%.*s%s", framed[i].prefix, framed[i].len, fx->acme,
                 framed[i].suffix);
        expect_refused(fx, header, framed[i].name);
    }

    /* acme's key with one character replaced */
    static const struct {
        const char *name;
        int at;
        char c;
    } edited[] = {
        {"wrong prefix", 0, 'x'},
        {"secret with a foreign character", 40, '+'},
        {"'-' for the '_' after the key id", 20, '-'},
    };
    for (size_t i = 0; i < N_CASES(edited); i++) {
        memcpy(key, fx->acme, sizeof(key));
        key[edited[i].at] = edited[i].c;
        expect_key_refused(fx, key, edited[i].name);
    }
}

static void test_verify_with_no_keys(void **state)
{
    struct wd_auth keys;
    struct wd_error err;
    char key[WD_AUTH_KEY_LEN + 1], line[256], header[128], tenant[WD_TENANT_MAX + 1] = "x";

    (void)state;
    assert_int_equal(load_text(&keys, "# nothing yet\n\n", &err), 0);
    assert_int_equal(keys.n, 0);
    assert_int_equal(wd_auth_generate("acme", key, line, sizeof(line), &err), 0);
    snprintf(header, sizeof(header), "Bearer %s", key);
    assert_int_equal(wd_auth_verify(&keys, header, tenant, NULL), -WD_E_UNAUTHORIZED);
    wd_auth_release(&keys);
}

/* Loading text must fail and the message must name line lineno. */
static void expect_bad_line(const char *text, int lineno)
{
    struct wd_auth keys;
    struct wd_error err;
    char want[32];

    assert_int_equal(load_text(&keys, text, &err), -WD_E_CONFIG);
    assert_int_equal(err.code, -WD_E_CONFIG);
    snprintf(want, sizeof(want), "line %d ", lineno);
    if (!strstr(err.message, want))
        fail_msg("message '%s' does not name %s", err.message, want);
    assert_null(keys.entries);
    assert_int_equal(keys.n, 0);
}

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_key_file_errors(void **state)
{
    char good[256], other[256], key[WD_AUTH_KEY_LEN + 1], text[1200];
    struct wd_error err;

    (void)state;
    assert_int_equal(wd_auth_generate("acme", key, good, sizeof(good), &err), 0);
    assert_int_equal(wd_auth_generate("globex", key, other, sizeof(other), &err), 0);

    /* duplicate key id on line 3 (same id, another tenant); generated lines end in '\n' */
    snprintf(text, sizeof(text), "# keys\n%s%.16s globex %s\n", good, good, H64);
    expect_bad_line(text, 3);

    static const char *const bad_lines[] = {
        "0123456789abcdef acme",                      /* two fields */
        "0123456789abcdef acme " H64 " extra",        /* four fields */
        "0123456789abcde acme " H64,                  /* id 15 hex */
        "0123456789abcdef0 acme " H64,                /* id 17 hex */
        "0123456789ABCDEF acme " H64,                 /* uppercase id */
        "0123456789abcdeg acme " H64,                 /* non-hex id */
        "0123456789abcdef ac:me " H64,                /* bad tenant */
        "0123456789abcdef acme 0123",                 /* short hash */
        "0123456789abcdef acme " H64 "a",             /* long hash */
        "0123456789abcdef acme " H64 "\x01",          /* control character */
        "0123456789abcdef acme 0123456789ABCDEF" H64, /* uppercase hash (and too long) */
        "0123456789abcdef acme 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < N_CASES(bad_lines); i++) {
        snprintf(text, sizeof(text), "%s# comment\n\n%s\n%s", good, bad_lines[i], other);
        expect_bad_line(text, 4);
    }
    /* a tenant of 65 characters */
    snprintf(text, sizeof(text), "0123456789abcdef %065d %s\n", 0, H64);
    expect_bad_line(text, 1);

    struct wd_auth keys;
    assert_int_equal(wd_auth_load(&keys, "/nonexistent/walletd/keys", &err), -WD_E_CONFIG);
    assert_non_null(strstr(err.message, "API_KEYS_FILE"));
}

/*
 * Regression: wd_auth_load once read the file with fgets into a 512-byte buffer, so a line
 * longer than 510 characters was split in two and the tail parsed as a line of its own: a long
 * '#' comment (allowed by the format) made a valid key file fail to load.
 */
static void test_long_comment_line(void **state)
{
    struct wd_auth keys;
    struct wd_error err;
    char key[WD_AUTH_KEY_LEN + 1], line[256], comment[700], text[1200];

    (void)state;
    assert_int_equal(wd_auth_generate("acme", key, line, sizeof(line), &err), 0);
    memset(comment, '-', sizeof(comment));
    comment[0] = '#';
    comment[600] = '\0';
    snprintf(text, sizeof(text), "%s\n%s", comment, line);
    if (load_text(&keys, text, &err) != 0)
        fail_msg("a key file with a 600-character comment was refused: %s", err.message);
    assert_int_equal(keys.n, 1);
    wd_auth_release(&keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_format),
        cmocka_unit_test(test_generate_refuses_bad_tenants),
        cmocka_unit_test_setup_teardown(test_verify_success, keys_setup, keys_teardown),
        cmocka_unit_test(test_tenant_numbers),
        cmocka_unit_test_setup_teardown(test_verify_refused, keys_setup, keys_teardown),
        cmocka_unit_test(test_verify_with_no_keys),
        cmocka_unit_test(test_key_file_errors),
        cmocka_unit_test(test_long_comment_line),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
