/*
 * tests/unit/shard/test_token.c - shard/token: consistency tokens round-trip, reject what walletd
 * did not make, and GTID positions compare per replication domain.
 */
#include "shard/token.h"

#include <sodium.h>
#include <stdio.h>
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

/* base64url without padding of plain, for tokens the encoder would never make. */
static void b64(const char *plain, char out[WD_TOKEN_MAX + 1])
{
    sodium_bin2base64(out, WD_TOKEN_MAX + 1, (const unsigned char *)plain, strlen(plain),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct wd_token t = {1, "0-1-42"}, back = {0};
    char text[WD_TOKEN_MAX + 1];

    assert_int_equal(wd_token_encode(&t, text), 0);
    /* Opaque to clients: neither the shard nor the GTID shows, and it is URL-safe. */
    assert_null(strstr(text, "0-1-42"));
    assert_int_equal(
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        strlen(text));
    assert_int_equal(wd_token_decode(text, 2, &back), 0);
    assert_int_equal(back.shard, 1);
    assert_string_equal(back.gtid, "0-1-42");
}

static void test_known_text(void **state)
{
    (void)state;
    struct wd_token t = {0, "0-1-7"}, back = {0};
    char text[WD_TOKEN_MAX + 1];

    /* python3 -c 'import base64; print(base64.urlsafe_b64encode(b"v1:0:0-1-7").rstrip(b"="))' */
    assert_int_equal(wd_token_encode(&t, text), 0);
    assert_string_equal(text, "djE6MDowLTEtNw");
    assert_int_equal(wd_token_decode("djE6MDowLTEtNw", 1, &back), 0);
    assert_string_equal(back.gtid, "0-1-7");
}

static void test_multi_domain_position(void **state)
{
    (void)state;
    struct wd_token t = {3, "0-1-42,1-2-7"}, back = {0};
    char text[WD_TOKEN_MAX + 1];

    assert_int_equal(wd_token_encode(&t, text), 0);
    assert_int_equal(wd_token_decode(text, 4, &back), 0);
    assert_int_equal(back.shard, 3);
    assert_string_equal(back.gtid, "0-1-42,1-2-7");
}

static void test_encode_refuses_bad_positions(void **state)
{
    (void)state;
    char text[WD_TOKEN_MAX + 1];
    struct wd_token bad[] = {{0, ""}, {0, "0-1"}, {0, "x-1-2"}, {0, "0-1-2,0-1-3"}, {-1, "0-1-2"}};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(wd_token_encode(&bad[i], text), -1);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    struct wd_token out;
    char text[WD_TOKEN_MAX + 1];
    const char *plain[] = {
        "v1:2:0-1-5",                       /* shard not below shard_count (2) */
        "v1:-1:0-1-5",                      /* negative shard */
        "v2:0:0-1-5",                       /* another version */
        "v1:0:",                            /* no position */
        "v1:0:0-1-5,",                      /* trailing comma */
        "v1:0:0-1-5 ",                      /* trailing space */
        "v1:0:0-1-99999999999999999999999", /* sequence overflows */
        "v1:0:0-1-5,0-2-6",                 /* a domain twice */
        "v1::0-1-5",                        /* no shard */
        "v1:0",                             /* no separator */
    };

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        b64(plain[i], text);
        assert_int_equal(wd_token_decode(text, 2, &out), -1);
    }
    assert_int_equal(wd_token_decode("", 2, &out), -1);
    assert_int_equal(wd_token_decode("not base64!", 2, &out), -1);
    assert_int_equal(wd_token_decode("djE6MDowLTEtNw==", 2, &out), -1); /* padded */
    /* A NUL inside the decoded bytes. */
    unsigned char nul[] = {'v', '1', ':', '0', ':', '0', '-', '1', '-', '7', 0, '9'};
    sodium_bin2base64(text, sizeof(text), nul, sizeof(nul),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_int_equal(wd_token_decode(text, 2, &out), -1);
    /* Longer than any token walletd makes. */
    char longtext[300];
    memset(longtext, 'A', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    assert_int_equal(wd_token_decode(longtext, 2, &out), -1);
}

static void test_position_valid(void **state)
{
    (void)state;
    assert_true(wd_token_position_valid("0-1-1"));
    assert_true(wd_token_position_valid("0-1-1,1-1-9,2-3-0"));
    assert_false(wd_token_position_valid(""));
    assert_false(wd_token_position_valid("0-1-"));
    assert_false(wd_token_position_valid("-1-1"));
    assert_false(wd_token_position_valid("0-1-1,"));
    assert_false(wd_token_position_valid("0--1-1"));
    assert_false(wd_token_position_valid("4294967296-1-1")); /* domain is 32 bits */
}

static void test_reached(void **state)
{
    (void)state;
    /* Same domain: sequence order decides, whichever server wrote it. */
    assert_true(wd_token_reached("0-1-42", "0-1-42"));
    assert_true(wd_token_reached("0-1-43", "0-1-42"));
    assert_true(wd_token_reached("0-2-43", "0-1-42"));
    assert_false(wd_token_reached("0-1-41", "0-1-42"));
    /* Numbers, not text: 100 is past 99. */
    assert_true(wd_token_reached("0-1-100", "0-1-99"));
    assert_false(wd_token_reached("0-1-99", "0-1-100"));
    /* Every domain wanted must be there and far enough. */
    assert_true(wd_token_reached("1-1-5,0-1-9", "0-1-9,1-1-5"));
    assert_false(wd_token_reached("0-1-9", "0-1-9,1-1-5"));
    assert_false(wd_token_reached("0-1-9,1-1-4", "0-1-9,1-1-5"));
    /* Extra domains in the position do not matter. */
    assert_true(wd_token_reached("0-1-9,7-1-1", "0-1-9"));
    /* Malformed either side: not reached. */
    assert_false(wd_token_reached("", "0-1-1"));
    assert_false(wd_token_reached("0-1-9", "garbage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_known_text),
        cmocka_unit_test(test_multi_domain_position),
        cmocka_unit_test(test_encode_refuses_bad_positions),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_position_valid),
        cmocka_unit_test(test_reached),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
