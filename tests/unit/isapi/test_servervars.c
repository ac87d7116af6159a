/*
 * test_servervars.c - GetServerVariable: the size protocol, availability by notification,
 * every variable's value, HTTP_* / HEADER_* lookup, URL after a rewrite.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define J(s) ck_assert_msg(fx_has(s), "missing \"%s\" in journal:\n%s", s, FX_J)

/* Reads a variable through the host API; returns the value or "!<error>". */
static const char *sv(const char *name)
{
    static char buf[4096];
    DWORD size = sizeof buf;
    SetLastError(0xdead);
    if (!isapi_get_server_variable(F.c, name, buf, &size)) {
        snprintf(buf, sizeof buf, "!%lu", (unsigned long)GetLastError());
        return buf;
    }
    ck_assert_uint_eq(size, strlen(buf) + 1);
    ck_assert_uint_eq(GetLastError(), 0);
    return buf;
}

START_TEST(test_sv_size_protocol)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS,
             "PRE:gsvsize=REMOTE_ADDR,gsvsmall=REMOTE_ADDR,gsv=REMOTE_ADDR,gsvsize=AUTH_TYPE,gsv=AUTH_TYPE");
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    J("A PRE gsvsize REMOTE_ADDR ok=0 size=9 !122\n");
    J("A PRE gsvsmall REMOTE_ADDR ok=0 size=9 !122\n");
    J("A PRE gsv REMOTE_ADDR=10.1.2.3 size=9 err=0\n");     /* last error cleared on success */
    J("A PRE gsvsize AUTH_TYPE ok=0 size=1 !122\n");        /* defined but empty: size 1 */
    J("A PRE gsv AUTH_TYPE= size=1 err=0\n");
    /* NULL name or size */
    DWORD size = 4;
    ck_assert(!isapi_get_server_variable(F.c, NULL, NULL, &size));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    ck_assert(!isapi_get_server_variable(F.c, "URL", NULL, NULL));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_sv_availability_by_notification)
{
    fx_probe(0, "A", SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_LOG |
             SF_NOTIFY_END_OF_NET_SESSION,
             "RAW:gsv=REMOTE_ADDR,gsv=URL,gsv=HTTP_HOST,gsv=NO_SUCH_VAR;PRE:gsv=URL;"
             "LOG:gsv=URL;EONS:gsv=URL,gsv=INSTANCE_ID,gsv=ALL_HTTP,gsv=NO_SUCH_VAR");
    fx_open(0);
    isapi_request_begin(F.c);
    const void *out;
    size_t n;
    ck_assert_int_eq(isapi_notify_read_raw(F.c, "GET /u HTTP/1.1\r\n\r\n", 19, &out, &n), ISAPI_CONTINUE);
    isapi_request *r = isapi_conn_request(F.c);
    isapi_str_set(r, &r->method, "GET", (size_t)-1);
    isapi_str_set(r, &r->url, "/u", (size_t)-1);
    isapi_str_set(r, &r->version, "HTTP/1.1", (size_t)-1);
    isapi_notify_preproc_headers(F.c);
    fx_finish();
    isapi_conn_close(F.c);
    F.c = NULL;
    J("A RAW gsv REMOTE_ADDR=10.1.2.3 size=9 err=0\nA RAW gsv URL!232\nA RAW gsv HTTP_HOST!232\n");
    J("A RAW gsv NO_SUCH_VAR!1413\n");
    J("A PRE gsv URL=/u size=3 err=0\n");
    J("A LOG gsv URL=/u size=3 err=0\n");
    J("A EONS gsv URL!232\nA EONS gsv INSTANCE_ID=3 size=2 err=0\nA EONS gsv ALL_HTTP!232\n");
    J("A EONS gsv NO_SUCH_VAR!1413\n");
}
END_TEST

