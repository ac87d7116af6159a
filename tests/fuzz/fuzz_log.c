/*
 * fuzz_log.c - libFuzzer target for the way from a request to its W3C log line, with long
 * fields.
 *
 * Each input is read as a header, then text:
 *   bytes 0-7   four 16-bit lengths (little-endian, each cut to 14 bits: 0 to 16383) for
 *               the URL path, the query, the User-Agent and the user name;
 *   byte 8      flags: bit 0 pipelines the request behind a short one, bit 1 asks for
 *               HTTP/1.1 (else 1.0), bit 2 leaves out the User-Agent, bit 3 the user;
 *   bytes 9-40  the numbers of a W3C record (port, status, Win32 status, both byte counts,
 *               time taken) for the direct check below;
 *   the rest    the text every field is made of, repeated to the field's length.
 * So a few bytes of input reach fields far longer than the 4096-byte line.
 *
 * Two checks per input:
 *   1. host_w3c_format on the fields as they are (control bytes and all), into a heap
 *      buffer of exactly HOST_W3C_LINE_MAX bytes (ASan sees one byte past it): the line
 *      is bounded, has one newline, at its end, 15 columns, and ends with the record's
 *      numbers.
 *   2. The whole pipeline (one connection served inline on a socketpair: fuzz_serve.h) with the W3C log enabled into a file: the request is built from the same
 *      fields (path and query without bytes that end a request line, user name through
 *      "Authorization: Basic"), and every line the server logged must be well-formed the
 *      same way. The file is emptied after each input.
 * Findings: any sanitizer report or crash, or a malformed line (__builtin_trap).
 */
#define _POSIX_C_SOURCE 200809L   /* truncate */
#include "fuzz_serve.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { HEADER_LEN = 41, FIELD_MAX = 16383 };

static fuzz_site_t site;
static char log_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    fuzz_site_create(&site, "fuzz-log");
    /* room for every field this target builds: they reach the log, not a 414 */
    site.cfg.max_request_line = 4 * (FIELD_MAX + 1);
    site.cfg.max_header_bytes = 8 * (FIELD_MAX + 1);
    snprintf(log_path, sizeof log_path, "%s/access.log", site.dir);
    if (host_w3c_open(log_path, site.cfg.server_software, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_log: %s\n", err);
        abort();
    }
    if (truncate(log_path, 0) != 0)
        abort();

    isapi_config icfg = { .server_software = site.cfg.server_software,
                          .appl_physical_path = site.cfg.root };
    isapi_engine *engine = isapi_engine_create(&icfg);
    if (!engine)
        abort();
    fuzz_site_ready(&site, engine);
    return 0;
}

/* A field of len bytes made of text repeated (text_len > 0), NUL-terminated (a NUL
 * becomes a letter); with request_safe, bytes that would end or split a request line or
 * header become letters too. */
static char *make_field(const uint8_t *text, size_t text_len, size_t len, int request_safe)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = text[i % text_len];
        if (ch == 0 || (request_safe && (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#')))
            ch = (unsigned char)('a' + i % 26);
        s[i] = (char)ch;
    }
    s[len] = '\0';
    return s;
}

static void fail(const char *what, const char *line, size_t n)
{
    fprintf(stderr, "fuzz_log: %s: %.*s\n", what, (int)(n < 300 ? n : 300), line);
    __builtin_trap();
}

/* One W3C line (newline included) is well-formed: bounded, one newline at its end, 15
 * columns, s-port and the last five columns digits. Returns the columns' start offsets. */
static void check_line(const char *line, size_t n, size_t col_at[15])
{
    if (n == 0 || n > HOST_W3C_LINE_MAX)
        fail("line length", line, n);
    if (line[n - 1] != '\n' || memchr(line, '\n', n - 1))
        fail("newline", line, n);
    size_t cols = 0, start = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == ' ' || line[i] == '\n') {
            if (i == start || cols == 15)
                fail("columns", line, n);
            col_at[cols++] = start;
            start = i + 1;
        } else if ((unsigned char)line[i] < ' ' || line[i] == 0x7f) {
            fail("control byte", line, n);
        }
    }
    if (cols != 15)
        fail("column count", line, n);
    static const int numeric[] = { 6, 10, 11, 12, 13, 14 };
    for (size_t k = 0; k < 6; k++)
        for (const char *p = line + col_at[numeric[k]]; *p != ' ' && *p != '\n'; p++)
            if (*p < '0' || *p > '9')
                fail("a numeric column", line, n);
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

