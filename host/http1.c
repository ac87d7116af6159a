/*
 * http1.c - HTTP/0.9, 1.0 and 1.1 on one connection, and the notification pipeline.
 *
 * host_http1_serve() runs on a worker thread and serves requests from the connection's
 * buffer until none is complete (the scheduler then parks the socket) or the connection
 * must close. A request runs through the pipeline, a table of named steps in IIS's
 * notification order (the `pipeline` table at the end of this file; docs/semantics.md):
 *
 *   read head (READ_RAW_DATA on every read) -> request model -> check head
 *   -> preproc headers (PREPROC_HEADERS) -> route (URL_MAP) -> authenticate
 *   (AUTHENTICATION) -> auth complete (AUTH_COMPLETE; a changed url goes back to route)
 *   -> select handler (an extension, a refusal or the static handler; host/route.c)
 *   -> read body (READ_RAW_DATA; an extension's read-ahead) -> handle (HttpExtensionProc,
 *   or the static file) -> respond ([ACCESS_DENIED],
 *   SEND_RESPONSE, SEND_RAW_DATA) -> end (END_OF_REQUEST, LOG, the W3C line)
 *
 * A child request (an extension's HSE_REQ_EXEC_URL) runs in the same pipeline, in place
 * of its parent: the parent's handler, body and request fields wait in a frame of the
 * request (exec_push), the child goes through URL_MAP, routing, handle, respond, send body
 * and flush (it parks like any response), and then the parent takes the request back and
 * its completion runs (child_end); END_OF_REQUEST and LOG fire once, for the client's
 * request.
 *
 * Each step returns one host_step_rc; after every notification one function,
 * after_notification(), turns the filters' result into the next move (go on, a filter
 * ended the request, a filter already sent its own header block), so the response a
 * filter started is never followed by a second header block of the server's.
 *
 * This file is the engine's "final writer": it alone knows the protocol. It serialises the
 * status line and headers once, after SEND_RESPONSE, and for an HTTP/0.9 request under the
 * strict policy it writes no header block at all: the request model says so
 * (has_header_block = 0), and every notification still fires on valid structures.
 *
 * Requests refused while parsing (400, 414, 431, 505, ...) are answered here directly, the
 * way HTTP.sys answers them before IIS's filters see a request: no notification fires for
 * them but READ_RAW_DATA (already run) and END_OF_NET_SESSION when the connection closes.
 *
 * Memory: every string of a request (its fields, both header lists, the error page, a
 * Location) comes from the request's arena and is freed once, when the request ends
 * (isapi.h). A failed allocation there sets the request's out-of-memory flag; the host's
 * own allocations set r->out_of_memory. The pipeline checks both after every step
 * (out_of_memory()): before the response a 500 replaces it, after that the connection
 * closes, and one log line names the step. So a call that adds a header needs no check of
 * its own, and no header or field can go missing unnoticed; the response builders check
 * the flag once more before a header block is serialised.
 */
#include "conn.h"
#include "fmt.h"
#include <httpext.h>
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "static.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX_HEADERS 256
#define HOST_READ_CHUNK 16384
#define HOST_SEND_CHUNK 65536
#define HOST_SMALL_FILE 8192    /* a file up to this size is read into a stack buffer */
#define HOST_PATH_BUF 4096
#define HOST_OUT_BUF 16384      /* the output buffer a connection starts with */
#define HOST_OUT_LOW 65536      /* a body is produced while less than this waits to go out */
#define HOST_OUT_HIGH (16u << 20) /* a filter's WriteClient beyond this waits for the client */
#define HOST_BLOCK_LOCAL 2048   /* a response header block up to this size needs no malloc */

/* ---- buffers ---------------------------------------------------------------------- */

/* Why spare buffers per thread: a connection gives its receive and output buffers back
 * whenever it parks empty (10,000 idle connections must stay cheap), and every keep-alive
 * request would then cost a 16 KiB malloc and free, with glibc consolidating its free
 * lists each time; the thread keeps the last buffers given back for the next connection
 * it serves. */
static _Thread_local char *spare_buf;
static _Thread_local char *spare_out;

