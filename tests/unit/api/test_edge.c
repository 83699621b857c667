/*
 * tests/unit/api/test_edge.c - api/edge: strict percent-decoding (encoded NUL and slash noted),
 * and the header block check over buffers laid out as libmicrohttpd 0.9.75 leaves them (each ':'
 * and each CR and LF of a line end replaced by NUL, in place).
 */
#include "api/edge.h"

#include <string.h>

#include "tests/unit/testing.h"

static void test_unescape(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
        size_t len;
        bool nul, slash;
    } cases[] = {
        {"/api/v1/wallets", "/api/v1/wallets", 15, false, false},
        {"a%20b", "a b", 3, false, false},
        {"/metrics%00.png", "/metrics\0.png", 13, true, false},
        {"/api/v1/wallets%2Fwal_1", "/api/v1/wallets/wal_1", 21, false, true},
        {"x%2fy", "x/y", 3, false, true},
        {"100%", "100%", 4, false, false},
        {"%zz%4", "%zz%4", 5, false, false},
        {"a+b", "a+b", 3, false, false},
    };

    for (size_t i = 0; i < N_CASES(cases); i++) {
        char buf[64];
        struct wd_edge_escapes found = {0};
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        size_t len = wd_edge_unescape(buf, &found);
        assert_int_equal(len, cases[i].len);
        assert_memory_equal(buf, cases[i].out, len);
        assert_int_equal(found.nul, cases[i].nul);
        assert_int_equal(found.slash, cases[i].slash);
    }
}

/*
 * Lays raw header lines out as libmicrohttpd does: text is the request from its version on, each
 * ':' of a header and each CR and LF turned into NUL; headers are then found by scanning it.
 */
struct block {
    char buf[512];
    struct wd_edge_header h[8];
    size_t n;
};

static void lay_out(struct block *b, const char *raw, size_t rawlen)
{
    memset(b, 0, sizeof(*b));
    memcpy(b->buf, raw, rawlen);
    char *line = b->buf + strcspn(b->buf, "\r\n"); /* after the version */
    while (line < b->buf + rawlen) {
        while (*line == '\r' || *line == '\n') /* this line's end */
            *line++ = '\0';
        if (line >= b->buf + rawlen || !*line)
            break;
        size_t len = strcspn(line, "\r\n");
        char *colon = memchr(line, ':', len);
        if (!colon)
            break;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ')
            value++;
        b->h[b->n++] = (struct wd_edge_header){line, (size_t)(colon - line), value,
                                               (size_t)(line + len - value)};
        line += len;
    }
}

static const char *check(const char *raw, size_t len)
{
    struct block b;

    lay_out(&b, raw, len);
    return wd_edge_check_headers(b.buf, b.h, b.n);
}

#define CHECK(raw) check(raw, sizeof(raw) - 1)

static void test_well_formed_blocks_pass(void **state)
{
    (void)state;
    assert_null(CHECK("HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}"));
    assert_null(CHECK("HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Pad: v  \r\n\r\n"));
    assert_null(CHECK("HTTP/1.0\r\n\r\n"));
    assert_null(CHECK("HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    /* other control characters are the header's own checks' to refuse */
    assert_null(CHECK("HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"));
}

static void test_bad_blocks_are_refused(void **state)
{
    (void)state;
    assert_non_null(CHECK("HTTP/1.1\nHost: x\r\n\r\n"));           /* bare LF, request line */
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n")); /* bare LF in the block */
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\n\n{}"));         /* bare LF, empty line */
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"));
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"));
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"));
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n"));
    assert_non_null(CHECK("HTTP/1.1\r\nHost: x\r\nX-A\t: b\r\n\r\n"));
    assert_non_null(check("", 0));
}

static void test_nul_inside_a_value_is_refused(void **state)
{
    (void)state;
    struct block b;
    static const char raw[] = "HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";

    lay_out(&b, raw, sizeof(raw) - 1);
    b.h[1].value_len = 1; /* libmicrohttpd's value is cut at the NUL: "a" */
    assert_non_null(wd_edge_check_headers(b.buf, b.h, 2));
}

static void test_moved_line_is_refused(void **state)
{
    (void)state;
    struct block b;
    static const char raw[] = "HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\r\n";
    static const char elsewhere[] = "X-Ab\0a";

    lay_out(&b, raw, sizeof(raw) - 1);
    b.h[1] = (struct wd_edge_header){elsewhere, 4, elsewhere + 5, 1}; /* as a folded line ends */
    assert_non_null(wd_edge_check_headers(b.buf, b.h, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_well_formed_blocks_pass),
        cmocka_unit_test(test_bad_blocks_are_refused),
        cmocka_unit_test(test_nul_inside_a_value_is_refused),
        cmocka_unit_test(test_moved_line_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
