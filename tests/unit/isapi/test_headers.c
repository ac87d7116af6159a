/*
 * test_headers.c - the engine's header lists: add/set/del/find/joined, exact full-name
 * matching, parse_block; and the memory of a request's strings and lists: freed once, at
 * the request's end, and a failed allocation that never goes unnoticed (the out-of-memory
 * flag, driven by the fault injection of test builds, arena.c).
 */
#define _POSIX_C_SOURCE 200809L   /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

START_TEST(test_headers_exact_name_matching)
{
    isapi_headers h = {0};
    ck_assert_int_eq(isapi_headers_add(&h, "CustomHeader1", (size_t)-1, "one", (size_t)-1), 0);
    ck_assert_int_eq(isapi_headers_add(&h, "customheader", (size_t)-1, "two", (size_t)-1), 0);
    /* KB 872953: setting CustomHeader: must not touch CustomHeader1 */
    ck_assert_int_eq(isapi_headers_set(&h, "CustomHeader:", "three"), 0);
    ck_assert_str_eq(isapi_headers_find(&h, "CUSTOMHEADER1"), "one");
    ck_assert_str_eq(isapi_headers_find(&h, "CustomHeader"), "three");
    ck_assert_ptr_null(isapi_headers_find(&h, "Custom"));
    ck_assert_uint_eq(h.n, 2);
    isapi_headers_clear(&h);
}
END_TEST

START_TEST(test_headers_set_replaces_all_keeps_position)
{
    isapi_headers h = {0};
    ck_assert_int_eq(isapi_headers_parse_block(&h, "A: 1\r\nB: x\r\nA: 2\r\nC: 3\r\n\r\nIgnored: 1\r\n"), 0);
    ck_assert_uint_eq(h.n, 4);
    char *j = isapi_headers_get_joined(&h, "a:", NULL);
    ck_assert_str_eq(j, "1, 2");
    free(j);
    ck_assert_int_eq(isapi_headers_set(&h, "a", "9"), 0);
    ck_assert_uint_eq(h.n, 3);
    ck_assert_str_eq(h.v[0].name, "A");
    ck_assert_str_eq(h.v[0].value, "9");
    ck_assert_str_eq(h.v[1].name, "B");
    ck_assert_uint_eq(isapi_headers_del(&h, "b"), 1);
    ck_assert_uint_eq(isapi_headers_del(&h, "b"), 0);
    ck_assert_ptr_null(isapi_headers_get_joined(&h, "B", NULL));
    ck_assert_int_eq(isapi_headers_set(&h, "New", "v"), 0);
    ck_assert_str_eq(h.v[h.n - 1].name, "New");
    isapi_headers_clear(&h);
    ck_assert_uint_eq(h.n, 0);
}
END_TEST

START_TEST(test_headers_parse_block_rejects_line_without_colon)
{
    isapi_headers h = {0};
    ck_assert_int_eq(isapi_headers_parse_block(&h, "Good: yes\nbad line\n"), -2);
    ck_assert_uint_eq(h.n, 1);
    ck_assert_str_eq(isapi_headers_find(&h, "good"), "yes");
    isapi_headers_clear(&h);
}
END_TEST

/* ---- request memory ------------------------------------------------------------ */

START_TEST(test_request_strings_freed_once)
{
    fx_open(0);
    isapi_request *r = isapi_request_begin(F.c);
    ck_assert_int_eq(isapi_str_set(r, &r->method, "GET", (size_t)-1), 0);
    char *first = r->method;
    ck_assert_int_eq(isapi_headers_add(&r->headers, "X-A", (size_t)-1, "one", (size_t)-1), 0);
    const char *old_value = isapi_headers_find(&r->headers, "X-A");
    /* Replacing a field or a header frees nothing: the old strings stay readable until the
     * request ends. */
    ck_assert_int_eq(isapi_str_set(r, &r->method, "POST", (size_t)-1), 0);
    ck_assert_int_eq(isapi_headers_set(&r->headers, "X-A", "two"), 0);
    ck_assert_uint_eq(isapi_headers_del(&r->headers, "X-A"), 1);
    ck_assert_str_eq(first, "GET");
    ck_assert_str_eq(old_value, "one");
    ck_assert_str_eq(r->method, "POST");
    char *page = isapi_request_alloc(r, 100);
    ck_assert_ptr_nonnull(page);
    memset(page, 'x', 100);
    /* Longer than the first block: the arena takes a chunk of its size. */
    char big[5000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(isapi_str_set(r, &r->url, big, (size_t)-1), 0);
    ck_assert_uint_eq(strlen(r->url), sizeof big - 1);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 0);
    isapi_request_end(F.c);
    ck_assert_ptr_null(r->method);
    ck_assert_ptr_null(r->url);
    ck_assert_uint_eq(r->headers.n, 0);
    /* The next request on the connection reuses the first block from its start. */
    r = isapi_request_begin(F.c);
    ck_assert_int_eq(isapi_str_set(r, &r->method, "PUT", (size_t)-1), 0);
    ck_assert_ptr_eq(r->method, first);
    isapi_request_end(F.c);
    /* An idle connection holds no block; a request after that takes a new one. */
    isapi_conn_trim(F.c);
    ck_assert_ptr_null(F.c->strings.chunks);
    r = isapi_request_begin(F.c);
    ck_assert_int_eq(isapi_str_set(r, &r->method, "HEAD", (size_t)-1), 0);
    ck_assert_str_eq(r->method, "HEAD");
    isapi_conn_trim(F.c);   /* a request is open: nothing is given back */
    ck_assert_str_eq(r->method, "HEAD");
}
END_TEST

