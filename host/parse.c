/*
 * parse.c - HTTP/0.9, 1.0 and 1.1 request heads, body framing, chunked decoding (parse.h).
 *
 * The request head is read line by line. parse_head() finds each line end with memchr(),
 * applies the size limits to the line (complete or not), and only then judges its content:
 * first up to 10 empty lines, then the request line (a simple HTTP/0.9 request is complete
 * right there), then header lines until an empty one. Because content is judged only for
 * complete lines and limits only grow with the input, the answer never depends on how the
 * bytes were split between calls.
 *
 * host_parse_request() adds one shortcut on top: when the caller says the first last_len
 * bytes already gave HOST_PARSE_INCOMPLETE and no LF arrived since, no line was completed,
 * so only the limits of the unfinished last line can have changed. That line is found by a
 * backwards scan bounded by the line limit, and no full reparse happens. A client sending
 * one byte per read thus costs a full parse per line, not per byte.
 *
 * The chunked decoder is a byte-at-a-time state machine except in chunk data, which is
 * moved with memmove(); its whole state lives in host_chunked_decoder_t, so input can be
 * split anywhere. The framing, Connection and Expect helpers walk comma-separated lists
 * across all fields of a name with list_next().
 */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LEADING_EMPTY_LINES 10

const host_parse_limits_t host_parse_default_limits = {
    .max_request_line = 8192,
    .max_header_line = 8192,
    .max_header_bytes = 65536,
    .max_headers = 100,
};

/* RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int eq_ci(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int eq_cs(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

int host_parse_limits_valid(const host_parse_limits_t *l)
{
    return l->max_request_line >= 1 && l->max_request_line <= HOST_PARSE_LIMIT_MAX &&
           l->max_header_line >= 1 && l->max_header_line <= HOST_PARSE_LIMIT_MAX &&
           l->max_header_bytes >= 1 && l->max_header_bytes <= HOST_PARSE_LIMIT_MAX &&
           l->max_headers >= 1 && l->max_headers <= HOST_PARSE_LIMIT_MAX;
}

host_method_t host_method_classify(const char *m, size_t len)
{
    static const struct { const char *name; host_method_t id; } known[] = {
        { "GET", HOST_METHOD_GET },         { "HEAD", HOST_METHOD_HEAD },
        { "POST", HOST_METHOD_POST },       { "PUT", HOST_METHOD_PUT },
        { "DELETE", HOST_METHOD_DELETE },   { "OPTIONS", HOST_METHOD_OPTIONS },
        { "TRACE", HOST_METHOD_TRACE },     { "CONNECT", HOST_METHOD_CONNECT },
        { "PATCH", HOST_METHOD_PATCH },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (eq_cs(m, len, known[i].name))
            return known[i].id;
    return HOST_METHOD_OTHER;
}

size_t host_header_find(const host_header_t *headers, size_t num_headers, const char *name,
                        size_t from)
{
    for (size_t i = from; i < num_headers; i++)
        if (eq_ci(headers[i].name.base, headers[i].name.len, name))
            return i;
    return num_headers;
}

/* --- Request head --------------------------------------------------------------------- */

typedef enum { LINE_REQUEST, LINE_HEADER } line_kind_t;

/* The size checks for the line starting at p. lf is its LF, or NULL when the line is still
 * arriving and end is the end of the data. Returns 0 or the status to answer. */
static int line_limits(const char *buf, const char *p, const char *lf, const char *end,
                       line_kind_t kind, const host_parse_limits_t *lim)
{
    size_t max = kind == LINE_REQUEST ? lim->max_request_line : lim->max_header_line;
    int status = kind == LINE_REQUEST ? 414 : 431;
    if (lf != NULL) {
        size_t n = (size_t)(lf - p);
        if (n > 0 && lf[-1] == '\r')
            n--;
        if (n > max)
            return status;
        if ((size_t)(lf + 1 - buf) > lim->max_header_bytes)
            return 431;
    } else {
        size_t n = (size_t)(end - p);
        /* A final CR may still become the line end, so it does not count yet. */
        if (n > max + 1 || (n == max + 1 && end[-1] != '\r'))
            return status;
        if ((size_t)(end - buf) > lim->max_header_bytes)
            return 431;
    }
    return 0;
}

