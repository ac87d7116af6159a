/*
 * http1.c - HTTP/0.9, 1.0 and 1.1 on one connection, and the notification pipeline.
 *
 * host_http1_serve() runs on a worker thread and serves requests from the connection's
 * buffer until none is complete (the scheduler then parks the socket) or the connection
 * must close. One request goes through, in IIS's order (docs/semantics.md):
 *
 *   READ_RAW_DATA on every read (the parser works on what the filters left)
 *   parse -> PREPROC_HEADERS -> route on the edited method/url -> URL_MAP
 *   -> AUTHENTICATION (Basic credentials, or anonymous) -> AUTH_COMPLETE (a changed url
 *   re-routes and maps again) -> [ACCESS_DENIED before any 401]
 *   -> READ_RAW_DATA for the body -> static handler -> SEND_RESPONSE
 *   -> header block through SEND_RAW_DATA as its own chunk, then body chunks
 *   -> END_OF_REQUEST -> LOG -> the W3C line.
 *
 * This file is the engine's "final writer": it alone knows the protocol. It serialises the
 * status line and headers once, after SEND_RESPONSE, and for an HTTP/0.9 request under the
 * strict policy it writes no header block at all: the request model says so
 * (has_header_block = 0), and every notification still fires on valid structures.
 *
 * Requests refused while parsing (400, 414, 431, 505, ...) are answered here directly, the
 * way HTTP.sys answers them before IIS's filters see a request: no notification fires for
 * them but READ_RAW_DATA (already run) and END_OF_NET_SESSION when the connection closes.
 */
#include "conn.h"
#include "fmt.h"
#include <httpext.h>
#include "log.h"
#include "static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX_HEADERS 256
#define HOST_READ_CHUNK 16384
#define HOST_SEND_CHUNK 65536
#define HOST_SMALL_FILE 8192    /* a file up to this size is read into a stack buffer */
#define HOST_PATH_BUF 4096
#define HOST_OUT_BUF 16384
#define HOST_BLOCK_LOCAL 2048   /* a response header block up to this size needs no malloc */

/* ---- receiving -------------------------------------------------------------------- */

/* Why a spare buffer per thread: a connection gives its receive buffer back whenever it
 * parks empty (10,000 idle connections must stay cheap), and every keep-alive request
 * would then cost a 16 KiB malloc and free, with glibc consolidating its free lists each
 * time; the thread keeps the last buffer given back for the next connection it serves. */
static _Thread_local char *spare_buf;

void host_conn_buf_release(host_conn_t *c)
{
    if (!c->buf)
        return;
    if (c->cap == HOST_READ_CHUNK && !spare_buf)
        spare_buf = c->buf;
    else
        free(c->buf);
    c->buf = NULL;
    c->cap = 0;
}

void host_thread_buffers_free(void)
{
    free(spare_buf);
    spare_buf = NULL;
    isapi_thread_cache_release();
}

static int buf_reserve(host_conn_t *c, size_t extra)
{
    if (c->len + extra <= c->cap)
        return 0;
    if (!c->buf && spare_buf && extra <= HOST_READ_CHUNK) {
        c->buf = spare_buf;
        c->cap = HOST_READ_CHUNK;
        spare_buf = NULL;
        return 0;
    }
    size_t cap = c->cap ? c->cap : HOST_READ_CHUNK;
    while (cap < c->len + extra)
        cap *= 2;
    char *nb = realloc(c->buf, cap);
    if (!nb)
        return -1;
    c->buf = nb;
    c->cap = cap;
    return 0;
}

static void begin_request_if_needed(host_conn_t *c)
{
    if (c->in_request)
        return;
    isapi_request_begin(c->ic);
    c->in_request = 1;
    c->request_start_ms = plat_time_mono_ms();
    c->raw_bytes_in = 0;
    c->deadline_ms = c->request_start_ms + c->srv->cfg->header_timeout_ms;
}

enum { READ_OK, READ_MORE, READ_EOF, READ_TIMEOUT, READ_FAIL, READ_FILTER_DONE };

/* Reads once (waiting up to timeout_ms) and runs READ_RAW_DATA over the bytes; appends
 * what the filters left to the buffer. READ_MORE: a filter asked for more bytes
 * (READ_NEXT) before it hands anything on. */
