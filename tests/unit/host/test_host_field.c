/*
 * test_host_field.c - the Host field checks of host/parse.c: host_parse_host_valid() on a
 * table of values (RFC 9110 section 7.2 and RFC 3986 section 3.2.2 grammar, and the
 * decisions written in parse.h), and host_parse_host() on whole requests: HTTP/1.1 needs
 * exactly one valid Host, HTTP/1.0 may omit it but not send an invalid one or two.
 *
 * Each value is copied to the end of a malloc'ed block of exactly its length, so a read
 * past the value shows up under AddressSanitizer (the asan preset).
 */
#include "parse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *value;
    int valid;
} hosts[] = {
    { "example.com", 1 },
    { "example.com:8080", 1 },
    { "EXAMPLE.com", 1 },
    { "127.0.0.1", 1 },
    { "127.0.0.1:80", 1 },
    { "localhost:", 1 },            /* port = *DIGIT may be empty */
    { "a-b_c~d.e", 1 },
    { "a!$&'()*+,;=b", 1 },         /* sub-delims */
    { "ex%41mple", 1 },             /* pct-encoded */
    { "[::1]", 1 },
    { "[::1]:8080", 1 },
    { "[::]", 1 },
    { "[2001:db8::1]", 1 },
    { "[2001:db8:0:0:0:0:0:1]", 1 },
    { "[1:2:3:4:5:6:7::]", 1 },
    { "[::2:3:4:5:6:7:8]", 1 },
    { "[::ffff:192.0.2.1]", 1 },
    { "[64:ff9b::192.0.2.33]:443", 1 },
    { "[v1.fe80::a+b]", 1 },        /* IPvFuture */
    { "a:65535", 1 },
    { "", 0 },                      /* empty: an http URI's host must not be */
    { ":80", 0 },
    { "a b", 0 },
    { "a/../b", 0 },
    { "a/b", 0 },
    { "a\\b", 0 },
    { "a@b", 0 },                   /* userinfo is not part of Host */
    { "a?b", 0 },
    { "a#b", 0 },
    { "a\"b", 0 },
    { "\xc3\xa9xample", 0 },        /* raw UTF-8: must be punycode or pct-encoded */
    { "ex%4", 0 },
    { "ex%zz", 0 },
    { "a:80:80", 0 },
    { "a:8o", 0 },
    { "a:65536", 0 },
    { "a:000000000065536", 0 },
    { "[::1", 0 },
    { "::1", 0 },                   /* IPv6 without brackets */
    { "[::1]x", 0 },
    { "[::1]:", 1 },
    { "[]", 0 },
    { "[1:2:3:4:5:6:7:8:9]", 0 },
    { "[1::2::3]", 0 },
    { "[12345::1]", 0 },
    { "[:1]", 0 },
    { "[1:]", 0 },
    { "[::1%25eth0]", 0 },          /* zone identifiers are not in RFC 9110 */
    { "[::ffff:192.0.2.256]", 0 },
    { "[::ffff:192.0.2]", 0 },
    { "[::ffff:192.0.02.1]", 0 },   /* dec-octet has no leading zero */
    { "[1:2:3:4:5:6:7:1.2.3.4]", 0 },
    { "[v.x]", 0 },
    { "[v1.]", 0 },
    { "[g::1]", 0 },
    { "a\tb", 0 },
    { "a\x7f", 0 },
};

START_TEST(test_host_value)
{
    const char *v = hosts[_i].value;
    size_t n = strlen(v);
    char *copy = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, v, n);
    int got = host_parse_host_valid(copy, n);
    free(copy);
    ck_assert_msg(got == hosts[_i].valid, "Host \"%s\": got %d, want %d", v, got,
                  hosts[_i].valid);
}
END_TEST

/* Parses a whole head and applies host_parse_host(); returns its status (0 = accepted). */
static int host_status(const char *head)
{
    host_request_line_t rl;
    host_header_t h[16];
    size_t nh = 16;
    int status = 0;
    int rc = host_parse_request(head, strlen(head), &rl, h, &nh, 0, NULL, &status);
    ck_assert_msg(rc > 0, "head did not parse: %s", head);
    status = 0;
    if (host_parse_host(&rl, h, nh, &status) != 0) {
        ck_assert_int_ne(status, 0);
        return status;
    }
    return 0;
}

START_TEST(test_host_requests)
{
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nhOST: a\r\nHost: b\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.1\r\nHost: a/../b\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    ck_assert_int_eq(host_status("GET / HTTP/1.0\r\n\r\n"), 0);
    ck_assert_int_eq(host_status("GET / HTTP/1.0\r\nHost: a:81\r\n\r\n"), 0);
    ck_assert_int_eq(host_status("GET / HTTP/1.0\r\nHost: a b\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.0\r\nHost:\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(host_status("GET /\r\n"), 0);
}
END_TEST

static Suite *host_field_suite(void)
{
    Suite *s = suite_create("host_field");
    TCase *tc = tcase_create("host");
    tcase_add_loop_test(tc, test_host_value, 0, (int)(sizeof hosts / sizeof hosts[0]));
    tcase_add_test(tc, test_host_requests);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(host_field_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
