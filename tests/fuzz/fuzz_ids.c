/*
 * tests/fuzz/fuzz_ids.c - the small parsers of IDs and query/header values that come from
 * outside: wd_id_parse (path IDs), wd_seal_open_cursor and wd_parse_page (ledger query),
 * wd_parse_idempotency_key (headers) and wd_hash_account_valid (path account IDs).
 *
 * Input: arbitrary bytes, given whole to the length-taking parsers and, cut at the first NUL, to
 * the string ones; for the two-argument parsers the text is split at the first '\n' (the two
 * idempotency headers; limit and cursor). Checked: every acceptance obeys the documented format
 * (and round-trips where there is a writer), every refusal is the documented code.
 */
#include "fuzz.h"

#include "api/parse.h"
#include "shard/hash.h"
#include "shard/id.h"
#include "core/seal.h"

#include <sodium.h>
#include <string.h>

#define FUZZ_TEXT_MAX 4096

static int is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
            return 0;
    }
    return 1;
}

static void check_ids(const char *s, size_t len)
{
    static const char *const prefixes[] = {"wal_", "txn_"};

    for (int kind = WD_ID_WALLET; kind <= WD_ID_TXN; kind++) {
        uint32_t bucket = 99999;
        if (wd_id_parse(s, len, (enum wd_id_kind)kind, &bucket) < 0) {
            FUZZ_CHECK(bucket == 99999);
            continue;
        }
        FUZZ_CHECK(len == WD_ID_LEN);
        FUZZ_CHECK(memcmp(s, prefixes[kind], 4) == 0);
        FUZZ_CHECK(is_lower_hex(s + 4, WD_ID_LEN - 4));
        FUZZ_CHECK(bucket < WD_BUCKETS);
        /* an ID made for that bucket has the same first four hex digits */
        char made[WD_ID_LEN + 1];
        wd_id_new(made, (enum wd_id_kind)kind, bucket, 0);
        FUZZ_CHECK(memcmp(made, s, 8) == 0);
    }
}

static void check_account(const char *s, size_t len)
{
    if (!wd_hash_account_valid(s, len))
        return;
    FUZZ_CHECK(len >= 1 && len <= WD_ACCOUNT_MAX);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(s[i] != '\0' && strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_.:-",
                                          s[i]));
    FUZZ_CHECK(wd_hash_bucket(s, len) < WD_BUCKETS);
}

static void check_cursor(const char *text)
{
    static const char wallet[] = "wal_0000abababababababababababababababab";
    uint64_t id = 0;

    if (wd_seal_open_cursor(wallet, text, &id) < 0)
        return;
    FUZZ_CHECK(0); /* only walletd's key makes a cursor that opens: no input can */
}

static void check_idempotency(const char *a, const char *b)
{
    static struct wd_op op;
    struct wd_error err = {0};

    for (int required = 0; required <= 1; required++) {
        memset(&op, 0, sizeof(op));
        int rc = wd_parse_idempotency_key(a, b, required, &op, &err);
        if (rc < 0) {
            FUZZ_CHECK(rc == -WD_E_INVALID_IDEMPOTENCY_KEY ||
                       (rc == -WD_E_IDEMPOTENCY_KEY_REQUIRED && !a && !b && required));
            FUZZ_CHECK(!op.has_idem);
            continue;
        }
        FUZZ_CHECK(rc == 0);
        if (!op.has_idem) {
            FUZZ_CHECK(!a && !b && !required);
            continue;
        }
        size_t len = strlen(op.idem_key);
        FUZZ_CHECK(len >= 1 && len <= WD_IDEM_KEY_MAX);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(op.idem_key[i] >= 0x20 && op.idem_key[i] <= 0x7e);
        FUZZ_CHECK(strcmp(op.idem_key, a ? a : b) == 0);
        FUZZ_CHECK(!a || !b || strcmp(a, b) == 0);
    }
}

static void check_page(const char *limit, const char *cursor)
{
    static struct wd_op op;
    struct wd_error err = {0};

    memset(&op, 0, sizeof(op));
    int rc = wd_parse_page(limit, cursor, &op, &err);
    if (rc < 0) {
        FUZZ_CHECK(rc == -WD_E_VALIDATION_ERROR || rc == -WD_E_INVALID_CURSOR);
        FUZZ_CHECK(err.code == rc);
        return;
    }
    FUZZ_CHECK(op.limit >= 1 && op.limit <= 200);
    FUZZ_CHECK(limit || op.limit == 50);
    FUZZ_CHECK(cursor ? op.cursor >= 1 : op.cursor == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FUZZ_TEXT_MAX + 1];

    if (size > FUZZ_TEXT_MAX)
        return 0;
    FUZZ_CHECK(sodium_init() >= 0);
    check_ids((const char *)data, size);
    check_account((const char *)data, size);

    memcpy(text, data, size);
    text[size] = '\0';
    check_cursor(text);
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        check_idempotency(text, nl + 1);
        check_idempotency(NULL, nl + 1);
        check_page(text, nl + 1);
    } else {
        check_idempotency(text, NULL);
        check_idempotency(NULL, NULL);
        check_page(text, NULL);
        check_page(NULL, text);
    }
    return 0;
}
