/*
 * tests/unit/shard/test_id.c - shard/id: routable wallet and transaction IDs.
 */
#include "shard/hash.h"
#include "shard/id.h"

#include <sodium.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* 2026-11-23T13:28:02.123Z in ms: 0x1a20897974b (python3 -c 'print(hex(1795440482123))') */
#define NOW_MS INT64_C(1795440482123)

static void test_round_trip(void **state)
{
    static const uint32_t buckets[] = {0, 1, 255, 4096, 12345, WD_BUCKETS - 1};
    char id[WD_ID_LEN + 1];
    uint32_t bucket;

    (void)state;
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
        wd_id_new(id, WD_ID_WALLET, buckets[i], NOW_MS);
        assert_int_equal(strlen(id), WD_ID_LEN);
        bucket = 99999;
        assert_int_equal(wd_id_parse(id, strlen(id), WD_ID_WALLET, &bucket), 0);
        assert_int_equal(bucket, buckets[i]);

        wd_id_new(id, WD_ID_TXN, buckets[i], NOW_MS);
        bucket = 99999;
        assert_int_equal(wd_id_parse(id, strlen(id), WD_ID_TXN, &bucket), 0);
        assert_int_equal(bucket, buckets[i]);
    }
}

static void test_layout(void **state)
{
    char id[WD_ID_LEN + 1];

    (void)state;
    /* bucket 12345 = 0x3039; the time field is the 48-bit ms count in hex (see NOW_MS) */
    wd_id_new(id, WD_ID_WALLET, 12345, NOW_MS);
    assert_memory_equal(id, "wal_3039", 8);
    assert_memory_equal(id + 8, "01a20897974b", 12);
    wd_id_new(id, WD_ID_TXN, 1, 1);
    assert_memory_equal(id, "txn_0001000000000001", 20);
    for (size_t i = 4; i < WD_ID_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    assert_int_equal(id[WD_ID_LEN], '\0');
}

static void test_ids_differ(void **state)
{
    char a[WD_ID_LEN + 1], b[WD_ID_LEN + 1];

    (void)state;
    /* same bucket, same millisecond: the 80 random bits still differ */
    wd_id_new(a, WD_ID_WALLET, 7, NOW_MS);
    wd_id_new(b, WD_ID_WALLET, 7, NOW_MS);
    assert_memory_equal(a, b, 20);
    assert_string_not_equal(a, b);
    assert_memory_not_equal(a + 20, b + 20, 20);
}

static void test_ids_of_one_bucket_sort_by_time(void **state)
{
    char older[WD_ID_LEN + 1], newer[WD_ID_LEN + 1];

    (void)state;
    wd_id_new(older, WD_ID_TXN, 42, NOW_MS);
    wd_id_new(newer, WD_ID_TXN, 42, NOW_MS + 1);
    assert_true(strcmp(older, newer) < 0);
}

static int parse_text(const char *s, enum wd_id_kind kind)
{
    uint32_t bucket = 77;
    int rc = wd_id_parse(s, strlen(s), kind, &bucket);

    if (rc < 0)
        assert_int_equal(bucket, 77); /* untouched on refusal */
    return rc;
}

static void test_refused(void **state)
{
    char id[WD_ID_LEN + 2];

    (void)state;
    assert_int_equal(parse_text("wal_0000000000000000000000000000000000ab", WD_ID_WALLET), 0);
    assert_int_equal(parse_text("wal_3fff000000000000000000000000000000ab", WD_ID_WALLET), 0);
    /* bucket 16384 and above */
    assert_int_equal(parse_text("wal_4000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_ffff000000000000000000000000000000ab", WD_ID_WALLET), -1);
    /* wrong prefix, or the other kind's prefix */
    assert_int_equal(parse_text("txn_0000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_0000000000000000000000000000000000ab", WD_ID_TXN), -1);
    assert_int_equal(parse_text("WAL_0000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal-0000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    /* uppercase hex: every ID has exactly one spelling */
    assert_int_equal(parse_text("wal_0000000000000000000000000000000000AB", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_00A0000000000000000000000000000000ab", WD_ID_WALLET), -1);
    /* non-hex */
    assert_int_equal(parse_text("wal_000000000000000000000000000000000gab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_0000 00000000000000000000000000000ab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_-000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    /* lengths */
    assert_int_equal(parse_text("wal_000000000000000000000000000000000ab", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_0000000000000000000000000000000000abc", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal_", WD_ID_WALLET), -1);
    assert_int_equal(parse_text("wal", WD_ID_WALLET), -1);

    /* the explicit length rules: a NUL inside is refused */
    memcpy(id, "wal_0000000000000000000000000000000000ab", WD_ID_LEN + 1);
    id[30] = '\0';
    uint32_t bucket;
    assert_int_equal(wd_id_parse(id, WD_ID_LEN, WD_ID_WALLET, &bucket), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_layout),
        cmocka_unit_test(test_ids_differ), cmocka_unit_test(test_ids_of_one_bucket_sort_by_time),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