/* The next LF in p..end, or NULL. (memchr() is not called with an empty range, where its
 * pointer would be one past the data.) */
static const char *find_lf(const char *p, const char *end)
{
    return p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
}

/* End of a complete line's content: the LF, or the CR right before it. */
static const char *content_end(const char *p, const char *lf)
{
    return (lf > p && lf[-1] == '\r') ? lf - 1 : lf;
}

/* "HTTP/" DIGIT "." DIGIT. Returns 0 and the version, or the status to answer. */
static int parse_version(const char *v, size_t n, host_http_version_t *out)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit((unsigned char)v[5]) || v[6] != '.' ||
        !is_digit((unsigned char)v[7]))
        return 400;
    if (v[5] == '1' && v[7] == '0')
        *out = HOST_HTTP_10;
    else if (v[5] == '1' && v[7] == '1')
        *out = HOST_HTTP_11;
    else
        return 505;
    return 0;
}

/* scheme ":" rest, RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static int is_absolute_form(const char *t, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alpha((unsigned char)t[0]))
        return 0;
    while (i < n && (is_alpha((unsigned char)t[i]) || is_digit((unsigned char)t[i]) ||
                     t[i] == '+' || t[i] == '-' || t[i] == '.'))
        i++;
    return i < n && t[i] == ':' && i + 1 < n;
}

/* host ":" port, with no path, query or fragment. */
static int is_authority_form(const char *t, size_t n)
{
    return n > 0 && memchr(t, ':', n) != NULL && memchr(t, '/', n) == NULL &&
           memchr(t, '?', n) == NULL && memchr(t, '#', n) == NULL && t[0] != ':';
}

/* The request line p..e (line end removed). Returns 0 or the status to answer. */
static int parse_request_line(const char *p, const char *e, host_request_line_t *rl)
{
    const char *q = p;
    while (q < e && is_tchar((unsigned char)*q))
        q++;
    if (q == p || q == e || *q != ' ')
        return 400;
    rl->method.base = p;
    rl->method.len = (size_t)(q - p);
    rl->method_id = host_method_classify(p, rl->method.len);

    const char *t = ++q;
    while (q < e && *q != ' ') {
        if (is_ctl((unsigned char)*q))
            return 400;
        q++;
    }
    rl->target.base = t;
    rl->target.len = (size_t)(q - t);
    if (rl->target.len == 0)
        return 400;

    if (q == e) {
        /* Why: RFC 1945 section 4.1, Simple-Request = "GET" SP Request-URI CRLF. */
        if (rl->method_id != HOST_METHOD_GET)
            return 400;
        rl->version = HOST_HTTP_09;
        rl->version_token.base = e;
        rl->version_token.len = 0;
    } else {
        int st = parse_version(q + 1, (size_t)(e - q - 1), &rl->version);
        if (st != 0)
            return st;
        rl->version_token.base = q + 1;
        rl->version_token.len = (size_t)(e - q - 1);
    }

    if (rl->method_id == HOST_METHOD_CONNECT) {
        if (!is_authority_form(t, rl->target.len))
            return 400;
        rl->form = HOST_TARGET_AUTHORITY;
    } else if (t[0] == '/') {
        rl->form = HOST_TARGET_ORIGIN;
    } else if (rl->target.len == 1 && t[0] == '*') {
        if (rl->method_id != HOST_METHOD_OPTIONS)
            return 400;
        rl->form = HOST_TARGET_ASTERISK;
    } else if (is_absolute_form(t, rl->target.len)) {
        rl->form = HOST_TARGET_ABSOLUTE;
    } else {
        return 400;
    }
    return 0;
}

/* A header line p..e (line end removed). Returns 0 or the status to answer. */
static int parse_header_line(const char *p, const char *e, host_header_t *h)
{
    const char *q = p;
    /* A leading SP/HTAB is obsolete line folding (RFC 9112 section 5.2): refused here. */
    while (q < e && is_tchar((unsigned char)*q))
        q++;
    if (q == p || q == e || *q != ':')
        return 400;
    h->name.base = p;
    h->name.len = (size_t)(q - p);

    const char *v = q + 1;
    while (v < e && is_ows((unsigned char)*v))
        v++;
    const char *ve = e;
    while (ve > v && is_ows((unsigned char)ve[-1]))
        ve--;
    for (const char *c = v; c < ve; c++)
        if (is_ctl((unsigned char)*c) && *c != '\t')
            return 400;
    h->value.base = v;
    h->value.len = (size_t)(ve - v);
    return 0;
}

