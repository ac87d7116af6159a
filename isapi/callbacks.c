/*
 * callbacks.c - everything a filter can call: the HTTP_FILTER_CONTEXT function pointers
 * (GetServerVariable, AddResponseHeaders, WriteClient, AllocMem, ServerSupportFunction)
 * and the header accessors of PREPROC_HEADERS / AUTH_COMPLETE / SEND_RESPONSE.
 *
 * Each callback finds its connection and its caller through pfc->ServerContext, which
 * points at the (connection, filter) slot owning that very context; a context that does
 * not point back at itself is rejected with ERROR_INVALID_PARAMETER. Whether a callback is
 * allowed depends on the notification running now (connection->cur_notif, maintained by
 * isapi__invoke), following the table "Where each callback may be called" of
 * docs/isapi-reference.md; a call outside its notification fails with
 * ERROR_INVALID_PARAMETER and never touches state that does not exist (Why:
 * KB 892988 and Q323064, IIS crashed on exactly such calls).
 *
 * Request and response header accessors are different functions behind the same struct
 * layout, so a filter holding on to a PREPROC_HEADERS pointer cannot edit response headers
 * with it. Every FALSE return sets the Win32 last error; every TRUE return from a
 * size-protocol call clears it (Why: old Shibboleth code tests GetLastError after TRUE).
 *
 * Header text a filter hands in (AddResponseHeaders, SEND_RESPONSE_HEADER's status and
 * text, ADD_HEADERS_ON_DENIAL, SetHeader/AddHeader names and values) passes one check,
 * isapi__header_input_fault (headers.c); what fails it is refused with
 * ERROR_INVALID_PARAMETER and logged naming the filter (refuse_header_text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ISAPI__BEFORE_RESPONSE (SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | \
    SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION | \
    SF_NOTIFY_ACCESS_DENIED)
#define ISAPI__REQUEST_HEADERS (SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_AUTH_COMPLETE)

static BOOL fail(DWORD err)
{
    SetLastError(err);
    return FALSE;
}

static isapi__slot *slot_of(HTTP_FILTER_CONTEXT *pfc)
{
    if (!pfc || !pfc->ServerContext)
        return NULL;
    isapi__slot *s = pfc->ServerContext;
    return &s->fc == pfc ? s : NULL;
}

/* "<code> <reason>" or "HTTP/x.y <code> <reason>" -> code and reason. Returns 0, or -1
 * when there is no three-digit code. */
