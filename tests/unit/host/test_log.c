/*
 * test_log.c - the bounded writer of host/fmt.h and the two logs of host/log.c.
 *
 * The writer: every append stops at the end it was given, numbers go whole or not at all,
 * and `truncated` tells. Each cursor here ends right before a PROT_NONE page (guard_t, as
 * in test_parse.c), so one byte written past the end crashes the test instead of passing
 * by luck.
 *
 * The W3C line (host_w3c_format): records with text fields of every length from empty to
 * far over the line, alone and together, among them the request that overflowed the stack
 * (a 4000-byte query and a 12000-byte User-Agent). Each line must be at most
 * HOST_W3C_LINE_MAX bytes, end with its one newline, split into exactly the 15 columns of
 * #Fields, and carry every number of the record unchanged. host_w3c_write is then checked
 * end to end through a real file.
 *
 * The error log's repeat folding: a flood of one warning gives one line plus one count,
 * written before the next different message; interleaved floods give one line and one
 * count each; a short window writes counts as the flood goes on; control bytes never
 * split a line.
 */
#include "fmt.h"
#include "log.h"
#include "os.h"

#include <check.h>
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

/* A buffer of exactly cap bytes whose last byte is the last writable one. */
static char *guard_buf(guard_t *g, size_t cap)
{
    ck_assert_uint_le(cap, (size_t)(g->end - g->map));
    return g->end - cap;
}

static void guard_free(guard_t *g)
{
    munmap(g->map, g->maplen);
}