static int read_filtered(host_conn_t *c, int timeout_ms, isapi_rc *filter_rc)
{
    char raw[HOST_READ_CHUNK];
    DWORD hint = isapi_next_read_size(c->ic);
    size_t want = hint && hint < sizeof raw ? hint : sizeof raw;
    ptrdiff_t n = plat_sock_recv(c->sock, raw, want, timeout_ms);
    /* Why: as nginx does, a receive that did not fill what it asked for has drained the
     * socket, so the next one would find nothing: park instead of trying. */
    c->may_have_data = n == (ptrdiff_t)want;
    if (n == 0)
        return READ_EOF;
    if (n == PLAT_ETIMEDOUT)
        return READ_TIMEOUT;
    if (n < 0)
        return READ_FAIL;
    begin_request_if_needed(c);
    c->raw_bytes_in += (uint64_t)n;
    const void *out;
    size_t out_len;
    isapi_rc rc = isapi_notify_read_raw(c->ic, raw, (size_t)n, &out, &out_len);
    *filter_rc = rc;
    if (rc == ISAPI_READ_NEXT)
        return READ_MORE;
    if (rc != ISAPI_CONTINUE)
        return READ_FILTER_DONE;
    if (out_len > 0) {
        if (buf_reserve(c, out_len) != 0)
            return READ_FAIL;
        memcpy(c->buf + c->len, out, out_len);
        c->len += out_len;
    }
    return READ_OK;
}

static void buf_consume(host_conn_t *c, size_t n)
{
    if (n >= c->len) {
        c->len = 0;
    } else {
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
    }
}

/* ---- sending ---------------------------------------------------------------------- */

static DWORD send_now(host_conn_t *c, const void *data, size_t len)
{
    int rc = plat_sock_send_all(c->sock, data, len, (int)c->srv->cfg->send_timeout_ms);
    if (rc == 0)
        return 0;
    return rc == PLAT_ETIMEDOUT ? ERROR_TIMEOUT : ERROR_NETNAME_DELETED;
}

static DWORD flush_out(host_conn_t *c)
{
    if (!c->obuf || c->olen == 0)
        return 0;
    DWORD err = send_now(c, c->obuf, c->olen);
    c->olen = 0;
    return err;
}

/* A filter that writes a whole response itself with WriteClient ("HTTP/1.1 400 Bad
 * Request\r\n...") sets no status the server knows of; when those are the first bytes of
 * the request's output and the server is not writing a response of its own, their status
 * line gives the status the W3C log records. */
static void note_written_status(host_conn_t *c, const char *p, size_t len)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (!req || c->obuf || req->bytes_sent != 0 || len < 12 || memcmp(p, "HTTP/1.", 7) != 0
        || p[8] != ' ')
        return;
    DWORD code = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return;
        code = code * 10 + (DWORD)(p[i] - '0');
    }
    req->status = code;
}

/* The engine's write op: after SEND_RAW_DATA. Outside a server response (WriteClient from
 * a filter's own notification) it sends at once, as WriteClient is synchronous. */
static DWORD op_write(void *host_conn, const void *data, size_t len)
{
    host_conn_t *c = host_conn;
    note_written_status(c, data, len);
    if (c->obuf) {
        if (c->olen + len > c->ocap) {
            DWORD err = flush_out(c);
            if (err)
                return err;
        }
        if (len <= c->ocap) {
            memcpy(c->obuf + c->olen, data, len);
            c->olen += len;
            return 0;
        }
    }
    return send_now(c, data, len);
}

/* Writes the status line, "Name: value\r\n" for every header, then the blank line, into
 * local (room bytes) when it fits, else into a malloc'ed block the caller frees when it is
 * not local. */
static char *serialize_block(host_conn_t *c, const isapi_request *req, size_t *out_len,
                             char *local, size_t room)
{
    const char *proto = c->version == HOST_HTTP_11 ? "HTTP/1.1" : "HTTP/1.0";
    const char *reason = req->reason ? req->reason : host_reason((int)req->status);
    size_t rl = strlen(reason);
    size_t need = 32 + rl;   /* protocol, space, up to 10 digits, space, reason, CRLF, CRLF */
    for (size_t i = 0; i < req->resp_headers.n; i++)
        need += isapi_header_name_len(&req->resp_headers.v[i])
                + strlen(req->resp_headers.v[i].value) + 4;
    char *b = need <= room ? local : malloc(need);
    if (!b)
        return NULL;
    size_t n = 8;
    memcpy(b, proto, 8);
    b[n++] = ' ';
    n += host_fmt_u64(b + n, req->status);
    b[n++] = ' ';
    memcpy(b + n, reason, rl);
    n += rl;
    b[n++] = '\r';
    b[n++] = '\n';
    for (size_t i = 0; i < req->resp_headers.n; i++) {
        const isapi_header *h = &req->resp_headers.v[i];
        size_t nl = isapi_header_name_len(h), vl = strlen(h->value);
        memcpy(b + n, h->name, nl);
        n += nl;
        b[n++] = ':';
        b[n++] = ' ';
        memcpy(b + n, h->value, vl);
        n += vl;
        b[n++] = '\r';
        b[n++] = '\n';
    }
    b[n++] = '\r';
    b[n++] = '\n';
    *out_len = n;
    return b;
}

