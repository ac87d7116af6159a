/*
 * test_callbacks.c - the callbacks filters make: AddResponseHeaders, WriteClient,
 * AllocMem, every ServerSupportFunction request, the header accessors (special names,
 * colon rule, "" deletes, exact names, CR/LF, outside their notification), GetUserToken,
 * and the AUTHENTICATION / URL_MAP / ACCESS_DENIED / LOG structures.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define ALL_REQ (SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION | \
    SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_SEND_RESPONSE | \
    SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION)

#define J(s) ck_assert_msg(fx_has(s), "missing \"%s\" in journal:\n%s", s, FX_J)

START_TEST(test_add_response_headers_rules)
{
    fx_probe(0, "A", ALL_REQ, "PRE:arh=X-A: 1~,arh=X-Two: 2,arh=NoColon~;"
             "RESP:arh=X-B: 2~;SEND@1:arh=X-C: 3~;END:arh=X-D: 4~");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_int_eq(fx_respond("body"), ISAPI_CONTINUE);
    isapi_notify_end_of_request(F.c);
    J("A PRE arh ok=1 !0\nA PRE arh ok=1 !0\nA PRE arh ok=0 !87\n");
    J("A RESP arh ok=0 !87\n");
    J("A SEND arh ok=0 !87\n");
    J("A END arh ok=0 !87\n");
    ck_assert_msg(strstr(F.wire, "\r\nX-A: 1\r\nX-Two: 2\r\n") != NULL, "%s", F.wire);
    ck_assert_msg(strstr(F.wire, "X-B") == NULL, "%s", F.wire);
}
END_TEST

/* Header text is parsed strictly: a lone CR, text after a blank line, a name that is not a
 * token, a control byte in a value are refused (87) and logged naming the filter; one
 * call's text can never end the block for headers added after it. A bare LF ends a line
 * (X-D) and reaches the wire as CRLF. */
START_TEST(test_add_response_headers_strict_text)
{
    fx_probe(0, "A", ALL_REQ | SF_NOTIFY_ORDER_HIGH,
             "PRE:arh=X-A: 1^0dX-B: v^0d,arh=X-C: 3~,arh=X-D: 4^0a,arh=X-E: 5~~,"
             "arh=X-F: 6~~X-G: 7~,arh=Bad Name: 1~,arh=X-Ctl: a^01b~,arh=X-Tab: a^09b~,"
             "arh=X-Obs: caf^e9~,arh= X-Fold: 1~,arh=X-H : 1~,arh=X-I: 1~^0aX-J: 2~,"
             "denial=X-Den: 1^0d,denial=X-Den: 2~");
    fx_probe(1, "B", ALL_REQ | SF_NOTIFY_ORDER_LOW, "PRE:arh=X-Later: 1~");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_int_eq(fx_respond("body"), ISAPI_CONTINUE);
    static const char *const results[] = { "0 !87", "1 !0", "1 !0", "1 !0", "0 !87",
                                           "0 !87", "0 !87", "1 !0", "1 !0", "0 !87",
                                           "0 !87", "0 !87" };
    char want[4096] = "";
    for (size_t i = 0; i < sizeof results / sizeof results[0]; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "A PRE arh ok=%s\n",
                 results[i]);
    J(want);
    J("A PRE denial ok=0 !87\nA PRE denial ok=1 !0\n");
    J("B PRE arh ok=1 !0\n");
    ck_assert_msg(strstr(F.wire, "\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nX-Tab: a\tb\r\n"
                                 "X-Obs: caf\xe9\r\nX-Later: 1\r\n") != NULL, "%s", F.wire);
    static const char *const absent[] = { "X-A", "X-B", "X-F", "X-G", "Bad", "X-Ctl",
                                          "X-Fold", "X-H", "X-I", "X-J" };
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        ck_assert_msg(strstr(F.wire, absent[i]) == NULL, "%s on the wire: %s", absent[i], F.wire);
    ck_assert_msg(strstr(F.logs, "AddResponseHeaders in SF_NOTIFY_PREPROC_HEADERS refused") &&
                  strstr(F.logs, "a CR not followed by LF in \"X-A: 1\\x0dX-B: v\\x0d\"") &&
                  strstr(F.logs, fx_probe_paths[0]), "%s", F.logs);
    isapi_headers denial = {0};
    ck_assert_int_eq(isapi_take_denial_headers(F.c, &denial), 0);
    ck_assert_uint_eq(denial.n, 1);
    ck_assert_str_eq(denial.v[0].value, "2");
    isapi_headers_clear(&denial);
}
END_TEST

