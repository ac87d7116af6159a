/*
 * test_notify.c - raising notifications: priority order, reverse SEND_RAW_DATA order, port
 * filtering, return codes, DISABLE_NOTIFICATIONS per request, pFilterContext persistence
 * and isolation, layered WriteClient, READ_NEXT, END_OF_NET_SESSION and AllocMem lifetime.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define PRE_SEND (SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RAW_DATA)

START_TEST(test_order_priority_and_reverse_send_raw)
{
    fx_probe(0, "L", PRE_SEND | SF_NOTIFY_ORDER_LOW, "");
    fx_probe(1, "H", PRE_SEND | SF_NOTIFY_ORDER_HIGH, "");
    fx_probe(2, "M", PRE_SEND | SF_NOTIFY_ORDER_MEDIUM, "");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "x", 1), ISAPI_CONTINUE);
    ck_assert_msg(fx_before("H PRE\n", "M PRE\n") && fx_before("M PRE\n", "L PRE\n"), "%s", FX_J);
    ck_assert_msg(fx_before("L SEND\n", "M SEND\n") && fx_before("M SEND\n", "H SEND\n"), "%s", FX_J);
    ck_assert_str_eq(F.wire, "x");
}
END_TEST

START_TEST(test_order_load_order_within_priority)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_MEDIUM, "");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_MEDIUM, "");
    fx_probe(2, "C", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_MEDIUM, "");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_msg(fx_before("A PRE\n", "B PRE\n") && fx_before("B PRE\n", "C PRE\n"), "%s", FX_J);
}
END_TEST

START_TEST(test_order_port_filtering)
{
    fx_probe(0, "S", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SECURE_PORT, "");
    fx_probe(1, "N", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_NONSECURE_PORT, "");
    fx_probe(2, "B", SF_NOTIFY_PREPROC_HEADERS, "");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_msg(fx_count("S PRE") == 0 && fx_count("N PRE") == 1 && fx_count("B PRE") == 1, "%s", FX_J);
    isapi_conn_close(F.c);
    fx_open(1);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_msg(fx_count("S PRE") == 1 && fx_count("N PRE") == 1 && fx_count("B PRE") == 2, "%s", FX_J);
}
END_TEST

START_TEST(test_return_handled_stops_this_notification_only)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_ORDER_HIGH,
             "PRE:ret=HANDLED");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_REQUEST, "");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_notify_end_of_request(F.c), ISAPI_CONTINUE);
    ck_assert_msg(!fx_has("B PRE") && fx_has("B END"), "%s", FX_J);
}
END_TEST

START_TEST(test_return_codes_map_to_host_codes)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION |
             SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_ORDER_HIGH,
             "PRE:ret=FINISHED;MAP:ret=KEEP;AUTH:ret=ERROR:5;DENY:ret=BOGUS;END:ret=READ_NEXT");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION |
             SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_END_OF_REQUEST, "");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_FINISHED);
    char path[MAX_PATH] = "/srv/www/index.html";
    HTTP_FILTER_URL_MAP_EX map = { "/", path, sizeof path, 0, 0, 0, NULL };
    ck_assert_int_eq(isapi_notify_url_map(F.c, &map), ISAPI_FINISHED_KEEP_CONN);
    ck_assert_int_eq(isapi_notify_authentication(F.c), ISAPI_ERROR);
    ck_assert_uint_eq(isapi_conn_filter_error(F.c), ERROR_ACCESS_DENIED);
    /* unknown return value: NEXT (CE httpd); READ_NEXT outside READ_RAW_DATA: NEXT */
    ck_assert_int_eq(isapi_notify_access_denied(F.c, "/", "/srv/www", SF_DENIED_LOGON), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_notify_end_of_request(F.c), ISAPI_CONTINUE);
    ck_assert_msg(!fx_has("B PRE") && !fx_has("B MAP") && !fx_has("B AUTH"), "%s", FX_J);
    ck_assert_msg(fx_has("B DENY") && fx_has("B END"), "%s", FX_J);
}
END_TEST