/* The Date header's text for the current second, formatted once per second per thread. */
static const char *date_now(void)
{
    static _Thread_local int64_t formatted_sec = -1;
    static _Thread_local char text[PLAT_HTTP_DATE_LEN + 1];
    int64_t sec = (int64_t)(plat_time_unix_ms() / 1000);
    if (sec != formatted_sec) {
        plat_http_date_format(sec, text);
        formatted_sec = sec;
    }
    return text;
}

/* Server, Date: the standard headers IIS puts first in every response block. */
static void standard_headers(host_conn_t *c, isapi_request *req)
{
    isapi_headers_set(&req->resp_headers, "Server", c->srv->cfg->server_software);
    isapi_headers_set(&req->resp_headers, "Date", date_now());
}

static DWORD op_send_response_header(void *host_conn, isapi_conn *ic,
                                     const isapi_send_origin *origin, const char *status,
                                     const char *added, const char *extra)
{
    host_conn_t *c = host_conn;
    isapi_request *req = isapi_conn_request(ic);
    (void)status;
    if (!req)
        return ERROR_INVALID_PARAMETER;
    isapi_headers_clear(&req->resp_headers);
    standard_headers(c, req);
    if (added && *added && isapi_headers_parse_block(&req->resp_headers, added) == -1)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (extra && *extra && isapi_headers_parse_block(&req->resp_headers, extra) == -1)
        return ERROR_NOT_ENOUGH_MEMORY;
    isapi_rc rc = isapi_notify_send_response(ic);
    if (rc != ISAPI_CONTINUE)
        return ERROR_OPERATION_ABORTED;
    /* Why: under the strict HTTP/0.9 policy a response has no header block; the status
     * was recorded for the log and SEND_RESPONSE still fired, but no byte is written. */
    if (!req->has_header_block)
        return 0;
    size_t len;
    char local[HOST_BLOCK_LOCAL];
    char *block = serialize_block(c, req, &len, local, sizeof local);
    if (!block)
        return ERROR_NOT_ENOUGH_MEMORY;
    rc = isapi_send(ic, *origin, block, len);
    if (block != local)
        free(block);
    return rc == ISAPI_CONTINUE ? 0 : ERROR_NETNAME_DELETED;
}

const isapi_ops host_http1_ops = {
    .write = op_write,
    .send_response_header = op_send_response_header,
    .log = NULL,
    .log_ctx = NULL,
};

static int has_token(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = v; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl) {
            size_t i = 0;
            while (i < tl && ((p[i] | 0x20) == (tok[i] | 0x20)))
                i++;
            if (i == tl)
                return 1;
        }
        p = e;
    }
    return 0;
}

static int send_response_parts(host_conn_t *c, host_body_t *body);

/* Sends the response in the request model: SEND_RESPONSE, the header block, the body,
 * coalesced into as few sends as possible (a small response: one). Returns 0 when the
 * connection may be kept, -1 when it must close. */
static int send_response(host_conn_t *c, host_body_t *body)
{
    char out[HOST_OUT_BUF];
    c->obuf = out;
    c->ocap = sizeof out;
    c->olen = 0;
    int keep = send_response_parts(c, body);
    if (flush_out(c) != 0)
        keep = -1;
    c->obuf = NULL;
    c->ocap = 0;
    return keep;
}

