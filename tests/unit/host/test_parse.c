/*
 * test_parse.c - the request parser and body-framing helpers of host/parse.c.
 *
 * Every input is copied so that it ends right before a PROT_NONE page (guard_put), the way
 * picohttpparser's test.c does: a parser that reads one byte past the data it was given
 * crashes the test instead of passing by luck. test_guard_page_traps proves the trap works.
 *
 * The request table (cases[]) holds each accepted and refused input with the answer it
 * must get. Each entry runs three ways: in one call; byte by byte with last_len (the
 * answer must come at the same byte and be identical, fields included); and at every
 * prefix, with and without last_len, which must agree (the shortcut is only a shortcut).
 * The chunked decoder gets the same one-shot versus byte-by-byte comparison.
 */
#include "parse.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- Guard-page harness --------------------------------------------------------------- */

typedef struct guard {
    char *map;
    size_t maplen;
    char *end;   /* first byte of the PROT_NONE page */
} guard_t;

static void guard_init(guard_t *g, size_t capacity)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (capacity + page - 1) / page * page;
    if (data == 0)
        data = page;
    g->maplen = data + page;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(g->map != MAP_FAILED, "mmap failed");
    ck_assert_int_eq(mprotect(g->map + data, page, PROT_NONE), 0);
    g->end = g->map + data;
}

/* Copies src so that its last byte is the last readable byte before the guard page. */
static char *guard_put(guard_t *g, const char *src, size_t len)
{
    ck_assert_uint_le(len, (size_t)(g->end - g->map));
    char *p = g->end - len;
    memmove(p, src, len);
    return p;
}

static void guard_free(guard_t *g)
{
    munmap(g->map, g->maplen);
}

START_TEST(test_guard_page_traps)
{
    guard_t g;
    guard_init(&g, 16);
    volatile char *p = guard_put(&g, "GET", 3);
    /* Why SIG_DFL: AddressSanitizer installs its own SIGSEGV handler, which exits instead
     * of dying by the signal this test expects. */
    signal(SIGSEGV, SIG_DFL);
    ck_assert_int_eq(p[2], 'T');
    (void)p[3];
    ck_abort_msg("read past the guard page did not fault");
}
END_TEST

/* --- The request table ---------------------------------------------------------------- */

#define OK 1          /* complete head: the whole input (or `consumed` bytes of it) */
#define INC (-2)      /* HOST_PARSE_INCOMPLETE */

static const host_parse_limits_t small = {
    .max_request_line = 20, .max_header_line = 16, .max_header_bytes = 64, .max_headers = 3,
};

typedef struct pcase {
    const char *in;
    size_t len;                      /* input length (inputs may hold NUL) */
    int want;                        /* OK, INC or the refusal's HTTP status */
    int version;                     /* with OK: 9, 10 or 11 */
    size_t nhdr;                     /* with OK: header count */
    size_t consumed;                 /* with OK: head length, 0 = the whole input */
    const host_parse_limits_t *lim;  /* NULL = defaults */
} pcase_t;

#define C(s, ...) { s, sizeof(s) - 1, __VA_ARGS__ }

