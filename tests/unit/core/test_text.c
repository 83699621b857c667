/*
 * tests/unit/core/test_text.c - the one validator of caller-chosen text (core/text.c).
 */
#include "core/text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_lengths(void **state)
{
    (void)state;
    assert_false(wd_text_valid("", 0, 4, WD_TEXT_PRINTABLE));
    assert_true(wd_text_valid("abcd", 4, 4, WD_TEXT_PRINTABLE));
    assert_false(wd_text_valid("abcde", 5, 4, WD_TEXT_PRINTABLE));
    assert_false(wd_text_valid("ab\0d", 4, 4, WD_TEXT_PRINTABLE)); /* an embedded NUL counts */
}

static void test_classes(void **state)
{
    (void)state;
    assert_true(wd_text_valid(" ~order #1", 10, 64, WD_TEXT_PRINTABLE));
    assert_false(wd_text_valid("tab\there", 8, 64, WD_TEXT_PRINTABLE));
    assert_false(wd_text_valid("caf\xc3\xa9", 5, 64, WD_TEXT_PRINTABLE));
    assert_false(wd_text_valid("\x7f", 1, 64, WD_TEXT_PRINTABLE));
    assert_true(wd_text_valid("A-z_0.9:x", 9, 64, WD_TEXT_ID));
    assert_false(wd_text_valid("a b", 3, 64, WD_TEXT_ID));
    assert_true(wd_text_valid("Acme_Corp.eu-1", 14, 64, WD_TEXT_NAME));
    assert_false(wd_text_valid("a:b", 3, 64, WD_TEXT_NAME)); /* no colon in a name */
    for (int c = 0; c < 256; c++) {
        char s = (char)c;
        bool printable = c >= 0x20 && c <= 0x7e;
        assert_int_equal(wd_text_valid(&s, 1, 1, WD_TEXT_PRINTABLE), printable);
        if (wd_text_valid(&s, 1, 1, WD_TEXT_ID))
            assert_true(printable && c != ' ');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