START_TEST(test_send_raw_finished_drops_output_and_closes)
{
    fx_probe(0, "A", SF_NOTIFY_SEND_RAW_DATA, "SEND@2:ret=FINISHED");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "one", 3), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "two", 3), ISAPI_FINISHED);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "three", 5), ISAPI_FINISHED);
    ck_assert_str_eq(F.wire, "one");
    ck_assert_int_eq(isapi_conn_must_close(F.c), 1);
    ck_assert_int_eq(fx_count("A SEND\n"), 2);
}
END_TEST

START_TEST(test_send_raw_error_drops_output)
{
    fx_probe(0, "A", SF_NOTIFY_SEND_RAW_DATA, "SEND:ret=ERROR:5");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "one", 3), ISAPI_ERROR);
    ck_assert_uint_eq(F.wlen, 0);
    ck_assert_int_eq(isapi_conn_must_close(F.c), 1);
}
END_TEST

START_TEST(test_send_raw_zero_replace_handled_private_copy)
{
    /* send order: L, M, H */
    fx_probe(0, "L", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_ORDER_LOW,
             "SEND@1:raw=zero;SEND@2:raw=replace:NEW;SEND@3:raw=upper");
    fx_probe(1, "M", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_ORDER_MEDIUM, "SEND:raw=rec;SEND@3:ret=HANDLED");
    fx_probe(2, "H", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_ORDER_HIGH, "SEND:raw=rec");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "gone", 4), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "old", 3), ISAPI_CONTINUE);
    char host_buf[] = "lower";
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), host_buf, 5), ISAPI_CONTINUE);
    ck_assert_str_eq(F.wire, "NEWLOWER");
    ck_assert_str_eq(host_buf, "lower");   /* the filters edited a private copy */
    ck_assert_msg(fx_has("M SEND raw [NEW] in=3") && fx_has("H SEND raw [NEW] in=3"), "%s", FX_J);
    /* M returned HANDLED for the third chunk: H did not see it, but it was sent */
    ck_assert_msg(fx_has("M SEND raw [LOWER]") && !fx_has("H SEND raw [LOWER]"), "%s", FX_J);
    ck_assert_uint_eq(isapi_conn_request(F.c)->bytes_sent, 8);
}
END_TEST

START_TEST(test_context_persists_across_requests)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, "PRE:ctx=inc,ctx=get");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS, "PRE:ctx=get");
    fx_open(0);
    for (int i = 0; i < 2; i++) {
        fx_request("GET", "/", "HTTP/1.1", NULL);
        isapi_notify_preproc_headers(F.c);
        fx_finish();
    }
    ck_assert_msg(fx_before("A PRE ctx=1\n", "A PRE ctx=2\n"), "%s", FX_J);
    ck_assert_int_eq(fx_count("B PRE ctx=0\n"), 2);
    /* a new connection starts with NULL */
    isapi_conn_close(F.c);
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_int_eq(fx_count("A PRE ctx=1\n"), 2);
}
END_TEST

START_TEST(test_context_isolated_under_nesting)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_ORDER_HIGH,
             "PRE:ctx=set:7,ssrh=200 OK,ctx=get;RESP:ctx=get");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE,
             "RESP:ctx=set:99,ctx=get;PRE:ctx=get");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_msg(fx_has("A RESP ctx=7\n") && fx_has("B RESP ctx=99\n"), "%s", FX_J);
    ck_assert_msg(fx_has("A PRE ctx=7\n") && fx_has("B PRE ctx=99\n"), "%s", FX_J);
    ck_assert_msg(fx_before("B RESP ctx=99\n", "A PRE ctx=7\n"), "%s", FX_J);
}
END_TEST

START_TEST(test_disable_notifications_reset_per_request)
{
    /* RESP | END | EONS, plus port, order and an unknown bit (pubcookie passes its whole
     * registration mask) */
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_END_OF_REQUEST |
             SF_NOTIFY_END_OF_NET_SESSION, "PRE@1:dis=1801C3");
    fx_open(0);
    for (int i = 0; i < 2; i++) {
        fx_request("GET", "/", "HTTP/1.1", NULL);
        isapi_notify_preproc_headers(F.c);
        fx_respond("");
        fx_finish();
    }
    ck_assert_int_eq(fx_count("A PRE\n"), 2);
    ck_assert_int_eq(fx_count("A RESP\n"), 1);
    ck_assert_int_eq(fx_count("A END\n"), 1);
    ck_assert_msg(fx_before("A PRE dis ok=1", "A RESP\n"), "%s", FX_J);
    isapi_conn_close(F.c);
    F.c = NULL;
    ck_assert_int_eq(fx_count("A EONS\n"), 1);
}
END_TEST

