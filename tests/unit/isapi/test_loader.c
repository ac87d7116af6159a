/*
 * test_loader.c - loading filters: GetFilterVersion with a zeroed structure, flag
 * normalisation, declined filters, load errors, one load per path, TerminateFilter and
 * FreeLibrary in reverse load order.
 */
#include <stdio.h>
#include <string.h>
#include <httpext.h>

#include "fixture.h"

START_TEST(test_load_flags_normalised)
{
    /* no port bit -> both; no order bit -> LOW */
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "");
    /* several order bits -> the highest; unknown bit 0x00100000 (TMG) dropped */
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_LOW |
             SF_NOTIFY_ORDER_HIGH | 0x00100000, "");
    fx_probe(2, "C", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_ORDER_MEDIUM |
             SF_NOTIFY_ORDER_LOW, "");
    ck_assert_uint_eq(isapi_engine_filter_count(F.e), 3);
    ck_assert_uint_eq(isapi_engine_filter_flags(F.e, 0),
                      SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SECURE_PORT |
                      SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_LOW);
    ck_assert_uint_eq(isapi_engine_filter_flags(F.e, 1),
                      SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_HIGH);
    ck_assert_uint_eq(isapi_engine_filter_flags(F.e, 2),
                      SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_ORDER_MEDIUM);
    ck_assert_str_eq(isapi_engine_filter_desc(F.e, 1), "B");
}
END_TEST

START_TEST(test_load_version_struct_zeroed_and_revision)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "");
    ck_assert_msg(fx_has("A VERSION server=00060000 zeroed=1\n"), "journal:\n%s", FX_J);

    isapi_engine_destroy(F.e);
    F.cfg.server_filter_version = 0x00070005;
    F.e = isapi_engine_create(&F.cfg);
    F.journal.len = 0;
    F.journal.text[0] = '\0';
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS, "PRE:ctx=get");
    ck_assert_msg(fx_has("B VERSION server=00070005 zeroed=1\n"), "journal:\n%s", FX_J);
}
END_TEST

START_TEST(test_load_version_false_skips_with_error_text)
{
    ck_assert_int_eq(fx_probe_version(0, "A", SF_NOTIFY_PREPROC_HEADERS, FALSE, ERROR_ACCESS_DENIED), 1);
    ck_assert_uint_eq(isapi_engine_filter_count(F.e), 0);
    ck_assert_msg(strstr(F.logs, "GetFilterVersion returned FALSE") != NULL, "logs:\n%s", F.logs);
    ck_assert_msg(strstr(F.logs, "error 5") != NULL, "logs:\n%s", F.logs);
    ck_assert_msg(strstr(F.logs, fx_probe_paths[0]) != NULL, "logs:\n%s", F.logs);
    /* the declined filter gets no notification */
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_msg(!fx_has("A PRE"), "journal:\n%s", FX_J);
}
END_TEST

START_TEST(test_load_version_false_silent_with_error_zero)
{
    ck_assert_int_eq(fx_probe_version(0, "A", SF_NOTIFY_PREPROC_HEADERS, FALSE, 0), 1);
    ck_assert_uint_eq(isapi_engine_filter_count(F.e), 0);
    ck_assert_msg(strstr(F.logs, "GetFilterVersion") == NULL, "logs:\n%s", F.logs);
}
END_TEST

START_TEST(test_load_errors_name_file_and_reason)
{
    char msg[512] = "";
    ck_assert_int_eq(isapi_engine_load(F.e, "/nonexistent/dir/nofilter.so", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "/nonexistent/dir/nofilter.so") && strstr(msg, "cannot load"), "%s", msg);
    msg[0] = '\0';
    ck_assert_int_eq(isapi_engine_load(F.e, NOPROC_PATH, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, NOPROC_PATH) && strstr(msg, "HttpFilterProc is not exported"), "%s", msg);
    ck_assert_uint_eq(isapi_engine_filter_count(F.e), 0);
}
END_TEST

START_TEST(test_load_same_path_once)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "");
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "");
    ck_assert_uint_eq(isapi_engine_filter_count(F.e), 1);
    ck_assert_int_eq(fx_count("A VERSION"), 1);
    ck_assert_msg(strstr(F.logs, "listed twice") != NULL, "logs:\n%s", F.logs);
}
END_TEST

START_TEST(test_unload_terminate_reverse_order)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_HIGH, "");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS, "");
    fx_probe(2, "C", SF_NOTIFY_PREPROC_HEADERS, "");
    isapi_engine_destroy(F.e);
    F.e = NULL;
    char want[64];
    snprintf(want, sizeof want, "C TERMINATE %d\n", HSE_TERM_MUST_UNLOAD);
    ck_assert_msg(fx_has(want), "journal:\n%s", FX_J);
    ck_assert_msg(fx_before("C TERMINATE", "B TERMINATE") && fx_before("B TERMINATE", "A TERMINATE"),
                  "journal:\n%s", FX_J);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_loader");
    TCase *tc = tcase_create("loader");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_load_flags_normalised);
    tcase_add_test(tc, test_load_version_struct_zeroed_and_revision);
    tcase_add_test(tc, test_load_version_false_skips_with_error_text);
    tcase_add_test(tc, test_load_version_false_silent_with_error_zero);
    tcase_add_test(tc, test_load_errors_name_file_and_reason);
    tcase_add_test(tc, test_load_same_path_once);
    tcase_add_test(tc, test_unload_terminate_reverse_order);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