static int fail(int *http_status, int status)
{
    *http_status = status;
    return HOST_PARSE_ERROR;
}

static int parse_head(const char *buf, size_t len, host_request_line_t *rl,
                      host_header_t *headers, size_t *num_headers,
                      const host_parse_limits_t *lim, int *http_status)
{
    const char *p = buf, *end = buf + len, *lf;
    size_t cap = *num_headers < lim->max_headers ? *num_headers : lim->max_headers;
    size_t n = 0;
    int st;

    /* Why: RFC 9112 section 2.2, a server SHOULD ignore at least one empty line (CRLF)
     * before the request line; clients append one after a POST body. */
    for (int empty = 0;; empty++) {
        if (p < end && *p == '\n')
            p += 1;
        else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        else
            break;
        if (empty == MAX_LEADING_EMPTY_LINES)
            return fail(http_status, 400);
    }

    lf = find_lf(p, end);
    if ((st = line_limits(buf, p, lf, end, LINE_REQUEST, lim)) != 0)
        return fail(http_status, st);
    if (lf == NULL)
        return HOST_PARSE_INCOMPLETE;
    if ((st = parse_request_line(p, content_end(p, lf), rl)) != 0)
        return fail(http_status, st);
    p = lf + 1;
    if (rl->version == HOST_HTTP_09) {
        *num_headers = 0;
        return (int)(p - buf);
    }

    for (;;) {
        lf = find_lf(p, end);
        if ((st = line_limits(buf, p, lf, end, LINE_HEADER, lim)) != 0)
            return fail(http_status, st);
        if (lf == NULL)
            return HOST_PARSE_INCOMPLETE;
        const char *e = content_end(p, lf);
        if (e == p)
            break;
        if (n == cap)
            return fail(http_status, 431);
        if ((st = parse_header_line(p, e, &headers[n])) != 0)
            return fail(http_status, st);
        n++;
        p = lf + 1;
    }
    *num_headers = n;
    return (int)(lf + 1 - buf);
}

/* The shortcut described at the top of the file. Returns 1 with *result set when it could
 * decide, 0 when a full parse is needed. */
static int recheck_unfinished_line(const char *buf, size_t len, size_t last_len,
                                   const host_parse_limits_t *lim, int *http_status,
                                   int *result)
{
    size_t max = lim->max_request_line > lim->max_header_line ? lim->max_request_line
                                                              : lim->max_header_line;
    size_t floor = last_len > max + 2 ? last_len - (max + 2) : 0;
    size_t start = last_len;

    if (find_lf(buf + last_len, buf + len) != NULL)
        return 0;
    while (start > floor && buf[start - 1] != '\n')
        start--;
    if (start > 0 && buf[start - 1] != '\n')
        return 0;   /* longer than the previous call could have accepted: reparse */

    /* The line is the request line when only empty lines come before it. */
    line_kind_t kind = LINE_HEADER;
    if (start <= 2 * (MAX_LEADING_EMPTY_LINES + 1)) {
        kind = LINE_REQUEST;
        for (size_t i = 0; i < start; i++)
            if (buf[i] != '\r' && buf[i] != '\n')
                kind = LINE_HEADER;
    }
    int st = line_limits(buf, buf + start, NULL, buf + len, kind, lim);
    *result = st != 0 ? fail(http_status, st) : HOST_PARSE_INCOMPLETE;
    return 1;
}

int host_parse_request(const char *buf, size_t len, host_request_line_t *rl,
                       host_header_t *headers, size_t *num_headers, size_t last_len,
                       const host_parse_limits_t *limits, int *http_status)
{
    int result;
    if (limits == NULL)
        limits = &host_parse_default_limits;
    if (!host_parse_limits_valid(limits))
        abort();
    if (last_len > 0 && last_len <= len &&
        recheck_unfinished_line(buf, len, last_len, limits, http_status, &result))
        return result;
    return parse_head(buf, len, rl, headers, num_headers, limits, http_status);
}

