/*
 * conn.c - the connection and request life cycle: opening a connection (one allocation for
 * it, its filter slots and its address strings), beginning and ending requests on it, and
 * closing it after END_OF_NET_SESSION; plus what the host reads back from the connection
 * (must-close, the filter's error, AddResponseHeaders text).
 *
 * The request model lives in the connection, and every string of it in the connection's
 * request arena (arena.c): ending a request empties the arena in one go ("freed once",
 * isapi.h), keeping its first block for the next request until the connection goes idle.
 *
 * Raising the notifications themselves is dispatch.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- connections ------------------------------------------------------------------ */

/* Copies s ("" for NULL) to *at and advances it. */
static char *place_string(char **at, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 1;
    char *p = *at;
    memcpy(p, s ? s : "", n);
    *at += n;
    return p;
}

isapi_conn *isapi_conn_open(isapi_engine *e, void *host_conn, const isapi_ops *ops,
                            const isapi_conn_info *info)
{
    isapi_conn_info none = {0};
    if (!info)
        info = &none;
    /* One allocation: the connection, its filter slots, then the five address strings
     * (a connection per request must cost little; reference: docs/performance.md). */
    const char *server_name = info->server_name ? info->server_name : info->local_addr;
    const char *texts[5] = { info->local_addr, info->local_port, info->remote_addr,
                             info->remote_port, server_name };
    size_t nslots = e->nfilters ? e->nfilters : 1;
    size_t text_bytes = 0;
    for (int i = 0; i < 5; i++)
        text_bytes += (texts[i] ? strlen(texts[i]) : 0) + 1;
    size_t slots_at = (sizeof(isapi_conn) + _Alignof(isapi__slot) - 1)
                      / _Alignof(isapi__slot) * _Alignof(isapi__slot);
    isapi_conn *c = calloc(1, slots_at + nslots * sizeof(isapi__slot) + text_bytes);
    if (!c)
        return NULL;
    c->e = e;
    c->host = host_conn;
    c->ops = ops;
    c->secure = info->secure ? 1 : 0;
    c->instance_id = info->instance_id ? info->instance_id : 1;
    c->read_next_at = (size_t)-1;
    c->slots = (isapi__slot *)((char *)c + slots_at);
    char *at = (char *)(c->slots + nslots);
    c->local_addr = place_string(&at, texts[0]);
    c->local_port = place_string(&at, texts[1]);
    c->remote_addr = place_string(&at, texts[2]);
    c->remote_port = place_string(&at, texts[3]);
    c->server_name = place_string(&at, texts[4]);
    c->req.arena = &c->strings;
    c->req.headers.arena = &c->strings;
    c->req.resp_headers.arena = &c->strings;
    for (size_t i = 0; i < e->nfilters; i++)
        isapi__init_context(c, &c->slots[i], i);
    return c;
}

void isapi_conn_close(isapi_conn *c)
{
    if (!c)
        return;
    if (c->have_req)
        isapi_request_end(c);
    isapi_headers_clear(&c->req.headers);
    isapi_headers_clear(&c->req.resp_headers);
    if (!c->closing) {
        c->closing = 1;
        isapi__walk(c, ISAPI__N_END_OF_NET_SESSION, NULL, 0, 0x7fffffff, NULL);
    }
    /* Why after END_OF_NET_SESSION: filters read their AllocMem'd state there. */
    isapi__arena_free(c);
    isapi__strings_free(&c->strings);
    free(c->rbuf);
    free(c->pending);
    free(c);   /* the slots and the address strings live in the same block */
}

int isapi_conn_must_close(const isapi_conn *c) { return c->must_close; }
int isapi_conn_response_started(const isapi_conn *c) { return c->resp_sent; }
DWORD isapi_conn_filter_error(const isapi_conn *c) { return c->filter_error; }
DWORD isapi_next_read_size(const isapi_conn *c) { return c->next_read_size; }

/* ---- requests --------------------------------------------------------------------- */

static void reset_request_state(isapi_conn *c)
{
    /* Why: DISABLE_NOTIFICATIONS lasts for the current request only (IIS 6 SDK,
     * SF_REQ_DISABLE_NOTIFICATIONS); END_OF_NET_SESSION, raised after the last request
     * ended, therefore always reaches every filter registered for it. */
    for (size_t i = 0; i < c->e->nfilters; i++)
        c->slots[i].disabled = 0;
    free(c->added);
    free(c->denial);
    c->added = c->denial = c->url_before_preproc = NULL;
    c->resp_sent = c->ssrh_done = c->output_dead = c->req_parsed = c->in_preproc = 0;
    c->dead_rc = ISAPI_CONTINUE;
    c->send_error = 0;
    c->filter_error = 0;
    c->proxy = 0;
    free(c->pending);
    c->pending = NULL;
    c->npending = 0;
    c->read_next_at = (size_t)-1;
}

isapi_request *isapi_request_begin(isapi_conn *c)
{
    if (c->have_req)
        isapi_request_end(c);
    reset_request_state(c);
    isapi_headers keep_headers = c->req.headers, keep_resp = c->req.resp_headers;
    memset(&c->req, 0, sizeof c->req);
    c->req.headers = keep_headers;         /* empty, with the previous request's storage */
    c->req.resp_headers = keep_resp;
    c->req.arena = &c->strings;
    isapi__strings_begin(&c->strings);
    c->req.has_header_block = 1;
    c->req.status = 200;
    c->req.start_ms = GetTickCount64();
    c->have_req = 1;
    return &c->req;
}

isapi_request *isapi_conn_request(isapi_conn *c)
{
    return c->have_req ? &c->req : NULL;
}

void isapi_request_end(isapi_conn *c)
{
    if (!c->have_req)
        return;
    isapi_request *r = &c->req;
    r->method = r->url = r->version = r->path = r->reason = NULL;
    r->auth_type = r->auth_user = r->auth_password = NULL;
    r->logon_user = r->logon_password = r->physical_path = NULL;
    /* The lists keep their storage for the connection's next request. */
    isapi_headers_reset(&r->headers);
    isapi_headers_reset(&r->resp_headers);
    reset_request_state(c);
    /* Freed once: every string of the request goes here, together. */
    isapi__strings_reset(&c->strings);
    c->have_req = 0;
}

void isapi_conn_trim(isapi_conn *c)
{
    if (!c->have_req)
        isapi__strings_free(&c->strings);
}

isapi_rc isapi_notify_read_raw(isapi_conn *c, const void *data, size_t len,
                               const void **out, size_t *out_len)
{
    /* A request begins at its first bytes when the host did not begin it itself. */
    if (!c->have_req)
        isapi_request_begin(c);
    return isapi__raise_read_raw(c, data, len, out, out_len);
}

/* ---- what the host collects ------------------------------------------------------- */

static int take_text(char **text, isapi_headers *dst)
{
    int r = 0;
    if (*text)
        r = isapi_headers_parse_block(dst, *text) == -1 ? -1 : 0;
    free(*text);
    *text = NULL;
    return r;
}

int isapi_take_added_headers(isapi_conn *c, isapi_headers *dst)
{
    return take_text(&c->added, dst);
}

int isapi_conn_has_added_headers(const isapi_conn *c)
{
    return c->added != NULL;
}

int isapi_take_denial_headers(isapi_conn *c, isapi_headers *dst)
{
    return take_text(&c->denial, dst);
}
