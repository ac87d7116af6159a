/*
 * servervars.c - GetServerVariable: every server variable, computed from the request
 * model (isapi_request) and the connection facts.
 *
 * Lookup is a table of names (case-insensitive, Why: the ASP ServerVariables convention
 * filters are written against) with a scope: connection variables (addresses, ports,
 * HTTPS, INSTANCE_ID, the server's own names) answer from the first notification to the
 * last, END_OF_NET_SESSION included; request variables answer from PREPROC_HEADERS on
 * until the request ends, and ERROR_NO_DATA before (READ_RAW_DATA of a request not yet
 * parsed) and after it (END_OF_NET_SESSION). Why: IIS's docs say "some variables may not
 * be defined" before PREPROC_HEADERS, and KB 892988 is an IIS crash on reading AUTH_TYPE
 * too early: every name must answer something defined at every point.
 *
 * HTTP_<NAME> finds the request header whose name, upper-cased with '-' -> '_', is <NAME>;
 * HEADER_<Name> finds the header by its exact name. Repeated headers are joined with ", ".
 * Unknown names and absent headers fail with ERROR_INVALID_INDEX (IIRF tests that code
 * for "does not exist").
 *
 * Values are built into a temporary string and returned through the exact-size protocol
 * of isapi__size_result (strings.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum scope { CONN, REQ };

typedef struct sv_out {
    char *s;
    size_t len, cap;
    int oom;
} sv_out;

static void put(sv_out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->s, cap);
        if (!p) {
            o->oom = 1;
            return;
        }
        o->s = p;
        o->cap = cap;
    }
    memcpy(o->s + o->len, s, n);
    o->len += n;
    o->s[o->len] = '\0';
}

static void puts_(sv_out *o, const char *s)
{
    put(o, s ? s : "", s ? strlen(s) : 0);
}

static const char *url_of(const isapi_conn *c)
{
    if (c->in_preproc && c->url_before_preproc)
        return c->url_before_preproc;
    return c->req.url ? c->req.url : "";
}

static void put_path(sv_out *o, const isapi_conn *c)
{
    if (c->req.path && !c->in_preproc) {
        puts_(o, c->req.path);
        return;
    }
    const char *u = url_of(c);
    put(o, u, strcspn(u, "?"));
}

static void upper_underscore(sv_out *o, const char *name)
{
    for (const char *p = name; *p; p++) {
        char ch = *p == '-' ? '_' : *p;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        put(o, &ch, 1);
    }
}

/* The request header whose HTTP_ form is `key` (e.g. "USER_AGENT"), all instances. */
static int http_header(const isapi_headers *h, const char *key, sv_out *o)
{
    int found = 0;
    for (size_t i = 0; i < h->n; i++) {
        sv_out n = {0};
        upper_underscore(&n, h->v[i].name);
        int eq = !n.oom && n.s && strcmp(n.s, key) == 0;
        if (n.oom)
            o->oom = 1;
        free(n.s);
        if (!eq)
            continue;
        if (found)
            put(o, ", ", 2);
        puts_(o, h->v[i].value);
        found = 1;
    }
    return found;
}

static void all_http(const isapi_headers *h, sv_out *o)
{
    /* One line per distinct header name in order of first appearance, repeated headers
     * joined; every line, the last included, ends in "\n" (mod_jk counts lines). */
    for (size_t i = 0; i < h->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = isapi__ieq(h->v[j].name, h->v[i].name);
        if (seen)
            continue;
        put(o, "HTTP_", 5);
        upper_underscore(o, h->v[i].name);
        put(o, ":", 1);
        for (size_t j = i, first = 1; j < h->n; j++)
            if (isapi__ieq(h->v[j].name, h->v[i].name)) {
                if (!first)
                    put(o, ", ", 2);
                puts_(o, h->v[j].value);
                first = 0;
            }
        put(o, "\n", 1);
    }
}

static void all_raw(const isapi_headers *h, sv_out *o)
{
    for (size_t i = 0; i < h->n; i++) {
        puts_(o, h->v[i].name);
        put(o, ": ", 2);
        puts_(o, h->v[i].value);
        put(o, "\r\n", 2);
    }
}

static void server_name(const isapi_conn *c, sv_out *o)
{
    const char *host = isapi_headers_find(&c->req.headers, "Host");
    if (!host || !*host) {
        puts_(o, c->server_name);
        return;
    }
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        put(o, host, end ? (size_t)(end - host + 1) : strlen(host));
        return;
    }
    put(o, host, strcspn(host, ":"));
}

static void put_num(sv_out *o, unsigned long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%llu", v);
    put(o, num, (size_t)n);
}