START_TEST(test_writeclient_layered_visibility)
{
    /* send order L -> M -> H -> wire */
    fx_probe(0, "L", PRE_SEND | SF_NOTIFY_ORDER_LOW, "SEND:raw=rec");
    fx_probe(1, "M", PRE_SEND | SF_NOTIFY_ORDER_MEDIUM, "PRE:wc=hello;SEND:raw=rec;SEND@1:wc=inner");
    fx_probe(2, "H", PRE_SEND | SF_NOTIFY_ORDER_HIGH, "SEND:raw=rec");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    /* from PREPROC_HEADERS: the caller M and H see the bytes, L does not */
    ck_assert_msg(!fx_has("L SEND") && fx_has("M SEND raw [hello]") && fx_has("H SEND raw [hello]"), "%s", FX_J);
    /* from M's own SEND_RAW_DATA: only H, and before the chunk M is processing */
    ck_assert_msg(fx_has("H SEND raw [inner]") && !fx_has("M SEND raw [inner]"), "%s", FX_J);
    ck_assert_str_eq(F.wire, "innerhello");
    ck_assert_msg(fx_has("M PRE wc ok=1 size=5"), "%s", FX_J);
}
END_TEST

START_TEST(test_read_raw_read_next_accumulates)
{
    /* call order: C (HIGH), A (HIGH, waits for the blank line), B (LOW) */
    fx_probe(2, "C", SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_ORDER_HIGH, "RAW:raw=rec");
    fx_probe(0, "A", SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_ORDER_HIGH, "RAW:raw=rec,readnext=~~,nrs=100");
    fx_probe(1, "B", SF_NOTIFY_READ_RAW_DATA, "RAW:raw=rec,raw=upper");
    fx_open(0);
    isapi_request_begin(F.c);
    const void *out;
    size_t n;
    ck_assert_int_eq(isapi_notify_read_raw(F.c, "get /a HT", 9, &out, &n), ISAPI_READ_NEXT);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(isapi_next_read_size(F.c), 100);
    ck_assert_msg(!fx_has("B RAW"), "%s", FX_J);
    ck_assert_int_eq(isapi_notify_read_raw(F.c, "TP/1.0\r\n\r\n", 10, &out, &n), ISAPI_CONTINUE);
    ck_assert_uint_eq(n, 19);
    ck_assert_int_eq(memcmp(out, "GET /A HTTP/1.0\r\n\r\n", 19), 0);
    /* C (before A) saw only the new bytes; A and then B the combined buffer */
    ck_assert_msg(fx_has("C RAW raw [TP/1.0~|~|]"), "%s", FX_J);
    ck_assert_msg(fx_has("A RAW raw [get /a HTTP/1.0~|~|]"), "%s", FX_J);
    ck_assert_msg(fx_has("B RAW raw [get /a HTTP/1.0~|~|]"), "%s", FX_J);
    ck_assert_int_eq(fx_count("A RAW\n"), 2);
}
END_TEST

static int log_count(const char *needle)
{
    int n = 0;
    for (const char *p = F.logs; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A SEND_RAW_DATA filter overstating cbInData on the engine's buffer: the next filter and
 * the wire get the real bytes only; one log line names the filter and the notification. */
START_TEST(test_send_raw_overstated_length_clamped)
{
    fx_probe(0, "A", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_ORDER_LOW, "SEND:raw=over:100000");
    fx_probe(1, "B", SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_ORDER_HIGH, "SEND:raw=rec");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "hello", 5), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "world!", 6), ISAPI_CONTINUE);
    ck_assert_uint_eq(F.wlen, 11);
    ck_assert_str_eq(F.wire, "helloworld!");
    ck_assert_msg(fx_has("B SEND raw [hello] in=5 buf=5\n"), "%s", FX_J);
    ck_assert_msg(log_count("beyond the") == 1, "%s", F.logs);
    ck_assert_msg(strstr(F.logs, fx_probe_paths[0]) && strstr(F.logs, "SF_NOTIFY_SEND_RAW_DATA")
                  && strstr(F.logs, "cbInData 100005"), "%s", F.logs);
}
END_TEST

