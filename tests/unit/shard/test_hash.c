/*
 * tests/unit/shard/test_hash.c - shard/hash: golden vectors that pin the account -> bucket hash
 * forever, its spread over shards, and account ID validation.
 */
#include "shard/hash.h"
#include "shard/map.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Golden vectors, computed independently of this code base with Python's hashlib:
 *
 *   python3 -c 'import hashlib,sys; d=hashlib.blake2b(sys.argv[1].encode(), digest_size=16)\
 *     .digest(); print(int.from_bytes(d[:8], "little") % 16384)' <accountId>
 *
 * i.e. unkeyed BLAKE2b, 16-byte digest, first 8 bytes as little-endian uint64, mod 16384. If one
 * of these changes, every account in production moves to another shard: never "fix" a vector.
 */
static const struct {
    const char *id;
    uint32_t bucket;
} golden[] = {
    {"a", 807},
    {"Z", 8850},
    {"0", 18},
    {"cust-42", 6695},
    {"cust-1", 4901},
    {"acct-0", 8988},
    {"acct-99999", 4761},
    {"user_123", 9850},
    {"tenant.account:7", 14132},
    {"a-b_c.d:e", 4994},
    {"::", 15569},
    {"...", 10888},
    {"--__--", 3104},
    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 12517},
    {"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._", 12575},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 782},
};

static void test_golden_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
        size_t len = strlen(golden[i].id);
        assert_true(wd_hash_account_valid(golden[i].id, len));
        uint32_t got = wd_hash_bucket(golden[i].id, len);
        if (got != golden[i].bucket)
            fail_msg("bucket of '%s' is %u, golden vector says %u", golden[i].id, got,
                     golden[i].bucket);
    }
}

static void test_golden_lengths(void **state)
{
    (void)state;
    /* the vectors cover the shortest and longest account IDs */
    assert_int_equal(strlen(golden[0].id), 1);
    assert_int_equal(strlen(golden[13].id), WD_ACCOUNT_MAX);
    assert_int_equal(strlen(golden[14].id), WD_ACCOUNT_MAX);
}

static void test_hash_uses_explicit_length(void **state)
{
    (void)state;
    /* "cust-42" followed by more bytes hashes as "cust-42" when the length says 7 */
    assert_int_equal(wd_hash_bucket("cust-42-and-more", 7), 6695);
    assert_int_equal(wd_hash_bucket("acct-0\0junk", 6), 8988);
    /* any bytes hash safely and stay in range */
    assert_true(wd_hash_bucket("\xff\x00\x01", 3) < WD_BUCKETS);
    assert_true(wd_hash_bucket("", 0) < WD_BUCKETS);
}

/* A deterministic xorshift64 generator, so the "random-looking" IDs are the same every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define N_ACCOUNTS 100000

/* Counts accounts per shard for an even split over shards; asserts each within +-3%. */
static void check_spread(int shards, int use_random)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-";
    struct wd_map *map = malloc(sizeof(*map));
    struct wd_error err = {0};
    int count[8] = {0};
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char id[WD_ACCOUNT_MAX + 1];

    assert_non_null(map);
    assert_int_equal(wd_map_init(map, shards, NULL, &err), 0);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        size_t len;
        if (use_random) {
            len = 8 + next_random(&seed) % 33;
            for (size_t j = 0; j < len; j++)
                id[j] = alphabet[next_random(&seed) % (sizeof(alphabet) - 1)];
            id[len] = '\0';
        } else {
            len = (size_t)snprintf(id, sizeof(id), "acct-%d", i);
        }
        assert_true(wd_hash_account_valid(id, len));
        int shard = wd_map_lookup(map, wd_hash_bucket(id, len));
        assert_in_range(shard, 0, shards - 1);
        count[shard]++;
    }
    double even = (double)N_ACCOUNTS / shards;
    for (int s = 0; s < shards; s++) {
        if (count[s] < even * 0.97 || count[s] > even * 1.03)
            fail_msg("%s ids, %d shards: shard %d has %d accounts, even is %.0f",
                     use_random ? "random" : "acct-N", shards, s, count[s], even);
    }
    free(map);
}

static void test_spread_sequential_ids(void **state)
{
    (void)state;
    check_spread(2, 0);
    check_spread(4, 0);
    check_spread(8, 0);
}

static void test_spread_random_ids(void **state)
{
    (void)state;
    check_spread(2, 1);
    check_spread(4, 1);
    check_spread(8, 1);
}

static void test_account_id_valid(void **state)
{
    char id[WD_ACCOUNT_MAX + 2];

    (void)state;
    assert_true(wd_hash_account_valid("a", 1));
    assert_true(wd_hash_account_valid("A-z_0.9:x", 9));
    memset(id, 'k', sizeof(id));
    assert_true(wd_hash_account_valid(id, 64));
    assert_false(wd_hash_account_valid(id, 65));
    assert_false(wd_hash_account_valid("", 0));
    assert_false(wd_hash_account_valid("abc", 0));
    assert_false(wd_hash_account_valid("cust 42", 7));
    assert_false(wd_hash_account_valid("cust/42", 7));
    assert_false(wd_hash_account_valid("cust@42", 7));
    assert_false(wd_hash_account_valid("cust+42", 7));
    assert_false(wd_hash_account_valid("cust%42", 7));
    assert_false(wd_hash_account_valid("cust,42", 7));
    assert_false(wd_hash_account_valid("caf\xc3\xa9", 5));
    assert_false(wd_hash_account_valid("tab\there", 8));
    assert_false(wd_hash_account_valid("new\n", 4));
    assert_false(wd_hash_account_valid("\x7f", 1));
    /* a NUL inside the explicit length is refused, not treated as the end */
    assert_false(wd_hash_account_valid("ab\0cd", 5));
    assert_false(wd_hash_account_valid("abc\0", 4));
    assert_true(wd_hash_account_valid("abc\0", 3));
    /* every byte value: exactly the 66 characters of [A-Za-z0-9_.:-] are allowed */
    int allowed = 0;
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        if (wd_hash_account_valid(&one, 1)) {
            allowed++;
            assert_non_null(
                strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-", c));
            assert_true(c != 0);
        }
    }
    assert_int_equal(allowed, 66);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_vectors),
        cmocka_unit_test(test_golden_lengths),
        cmocka_unit_test(test_hash_uses_explicit_length),
        cmocka_unit_test(test_spread_sequential_ids),
        cmocka_unit_test(test_spread_random_ids),
        cmocka_unit_test(test_account_id_valid),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
