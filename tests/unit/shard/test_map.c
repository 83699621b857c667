/*
 * tests/unit/shard/test_map.c - shard/map: the even split's boundaries and SHARD_MAP specs.
 */
#include "shard/map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct wd_map));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/*
 * Asserts the map is contiguous and that shard k's first bucket is first[k]. The first buckets
 * are ceil(k * 16384 / count), worked out by hand in each test.
 */
static void expect_ranges(const struct wd_map *map, int count, const uint32_t *first)
{
    for (int k = 0; k < count; k++) {
        uint32_t lo = first[k];
        uint32_t hi = k + 1 < count ? first[k + 1] - 1 : WD_BUCKETS - 1;
        assert_int_equal(wd_map_lookup(map, lo), k);
        assert_int_equal(wd_map_lookup(map, hi), k);
        if (lo > 0)
            assert_int_equal(wd_map_lookup(map, lo - 1), k - 1);
    }
    for (uint32_t b = 1; b < WD_BUCKETS; b++) {
        int step = wd_map_lookup(map, b) - wd_map_lookup(map, b - 1);
        assert_in_range(step, 0, 1);
    }
}

static void test_even_split(void **state)
{
    struct wd_map *map = *state;
    struct wd_error err = {0};
    static const uint32_t one[] = {0};
    static const uint32_t two[] = {0, 8192};
    static const uint32_t three[] = {0, 5462, 10923}; /* ceil(16384/3), ceil(32768/3) */
    static const uint32_t four[] = {0, 4096, 8192, 12288};
    static const uint32_t eight[] = {0, 2048, 4096, 6144, 8192, 10240, 12288, 14336};

    assert_int_equal(wd_map_init(map, 1, NULL, &err), 0);
    assert_int_equal(map->shard_count, 1);
    expect_ranges(map, 1, one);
    assert_int_equal(wd_map_init(map, 2, "", &err), 0);
    expect_ranges(map, 2, two);
    assert_int_equal(wd_map_init(map, 3, NULL, &err), 0);
    expect_ranges(map, 3, three);
    assert_int_equal(wd_map_init(map, 4, NULL, &err), 0);
    expect_ranges(map, 4, four);
    assert_int_equal(wd_map_init(map, 8, NULL, &err), 0);
    assert_int_equal(map->shard_count, 8);
    expect_ranges(map, 8, eight);
}

static void test_shard_count_range(void **state)
{
    struct wd_map *map = *state;
    struct wd_error err = {0};

    assert_int_equal(wd_map_init(map, 0, NULL, &err), -WD_E_CONFIG);
    assert_int_equal(wd_map_init(map, -1, NULL, &err), -WD_E_CONFIG);
    assert_int_equal(wd_map_init(map, 256, NULL, &err), -WD_E_CONFIG);
    assert_int_equal(wd_map_init(map, 64, NULL, &err), 0);
    assert_int_equal(wd_map_lookup(map, WD_BUCKETS - 1), 63);
}

static void test_spec_valid(void **state)
{
    struct wd_map *map = *state;
    struct wd_error err = {0};

    assert_int_equal(wd_map_init(map, 2, "0-8191=0,8192-16383=1", &err), 0);
    assert_int_equal(wd_map_lookup(map, 0), 0);
    assert_int_equal(wd_map_lookup(map, 8191), 0);
    assert_int_equal(wd_map_lookup(map, 8192), 1);
    assert_int_equal(wd_map_lookup(map, 16383), 1);

    /* uneven, out of order, a range given back to shard 0, single-bucket ranges */
    assert_int_equal(wd_map_init(map, 3, "100-16382=2,0-0=1,1-99=0,16383-16383=0", &err), 0);
    assert_int_equal(wd_map_lookup(map, 0), 1);
    assert_int_equal(wd_map_lookup(map, 1), 0);
    assert_int_equal(wd_map_lookup(map, 99), 0);
    assert_int_equal(wd_map_lookup(map, 100), 2);
    assert_int_equal(wd_map_lookup(map, 16382), 2);
    assert_int_equal(wd_map_lookup(map, 16383), 0);

    /* a map may leave a shard without buckets (it is being drained) */
    assert_int_equal(wd_map_init(map, 2, "0-16383=1", &err), 0);
    for (uint32_t b = 0; b < WD_BUCKETS; b += 1000)
        assert_int_equal(wd_map_lookup(map, b), 1);
}

static void expect_refused(struct wd_map *map, int count, const char *spec, const char *part)
{
    struct wd_error err = {0};

    assert_int_equal(wd_map_init(map, count, spec, &err), -WD_E_CONFIG);
    assert_int_equal(err.code, -WD_E_CONFIG);
    if (strncmp(err.message, "SHARD_MAP: ", 11) != 0 || !strstr(err.message, part))
        fail_msg("spec '%s': message '%s' lacks '%s'", spec, err.message, part);
}

static void test_spec_refused(void **state)
{
    struct wd_map *map = *state;

    expect_refused(map, 2, "0-8192=0,8192-16383=1", "bucket 8192 assigned twice");
    expect_refused(map, 2, "0-16383=0,5-5=1", "bucket 5 assigned twice");
    expect_refused(map, 2, "0-8190=0,8192-16383=1", "bucket 8191 is not assigned");
    expect_refused(map, 2, "0-8191=0", "bucket 8192 is not assigned");
    expect_refused(map, 2, "1-16383=0", "bucket 0 is not assigned");
    expect_refused(map, 2, "8191-0=0,8192-16383=1", "reversed");
    expect_refused(map, 2, "0-8191=0,8192-16383=2", "shards 0..1");
    expect_refused(map, 2, "0-8191=0,8192-16383=-1", "expected");
    expect_refused(map, 2, "0-8191=0,8192-16384=1", "buckets 0..16383");
    expect_refused(map, 2, "0-99999999999999999999999=0", "expected");
    expect_refused(map, 2, "garbage", "expected");
    expect_refused(map, 2, "0-16383", "expected");
    expect_refused(map, 2, "0-16383=", "expected");
    expect_refused(map, 2, "0:16383=0", "expected");
    expect_refused(map, 2, " 0-16383=0", "expected");
    expect_refused(map, 2, "0 -16383=0", "expected");
    expect_refused(map, 2, "+0-16383=0", "expected");
    expect_refused(map, 2, "0-16383=0,,", "expected");
    expect_refused(map, 2, "0-16383=0;", "unexpected ';'");
    expect_refused(map, 2, "0-16383=0x", "unexpected 'x'");
    expect_refused(map, 1, "0-16383=1", "shards 0..0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_even_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_count_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