/* A swapped-in buffer: the filter's own memory is bounded by its cbInBuffer, an AllocMem
 * block by the size the engine recorded (even when cbInBuffer claims more). */
START_TEST(test_send_raw_swapped_buffer_length_clamped)
{
    fx_probe(0, "A", SF_NOTIFY_SEND_RAW_DATA, "SEND@1:raw=own:100000;SEND@2:raw=alloc:100000");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "a", 1), ISAPI_CONTINUE);
    ck_assert_int_eq(isapi_send(F.c, isapi_origin_host(), "b", 1), ISAPI_CONTINUE);
    ck_assert_uint_eq(F.wlen, 64);
    ck_assert_str_eq(F.wire, "OOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO"
                             "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM");
    ck_assert_msg(log_count("beyond the") == 1, "%s", F.logs);
}
END_TEST

/* READ_RAW_DATA: cbInData past the engine's buffer is clamped to the buffer, whose bytes
 * past the data are zero (never another connection's freed memory). */
START_TEST(test_read_raw_overstated_length_clamped)
{
    fx_probe(0, "A", SF_NOTIFY_READ_RAW_DATA, "RAW:raw=over:100000");
    fx_probe(1, "B", SF_NOTIFY_READ_RAW_DATA, "RAW:raw=rec");
    fx_open(0);
    const void *out;
    size_t n;
    static const char req[] = "GET / HTTP/1.1\r\n\r\n";
    ck_assert_int_eq(isapi_notify_read_raw(F.c, req, sizeof req - 1, &out, &n), ISAPI_CONTINUE);
    ck_assert_uint_ge(n, sizeof req - 1);
    ck_assert_uint_le(n, 65536);
    ck_assert_int_eq(memcmp(out, req, sizeof req - 1), 0);
    for (size_t i = sizeof req - 1; i < n; i++)
        ck_assert_msg(((const unsigned char *)out)[i] == 0, "byte %zu of %zu is %d", i, n,
                      ((const unsigned char *)out)[i]);
    ck_assert_msg(fx_has("B RAW raw [GET / HTTP/1.1~|~|"), "%s", FX_J);
    ck_assert_msg(log_count("SF_NOTIFY_READ_RAW_DATA") == 1, "%s", F.logs);
}
END_TEST

START_TEST(test_eons_once_and_allocmem_lives_through_it)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_NET_SESSION,
             "PRE:alloc=24,alloc=100;EONS:alloccheck");
    fx_open(0);
    for (int i = 0; i < 2; i++) {
        fx_request("GET", "/", "HTTP/1.1", NULL);
        isapi_notify_preproc_headers(F.c);
        fx_finish();
    }
    /* a request still open at close is ended first; EONS exactly once */
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_conn_close(F.c);
    F.c = NULL;
    ck_assert_int_eq(fx_count("A EONS\n"), 1);
    ck_assert_msg(fx_has("A EONS alloccheck 4 blocks intact"), "%s", FX_J);
    ck_assert_int_eq(fx_count("A PRE alloc 24 aligned"), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_notify");
    TCase *tc = tcase_create("notify");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_order_priority_and_reverse_send_raw);
    tcase_add_test(tc, test_order_load_order_within_priority);
    tcase_add_test(tc, test_order_port_filtering);
    tcase_add_test(tc, test_return_handled_stops_this_notification_only);
    tcase_add_test(tc, test_return_codes_map_to_host_codes);
    tcase_add_test(tc, test_send_raw_finished_drops_output_and_closes);
    tcase_add_test(tc, test_send_raw_error_drops_output);
    tcase_add_test(tc, test_send_raw_zero_replace_handled_private_copy);
    tcase_add_test(tc, test_context_persists_across_requests);
    tcase_add_test(tc, test_context_isolated_under_nesting);
    tcase_add_test(tc, test_disable_notifications_reset_per_request);
    tcase_add_test(tc, test_writeclient_layered_visibility);
    tcase_add_test(tc, test_read_raw_read_next_accumulates);
    tcase_add_test(tc, test_send_raw_overstated_length_clamped);
    tcase_add_test(tc, test_send_raw_swapped_buffer_length_clamped);
    tcase_add_test(tc, test_read_raw_overstated_length_clamped);
    tcase_add_test(tc, test_eons_once_and_allocmem_lives_through_it);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