static char *repeat_char(char ch, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* --- The writer ----------------------------------------------------------------------- */

START_TEST(test_out_bytes_stop_at_end)
{
    guard_t g;
    guard_init(&g, 64);
    char *buf = guard_buf(&g, 8);
    host_out_t o = host_out_make(buf, 8);
    host_out_str(&o, "abc");
    ck_assert_int_eq(o.truncated, 0);
    ck_assert_uint_eq(host_out_room(&o), 5);
    host_out_str(&o, "defghijklmnop");   /* 13 bytes into 5 */
    ck_assert_int_eq(o.truncated, 1);
    ck_assert_uint_eq(host_out_len(&o, buf), 8);
    ck_assert_mem_eq(buf, "abcdefgh", 8);
    /* a full cursor takes nothing more, of any kind */
    host_out_char(&o, 'x');
    host_out_bytes(&o, "yyyy", 4);
    host_out_u64(&o, 7);
    host_out_padded(&o, 7, 2);
    host_out_printf(&o, "%s", "zzz");
    ck_assert_uint_eq(host_out_len(&o, buf), 8);
    ck_assert_uint_eq(host_out_room(&o), 0);
    /* an empty buffer */
    host_out_t z = host_out_make(g.end, 0);
    host_out_str(&z, "a");
    ck_assert_int_eq(z.truncated, 1);
    ck_assert_ptr_eq(z.p, g.end);
    host_out_str(&z, NULL);
    guard_free(&g);
}
END_TEST

START_TEST(test_out_numbers_whole_or_none)
{
    guard_t g;
    guard_init(&g, 64);
    char *buf = guard_buf(&g, 25);
    host_out_t o = host_out_make(buf, 25);
    host_out_u64(&o, UINT64_MAX);
    ck_assert_int_eq(o.truncated, 0);
    ck_assert_mem_eq(buf, "18446744073709551615", 20);
    host_out_u64(&o, 123456);   /* 6 digits, 5 free: none written */
    ck_assert_int_eq(o.truncated, 1);
    ck_assert_uint_eq(host_out_len(&o, buf), 20);
    host_out_u64(&o, 0);
    ck_assert_uint_eq(host_out_len(&o, buf), 21);
    host_out_padded(&o, 7, 3);
    ck_assert_mem_eq(buf + 20, "0007", 4);
    host_out_padded(&o, 7, 2);   /* 2 digits, 1 free */
    ck_assert_uint_eq(host_out_len(&o, buf), 24);
    guard_free(&g);
}
END_TEST

/* host_fmt_u64 writes what printf's %llu writes: every number below 200,000, each power
 * of ten and its neighbours, and a spread of large values up to UINT64_MAX. */
START_TEST(test_fmt_u64_as_printf)
{
    uint64_t checked = 0;
    for (uint64_t v = 0; v <= 2000000000ULL * 9; ) {
        char got[HOST_FMT_U64_MAX + 1], want[32];
        size_t n = host_fmt_u64(got, v);
        got[n] = '\0';
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        ck_assert_str_eq(got, want);
        checked++;
        v = v < 200000 ? v + 1 : v * 3 + 7;
    }
    uint64_t ten = 1;
    for (int i = 0; i < 20; i++, ten *= 10) {
        const uint64_t around[3] = { ten - 1, ten, ten + 1 };
        for (int k = 0; k < 3; k++) {
            char got[HOST_FMT_U64_MAX + 1], want[32];
            got[host_fmt_u64(got, around[k])] = '\0';
            snprintf(want, sizeof want, "%llu", (unsigned long long)around[k]);
            ck_assert_str_eq(got, want);
        }
    }
    for (uint64_t v = UINT64_MAX, i = 0; i < 1000; i++, v -= 0x0123456789abcdefULL / 7) {
        char got[HOST_FMT_U64_MAX + 1], want[32];
        got[host_fmt_u64(got, v)] = '\0';
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        ck_assert_str_eq(got, want);
    }
    ck_assert_uint_gt(checked, 200000);
}
END_TEST

START_TEST(test_out_printf_cut)
{
    guard_t g;
    guard_init(&g, 64);
    char *buf = guard_buf(&g, 10);
    host_out_t o = host_out_make(buf, 10);
    host_out_printf(&o, "%d-%s", 42, "abc");
    ck_assert_int_eq(o.truncated, 0);
    ck_assert_uint_eq(host_out_len(&o, buf), 6);
    host_out_printf(&o, "%s", "0123456789");   /* 4 free: 3 bytes and vsnprintf's NUL */
    ck_assert_int_eq(o.truncated, 1);
    ck_assert_uint_le(host_out_len(&o, buf), 10);
    ck_assert_mem_eq(buf, "42-abc012", 9);
    guard_free(&g);
}
END_TEST

/* --- The W3C line --------------------------------------------------------------------- */

static const char STAMP[] = "2026-12-02 19:00:00 ";

static host_w3c_record_t base_record(void)
{
    host_w3c_record_t r = {
        .server_ip = "127.0.0.1",
        .method = "GET",
        .uri_stem = "/",
        .uri_query = "",
        .server_port = 4294967295u,
        .username = "",
        .client_ip = "127.0.0.1",
        .user_agent = "curl/7.88",
        .status = 4294967295u,
        .win32_status = 1234567890u,
        .bytes_sent = UINT64_MAX,
        .bytes_received = 18446744073709551000u,
        .time_taken_ms = 4000000000u,
    };
    return r;
}

/* Checks one formatted line against its record: bounded, one newline at the end, 15
 * columns, the numbers and the short fields as given, and each long field a prefix of
 * its text (spaces as "+"). */
static void check_line(const char *line, size_t n, const host_w3c_record_t *r, size_t cap)
{
    ck_assert_uint_le(n, cap);
    ck_assert_uint_ge(n, 2);
    ck_assert_msg(line[n - 1] == '\n', "the line ends with a newline");
    ck_assert_msg(memchr(line, '\n', n - 1) == NULL, "only one newline");
    char *copy = malloc(n);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, line, n - 1);
    copy[n - 1] = '\0';
    char *cols[32];
    size_t ncols = 0;
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (ncols < 32)
            cols[ncols++] = t;
    ck_assert_uint_eq(ncols, 15);
    ck_assert_str_eq(cols[0], "2026-12-02");
    char num[32];
    snprintf(num, sizeof num, "%u", r->server_port);
    ck_assert_str_eq(cols[6], num);
    snprintf(num, sizeof num, "%u", (unsigned)r->status);
    ck_assert_str_eq(cols[10], num);
    snprintf(num, sizeof num, "%u", (unsigned)r->win32_status);
    ck_assert_str_eq(cols[11], num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)r->bytes_sent);
    ck_assert_str_eq(cols[12], num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)r->bytes_received);
    ck_assert_str_eq(cols[13], num);
    snprintf(num, sizeof num, "%u", (unsigned)r->time_taken_ms);
    ck_assert_str_eq(cols[14], num);
    const char *text[] = { r->server_ip, r->method,   r->uri_stem,  r->uri_query,
                           r->username,  r->client_ip, r->user_agent };
    const size_t at[] = { 2, 3, 4, 5, 7, 8, 9 };
    for (size_t i = 0; i < 7; i++) {
        const char *want = text[i] && *text[i] ? text[i] : "-";
        size_t got = strlen(cols[at[i]]);
        ck_assert_uint_ge(got, 1);
        ck_assert_uint_le(got, strlen(want));
        for (size_t k = 0; k < got; k++) {
            char w = (unsigned char)want[k] <= ' ' || want[k] == 0x7f ? '+' : want[k];
            ck_assert_msg(cols[at[i]][k] == w, "field %zu byte %zu", i, k);
        }
        /* a field under 40 bytes is never cut while a longer one could be */
        if (strlen(want) < 40)
            ck_assert_uint_eq(got, strlen(want));
    }
    free(copy);
}