/* Builds the value of `name` into o. Returns 0, or the Win32 error to fail with. */
static DWORD lookup(const isapi_conn *c, const char *name, sv_out *o)
{
    const isapi_request *r = &c->req;
    int have = c->have_req && c->req_parsed;

    /* connection variables */
    if (isapi__ieq(name, "REMOTE_ADDR") || isapi__ieq(name, "REMOTE_HOST")) {
        puts_(o, c->remote_addr);
        return 0;
    }
    if (isapi__ieq(name, "REMOTE_PORT")) { puts_(o, c->remote_port); return 0; }
    if (isapi__ieq(name, "LOCAL_ADDR")) { puts_(o, c->local_addr); return 0; }
    if (isapi__ieq(name, "SERVER_PORT")) { puts_(o, c->local_port); return 0; }
    if (isapi__ieq(name, "SERVER_PORT_SECURE")) { puts_(o, c->secure ? "1" : "0"); return 0; }
    /* Why lower case: WebKnight compares HTTPS == "on" (docs/isapi-reference.md,
     * "Server variables"). */
    if (isapi__ieq(name, "HTTPS")) { puts_(o, c->secure ? "on" : "off"); return 0; }
    if (isapi__ieq(name, "INSTANCE_ID")) { put_num(o, c->instance_id); return 0; }
    if (isapi__ieq(name, "INSTANCE_META_PATH")) {
        puts_(o, "/LM/W3SVC/");
        put_num(o, c->instance_id);
        return 0;
    }
    if (isapi__ieq(name, "APPL_MD_PATH")) {
        puts_(o, "/LM/W3SVC/");
        put_num(o, c->instance_id);
        puts_(o, "/ROOT");
        return 0;
    }
    if (isapi__ieq(name, "APPL_PHYSICAL_PATH")) { puts_(o, c->e->appl_physical_path); return 0; }
    if (isapi__ieq(name, "SERVER_SOFTWARE")) { puts_(o, c->e->server_software); return 0; }
    if (isapi__ieq(name, "GATEWAY_INTERFACE")) { puts_(o, "CGI/1.1"); return 0; }

    /* request variables */
    static const char *const request_names[] = {
        "ALL_HTTP", "ALL_RAW", "AUTH_TYPE", "AUTH_USER", "AUTH_PASSWORD", "REMOTE_USER",
        "LOGON_USER", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_URL", "HTTP_VERSION",
        "UNENCODED_URL", "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REQUEST_METHOD",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PROTOCOL", "URL",
    };
    size_t k = 0, nnames = sizeof request_names / sizeof request_names[0];
    while (k < nnames && !isapi__ieq(name, request_names[k]))
        k++;
    int is_http = k == nnames && strlen(name) > 5 && isapi__ieqn(name, 5, "HTTP_", 5);
    int is_header = k == nnames && strlen(name) > 7 && isapi__ieqn(name, 7, "HEADER_", 7);
    if (k == nnames && !is_http && !is_header)
        return ERROR_INVALID_INDEX;
    if (!have)
        return ERROR_NO_DATA;

    if (is_http) {
        sv_out key = {0};
        upper_underscore(&key, name + 5);
        if (key.oom) {
            free(key.s);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        int found = http_header(&r->headers, key.s, o);
        free(key.s);
        return found ? 0 : ERROR_INVALID_INDEX;
    }
    if (is_header) {
        int oom;
        char *v = isapi_headers_get_joined(&r->headers, name + 7, &oom);
        if (!v)
            return oom ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_INDEX;
        puts_(o, v);
        free(v);
        return 0;
    }
    const char *u = url_of(c);
    switch (k) {
    case 0: all_http(&r->headers, o); break;
    case 1: all_raw(&r->headers, o); break;
    case 2: puts_(o, r->auth_type); break;
    case 3: case 5: puts_(o, r->auth_user); break;
    case 4: puts_(o, r->auth_password); break;
    case 6: puts_(o, r->logon_user ? r->logon_user : r->auth_user); break;
    case 7: put_num(o, r->content_length); break;
    case 8: puts_(o, isapi_headers_find(&r->headers, "Content-Type")); break;
    case 9: case 11: puts_(o, u); break;
    case 10: case 18: puts_(o, r->version); break;
    case 12: case 16: case 19: put_path(o, c); break;
    case 13: puts_(o, r->physical_path); break;
    case 14: {
        const char *q = strchr(u, '?');
        puts_(o, q ? q + 1 : "");
        break;
    }
    case 15: puts_(o, r->method); break;
    case 17: server_name(c, o); break;
    default: return ERROR_INVALID_INDEX;
    }
    return 0;
}

BOOL isapi_get_server_variable(isapi_conn *c, const char *name, void *buf, DWORD *size)
{
    if (!c || !name || !size) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    sv_out o = {0};
    DWORD err = lookup(c, name, &o);
    if (!err && o.oom)
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (err) {
        free(o.s);
        SetLastError(err);
        return FALSE;
    }
    BOOL ok = isapi__size_result(o.s ? o.s : "", o.len, buf, size);
    free(o.s);
    return ok;
}