static void check_format(char *const fields[4], const uint8_t *nums, const uint8_t *text,
                         size_t text_len)
{
    char *sip = make_field(text, text_len, text_len % 64, 0);
    host_w3c_record_t r = {
        .server_ip = sip,
        .method = "GET",
        .uri_stem = fields[0],
        .uri_query = fields[1],
        .user_agent = fields[2],
        .username = fields[3],
        .client_ip = "127.0.0.1",
        .server_port = (unsigned)le(nums, 4),
        .status = (uint32_t)le(nums + 4, 4),
        .win32_status = (uint32_t)le(nums + 8, 4),
        .bytes_sent = le(nums + 12, 8),
        .bytes_received = le(nums + 20, 8),
        .time_taken_ms = (uint32_t)le(nums + 28, 4),
    };
    char *line = malloc(HOST_W3C_LINE_MAX);
    if (!line)
        abort();
    size_t n = host_w3c_format(&r, "2026-12-02 19:00:00 ", line, HOST_W3C_LINE_MAX);
    size_t col[15];
    check_line(line, n, col);
    char want[128];
    int wn = snprintf(want, sizeof want, "%u %lu %lu %llu %llu %lu\n", r.server_port,
                      (unsigned long)r.status, (unsigned long)r.win32_status,
                      (unsigned long long)r.bytes_sent, (unsigned long long)r.bytes_received,
                      (unsigned long)r.time_taken_ms);
    size_t port_at = col[6];
    size_t tail_at = col[10];
    size_t port_len = (size_t)(strchr(line + port_at, ' ') - (line + port_at)) + 1;
    if (memcmp(line + port_at, want, port_len) != 0
        || n - tail_at != (size_t)wn - port_len
        || memcmp(line + tail_at, want + port_len, n - tail_at) != 0)
        fail("the numbers", line, n);
    free(line);
    free(sip);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(char **p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *(*p)++ = b64[(v >> 18) & 63];
        *(*p)++ = b64[(v >> 12) & 63];
        *(*p)++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *(*p)++ = i + 2 < n ? b64[v & 63] : '=';
    }
}

/* Serves the request built from the fields on one connection, then checks the log. */
static void run_pipeline(char *const fields[4], unsigned flags)
{
    size_t cap = 256 + strlen(fields[0]) + strlen(fields[1]) + strlen(fields[2])
                 + 2 * strlen(fields[3]) + 64;
    char *req = malloc(cap), *p = req;
    if (!req)
        abort();
    if (flags & 1)
        p += sprintf(p, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    p += sprintf(p, "GET /%s?%s HTTP/1.%c\r\nHost: x\r\n", fields[0], fields[1],
                 flags & 2 ? '1' : '0');
    if (!(flags & 4))
        p += sprintf(p, "User-Agent: %s\r\n", fields[2]);
    if (!(flags & 8)) {
        p += sprintf(p, "Authorization: Basic ");
        size_t ulen = strlen(fields[3]);
        char *cred = malloc(ulen + 3);
        if (!cred)
            abort();
        memcpy(cred, fields[3], ulen);
        memcpy(cred + ulen, ":pw", 3);
        put_base64(&p, cred, ulen + 3);
        free(cred);
        p += sprintf(p, "\r\n");
    }
    p += sprintf(p, "Connection: close\r\n\r\n");
    size_t size = (size_t)(p - req);

    fuzz_output_t out;
    fuzz_serve_bytes(&site, req, size, &out);
    free(req);

    FILE *f = fopen(log_path, "rb");
    if (!f)
        abort();
    char *line = malloc(HOST_W3C_LINE_MAX + 2);
    if (!line)
        abort();
    size_t lines = 0;
    while (fgets(line, HOST_W3C_LINE_MAX + 2, f)) {
        size_t col[15];
        check_line(line, strlen(line), col);
        lines++;
    }
    fclose(f);
    free(line);
    if (lines == 0)
        fail("no line logged", "", 0);
    if (truncate(log_path, 0) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= HEADER_LEN)
        return 0;
    const uint8_t *text = data + HEADER_LEN;
    size_t text_len = size - HEADER_LEN;
    unsigned flags = data[8];
    char *raw[4], *safe[4];
    for (int i = 0; i < 4; i++) {
        size_t len = (size_t)le(data + 2 * i, 2) & FIELD_MAX;
        raw[i] = make_field(text, text_len, len, 0);
        safe[i] = make_field(text, text_len, len, 1);
    }
    check_format(raw, data + 9, text, text_len);
    run_pipeline(safe, flags);
    for (int i = 0; i < 4; i++) {
        free(raw[i]);
        free(safe[i]);
    }
    return 0;
}
