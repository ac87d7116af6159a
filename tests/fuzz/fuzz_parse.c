/*
 * fuzz_parse.c - libFuzzer target for host/parse.c.
 *
 * The input is one connection's bytes. Each call copies them into a heap block of exactly
 * their size (so AddressSanitizer sees any read past the end) and:
 *  - parses the head in one call, with the default limits and with tiny ones;
 *  - parses it again fed in pieces (the piece size comes from the first byte), passing
 *    last_len, and traps unless the answer is the same, fields included;
 *  - checks that every slice lies inside the head it came from;
 *  - on success runs the framing, Connection, Expect and Host helpers, and decodes a
 *    chunked body from the remaining bytes in one call and in pieces, trapping on any
 *    difference;
 *  - checks the whole input as a Host value: one that passes host_parse_host_valid()
 *    holds only the characters RFC 3986's authority grammar allows.
 * A trap is a finding: libFuzzer saves the input as crash-*.
 */
#include "parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDR 32

typedef struct outcome {
    int rc, status;
    size_t nhdr;
    size_t off[3], len[3];
    size_t hoff[MAX_HDR][2], hlen[MAX_HDR][2];
    int version, form, method_id;
} outcome_t;

static int same(const outcome_t *a, const outcome_t *b)
{
    if (a->rc != b->rc || a->status != b->status || a->nhdr != b->nhdr ||
        a->version != b->version || a->form != b->form || a->method_id != b->method_id)
        return 0;
    for (int i = 0; i < 3; i++)
        if (a->off[i] != b->off[i] || a->len[i] != b->len[i])
            return 0;
    for (size_t i = 0; i < a->nhdr; i++)
        for (int j = 0; j < 2; j++)
            if (a->hoff[i][j] != b->hoff[i][j] || a->hlen[i][j] != b->hlen[i][j])
                return 0;
    return 1;
}

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static void inside(const char *buf, int rc, host_slice_t s)
{
    check(s.base >= buf && s.base + s.len <= buf + rc);
}

static outcome_t parse(const char *buf, size_t len, size_t last_len,
                       const host_parse_limits_t *lim, host_request_line_t *rl,
                       host_header_t *h)
{
    outcome_t o;
    memset(&o, 0, sizeof o);
    o.nhdr = MAX_HDR;
    o.status = 0;
    o.rc = host_parse_request(buf, len, rl, h, &o.nhdr, last_len, lim, &o.status);
    check(o.rc == HOST_PARSE_ERROR || o.rc == HOST_PARSE_INCOMPLETE ||
          (o.rc > 0 && (size_t)o.rc <= len));
    if (o.rc == HOST_PARSE_ERROR)
        check(o.status >= 400 && o.status <= 505);
    if (o.rc <= 0) {
        o.nhdr = 0;
        if (o.rc == HOST_PARSE_INCOMPLETE)
            o.status = 0;
        return o;
    }
    const host_slice_t *sl[3] = { &rl->method, &rl->target, &rl->version_token };
    for (int i = 0; i < 3; i++) {
        inside(buf, o.rc, *sl[i]);
        o.off[i] = (size_t)(sl[i]->base - buf);
        o.len[i] = sl[i]->len;
    }
    check(o.nhdr <= MAX_HDR);
    for (size_t i = 0; i < o.nhdr; i++) {
        inside(buf, o.rc, h[i].name);
        inside(buf, o.rc, h[i].value);
        check(h[i].name.len > 0);
        o.hoff[i][0] = (size_t)(h[i].name.base - buf);
        o.hoff[i][1] = (size_t)(h[i].value.base - buf);
        o.hlen[i][0] = h[i].name.len;
        o.hlen[i][1] = h[i].value.len;
    }
    o.version = (int)rl->version;
    o.form = (int)rl->form;
    o.method_id = (int)rl->method_id;
    return o;
}