static size_t format_guarded(const host_w3c_record_t *r, size_t cap, char *out_copy)
{
    guard_t g;
    guard_init(&g, cap);
    char *buf = guard_buf(&g, cap);
    size_t n = host_w3c_format(r, STAMP, buf, cap);
    ck_assert_uint_le(n, cap);
    memcpy(out_copy, buf, n);
    guard_free(&g);
    return n;
}

START_TEST(test_w3c_short_record_whole)
{
    host_w3c_record_t r = base_record();
    r.username = "alice smith";
    char line[HOST_W3C_LINE_MAX];
    size_t n = format_guarded(&r, sizeof line, line);
    const char want[] = "2026-12-02 19:00:00 127.0.0.1 GET / - 4294967295 alice+smith 127.0.0.1 "
                        "curl/7.88 4294967295 1234567890 18446744073709551615 "
                        "18446744073709551000 4000000000\n";
    ck_assert_uint_eq(n, sizeof want - 1);
    ck_assert_mem_eq(line, want, n);
}
END_TEST

/* The request that overflowed the stack: the query filled the line before s-port. */
START_TEST(test_w3c_overflowing_request)
{
    host_w3c_record_t r = base_record();
    char *query = repeat_char('a', 4000), *ua = repeat_char('B', 12000);
    r.uri_query = query;
    r.user_agent = ua;
    r.username = "user";
    char line[HOST_W3C_LINE_MAX];
    size_t n = format_guarded(&r, sizeof line, line);
    check_line(line, n, &r, HOST_W3C_LINE_MAX);
    free(query);
    free(ua);
}
END_TEST

/* Every text field, alone and all together, at lengths around and far over the line. */
START_TEST(test_w3c_every_field_every_length)
{
    static const size_t lengths[] = { 0, 1, 39, 40, 1000, 3900, 3983, 3984, 4095, 4096,
                                      4097, 8000, 70000 };
    char *long_text = repeat_char('x', 70000);
    long_text[100] = ' ';   /* a space inside a long field becomes "+" */
    char line[HOST_W3C_LINE_MAX];
    for (int field = 0; field <= 7; field++) {
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            host_w3c_record_t r = base_record();
            const char **slot[] = { &r.server_ip, &r.method,   &r.uri_stem,  &r.uri_query,
                                    &r.username,  &r.client_ip, &r.user_agent };
            char *t = malloc(lengths[li] + 1);
            ck_assert_ptr_nonnull(t);
            memcpy(t, long_text, lengths[li]);
            t[lengths[li]] = '\0';
            if (field < 7) {
                *slot[field] = t;
            } else {
                for (int k = 0; k < 7; k++)   /* all of them at once */
                    *slot[k] = t;
            }
            size_t n = format_guarded(&r, sizeof line, line);
            check_line(line, n, &r, HOST_W3C_LINE_MAX);
            free(t);
        }
    }
    free(long_text);
}
END_TEST

/* A NULL field, and a cut that would fall inside a UTF-8 sequence. */
START_TEST(test_w3c_null_and_utf8)
{
    host_w3c_record_t r = base_record();
    r.server_ip = NULL;
    r.method = NULL;
    size_t len = 9000;
    char *ua = malloc(len + 1);
    ck_assert_ptr_nonnull(ua);
    for (size_t i = 0; i < len; i += 3)
        memcpy(ua + i, "\xe2\x82\xac", 3);   /* U+20AC, three bytes each */
    ua[len] = '\0';
    r.user_agent = ua;
    char line[HOST_W3C_LINE_MAX];
    size_t n = format_guarded(&r, sizeof line, line);
    check_line(line, n, &r, HOST_W3C_LINE_MAX);
    const char *col = strstr(line, " 127.0.0.1 \xe2");
    ck_assert_ptr_nonnull(col);
    col += strlen(" 127.0.0.1 ");
    size_t ualen = (size_t)(strchr(col, ' ') - col);
    ck_assert_uint_eq(ualen % 3, 0);
    free(ua);
}
END_TEST