/* The status line and header text of SEND_RESPONSE_HEADER, and SetHeader/AddHeader names,
 * values and specials, pass the same check. */
START_TEST(test_header_bytes_validated_everywhere)
{
    fx_probe(0, "A", ALL_REQ,
             "PRE:ssrh=200 O^01K,ssrh=200 OK=X-A: 1^0dX-B: 2~~,ssrh=200 OK=X-A: 1~~body,"
             "sh=url=/a b,sh=url=/a^09,sh=method=GE T,sh=version=HTTP/1.1^0d,"
             "sh=X Bad:=1,sh=X-Bad(:=1,ah=X-Ctl:=a^7fb,ah=X-Ok:=fine^09tab,"
             "sh=url=/good,ssrh=201 Made=X-Ok: 1~~;"
             "RESP:sh=status=200 O^0aK,sh=X-R:=a^0bb,ah=X-Resp:=ok,sh=X^e9:=1");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    J("A PRE ssrh ok=0 !87\nA PRE ssrh ok=0 !87\nA PRE ssrh ok=0 !87\n");
    J("A PRE sh url ok=0 !87\nA PRE sh url ok=0 !87\nA PRE sh method ok=0 !87\n"
      "A PRE sh version ok=0 !87\nA PRE sh X Bad: ok=0 !87\nA PRE sh X-Bad(: ok=0 !87\n"
      "A PRE ah X-Ctl: ok=0 !87\nA PRE ah X-Ok: ok=1 !0\nA PRE sh url ok=1 !0\n"
      "A RESP\n");
    J("A RESP sh status ok=0 !87\nA RESP sh X-R: ok=0 !87\nA RESP ah X-Resp: ok=1 !0\n"
      "A RESP sh X\xe9: ok=0 !87\n");
    J("A SEND\nA PRE ssrh ok=1 !0\n");
    ck_assert_msg(strncmp(F.wire, "HTTP/1.1 201 Made\r\n", 19) == 0, "%s", F.wire);
    ck_assert_msg(strstr(F.wire, "X-Resp: ok\r\n") && !strstr(F.wire, "X-R:"), "%s", F.wire);
    ck_assert_msg(strstr(F.logs, "SF_REQ_SEND_RESPONSE_HEADER (status) in "
                                 "SF_NOTIFY_PREPROC_HEADERS refused") &&
                  strstr(F.logs, "SetHeader in SF_NOTIFY_SEND_RESPONSE refused"), "%s", F.logs);
}
END_TEST

START_TEST(test_send_response_header_once_with_added_headers)
{
    fx_probe(0, "A", ALL_REQ | SF_NOTIFY_ORDER_HIGH,
             "PRE:arh=Location: /x~,ssrh=302 Moved=Content-Length: 0~~,ssrh=200 OK,ret=FINISHED;"
             "RESP:ssrh=500 Oops;SEND:raw=rec");
    fx_probe(1, "B", ALL_REQ, "RESP:gh=status,gh=Location:;SEND:raw=rec");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_conn_response_started(F.c), 0);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_FINISHED);
    ck_assert_int_eq(isapi_conn_response_started(F.c), 1);
    ck_assert_int_eq(F.ssrh_calls, 1);
    ck_assert_str_eq(F.ssrh_status, "302 Moved");
    ck_assert_str_eq(F.ssrh_added, "Location: /x\r\n");
    ck_assert_str_eq(F.ssrh_extra, "Content-Length: 0\r\n\r\n");
    ck_assert_uint_eq(isapi_conn_request(F.c)->status, 302);
    /* nested: SEND_RESPONSE for every filter (where SEND_RESPONSE_HEADER is refused),
     * then SEND_RAW_DATA, then the call returns */
    J("A RESP\nA RESP ssrh ok=0 !87\nB RESP\nB RESP gh status=302 Moved\nB RESP gh Location:=/x\n");
    J("A PRE ssrh ok=1 !0\nA PRE ssrh ok=0 !87\n");
    /* the block entered SEND_RAW_DATA at the caller: A (HIGH, last in send order) saw it,
     * B (LOW, before A in send order) did not */
    J("A SEND raw [HTTP/1.1 302 Moved~|");
    ck_assert_msg(!fx_has("B SEND"), "%s", FX_J);
    ck_assert_msg(strncmp(F.wire, "HTTP/1.1 302 Moved\r\n", 20) == 0, "%s", F.wire);
    ck_assert_msg(strstr(F.wire, "Location: /x\r\n") != NULL, "%s", F.wire);
}
END_TEST