static int send_response_parts(host_conn_t *c, host_body_t *body)
{
    isapi_request *req = isapi_conn_request(c->ic);
    standard_headers(c, req);
    isapi_take_added_headers(c->ic, &req->resp_headers);

    /* Keep-alive only when the response delimits itself. */
    int self_delimiting = isapi_headers_find(&req->resp_headers, "Content-Length") != NULL
                          || req->status == 304 || req->status == 204 || req->status < 200;
    int keep = c->keep_alive && self_delimiting && !atomic_load(&c->srv->stopping)
               && c->requests + 1 < c->srv->cfg->max_requests_per_connection;
    if (req->has_header_block) {
        if (!keep && c->version != HOST_HTTP_09)
            isapi_headers_set(&req->resp_headers, "Connection", "close");
        else if (keep && c->version == HOST_HTTP_10)
            isapi_headers_set(&req->resp_headers, "Connection", "keep-alive");
    }

    isapi_rc rc = isapi_notify_send_response(c->ic);
    if (rc != ISAPI_CONTINUE)
        return -1;
    /* A filter may have dropped Content-Length or asked for close in SEND_RESPONSE. */
    const char *conn_hdr = isapi_headers_find(&req->resp_headers, "Connection");
    if (!isapi_headers_find(&req->resp_headers, "Content-Length") && req->status != 304
        && req->status != 204)
        keep = 0;
    if (conn_hdr && has_token(conn_hdr, "close"))
        keep = 0;

    if (req->has_header_block) {
        size_t len;
        char local[HOST_BLOCK_LOCAL];
        char *block = serialize_block(c, req, &len, local, sizeof local);
        if (!block)
            return -1;
        rc = isapi_send(c->ic, isapi_origin_host(), block, len);
        if (block != local)
            free(block);
        if (rc != ISAPI_CONTINUE)
            return -1;
    }
    if (c->head_only || req->status == 304 || req->status == 204)
        return keep ? 0 : -1;

    if (body->mem) {
        rc = isapi_send(c->ic, isapi_origin_host(), body->mem, body->mem_len);
        if (rc != ISAPI_CONTINUE)
            return -1;
    } else if (body->file != PLAT_INVALID_FILE && PLAT_HAVE_ZEROCOPY_SEND
               && !isapi_conn_sees_send_raw(c->ic) && body->length > c->ocap - c->olen) {
        /* Zero-copy: no SEND_RAW_DATA filter could see these bytes, and they would not fit
         * beside the header block in one send anyway. */
        if (flush_out(c) != 0
            || plat_sock_send_file(c->sock, body->file, body->offset, body->length,
                                   (int)c->srv->cfg->send_timeout_ms) != 0)
            return -1;
        req->bytes_sent += body->length;
    } else if (body->file != PLAT_INVALID_FILE) {
        /* A small file is read on the stack; a larger one in chunks of a heap buffer. */
        char small[HOST_SMALL_FILE];
        size_t cap = body->length <= sizeof small ? sizeof small : HOST_SEND_CHUNK;
        char *chunk = cap == sizeof small ? small : malloc(cap);
        if (!chunk)
            return -1;
        uint64_t off = body->offset, left = body->length;
        int failed = 0;
        while (left > 0 && !failed) {
            size_t want = left < cap ? (size_t)left : cap;
            ptrdiff_t n = plat_file_pread(body->file, chunk, want, off);
            /* n <= 0: the file shrank, and the length already sent is wrong */
            failed = n <= 0
                     || isapi_send(c->ic, isapi_origin_host(), chunk, (size_t)n) != ISAPI_CONTINUE;
            if (!failed) {
                off += (uint64_t)n;
                left -= (uint64_t)n;
            }
        }
        if (chunk != small)
            free(chunk);
        if (failed)
            return -1;
    }
    if (isapi_conn_must_close(c->ic))
        return -1;
    return keep ? 0 : -1;
}

/* ---- ending a request ------------------------------------------------------------- */

static void split_url(const char *url, char *stem, size_t stemlen, const char **query)
{
    const char *q = url ? strchr(url, '?') : NULL;
    size_t n = q ? (size_t)(q - url) : (url ? strlen(url) : 0);
    if (n >= stemlen)
        n = stemlen - 1;
    if (url)
        memcpy(stem, url, n);
    stem[n] = '\0';
    *query = q ? q + 1 : "";
}

/* END_OF_REQUEST, LOG and the W3C line; then the request model is freed. */
static void finish_request(host_conn_t *c, int notify)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (!req) {
        c->in_request = 0;
        return;
    }
    char stem[2048];
    const char *query;
    split_url(req->url, stem, sizeof stem, &query);
    const char *user = req->logon_user && *req->logon_user ? req->logon_user
                       : req->auth_user ? req->auth_user : "";
    HTTP_FILTER_LOG log = {
        .pszClientHostName = c->peer.addr,
        .pszClientUserName = user,
        .pszServerName = c->local.addr,
        .pszOperation = req->method ? req->method : "",
        .pszTarget = stem,
        .pszParameters = query,
        .dwHttpStatus = req->status ? req->status : 200,
        .dwWin32Status = isapi_conn_filter_error(c->ic),
        .dwBytesSent = (DWORD)(req->bytes_sent > 0xffffffffu ? 0xffffffffu : req->bytes_sent),
        .dwBytesRecvd = (DWORD)(c->raw_bytes_in > 0xffffffffu ? 0xffffffffu : c->raw_bytes_in),
        .msTimeForProcessing = (DWORD)(plat_time_mono_ms() - c->request_start_ms),
    };
    if (notify) {
        isapi_notify_end_of_request(c->ic);
        isapi_notify_log(c->ic, &log);
    }
    const char *ua = isapi_headers_find(&req->headers, "User-Agent");
    host_w3c_record_t rec = {
        .server_ip = log.pszServerName,
        .method = log.pszOperation,
        .uri_stem = log.pszTarget,
        .uri_query = log.pszParameters,
        .server_port = c->local.port,
        .username = log.pszClientUserName,
        .client_ip = log.pszClientHostName,
        .user_agent = ua,
        .status = log.dwHttpStatus,
        .win32_status = log.dwWin32Status,
        .bytes_sent = log.dwBytesSent,
        .bytes_received = log.dwBytesRecvd,
        .time_taken_ms = log.msTimeForProcessing,
    };
    host_w3c_write(&rec);
    isapi_request_end(c->ic);
    c->in_request = 0;
}