static const pcase_t cases[] = {
    /* HTTP/1.x accepted */
    C("GET / HTTP/1.1\r\nHost: a\r\n\r\n", OK, 11, 1),
    C("GET / HTTP/1.0\r\n\r\n", OK, 10, 0),
    C("GET / HTTP/1.1\nHost: a\n\n", OK, 11, 1),
    C("GET / HTTP/1.1\r\nHost: a\n\r\n", OK, 11, 1),
    C("GET http://example.com/x?y HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("OPTIONS * HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("CONNECT example.com:443 HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("BREW /pot HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("get / HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("GET //a//b HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("GET /\xc3\xa9t\xc3\xa9 HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("GET / HTTP/1.1\r\nX:\r\n\r\n", OK, 11, 1),
    C("GET / HTTP/1.1\r\nX: \t a\tb \t\r\n\r\n", OK, 11, 1),
    C("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", OK, 11, 1),
    C("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n", OK, 11, 1),
    C("\r\nGET / HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("\n\r\n\nGET / HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", OK, 11, 0),
    C("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400),
    /* pipelining: the head ends where the next request starts */
    C("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", OK, 11, 0, 19),
    C("GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", OK, 11, 1, 38),
    C("GET /a\r\nGET /b\r\n", OK, 9, 0, 8),

    /* HTTP/0.9 simple requests */
    C("GET /path\r\n", OK, 9, 0),
    C("GET /path\n", OK, 9, 0),
    C("GET http://example.com/\r\n", OK, 9, 0),
    C("POST /x\r\n", 400),
    C("HEAD /x\n", 400),
    C("OPTIONS *\r\n", 400),
    C("GET *\r\n", 400),
    C("GET /path \r\n", 400),
    C("GET / HTTP/0.9\r\n\r\n", 505),

    /* incomplete */
    C("", INC),
    C("G", INC),
    C("GET /path", INC),
    C("GET /path\r", INC),
    C("GET / HTTP/1.1\r\n", INC),
    C("GET / HTTP/1.1\r\nHost: a\r\n", INC),
    C("GET / HTTP/1.1\r\nHost: a\r\n\r", INC),
    C("\r\n", INC),

    /* request line refused */
    C("GET\r\n", 400),
    C("GET \r\n", 400),
    C(" GET / HTTP/1.1\r\n\r\n", 400),
    C("GET  / HTTP/1.1\r\n\r\n", 400),
    C("GET /  HTTP/1.1\r\n\r\n", 400),
    C("GET / HTTP/1.1 \r\n\r\n", 400),
    C("GET /a b HTTP/1.1\r\n\r\n", 400),
    C("GET\t/ HTTP/1.1\r\n\r\n", 400),
    C("GET /\t HTTP/1.1\r\n\r\n", 400),
    C("GET /\x01 HTTP/1.1\r\n\r\n", 400),
    C("GET /\x7f HTTP/1.1\r\n\r\n", 400),
    C("GET /\0 HTTP/1.1\r\n\r\n", 400),
    C("GET /\r HTTP/1.1\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\r\n\r\n", 400),
    C("G@T / HTTP/1.1\r\n\r\n", 400),
    C("G\0T / HTTP/1.1\r\n\r\n", 400),
    C("GET x HTTP/1.1\r\n\r\n", 400),
    C("GET * HTTP/1.1\r\n\r\n", 400),
    C("M-SEARCH * HTTP/1.1\r\n\r\n", 400),
    C("OPTIONS *x HTTP/1.1\r\n\r\n", 400),
    C("GET 1http://x/ HTTP/1.1\r\n\r\n", 400),
    C("GET http: HTTP/1.1\r\n\r\n", 400),
    C("CONNECT /x HTTP/1.1\r\n\r\n", 400),
    C("CONNECT example.com HTTP/1.1\r\n\r\n", 400),
    C("\rGET / HTTP/1.1\r\n\r\n", 400),

    /* versions */
    C("GET / HTTP/1.2\r\n\r\n", 505),
    C("GET / HTTP/2.0\r\n\r\n", 505),
    C("GET / HTTP/0.0\r\n\r\n", 505),
    C("GET / HTTP/9.9\r\n\r\n", 505),
    C("GET / HTTP/1.10\r\n\r\n", 400),
    C("GET / http/1.1\r\n\r\n", 400),
    C("GET / Http/1.1\r\n\r\n", 400),
    C("GET / HTTP/2\r\n\r\n", 400),
    C("GET / HTTP/1\r\n\r\n", 400),
    C("GET / HTTP/1.\r\n\r\n", 400),
    C("GET / HTTP/1.1x\r\n\r\n", 400),
    C("GET / HTTPS/1.1\r\n\r\n", 400),
    C("GET / HTTP/1,1\r\n\r\n", 400),
    C("GET / HTTP/a.1\r\n\r\n", 400),
    C("GET / HTTP/1.1 HTTP/1.1\r\n\r\n", 400),

    /* header lines refused */
    C("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\n: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nX: a\r\n\r\r\n", 400),
    C("GET / HTTP/1.1\r\n\xc3\xa9: a\r\n\r\n", 400),

    /* limits (small: line 20, header line 16, head 64, 3 headers) */
    C("GET /aaaaaa HTTP/1.1\r\n\r\n", OK, 11, 0, 0, &small),
    C("GET /aaaaaaa HTTP/1.1\r\n\r\n", 414, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaaaaaaaaaaaaa", 414, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaa", INC, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaa\r", INC, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaa\r\n", OK, 9, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaaa", 414, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaaa\r", 414, 0, 0, 0, &small),
    C("GET /aaaaaaaaaaaaaaaa\n", 414, 0, 0, 0, &small),
    C("\r\n\r\nGET /aaaaaaaaaaaaaaaa", 414, 0, 0, 0, &small),
    C("\r\n\r\nGET /aaaaaaaaaaaaaaa", INC, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nX: 0123456789abc\r\n\r\n", OK, 11, 1, 0, &small),
    C("GET / HTTP/1.1\r\nX: 0123456789abcd\r\n\r\n", 431, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nX: 0123456789abcdefgh", 431, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nX: 0123456789abc\r", INC, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", OK, 11, 3, 0, &small),
    C("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nA: 0123456789ab\r\nB: 0123456789ab\r\nC: 0123456\r\n\r\n",
      OK, 11, 3, 0, &small),
    C("GET / HTTP/1.1\r\nA: 0123456789ab\r\nB: 0123456789ab\r\nC: 01234567\r\n\r\n",
      431, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nA: 0123456789ab\r\nB: 0123456789ab\r\nC: 0123456\r\n\r",
      INC, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nA: 0123456789ab\r\nB: 0123456789ab\r\nC: 0123456789ab",
      431, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nA: 0123456789ab\r\nB: 0123456789ab\r\nC: 012345678",
      INC, 0, 0, 0, &small),
    C("GET /aaaaaaaa HTTP/1.1\r\nX: 0123456789abcd\r\n\r\n", 414, 0, 0, 0, &small),
    C("GET / HTTP/1.1\r\nX: 0123456789abcd\r\n\0\r\n", 431, 0, 0, 0, &small),
};

/* A parse result with the slices turned into offsets, so results from two copies of the
 * same input can be compared. */
typedef struct result {
    int rc, status;
    host_request_line_t rl;
    size_t off[3], nhdr;
    size_t hoff[8][2], hlen[8][2];
} result_t;

#define MAX_HDR 8

static result_t run(const char *buf, size_t len, size_t last_len,
                    const host_parse_limits_t *lim)
{
    result_t r;
    host_header_t h[MAX_HDR];
    memset(&r, 0, sizeof r);
    r.nhdr = MAX_HDR;
    r.status = -12345;
    r.rc = host_parse_request(buf, len, &r.rl, h, &r.nhdr, last_len, lim, &r.status);
    if (r.rc > 0) {
        r.off[0] = (size_t)(r.rl.method.base - buf);
        r.off[1] = (size_t)(r.rl.target.base - buf);
        r.off[2] = (size_t)(r.rl.version_token.base - buf);
        for (size_t i = 0; i < r.nhdr && i < MAX_HDR; i++) {
            r.hoff[i][0] = (size_t)(h[i].name.base - buf);
            r.hoff[i][1] = (size_t)(h[i].value.base - buf);
            r.hlen[i][0] = h[i].name.len;
            r.hlen[i][1] = h[i].value.len;
        }
        r.rl.method.base = r.rl.target.base = r.rl.version_token.base = NULL;
    } else {
        memset(&r.rl, 0, sizeof r.rl);
        r.nhdr = 0;
        if (r.rc == INC)
            r.status = 0;
    }
    return r;
}

static void assert_same(const result_t *a, const result_t *b, const char *what, size_t at)
{
    ck_assert_msg(a->rc == b->rc && a->status == b->status,
                  "%s at %zu bytes: got %d/%d, one shot gives %d/%d", what, at, a->rc,
                  a->status, b->rc, b->status);
    ck_assert_msg(memcmp(&a->rl, &b->rl, sizeof a->rl) == 0 && a->nhdr == b->nhdr &&
                      memcmp(a->off, b->off, sizeof a->off) == 0 &&
                      memcmp(a->hoff, b->hoff, sizeof a->hoff) == 0 &&
                      memcmp(a->hlen, b->hlen, sizeof a->hlen) == 0,
                  "%s at %zu bytes: fields differ", what, at);
}

static void show(char *out, size_t outlen, const char *in, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    out[o] = 0;
}

START_TEST(test_request_one_shot)
{
    const pcase_t *c = &cases[_i];
    char name[512];
    guard_t g;
    show(name, sizeof name, c->in, c->len);
    guard_init(&g, c->len);
    const char *buf = guard_put(&g, c->in, c->len);
    result_t r = run(buf, c->len, 0, c->lim);

    if (c->want == OK) {
        size_t want_len = c->consumed ? c->consumed : c->len;
        ck_assert_msg(r.rc == (int)want_len, "\"%s\": got %d (status %d), want %zu", name,
                      r.rc, r.status, want_len);
        ck_assert_msg((int)r.rl.version == c->version, "\"%s\": version %d, want %d", name,
                      (int)r.rl.version, c->version);
        ck_assert_msg(r.nhdr == c->nhdr, "\"%s\": %zu headers, want %zu", name, r.nhdr,
                      c->nhdr);
    } else if (c->want == INC) {
        ck_assert_msg(r.rc == INC, "\"%s\": got %d (status %d), want incomplete", name, r.rc,
                      r.status);
    } else {
        ck_assert_msg(r.rc == HOST_PARSE_ERROR && r.status == c->want,
                      "\"%s\": got %d (status %d), want status %d", name, r.rc, r.status,
                      c->want);
    }
    guard_free(&g);
}
END_TEST

START_TEST(test_request_byte_by_byte)
{
    const pcase_t *c = &cases[_i];
    char name[512];
    guard_t g;
    show(name, sizeof name, c->in, c->len);
    guard_init(&g, c->len);
    result_t whole = run(guard_put(&g, c->in, c->len), c->len, 0, c->lim);
    size_t stop = whole.rc > 0 ? (size_t)whole.rc : c->len;
    result_t r = { .rc = INC };

    /* Fed one byte at a time, each prefix at the guard page, with last_len: nothing but
     * "incomplete" before the byte where the one-shot answer becomes known. */
    size_t last = 0;
    for (size_t i = 1; i <= c->len; i++) {
        r = run(guard_put(&g, c->in, i), i, last, c->lim);
        if (r.rc != INC)
            break;
        last = i;
    }
    if (c->len == 0)
        r = run(guard_put(&g, c->in, 0), 0, 0, c->lim);
    assert_same(&r, &whole, name, c->len);
    if (whole.rc > 0)
        ck_assert_msg(last + 1 == stop, "\"%s\": complete after %zu bytes, want %zu", name,
                      last + 1, stop);
    guard_free(&g);
}
END_TEST

START_TEST(test_request_every_prefix)
{
    const pcase_t *c = &cases[_i];
    char name[512];
    guard_t g;
    show(name, sizeof name, c->in, c->len);
    guard_init(&g, c->len);
    /* The shortcut taken with last_len must answer as a full parse of the same prefix,
     * whatever earlier length it is given, as long as that length was incomplete. */
    for (size_t i = 0; i <= c->len; i++) {
        const char *buf = guard_put(&g, c->in, i);
        result_t full = run(buf, i, 0, c->lim);
        for (size_t last = 1; last < i; last++) {
            if (run(buf, last, 0, c->lim).rc != INC)
                break;
            result_t inc = run(buf, i, last, c->lim);
            assert_same(&inc, &full, name, i);
        }
    }
    guard_free(&g);
}
END_TEST

/* --- Fields ----------------------------------------------------------------------------- */

static int slice_is(host_slice_t s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.base, want, s.len) == 0;
}

START_TEST(test_request_fields)
{
    static const char req[] = "\r\nPATCH /a%20b?c=d HTTP/1.1\r\nHost: example.com\r\n"
                              "X-Empty:\r\nX-Pad: \t spaced out \t\r\nhost: second\n\r\n";
    guard_t g;
    host_request_line_t rl;
    host_header_t h[8];
    size_t n = 8;
    int status = 0;
    guard_init(&g, sizeof req - 1);
    const char *buf = guard_put(&g, req, sizeof req - 1);
    int rc = host_parse_request(buf, sizeof req - 1, &rl, h, &n, 0, NULL, &status);
    ck_assert_int_eq(rc, (int)(sizeof req - 1));
    ck_assert(slice_is(rl.method, "PATCH"));
    ck_assert_int_eq(rl.method_id, HOST_METHOD_PATCH);
    ck_assert(slice_is(rl.target, "/a%20b?c=d"));
    ck_assert_int_eq(rl.form, HOST_TARGET_ORIGIN);
    ck_assert(slice_is(rl.version_token, "HTTP/1.1"));
    ck_assert_int_eq(rl.version, HOST_HTTP_11);
    ck_assert_uint_eq(n, 4);
    ck_assert(slice_is(h[0].name, "Host") && slice_is(h[0].value, "example.com"));
    ck_assert(slice_is(h[1].name, "X-Empty") && h[1].value.len == 0);
    ck_assert(slice_is(h[2].name, "X-Pad") && slice_is(h[2].value, "spaced out"));
    ck_assert(slice_is(h[3].name, "host") && slice_is(h[3].value, "second"));
    ck_assert_uint_eq(host_header_find(h, n, "HOST", 0), 0);
    ck_assert_uint_eq(host_header_find(h, n, "HOST", 1), 3);
    ck_assert_uint_eq(host_header_find(h, n, "Hos", 0), n);
    guard_free(&g);
}
END_TEST

START_TEST(test_request_fields_09)
{
    static const char req[] = "GET /index.html\r\n";
    guard_t g;
    host_request_line_t rl;
    host_header_t h[1];
    size_t n = 1;
    int status = 0;
    guard_init(&g, sizeof req - 1);
    const char *buf = guard_put(&g, req, sizeof req - 1);
    ck_assert_int_eq(host_parse_request(buf, sizeof req - 1, &rl, h, &n, 0, NULL, &status),
                     (int)(sizeof req - 1));
    ck_assert_int_eq(rl.version, HOST_HTTP_09);
    ck_assert_uint_eq(rl.version_token.len, 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(slice_is(rl.method, "GET"));
    ck_assert(slice_is(rl.target, "/index.html"));
    guard_free(&g);
}
END_TEST

START_TEST(test_target_forms)
{
    static const struct { const char *req; host_target_form_t form; } t[] = {
        { "GET /x HTTP/1.1\r\n\r\n", HOST_TARGET_ORIGIN },
        { "GET http://h/x HTTP/1.1\r\n\r\n", HOST_TARGET_ABSOLUTE },
        { "GET svn+ssh://h HTTP/1.1\r\n\r\n", HOST_TARGET_ABSOLUTE },
        { "CONNECT h:443 HTTP/1.1\r\n\r\n", HOST_TARGET_AUTHORITY },
        { "OPTIONS * HTTP/1.0\r\n\r\n", HOST_TARGET_ASTERISK },
        { "GET http://h/\r\n", HOST_TARGET_ABSOLUTE },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        host_request_line_t rl;
        host_header_t h[1];
        size_t n = 1;
        int status = 0;
        size_t len = strlen(t[i].req);
        ck_assert_int_eq(host_parse_request(t[i].req, len, &rl, h, &n, 0, NULL, &status),
                         (int)len);
        ck_assert_msg(rl.form == t[i].form, "%s: form %d, want %d", t[i].req, (int)rl.form,
                      (int)t[i].form);
    }
}
END_TEST

START_TEST(test_header_array_capacity)
{
    static const char req[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
    host_request_line_t rl;
    host_header_t h[2];
    size_t n = 1;
    int status = 0;
    ck_assert_int_eq(host_parse_request(req, sizeof req - 1, &rl, h, &n, 0, NULL, &status),
                     HOST_PARSE_ERROR);
    ck_assert_int_eq(status, 431);
    ck_assert_uint_eq(n, 1);
    n = 2;
    ck_assert_int_eq(host_parse_request(req, sizeof req - 1, &rl, h, &n, 0, NULL, &status),
                     (int)(sizeof req - 1));
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_default_limits)
{
    /* 8192-byte request line accepted, 8193 refused; a head over 65536 bytes refused. */
    size_t cap = 70000;
    char *req = malloc(cap);
    guard_t g;
    host_request_line_t rl;
    host_header_t h[100];
    size_t n;
    int status;
    guard_init(&g, cap);

    for (size_t line = 8192; line <= 8193; line++) {
        memcpy(req, "GET /", 5);
        memset(req + 5, 'a', line - 5 - 9);
        memcpy(req + line - 9, " HTTP/1.1\r\n\r\n", 13);
        n = 100;
        status = 0;
        int rc = host_parse_request(guard_put(&g, req, line + 4), line + 4, &rl, h, &n, 0,
                                    NULL, &status);
        if (line == 8192)
            ck_assert_int_eq(rc, (int)line + 4);
        else
            ck_assert_msg(rc == HOST_PARSE_ERROR && status == 414, "got %d/%d", rc, status);
    }

    size_t len = 0;
    len += (size_t)sprintf(req, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 9; i++) {
        len += (size_t)sprintf(req + len, "X-%d: ", i);
        memset(req + len, 'v', 7300);
        len += 7300;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    memcpy(req + len, "\r\n", 2);
    len += 2;
    n = 100;
    status = 0;
    ck_assert_int_eq(host_parse_request(guard_put(&g, req, len), len, &rl, h, &n, 0, NULL,
                                        &status),
                     HOST_PARSE_ERROR);
    ck_assert_int_eq(status, 431);
    free(req);
    guard_free(&g);
}
END_TEST

START_TEST(test_limits_valid)
{
    host_parse_limits_t l = host_parse_default_limits;
    ck_assert_int_eq(host_parse_limits_valid(&l), 1);
    l.max_headers = 0;
    ck_assert_int_eq(host_parse_limits_valid(&l), 0);
    l = host_parse_default_limits;
    l.max_header_bytes = HOST_PARSE_LIMIT_MAX + 1;
    ck_assert_int_eq(host_parse_limits_valid(&l), 0);
}
END_TEST

START_TEST(test_invalid_limits_abort)
{
    host_parse_limits_t l = host_parse_default_limits;
    host_request_line_t rl;
    host_header_t h[1];
    size_t n = 1;
    int status;
    l.max_request_line = 0;
    host_parse_request("GET /\r\n", 7, &rl, h, &n, 0, &l, &status);
}
END_TEST

START_TEST(test_method_classify)
{
    static const struct { const char *m; host_method_t id; } t[] = {
        { "GET", HOST_METHOD_GET },         { "HEAD", HOST_METHOD_HEAD },
        { "POST", HOST_METHOD_POST },       { "PUT", HOST_METHOD_PUT },
        { "DELETE", HOST_METHOD_DELETE },   { "OPTIONS", HOST_METHOD_OPTIONS },
        { "TRACE", HOST_METHOD_TRACE },     { "CONNECT", HOST_METHOD_CONNECT },
        { "PATCH", HOST_METHOD_PATCH },     { "get", HOST_METHOD_OTHER },
        { "GETS", HOST_METHOD_OTHER },      { "GE", HOST_METHOD_OTHER },
        { "", HOST_METHOD_OTHER },          { "PROPFIND", HOST_METHOD_OTHER },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(host_method_classify(t[i].m, strlen(t[i].m)) == t[i].id,
                      "%s: got %d", t[i].m, (int)host_method_classify(t[i].m, strlen(t[i].m)));
}
END_TEST

/* --- Body framing, Connection, Expect --------------------------------------------------- */

typedef struct parsed {
    host_request_line_t rl;
    host_header_t h[16];
    size_t n;
} parsed_t;

static void parse_or_fail(const char *req, parsed_t *p)
{
    int status = 0;
    p->n = 16;
    int rc = host_parse_request(req, strlen(req), &p->rl, p->h, &p->n, 0, NULL, &status);
    ck_assert_msg(rc == (int)strlen(req), "%s: does not parse (%d/%d)", req, rc, status);
}

#define NONE_ 0
#define LEN_ 1
#define CHUNKED_ 2

static const struct fcase {
    const char *req;
    int want;             /* NONE_, LEN_, CHUNKED_ or a status */
    uint64_t length;
} framing[] = {
    { "GET / HTTP/1.1\r\n\r\n", NONE_, 0 },
    { "DELETE /x HTTP/1.1\r\n\r\n", NONE_, 0 },
    { "GET /\r\n", NONE_, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", LEN_, 5 },
    { "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", LEN_, 0 },
    { "POST / HTTP/1.0\r\nContent-Length: 007\r\n\r\n", LEN_, 7 },
    { "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", LEN_, 3 },
    { "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", LEN_, 5 },
    { "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", LEN_, 5 },
    { "POST / HTTP/1.1\r\nContent-Length: 5,05\r\n\r\n", LEN_, 5 },
    { "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", LEN_, 1000 },
    { "POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", 413, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", 413, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5.0\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", CHUNKED_, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", CHUNKED_, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", CHUNKED_, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n", CHUNKED_, 0 },
    { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: @\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked x\r\n\r\n", 400, 0 },
    { "POST / HTTP/1.1\r\n\r\n", 411, 0 },
    { "PUT / HTTP/1.1\r\n\r\n", 411, 0 },
    { "POST / HTTP/1.0\r\n\r\n", 411, 0 },
    { "PATCH / HTTP/1.1\r\n\r\n", NONE_, 0 },
};

START_TEST(test_body_framing)
{
    const struct fcase *c = &framing[_i];
    parsed_t p;
    host_body_framing_t f;
    int status = -12345;
    parse_or_fail(c->req, &p);
    int rc = host_parse_body_framing(&p.rl, p.h, p.n, 1000, &f, &status);
    if (c->want >= 100) {
        ck_assert_msg(rc == HOST_PARSE_ERROR && status == c->want, "%s: got %d/%d, want %d",
                      c->req, rc, status, c->want);
        return;
    }
    ck_assert_msg(rc == 0, "%s: refused with %d", c->req, status);
    static const host_body_kind_t kinds[] = { HOST_BODY_NONE, HOST_BODY_LENGTH,
                                              HOST_BODY_CHUNKED };
    ck_assert_msg(f.kind == kinds[c->want], "%s: kind %d", c->req, (int)f.kind);
    if (f.kind == HOST_BODY_LENGTH)
        ck_assert_msg(f.content_length == c->length, "%s: length %llu", c->req,
                      (unsigned long long)f.content_length);
}
END_TEST

START_TEST(test_connection)
{
    static const struct { const char *req; unsigned flags; int keep; } t[] = {
        { "GET / HTTP/1.1\r\n\r\n", 0, 1 },
        { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", HOST_CONN_CLOSE, 0 },
        { "GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", HOST_CONN_CLOSE, 0 },
        { "GET / HTTP/1.1\r\nConnection: Keep-Alive, Upgrade\r\n\r\n",
          HOST_CONN_KEEP_ALIVE | HOST_CONN_UPGRADE, 1 },
        { "GET / HTTP/1.1\r\nConnection: foo\r\nConnection: ,close,\r\n\r\n",
          HOST_CONN_OTHER | HOST_CONN_CLOSE, 0 },
        { "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", HOST_CONN_OTHER, 1 },
        { "GET / HTTP/1.0\r\n\r\n", 0, 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", HOST_CONN_KEEP_ALIVE, 1 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
          HOST_CONN_KEEP_ALIVE | HOST_CONN_CLOSE, 0 },
        { "GET /\r\n", 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        parsed_t p;
        parse_or_fail(t[i].req, &p);
        ck_assert_msg(host_parse_connection(p.h, p.n) == t[i].flags, "%s: flags %#x",
                      t[i].req, host_parse_connection(p.h, p.n));
        ck_assert_msg(host_request_keep_alive(&p.rl, p.h, p.n) == t[i].keep, "%s: keep %d",
                      t[i].req, host_request_keep_alive(&p.rl, p.h, p.n));
    }
}
END_TEST

START_TEST(test_expect)
{
    static const struct { const char *req; int rc, cont; } t[] = {
        { "POST / HTTP/1.1\r\n\r\n", 0, 0 },
        { "POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 0, 1 },
        { "POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", 0, 1 },
        { "POST / HTTP/1.1\r\nExpect:\r\n\r\n", 0, 0 },
        { "POST / HTTP/1.1\r\nExpect: foo\r\n\r\n", 417, 0 },
        { "POST / HTTP/1.1\r\nExpect: 100-continue, foo\r\n\r\n", 417, 0 },
        { "POST / HTTP/1.1\r\nExpect: 100-continue;x=1\r\n\r\n", 417, 0 },
        { "POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417, 0 },
        { "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0 },
        { "POST / HTTP/1.0\r\nExpect: foo\r\n\r\n", 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        parsed_t p;
        int cont = -1, status = 0;
        parse_or_fail(t[i].req, &p);
        int rc = host_parse_expect(&p.rl, p.h, p.n, &cont, &status);
        if (t[i].rc == 0)
            ck_assert_msg(rc == 0 && cont == t[i].cont, "%s: got %d, continue %d", t[i].req,
                          rc, cont);
        else
            ck_assert_msg(rc == HOST_PARSE_ERROR && status == t[i].rc, "%s: got %d/%d",
                          t[i].req, rc, status);
    }
}
END_TEST

/* --- Chunked decoder -------------------------------------------------------------------- */

typedef struct ccase {
    const char *in;
    size_t len;
    int want;               /* 0 = done, INC, or a status */
    const char *body;       /* with 0 or INC: the decoded bytes */
    size_t consumed;        /* with 0: input bytes that were the body, 0 = all */
    uint64_t max_body;      /* 0 = UINT64_MAX */
} ccase_t;

static const ccase_t chunks[] = {
    C("5\r\nhello\r\n0\r\n\r\n", 0, "hello"),
    C("5\nhello\n0\n\n", 0, "hello"),
    C("3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", 0, "abc0123456789"),
    C("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n1A\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n0\r\n\r\n",
      0, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    C("0005\r\nhello\r\n0000\r\n\r\n", 0, "hello"),
    C("5;name=value\r\nhello\r\n0;last\r\n\r\n", 0, "hello"),
    C("5 ;a=\"q\"\t\r\nhello\r\n0 \r\n\r\n", 0, "hello"),
    C("5\r\nhello\r\n0\r\nX-Trailer: y\r\nZ: w\n\r\n", 0, "hello"),
    C("0\r\n\r\n", 0, ""),
    C("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, "hello", 15),
    C("5\r\nhel", INC, "hel"),
    C("5\r\nhello\r\n0\r\n", INC, "hello"),
    C("5\r\nhello\r\n0\r\nX: y\r\n", INC, "hello"),
    C("4\r\nabcd\r\n0\r\n\r\n", 0, "abcd", 0, 4),
    C("5\r\nhello\r\n", 413, NULL, 0, 4),
    C("3\r\nabc\r\n3\r\n", 413, NULL, 0, 5),
    C("\r\n", 400),
    C(";x\r\n", 400),
    C("g\r\n", 400),
    C("-5\r\n", 400),
    C("0x5\r\n", 400),
    C("5x\r\n", 400),
    C("5 5\r\n", 400),
    C("5\rx", 400),
    C("5\r\nhelloX", 400),
    C("5\r\nhello\rX", 400),
    C("5\r\nhello\r\r\n", 400),
    C("5;a\0b\r\n", 400),
    C("5;a\rb\r\n", 400),
    C("10000000000000000\r\n", 400),
    C("FFFFFFFFFFFFFFFF\r\n", 413, NULL, 0, 1000),
    C("0\r\nX: a\0\r\n\r\n", 400),
    C("0\r\nX: a\rb\r\n\r\n", 400),
    C("0\r\n\rx", 400),
};

typedef struct cresult {
    int rc, status;
    size_t consumed;
    char body[512];
    size_t body_len;
} cresult_t;

/* Feeds the input in pieces of `step` bytes, each piece placed at the guard page. */
static cresult_t decode_steps(const ccase_t *c, size_t step)
{
    cresult_t r;
    host_chunked_decoder_t d;
    guard_t g;
    memset(&r, 0, sizeof r);
    host_chunked_init(&d, c->max_body ? c->max_body : UINT64_MAX);
    guard_init(&g, c->len);
    r.rc = INC;
    for (size_t at = 0; at < c->len && r.rc == INC;) {
        size_t n = c->len - at < step ? c->len - at : step;
        char *buf = guard_put(&g, c->in + at, n);
        size_t decoded = 0, consumed = 0;
        r.rc = host_chunked_decode(&d, buf, n, &decoded, &consumed, &r.status);
        ck_assert_uint_le(decoded, consumed);
        ck_assert_uint_le(consumed, n);
        if (r.rc == INC)
            ck_assert_uint_eq(consumed, n);
        ck_assert_uint_le(r.body_len + decoded, sizeof r.body);
        memcpy(r.body + r.body_len, buf, decoded);
        r.body_len += decoded;
        r.consumed += consumed;
        at += n;
    }
    guard_free(&g);
    return r;
}

START_TEST(test_chunked)
{
    const ccase_t *c = &chunks[_i];
    char name[512];
    show(name, sizeof name, c->in, c->len);
    cresult_t whole = decode_steps(c, c->len ? c->len : 1);

    if (c->want == 0 || c->want == INC) {
        ck_assert_msg(whole.rc == c->want, "\"%s\": got %d (status %d), want %d", name,
                      whole.rc, whole.status, c->want);
        ck_assert_msg(whole.body_len == strlen(c->body) &&
                          memcmp(whole.body, c->body, whole.body_len) == 0,
                      "\"%s\": decoded \"%.*s\"", name, (int)whole.body_len, whole.body);
        if (c->want == 0)
            ck_assert_uint_eq(whole.consumed, c->consumed ? c->consumed : c->len);
    } else {
        ck_assert_msg(whole.rc == HOST_PARSE_ERROR && whole.status == c->want,
                      "\"%s\": got %d (status %d), want status %d", name, whole.rc,
                      whole.status, c->want);
    }

    for (size_t step = 1; step <= 3; step++) {
        cresult_t r = decode_steps(c, step);
        ck_assert_msg(r.rc == whole.rc && r.status == whole.status &&
                          r.consumed == whole.consumed && r.body_len == whole.body_len &&
                          memcmp(r.body, whole.body, r.body_len) == 0,
                      "\"%s\" in pieces of %zu: got %d/%d after %zu bytes, one shot %d/%d "
                      "after %zu",
                      name, step, r.rc, r.status, r.consumed, whole.rc, whole.status,
                      whole.consumed);
    }
}
END_TEST

START_TEST(test_chunked_line_limits)
{
    static char in[HOST_CHUNK_TRAILER_MAX + 64];
    host_chunked_decoder_t d;
    size_t decoded, consumed;
    int status = 0;

    /* A size line of exactly HOST_CHUNK_LINE_MAX bytes (CRLF included) is accepted. */
    size_t n = (size_t)sprintf(in, "1;");
    memset(in + n, 'e', HOST_CHUNK_LINE_MAX - n - 2);
    n = HOST_CHUNK_LINE_MAX - 2;
    n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
    host_chunked_init(&d, UINT64_MAX);
    ck_assert_int_eq(host_chunked_decode(&d, in, n, &decoded, &consumed, &status), 0);
    ck_assert_uint_eq(decoded, 1);
    ck_assert_int_eq(in[0], 'x');

    n = (size_t)sprintf(in, "1;");
    memset(in + n, 'e', HOST_CHUNK_LINE_MAX - n - 1);
    n = HOST_CHUNK_LINE_MAX - 1;
    n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
    host_chunked_init(&d, UINT64_MAX);
    ck_assert_int_eq(host_chunked_decode(&d, in, n, &decoded, &consumed, &status),
                     HOST_PARSE_ERROR);
    ck_assert_int_eq(status, 400);

    n = (size_t)sprintf(in, "0\r\nX: ");
    memset(in + n, 't', HOST_CHUNK_TRAILER_MAX);
    n += HOST_CHUNK_TRAILER_MAX;
    n += (size_t)sprintf(in + n, "\r\n\r\n");
    host_chunked_init(&d, UINT64_MAX);
    ck_assert_int_eq(host_chunked_decode(&d, in, n, &decoded, &consumed, &status),
                     HOST_PARSE_ERROR);
    ck_assert_int_eq(status, 431);
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("host_parse");
    TCase *tc = tcase_create("request");
    int ncases = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_request_one_shot, 0, ncases);
    tcase_add_loop_test(tc, test_request_byte_by_byte, 0, ncases);
    tcase_add_loop_test(tc, test_request_every_prefix, 0, ncases);
    tcase_add_test(tc, test_request_fields);
    tcase_add_test(tc, test_request_fields_09);
    tcase_add_test(tc, test_target_forms);
    tcase_add_test(tc, test_header_array_capacity);
    tcase_add_test(tc, test_default_limits);
    tcase_add_test(tc, test_limits_valid);
    tcase_add_test(tc, test_method_classify);
    suite_add_tcase(s, tc);

    tc = tcase_create("body");
    tcase_add_loop_test(tc, test_body_framing, 0, (int)(sizeof framing / sizeof framing[0]));
    tcase_add_test(tc, test_connection);
    tcase_add_test(tc, test_expect);
    tcase_add_loop_test(tc, test_chunked, 0, (int)(sizeof chunks / sizeof chunks[0]));
    tcase_add_test(tc, test_chunked_line_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = parse_suite();
    SRunner *sr = srunner_create(s);
    /* Tests that must die by a signal can only run in their own process. */
    if (srunner_fork_status(sr) != CK_NOFORK) {
        TCase *tc = tcase_create("signals");
        tcase_add_test_raise_signal(tc, test_guard_page_traps, SIGSEGV);
        tcase_add_test_raise_signal(tc, test_invalid_limits_abort, SIGABRT);
        suite_add_tcase(s, tc);
    } else {
        printf("skipped: guard-page and abort tests need CK_FORK (Check's fork mode)\n");
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