START_TEST(test_send_response_header_null_status_is_200)
{
    fx_probe(0, "A", ALL_REQ, "PRE:ssrh");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_str_eq(F.ssrh_status, "200 OK");
    ck_assert_str_eq(F.ssrh_extra, "");
    ck_assert_msg(strncmp(F.wire, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", F.wire);
}
END_TEST

START_TEST(test_server_support_function_codes)
{
    fx_probe(0, "A", ALL_REQ,
             "PRE:ssf=4,ssf=5,ssf=9,ssf=1234,ssf=3:1,ssf=2:512,prop=1,prop=0,"
             "norm=/a/./b/../c%41?q=%41,norm=/../x,norm=/a%2,norm=rel,"
             "denial=WWW-Authenticate: Basic realm=\"x\"~,denial=bad,badpfc;"
             "SEND:denial=X-Late: 1~");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    J("A PRE ssf 4 ok=0 !50\n");       /* GET_CONNID: not supported by IIS 4-6 */
    J("A PRE ssf 5 ok=0 !50\n");       /* SET_CERTIFICATE_INFO */
    J("A PRE ssf 9 ok=0 !50\n");       /* unknown codes */
    J("A PRE ssf 1234 ok=0 !50\n");
    J("A PRE ssf 3 ok=1 !0\n");        /* SET_PROXY_INFO */
    J("A PRE ssf 2 ok=1 !0\n");        /* SET_NEXT_READ_SIZE */
    ck_assert_uint_eq(isapi_next_read_size(F.c), 512);
    J("A PRE prop 1=3\n");             /* INSTANCE_NUM_ID: the connection's instance */
    J("A PRE prop 0!50\n");            /* SSL_CTXT */
    J("A PRE norm /a/./b/../c%41?q=%41=/a/cA?q=%41\n");
    J("A PRE norm /../x!87\n");
    J("A PRE norm /a%2!87\n");
    J("A PRE norm rel!87\n");
    J("A PRE denial ok=1 !0\nA PRE denial ok=0 !87\n");
    J("A PRE badpfc ok=0 !87\n");
    isapi_headers h = {0};
    ck_assert_int_eq(isapi_take_denial_headers(F.c, &h), 0);
    ck_assert_uint_eq(h.n, 1);
    ck_assert_str_eq(isapi_headers_find(&h, "WWW-Authenticate"), "Basic realm=\"x\"");
    isapi_headers_clear(&h);
    isapi_send(F.c, isapi_origin_host(), "x", 1);
    J("A SEND denial ok=0 !87\n");
}
END_TEST

START_TEST(test_request_header_accessors)
{
    fx_probe(0, "A", ALL_REQ | SF_NOTIFY_ORDER_HIGH,
             "PRE:gh=url,gh=URL,gh=method,gh=Version,gh=Host:,gh=host,gh=X-Missing:,"
             "sh=X-New:=v,sh=NoColon=v,sh=X-Bad:=a~b,sh=X~Bad:=v,"
             "ah=X-Multi:=1,ah=X-Multi:=2,gh=X-Multi:,"
             "sh=Cookie:=,gh=Cookie:,ah=Accept:=,gh=Accept:,"
             "sh=CustomHeader:=two,gh=CustomHeader1:,gh=CustomHeader:,"
             "sh=url=/rewritten?x=1,gh=url,sh=url=,sh=method=POST");
    fx_probe(1, "B", ALL_REQ, "PRE:gh=url,gh=X-New:,gh=method");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/p?q=1", "HTTP/1.1", "Host: example.com\r\n",
                                  "Cookie: a=1\r\nAccept: */*\r\nCustomHeader1: one\r\n", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    J("A PRE gh url=/p?q=1\nA PRE gh URL=/p?q=1\nA PRE gh method=GET\nA PRE gh Version=HTTP/1.1\n");
    J("A PRE gh Host:=example.com\nA PRE gh host=example.com\nA PRE gh X-Missing:!1413\n");
    J("A PRE sh X-New: ok=1 !0\nA PRE sh NoColon ok=0 !87\nA PRE sh X-Bad: ok=0 !87\n");
    J("A PRE sh X\r\nBad: ok=0 !87\n");
    J("A PRE gh X-Multi:=1, 2\n");
    J("A PRE sh Cookie: ok=1 !0\nA PRE gh Cookie:!1413\n");      /* "" deletes */
    J("A PRE ah Accept: ok=1 !0\nA PRE gh Accept:!1413\n");      /* also for AddHeader */
    J("A PRE gh CustomHeader1:=one\nA PRE gh CustomHeader:=two\n");
    J("A PRE gh url=/rewritten?x=1\nA PRE sh url ok=0 !87\n");
    /* later filters see earlier edits */
    J("B PRE gh url=/rewritten?x=1\nB PRE gh X-New:=v\nB PRE gh method=POST\n");
    ck_assert_str_eq(r->url, "/rewritten?x=1");
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(isapi_headers_find(&r->headers, "x-new"), "v");
    ck_assert_ptr_null(isapi_headers_find(&r->headers, "Cookie"));
}
END_TEST

START_TEST(test_response_header_accessors)
{
    fx_probe(0, "A", ALL_REQ,
             "RESP:gh=status,gh=Content-Length:,sh=status=HTTP/1.1 404 Not Here,gh=status,"
             "sh=status=abc,sh=status=,sh=Set-Cookie:=a=1,ah=Set-Cookie:=b=2,gh=Set-Cookie:,"
             "gh=url,sh=X-Gone:=,gh=STATUS");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_str_set(r, &r->reason, "OK", (size_t)-1);
    fx_respond("hi");
    J("A RESP gh status=200 OK\nA RESP gh Content-Length:=2\n");
    J("A RESP sh status ok=1 !0\nA RESP gh status=404 Not Here\n");
    J("A RESP sh status ok=0 !87\nA RESP sh status ok=0 !87\n");
    J("A RESP gh Set-Cookie:=a=1, b=2\n");
    J("A RESP gh url!1413\n");                 /* "url" is special on the request side only */
    J("A RESP sh X-Gone: ok=1 !0\n");          /* deleting an absent header succeeds */
    J("A RESP gh STATUS=404 Not Here\n");
    ck_assert_uint_eq(r->status, 404);
    ck_assert_msg(strncmp(F.wire, "HTTP/1.1 404 Not Here\r\n", 23) == 0, "%s", F.wire);
}
END_TEST

START_TEST(test_header_accessors_outside_their_notification)
{
    fx_probe(0, "A", ALL_REQ, "PRE:stash;MAP:ghstash=Host:;RESP:ghstash=Host:;AUTHC:gh=Host:,gut,reset");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", "Host: h\r\n", NULL);
    isapi_notify_preproc_headers(F.c);
    char path[MAX_PATH] = "/srv/www";
    HTTP_FILTER_URL_MAP_EX map = { "/", path, sizeof path, 0, 0, 0, NULL };
    isapi_notify_url_map(F.c, &map);
    BOOL reset = FALSE;
    ck_assert_int_eq(isapi_notify_auth_complete(F.c, &reset), ISAPI_CONTINUE);
    ck_assert_int_eq(reset, TRUE);
    fx_respond("");
    J("A MAP ghstash Host:!87\n");
    J("A RESP ghstash Host:!87\n");     /* request accessor during SEND_RESPONSE */
    J("A AUTHC gh Host:=h\nA AUTHC gut ok=0 !50\n");
}
END_TEST

START_TEST(test_write_client_rules)
{
    fx_probe(0, "A", ALL_REQ, "PRE:wc0,wcnull;END:wc=late;LOG:wc=x;EONS:wc=y");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    fx_finish();
    isapi_conn_close(F.c);
    F.c = NULL;
    J("A PRE wc0 ok=1 size=0 !0\nA PRE wcnull ok=0 size=0 !87\n");
    J("A END wc ok=1 size=4 !0\n");          /* held-back data may go out in END_OF_REQUEST */
    J("A LOG wc ok=0 size=1 !87\n");
    J("A EONS wc ok=0 size=1 !87\n");
    ck_assert_str_eq(F.wire, "late");
}
END_TEST

START_TEST(test_write_client_reports_write_failure)
{
    fx_probe(0, "A", ALL_REQ, "PRE:wc=a");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    F.write_error = ERROR_NETNAME_DELETED;
    isapi_notify_preproc_headers(F.c);
    char want[64];
    snprintf(want, sizeof want, "A PRE wc ok=0 size=1 !%d\n", (int)ERROR_NETNAME_DELETED);
    J(want);
    ck_assert_int_eq(isapi_conn_must_close(F.c), 1);
}
END_TEST

START_TEST(test_alloc_mem_cap_and_alignment)
{
    isapi_engine_destroy(F.e);
    F.cfg.alloc_cap = 1000;
    F.e = isapi_engine_create(&F.cfg);
    fx_probe(0, "A", ALL_REQ, "PRE:alloc=24,alloc=600,alloc=600,alloc=300,alloc=100,alloccheck");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    J("A PRE alloc 24 aligned\nA PRE alloc 600 aligned\nA PRE alloc 600!8\nA PRE alloc 300 aligned\n");
    J("A PRE alloc 100!8\n");
    J("A PRE alloccheck 3 blocks intact\n");
}
END_TEST

/* AllocMem blocks are zeroed: a block handed out after earlier blocks were filled and freed
 * (the previous connection's arena, reused by malloc) reads zero. */
START_TEST(test_alloc_mem_zeroed_after_reuse)
{
    fx_probe(0, "A", ALL_REQ, "PRE:allocz=200,allocz=4000,allocz=24");
    for (int conn = 0; conn < 3; conn++) {
        fx_open(0);
        fx_request("GET", "/", "HTTP/1.1", NULL);
        isapi_notify_preproc_headers(F.c);
        isapi_conn_close(F.c);
        F.c = NULL;
    }
    ck_assert_int_eq(fx_count("allocz"), 9);
    ck_assert_msg(fx_count(" zeroed\n") == 9, "%s", FX_J);
}
END_TEST

START_TEST(test_authentication_in_place_and_replaced)
{
    fx_probe(0, "A", ALL_REQ | SF_NOTIFY_ORDER_HIGH, "AUTH@1:recauth,user=bob,pass=secret;AUTH@2:userptr=carol");
    fx_probe(1, "B", ALL_REQ, "AUTH:recauth");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_str_set(r, &r->auth_user, "alice", (size_t)-1);
    isapi_str_set(r, &r->auth_password, "pw", (size_t)-1);
    ck_assert_int_eq(isapi_notify_authentication(F.c), ISAPI_CONTINUE);
    J("A AUTH auth user=[alice] pass=[pw] cbUser=257 cbPass=257\n");
    J("B AUTH auth user=[bob] pass=[secret] cbUser=257 cbPass=257\n");
    ck_assert_str_eq(r->logon_user, "bob");
    ck_assert_str_eq(r->logon_password, "secret");
    ck_assert_str_eq(r->auth_user, "alice");
    fx_finish();
    /* anonymous: empty strings, pointer replaced by the filter */
    r = fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_authentication(F.c), ISAPI_CONTINUE);
    J("B AUTH auth user=[carol] pass=[] cbUser=64 cbPass=257\n");
    ck_assert_str_eq(r->logon_user, "carol");
}
END_TEST

START_TEST(test_url_map_edit_in_place)
{
    fx_probe(0, "A", ALL_REQ, "MAP:recmap,map=/other/file.txt");
    fx_open(0);
    isapi_request *r = fx_request("GET", "/file.txt", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    char path[4096] = "/srv/www/file.txt";
    HTTP_FILTER_URL_MAP_EX map = { "/file.txt", path, sizeof path, 1, 8, 1, NULL };
    ck_assert_int_eq(isapi_notify_url_map(F.c, &map), ISAPI_CONTINUE);
    J("A MAP map url=[/file.txt] path=[/srv/www/file.txt] cb=4096 flags=1\n");
    ck_assert_str_eq(r->physical_path, "/other/file.txt");
    char v[256];
    DWORD sz = sizeof v;
    ck_assert(isapi_get_server_variable(F.c, "PATH_TRANSLATED", v, &sz));
    ck_assert_str_eq(v, "/other/file.txt");
}
END_TEST

START_TEST(test_access_denied_structure)
{
    fx_probe(0, "A", ALL_REQ, "DENY:recdeny,arh=X-In-Denial: 1~,wc=denied,ret=FINISHED");
    fx_open(0);
    fx_request("GET", "/secret", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_access_denied(F.c, "/secret", "/srv/www/secret",
                                                SF_DENIED_LOGON | SF_DENIED_BY_CONFIG), ISAPI_FINISHED);
    J("A DENY deny url=[/secret] phys=[/srv/www/secret] reason=65537\n");
    J("A DENY arh ok=1 !0\n");
    ck_assert_str_eq(F.wire, "denied");
}
END_TEST

START_TEST(test_log_pointer_replacement_copied)
{
    fx_probe(0, "A", ALL_REQ | SF_NOTIFY_ORDER_HIGH, "LOG:reclog,log=target:/orig,log=user:bob");
    fx_probe(1, "B", ALL_REQ, "LOG:reclog");
    fx_open(0);
    fx_request("GET", "/new", "HTTP/1.1", NULL);
    HTTP_FILTER_LOG log;
    memset(&log, 0, sizeof log);
    log.pszTarget = "/new";
    log.dwHttpStatus = 200;
    ck_assert_int_eq(isapi_notify_log(F.c, &log), ISAPI_CONTINUE);
    J("A LOG log host=[] user=[] server=[] op=[] target=[/new] params=[] status=200\n");
    J("B LOG log host=[] user=[bob] server=[] op=[] target=[/orig] params=[] status=200\n");
    /* the engine copied the filter's strings: scribbling over them changes nothing */
    probe_scribble_fn scribble = (probe_scribble_fn)(void (*)(void))GetProcAddress(F.mods[0], "ProbeScribble");
    ck_assert_ptr_nonnull(scribble);
    scribble();
    ck_assert_str_eq(log.pszTarget, "/orig");
    ck_assert_str_eq(log.pszClientUserName, "bob");
    ck_assert_ptr_nonnull(log.pszServerName);
    ck_assert_str_eq(log.pszServerName, "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_callbacks");
    TCase *tc = tcase_create("callbacks");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_add_response_headers_rules);
    tcase_add_test(tc, test_add_response_headers_strict_text);
    tcase_add_test(tc, test_header_bytes_validated_everywhere);
    tcase_add_test(tc, test_send_response_header_once_with_added_headers);
    tcase_add_test(tc, test_send_response_header_null_status_is_200);
    tcase_add_test(tc, test_server_support_function_codes);
    tcase_add_test(tc, test_request_header_accessors);
    tcase_add_test(tc, test_response_header_accessors);
    tcase_add_test(tc, test_header_accessors_outside_their_notification);
    tcase_add_test(tc, test_write_client_rules);
    tcase_add_test(tc, test_write_client_reports_write_failure);
    tcase_add_test(tc, test_alloc_mem_cap_and_alignment);
    tcase_add_test(tc, test_alloc_mem_zeroed_after_reuse);
    tcase_add_test(tc, test_authentication_in_place_and_replaced);
    tcase_add_test(tc, test_url_map_edit_in_place);
    tcase_add_test(tc, test_access_denied_structure);
    tcase_add_test(tc, test_log_pointer_replacement_copied);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