/* The same bytes fed `step` at a time, each prefix in its own exact-size block. */
static outcome_t parse_in_pieces(const uint8_t *data, size_t size, size_t step,
                                 const host_parse_limits_t *lim)
{
    host_request_line_t rl;
    host_header_t h[MAX_HDR];
    outcome_t o;
    size_t last = 0, at = 0;
    memset(&o, 0, sizeof o);
    o.rc = HOST_PARSE_INCOMPLETE;
    do {
        at = size - at < step ? size : at + step;
        char *buf = malloc(at ? at : 1);
        check(buf != NULL);
        memcpy(buf, data, at);
        o = parse(buf, at, last, lim, &rl, h);
        free(buf);
        last = at;
    } while (o.rc == HOST_PARSE_INCOMPLETE && at < size);
    return o;
}

static void decode_body(const char *rest, size_t len, size_t step)
{
    host_chunked_decoder_t one, many;
    char *a = malloc(len ? len : 1), *b;
    size_t decoded, consumed, total_dec = 0, total_used = 0;
    int st1 = 0, st2 = 0, rc1, rc2 = HOST_PARSE_INCOMPLETE;
    check(a != NULL);
    memcpy(a, rest, len);
    host_chunked_init(&one, 1 << 20);
    rc1 = host_chunked_decode(&one, a, len, &decoded, &consumed, &st1);
    check(decoded <= consumed && consumed <= len);
    check(rc1 != HOST_PARSE_INCOMPLETE || consumed == len);

    host_chunked_init(&many, 1 << 20);
    for (size_t at = 0; at < len && rc2 == HOST_PARSE_INCOMPLETE;) {
        size_t n = len - at < step ? len - at : step;
        size_t d2, c2;
        b = malloc(n);
        check(b != NULL);
        memcpy(b, rest + at, n);
        rc2 = host_chunked_decode(&many, b, n, &d2, &c2, &st2);
        check(d2 <= c2 && c2 <= n && total_dec + d2 <= decoded);
        check(memcmp(a + total_dec, b, d2) == 0);
        total_dec += d2;
        total_used += c2;
        free(b);
        at += n;
    }
    if (len > 0) {
        check(rc1 == rc2 && st1 == st2);
        check(total_dec == decoded && total_used == consumed);
    }
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const host_parse_limits_t tiny = {
        .max_request_line = 24, .max_header_line = 20, .max_header_bytes = 96,
        .max_headers = 4,
    };
    const host_parse_limits_t *limits[2] = { NULL, &tiny };
    size_t step = size > 0 ? (size_t)(data[0] % 16) + 1 : 1;
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    memcpy(buf, data, size);

    for (int l = 0; l < 2; l++) {
        host_request_line_t rl;
        host_header_t h[MAX_HDR];
        outcome_t whole = parse(buf, size, 0, limits[l], &rl, h);
        outcome_t pieces = parse_in_pieces(data, size, step, limits[l]);
        check(same(&whole, &pieces));
        if (whole.rc <= 0)
            continue;

        host_body_framing_t f;
        int status = 0, cont = 0;
        if (host_parse_body_framing(&rl, h, whole.nhdr, 1 << 20, &f, &status) == 0) {
            check(f.kind != HOST_BODY_LENGTH || f.content_length <= (1 << 20));
            if (f.kind == HOST_BODY_CHUNKED)
                decode_body(buf + whole.rc, size - (size_t)whole.rc, step);
        } else {
            check(status == 400 || status == 411 || status == 413 || status == 501);
        }
        if (host_parse_expect(&rl, h, whole.nhdr, &cont, &status) != 0)
            check(status == 417);
        int keep = host_request_keep_alive(&rl, h, whole.nhdr);
        check(keep == 0 || (keep == 1 && rl.version != HOST_HTTP_09));
        (void)host_parse_connection(h, whole.nhdr);
        status = 0;
        if (host_parse_host(&rl, h, whole.nhdr, &status) != 0)
            check(status == 400);
        else
            check(rl.version != HOST_HTTP_11
                  || host_header_find(h, whole.nhdr, "Host", 0) < whole.nhdr);
    }
    if (host_parse_host_valid(buf, size)) {
        check(size > 0);
        for (size_t i = 0; i < size; i++)
            check(buf[i] != 0 && strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-._~!$&'()*+,;=%:[]", buf[i]) != NULL);
    }
    /* Every input is also a chunked body on its own. */
    decode_body(buf, size, step);
    free(buf);
    return 0;
}