/* A small buffer cuts the line but never writes past it. */
START_TEST(test_w3c_small_buffers_bounded)
{
    host_w3c_record_t r = base_record();
    char *ua = repeat_char('B', 5000);
    r.user_agent = ua;
    char line[HOST_W3C_LINE_MAX];
    for (size_t cap = 0; cap < 300; cap++) {
        size_t n = format_guarded(&r, cap, line);
        ck_assert_uint_le(n, cap);
        if (cap > 0)
            ck_assert_msg(line[n - 1] == '\n', "cap %zu: ends with a newline", cap);
    }
    free(ua);
}
END_TEST

static char tmpdir[] = "/tmp/test-host-log-XXXXXX";

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    for (size_t got; (got = fread(s + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            s = realloc(s, cap);
            ck_assert_ptr_nonnull(s);
        }
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count_lines(const char *s, const char *with)
{
    size_t n = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *l = strndup(p, len);
        if (!with || strstr(l, with))
            n++;
        free(l);
        p += len + (e ? 1 : 0);
    }
    return n;
}

START_TEST(test_w3c_write_through_a_file)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/access.log", tmpdir);
    ck_assert_int_eq(host_w3c_open(path, "isapihost-test", err, sizeof err), 0);
    host_w3c_record_t r = base_record();
    char *query = repeat_char('a', 4000), *ua = repeat_char('B', 12000);
    r.uri_query = query;
    r.user_agent = ua;
    host_w3c_write(&r);
    r.uri_query = "";
    r.user_agent = "ok";
    host_w3c_write(&r);
    host_w3c_close();
    char *text = read_text(path);
    ck_assert_uint_eq(count_lines(text, NULL), 6);   /* 4 directives, 2 records */
    const char *rec = text;
    for (int i = 0; i < 4; i++)
        rec = strchr(rec, '\n') + 1;
    const char *second = strchr(rec, '\n') + 1;
    ck_assert_uint_le((size_t)(second - rec), HOST_W3C_LINE_MAX);
    ck_assert_ptr_nonnull(strstr(second, " - 4294967295 - 127.0.0.1 ok 4294967295 "));
    free(text);
    free(query);
    free(ua);
}
END_TEST

/* --- Repeated error-log messages ------------------------------------------------------ */

static char *error_log_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

START_TEST(test_repeats_folded_into_a_count)
{
    char err[256];
    const char *path = error_log_path("flood.log");
    host_log_set_repeat_window(600000);
    ck_assert_int_eq(host_log_open(path, HOST_LOG_INFO, err, sizeof err), 0);
    for (int i = 0; i < 10000; i++)
        host_log_from_engine(NULL, HOST_LOG_WARN, "/srv/deny.dll",
                             "returned SF_STATUS_REQ_ERROR in AUTHENTICATION");
    char *text = read_text(path);
    ck_assert_uint_eq(count_lines(text, NULL), 1);
    free(text);
    host_log(HOST_LOG_INFO, "a different message");
    host_log_close();
    text = read_text(path);
    ck_assert_uint_eq(count_lines(text, NULL), 3);
    /* in order: the message, its count, then the different one */
    const char *count = strstr(text, "last message repeated");
    ck_assert_ptr_nonnull(count);
    ck_assert_ptr_nonnull(strstr(count, "a different message"));
    ck_assert_uint_eq(count_lines(text, "isapihost warning: filter /srv/deny.dll: returned "
                                        "SF_STATUS_REQ_ERROR in AUTHENTICATION"), 1);
    ck_assert_uint_eq(count_lines(text, "isapihost warning: last message repeated 9999 times: "
                                        "filter /srv/deny.dll: returned SF_STATUS_REQ_ERROR"),
                      1);
    free(text);
}
END_TEST

/* Interleaved floods: each message is counted on its own; same text, other level or other
 * filter is another message. */
START_TEST(test_repeats_interleaved)
{
    char err[256];
    const char *path = error_log_path("interleaved.log");
    host_log_set_repeat_window(600000);
    ck_assert_int_eq(host_log_open(path, HOST_LOG_INFO, err, sizeof err), 0);
    for (int i = 0; i < 500; i++) {
        host_log(HOST_LOG_WARN, "message A");
        host_log(HOST_LOG_WARN, "message B");
        host_log(HOST_LOG_ERROR, "message A");
        host_log_from_engine(NULL, HOST_LOG_WARN, "f1", "message A");
    }
    host_log_close();
    char *text = read_text(path);
    ck_assert_uint_eq(count_lines(text, NULL), 8);
    ck_assert_uint_eq(count_lines(text, "warning: last message repeated 499 times: message A"), 1);
    ck_assert_uint_eq(count_lines(text, "warning: last message repeated 499 times: message B"), 1);
    ck_assert_uint_eq(count_lines(text, "error: last message repeated 499 times: message A"), 1);
    ck_assert_uint_eq(count_lines(text, "warning: last message repeated 499 times: filter f1: "
                                        "message A"), 1);
    free(text);
}
END_TEST