/* --- Comma-separated lists across header fields ---------------------------------------- */

/* Position in a comma-separated list spread over every field of one name. */
typedef struct list_iter {
    const host_header_t *headers;
    size_t n;
    const char *name;
    size_t hi;      /* current field */
    size_t off;     /* offset of the next element in its value */
    int in_field;
} list_iter_t;

static void list_init(list_iter_t *it, const host_header_t *headers, size_t n,
                      const char *name)
{
    it->headers = headers;
    it->n = n;
    it->name = name;
    it->hi = 0;
    it->off = 0;
    it->in_field = 0;
}

/* The next element, OWS-trimmed; empty elements are returned too (len 0), so "a,,b"
 * gives three. Returns 1 with *elem set, 0 at the end. */
static int list_next(list_iter_t *it, host_slice_t *elem)
{
    for (;;) {
        if (!it->in_field) {
            it->hi = host_header_find(it->headers, it->n, it->name, it->hi);
            if (it->hi == it->n)
                return 0;
            it->off = 0;
            it->in_field = 1;
        }
        const host_slice_t *v = &it->headers[it->hi].value;
        if (it->off > v->len) {
            it->hi++;
            it->in_field = 0;
            continue;
        }
        const char *s = v->base + it->off;
        const char *vend = v->base + v->len;
        const char *c = s < vend ? memchr(s, ',', (size_t)(vend - s)) : NULL;
        const char *e = c != NULL ? c : vend;
        it->off = (size_t)(e - v->base) + 1;
        while (s < e && is_ows((unsigned char)*s))
            s++;
        while (e > s && is_ows((unsigned char)e[-1]))
            e--;
        elem->base = s;
        elem->len = (size_t)(e - s);
        return 1;
    }
}

/* A transfer-coding element: token, optionally followed by parameters. Returns the
 * token's length, or 0 when the element is malformed. */
static size_t coding_token(host_slice_t el)
{
    size_t i = 0;
    while (i < el.len && is_tchar((unsigned char)el.base[i]))
        i++;
    if (i == 0)
        return 0;
    size_t j = i;
    while (j < el.len && is_ows((unsigned char)el.base[j]))
        j++;
    if (j < el.len && el.base[j] != ';')
        return 0;
    return i;
}

static int parse_transfer_encoding(const host_header_t *headers, size_t n, int *http_status)
{
    size_t chunked = 0, codings = 0;
    list_iter_t it;
    host_slice_t el;
    int malformed = 0, unknown = 0;
    list_init(&it, headers, n, "Transfer-Encoding");
    while (list_next(&it, &el)) {
        if (el.len == 0)
            continue;
        size_t tl = coding_token(el);
        codings++;
        if (tl == 0)
            malformed = 1;
        else if (tl == el.len && eq_ci(el.base, tl, "chunked"))
            chunked++;
        else
            unknown = 1;
    }
    if (malformed || codings == 0)
        return fail(http_status, 400);
    if (unknown)
        return fail(http_status, 501);
    if (chunked > 1)
        return fail(http_status, 400);
    return 0;
}

static int parse_content_length(const host_header_t *headers, size_t n, uint64_t *out,
                                int *http_status)
{
    list_iter_t it;
    host_slice_t el;
    int seen = 0;
    list_init(&it, headers, n, "Content-Length");
    while (list_next(&it, &el)) {
        uint64_t v = 0;
        if (el.len == 0)
            return fail(http_status, 400);
        for (size_t i = 0; i < el.len; i++) {
            unsigned d = (unsigned)((unsigned char)el.base[i] - '0');
            if (d > 9 || v > (UINT64_MAX - d) / 10)
                return fail(http_status, 400);
            v = v * 10 + d;
        }
        if (seen && v != *out)
            return fail(http_status, 400);
        *out = v;
        seen = 1;
    }
    return 0;
}