/* Answers a request refused before the filters saw it, on the socket alone. */
static void reject_raw(host_conn_t *c, int status)
{
    const char *reason = host_reason(status);
    char page[256], resp[512];
    int pn = snprintf(page, sizeof page,
                      "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\r\n",
                      status, reason, status, reason);
    const char *date = date_now();
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, reason, c->srv->cfg->server_software, date, pn, page);
    if (n > 0)
        plat_sock_send_all(c->sock, resp, (size_t)n < sizeof resp ? (size_t)n : sizeof resp - 1,
                           (int)c->srv->cfg->send_timeout_ms);
    isapi_request *req = isapi_conn_request(c->ic);
    if (req) {
        req->status = (DWORD)status;
        req->bytes_sent = (uint64_t)(n > 0 ? n : 0);
    }
    finish_request(c, 0);
}

/* A server response built by the static handler or an error page, sent through the
 * filters. Returns 0 (keep) or -1 (close). */
static int respond_error(host_conn_t *c, int status)
{
    host_body_t body = HOST_BODY_INIT;
    isapi_request *req = isapi_conn_request(c->ic);
    host_error_page(req, status, &body);
    int keep = send_response(c, &body);
    host_body_free(&body);
    return keep;
}

/* A 401: ACCESS_DENIED first, then the denial with the server's challenge and the
 * SF_REQ_ADD_HEADERS_ON_DENIAL headers. Returns 0 (keep) or -1 (close). */
static int deny(host_conn_t *c, DWORD reason)
{
    isapi_request *req = isapi_conn_request(c->ic);
    isapi_rc rc = isapi_notify_access_denied(c->ic, req->url ? req->url : "",
                                             req->physical_path ? req->physical_path : "",
                                             reason);
    if (rc != ISAPI_CONTINUE)
        return -1;
    host_body_t body = HOST_BODY_INIT;
    host_error_page(req, 401, &body);
    isapi_headers denial = { 0 };
    isapi_take_denial_headers(c->ic, &denial);
    /* Why: a filter that supplies its own WWW-Authenticate challenge on denial (the
     * usual reason for ADD_HEADERS_ON_DENIAL) replaces the server's default one. */
    if (!isapi_headers_find(&denial, "WWW-Authenticate"))
        isapi_headers_add(&req->resp_headers, "WWW-Authenticate", (size_t)-1,
                          "Basic realm=\"isapihost\"", (size_t)-1);
    for (size_t i = 0; i < denial.n; i++)
        isapi_headers_add(&req->resp_headers, denial.v[i].name, (size_t)-1, denial.v[i].value,
                          (size_t)-1);
    isapi_headers_clear(&denial);
    int keep = send_response(c, &body);
    host_body_free(&body);
    return keep;
}

/* What serve_one() tells host_http1_serve(). */
enum { ONE_KEEP, ONE_PARK, ONE_CLOSE };

/* A notification returned FINISHED or ERROR: the filter answered or failed. The
 * connection always closes afterwards (returns ONE_CLOSE). */
static int end_by_filter(host_conn_t *c, isapi_rc rc)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (rc == ISAPI_ERROR && req->bytes_sent == 0) {
        DWORD err = isapi_conn_filter_error(c->ic);
        if (err == ERROR_ACCESS_DENIED)
            deny(c, SF_DENIED_FILTER);
        else if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            respond_error(c, 404);
        else
            respond_error(c, 500);
    }
    finish_request(c, 1);
    /* Why: IIS 6 and 7.5 close the connection after a filter finished the request, even
     * for FINISHED_KEEP_CONN: filters rarely frame their output (reference section 5). */
    return ONE_CLOSE;
}

/* ---- authentication --------------------------------------------------------------- */

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes "Basic <base64 user:password>" into the request model; anything else is
 * anonymous. */