START_TEST(test_sv_values)
{
    fx_open(0);
    isapi_request *r = fx_request("POST", "/app/x.dll?a=1&b=2", "HTTP/1.1",
                                  "Host: example.com:8080\r\nUser-Agent: probe\r\n",
                                  "Accept: a\r\naccept: b\r\nContent-Type: text/plain\r\nMy-Header: m\r\n", NULL);
    r->content_length = 42;
    isapi_notify_preproc_headers(F.c);
    ck_assert_str_eq(sv("REQUEST_METHOD"), "POST");
    ck_assert_str_eq(sv("URL"), "/app/x.dll");
    ck_assert_str_eq(sv("SCRIPT_NAME"), "/app/x.dll");
    ck_assert_str_eq(sv("PATH_INFO"), "/app/x.dll");
    ck_assert_str_eq(sv("QUERY_STRING"), "a=1&b=2");
    ck_assert_str_eq(sv("HTTP_URL"), "/app/x.dll?a=1&b=2");
    ck_assert_str_eq(sv("UNENCODED_URL"), "/app/x.dll?a=1&b=2");
    ck_assert_str_eq(sv("HTTP_VERSION"), "HTTP/1.1");
    ck_assert_str_eq(sv("SERVER_PROTOCOL"), "HTTP/1.1");
    ck_assert_str_eq(sv("SERVER_NAME"), "example.com");
    ck_assert_str_eq(sv("SERVER_PORT"), "8080");
    ck_assert_str_eq(sv("SERVER_PORT_SECURE"), "0");
    ck_assert_str_eq(sv("HTTPS"), "off");
    ck_assert_str_eq(sv("LOCAL_ADDR"), "127.0.0.1");
    ck_assert_str_eq(sv("REMOTE_ADDR"), "10.1.2.3");
    ck_assert_str_eq(sv("REMOTE_HOST"), "10.1.2.3");
    ck_assert_str_eq(sv("REMOTE_PORT"), "54321");
    ck_assert_str_eq(sv("INSTANCE_ID"), "3");
    ck_assert_str_eq(sv("INSTANCE_META_PATH"), "/LM/W3SVC/3");
    ck_assert_str_eq(sv("APPL_MD_PATH"), "/LM/W3SVC/3/ROOT");
    ck_assert_str_eq(sv("APPL_PHYSICAL_PATH"), "/srv/www/");
    ck_assert_str_eq(sv("SERVER_SOFTWARE"), "isapihost-test");
    ck_assert_str_eq(sv("GATEWAY_INTERFACE"), "CGI/1.1");
    ck_assert_str_eq(sv("CONTENT_LENGTH"), "42");
    ck_assert_str_eq(sv("CONTENT_TYPE"), "text/plain");
    ck_assert_str_eq(sv("AUTH_TYPE"), "");
    ck_assert_str_eq(sv("AUTH_USER"), "");
    ck_assert_str_eq(sv("REMOTE_USER"), "");
    ck_assert_str_eq(sv("LOGON_USER"), "");
    ck_assert_str_eq(sv("AUTH_PASSWORD"), "");
    ck_assert_str_eq(sv("PATH_TRANSLATED"), "");
    ck_assert_str_eq(sv("HTTP_USER_AGENT"), "probe");
    ck_assert_str_eq(sv("http_user_agent"), "probe");      /* names are case-insensitive */
    ck_assert_str_eq(sv("HTTP_MY_HEADER"), "m");           /* '_' stands for '-' */
    ck_assert_str_eq(sv("HTTP_ACCEPT"), "a, b");           /* repeated headers joined */
    ck_assert_str_eq(sv("HEADER_My-Header"), "m");
    ck_assert_str_eq(sv("HEADER_My_Header"), "!1413");     /* HEADER_ is the exact name */
    ck_assert_str_eq(sv("HTTP_X_MISSING"), "!1413");
    ck_assert_str_eq(sv("UNICODE_URL"), "!1413");
    ck_assert_str_eq(sv("ALL_HTTP"),
                     "HTTP_HOST:example.com:8080\nHTTP_USER_AGENT:probe\nHTTP_ACCEPT:a, b\n"
                     "HTTP_CONTENT_TYPE:text/plain\nHTTP_MY_HEADER:m\n");
    ck_assert_str_eq(sv("ALL_RAW"),
                     "Host: example.com:8080\r\nUser-Agent: probe\r\nAccept: a\r\naccept: b\r\n"
                     "Content-Type: text/plain\r\nMy-Header: m\r\n");
    r->content_length = 0;
    isapi_str_set(r, &r->auth_type, "Basic", (size_t)-1);
    isapi_str_set(r, &r->auth_user, "alice", (size_t)-1);
    isapi_str_set(r, &r->logon_user, "DOMAIN\\alice", (size_t)-1);
    ck_assert_str_eq(sv("CONTENT_LENGTH"), "0");
    ck_assert_str_eq(sv("AUTH_TYPE"), "Basic");
    ck_assert_str_eq(sv("REMOTE_USER"), "alice");
    ck_assert_str_eq(sv("LOGON_USER"), "DOMAIN\\alice");
    isapi_str_set(r, &r->path, "/app/decoded path", (size_t)-1);
    ck_assert_str_eq(sv("URL"), "/app/decoded path");
}
END_TEST

