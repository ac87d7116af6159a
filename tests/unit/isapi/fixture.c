/*
 * fixture.c - the fake host shared by the engine's unit tests (see fixture.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

fx F;
const char *const fx_probe_paths[3] = { PROBE_A_PATH, PROBE_B_PATH, PROBE_C_PATH };

static void fx_log(void *ctx, int level, const char *filter, const char *msg)
{
    size_t n = strlen(F.logs);
    snprintf(F.logs + n, sizeof F.logs - n, "%d %s: %s\n", level, filter ? filter : "-", msg);
}

static DWORD fx_write(void *host, const void *data, size_t len)
{
    if (F.write_error)
        return (DWORD)F.write_error;
    ck_assert_uint_lt(F.wlen + len, sizeof F.wire);
    memcpy(F.wire + F.wlen, data, len);
    F.wlen += len;
    F.wire[F.wlen] = '\0';
    return 0;
}

static isapi_rc send_block(isapi_conn *c, isapi_send_origin origin)
{
    isapi_request *r = isapi_conn_request(c);
    char block[8192];
    int n = snprintf(block, sizeof block, "HTTP/1.1 %lu %s\r\n", (unsigned long)r->status,
                     r->reason ? r->reason : "");
    for (size_t i = 0; i < r->resp_headers.n; i++)
        n += snprintf(block + n, sizeof block - (size_t)n, "%s: %s\r\n",
                      r->resp_headers.v[i].name, r->resp_headers.v[i].value);
    n += snprintf(block + n, sizeof block - (size_t)n, "\r\n");
    return isapi_send(c, origin, block, (size_t)n);
}

static DWORD fx_ssrh(void *host, isapi_conn *c, const isapi_send_origin *origin,
                     const char *status, const char *added, const char *extra)
{
    F.ssrh_calls++;
    snprintf(F.ssrh_status, sizeof F.ssrh_status, "%s", status);
    snprintf(F.ssrh_added, sizeof F.ssrh_added, "%s", added);
    snprintf(F.ssrh_extra, sizeof F.ssrh_extra, "%s", extra);
    isapi_request *r = isapi_conn_request(c);
    isapi_headers_add(&r->resp_headers, "Server", (size_t)-1, "fx", (size_t)-1);
    if (isapi_headers_parse_block(&r->resp_headers, added) != 0 ||
        isapi_headers_parse_block(&r->resp_headers, extra) != 0)
        return ERROR_INVALID_PARAMETER;
    if (isapi_notify_send_response(c) != ISAPI_CONTINUE)
        return 0;
    send_block(c, *origin);
    return 0;
}

void fx_setup(void)
{
    memset(&F, 0, sizeof F);
    F.cfg.log = fx_log;
    F.cfg.appl_physical_path = "/srv/www";
    F.cfg.server_software = "isapihost-test";
    F.e = isapi_engine_create(&F.cfg);
    ck_assert_ptr_nonnull(F.e);
    F.ops.write = fx_write;
    F.ops.send_response_header = fx_ssrh;
}

void fx_teardown(void)
{
    if (F.c)
        isapi_conn_close(F.c);
    F.c = NULL;
    isapi_engine_destroy(F.e);
    F.e = NULL;
    for (int i = 0; i < 3; i++)
        if (F.mods[i])
            FreeLibrary(F.mods[i]);
}

int fx_probe_version(int i, const char *name, DWORD flags, BOOL result, DWORD err)
{
    if (!F.mods[i])
        F.mods[i] = LoadLibraryA(fx_probe_paths[i]);
    ck_assert_msg(F.mods[i] != NULL, "LoadLibraryA(%s) failed: %lu", fx_probe_paths[i],
                  (unsigned long)GetLastError());
    probe_setup_fn setup = (probe_setup_fn)(void (*)(void))GetProcAddress(F.mods[i], "ProbeSetup");
    ck_assert_ptr_nonnull(setup);
    setup(name, flags, result, err, "", &F.journal);
    char msg[512] = "";
    return isapi_engine_load(F.e, fx_probe_paths[i], msg, sizeof msg);
}

int fx_probe(int i, const char *name, DWORD flags, const char *script)
{
    if (!F.mods[i])
        F.mods[i] = LoadLibraryA(fx_probe_paths[i]);
    ck_assert_msg(F.mods[i] != NULL, "LoadLibraryA(%s) failed", fx_probe_paths[i]);
    probe_setup_fn setup = (probe_setup_fn)(void (*)(void))GetProcAddress(F.mods[i], "ProbeSetup");
    ck_assert_ptr_nonnull(setup);
    setup(name, flags, TRUE, 0, script, &F.journal);
    char msg[512] = "";
    int r = isapi_engine_load(F.e, fx_probe_paths[i], msg, sizeof msg);
    ck_assert_msg(r == 0, "load %s: %d %s", fx_probe_paths[i], r, msg);
    return r;
}

isapi_conn *fx_open(int secure)
{
    isapi_conn_info info = { "127.0.0.1", "8080", "10.1.2.3", "54321", NULL, secure, 3 };
    F.c = isapi_conn_open(F.e, NULL, &F.ops, &info);
    ck_assert_ptr_nonnull(F.c);
    return F.c;
}

isapi_request *fx_request(const char *method, const char *url, const char *version, ...)
{
    isapi_request *r = isapi_request_begin(F.c);
    ck_assert_ptr_nonnull(r);
    isapi_str_set(r, &r->method, method, (size_t)-1);
    isapi_str_set(r, &r->url, url, (size_t)-1);
    isapi_str_set(r, &r->version, version, (size_t)-1);
    if (strcmp(version, "HTTP/0.9") == 0)
        r->has_header_block = 0;
    va_list ap;
    va_start(ap, version);
    const char *line;
    while ((line = va_arg(ap, const char *)) != NULL)
        ck_assert_int_eq(isapi_headers_parse_block(&r->headers, line), 0);
    va_end(ap);
    return r;
}

isapi_rc fx_respond(const char *body)
{
    isapi_request *r = isapi_conn_request(F.c);
    if (r->has_header_block) {
        isapi_headers_add(&r->resp_headers, "Content-Length", (size_t)-1, "0", (size_t)-1);
        char len[32];
        snprintf(len, sizeof len, "%zu", strlen(body));
        isapi_headers_set(&r->resp_headers, "Content-Length", len);
        ck_assert_int_eq(isapi_take_added_headers(F.c, &r->resp_headers), 0);
    }
    isapi_rc rc = isapi_notify_send_response(F.c);
    if (rc != ISAPI_CONTINUE)
        return rc;
    if (r->has_header_block) {
        rc = send_block(F.c, isapi_origin_host());
        if (rc != ISAPI_CONTINUE)
            return rc;
    }
    return isapi_send(F.c, isapi_origin_host(), body, strlen(body));
}

void fx_finish(void)
{
    isapi_notify_end_of_request(F.c);
    HTTP_FILTER_LOG log;
    memset(&log, 0, sizeof log);
    isapi_notify_log(F.c, &log);
    isapi_request_end(F.c);
}

int fx_has(const char *needle)
{
    return strstr(F.journal.text, needle) != NULL;
}

int fx_before(const char *a, const char *b)
{
    const char *pa = strstr(F.journal.text, a), *pb = strstr(F.journal.text, b);
    return pa && pb && pa < pb;
}

int fx_count(const char *needle)
{
    int n = 0;
    for (const char *p = F.journal.text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}