int host_parse_body_framing(const host_request_line_t *rl, const host_header_t *headers,
                            size_t num_headers, uint64_t max_body, host_body_framing_t *out,
                            int *http_status)
{
    int has_te = host_header_find(headers, num_headers, "Transfer-Encoding", 0) < num_headers;
    int has_cl = host_header_find(headers, num_headers, "Content-Length", 0) < num_headers;

    out->kind = HOST_BODY_NONE;
    out->content_length = 0;
    if (rl->version == HOST_HTTP_09)
        return 0;
    if (has_te) {
        if (rl->version == HOST_HTTP_10 || has_cl)
            return fail(http_status, 400);
        if (parse_transfer_encoding(headers, num_headers, http_status) != 0)
            return HOST_PARSE_ERROR;
        out->kind = HOST_BODY_CHUNKED;
        return 0;
    }
    if (has_cl) {
        if (parse_content_length(headers, num_headers, &out->content_length, http_status) != 0)
            return HOST_PARSE_ERROR;
        if (out->content_length > max_body)
            return fail(http_status, 413);
        out->kind = HOST_BODY_LENGTH;
        return 0;
    }
    if (rl->method_id == HOST_METHOD_POST || rl->method_id == HOST_METHOD_PUT)
        return fail(http_status, 411);
    return 0;
}

/* --- Chunked decoder ------------------------------------------------------------------ */

enum {
    CH_SIZE_START,    /* first hex digit of a chunk size */
    CH_SIZE,          /* more hex digits */
    CH_SIZE_WS,       /* BWS after the size: ';', CR or LF may follow */
    CH_EXT,           /* inside chunk extensions, up to the line end */
    CH_SIZE_LF,       /* saw CR ending the size line */
    CH_DATA,
    CH_DATA_END,      /* CR or LF after the data */
    CH_DATA_LF,       /* saw CR after the data */
    CH_TRAILER_START, /* start of a trailer line, or the final empty line */
    CH_TRAILER,       /* inside a trailer line */
    CH_TRAILER_LF,    /* saw CR in a trailer line */
    CH_FINAL_LF,      /* saw CR of the final empty line */
    CH_DONE
};

void host_chunked_init(host_chunked_decoder_t *d, uint64_t max_body)
{
    memset(d, 0, sizeof *d);
    d->max_body = max_body;
    d->state = CH_SIZE_START;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* End of the size line: 0 for the last chunk means trailers follow. */
static void size_line_done(host_chunked_decoder_t *d)
{
    d->line_len = 0;
    d->state = d->bytes_left == 0 ? CH_TRAILER_START : CH_DATA;
}

/* A byte after the chunk size's digits: BWS, an extension, or the line end. */
static int after_size(host_chunked_decoder_t *d, unsigned char c)
{
    if (is_ows(c))
        d->state = CH_SIZE_WS;
    else if (c == ';')
        d->state = CH_EXT;
    else if (c == '\r')
        d->state = CH_SIZE_LF;
    else if (c == '\n')
        size_line_done(d);
    else
        return 400;
    return 0;
}

int host_chunked_decode(host_chunked_decoder_t *d, char *buf, size_t len, size_t *decoded,
                        size_t *consumed, int *http_status)
{
    size_t in = 0, out = 0;
    int st = 0;

    while (in < len && d->state != CH_DONE) {
        unsigned char c = (unsigned char)buf[in];
        if (d->state == CH_DATA) {
            size_t n = len - in;
            if ((uint64_t)n > d->bytes_left)
                n = (size_t)d->bytes_left;
            memmove(buf + out, buf + in, n);
            out += n;
            in += n;
            d->bytes_left -= n;
            if (d->bytes_left == 0)
                d->state = CH_DATA_END;
            continue;
        }
        in++;
        if (d->state <= CH_SIZE_LF && ++d->line_len > HOST_CHUNK_LINE_MAX) {
            st = 400;
            break;
        }
        if (d->state >= CH_TRAILER_START && ++d->trailer_bytes > HOST_CHUNK_TRAILER_MAX) {
            st = 431;
            break;
        }
        switch (d->state) {
        case CH_SIZE_START:
        case CH_SIZE: {
            int h = hex_value(c);
            if (h >= 0) {
                if (d->bytes_left > (UINT64_MAX >> 4)) {
                    st = 400;
                    break;
                }
                d->bytes_left = (d->bytes_left << 4) | (uint64_t)h;
                d->state = CH_SIZE;
                if (d->bytes_left > d->max_body - d->total)
                    st = 413;
                break;
            }
            st = d->state == CH_SIZE_START ? 400 : after_size(d, c);
            break;
        }
        case CH_SIZE_WS:
            st = after_size(d, c);
            break;
        case CH_EXT:
            if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c == '\n')
                size_line_done(d);
            else if (is_ctl(c) && c != '\t')
                st = 400;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                st = 400;
            else
                size_line_done(d);
            break;
        case CH_DATA_END:
            if (c == '\r')
                d->state = CH_DATA_LF;
            else if (c == '\n')
                d->state = CH_SIZE_START;
            else
                st = 400;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                st = 400;
            else
                d->state = CH_SIZE_START;
            break;
        case CH_TRAILER_START:
            if (c == '\r')
                d->state = CH_FINAL_LF;
            else if (c == '\n')
                d->state = CH_DONE;
            else if (is_ctl(c) && c != '\t')
                st = 400;
            else
                d->state = CH_TRAILER;
            break;
        case CH_TRAILER:
            if (c == '\r')
                d->state = CH_TRAILER_LF;
            else if (c == '\n')
                d->state = CH_TRAILER_START;
            else if (is_ctl(c) && c != '\t')
                st = 400;
            break;
        case CH_TRAILER_LF:
        case CH_FINAL_LF:
            if (c != '\n')
                st = 400;
            else
                d->state = d->state == CH_FINAL_LF ? CH_DONE : CH_TRAILER_START;
            break;
        default:
            abort();
        }
        if (st != 0)
            break;
        if (d->state == CH_DATA)
            d->total += d->bytes_left;
    }
    *decoded = out;
    *consumed = in;
    if (st != 0)
        return fail(http_status, st);
    return d->state == CH_DONE ? 0 : HOST_PARSE_INCOMPLETE;
}