static void parse_basic_credentials(isapi_request *req)
{
    isapi_str_set(&req->auth_type, "", 0);
    isapi_str_set(&req->auth_user, "", 0);
    isapi_str_set(&req->auth_password, "", 0);
    const char *v = isapi_headers_find(&req->headers, "Authorization");
    if (!v || strncmp(v, "Basic ", 6) != 0)
        return;
    v += 6;
    while (*v == ' ')
        v++;
    char dec[1024];
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *v && *v != '='; v++) {
        int d = b64val((unsigned char)*v);
        if (d < 0)
            return;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= sizeof dec)
                return;
            dec[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    dec[n] = '\0';
    char *colon = memchr(dec, ':', n);
    if (!colon || memchr(dec, '\0', n))
        return;
    *colon = '\0';
    isapi_str_set(&req->auth_type, "Basic", (size_t)-1);
    isapi_str_set(&req->auth_user, dec, (size_t)-1);
    isapi_str_set(&req->auth_password, colon + 1, (size_t)-1);
}

/* ---- routing ---------------------------------------------------------------------- */

/* Decodes the (possibly rewritten) url and raises URL_MAP. Returns ISAPI_CONTINUE with
 * req->path and req->physical_path set, a filter's result, or ISAPI_ERROR with *status
 * set for a refused path. */
static isapi_rc route_and_map(host_conn_t *c, int *status)
{
    isapi_request *req = isapi_conn_request(c->ic);
    char path[HOST_PATH_BUF];
    *status = 0;
    int st = host_url_path(req->url ? req->url : "/", path, sizeof path, NULL);
    if (st) {
        *status = st;
        return ISAPI_ERROR;
    }
    isapi_str_set(&req->path, path, (size_t)-1);

    char joined[HOST_PATH_BUF];
    if (plat_path_join(joined, HOST_PATH_BUF, c->srv->cfg->root, path + 1) < 0) {
        *status = 404;
        return ISAPI_ERROR;
    }
    char *phys = joined;
    DWORD matching = (DWORD)strlen(c->srv->cfg->root);
    char converted[HOST_PATH_BUF];
    if (PLAT_FILTER_PATHS_WIN32) {
        /* Why: in the Winelib build the filters are Windows DLLs and expect the physical
         * path in Windows form (os.h); the static handler maps the result back. */
        char root[HOST_PATH_BUF];
        int root_len = plat_path_to_filter(c->srv->cfg->root, root, sizeof root);
        if (root_len < 0 || plat_path_to_filter(joined, converted, sizeof converted) < 0) {
            *status = 404;
            return ISAPI_ERROR;
        }
        phys = converted;
        matching = (DWORD)root_len;
    }
    HTTP_FILTER_URL_MAP_EX map = {
        .pszURL = path,
        .pszPhysicalPath = phys,
        .cbPathBuff = HOST_PATH_BUF,
        .dwFlags = HSE_URL_FLAGS_READ,
        .cchMatchingPath = matching,
        .cchMatchingURL = 1,
        .pszScriptMapEntry = NULL,
    };
    return isapi_notify_url_map(c->ic, &map);
}

/* ---- the body --------------------------------------------------------------------- */

/* Reads and discards the request body (through READ_RAW_DATA), leaving any pipelined
 * bytes after it in the buffer. Returns 0, or the status to refuse with (-1: just close). */
static int read_body(host_conn_t *c, const host_body_framing_t *fr, int expect_continue)
{
    if (fr->kind == HOST_BODY_NONE)
        return 0;
    int timeout = (int)c->srv->cfg->body_timeout_ms;
    isapi_rc frc;
    if (expect_continue && c->len == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (plat_sock_send_all(c->sock, cont, sizeof cont - 1, timeout) != 0)
            return -1;
    }
    isapi_request *req = isapi_conn_request(c->ic);
    if (fr->kind == HOST_BODY_LENGTH) {
        uint64_t left = fr->content_length;
        for (;;) {
            size_t take = c->len < left ? c->len : (size_t)left;
            buf_consume(c, take);
            left -= take;
            if (left == 0)
                return 0;
            int r = read_filtered(c, timeout, &frc);
            if (r == READ_MORE)
                continue;
            if (r != READ_OK)
                return -1;
        }
    }
    host_chunked_decoder_t dec;
    host_chunked_init(&dec, c->srv->cfg->max_body);
    for (;;) {
        size_t decoded = 0, consumed = 0;
        int st = 0;
        int r = c->len ? host_chunked_decode(&dec, c->buf, c->len, &decoded, &consumed, &st)
                       : HOST_PARSE_INCOMPLETE;
        if (r == HOST_PARSE_ERROR)
            return st;
        /* decoded bytes sit at buf[0..decoded); the server does not use them */
        buf_consume(c, consumed);
        if (r == 0) {
            req->content_length = dec.total;
            return 0;
        }
        int rr = read_filtered(c, timeout, &frc);
        if (rr == READ_MORE)
            continue;
        if (rr != READ_OK)
            return -1;
    }
}

