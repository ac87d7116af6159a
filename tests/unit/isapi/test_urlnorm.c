/*
 * test_urlnorm.c - the one URL normaliser: isapi_url_normalize() (what the server routes on)
 * and SF_REQ_NORMALIZE_URL (what filters get) over one table of ordinary and hostile paths;
 * both must refuse the same paths and agree on every result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

/* Paths in the probe's argument spelling ('^HH' is the byte 0xHH); want NULL = refused. */
static const struct { const char *path, *want; } cases[] = {
    { "/", "/" },
    { "/a.txt", "/a.txt" },
    { "/x/../a.txt", "/a.txt" },
    { "/./a.txt", "/a.txt" },
    { "//a.txt", "/a.txt" },
    { "/%61.txt", "/a.txt" },
    { "/dir/", "/dir/" },
    { "/dir/.", "/dir/" },
    { "/a/b/..", "/a/" },
    { "/caf%C3%A9", "/caf\xc3\xa9" },
    { "http://host/x/../a.txt", "/a.txt" },
    { "/a%2fb", NULL },
    { "/a%2Fb", NULL },
    { "/x%2f..%2fa.txt", NULL },
    { "/a%5cb", NULL },
    { "/a\\b", NULL },
    { "/x\\..\\a.txt", NULL },
    { "/a%0d%0aX-Injected:%201", NULL },
    { "/a^0db", NULL },
    { "/a^09b", NULL },
    { "/a%00.txt", NULL },
    { "/a%01", NULL },
    { "/a%7f", NULL },
    { "/%c0%ae%c0%ae/a.txt", NULL },
    { "/%c0%af", NULL },
    { "/%e0%80%af", NULL },
    { "/%ed%a0%80", NULL },
    { "/%f4%90%80%80", NULL },
    { "/%ff", NULL },
    { "/%c3", NULL },
    { "/../a.txt", NULL },
    { "/a/../../b", NULL },
    { "/a%2", NULL },
    { "/a%zz", NULL },
    { "/a%", NULL },
    { "rel", NULL },
};
#define NCASES (sizeof cases / sizeof cases[0])

static void unescape(const char *in, char *out)
{
    size_t o = 0;
    for (size_t i = 0; in[i]; i++) {
        if (in[i] == '^' && in[i + 1] && in[i + 2]) {
            char hex[3] = { in[i + 1], in[i + 2], 0 };
            out[o++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

START_TEST(test_normalize_table)
{
    for (size_t i = 0; i < NCASES; i++) {
        char in[256], out[256];
        unescape(cases[i].path, in);
        const char *query = NULL;
        int st = isapi_url_normalize(in, out, sizeof out, &query);
        if (!cases[i].want) {
            ck_assert_msg(st == 400, "[%s]: status %d, want 400", cases[i].path, st);
        } else {
            ck_assert_msg(st == 0 && strcmp(out, cases[i].want) == 0,
                          "[%s]: status %d result [%s], want [%s]", cases[i].path, st,
                          st ? "" : out, cases[i].want);
            ck_assert_str_eq(query, "");
        }
    }
}
END_TEST

START_TEST(test_normalize_query_and_size)
{
    char out[8];
    const char *query;
    ck_assert_int_eq(isapi_url_normalize("/a/./b?x=%2f&y", out, sizeof out, &query), 0);
    ck_assert_str_eq(out, "/a/b");
    ck_assert_str_eq(query, "x=%2f&y");
    ck_assert_int_eq(isapi_url_normalize("/abcdefghij", out, sizeof out, NULL), 414);
}
END_TEST

/* The shortcut for plain paths gives what the general rules give, for every path of up to
 * four bytes after its leading slash over an alphabet of the bytes the rules care about,
 * with room to spare and with room for five bytes only (the 414 boundary). */
START_TEST(test_plain_path_shortcut_agrees)
{
    static const char alphabet[] = { '/', '.', 'a', 'B', '%', '2', 'e', 'F', '\\', ' ', '?',
                                     '\x7f', '\x01', (char)0xc3, (char)0xa9 };
    const size_t k = sizeof alphabet;
    size_t accepted = 0, refused = 0;
    for (size_t len = 0; len <= 4; len++) {
        size_t combos = 1;
        for (size_t i = 0; i < len; i++)
            combos *= k;
        for (size_t n = 0; n < combos; n++) {
            char in[8] = "/";
            for (size_t i = 0, v = n; i < len; i++, v /= k)
                in[1 + i] = alphabet[v % k];
            in[1 + len] = '\0';
            for (size_t room = 6; room <= 256; room += 250) {
                char fast[256], general[256];
                const char *qf = NULL, *qg = NULL;
                int sf = isapi_url_normalize(in, fast, room, &qf);
                int sg = isapi__url_normalize_general(in, general, room, &qg);
                ck_assert_msg(sf == sg && (sf != 0 || strcmp(fast, general) == 0) && qf == qg,
                              "[%s] room %zu: %d [%s] vs %d [%s]", in, room, sf,
                              sf ? "" : fast, sg, sg ? "" : general);
                if (sf == 0)
                    accepted++;
                else
                    refused++;
            }
        }
    }
    ck_assert_uint_gt(accepted, 1000);
    ck_assert_uint_gt(refused, 1000);
}
END_TEST

/* SF_REQ_NORMALIZE_URL over the same table: it refuses exactly what the router refuses and
 * gives the router's path, the query kept as it was. */
START_TEST(test_normalize_url_request_agrees)
{
    char script[8192] = "PRE:";
    for (size_t i = 0; i < NCASES; i++)
        snprintf(script + strlen(script), sizeof script - strlen(script), "%snorm=%s",
                 i ? "," : "", cases[i].path);
    strcat(script, ",norm=/a/../b?q=%2f..%2f,norm=/%2e%2e/x?y");
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS, script);
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    isapi_notify_preproc_headers(F.c);
    for (size_t i = 0; i < NCASES; i++) {
        char line[512];
        if (cases[i].want)
            snprintf(line, sizeof line, "A PRE norm %s=%s\n", cases[i].path, cases[i].want);
        else
            snprintf(line, sizeof line, "A PRE norm %s!87\n", cases[i].path);
        ck_assert_msg(fx_has(line), "missing [%s] in journal:\n%s", line, FX_J);
    }
    ck_assert_msg(fx_has("A PRE norm /a/../b?q=%2f..%2f=/b?q=%2f..%2f\n"), "%s", FX_J);
    ck_assert_msg(fx_has("A PRE norm /%2e%2e/x?y!87\n"), "%s", FX_J);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_urlnorm");
    TCase *tc = tcase_create("urlnorm");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, test_normalize_table);
    tcase_add_test(tc, test_normalize_query_and_size);
    tcase_add_test(tc, test_plain_path_shortcut_agrees);
    tcase_add_test(tc, test_normalize_url_request_agrees);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