/* --- Connection and Expect ------------------------------------------------------------ */

unsigned host_parse_connection(const host_header_t *headers, size_t num_headers)
{
    list_iter_t it;
    host_slice_t el;
    unsigned flags = 0;
    list_init(&it, headers, num_headers, "Connection");
    while (list_next(&it, &el)) {
        if (el.len == 0)
            continue;
        if (eq_ci(el.base, el.len, "close"))
            flags |= HOST_CONN_CLOSE;
        else if (eq_ci(el.base, el.len, "keep-alive"))
            flags |= HOST_CONN_KEEP_ALIVE;
        else if (eq_ci(el.base, el.len, "upgrade"))
            flags |= HOST_CONN_UPGRADE;
        else
            flags |= HOST_CONN_OTHER;
    }
    return flags;
}

int host_request_keep_alive(const host_request_line_t *rl, const host_header_t *headers,
                            size_t num_headers)
{
    unsigned flags;
    if (rl->version == HOST_HTTP_09)
        return 0;
    flags = host_parse_connection(headers, num_headers);
    if (flags & HOST_CONN_CLOSE)
        return 0;
    return rl->version == HOST_HTTP_11 || (flags & HOST_CONN_KEEP_ALIVE) != 0;
}

int host_parse_expect(const host_request_line_t *rl, const host_header_t *headers,
                      size_t num_headers, int *expect_continue, int *http_status)
{
    list_iter_t it;
    host_slice_t el;
    *expect_continue = 0;
    /* Why: RFC 9110 section 10.1.1, "A server that receives a 100-continue expectation in
     * an HTTP/1.0 request MUST ignore that expectation." */
    if (rl->version != HOST_HTTP_11)
        return 0;
    list_init(&it, headers, num_headers, "Expect");
    while (list_next(&it, &el)) {
        if (el.len == 0)
            continue;
        if (!eq_ci(el.base, el.len, "100-continue"))
            return fail(http_status, 417);
        *expect_continue = 1;
    }
    return 0;
}

/* --- Host ----------------------------------------------------------------------------- */

static int is_hex(unsigned char c)
{
    return hex_value(c) >= 0;
}