static int parse_status(const char *s, DWORD *code, const char **reason)
{
    if (strncmp(s, "HTTP/", 5) == 0) {
        const char *sp = strchr(s, ' ');
        if (!sp)
            return -1;
        s = sp + 1;
        while (*s == ' ')
            s++;
    }
    if (!(s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
        return -1;
    if (s[3] != '\0' && s[3] != ' ')
        return -1;
    *code = (DWORD)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    s += 3;
    while (*s == ' ')
        s++;
    *reason = s;
    return 0;
}

static int set_status(isapi_conn *c, const char *value)
{
    DWORD code;
    const char *reason;
    if (parse_status(value, &code, &reason) != 0)
        return -1;
    if (isapi_str_set(&c->req, &c->req.reason, reason, (size_t)-1) != 0)
        return -2;
    c->req.status = code;
    return 0;
}

/* Writes at most 80 bytes of text into out, bytes outside printable ASCII as \xNN. */
static void escape_excerpt(const char *text, char *out, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; text[i] && i < 80 && o + 5 < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    if (text[i] && o + 4 < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Fails a call whose header text broke the rules, with one log line naming the filter,
 * the call, the notification and the fault. */
static BOOL refuse_header_text(isapi__slot *s, const char *call, const char *text,
                               const char *fault)
{
    isapi_conn *c = s->conn;
    char excerpt[400];
    escape_excerpt(text, excerpt, sizeof excerpt);
    isapi__log(c->e, c, ISAPI_LOG_WARN, c->e->filters[s->filter].path,
               "%s in %s refused with ERROR_INVALID_PARAMETER: %s in \"%s\"", call,
               isapi__notif_name(c->cur_notif), fault, excerpt);
    return fail(ERROR_INVALID_PARAMETER);
}

/* Appends a checked header block to *dst as CRLF-terminated lines, its final blank line
 * (if any) left out, so that it can never end the block for text added after it. */
static int append_header_lines(char **dst, const char *text, size_t keep)
{
    if (keep == 0)
        return 0;
    if (isapi__append_n(dst, text, keep) != 0)
        return -1;
    if (text[keep - 1] != '\n')
        return isapi__append_n(dst, "\r\n", 2);
    return 0;
}

/* ---- HTTP_FILTER_CONTEXT functions ------------------------------------------------ */

static BOOL WINAPI cb_get_server_variable(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf,
                                          LPDWORD size)
{
    isapi__slot *s = slot_of(pfc);
    if (!s)
        return fail(ERROR_INVALID_PARAMETER);
    return isapi_get_server_variable(s->conn, name, buf, size);
}

static BOOL WINAPI cb_add_response_headers(HTTP_FILTER_CONTEXT *pfc, LPSTR headers,
                                           DWORD reserved)
{
    isapi__slot *s = slot_of(pfc);
    if (!s || !headers)
        return fail(ERROR_INVALID_PARAMETER);
    isapi_conn *c = s->conn;
    /* Why: "not in or after SEND_RESPONSE, use AddHeader there" (IIS 6 SDK). */
    if (!(c->cur_notif & ISAPI__BEFORE_RESPONSE) || !c->have_req || c->resp_sent)
        return fail(ERROR_INVALID_PARAMETER);
    size_t keep;
    const char *fault = isapi__header_input_fault(ISAPI__HIN_BLOCK, headers, &keep);
    if (fault)
        return refuse_header_text(s, "AddResponseHeaders", headers, fault);
    if (!c->req.has_header_block) {
        /* Why: an HTTP/0.9 body-only response has no header block to add to; accepting
         * keeps filters on their normal path (docs/semantics.md, "HTTP/0.9"). */
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    }
    /* Why a copy: filters pass stack buffers and reuse them at once (WebKnight). */
    if (append_header_lines(&c->added, headers, keep) != 0)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL WINAPI cb_write_client(HTTP_FILTER_CONTEXT *pfc, LPVOID buf, LPDWORD bytes,
                                   DWORD reserved)
{
    isapi__slot *s = slot_of(pfc);
    if (!s || !bytes)
        return fail(ERROR_INVALID_PARAMETER);
    isapi_conn *c = s->conn;
    if (!c->cur_notif || (c->cur_notif & (SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION)) ||
        c->closing)
        return fail(ERROR_INVALID_PARAMETER);
    if (*bytes == 0) {
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    }
    if (!buf)
        return fail(ERROR_INVALID_PARAMETER);
    /* Why layered: from SEND_RAW_DATA only the filters after the caller see the bytes,
     * from elsewhere the caller too (docs/isapi-reference.md, "Notifications raised from
     * callbacks", after the ISA Server 2000 SDK). */
    isapi_send_origin o;
    o.limit = c->e->filters[s->filter].rank + (c->cur_notif == SF_NOTIFY_SEND_RAW_DATA ? 0 : 1);
    if (isapi_send(c, o, buf, *bytes) != ISAPI_CONTINUE)
        return fail(c->send_error ? c->send_error : ERROR_OPERATION_ABORTED);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static VOID *WINAPI cb_alloc_mem(HTTP_FILTER_CONTEXT *pfc, DWORD cb, DWORD reserved)
{
    isapi__slot *s = slot_of(pfc);
    if (!s) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return isapi__arena_alloc(s->conn, cb);
}

static BOOL send_response_header(isapi__slot *s, const char *status, const char *extra)
{
    isapi_conn *c = s->conn;
    if (!(c->cur_notif & ISAPI__BEFORE_RESPONSE) || !c->have_req)
        return fail(ERROR_INVALID_PARAMETER);
    /* Why: once per request (IIS SDK); a second call would put a second header block on
     * the wire. */
    if (c->ssrh_done || c->resp_sent)
        return fail(ERROR_INVALID_PARAMETER);
    if (!status)
        status = "200 OK";
    if (!extra)
        extra = "";
    const char *fault = isapi__header_input_fault(ISAPI__HIN_STATUS, status, NULL);
    if (fault)
        return refuse_header_text(s, "SF_REQ_SEND_RESPONSE_HEADER (status)", status, fault);
    fault = isapi__header_input_fault(ISAPI__HIN_BLOCK, extra, NULL);
    if (fault)
        return refuse_header_text(s, "SF_REQ_SEND_RESPONSE_HEADER (header text)", extra, fault);
    int r = set_status(c, status);
    if (r == -1)
        return fail(ERROR_INVALID_PARAMETER);
    if (r == -2)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    c->ssrh_done = 1;
    if (!c->req.has_header_block) {
        /* Why: HTTP/0.9 strict - the status is recorded and SEND_RESPONSE still fires
         * (filters keep state machines on it), but no byte of the block is emitted. */
        free(c->added);
        c->added = NULL;
        isapi_notify_send_response(c);
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    }
    isapi_send_origin o;
    o.limit = c->e->filters[s->filter].rank + 1;
    DWORD err = c->ops->send_response_header(c->host, c, &o, status,
                                             c->added ? c->added : "", extra);
    free(c->added);
    c->added = NULL;
    if (err)
        return fail(err);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL WINAPI cb_server_support_function(HTTP_FILTER_CONTEXT *pfc, enum SF_REQ_TYPE req,
                                              PVOID data, ULONG_PTR ul1, ULONG_PTR ul2)
{
    isapi__slot *s = slot_of(pfc);
    if (!s)
        return fail(ERROR_INVALID_PARAMETER);
    isapi_conn *c = s->conn;
    switch ((int)req) {
    case SF_REQ_SEND_RESPONSE_HEADER:
        return send_response_header(s, data, (const char *)ul1);

    case SF_REQ_ADD_HEADERS_ON_DENIAL: {
        if (!data || !(c->cur_notif & ISAPI__BEFORE_RESPONSE) || !c->have_req)
            return fail(ERROR_INVALID_PARAMETER);
        size_t keep;
        const char *fault = isapi__header_input_fault(ISAPI__HIN_BLOCK, data, &keep);
        if (fault)
            return refuse_header_text(s, "SF_REQ_ADD_HEADERS_ON_DENIAL", data, fault);
        if (append_header_lines(&c->denial, data, keep) != 0)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        break;
    }

    case SF_REQ_SET_NEXT_READ_SIZE:
        /* a hint for the host's next read (isapi_next_read_size) */
        c->next_read_size = (DWORD)ul1;
        break;

    case SF_REQ_SET_PROXY_INFO:
        /* Why recorded only: no documented effect beyond the flag (IIS SDK). */
        c->proxy = ul1 ? 1 : 0;
        break;

    case SF_REQ_GET_PROPERTY:
        if (ul1 == SF_PROPERTY_INSTANCE_NUM_ID) {
            if (!data)
                return fail(ERROR_INVALID_PARAMETER);
            DWORD id = c->instance_id;
            memcpy(data, &id, sizeof id);
            break;
        }
        /* SF_PROPERTY_SSL_CTXT and anything else: no SSPI context to hand out */
        return fail(ERROR_NOT_SUPPORTED);

    case SF_REQ_NORMALIZE_URL:
        if (!data || isapi__normalize_url(data) != 0)
            return fail(ERROR_INVALID_PARAMETER);
        break;

    case SF_REQ_DISABLE_NOTIFICATIONS:
        /* Why masked: pubcookie passes its whole registration mask, port and order bits
         * included (docs/isapi-reference.md, "ServerSupportFunction requests"). */
        s->disabled |= (DWORD)ul1 & ISAPI__NOTIFY_ALL;
        break;

    case SF_REQ_GET_CONNID:
        /* Why: "not supported by IIS 4, 5 or 6, returns 0" (TMG SDK). */
    case SF_REQ_SET_CERTIFICATE_INFO:
    default:
        return fail(ERROR_NOT_SUPPORTED);
    }
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* ---- header accessors ------------------------------------------------------------- */

/* Returns the slot when the accessor may run now, else NULL with the last error set. */
static isapi__slot *header_slot(HTTP_FILTER_CONTEXT *pfc, const char *name, int response)
{
    isapi__slot *s = slot_of(pfc);
    if (!s || !name) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    DWORD allowed = response ? SF_NOTIFY_SEND_RESPONSE : ISAPI__REQUEST_HEADERS;
    if (!(s->conn->cur_notif & allowed) || !s->conn->have_req) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return s;
}

static char **request_special(isapi_request *r, const char *name)
{
    if (isapi__ieq(name, "url"))
        return &r->url;
    if (isapi__ieq(name, "method"))
        return &r->method;
    if (isapi__ieq(name, "version"))
        return &r->version;
    return NULL;
}

static BOOL get_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf, LPDWORD size,
                       int response)
{
    isapi__slot *s = header_slot(pfc, name, response);
    if (!s)
        return FALSE;
    if (!size)
        return fail(ERROR_INVALID_PARAMETER);
    isapi_request *r = &s->conn->req;
    if (response && isapi__ieq(name, "status")) {
        char line[32 + 1024];
        const char *reason = r->reason ? r->reason : "";
        int n = snprintf(line, sizeof line, "%lu%s%.1024s", (unsigned long)r->status,
                         *reason ? " " : "", reason);
        return isapi__size_result(line, (size_t)n, buf, size);
    }
    char **special = response ? NULL : request_special(r, name);
    if (special) {
        const char *v = *special ? *special : "";
        return isapi__size_result(v, strlen(v), buf, size);
    }
    /* Why lenient about the colon here: IIS 5 failed "Host" without a colon, IIS 6 is
     * documented with it; looking up both spellings breaks no filter
     * (docs/isapi-reference.md, "Header accessors"). */
    int oom;
    char *v = isapi_headers_get_joined(response ? &r->resp_headers : &r->headers, name, &oom);
    if (!v)
        return fail(oom ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_INDEX);
    BOOL ok = isapi__size_result(v, strlen(v), buf, size);
    free(v);
    return ok;
}

static BOOL edit_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value, int add,
                        int response)
{
    isapi__slot *s = header_slot(pfc, name, response);
    if (!s)
        return FALSE;
    if (!value)
        return fail(ERROR_INVALID_PARAMETER);
    isapi_conn *c = s->conn;
    isapi_request *r = &c->req;
    const char *call = add ? "AddHeader" : "SetHeader";
    const char *fault;
    /* Why checked: CR or LF would let a filter split the message (IIS 6 SDK, SetHeader),
     * and any other control byte or a name that is not a token is malformed HTTP. */
    if (response && isapi__ieq(name, "status")) {
        fault = isapi__header_input_fault(ISAPI__HIN_STATUS, value, NULL);
        if (fault)
            return refuse_header_text(s, call, value, fault);
        int rc = *value ? set_status(c, value) : -1;
        if (rc == -1)
            return fail(ERROR_INVALID_PARAMETER);
        if (rc == -2)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    }
    char **special = response ? NULL : request_special(r, name);
    if (special) {
        /* the request line cannot lose a part: "" is refused, AddHeader acts as SetHeader */
        if (!*value)
            return fail(ERROR_INVALID_PARAMETER);
        fault = isapi__header_input_fault(special == &r->method ? ISAPI__HIN_TOKEN
                                          : ISAPI__HIN_TARGET, value, NULL);
        if (fault)
            return refuse_header_text(s, call, value, fault);
        if (isapi_str_set(r, special, value, (size_t)-1) != 0)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    }
    fault = isapi__header_input_fault(ISAPI__HIN_NAME, name, NULL);
    if (fault)
        return refuse_header_text(s, call, name, fault);
    fault = isapi__header_input_fault(ISAPI__HIN_VALUE, value, NULL);
    if (fault)
        return refuse_header_text(s, call, value, fault);
    if (response && !r->has_header_block)
        /* Why: "header not supported by the HTTP version" (IIS 6 SDK, SetHeader) - an
         * HTTP/0.9 response has no headers to change. */
        return fail(ERROR_NOT_SUPPORTED);
    isapi_headers *h = response ? &r->resp_headers : &r->headers;
    int rc = 0;
    if (!*value)
        /* Why: "" deletes (httpfilt.h comment; mod_jk, Shibboleth, WebKnight rely on it) */
        isapi_headers_del(h, name);
    else if (add)
        rc = isapi_headers_add(h, name, strlen(name) - 1, value, (size_t)-1);
    else
        rc = isapi_headers_set(h, name, value);
    if (rc != 0)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL WINAPI req_get_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPVOID b, LPDWORD sz)
{
    return get_header(pfc, n, b, sz, 0);
}
static BOOL WINAPI req_set_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPSTR v)
{
    return edit_header(pfc, n, v, 0, 0);
}
static BOOL WINAPI req_add_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPSTR v)
{
    return edit_header(pfc, n, v, 1, 0);
}
static BOOL WINAPI resp_get_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPVOID b, LPDWORD sz)
{
    return get_header(pfc, n, b, sz, 1);
}
static BOOL WINAPI resp_set_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPSTR v)
{
    return edit_header(pfc, n, v, 0, 1);
}
static BOOL WINAPI resp_add_header(HTTP_FILTER_CONTEXT *pfc, LPSTR n, LPSTR v)
{
    return edit_header(pfc, n, v, 1, 1);
}

static BOOL WINAPI get_user_token(HTTP_FILTER_CONTEXT *pfc, HANDLE *token)
{
    if (!slot_of(pfc) || !token)
        return fail(ERROR_INVALID_PARAMETER);
    /* Why: there is no Windows logon session to hand out (docs/isapi-reference.md,
     * "The other notification structures", AUTH_COMPLETE). */
    *token = NULL;
    return fail(ERROR_NOT_SUPPORTED);
}

/* ---- setup ------------------------------------------------------------------------ */

void isapi__init_context(isapi_conn *c, isapi__slot *s, size_t filter)
{
    memset(s, 0, sizeof *s);
    s->conn = c;
    s->filter = filter;
    s->fc.cbSize = (DWORD)sizeof s->fc;
    s->fc.Revision = c->e->server_filter_version;
    s->fc.ServerContext = s;
    s->fc.fIsSecurePort = c->secure ? TRUE : FALSE;
    s->fc.pFilterContext = NULL;
    s->fc.GetServerVariable = cb_get_server_variable;
    s->fc.AddResponseHeaders = cb_add_response_headers;
    s->fc.WriteClient = cb_write_client;
    s->fc.AllocMem = cb_alloc_mem;
    s->fc.ServerSupportFunction = cb_server_support_function;
}

void isapi__fill_preproc(HTTP_FILTER_PREPROC_HEADERS *p)
{
    memset(p, 0, sizeof *p);
    p->GetHeader = req_get_header;
    p->SetHeader = req_set_header;
    p->AddHeader = req_add_header;
}

void isapi__fill_send_response(HTTP_FILTER_SEND_RESPONSE *p)
{
    memset(p, 0, sizeof *p);
    p->GetHeader = resp_get_header;
    p->SetHeader = resp_set_header;
    p->AddHeader = resp_add_header;
}

void isapi__fill_auth_complete(HTTP_FILTER_AUTH_COMPLETE_INFO *p)
{
    memset(p, 0, sizeof *p);
    p->GetHeader = req_get_header;
    p->SetHeader = req_set_header;
    p->AddHeader = req_add_header;
    p->GetUserToken = get_user_token;
}
