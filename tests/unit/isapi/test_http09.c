/*
 * test_http09.c - the engine's side of HTTP/0.9 simple requests (docs/semantics.md,
 * "HTTP/0.9"): no request headers, "version" and SERVER_PROTOCOL read HTTP/0.9, and in
 * strict mode (no header block) SEND_RESPONSE still fires with "status" readable and
 * settable while every other response-header mutator fails with ERROR_NOT_SUPPORTED;
 * SF_REQ_SEND_RESPONSE_HEADER records the status and the engine hands its host nothing but
 * body bytes.
 *
 * The host here is the stand-in of fixture.c ("wire" is what the engine gave its write
 * op), so these tests hold the engine's decisions, not the server's. The real server is
 * held by integration_semantics (http09_every_notification_*: every notification and
 * callback under both 0.9 policies, with the allcalls filter) and integration_pipeline
 * (http09_*: the bytes on the wire).
 */
#include <string.h>

#include "fixture.h"

#define J(s) ck_assert_msg(fx_has(s), "missing \"%s\" in journal:\n%s", s, FX_J)
#define ALL (SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_SEND_RAW_DATA | \
    SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG)

START_TEST(test_http09_request_side)
{
    fx_probe(0, "A", ALL, "PRE:gh=version,gh=url,gh=method,gh=Host:,gsv=ALL_HTTP,gsv=ALL_RAW,"
             "gsv=HTTP_HOST,gsv=SERVER_PROTOCOL,gsv=HTTP_VERSION,gsv=CONTENT_LENGTH,"
             "sh=X-Route:=r,gh=X-Route:");
    fx_open(0);
    fx_request("GET", "/x", "HTTP/0.9", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    J("A PRE gh version=HTTP/0.9\nA PRE gh url=/x\nA PRE gh method=GET\nA PRE gh Host:!1413\n");
    J("A PRE gsv ALL_HTTP= size=1 err=0\nA PRE gsv ALL_RAW= size=1 err=0\nA PRE gsv HTTP_HOST!1413\n");
    J("A PRE gsv SERVER_PROTOCOL=HTTP/0.9 size=9 err=0\nA PRE gsv HTTP_VERSION=HTTP/0.9 size=9 err=0\n");
    J("A PRE gsv CONTENT_LENGTH=0 size=2 err=0\n");
    /* request headers may still be set: they only feed variables and routing */
    J("A PRE sh X-Route: ok=1 !0\nA PRE gh X-Route:=r\n");
}
END_TEST

START_TEST(test_http09_strict_filter_response)
{
    fx_probe(0, "A", ALL, "PRE:arh=X-A: 1~,ssrh=403 Forbidden=X-B: 1~~,wc=body,ret=FINISHED;"
             "RESP:gh=status,sh=status=404 Nope,gh=status,sh=X-C:=1,ah=X-C:=1,sh=X-C:=,gh=Content-Type:;"
             "SEND:raw=rec");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/x", "HTTP/0.9", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_FINISHED);
    J("A PRE arh ok=1 !0\n");                  /* accepted, no effect */
    J("A RESP gh status=403 Forbidden\nA RESP sh status ok=1 !0\nA RESP gh status=404 Nope\n");
    J("A RESP sh X-C: ok=0 !50\nA RESP ah X-C: ok=0 !50\nA RESP sh X-C: ok=0 !50\n");
    J("A RESP gh Content-Type:!1413\n");
    J("A PRE ssrh ok=1 !0\n");
    ck_assert_int_eq(F.ssrh_calls, 0);        /* the host emitted nothing */
    ck_assert_int_eq(fx_count("A RESP\n"), 1);
    ck_assert_uint_eq(r->status, 404);
    ck_assert_str_eq(F.wire, "body");
    J("A SEND raw [body]");
}
END_TEST

START_TEST(test_http09_strict_host_response)
{
    fx_probe(0, "A", ALL, "RESP:gh=status,sh=Content-Type:=x;SEND:raw=rec");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/x", "HTTP/0.9", NULL);
    isapi_str_set(r, &r->reason, "OK", (size_t)-1);
    isapi_notify_preproc_headers(F.c);
    ck_assert_int_eq(fx_respond("hello"), ISAPI_CONTINUE);
    fx_finish();
    J("A RESP gh status=200 OK\nA RESP sh Content-Type: ok=0 !50\n");
    ck_assert_str_eq(F.wire, "hello");
    ck_assert_int_eq(fx_count("A SEND\n"), 1);
    J("A END\nA LOG\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_http09");
    TCase *tc = tcase_create("http09");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_http09_request_side);
    tcase_add_test(tc, test_http09_strict_filter_response);
    tcase_add_test(tc, test_http09_strict_host_response);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