void host_conn_buf_release(host_conn_t *c)
{
    if (c->buf) {
        if (c->cap == HOST_READ_CHUNK && !spare_buf)
            spare_buf = c->buf;
        else
            free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    if (c->out && c->out_sent == c->out_len) {
        if (c->out_cap == HOST_OUT_BUF && !spare_out)
            spare_out = c->out;
        else
            free(c->out);
        c->out = NULL;
        c->out_cap = c->out_len = c->out_sent = 0;
    }
}

void host_thread_buffers_free(void)
{
    free(spare_buf);
    spare_buf = NULL;
    free(spare_out);
    spare_out = NULL;
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

/* ---- receiving -------------------------------------------------------------------- */

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

/* Reads once, waiting up to timeout_ms for a byte (0: not at all), and runs READ_RAW_DATA
 * over the bytes; appends what the filters left to the buffer. READ_MORE: a filter asked
 * for more bytes (READ_NEXT) before it hands anything on. READ_TIMEOUT: nothing was
 * pending. */
static int read_filtered(host_conn_t *c, isapi_rc *filter_rc, int timeout_ms)
{
    char raw[HOST_READ_CHUNK];
    DWORD hint = isapi_next_read_size(c->ic);
    size_t want = hint && hint < sizeof raw ? hint : sizeof raw;
    ptrdiff_t n = plat_sock_recv(c->sock, raw, want, timeout_ms);
    /* Why: as nginx does, a receive that did not fill what it asked for has drained the
     * socket, so the next one would find nothing: park instead of trying. Unless the peer's
     * close was reported: its end of stream is still to be read. */
    c->may_have_data = n == (ptrdiff_t)want || c->peer_closed;
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
        if (buf_reserve(c, out_len) != 0) {
            host_log(HOST_LOG_ERROR, "out of memory for the receive buffer of %s port %s; "
                     "the connection closes", c->peer.addr, c->peer_port);
            return READ_FAIL;
        }
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

/* The time by which what the connection waits for must have moved on: the grace time
 * from the start of the body or response, plus the time its bytes so far earn at the
 * minimum rate (IIS's minBytesPerSecond). A client that trickles is cut off after the
 * grace time whatever each byte restarts; one that moves min_rate bytes a second never
 * is. With no minimum rate, grace_ms is a limit between two moves. */
static uint64_t rate_deadline(const host_conn_t *c, unsigned grace_ms)
{
    unsigned rate = c->srv->cfg->min_bytes_per_second;
    if (rate == 0)
        return plat_time_mono_ms() + grace_ms;
    return c->rate_start_ms + grace_ms + c->rate_bytes * 1000u / rate;
}

static void rate_begin(host_conn_t *c)
{
    c->rate_start_ms = plat_time_mono_ms();
    c->rate_bytes = 0;
}

static int out_reserve(host_conn_t *c, size_t extra)
{
    if (c->out_sent == c->out_len)
        c->out_sent = c->out_len = 0;
    if (c->out_len + extra <= c->out_cap)
        return 0;
    if (c->out_sent > 0) {
        memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
        c->out_len -= c->out_sent;
        c->out_sent = 0;
        if (c->out_len + extra <= c->out_cap)
            return 0;
    }
    if (!c->out && spare_out && extra <= HOST_OUT_BUF) {
        c->out = spare_out;
        c->out_cap = HOST_OUT_BUF;
        spare_out = NULL;
        return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : HOST_OUT_BUF;
    while (cap < c->out_len + extra)
        cap *= 2;
    char *nb = realloc(c->out, cap);
    if (!nb)
        return -1;
    c->out = nb;
    c->out_cap = cap;
    return 0;
}

static size_t out_pending(const host_conn_t *c)
{
    return c->out_len - c->out_sent;
}

/* Sends what the socket takes now. Returns 0 when nothing is left, 1 when bytes wait for
 * the socket, -1 when the connection failed. */
static int out_flush(host_conn_t *c)
{
    while (c->out_sent < c->out_len) {
        ptrdiff_t n = plat_sock_send_some(c->sock, c->out + c->out_sent,
                                          c->out_len - c->out_sent);
        if (n < 0)
            return -1;
        if (n == 0)
            return 1;
        c->out_sent += (size_t)n;
        c->rate_bytes += (uint64_t)n;
    }
    c->out_sent = c->out_len = 0;
    return 0;
}

/* Queues bytes that bypass the filters (an interim 100 Continue, a refusal). */
static int out_append(host_conn_t *c, const void *data, size_t len)
{
    if (out_reserve(c, len) != 0)
        return -1;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

/* A filter that writes a whole response itself with WriteClient ("HTTP/1.1 400 Bad
 * Request\r\n...") sets no status the server knows of; when those are the first bytes of
 * the request's output and the server is not writing a response of its own, their status
 * line gives the status the W3C log records. */
static void note_written_status(host_conn_t *c, const char *p, size_t len)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (!req || c->producing || req->bytes_sent != 0 || len < 12
        || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return;
    DWORD code = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return;
        code = code * 10 + (DWORD)(p[i] - '0');
    }
    req->status = code;
}

/* The engine's write op, after SEND_RAW_DATA: the bytes join the output queue. While the
 * server writes its own response they collect there and go out in as few sends as
 * possible; bytes a filter writes from its own notification (WriteClient is synchronous
 * in ISAPI) go out at once as far as the socket takes them. */
static DWORD op_write(void *host_conn, const void *data, size_t len)
{
    host_conn_t *c = host_conn;
    note_written_status(c, data, len);
    if (isapi_conn_writing_async(c->ic)) {
        /* An extension's asynchronous write, on the thread that serves the request: the
         * queue takes it whole, and the pipeline sends it and completes the write when it
         * has left (run_extension), parking while the client does not read. */
        if (out_append(c, data, len) != 0) {
            host_log(HOST_LOG_ERROR, "out of memory for the output of %s port %s; the "
                     "connection closes", c->peer.addr, c->peer_port);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        return 0;
    }
    /* Why: a filter's WriteClient cannot be suspended inside its own call. Up to
     * HOST_OUT_HIGH bytes wait in the queue and the connection parks later; beyond that
     * the filter's thread waits for the client, as IIS's thread does on a synchronous
     * write. While an extension's request is pending no step runs to send the queue
     * later: the calling thread (the extension's own) sends everything at once. */
    if (out_pending(c) + len > HOST_OUT_HIGH || atomic_load(&c->ext_pending)) {
        int timeout = (int)c->srv->cfg->send_timeout_ms;
        int rc = out_pending(c) ? plat_sock_send_all(c->sock, c->out + c->out_sent,
                                                     out_pending(c), timeout) : 0;
        if (rc == 0)
            rc = plat_sock_send_all(c->sock, data, len, timeout);
        if (rc != 0)
            return rc == PLAT_ETIMEDOUT ? ERROR_TIMEOUT : ERROR_NETNAME_DELETED;
        c->out_sent = c->out_len = 0;
        return 0;
    }
    if (out_append(c, data, len) != 0) {
        host_log(HOST_LOG_ERROR, "out of memory for the output of %s port %s; the connection "
                 "closes", c->peer.addr, c->peer_port);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    if ((!(c->producing || c->hold_output) || out_pending(c) >= HOST_OUT_LOW)
        && out_flush(c) < 0)
        return ERROR_NETNAME_DELETED;
    return 0;
}

/* Records that an allocation of the host's own failed: the pipeline answers it after the
 * step (out_of_memory()). */
static void note_no_memory(host_conn_t *c);
/* The connection closes after the request in the pipeline. */
static void request_must_close(host_conn_t *c);

/* "HTTP/1.x <status> <reason>\r\n", the protocol the connection's. */
static inline void put_status_line(host_out_t *o, const host_conn_t *c,
                                   const isapi_request *req, const char *reason,
                                   size_t reason_len)
{
    host_out_bytes(o, c->version == HOST_HTTP_11 ? "HTTP/1.1" : "HTTP/1.0", 8);
    host_out_char(o, ' ');
    host_out_u64(o, req->status);
    host_out_char(o, ' ');
    host_out_bytes(o, reason, reason_len);
    host_out_bytes(o, "\r\n", 2);
}

/* "Name: value\r\n". */
static inline void put_header_line(host_out_t *o, const char *name, size_t name_len,
                                   const char *value, size_t value_len)
{
    host_out_bytes(o, name, name_len);
    host_out_bytes(o, ": ", 2);
    host_out_bytes(o, value, value_len);
    host_out_bytes(o, "\r\n", 2);
}

/* Writes the status line, "Name: value\r\n" for every header, then the blank line, into
 * local (room bytes) when it fits, else into a malloc'ed block the caller frees when it is
 * not local. The block is sized from the lengths first and written with the bounded
 * writer (host/fmt.h), so a wrong size can only cut it: a cut block is never sent (NULL,
 * as when out of memory, which is noted for the pipeline). */
static char *serialize_block(host_conn_t *c, const isapi_request *req, size_t *out_len,
                             char *local, size_t room)
{
    const char *reason = req->reason ? req->reason : host_reason((int)req->status);
    size_t rl = strlen(reason);
    size_t need = 32 + rl;   /* protocol, space, up to 10 digits, space, reason, CRLF, CRLF */
    for (size_t i = 0; i < req->resp_headers.n; i++)
        need += isapi_header_name_len(&req->resp_headers.v[i])
                + strlen(req->resp_headers.v[i].value) + 4;
    char *b = need <= room ? local : malloc(need);
    if (!b) {
        note_no_memory(c);
        return NULL;
    }
    host_out_t o = host_out_make(b, need);
    put_status_line(&o, c, req, reason, rl);
    for (size_t i = 0; i < req->resp_headers.n; i++) {
        const isapi_header *h = &req->resp_headers.v[i];
        put_header_line(&o, h->name, isapi_header_name_len(h), h->value, strlen(h->value));
    }
    host_out_bytes(&o, "\r\n", 2);
    if (o.truncated) {
        if (b != local)
            free(b);
        return NULL;
    }
    *out_len = host_out_len(&o, b);
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

/* Makes the header list say "Connection: close" (replacing whatever a filter wrote). Like
 * every edit of the request's lists, a failure sets the request's out-of-memory flag. */
static void need_close_header(isapi_headers *h)
{
    const char *v = isapi_headers_find(h, "Connection");
    if (!v || strcmp(v, "close") != 0)
        isapi_headers_set(h, "Connection", "close");
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
    isapi_headers_reset(&req->resp_headers);
    standard_headers(c, req);
    if (added && *added)
        isapi_headers_parse_block(&req->resp_headers, added);
    if (extra && *extra)
        isapi_headers_parse_block(&req->resp_headers, extra);
    /* A header missing for lack of memory: the flag stays set and the pipeline answers
     * the request after the filter's notification. */
    if (isapi_request_out_of_memory(req))
        return ERROR_NOT_ENOUGH_MEMORY;
    isapi_rc rc = isapi_notify_send_response(ic);
    if (rc != ISAPI_CONTINUE)
        return ERROR_OPERATION_ABORTED;
    /* Why: the connection closes after a filter answered a request itself (see
     * filter_ended), so a "Connection: keep-alive" in the filter's text would be a lie. */
    if (c->version != HOST_HTTP_09)
        need_close_header(&req->resp_headers);
    if (isapi_request_out_of_memory(req))
        return ERROR_NOT_ENOUGH_MEMORY;
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

/* The extension operations (defined with the extension step, below). */
static DWORD op_read_client(void *host_conn, void *buf, DWORD *size);
static DWORD op_ext_send_header(void *host_conn, isapi_conn *ic, const char *headers,
                                int keep_conn);
static int op_is_connected(void *host_conn);
static DWORD op_map_url(void *host_conn, isapi_conn *ic, const char *url,
                        HSE_URL_MAPEX_INFO *info);
static void op_ext_wake(void *host_conn);

const isapi_ops host_http1_ops = {
    .write = op_write,
    .send_response_header = op_send_response_header,
    .log = NULL,
    .log_ctx = NULL,
    .read_client = op_read_client,
    .ext_send_header = op_ext_send_header,
    .is_connected = op_is_connected,
    .map_url = op_map_url,
    .ext_wake = op_ext_wake,
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

/* SEND_RESPONSE and the header block into the output queue, and the body when it is in
 * memory (an error page, a small file read by the handler). A file body stays in *body,
 * with *file_left set, for the send-body step. Returns 0 when the connection may be kept
 * after the response, -1 when it must close. A block that lacks a header for want of
 * memory is never sent: -1, nothing queued, and the out-of-memory flag stays set for the
 * pipeline (which answers 500 past the filters). */
static int start_response(host_conn_t *c, host_body_t *body, int *file_left)
{
    isapi_request *req = isapi_conn_request(c->ic);
    *file_left = 0;
    rate_begin(c);
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
    /* SEND_RESPONSE filters never see a block that lacks one of the server's headers. */
    if (isapi_request_out_of_memory(req))
        return -1;

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
    /* Why: a filter may have written "Connection: keep-alive" in SEND_RESPONSE while the
     * server is going to close; a client that believed it would send its next request
     * into a reset. The final writer states what it will do. */
    if (!keep && req->has_header_block && c->version != HOST_HTTP_09)
        need_close_header(&req->resp_headers);
    if (isapi_request_out_of_memory(req))
        return -1;

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
    } else if (body->file != PLAT_INVALID_FILE && body->length > 0) {
        *file_left = 1;
    }
    return keep ? 0 : -1;
}

/* A whole response of the server's own with a body in memory (error pages), into the
 * output queue. Returns 0 (keep) or -1 (close). */
static int send_response(host_conn_t *c, host_body_t *body)
{
    int file_left;
    c->producing = 1;
    int keep = start_response(c, body, &file_left);
    c->producing = 0;
    return file_left ? -1 : keep;
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

static const char *ext_log_text(const host_conn_t *c, DWORD *win32);

/* LOG (when notify) and the W3C line; then the request model is freed. */
static void log_request(host_conn_t *c, int notify)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (!req) {
        c->in_request = 0;
        return;
    }
    char stem[2048];
    const char *query;
    split_url(req->url, stem, sizeof stem, &query);
    /* Why: an extension's HSE_APPEND_LOG_PARAMETER text and lpszLogData go to the query
     * field (cs-uri-query), where IIS writes them. */
    DWORD ext_win32 = 0;
    const char *ext_text = ext_log_text(c, &ext_win32);
    char params[2048];
    if (ext_text) {
        snprintf(params, sizeof params, "%s%s", query, ext_text);
        query = params;
    }
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
        .dwWin32Status = isapi_conn_filter_error(c->ic) ? isapi_conn_filter_error(c->ic)
                                                         : ext_win32,
        .dwBytesSent = (DWORD)(req->bytes_sent > 0xffffffffu ? 0xffffffffu : req->bytes_sent),
        .dwBytesRecvd = (DWORD)(c->raw_bytes_in > 0xffffffffu ? 0xffffffffu : c->raw_bytes_in),
        .msTimeForProcessing = (DWORD)(plat_time_mono_ms() - c->request_start_ms),
    };
    if (notify)
        isapi_notify_log(c->ic, &log);
    /* The request ends below, and its out-of-memory flag with it: checked here. */
    if (isapi_request_out_of_memory(req)) {
        host_log(HOST_LOG_ERROR, "out of memory in the log step of a request from %s port %s; "
                 "the fields LOG filters set are empty in its log line, and the connection "
                 "closes", c->peer.addr, c->peer_port);
        request_must_close(c);
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
    host_metrics_request(req->status ? req->status : 200, req->bytes_sent, c->raw_bytes_in);
    isapi_request_end(c->ic);
    c->in_request = 0;
}

/* END_OF_REQUEST (when notify), LOG and the W3C line; then the request model is freed. */
static void finish_request(host_conn_t *c, int notify)
{
    if (notify && isapi_conn_request(c->ic))
        isapi_notify_end_of_request(c->ic);
    log_request(c, notify);
}

/* Queues a whole response of `status` with a small page and "Connection: close", past the
 * filters, built on the stack (it needs no memory but room in the output queue). Both parts
 * are built with the bounded writer: the page (its length is the Content-Length) first,
 * then the head and the page; a response that would not fit whole is not sent (the
 * connection closes all the same). Records the status and the bytes for the log. */
static void queue_raw_response(host_conn_t *c, int status)
{
    const char *reason = host_reason(status);
    char page[256], resp[1024];
    host_out_t pg = host_out_make(page, sizeof page);
    host_out_printf(&pg,
                    "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\r\n",
                    status, reason, status, reason);
    size_t page_len = host_out_len(&pg, page);
    host_out_t o = host_out_make(resp, sizeof resp);
    /* Why no Server header: no filter sees these responses, so a filter that removes
     * Server from every response (a common hardening filter) could not remove it here. */
    host_out_printf(&o, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/html\r\n"
                        "Content-Length: %lu\r\nConnection: close\r\n\r\n",
                    status, reason, date_now(), (unsigned long)page_len);
    host_out_bytes(&o, page, page_len);
    size_t n = pg.truncated || o.truncated ? 0 : host_out_len(&o, resp);
    if (n > 0 && out_append(c, resp, n) != 0) {
        host_log(HOST_LOG_ERROR, "out of memory queueing a %d response for %s port %s; the "
                 "connection closes without it", status, c->peer.addr, c->peer_port);
        n = 0;
    }
    isapi_request *req = isapi_conn_request(c->ic);
    if (req) {
        req->status = (DWORD)status;
        req->bytes_sent = n;
    }
}

/* Answers a request refused before the filters saw it, on the socket alone (through the
 * output queue, which the caller flushes), as HTTP.sys does. */
static void reject_raw(host_conn_t *c, int status)
{
    queue_raw_response(c, status);
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
    /* A filter that answered the denial itself (its own header block) leaves nothing
     * for the server to send. */
    if (rc != ISAPI_CONTINUE || isapi_conn_response_started(c->ic))
        return -1;
    host_body_t body = HOST_BODY_INIT;
    host_error_page(req, 401, &body);
    isapi_headers denial = { 0 };
    if (isapi_take_denial_headers(c->ic, &denial) != 0)
        note_no_memory(c);
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
 * anonymous. Returns 0, or -1 when out of memory (the request's flag is set). */
static int parse_basic_credentials(isapi_request *req)
{
    /* anonymous until the header says otherwise: the three share one empty string */
    char *none = NULL;
    if (isapi_str_set(req, &none, "", 0) != 0)
        return -1;
    req->auth_type = req->auth_user = req->auth_password = none;
    const char *v = isapi_headers_find(&req->headers, "Authorization");
    if (!v || strncmp(v, "Basic ", 6) != 0)
        return 0;
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
            return 0;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= sizeof dec)
                return 0;
            dec[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    dec[n] = '\0';
    char *colon = memchr(dec, ':', n);
    if (!colon || memchr(dec, '\0', n))
        return 0;
    *colon = '\0';
    if (isapi_str_set(req, &req->auth_type, "Basic", (size_t)-1) != 0
        || isapi_str_set(req, &req->auth_user, dec, (size_t)-1) != 0
        || isapi_str_set(req, &req->auth_password, colon + 1, (size_t)-1) != 0)
        return -1;
    return 0;
}

/* ---- routing ---------------------------------------------------------------------- */

/* Decodes the (possibly rewritten) url and raises URL_MAP. Returns ISAPI_CONTINUE with
 * req->path and req->physical_path set, a filter's result, or ISAPI_ERROR with *status
 * set for a refused path (or out of memory: the request's flag is set). */
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
    if (isapi_str_set(req, &req->path, path, (size_t)-1) != 0) {
        *status = 500;
        return ISAPI_ERROR;
    }

    char joined[HOST_PATH_BUF];
    host_vdir_match_t vd;
    if (host_route_map_path(c->srv->cfg, path, joined, HOST_PATH_BUF, &vd) < 0) {
        *status = 404;
        return ISAPI_ERROR;
    }
    char *phys = joined;
    DWORD matching = (DWORD)strlen(vd.folder);
    char converted[HOST_PATH_BUF];
    if (PLAT_FILTER_PATHS_WIN32) {
        /* Why: in the Winelib build the filters are Windows DLLs and expect the physical
         * path in Windows form (os.h); the static handler maps the result back. */
        char folder[HOST_PATH_BUF];
        int folder_len = plat_path_to_filter(vd.folder, folder, sizeof folder);
        if (folder_len < 0 || plat_path_to_filter(joined, converted, sizeof converted) < 0) {
            *status = 404;
            return ISAPI_ERROR;
        }
        phys = converted;
        matching = (DWORD)folder_len;
    }
    HTTP_FILTER_URL_MAP_EX map = {
        .pszURL = path,
        .pszPhysicalPath = phys,
        .cbPathBuff = HOST_PATH_BUF,
        .dwFlags = vd.access & HSE_URL_FLAGS_MASK,
        .cchMatchingPath = matching,
        .cchMatchingURL = vd.url_len ? (DWORD)vd.url_len : 1,
        .pszScriptMapEntry = NULL,
    };
    return isapi_notify_url_map(c->ic, &map);
}

/* ---- the pipeline ----------------------------------------------------------------- */

/* HSE_REQ_EXEC_URL: what a child request takes over from the request it interrupts, and
 * gives back when it ends (exec_push, exec_pop). */
typedef struct host_exec_frame {
    isapi_extension *ext;
    struct host_route *route;
    unsigned char *ahead;
    size_t ahead_len;
    int ext_keep_header;
    int64_t ext_length;
    int ext_self_framed;
    DWORD ext_win32;
    char *ext_log;
    int exec_entity;
    int method_kind;
    int head_only;
    char *method, *url, *path, *physical_path;
    isapi_headers headers;
    int own_headers;            /* the child has its own request headers (pszChildHeaders) */
    uint64_t content_length;
    int has_header_block;
} host_exec_frame_t;

/* The request while its steps run: what the parser found and what the steps decided,
 * kept in the connection across parks (a body read or a response sent a piece at a time);
 * what filters see and edit is the engine's request model (isapi_request). */
typedef struct host_req {
    host_request_line_t rl;
    host_header_t *hdrs;        /* the parsed headers: valid in the head steps only, which
                                   always run in one go (they point into c->buf) */
    size_t nh;
    size_t head_len;
    host_body_framing_t framing;
    int expect_continue;
    int body_started;
    uint64_t body_left;         /* HOST_BODY_LENGTH: bytes still to read */
    host_chunked_decoder_t chunked;
    host_method_t method;       /* classified again after PREPROC_HEADERS */
    int status;                 /* a refusal or error page to answer with; 0: the body */
    host_body_t body;           /* the handler's response body; a file is sent from here */
    int file_left;              /* the body's file still has bytes to send */
    isapi_rc filter_rc;         /* how a filter ended the request (STEP_FILTER_ENDED) */
    int rerouted;               /* AUTH_COMPLETE changed the url: routing runs again */
    BOOL reset_auth;            /* ... and asked for authentication again (fResetAuth) */
    const char *url_before_auth;  /* the url AUTH_COMPLETE was given (request memory) */
    int out_of_memory;          /* an allocation of the host's own failed (the request's
                                   strings have their own flag); out_of_memory() answers */
    int ended;                  /* END_OF_REQUEST has fired */
    int logged;                 /* LOG and the W3C line are done (a refusal logs at once) */
    int keep;                   /* after the response: 0 keep the connection, -1 close */

    /* an extension request (route.h, isapi_extension_run) */
    host_route_t *route;        /* the handler "select handler" chose (malloc'ed) */
    isapi_extension *ext;       /* the extension it runs, loaded */
    unsigned char *ahead;       /* the body read ahead (lpbData), malloc'ed */
    size_t ahead_len;
    size_t dechunked;           /* chunked body: decoded bytes waiting at buf[0] */
    int chunk_end;              /* chunked body: the last chunk was decoded */
    int body_done;              /* the whole body was read (or there is none) */
    int ext_keep_header;        /* the extension's header block said keep-alive */
    int64_t ext_length;         /* its Content-Length, or -1 */
    int ext_self_framed;        /* chunked or a status without a body */
    DWORD ext_win32;            /* sc-win32-status of a failed extension */
    char *ext_log;              /* HSE_APPEND_LOG_PARAMETER + lpszLogData, for the log
                                   (request memory) */
    int ext_pending;            /* HttpExtensionProc returned HSE_STATUS_PENDING and the
                                   session goes on: the handle step resumes it */

    uint64_t ext_deadline_ms;   /* the pending session's own time limit */
    int ext_io_expired;         /* parked for an asynchronous write past send_timeout, or
                                   for an asynchronous read past body_timeout */

    /* child requests (HSE_REQ_EXEC_URL): the requests they interrupted, innermost last */
    unsigned exec_depth;
    int exec_entity;            /* the child has a replacement body: ReadClient ends there */
    DWORD exec_error;           /* the child's output failed: the Win32 error it reports */
    /* Last, and not cleared between requests (req_reset): a frame is written whole when a
     * child starts (exec_push) and read only below exec_depth. Why: the eight frames are
     * most of the struct, and clearing them was a tenth of a small request's cost. */
    host_exec_frame_t exec_frames[ISAPI_EXEC_DEPTH_LIMIT];
} host_req_t;

/* What a step tells the pipeline. Every step returns one of these and nothing else. */
typedef enum host_step_rc {
    STEP_NEXT,          /* go on with the next step */
    STEP_ANSWERED,      /* an extension answered: END_OF_REQUEST, LOG; r->keep decides */
    STEP_ROUTE_AGAIN,   /* back to the routing step (AUTH_COMPLETE changed the url) */
    STEP_RESPOND,       /* the response is decided (r->status or r->body): send it */
    STEP_FILTER_ENDED,  /* a filter ended the request (r->filter_rc): FINISHED, ERROR, or
                           it sent its own header block */
    STEP_REFUSE,        /* refused before any filter saw the request: r->status on the
                           socket alone, as HTTP.sys answers; then close */
    STEP_ABORT,         /* the request ends with no response (the client went away, a
                           raw-data filter answered): END_OF_REQUEST, LOG, close */
    STEP_DONE,          /* the request is over: keep the connection when r->keep == 0 */
    STEP_PARK,          /* no complete request head, or a body waits for bytes: wait for
                           the socket to be readable, then run this step again */
    STEP_WAIT_WRITE,    /* the response waits for the client to read: wait for the socket
                           to be writable, then run this step again */
    STEP_CHILD,         /* an extension's child request (HSE_REQ_EXEC_URL) is set up:
                           its handler runs next; when it ends, the parent resumes */
    STEP_EXT_PENDING,   /* an extension's request is pending (HSE_STATUS_PENDING): no
                           thread waits for it; when its session has work (ext_wake) the
                           connection is served again and this step runs again */
    STEP_CLOSE          /* the connection ends between requests */
} host_step_rc;

/* One function decides after every notification (nginx's phase checker). */
static host_step_rc after_notification(host_conn_t *c, host_req_t *r, isapi_rc rc)
{
    switch (rc) {
    case ISAPI_CONTINUE:
        /* Why: a filter that sent its own header block (SF_REQ_SEND_RESPONSE_HEADER,
         * with its body by WriteClient) and then returned NEXT_NOTIFICATION has answered
         * the request; a response of the server's own would put a second status line on
         * the wire after the filter's body. IIS documents the call as once per request. */
        if (isapi_conn_response_started(c->ic)) {
            r->filter_rc = ISAPI_FINISHED;
            return STEP_FILTER_ENDED;
        }
        return STEP_NEXT;
    case ISAPI_FINISHED:
    case ISAPI_FINISHED_KEEP_CONN:
    case ISAPI_ERROR:
        r->filter_rc = rc;
        return STEP_FILTER_ENDED;
    case ISAPI_READ_NEXT:
    default:
        r->filter_rc = ISAPI_ERROR;   /* READ_NEXT means nothing outside READ_RAW_DATA */
        return STEP_FILTER_ENDED;
    }
}

static void note_no_memory(host_conn_t *c)
{
    if (c->req)
        c->req->out_of_memory = 1;
}

static void request_must_close(host_conn_t *c)
{
    if (c->req)
        c->req->keep = -1;
}

/* Step: the request head. READ_RAW_DATA runs over every read (the parser works on what
 * the filters left); nothing is waited for: with nothing pending the socket goes back to
 * the poller and its worker serves another connection meanwhile. */
static host_step_rc step_read_head(host_conn_t *c, host_req_t *r)
{
    for (;;) {
        if (c->len > 0) {
            int status = 0;
            r->nh = HOST_MAX_HEADERS;
            int head_len = host_parse_request(c->buf, c->len, &r->rl, r->hdrs, &r->nh,
                                              c->parse_last_len, &c->srv->limits, &status);
            if (head_len > 0) {
                c->parse_last_len = 0;
                /* Why: a pipelined request that arrived in the same read as the one before
                 * it had no READ_RAW_DATA of its own, so nothing began its request model
                 * yet (its bytes were counted with the request they arrived with). */
                begin_request_if_needed(c);
                r->head_len = (size_t)head_len;
                return STEP_NEXT;
            }
            if (head_len == HOST_PARSE_ERROR) {
                c->parse_last_len = 0;
                begin_request_if_needed(c);
                r->status = status;
                return STEP_REFUSE;
            }
            c->parse_last_len = c->len;
        }
        /* Why: a client trickling its head byte by byte is readable often enough never to
         * sit parked when the poller sweeps deadlines, so the worker checks it too. */
        if (c->in_request && plat_time_mono_ms() >= c->deadline_ms) {
            r->status = 408;
            return STEP_REFUSE;
        }
        if (!c->may_have_data)
            return STEP_PARK;
        isapi_rc frc = ISAPI_CONTINUE;
        int got = read_filtered(c, &frc, 0);
        if (got == READ_TIMEOUT) {
            c->may_have_data = 0;
            return STEP_PARK;
        }
        if (got == READ_OK || got == READ_MORE)
            continue;
        if (got == READ_FILTER_DONE) {
            /* A raw-data filter answered (or refused) the request itself. */
            if (frc == ISAPI_ERROR && isapi_conn_request(c->ic)->bytes_sent == 0) {
                r->status = 400;
                return STEP_REFUSE;
            }
            return STEP_ABORT;
        }
        return STEP_CLOSE;   /* end of stream or a socket error */
    }
}

/* Step: the request model the filters see, from the parsed head. */
static host_step_rc step_request_model(host_conn_t *c, host_req_t *r)
{
    const host_request_line_t *rl = &r->rl;
    isapi_request *req = isapi_conn_request(c->ic);
    c->version = rl->version;
    c->head_only = rl->method_id == HOST_METHOD_HEAD;
    /* A failure sets the request's out-of-memory flag: the pipeline answers 500. */
    isapi_str_set(req, &req->method, rl->method.base, rl->method.len);
    isapi_str_set(req, &req->url, rl->target.base, rl->target.len);
    if (req->url)
        host_worker_note_url(req->url);
    if (rl->version == HOST_HTTP_09)
        isapi_str_set(req, &req->version, "HTTP/0.9", (size_t)-1);
    else
        isapi_str_set(req, &req->version, rl->version_token.base, rl->version_token.len);
    for (size_t i = 0; i < r->nh; i++)
        isapi_headers_add(&req->headers, r->hdrs[i].name.base, r->hdrs[i].name.len,
                          r->hdrs[i].value.base, r->hdrs[i].value.len);
    /* Why: RFC 1945 and IIS 7 answer a simple request with the body alone; the http10
     * policy answers it as IIS 6 did, with an HTTP/1.0 status line and headers. */
    req->has_header_block = rl->version != HOST_HTTP_09
                            || c->srv->cfg->http09 == HOST_HTTP09_HTTP10;
    c->keep_alive = host_request_keep_alive(rl, r->hdrs, r->nh);
    /* Why only now, as nginx does: Nagle's algorithm can hold back the tail of a response
     * only while the connection stays open for the next one; a connection that closes
     * after its response flushes everything at the close, and is spared the call. */
    if (c->keep_alive && !c->nodelay) {
        plat_sock_set_nodelay(c->sock, 1);
        c->nodelay = 1;
    }
    return STEP_NEXT;
}

/* Step: what HTTP.sys refuses before IIS's filters see a request: the Host header, the
 * body's framing, Expect. */
static host_step_rc step_check_head(host_conn_t *c, host_req_t *r)
{
    const host_request_line_t *rl = &r->rl;
    /* RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host header, and no
     * request an invalid one; HTTP.sys answers 400, before any filter sees the request. */
    if (host_parse_host(rl, r->hdrs, r->nh, &r->status) != 0)
        return STEP_REFUSE;
    if (host_parse_body_framing(rl, r->hdrs, r->nh, c->srv->cfg->max_body, &r->framing,
                                &r->status) != 0
        || host_parse_expect(rl, r->hdrs, r->nh, &r->expect_continue, &r->status) != 0)
        return STEP_REFUSE;
    if (r->framing.kind == HOST_BODY_LENGTH)
        isapi_conn_request(c->ic)->content_length = r->framing.content_length;
    buf_consume(c, r->head_len);
    return STEP_NEXT;
}

/* Step: SF_NOTIFY_PREPROC_HEADERS; routing then uses the method and url the filters
 * left. */
static host_step_rc step_preproc_headers(host_conn_t *c, host_req_t *r)
{
    host_step_rc next = after_notification(c, r, isapi_notify_preproc_headers(c->ic));
    isapi_request *req = isapi_conn_request(c->ic);
    r->method = host_method_classify(req->method ? req->method : "",
                                     req->method ? strlen(req->method) : 0);
    c->head_only = r->method == HOST_METHOD_HEAD;
    return next;
}

/* Step: the url decoded into the path the server routes on, then SF_NOTIFY_URL_MAP. */
static host_step_rc step_route(host_conn_t *c, host_req_t *r)
{
    int status = 0;
    isapi_rc rc = route_and_map(c, &status);
    if (rc == ISAPI_ERROR && status) {
        r->status = status;
        return STEP_RESPOND;
    }
    return after_notification(c, r, rc);
}

/* Step: SF_NOTIFY_AUTHENTICATION with the Basic credentials, or anonymous. After a
 * rerouting it runs again only when AUTH_COMPLETE set fResetAuth. */
static host_step_rc step_authenticate(host_conn_t *c, host_req_t *r)
{
    if (r->rerouted && !r->reset_auth)
        return STEP_NEXT;
    parse_basic_credentials(isapi_conn_request(c->ic));
    return after_notification(c, r, isapi_notify_authentication(c->ic));
}

/* Step: SF_NOTIFY_AUTH_COMPLETE. Why: IIS 6 lets it rewrite the url; a changed url is
 * routed and mapped again (docs/isapi-reference.md, "When request-header edits take
 * effect"), and authenticated again when the filter set fResetAuth ("whether to reset
 * auth if URL changed", httpfilt.h). It fires once per request. */
static host_step_rc step_auth_complete(host_conn_t *c, host_req_t *r)
{
    if (r->rerouted)
        return STEP_NEXT;
    isapi_request *req = isapi_conn_request(c->ic);
    /* No copy: a url a filter replaces stays in the request's memory until the request
     * ends ("freed once"), and nothing edits it in place. */
    r->url_before_auth = req->url;
    host_step_rc next = after_notification(c, r,
                                           isapi_notify_auth_complete(c->ic, &r->reset_auth));
    if (next != STEP_NEXT)
        return next;
    if (req->url && (!r->url_before_auth || strcmp(r->url_before_auth, req->url) != 0)) {
        r->rerouted = 1;
        return STEP_ROUTE_AGAIN;
    }
    return STEP_NEXT;
}

/* ---- extensions --------------------------------------------------------------------- */

/* Step: which handler the request reaches (route.h): an extension, loaded here (a DLL
 * named in a URL on its first use, once), a refusal, or the static handler. Runs after
 * AUTH_COMPLETE, on the url the filters left, and again after a rerouting. */
static host_step_rc step_select_handler(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    r->ext = NULL;
    if (!r->route && !(r->route = malloc(sizeof *r->route))) {
        r->out_of_memory = 1;
        return STEP_NEXT;
    }
    host_route_select(c->srv->cfg, req->method ? req->method : "", req->path ? req->path : "/",
                      r->route);
    if (r->route->handler != HOST_HANDLER_EXTENSION)
        return STEP_NEXT;
    char err[1024];
    if (isapi_engine_load_extension(c->srv->engine, r->route->dll, &r->ext, err,
                                    sizeof err) != 0) {
        host_log(HOST_LOG_ERROR, "%s; %s %s answered 500", err, req->method ? req->method : "",
                 req->path ? req->path : "");
        r->status = 500;
        return STEP_RESPOND;
    }
    return STEP_NEXT;
}

/* Moves up to cap bytes of the request body, decoded, from the receive buffer to dst (or
 * drops them when dst is NULL: a body no handler reads), never past the body's end (what
 * follows is the next request). Returns the count, or -1 for a malformed chunked body
 * (r->status set). Sets r->body_done at the end. The one body reader: the read step, an
 * extension's read-ahead and its ReadClient all come here. */
static ptrdiff_t body_take(host_conn_t *c, host_req_t *r, void *dst, size_t cap)
{
    if (r->body_done)
        return 0;
    if (r->framing.kind == HOST_BODY_NONE) {
        r->body_done = 1;
        return 0;
    }
    if (r->framing.kind == HOST_BODY_LENGTH) {
        size_t take = c->len < r->body_left ? c->len : (size_t)r->body_left;
        if (take > cap)
            take = cap;
        if (take > 0 && dst)   /* (c->buf may not exist yet) */
            memcpy(dst, c->buf, take);
        buf_consume(c, take);
        r->body_left -= take;
        c->rate_bytes += take;
        if (r->body_left == 0)
            r->body_done = 1;
        return (ptrdiff_t)take;
    }
    if (!r->chunk_end && c->len > r->dechunked) {
        size_t decoded = 0, consumed = 0;
        int st = 0;
        char *raw = c->buf + r->dechunked;
        size_t raw_len = c->len - r->dechunked;
        int rc = host_chunked_decode(&r->chunked, raw, raw_len, &decoded, &consumed, &st);
        if (rc == HOST_PARSE_ERROR) {
            r->status = st;
            return -1;
        }
        /* decoded bytes now at raw[0..decoded); the undecoded rest follows them */
        memmove(raw + decoded, raw + consumed, raw_len - consumed);
        c->len -= consumed - decoded;
        r->dechunked += decoded;
        c->rate_bytes += consumed;
        if (rc == 0)
            r->chunk_end = 1;
    }
    size_t take = r->dechunked < cap ? r->dechunked : cap;
    if (take > 0) {
        if (dst)
            memcpy(dst, c->buf, take);
        buf_consume(c, take);
    }
    r->dechunked -= take;
    if (r->chunk_end && r->dechunked == 0) {
        r->body_done = 1;
        isapi_conn_request(c->ic)->content_length = r->chunked.total;
    }
    return (ptrdiff_t)take;
}

/* The interim 100 Continue, written directly (docs/semantics.md). Returns 0, or -1 when
 * the connection must end (the client is gone, or no memory for the queue: logged). */
static int send_continue(host_conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (out_append(c, cont, sizeof cont - 1) != 0) {
        host_log(HOST_LOG_ERROR, "out of memory queueing 100 Continue for %s port %s; the "
                 "connection closes", c->peer.addr, c->peer_port);
        return -1;
    }
    return out_flush(c) < 0 ? -1 : 0;
}

/* The start of a request body's reading, once: its framing state and the data-rate clock
 * (min_bytes_per_second). */
static void body_begin(host_conn_t *c, host_req_t *r)
{
    r->body_started = 1;
    r->body_left = r->framing.content_length;
    host_chunked_init(&r->chunked, c->srv->cfg->max_body);
    rate_begin(c);
    if (r->framing.kind == HOST_BODY_NONE)
        r->body_done = 1;
}

/* The read-ahead of an extension request: up to upload_read_ahead body bytes, through
 * READ_RAW_DATA, before HttpExtensionProc runs (IIS's UploadReadAheadSize); the
 * connection parks while they have not arrived. */
static host_step_rc read_ahead(host_conn_t *c, host_req_t *r)
{
    const host_config_t *cfg = c->srv->cfg;
    if (!r->body_started) {
        body_begin(c, r);
        uint64_t want = cfg->upload_read_ahead;
        if (r->framing.kind == HOST_BODY_LENGTH && r->framing.content_length < want)
            want = r->framing.content_length;
        if (!r->body_done && want > 0 && !(r->ahead = malloc((size_t)want))) {
            r->out_of_memory = 1;
            return STEP_NEXT;
        }
        if (r->expect_continue && c->len == 0 && !r->body_done
            && send_continue(c) != 0)
            return STEP_ABORT;
    }
    uint64_t limit = cfg->upload_read_ahead;
    if (r->framing.kind == HOST_BODY_LENGTH && r->framing.content_length < limit)
        limit = r->framing.content_length;
    for (;;) {
        if (r->ahead_len < limit) {
            ptrdiff_t n = body_take(c, r, r->ahead + r->ahead_len, (size_t)limit - r->ahead_len);
            if (n < 0) {
                c->keep_alive = 0;
                return STEP_RESPOND;
            }
            r->ahead_len += (size_t)n;
        }
        if (r->body_done || r->ahead_len >= limit)
            return STEP_NEXT;
        if (!c->may_have_data) {
            c->deadline_ms = rate_deadline(c, cfg->body_timeout_ms);
            return STEP_PARK;
        }
        isapi_rc frc = ISAPI_CONTINUE;
        int got = read_filtered(c, &frc, 0);
        if (got == READ_TIMEOUT)
            c->may_have_data = 0;
        else if (got != READ_OK && got != READ_MORE)
            return STEP_ABORT;
    }
}

/* ReadClient: the body after the read-ahead. Why it waits on the worker: ReadClient is
 * synchronous in ISAPI, the extension's thread waits as IIS's does (at most
 * body_timeout). */
static DWORD op_read_client(void *host_conn, void *buf, DWORD *size)
{
    host_conn_t *c = host_conn;
    host_req_t *r = c->req;
    if (r->exec_entity) {
        *size = 0;   /* a child's replacement body is all in lpbData */
        return 0;
    }
    for (;;) {
        ptrdiff_t n = body_take(c, r, buf, *size);
        if (n < 0) {
            *size = 0;
            c->keep_alive = 0;
            return ERROR_INVALID_DATA;
        }
        if (n > 0 || r->body_done) {
            *size = (DWORD)n;
            return 0;
        }
        /* A header block held back for the body goes out before the wait: the client
         * may wait for it before it sends the rest of its body. */
        if (out_pending(c))
            out_flush(c);
        isapi_rc frc = ISAPI_CONTINUE;
        int got = read_filtered(c, &frc, (int)c->srv->cfg->body_timeout_ms);
        if (got == READ_OK || got == READ_MORE)
            continue;
        c->keep_alive = 0;
        r->body_done = 1;   /* nothing more will come: later calls answer at once */
        *size = 0;
        /* Why TRUE with 0 bytes when the client closed: IIS's ReadClient documents it. */
        if (got == READ_EOF)
            return 0;
        return got == READ_TIMEOUT ? ERROR_TIMEOUT : ERROR_NETNAME_DELETED;
    }
}

/* HSE_REQ_ASYNC_READ_CLIENT, on the thread that serves the request: up to `size` body
 * bytes from what has arrived, through READ_RAW_DATA as ReadClient reads, without waiting
 * for the client. Returns 1 when the read is over (*got bytes, 0 at the end of the body,
 * or *error), 0 when nothing has arrived: the connection parks until the socket is
 * readable, at most body_timeout (and the minimum rate), and this runs again. */
static int ext_read_some(host_conn_t *c, host_req_t *r, void *buf, DWORD size, DWORD *got,
                         DWORD *error)
{
    *got = 0;
    *error = 0;
    if (r->exec_entity)
        return 1;   /* a child's replacement body is all in lpbData */
    if (r->ext_io_expired) {
        r->ext_io_expired = 0;
        host_log(HOST_LOG_WARN, "%s port %s: an asynchronous read of %s failed (the client "
                 "sent no body bytes within body_timeout); the request fails",
                 c->peer.addr, c->peer_port, isapi_extension_path(r->ext));
        c->keep_alive = 0;
        r->body_done = 1;   /* nothing more will come: later reads answer at once */
        *error = ERROR_TIMEOUT;
        return 1;
    }
    for (;;) {
        ptrdiff_t n = body_take(c, r, buf, size);
        if (n < 0) {
            c->keep_alive = 0;
            r->body_done = 1;
            *error = ERROR_INVALID_DATA;
            return 1;
        }
        if (n > 0 || r->body_done) {
            *got = (DWORD)n;
            return 1;
        }
        /* A header block held back for the body goes out before the wait: the client
         * may wait for it before it sends the rest of its body. */
        if (out_pending(c))
            out_flush(c);
        if (!c->may_have_data) {
            c->deadline_ms = rate_deadline(c, c->srv->cfg->body_timeout_ms);
            return 0;
        }
        isapi_rc frc = ISAPI_CONTINUE;
        int rd = read_filtered(c, &frc, 0);
        if (rd == READ_TIMEOUT) {
            c->may_have_data = 0;
            continue;
        }
        if (rd == READ_OK || rd == READ_MORE)
            continue;
        /* Why an error where ReadClient answers TRUE with 0 bytes: a completion of 0
         * bytes without an error is the end of the body, which the client's close before
         * it is not; the request cannot go on (the connection closes). */
        host_log(HOST_LOG_WARN, "%s port %s: an asynchronous read of %s failed (%s); the "
                 "request fails", c->peer.addr, c->peer_port, isapi_extension_path(r->ext),
                 rd == READ_EOF ? "the client closed before the end of the body"
                 : rd == READ_FILTER_DONE ? "a READ_RAW_DATA filter ended the request"
                 : "the connection failed");
        c->keep_alive = 0;
        r->body_done = 1;
        *error = ERROR_NETNAME_DELETED;
        return 1;
    }
}

/* HSE_REQ_IS_CONNECTED: a receive that does not wait; what it reads joins the buffer
 * (the body or the next request), so nothing is lost. */
static int op_is_connected(void *host_conn)
{
    host_conn_t *c = host_conn;
    if (isapi_conn_must_close(c->ic))
        return 0;
    isapi_rc frc = ISAPI_CONTINUE;
    int got = read_filtered(c, &frc, 0);
    if (got == READ_EOF) {
        c->peer_closed = 1;
        c->keep_alive = 0;
        return 0;
    }
    return got != READ_FAIL;
}

/* The value of a Content-Length header (may be NULL) as a number, or -1. */
static int64_t parse_content_length(const char *v)
{
    if (!v || *v < '0' || *v > '9')
        return -1;
    int64_t n = 0;
    for (; *v >= '0' && *v <= '9'; v++) {
        if (n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*v - '0');
    }
    while (*v == ' ' || *v == '\t')
        v++;
    return *v ? -1 : n;
}

/* The response headers an extension's framing and keep-alive depend on, looked up together
 * in one walk of the list (isapi_headers_find_each). */
enum { FRAME_LENGTH, FRAME_TE, FRAME_CONNECTION, FRAME_COUNT };
static const char *const frame_names[FRAME_COUNT] = { "Content-Length", "Transfer-Encoding",
                                                      "Connection" };

/* The keep-alive decision for an extension's header block, as IIS 6 makes it: the client
 * allows it, the extension offered to frame its response (fKeepConn), the headers frame it
 * (Content-Length, its own chunking, or a status without a body), and nobody said close.
 * `frame` holds the values of frame_names. */
static int ext_header_keep(host_conn_t *c, const isapi_request *req, int keep_conn,
                           const char *const *frame)
{
    const char *te = frame[FRAME_TE], *conn = frame[FRAME_CONNECTION];
    int framed = parse_content_length(frame[FRAME_LENGTH]) >= 0
                 || (te && has_token(te, "chunked") && c->version == HOST_HTTP_11)
                 || req->status == 204 || req->status == 304 || req->status < 200;
    return c->keep_alive && keep_conn && framed && req->has_header_block
           && !(conn && has_token(conn, "close")) && !atomic_load(&c->srv->stopping)
           && c->requests + 1 < c->srv->cfg->max_requests_per_connection;
}

/* The framing of an extension's response (r->ext_*) from the keep-alive decision and its
 * framing headers' values. */
static void note_ext_framing(host_req_t *r, const isapi_request *req, int keep,
                             const char *const *frame)
{
    const char *te = frame[FRAME_TE];
    r->ext_keep_header = keep;
    r->ext_length = parse_content_length(frame[FRAME_LENGTH]);
    r->ext_self_framed = (te && has_token(te, "chunked")) || req->status == 204
                         || req->status == 304 || req->status < 200;
}

/* Sends a serialised header block, held back for the extension's first body bytes. Why
 * held back: the block then leaves with them in one send (a small answer was two TCP
 * segments, two wakeups of the client); the next write, a ReadClient that must wait for
 * the client, or the end of the request sends it. */
static DWORD send_ext_block(host_conn_t *c, isapi_conn *ic, const char *block, size_t len)
{
    c->hold_output = 1;
    isapi_rc rc = isapi_send(ic, isapi_origin_host(), block, len);
    c->hold_output = 0;
    return rc == ISAPI_CONTINUE ? 0 : ERROR_NETNAME_DELETED;
}

/* One line of an extension's header text, parsed in place as isapi_headers_parse_block()
 * parses it (the value without the white space around it). */
typedef struct ext_line {
    const char *name, *value;
    size_t nlen, vlen;
    int kind;               /* EXT_LINE_* */
} ext_line;

enum { EXT_LINE_OTHER, EXT_LINE_SERVER, EXT_LINE_DATE, EXT_LINE_LENGTH, EXT_LINE_TE,
       EXT_LINE_CONNECTION };
#define EXT_DIRECT_LINES 32     /* more lines than this take the list path */
#define EXT_DIRECT_DECLINED ((DWORD)-1)

static int ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return 0;
    return 1;
}

static int ext_line_kind(const char *name, size_t n)
{
    static const struct { const char *name; size_t len; int kind; } known[] = {
        { "Server", 6, EXT_LINE_SERVER },           { "Date", 4, EXT_LINE_DATE },
        { "Content-Length", 14, EXT_LINE_LENGTH },  { "Transfer-Encoding", 17, EXT_LINE_TE },
        { "Connection", 10, EXT_LINE_CONNECTION },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].len == n && ascii_ieq(name, known[i].name, n))
            return known[i].kind;
    return EXT_LINE_OTHER;
}

/* An extension's header block when no filter can read or change it (none sees
 * SEND_RESPONSE, none added headers): written straight from the extension's checked text,
 * as nginx writes a header in one pass, where the list path parses it into the response
 * list and copies it out again (a sixteenth of a small extension request's instructions,
 * docs/performance.md). The bytes
 * are the list path's: Server and Date first unless the extension wrote its own, its lines
 * in order with their values trimmed, a corrected Connection in place of the first one (or
 * last when it had none). Returns EXT_DIRECT_DECLINED, having changed nothing, for a block
 * this path does not take (many lines, long framing values): the list path serves it. */
static DWORD ext_header_direct(host_conn_t *c, isapi_conn *ic, const char *headers,
                               int keep_conn)
{
    host_req_t *r = c->req;
    isapi_request *req = isapi_conn_request(ic);
    ext_line line[EXT_DIRECT_LINES];
    size_t n = 0, text_len = 0;
    int theirs_server = 0, theirs_date = 0;
    /* the first instance of each framing header, terminated for the parsers */
    char frame_text[FRAME_COUNT][64];
    const char *frame[FRAME_COUNT] = { NULL, NULL, NULL };
    for (const char *p = headers; *p;) {
        size_t len = strcspn(p, "\r\n");
        if (len == 0)
            break;
        const char *colon = memchr(p, ':', len);
        if (!colon || colon == p || n == EXT_DIRECT_LINES)
            return EXT_DIRECT_DECLINED;
        const char *v = colon + 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        ext_line *l = &line[n++];
        *l = (ext_line){ p, v, (size_t)(colon - p), (size_t)(end - v), 0 };
        l->kind = ext_line_kind(l->name, l->nlen);
        theirs_server |= l->kind == EXT_LINE_SERVER;
        theirs_date |= l->kind == EXT_LINE_DATE;
        int f = l->kind == EXT_LINE_LENGTH ? FRAME_LENGTH : l->kind == EXT_LINE_TE ? FRAME_TE
                : l->kind == EXT_LINE_CONNECTION ? FRAME_CONNECTION : -1;
        if (f >= 0 && !frame[f]) {
            if (l->vlen >= sizeof frame_text[f])
                return EXT_DIRECT_DECLINED;
            memcpy(frame_text[f], l->value, l->vlen);
            frame_text[f][l->vlen] = '\0';
            frame[f] = frame_text[f];
        }
        text_len += l->nlen + l->vlen + 4;
        p += len;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    int keep = ext_header_keep(c, req, keep_conn, frame);
    /* the same corrections as the list path's, in the same order */
    const char *conn_value = NULL;
    if (req->has_header_block && c->version == HOST_HTTP_10 && keep)
        conn_value = "keep-alive";
    else if (!keep && req->has_header_block && c->version != HOST_HTTP_09
             && !(frame[FRAME_CONNECTION] && strcmp(frame[FRAME_CONNECTION], "close") == 0))
        conn_value = "close";
    isapi_headers_reset(&req->resp_headers);
    if (isapi_notify_send_response(ic) != ISAPI_CONTINUE)
        return ERROR_OPERATION_ABORTED;
    note_ext_framing(r, req, keep, frame);
    if (!req->has_header_block)
        return 0;   /* HTTP/0.9 under the strict policy: no header block at all */

    const char *reason = req->reason ? req->reason : host_reason((int)req->status);
    const char *server = c->srv->cfg->server_software, *date = date_now();
    size_t reason_len = strlen(reason);
    size_t need = 32 + reason_len + strlen(server) + strlen(date) + 16 + text_len
                  + sizeof "Connection: keep-alive\r\n";
    char local[HOST_BLOCK_LOCAL];
    char *block = need <= sizeof local ? local : malloc(need);
    if (!block) {
        note_no_memory(c);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    host_out_t o = host_out_make(block, need);
    put_status_line(&o, c, req, reason, reason_len);
    if (!theirs_server)
        put_header_line(&o, "Server", 6, server, strlen(server));
    if (!theirs_date)
        put_header_line(&o, "Date", 4, date, strlen(date));
    int conn_written = 0;
    for (size_t i = 0; i < n; i++) {
        const ext_line *l = &line[i];
        const char *v = l->value;
        size_t vlen = l->vlen;
        if (l->kind == EXT_LINE_CONNECTION && conn_value) {
            if (conn_written)
                continue;   /* the later instances go, as isapi_headers_set drops them */
            v = conn_value;
            vlen = strlen(conn_value);
            conn_written = 1;
        }
        put_header_line(&o, l->name, l->nlen, v, vlen);
    }
    if (conn_value && !conn_written)
        put_header_line(&o, "Connection", 10, conn_value, strlen(conn_value));
    host_out_bytes(&o, "\r\n", 2);
    DWORD err = o.truncated ? ERROR_NOT_ENOUGH_MEMORY
                            : send_ext_block(c, ic, block, host_out_len(&o, block));
    if (o.truncated)
        note_no_memory(c);
    if (block != local)
        free(block);
    return err;
}

static DWORD op_ext_send_header(void *host_conn, isapi_conn *ic, const char *headers,
                                int keep_conn)
{
    host_conn_t *c = host_conn;
    host_req_t *r = c->req;
    isapi_request *req = isapi_conn_request(ic);
    isapi_headers *rh = &req->resp_headers;
    if (!isapi_conn_sees_send_response(ic) && !isapi_conn_has_added_headers(ic)) {
        DWORD direct = ext_header_direct(c, ic, headers, keep_conn);
        if (direct != EXT_DIRECT_DECLINED)
            return direct;
    }
    /* Why: IIS puts Server and Date first, and not twice when the extension wrote its own
     * (IIRF sends its own Date). The extension's lines go straight into the response list
     * after the two, which are taken out again when it has its own. */
    isapi_headers_reset(rh);
    isapi_headers_add(rh, "Server", 6, c->srv->cfg->server_software, (size_t)-1);
    isapi_headers_add(rh, "Date", 4, date_now(), (size_t)-1);
    /* A header missing for lack of memory: the extension's call fails, and the pipeline
     * answers once HttpExtensionProc returned. */
    if (isapi_request_out_of_memory(req))
        return ERROR_NOT_ENOUGH_MEMORY;
    if (isapi_headers_parse_block(rh, headers) == -1) {
        note_no_memory(c);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    static const char *const standard_names[2] = { "Server", "Date" };
    const char *theirs[2];
    isapi_headers_find_each(rh, 2, standard_names, 2, theirs);
    if (theirs[1])
        isapi_headers_remove_at(rh, 1);
    if (theirs[0])
        isapi_headers_remove_at(rh, 0);
    isapi_take_added_headers(ic, rh);
    const char *frame[FRAME_COUNT];
    isapi_headers_find_each(rh, 0, frame_names, FRAME_COUNT, frame);
    int keep = ext_header_keep(c, req, keep_conn, frame);
    int changed = req->has_header_block && c->version == HOST_HTTP_10 && keep;
    if (changed)
        isapi_headers_set(rh, "Connection", "keep-alive");
    if (isapi_request_out_of_memory(req))
        return ERROR_NOT_ENOUGH_MEMORY;
    isapi_rc rc = isapi_notify_send_response(ic);
    if (rc != ISAPI_CONTINUE)
        return ERROR_OPERATION_ABORTED;
    /* A SEND_RESPONSE filter may have dropped the framing or asked for close. */
    if (changed || isapi_conn_sees_send_response(ic)) {
        isapi_headers_find_each(rh, 0, frame_names, FRAME_COUNT, frame);
        keep = keep && ext_header_keep(c, req, keep_conn, frame);
    }
    const char *conn = frame[FRAME_CONNECTION];
    note_ext_framing(r, req, keep, frame);
    /* Why: a Connection header that contradicts what the server will do is corrected,
     * or a client that believed "keep-alive" would wait on a connection about to close. */
    if (!keep && req->has_header_block && c->version != HOST_HTTP_09
        && !(conn && strcmp(conn, "close") == 0))
        isapi_headers_set(rh, "Connection", "close");
    if (isapi_request_out_of_memory(req))
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!req->has_header_block)
        return 0;   /* HTTP/0.9 under the strict policy: no header block at all */
    size_t len;
    char local[HOST_BLOCK_LOCAL];
    char *block = serialize_block(c, req, &len, local, sizeof local);
    if (!block)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = send_ext_block(c, ic, block, len);
    if (block != local)
        free(block);
    return err;
}

/* MAP_URL_TO_PATH(_EX): the virtual directories, then URL_MAP, as for a request; the
 * request's own PATH_TRANSLATED is kept. */
static DWORD op_map_url(void *host_conn, isapi_conn *ic, const char *url,
                        HSE_URL_MAPEX_INFO *info)
{
    host_conn_t *c = host_conn;
    isapi_request *req = isapi_conn_request(ic);
    char path[HOST_PATH_BUF], phys[HOST_PATH_BUF];
    if (host_url_path(url, path, sizeof path, NULL) != 0)
        return ERROR_INVALID_PARAMETER;
    host_vdir_match_t vd;
    if (host_route_map_path(c->srv->cfg, path, phys, sizeof phys, &vd) < 0)
        return ERROR_INVALID_PARAMETER;
    /* URL_MAP sets a new physical_path; the request's own stays in request memory. */
    char *saved = req->physical_path;
    HTTP_FILTER_URL_MAP_EX map = {
        .pszURL = path,
        .pszPhysicalPath = phys,
        .cbPathBuff = sizeof phys,
        .dwFlags = vd.access & HSE_URL_FLAGS_MASK,
        .cchMatchingPath = (DWORD)strlen(vd.folder),
        .cchMatchingURL = vd.url_len ? (DWORD)vd.url_len : 1,
        .pszScriptMapEntry = NULL,
    };
    isapi_rc rc = isapi_notify_url_map(ic, &map);
    req->physical_path = saved;
    if (rc != ISAPI_CONTINUE)
        return ERROR_OPERATION_ABORTED;
    phys[sizeof phys - 1] = '\0';
    size_t pl = strlen(phys);
    size_t n = pl < sizeof info->lpszPath - 1 ? pl : sizeof info->lpszPath - 1;
    memcpy(info->lpszPath, phys, n);
    info->lpszPath[n] = '\0';
    info->dwFlags = map.dwFlags;
    info->cchMatchingPath = map.cchMatchingPath;
    info->cchMatchingURL = map.cchMatchingURL;
    /* Why: IIS 6 fails a path longer than MAX_PATH instead of cutting it silently
     * (HSE_REQ_MAP_URL_TO_PATH_EX, IIS 6 SDK). */
    return pl >= sizeof info->lpszPath ? ERROR_INSUFFICIENT_BUFFER : 0;
}

/* The log texts of an extension request: HSE_APPEND_LOG_PARAMETER, then lpszLogData, in
 * request memory (a failure sets the request's out-of-memory flag). */
static void keep_ext_log(isapi_request *req, host_req_t *r, const isapi_ext_result *res)
{
    size_t a = strlen(res->log_param), b = strlen(res->log_data);
    if (a + b == 0)
        return;
    r->ext_log = isapi_request_alloc(req, a + b + 1);
    if (!r->ext_log)
        return;
    memcpy(r->ext_log, res->log_param, a);
    memcpy(r->ext_log + a, res->log_data, b + 1);
}

static const char *ext_log_text(const host_conn_t *c, DWORD *win32)
{
    const host_req_t *r = c->req;
    if (!r || !c->in_pipeline)
        return NULL;
    *win32 = r->ext_win32;
    return r->ext_log;
}

/* The extension's session has work (a completion, DONE_WITH_SESSION), from the extension's
 * thread: the connection goes back to its event loop (server.c). */
static void op_ext_wake(void *host_conn)
{
    host_conn_resume(host_conn);
}

/* HttpExtensionProc on this worker. Returns what isapi_extension_run() returns. */
static int start_extension(host_conn_t *c, host_req_t *r, isapi_ext_result *res)
{
    isapi_request *req = isapi_conn_request(c->ic);
    host_route_t *rt = r->route;
    isapi_ext_request rq = {
        .script_name = rt->script_name,
        .path_info = rt->path_info,
        .path_translated = rt->path_translated,
        .script_translated = rt->script_translated,
        .appl_md_path = rt->appl_md_path,
        .appl_physical_path = rt->appl_physical_path,
        .total_bytes = r->framing.kind == HOST_BODY_NONE ? 0
                       : r->framing.kind == HOST_BODY_LENGTH ? r->framing.content_length
                       : r->body_done ? r->chunked.total : UINT64_MAX,
        .ahead = r->ahead,
        .ahead_len = r->ahead_len,
        .keep_alive = c->keep_alive && req->has_header_block,
        .exec_depth = r->exec_depth,
    };
    /* A child request: its replacement body, or what the parent left unread of its own. */
    if (r->exec_entity)
        rq.total_bytes = r->ahead_len;
    else if (r->exec_depth)
        rq.total_bytes = r->body_done ? 0
                         : r->framing.kind == HOST_BODY_LENGTH ? r->body_left : UINT64_MAX;
    r->ext_length = -1;
    c->producing = 0;
    return isapi_extension_run(c->ic, r->ext, &rq, res);
}

static host_step_rc start_child(host_conn_t *c, host_req_t *r);

/* Step part: HttpExtensionProc, or the session of a pending request resumed (its
 * completions delivered here); then how the request ends (docs/extensions.md, "Return
 * codes and keep-alive"). */
static host_step_rc run_extension(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    isapi_ext_result res;
    if (r->ext_pending) {
        isapi_extension_resume(c->ic, &res);
    } else if (start_extension(c, r, &res) != 0) {
        r->out_of_memory = 1;
        r->status = 500;
        c->keep_alive = 0;
        return STEP_RESPOND;
    } else if (res.pending) {
        /* HSE_STATUS_PENDING. Why no worker waits: IIS holds no thread for a pending
         * request; the extension ends it from its own threads whenever it likes. From now
         * on their writes go out at once (op_write), and the session has its own time
         * limit (the sweep in server.c abandons it). */
        r->ext_pending = 1;
        atomic_store(&c->ext_pending, 1);
        c->deadline_ms = plat_time_mono_ms() + ISAPI_EXT_PENDING_LIMIT_MS;
        r->ext_deadline_ms = c->deadline_ms;
        rate_begin(c);   /* the minimum rate of its asynchronous writes counts from here */
        isapi_extension_resume(c->ic, &res);
    }
    /* An asynchronous write's bytes are in the queue: they go out as the socket takes
     * them and the connection parks meanwhile (no thread waits for the client); the write
     * completes when they have left, or with the error that ended the connection. An
     * asynchronous read completes from the body's bytes that have arrived, and the
     * connection parks until more come. */
    for (;;) {
        void *read_buf;
        DWORD read_size;
        if (!res.pending)
            break;
        if (!isapi_extension_write_waiting(c->ic)) {
            if (!isapi_extension_read_waiting(c->ic, &read_buf, &read_size))
                break;
            DWORD got, error;
            if (!ext_read_some(c, r, read_buf, read_size, &got, &error))
                return STEP_PARK;
            c->deadline_ms = r->ext_deadline_ms;
            isapi_extension_read_done(c->ic, got, error);
            isapi_extension_resume(c->ic, &res);
            continue;
        }
        int f = r->ext_io_expired ? 1 : out_flush(c);
        if (f == 0 && isapi_extension_write_more(c->ic))
            continue;   /* a file's next pieces are in the queue */
        if (f > 0 && !r->ext_io_expired) {
            c->deadline_ms = rate_deadline(c, c->srv->cfg->send_timeout_ms);
            return STEP_WAIT_WRITE;
        }
        DWORD error = f == 0 ? 0 : f > 0 ? ERROR_TIMEOUT : ERROR_NETNAME_DELETED;
        if (error) {
            host_log(HOST_LOG_WARN, "%s port %s: an asynchronous write of %s failed (%s); "
                     "the request fails", c->peer.addr, c->peer_port,
                     isapi_extension_path(r->ext), f > 0 ? "the client did not read within "
                     "send_timeout" : "the connection failed");
            c->out_sent = c->out_len = 0;   /* the connection closes: nothing more goes out */
            c->keep_alive = 0;
        }
        r->ext_io_expired = 0;
        c->deadline_ms = r->ext_deadline_ms;
        isapi_extension_write_done(c->ic, error);
        isapi_extension_resume(c->ic, &res);
    }
    if (res.pending)
        return res.exec ? start_child(c, r) : STEP_EXT_PENDING;
    if (r->ext_pending) {
        r->ext_pending = 0;
        atomic_store(&c->ext_pending, 0);
    }
    if (res.abandoned)
        c->keep_alive = 0;
    keep_ext_log(req, r, &res);
    int sent = res.header_sent || req->bytes_sent > 0 || isapi_conn_response_started(c->ic);
    if (res.hse_status == HSE_STATUS_ERROR) {
        r->ext_win32 = res.win32_error;
        c->keep_alive = 0;
        if (!sent) {
            r->status = 500;
            return STEP_RESPOND;
        }
        /* Why 500 in the log although a response went out: IIS logs 500 for
         * HSE_STATUS_ERROR (HttpExtensionProc, IIS 6 SDK). */
        req->status = 500;
        r->keep = -1;
        return STEP_ANSWERED;
    }
    if (!sent) {
        /* Success without a byte: an empty response with the extension's status. */
        req->status = res.status ? res.status : 200;
        req->reason = NULL;
        isapi_headers_set(&req->resp_headers, "Content-Length", "0");
        if (!r->body_done)
            c->keep_alive = 0;
        return STEP_RESPOND;
    }
    /* Why each condition: the response must be delimited as sent (the declared length
     * honoured exactly), the body read to its end (else its rest would be taken for the
     * next request), and the output whole; raw output without a structured header block
     * has no framing the server knows of, so the connection closes. */
    int framed = res.child_framed_last
                 || (res.header_sent && r->ext_keep_header
                     && (r->ext_self_framed || (r->ext_length >= 0
                                                && (uint64_t)r->ext_length == res.body_bytes)
                         || (c->head_only && res.body_bytes == 0)));
    int keep = framed && !res.close_requested && !res.write_failed
               && !isapi_conn_must_close(c->ic) && r->body_done;
    r->keep = keep ? 0 : -1;
    return STEP_ANSWERED;
}

/* Step: the request body, read and discarded through READ_RAW_DATA (the static handler
 * does not use it) as it arrives: with nothing pending the connection parks and the
 * worker moves on. Pipelined bytes after the body stay in the buffer. */
static host_step_rc step_read_body(host_conn_t *c, host_req_t *r)
{
    const host_config_t *cfg = c->srv->cfg;
    if (r->ext)
        return read_ahead(c, r);
    if (r->framing.kind == HOST_BODY_NONE)
        return STEP_NEXT;
    if (!r->body_started) {
        body_begin(c, r);
        if (r->expect_continue && c->len == 0 && send_continue(c) != 0)
            return STEP_ABORT;
    }
    for (;;) {
        if (body_take(c, r, NULL, SIZE_MAX) < 0) {
            c->keep_alive = 0;
            return STEP_RESPOND;
        }
        if (r->body_done)
            return STEP_NEXT;
        if (!c->may_have_data) {
            c->deadline_ms = rate_deadline(c, cfg->body_timeout_ms);
            return STEP_PARK;
        }
        isapi_rc frc = ISAPI_CONTINUE;
        int got = read_filtered(c, &frc, 0);
        if (got == READ_TIMEOUT)
            c->may_have_data = 0;
        else if (got != READ_OK && got != READ_MORE)
            return STEP_ABORT;   /* the client went away, or a raw-data filter ended it */
    }
}

/* Step: the handler: an extension, a static file, a directory's default document, or an
 * error. */
static host_step_rc step_handle(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    if (r->ext)
        return run_extension(c, r);
    if (r->route && r->route->handler == HOST_HANDLER_REFUSE) {
        host_error_page(req, r->route->status, &r->body);
        if (r->route->status == 405)
            isapi_headers_set(&req->resp_headers, "Allow", r->route->allow);
        return STEP_RESPOND;
    }
    if (r->route && !(r->route->access & HOST_ACCESS_READ)) {
        /* Why: a folder without Read access serves no file (IIS 403.2). */
        host_error_page(req, 403, &r->body);
        return STEP_RESPOND;
    }
    const char *physical = req->physical_path ? req->physical_path : "";
    char unmapped[HOST_PATH_BUF];
    if (PLAT_FILTER_PATHS_WIN32 && req->physical_path)
        physical = plat_path_from_filter(req->physical_path, unmapped, sizeof unmapped) < 0
                   ? "" : unmapped;
    host_static_respond(c->srv->cfg, req, r->method, req->path ? req->path : "/", physical,
                        &r->body);
    return STEP_RESPOND;
}

/* Step: SEND_RESPONSE, then the header block and a body in memory through SEND_RAW_DATA
 * into the output queue. */
static host_step_rc step_respond(host_conn_t *c, host_req_t *r)
{
    if (r->status)
        host_error_page(isapi_conn_request(c->ic), r->status, &r->body);
    c->producing = 1;
    r->keep = start_response(c, &r->body, &r->file_left);
    c->producing = 0;
    return STEP_NEXT;
}

/* Step: a file body, through SEND_RAW_DATA a chunk at a time (or with no copy when no
 * SEND_RAW_DATA filter could see it), produced while the queue is short: a client that
 * does not read parks the connection here and holds no worker. */
static host_step_rc step_send_body(host_conn_t *c, host_req_t *r)
{
    host_body_t *b = &r->body;
    isapi_request *req = isapi_conn_request(c->ic);
    c->producing = 1;
    while (r->file_left && b->length > 0) {
        if (out_pending(c) >= HOST_OUT_LOW) {
            int f = out_flush(c);
            if (f < 0)
                break;
            if (out_pending(c) >= HOST_OUT_LOW) {
                c->producing = 0;
                c->deadline_ms = rate_deadline(c, c->srv->cfg->send_timeout_ms);
                return STEP_WAIT_WRITE;
            }
        }
        if (PLAT_HAVE_ZEROCOPY_SEND && !isapi_conn_sees_send_raw(c->ic)
            && b->length > HOST_SMALL_FILE) {
            /* Zero-copy: no SEND_RAW_DATA filter could see these bytes. The queue (the
             * header block) goes first. */
            int f = out_flush(c);
            ptrdiff_t n = f == 0 ? plat_sock_send_file_some(c->sock, b->file, b->offset,
                                                            b->length) : 0;
            if (f < 0 || n < 0)
                break;
            if (n == 0) {
                c->producing = 0;
                c->deadline_ms = rate_deadline(c, c->srv->cfg->send_timeout_ms);
                return STEP_WAIT_WRITE;
            }
            b->offset += (uint64_t)n;
            b->length -= (uint64_t)n;
            req->bytes_sent += (uint64_t)n;
            c->rate_bytes += (uint64_t)n;
            continue;
        }
        char chunk[HOST_READ_CHUNK];
        size_t want = b->length < sizeof chunk ? (size_t)b->length : sizeof chunk;
        ptrdiff_t n = plat_file_pread(b->file, chunk, want, b->offset);
        /* n <= 0: the file shrank, and the length already sent is wrong */
        if (n <= 0 || isapi_send(c->ic, isapi_origin_host(), chunk, (size_t)n) != ISAPI_CONTINUE)
            break;
        b->offset += (uint64_t)n;
        b->length -= (uint64_t)n;
    }
    c->producing = 0;
    if (r->file_left && b->length > 0) {
        r->keep = -1;   /* the response is cut short: the client must see the close */
        return STEP_ABORT;
    }
    r->file_left = 0;
    if (isapi_conn_must_close(c->ic))
        r->keep = -1;
    return STEP_NEXT;
}

/* Step: SF_NOTIFY_END_OF_REQUEST (filters may still WriteClient held-back data). */
static host_step_rc step_end_of_request(host_conn_t *c, host_req_t *r)
{
    if (!r->ended) {
        r->ended = 1;
        isapi_notify_end_of_request(c->ic);
        if (isapi_conn_must_close(c->ic))
            r->keep = -1;
    }
    return STEP_NEXT;
}

/* Step: what waits in the output queue goes to the client; the connection parks while the
 * client does not read. */
static host_step_rc step_flush(host_conn_t *c, host_req_t *r)
{
    int f = out_flush(c);
    if (f > 0) {
        c->deadline_ms = rate_deadline(c, c->srv->cfg->send_timeout_ms);
        return STEP_WAIT_WRITE;
    }
    if (f < 0) {
        r->keep = -1;
        if (r->exec_depth && !r->exec_error)
            r->exec_error = ERROR_NETNAME_DELETED;
    }
    return STEP_NEXT;
}

/* Step: SF_NOTIFY_LOG and the W3C line, once the response is out. */
static host_step_rc step_log(host_conn_t *c, host_req_t *r)
{
    if (!r->logged) {
        r->logged = 1;
        log_request(c, 1);
    }
    return r->keep == 0 ? STEP_DONE : STEP_CLOSE;
}

/* A filter ended the request. With ERROR and nothing sent yet the server answers for it
 * (docs/semantics.md, "A filter fails with ERROR"); the connection always closes. */
static void filter_ended(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    /* The connection closes (below): the server's answer must say so, or a client sends
     * its next request into the close. */
    c->keep_alive = 0;
    if (r->filter_rc == ISAPI_ERROR && req->bytes_sent == 0
        && !isapi_conn_response_started(c->ic)) {
        DWORD err = isapi_conn_filter_error(c->ic);
        if (err == ERROR_ACCESS_DENIED)
            deny(c, SF_DENIED_FILTER);
        else if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            respond_error(c, 404);
        else
            respond_error(c, 500);
    }
    /* Why: IIS 6 and 7.5 close the connection after a filter finished the request, even
     * for FINISHED_KEEP_CONN: filters rarely frame their output (docs/isapi-reference.md,
     * "Return codes"). */
    r->keep = -1;
}

typedef struct host_step {
    const char *name;
    host_step_rc (*run)(host_conn_t *c, host_req_t *r);
} host_step_t;

enum {
    STEP_READ_HEAD, STEP_REQUEST_MODEL, STEP_CHECK_HEAD, STEP_PREPROC_HEADERS, STEP_ROUTE,
    STEP_AUTHENTICATE, STEP_AUTH_COMPLETE, STEP_SELECT_HANDLER, STEP_READ_BODY, STEP_HANDLE,
    STEP_RESPOND_INDEX,
    STEP_SEND_BODY, STEP_END_OF_REQUEST, STEP_FLUSH, STEP_LOG, STEP_COUNT
};

/* The request pipeline: IIS's notification order, one row per step. A step that waits for
 * the socket (read head, read body, send body, flush) parks the connection and runs again
 * when the socket is ready; no worker waits for a client. */
static const host_step_t pipeline[STEP_COUNT] = {
    [STEP_READ_HEAD]       = { "read head",       step_read_head },       /* READ_RAW_DATA */
    [STEP_REQUEST_MODEL]   = { "request model",   step_request_model },
    [STEP_CHECK_HEAD]      = { "check head",      step_check_head },
    [STEP_PREPROC_HEADERS] = { "preproc headers", step_preproc_headers }, /* PREPROC_HEADERS */
    [STEP_ROUTE]           = { "route",           step_route },           /* URL_MAP */
    [STEP_AUTHENTICATE]    = { "authenticate",    step_authenticate },    /* AUTHENTICATION */
    [STEP_AUTH_COMPLETE]   = { "auth complete",   step_auth_complete },   /* AUTH_COMPLETE */
    [STEP_SELECT_HANDLER]  = { "select handler",  step_select_handler },
    [STEP_READ_BODY]       = { "read body",       step_read_body },       /* READ_RAW_DATA */
    [STEP_HANDLE]          = { "handle",          step_handle },
    [STEP_RESPOND_INDEX]   = { "respond",         step_respond },  /* [ACCESS_DENIED],
                                                       SEND_RESPONSE, SEND_RAW_DATA */
    [STEP_SEND_BODY]       = { "send body",       step_send_body },       /* SEND_RAW_DATA */
    [STEP_END_OF_REQUEST]  = { "end of request",  step_end_of_request },  /* END_OF_REQUEST */
    [STEP_FLUSH]           = { "flush",           step_flush },
    [STEP_LOG]             = { "log",             step_log },             /* LOG */
};

/* ---- child requests (HSE_REQ_EXEC_URL) ---------------------------------------------- */

/* The request a child interrupts is kept in a frame; the child starts with no handler, no
 * body of its own and no response state. */
static host_exec_frame_t *exec_push(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    host_exec_frame_t *f = &r->exec_frames[r->exec_depth++];
    f->ext = r->ext;
    f->route = r->route;
    f->ahead = r->ahead;
    f->ahead_len = r->ahead_len;
    f->ext_keep_header = r->ext_keep_header;
    f->ext_length = r->ext_length;
    f->ext_self_framed = r->ext_self_framed;
    f->ext_win32 = r->ext_win32;
    f->ext_log = r->ext_log;
    f->exec_entity = r->exec_entity;
    f->method_kind = (int)r->method;
    f->head_only = c->head_only;
    f->method = req->method;
    f->url = req->url;
    f->path = req->path;
    f->physical_path = req->physical_path;
    f->headers = req->headers;
    f->own_headers = 0;
    f->content_length = req->content_length;
    f->has_header_block = req->has_header_block;
    r->ext = NULL;
    r->route = NULL;
    r->ahead = NULL;
    r->ahead_len = 0;
    r->ext_log = NULL;
    r->ext_win32 = 0;
    r->exec_entity = 0;
    r->exec_error = 0;
    r->status = 0;
    r->keep = -1;
    r->file_left = 0;
    r->ext_pending = 0;
    atomic_store(&c->ext_pending, 0);
    return f;
}

static void exec_pop(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    host_exec_frame_t *f = &r->exec_frames[--r->exec_depth];
    host_body_free(&r->body);
    host_body_t none = HOST_BODY_INIT;
    r->body = none;
    r->file_left = 0;
    free(r->route);
    free(r->ahead);
    r->ext = f->ext;
    r->route = f->route;
    r->ahead = f->ahead;
    r->ahead_len = f->ahead_len;
    r->ext_keep_header = f->ext_keep_header;
    r->ext_length = f->ext_length;
    r->ext_self_framed = f->ext_self_framed;
    r->ext_win32 = f->ext_win32;
    r->ext_log = f->ext_log;
    r->exec_entity = f->exec_entity;
    r->method = (host_method_t)f->method_kind;
    c->head_only = f->head_only;
    req->method = f->method;
    req->url = f->url;
    req->path = f->path;
    req->physical_path = f->physical_path;
    if (f->own_headers) {
        isapi_headers_clear(&req->headers);
        req->headers = f->headers;
    }
    req->content_length = f->content_length;
    req->has_header_block = f->has_header_block;
    r->status = 0;
    r->exec_error = 0;
}

/* 1 when two request targets have the same path (the query left out). */
static int same_stem(const char *a, const char *b)
{
    size_t la = strcspn(a, "?"), lb = strcspn(b, "?");
    return la == lb && memcmp(a, b, la) == 0;
}

/* HSE_EXEC_URL_IGNORE_VALIDATION_AND_RANGE: the child's request goes without the
 * conditional (If-*) and range headers, so that its handler answers with the whole
 * resource, never 206, 304 or 412. The parent's list stays as it was (kept in the frame):
 * a child that shares it gets a copy of its own first. */
static void exec_drop_validation(host_conn_t *c, host_exec_frame_t *f)
{
    static const char *const names[] = { "Range", "If-Range", "If-Modified-Since",
                                         "If-Unmodified-Since", "If-Match", "If-None-Match" };
    isapi_request *req = isapi_conn_request(c->ic);
    if (!f->own_headers) {
        isapi_headers own = { 0 };
        own.arena = f->headers.arena;
        for (size_t i = 0; i < f->headers.n; i++) {
            const isapi_header *h = &f->headers.v[i];
            if (isapi_headers_add(&own, h->name, isapi_header_name_len(h), h->value,
                                  (size_t)-1) == -1)
                note_no_memory(c);
        }
        req->headers = own;
        f->own_headers = 1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        isapi_headers_del(&req->headers, names[i]);
}

/* Step part: the child request a pending extension asked for, set up in place of its
 * parent: the method, url, headers and body it gives (or the parent's), URL_MAP on its
 * url, and the handler the routing picks. Why never the caller for its own url: IIS
 * processes "the same request again" by the next handler, so that a wildcard extension
 * can hand a request on after looking at it (HSE_EXEC_URL_INFO, IIS 6 SDK); the next
 * handler here is the static one. */
static host_step_rc start_child(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    const isapi_exec_request *x = isapi_extension_exec_request(c->ic);
    if (r->exec_depth >= ISAPI_EXEC_DEPTH_LIMIT) {
        /* (the engine refuses a call that would nest deeper: not reached) */
        isapi_extension_exec_done(c->ic, 500, ERROR_INVALID_PARAMETER, 0);
        return STEP_CHILD;
    }
    int not_the_caller = !x->url || same_stem(x->url, req->url ? req->url : "/")
                         || (x->flags & HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR);
    const isapi_extension *caller = x->caller;
    host_exec_frame_t *f = exec_push(c, r);
    if (x->url)
        isapi_str_set(req, &req->url, x->url, (size_t)-1);
    if (x->method)
        isapi_str_set(req, &req->method, x->method, (size_t)-1);
    if (x->headers) {
        isapi_headers own = { 0 };
        own.arena = f->headers.arena;
        req->headers = own;
        f->own_headers = 1;
        if (isapi_headers_parse_block(&req->headers, x->headers) == -1)
            note_no_memory(c);
    }
    if (x->flags & HSE_EXEC_URL_IGNORE_VALIDATION_AND_RANGE)
        exec_drop_validation(c, f);
    if (x->has_entity) {
        r->ahead = malloc(x->entity_len + 1);
        if (!r->ahead) {
            r->out_of_memory = 1;
            r->status = 500;
            return STEP_RESPOND;
        }
        if (x->entity_len)
            memcpy(r->ahead, x->entity, x->entity_len);
        r->ahead_len = x->entity_len;
        r->exec_entity = 1;
        req->content_length = x->entity_len;
    }
    /* Why the body alone: NO_HEADERS suppresses the child's structured header block (IIS
     * 6 SDK), as the strict HTTP/0.9 policy does (SEND_RESPONSE still fires). */
    if (x->flags & HSE_EXEC_URL_NO_HEADERS)
        req->has_header_block = 0;
    r->method = host_method_classify(req->method ? req->method : "",
                                     req->method ? strlen(req->method) : 0);
    c->head_only = r->method == HOST_METHOD_HEAD;
    int status = 0;
    isapi_rc rc = route_and_map(c, &status);
    if (rc != ISAPI_CONTINUE) {
        r->status = rc == ISAPI_ERROR && status ? status : 500;
        return STEP_RESPOND;
    }
    host_step_rc next = step_select_handler(c, r);
    if (next != STEP_NEXT)
        return next;
    if (r->ext && r->ext == caller && not_the_caller) {
        r->ext = NULL;
        r->route->handler = HOST_HANDLER_STATIC;
    }
    return STEP_CHILD;
}

/* The child's response is out (or failed): its parent takes the request back, and the
 * parent's completion reports the child's status and Win32 error. */
static void child_end(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    DWORD status = req->status ? req->status : 200;
    DWORD win32 = r->exec_error ? r->exec_error : r->ext_win32;
    int framed = r->keep == 0 && req->has_header_block;
    exec_pop(c, r);
    r->keep = -1;
    r->ext_pending = 1;
    atomic_store(&c->ext_pending, 1);
    c->deadline_ms = plat_time_mono_ms() + ISAPI_EXT_PENDING_LIMIT_MS;
    isapi_extension_exec_done(c->ic, status, win32, framed);
    c->step = STEP_HANDLE;
}

/* A child whose client did not read in time: the child fails with ERROR_TIMEOUT, the
 * connection closes after the parent's end. */
static void child_timeout(host_conn_t *c, host_req_t *r)
{
    c->keep_alive = 0;
    r->keep = -1;
    r->exec_error = ERROR_TIMEOUT;
    child_end(c, r);
}

/* Reads and clears the request's one out-of-memory flag: the arena's (every request
 * string and header) or the host's own (r->out_of_memory). */
static int take_out_of_memory(host_conn_t *c, host_req_t *r)
{
    isapi_request *req = isapi_conn_request(c->ic);
    int oom = r->out_of_memory;
    r->out_of_memory = 0;
    if (req && isapi_request_out_of_memory(req)) {
        isapi_request_clear_out_of_memory(req);
        oom = 1;
    }
    return oom;
}

/* A step could not allocate, so something of the request (a field, a header, a page) is
 * missing: it never goes on as if nothing happened. Before any response: a 500 through
 * the filters, on a response list emptied of what the failed attempt had put there. When
 * the response was being built (or a filter's SEND_RESPONSE_HEADER failed) and nothing
 * is out yet: a 500 written past the filters, which would need memory too. Once bytes
 * are out: the request runs to its end and the connection closes. The connection closes
 * in every case, and one line says which step failed. */
static host_step_rc out_of_memory(host_conn_t *c, host_req_t *r, host_step_rc rc)
{
    isapi_request *req = isapi_conn_request(c->ic);
    const char *step = pipeline[c->step].name;
    c->keep_alive = 0;
    r->keep = -1;
    if (req && req->bytes_sent == 0 && c->step < STEP_RESPOND_INDEX
        && !isapi_conn_response_started(c->ic)) {
        host_log(HOST_LOG_ERROR, "out of memory in the %s step of a request from %s port %s; "
                 "answered 500", step, c->peer.addr, c->peer_port);
        isapi_headers_reset(&req->resp_headers);
        r->status = 500;
        return STEP_RESPOND;
    }
    if (req && req->bytes_sent == 0 && !r->ended) {
        host_log(HOST_LOG_ERROR, "out of memory in the %s step of a request from %s port %s; "
                 "answered 500 without the filters", step, c->peer.addr, c->peer_port);
        host_body_free(&r->body);
        r->file_left = 0;
        queue_raw_response(c, 500);
        return STEP_ANSWERED;
    }
    host_log(HOST_LOG_ERROR, "out of memory in the %s step of a request from %s port %s; "
             "the connection closes", step, c->peer.addr, c->peer_port);
    return rc == STEP_DONE ? STEP_CLOSE : rc;
}

/* What serve_one() tells host_http1_serve(). */
enum { ONE_KEEP, ONE_PARK, ONE_WAIT_WRITE, ONE_EXT_PENDING, ONE_CLOSE };

static void req_reset(host_req_t *r)
{
    host_body_free(&r->body);
    free(r->route);
    free(r->ahead);
    while (r->exec_depth) {
        host_exec_frame_t *f = &r->exec_frames[--r->exec_depth];
        free(f->route);
        free(f->ahead);
    }
    memset(r, 0, offsetof(host_req_t, exec_frames));
    host_body_t none = HOST_BODY_INIT;
    r->body = none;
    r->keep = -1;
}

void host_conn_pipeline_free(host_conn_t *c)
{
    if (c->req) {
        req_reset(c->req);
        free(c->req);
        c->req = NULL;
    }
    free(c->out);
    c->out = NULL;
    c->out_cap = c->out_len = c->out_sent = 0;
    c->in_pipeline = 0;
}

/* A connection parked past its deadline: an idle keep-alive connection, a request head
 * that did not arrive in time, a body that did not, or a client that does not read. */
static void expire(host_conn_t *c)
{
    if (c->in_pipeline) {
        host_req_t *r = c->req;
        if (!r->ended && c->in_request)
            isapi_notify_end_of_request(c->ic);
        if (!r->logged && c->in_request)
            log_request(c, 1);
        c->in_pipeline = 0;
        req_reset(r);
    } else if (c->in_request && c->len > 0) {
        reject_raw(c, 408);
        out_flush(c);
    } else if (c->in_request) {
        finish_request(c, 0);
    }
}

/* Runs the pipeline of one request from where it stopped (a new request: from reading
 * its head) until it is over or waits for the socket. */
static int serve_one(host_conn_t *c)
{
    host_header_t hdrs[HOST_MAX_HEADERS];
    if (!c->req) {
        if (!(c->req = calloc(1, sizeof *c->req)))
            return ONE_CLOSE;
        host_body_t none = HOST_BODY_INIT;
        c->req->body = none;
    }
    host_req_t *r = c->req;
    if (!c->in_pipeline) {
        req_reset(r);
        c->step = STEP_READ_HEAD;
        c->in_pipeline = 1;
    }
    r->hdrs = hdrs;
    /* Why the worker checks: a client that trickles a body or reads a response a little
     * at a time is reported often enough never to sit parked when the poller sweeps
     * deadlines. The deadline was set when the step parked. A pending extension request
     * is not parked: its session ends itself (an abandoned one fails in the handle step). */
    if (c->step != STEP_READ_HEAD && !r->ext_pending && plat_time_mono_ms() >= c->deadline_ms) {
        if (!r->exec_depth) {
            expire(c);
            return ONE_CLOSE;
        }
        child_timeout(c, r);
    }
    int outcome = ONE_CLOSE;
    for (;;) {
        host_step_rc rc = pipeline[c->step].run(c, r);
        /* (a pending extension request is checked once its session ended) */
        if (!r->ext_pending && take_out_of_memory(c, r))
            rc = out_of_memory(c, r, rc);
        if (rc == STEP_NEXT) {
            c->step++;
        } else if (rc == STEP_ROUTE_AGAIN) {
            c->step = STEP_ROUTE;
        } else if (rc == STEP_ANSWERED) {
            c->step = STEP_END_OF_REQUEST;
        } else if (rc == STEP_RESPOND) {
            c->step = STEP_RESPOND_INDEX;
        } else if (rc == STEP_FILTER_ENDED) {
            filter_ended(c, r);
            c->step = STEP_END_OF_REQUEST;
        } else if (rc == STEP_ABORT) {
            r->keep = -1;
            c->step = STEP_END_OF_REQUEST;
        } else if (rc == STEP_REFUSE) {
            reject_raw(c, r->status);
            r->ended = r->logged = 1;
            r->keep = -1;
            c->step = STEP_FLUSH;
        } else if (rc == STEP_PARK) {
            /* A request head still incomplete starts over from its first step. */
            if (c->step == STEP_READ_HEAD)
                c->in_pipeline = 0;
            return ONE_PARK;
        } else if (rc == STEP_WAIT_WRITE) {
            return ONE_WAIT_WRITE;
        } else if (rc == STEP_EXT_PENDING) {
            return ONE_EXT_PENDING;
        } else if (rc == STEP_CHILD) {
            c->step = STEP_HANDLE;
        } else {
            outcome = rc == STEP_DONE ? ONE_KEEP : ONE_CLOSE;
            break;
        }
        /* A child request has no END_OF_REQUEST or LOG of its own: its response is
         * flushed, then its parent resumes. */
        if (r->exec_depth && c->step == STEP_END_OF_REQUEST) {
            if (rc == STEP_ABORT && !r->exec_error)
                r->exec_error = ERROR_NETNAME_DELETED;
            c->step = STEP_FLUSH;
        } else if (r->exec_depth && c->step == STEP_LOG) {
            child_end(c, r);
        }
    }
    c->in_pipeline = 0;
    req_reset(r);
    return outcome;
}

host_serve_result_t host_http1_serve(host_conn_t *c)
{
    for (;;) {
        if (c->expired && c->in_pipeline && c->req && c->req->exec_depth) {
            /* a child's client did not read in time: its parent still ends the request */
            c->expired = 0;
            child_timeout(c, c->req);
        } else if (c->expired && c->in_pipeline && c->req->ext_pending) {
            /* Parked for an extension's asynchronous write or read: it fails with
             * ERROR_TIMEOUT, and the extension's session ends the request. */
            c->expired = 0;
            c->req->ext_io_expired = 1;
        }
        if (c->expired) {
            expire(c);
            return HOST_SERVE_CLOSE;
        }
        if (!c->in_request && !c->in_pipeline && atomic_load(&c->srv->stopping))
            return HOST_SERVE_CLOSE;
        int r = serve_one(c);
        if (r == ONE_PARK) {
            if (!c->in_request) {
                c->deadline_ms = plat_time_mono_ms() + c->srv->cfg->keepalive_timeout_ms;
                /* An idle connection keeps no request storage (docs/performance.md, S5). */
                isapi_conn_trim(c->ic);
            }
            return HOST_SERVE_PARK;
        }
        if (r == ONE_WAIT_WRITE)
            return HOST_SERVE_WAIT_WRITE;
        if (r == ONE_EXT_PENDING)
            return HOST_SERVE_EXT_PENDING;
        if (r == ONE_CLOSE)
            return HOST_SERVE_CLOSE;
        c->requests++;
        if (c->requests >= c->srv->cfg->max_requests_per_connection)
            return HOST_SERVE_CLOSE;
    }
}