/* ---- one request ------------------------------------------------------------------ */

static int serve_one(host_conn_t *c)
{
    const host_config_t *cfg = c->srv->cfg;
    host_request_line_t rl;
    host_header_t hdrs[HOST_MAX_HEADERS];
    size_t nh = 0;
    int status = 0, head_len;

    /* 1. the request head */
    for (;;) {
        if (c->len > 0) {
            nh = HOST_MAX_HEADERS;
            head_len = host_parse_request(c->buf, c->len, &rl, hdrs, &nh, c->parse_last_len,
                                          &c->srv->limits, &status);
            if (head_len > 0) {
                c->parse_last_len = 0;
                /* Why: a pipelined request that arrived in the same read as the one before
                 * it had no READ_RAW_DATA of its own, so nothing began its request model
                 * yet (its bytes were counted with the request they arrived with). */
                begin_request_if_needed(c);
                break;
            }
            if (head_len == HOST_PARSE_ERROR) {
                c->parse_last_len = 0;
                begin_request_if_needed(c);
                reject_raw(c, status);
                return ONE_CLOSE;
            }
            c->parse_last_len = c->len;
        }
        /* Why: a client trickling its head byte by byte is readable often enough never to
         * sit parked when the poller sweeps deadlines, so the worker checks it too. */
        if (c->in_request && plat_time_mono_ms() >= c->deadline_ms) {
            reject_raw(c, 408);
            return ONE_CLOSE;
        }
        /* Nothing is waited for here: a socket with nothing pending goes back to the
         * poller, and its worker serves another connection meanwhile. */
        if (!c->may_have_data)
            return ONE_PARK;
        isapi_rc frc = ISAPI_CONTINUE;
        int r = read_filtered(c, 0, &frc);
        if (r == READ_TIMEOUT) {
            c->may_have_data = 0;
            return ONE_PARK;
        }
        if (r == READ_OK || r == READ_MORE)
            continue;
        if (r == READ_FILTER_DONE) {
            /* A raw-data filter answered (or refused) the request itself. */
            if (frc == ISAPI_ERROR && isapi_conn_request(c->ic)->bytes_sent == 0)
                reject_raw(c, 400);
            else
                finish_request(c, 1);
            return ONE_CLOSE;
        }
        return ONE_CLOSE;   /* EOF or a socket error */
    }

    /* RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host header;
     * HTTP.sys answers 400 otherwise, before any filter sees the request. */
    if (rl.version == HOST_HTTP_11) {
        size_t h = host_header_find(hdrs, nh, "Host", 0);
        if (h == nh || host_header_find(hdrs, nh, "Host", h + 1) != nh) {
            reject_raw(c, 400);
            return ONE_CLOSE;
        }
    }

    /* 2. the request model */
    isapi_request *req = isapi_conn_request(c->ic);
    c->version = rl.version;
    c->head_only = rl.method_id == HOST_METHOD_HEAD;
    isapi_str_set(&req->method, rl.method.base, rl.method.len);
    isapi_str_set(&req->url, rl.target.base, rl.target.len);
    if (rl.version == HOST_HTTP_09)
        isapi_str_set(&req->version, "HTTP/0.9", (size_t)-1);
    else
        isapi_str_set(&req->version, rl.version_token.base, rl.version_token.len);
    for (size_t i = 0; i < nh; i++)
        isapi_headers_add(&req->headers, hdrs[i].name.base, hdrs[i].name.len,
                          hdrs[i].value.base, hdrs[i].value.len);
    /* Why: RFC 1945 and IIS 7 answer a simple request with the body alone; the http10
     * policy answers it as IIS 6 did, with an HTTP/1.0 status line and headers. */
    req->has_header_block = rl.version != HOST_HTTP_09 || cfg->http09 == HOST_HTTP09_HTTP10;
    c->keep_alive = host_request_keep_alive(&rl, hdrs, nh);
    /* Why only now, as nginx does: Nagle's algorithm can hold back the tail of a response
     * only while the connection stays open for the next one; a connection that closes
     * after its response flushes everything at the close, and is spared the call. */
    if (c->keep_alive && !c->nodelay) {
        plat_sock_set_nodelay(c->sock, 1);
        c->nodelay = 1;
    }

    host_body_framing_t framing;
    int expect_continue = 0;
    if (host_parse_body_framing(&rl, hdrs, nh, cfg->max_body, &framing, &status) != 0
        || host_parse_expect(&rl, hdrs, nh, &expect_continue, &status) != 0) {
        reject_raw(c, status);
        return ONE_CLOSE;
    }
    if (framing.kind == HOST_BODY_LENGTH)
        req->content_length = framing.content_length;
    buf_consume(c, (size_t)head_len);

    /* 3. PREPROC_HEADERS, then route on what the filters left */
    isapi_rc rc = isapi_notify_preproc_headers(c->ic);
    if (rc != ISAPI_CONTINUE)
        return end_by_filter(c, rc);
    host_method_t method = host_method_classify(req->method ? req->method : "",
                                                req->method ? strlen(req->method) : 0);
    c->head_only = method == HOST_METHOD_HEAD;

    int keep = -1;
    rc = route_and_map(c, &status);
    if (rc == ISAPI_ERROR && status) {
        keep = respond_error(c, status);
        goto done;
    }
    if (rc != ISAPI_CONTINUE)
        return end_by_filter(c, rc);

    /* 4. AUTHENTICATION and AUTH_COMPLETE */
    parse_basic_credentials(req);
    rc = isapi_notify_authentication(c->ic);
    if (rc != ISAPI_CONTINUE)
        return end_by_filter(c, rc);
    char *url_before = NULL;
    isapi_str_set(&url_before, req->url, (size_t)-1);
    BOOL reset_auth = FALSE;
    rc = isapi_notify_auth_complete(c->ic, &reset_auth);
    if (rc != ISAPI_CONTINUE) {
        isapi_str_set(&url_before, NULL, 0);
        return end_by_filter(c, rc);
    }
    /* Why: IIS 6 lets AUTH_COMPLETE rewrite the url; a changed url is routed and mapped
     * again (reference 7.5), and authenticated again when the filter set fResetAuth
     * ("whether to reset auth if URL changed", httpfilt.h). */
    if (req->url && (!url_before || strcmp(url_before, req->url) != 0)) {
        isapi_str_set(&url_before, NULL, 0);
        if (reset_auth) {
            parse_basic_credentials(req);
            rc = isapi_notify_authentication(c->ic);
            if (rc != ISAPI_CONTINUE)
                return end_by_filter(c, rc);
        }
        rc = route_and_map(c, &status);
        if (rc == ISAPI_ERROR && status) {
            keep = respond_error(c, status);
            goto done;
        }
        if (rc != ISAPI_CONTINUE)
            return end_by_filter(c, rc);
    } else {
        isapi_str_set(&url_before, NULL, 0);
    }

    /* 5. the body, through READ_RAW_DATA */
    int bst = read_body(c, &framing, expect_continue);
    if (bst != 0) {
        if (bst > 0)
            respond_error(c, bst);
        finish_request(c, 1);
        return ONE_CLOSE;
    }

    /* 6. the static handler and the response */
    {
        host_body_t body = HOST_BODY_INIT;
        const char *physical = req->physical_path ? req->physical_path : "";
        char unmapped[HOST_PATH_BUF];
        if (PLAT_FILTER_PATHS_WIN32 && req->physical_path)
            physical = plat_path_from_filter(req->physical_path, unmapped, sizeof unmapped) < 0
                       ? "" : unmapped;
        host_static_respond(cfg, req, method, req->path ? req->path : "/", physical, &body);
        keep = send_response(c, &body);
        host_body_free(&body);
    }

done:
    finish_request(c, 1);
    return keep == 0 ? ONE_KEEP : ONE_CLOSE;
}

host_serve_result_t host_http1_serve(host_conn_t *c)
{
    for (;;) {
        if (c->expired) {
            /* Parked past its deadline: an idle keep-alive connection, or a request head
             * that did not arrive in time. */
            if (c->in_request && c->len > 0)
                reject_raw(c, 408);
            else if (c->in_request)
                finish_request(c, 0);
            return HOST_SERVE_CLOSE;
        }
        if (!c->in_request && atomic_load(&c->srv->stopping))
            return HOST_SERVE_CLOSE;
        int r = serve_one(c);
        if (r == ONE_PARK) {
            if (!c->in_request)
                c->deadline_ms = plat_time_mono_ms() + c->srv->cfg->keepalive_timeout_ms;
            return HOST_SERVE_PARK;
        }
        if (r == ONE_CLOSE)
            return HOST_SERVE_CLOSE;
        c->requests++;
        if (c->requests >= c->srv->cfg->max_requests_per_connection)
            return HOST_SERVE_CLOSE;
    }
}