/* Test builds fail the ISAPIHOST_TEST_FAIL_ALLOC-th allocation of every request. */
static void fail_first_setup(void)
{
    setenv("ISAPIHOST_TEST_FAIL_ALLOC", "1", 1);
    fx_setup();
}

static void fail_fifth_setup(void)
{
    setenv("ISAPIHOST_TEST_FAIL_ALLOC", "5", 1);
    fx_setup();
}

static int fault_injection_built(void)
{
    if (isapi__fault_injection())
        return 1;
    fprintf(stderr, "skipped: the engine was built without ISAPI_FAULT_INJECTION (a Release "
            "build), so no allocation can be made to fail\n");
    return 0;
}

START_TEST(test_request_failed_allocation_sets_the_flag)
{
    if (!fault_injection_built())
        return;
    fx_open(0);
    /* A header: the list is unchanged, the call fails, and the request is marked. */
    isapi_request *r = isapi_request_begin(F.c);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 0);
    ck_assert_int_eq(isapi_headers_add(&r->headers, "Host", (size_t)-1, "h", (size_t)-1), -1);
    ck_assert_uint_eq(r->headers.n, 0);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 1);
    ck_assert_int_eq(isapi_headers_add(&r->headers, "Host", (size_t)-1, "h", (size_t)-1), 0);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 1);   /* sticky until cleared */
    isapi_request_clear_out_of_memory(r);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 0);
    isapi_request_end(F.c);
    /* A field: unchanged, and the next request starts with a clear flag. */
    r = isapi_request_begin(F.c);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 0);
    ck_assert_int_eq(isapi_str_set(r, &r->method, "GET", (size_t)-1), -1);
    ck_assert_ptr_null(r->method);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 1);
    isapi_request_end(F.c);
    /* The host's own request memory. */
    r = isapi_request_begin(F.c);
    ck_assert_ptr_null(isapi_request_alloc(r, 10));
    ck_assert_int_eq(isapi_request_out_of_memory(r), 1);
}
END_TEST

START_TEST(test_filter_set_header_out_of_memory)
{
    if (!fault_injection_built())
        return;
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "PRE:sh=X-New:=v,gh=X-New:");
    fx_open(0);
    /* method, url, version, the URL kept for the chain: the filter's SetHeader is the
     * fifth allocation of the request. */
    isapi_request *r = fx_request("GET", "/p", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_msg(fx_has("A PRE sh X-New: ok=0 !8\n"), "journal:\n%s", FX_J);
    ck_assert_msg(fx_has("A PRE gh X-New:!1413\n"), "journal:\n%s", FX_J);
    ck_assert_int_eq(isapi_request_out_of_memory(r), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_headers");
    TCase *tc = tcase_create("lists");
    tcase_add_test(tc, test_headers_exact_name_matching);
    tcase_add_test(tc, test_headers_set_replaces_all_keeps_position);
    tcase_add_test(tc, test_headers_parse_block_rejects_line_without_colon);
    suite_add_tcase(s, tc);
    TCase *mem = tcase_create("request memory");
    tcase_add_checked_fixture(mem, fx_setup, fx_teardown);
    tcase_add_test(mem, test_request_strings_freed_once);
    suite_add_tcase(s, mem);
    TCase *oom = tcase_create("out of memory");
    tcase_add_checked_fixture(oom, fail_first_setup, fx_teardown);
    tcase_add_test(oom, test_request_failed_allocation_sets_the_flag);
    suite_add_tcase(s, oom);
    TCase *oom5 = tcase_create("out of memory in a filter's SetHeader");
    tcase_add_checked_fixture(oom5, fail_fifth_setup, fx_teardown);
    tcase_add_test(oom5, test_filter_set_header_out_of_memory);
    suite_add_tcase(s, oom5);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