static int is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_sub_delim(unsigned char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* RFC 3986 IPv6address: eight 16-bit groups, one "::" standing for one or more zero
 * groups, the last two groups optionally written as an IPv4 address. */
static int ipv6_valid(const char *s, size_t n)
{
    size_t i = 0;
    int groups = 0, elided = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        elided = 1;
        i = 2;
        if (i == n)
            return 1;   /* "::" */
    } else if (n > 0 && s[0] == ':') {
        return 0;
    }
    for (;;) {
        size_t start = i, hex = 0;
        while (i < n && is_hex((unsigned char)s[i]) && hex < 5)
            i++, hex++;
        if (i < n && s[i] == '.') {
            /* the IPv4 tail: exactly four decimal octets, taking two groups */
            i = start;
            for (int octet = 0; octet < 4; octet++) {
                size_t d = 0, first = i;
                unsigned v = 0;
                while (i < n && is_digit((unsigned char)s[i]) && d < 4)
                    v = v * 10 + (unsigned)(s[i++] - '0'), d++;
                /* dec-octet: 0-255 without leading zeros */
                if (d == 0 || d > 3 || v > 255 || (d > 1 && s[first] == '0'))
                    return 0;
                if (octet < 3) {
                    if (i >= n || s[i] != '.')
                        return 0;
                    i++;
                }
            }
            groups += 2;
            return i == n && (elided ? groups <= 7 : groups == 8);
        }
        if (hex == 0 || hex > 4)
            return 0;
        groups++;
        if (i == n)
            return elided ? groups <= 7 : groups == 8;
        if (s[i] != ':' || i + 1 == n)
            return 0;
        i++;
        if (s[i] == ':') {
            if (elided)
                return 0;
            elided = 1;
            i++;
            if (i == n)
                return groups <= 7;
        }
        if (groups >= 8)
            return 0;
    }
}

/* RFC 3986 IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int ipvfuture_valid(const char *s, size_t n)
{
    size_t i = 1, hex = 0;
    if (n < 4 || (s[0] != 'v' && s[0] != 'V'))
        return 0;
    while (i < n && is_hex((unsigned char)s[i]))
        i++, hex++;
    if (hex == 0 || i >= n || s[i] != '.' || i + 1 == n)
        return 0;
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_unreserved(c) && !is_sub_delim(c) && c != ':')
            return 0;
    }
    return 1;
}

int host_parse_host_valid(const char *value, size_t len)
{
    size_t host_end;
    if (len > 0 && value[0] == '[') {
        const char *close = memchr(value, ']', len);
        if (!close)
            return 0;
        size_t inner = (size_t)(close - value) - 1;
        if (!ipv6_valid(value + 1, inner) && !ipvfuture_valid(value + 1, inner))
            return 0;
        host_end = (size_t)(close - value) + 1;
    } else {
        host_end = 0;
        while (host_end < len && value[host_end] != ':') {
            unsigned char c = (unsigned char)value[host_end];
            if (c == '%') {
                if (host_end + 2 >= len || !is_hex((unsigned char)value[host_end + 1])
                    || !is_hex((unsigned char)value[host_end + 2]))
                    return 0;
                host_end += 3;
                continue;
            }
            if (!is_unreserved(c) && !is_sub_delim(c))
                return 0;
            host_end++;
        }
        if (host_end == 0)
            return 0;
    }
    if (host_end == len)
        return 1;
    if (value[host_end] != ':')
        return 0;
    unsigned long port = 0;
    for (size_t i = host_end + 1; i < len; i++) {
        if (!is_digit((unsigned char)value[i]))
            return 0;
        port = port * 10 + (unsigned long)(value[i] - '0');
        if (port > 65535)
            return 0;
    }
    return 1;
}

int host_parse_host(const host_request_line_t *rl, const host_header_t *headers,
                    size_t num_headers, int *http_status)
{
    size_t count = 0;
    for (size_t h = host_header_find(headers, num_headers, "Host", 0); h < num_headers;
         h = host_header_find(headers, num_headers, "Host", h + 1)) {
        count++;
        if (!host_parse_host_valid(headers[h].value.base, headers[h].value.len))
            return fail(http_status, 400);
    }
    if (count > 1 || (rl->version == HOST_HTTP_11 && count == 0))
        return fail(http_status, 400);
    return 0;
}
