/*
 * test_headers.c - the engine's header lists: add/set/del/find/joined, exact full-name
 * matching, parse_block.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

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

int main(void)
{
    Suite *s = suite_create("isapi_headers");
    TCase *tc = tcase_create("lists");
    tcase_add_test(tc, test_headers_exact_name_matching);
    tcase_add_test(tc, test_headers_set_replaces_all_keeps_position);
    tcase_add_test(tc, test_headers_parse_block_rejects_line_without_colon);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