/* With a short window the counts come out while the flood goes on, and the lines stay
 * few: no more than one count per window. */
START_TEST(test_repeats_window_ends)
{
    char err[256];
    const char *path = error_log_path("window.log");
    host_log_set_repeat_window(50);
    ck_assert_int_eq(host_log_open(path, HOST_LOG_INFO, err, sizeof err), 0);
    uint64_t start = plat_time_mono_ms(), deadline = start + 20000;
    unsigned long sent = 0;
    char *text = NULL;
    /* until two windows have ended, counted by the lines they wrote */
    for (;;) {
        for (int i = 0; i < 1000; i++, sent++)
            host_log(HOST_LOG_WARN, "flood");
        free(text);
        text = read_text(path);
        if (count_lines(text, "last message repeated") >= 2 || plat_time_mono_ms() > deadline)
            break;
    }
    uint64_t elapsed = plat_time_mono_ms() - start;
    host_log_close();
    free(text);
    text = read_text(path);
    size_t counts = count_lines(text, "last message repeated");
    ck_assert_uint_ge(counts, 2);
    ck_assert_uint_le(counts, elapsed / 50 + 2);
    ck_assert_uint_eq(count_lines(text, NULL), counts + 1);
    /* the counts add up to every message but the first */
    unsigned long total = 0;
    for (const char *p = strstr(text, "repeated "); p; p = strstr(p + 1, "repeated "))
        total += strtoul(p + strlen("repeated "), NULL, 10);
    ck_assert_uint_eq(total + 1, sent);
    free(text);
    host_log_set_repeat_window(HOST_LOG_REPEAT_WINDOW_MS);
}
END_TEST

START_TEST(test_message_stays_one_line)
{
    char err[256];
    const char *path = error_log_path("oneline.log");
    ck_assert_int_eq(host_log_open(path, HOST_LOG_INFO, err, sizeof err), 0);
    host_log_from_engine(NULL, HOST_LOG_WARN, "f", "first\r\n2026-01-01 00:00:00 isapihost "
                                                   "error: forged\r\n");
    char *huge = repeat_char('m', 100000);
    host_log(HOST_LOG_WARN, "%s", huge);
    host_log_close();
    char *text = read_text(path);
    ck_assert_uint_eq(count_lines(text, NULL), 2);
    ck_assert_ptr_nonnull(strstr(text, "filter f: first  2026-01-01 00:00:00 isapihost error: "
                                       "forged\n"));
    const char *second = strchr(text, '\n') + 1;
    ck_assert_uint_le(strlen(second), HOST_LOG_LINE_MAX + 64);
    free(text);
    free(huge);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("host_log");
    TCase *w = tcase_create("writer");
    tcase_add_test(w, test_out_bytes_stop_at_end);
    tcase_add_test(w, test_out_numbers_whole_or_none);
    tcase_add_test(w, test_fmt_u64_as_printf);
    tcase_add_test(w, test_out_printf_cut);
    suite_add_tcase(s, w);
    TCase *l = tcase_create("w3c");
    tcase_add_test(l, test_w3c_short_record_whole);
    tcase_add_test(l, test_w3c_overflowing_request);
    tcase_add_test(l, test_w3c_every_field_every_length);
    tcase_add_test(l, test_w3c_null_and_utf8);
    tcase_add_test(l, test_w3c_small_buffers_bounded);
    tcase_add_test(l, test_w3c_write_through_a_file);
    suite_add_tcase(s, l);
    TCase *e = tcase_create("error_log");
    tcase_set_timeout(e, 60);
    tcase_add_test(e, test_repeats_folded_into_a_count);
    tcase_add_test(e, test_repeats_interleaved);
    tcase_add_test(e, test_repeats_window_ends);
    tcase_add_test(e, test_message_stays_one_line);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    if (plat_init() != 0 || !mkdtemp(tmpdir))
        return 2;
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        failed++;
    return failed ? 1 : 0;
}