START_TEST(test_sv_secure_connection_and_server_name_fallback)
{
    fx_open(1);
    fx_request("GET", "/", "HTTP/1.0", NULL);
    isapi_notify_preproc_headers(F.c);
    ck_assert_str_eq(sv("HTTPS"), "on");
    ck_assert_str_eq(sv("SERVER_PORT_SECURE"), "1");
    ck_assert_str_eq(sv("SERVER_NAME"), "127.0.0.1");
    ck_assert_str_eq(sv("CONTENT_TYPE"), "");
}
END_TEST

START_TEST(test_sv_url_reflects_rewrite_after_preproc)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_HIGH,
             "PRE:gsv=URL,sh=url=/new?z=1,gsv=URL,sh=X-Added:=yes,gsv=HTTP_X_ADDED");
    fx_probe(1, "B", SF_NOTIFY_PREPROC_HEADERS, "PRE:gsv=URL,gsv=QUERY_STRING");
    fx_open(0);
    fx_request("GET", "/old", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    J("A PRE gsv URL=/old size=5 err=0\nA PRE sh url ok=1 !0\nA PRE gsv URL=/old size=5 err=0\n");
    J("A PRE gsv HTTP_X_ADDED=yes size=4 err=0\n");  /* added headers are request headers */
    J("B PRE gsv URL=/old size=5 err=0\nB PRE gsv QUERY_STRING= size=1 err=0\n");
    ck_assert_str_eq(sv("URL"), "/new");
    ck_assert_str_eq(sv("QUERY_STRING"), "z=1");
    ck_assert_str_eq(sv("ALL_RAW"), "X-Added: yes\r\n");
}
END_TEST

/* APPL_PHYSICAL_PATH always ends in a separator, IIS's form; the separator is the one the
 * root is spelled with ('\\' for a Windows path). */
START_TEST(test_sv_appl_physical_path_trailing_separator)
{
    static const struct { const char *root, *want; } cases[] = {
        { "/srv/site", "/srv/site/" },
        { "/srv/site/", "/srv/site/" },
        { "Z:\\srv\\site", "Z:\\srv\\site\\" },
        { "Z:\\srv\\site\\", "Z:\\srv\\site\\" },
        { "C:/srv", "C:/srv\\" },
        { "/", "/" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        isapi_engine_destroy(F.e);
        F.cfg.appl_physical_path = cases[i].root;
        F.e = isapi_engine_create(&F.cfg);
        ck_assert_ptr_nonnull(F.e);
        fx_open(0);
        ck_assert_msg(strcmp(sv("APPL_PHYSICAL_PATH"), cases[i].want) == 0,
                      "root [%s]: APPL_PHYSICAL_PATH [%s], want [%s]", cases[i].root,
                      sv("APPL_PHYSICAL_PATH"), cases[i].want);
        isapi_conn_close(F.c);
        F.c = NULL;
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_servervars");
    TCase *tc = tcase_create("servervars");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_sv_size_protocol);
    tcase_add_test(tc, test_sv_availability_by_notification);
    tcase_add_test(tc, test_sv_values);
    tcase_add_test(tc, test_sv_secure_connection_and_server_name_fallback);
    tcase_add_test(tc, test_sv_url_reflects_rewrite_after_preproc);
    tcase_add_test(tc, test_sv_appl_physical_path_trailing_separator);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
