/*
 * test_open_within.c - the platform layer's contained open (host/os.h):
 * plat__path_within() on a table of real paths, folders and rests, and
 * plat_path_real() / plat_file_open_within() against a real temporary tree with links
 * out of it, links that stay inside, a folder, and a link cycle, in each plat_links_t mode.
 * test_swap_race flips a link between a file inside and one outside while opening it: a
 * check made on the name rather than on the opened file would sometimes hand out the
 * outside one.
 * Built from the POSIX platform layer (host/posix/, host/os_common.c) (native only, like every Check test);
 * the same functions on Windows are exercised under Wine by
 * tests/integration/test_static_security.py.
 */
#define _XOPEN_SOURCE 700

#include "os.h"

#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *real, *within, *rest;
    int inside;
} cases[] = {
    { "/srv/site/a.txt", "/srv/site", NULL, 1 },
    { "/srv/site", "/srv/site", NULL, 1 },
    { "/srv/site/", "/srv/site", NULL, 1 },
    { "/srv/site/a.txt", "/srv/site/", NULL, 1 },
    { "/srv/site2/a.txt", "/srv/site", NULL, 0 },   /* a sibling sharing the prefix */
    { "/srv/sit", "/srv/site", NULL, 0 },
    { "/etc/shadow", "/srv/site", NULL, 0 },
    { "/etc/shadow", "/", NULL, 1 },
    { "/srv/site/a/b.txt", "/srv/site", "/a/b.txt", 1 },
    { "/srv/site/a/b.txt", "/srv/site", "a//b.txt/", 1 },
    { "/srv/site/b/b.txt", "/srv/site", "/a/b.txt", 0 },   /* reached through a link */
    { "/srv/site/y/f", "/srv/site", "/x/y/f", 0 },         /* same ending, not the same */
    { "/srv/site/a/b.txt", "/srv/site", "/a", 0 },
    { "/srv/site", "/srv/site", "", 1 },
    { "/srv/site/A.txt", "/srv/site", "/a.txt", 0 },       /* POSIX names keep their case */
    { "/srv/site/a\\b", "/srv/site/a", NULL, 0 },          /* '\\' is a name byte here */
};

START_TEST(test_path_within)
{
    int got = plat__path_within(cases[_i].real, cases[_i].within, cases[_i].rest);
    ck_assert_msg(got == cases[_i].inside, "real %s within %s rest %s: got %d", cases[_i].real,
                  cases[_i].within, cases[_i].rest ? cases[_i].rest : "(null)", got);
}
END_TEST

static char top[256], root[PATH_MAX], root_real[PATH_MAX];

static void put(const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void link_at(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    ck_assert_int_eq(symlink(target, p), 0);
}

static void setup(void)
{
    snprintf(top, sizeof top, "/tmp/isapihost-within-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(top));
    char p[PATH_MAX * 2];
    const char *dirs[] = { "site", "site/sub", "outside" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", top, dirs[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
    put("site/a.txt", "a");
    put("site/sub/b.txt", "b");
    put("outside/secret.txt", "secret");
    link_at("../outside", "site/out");                 /* folder link out */
    link_at("../outside/secret.txt", "site/s.txt");   /* file link out */
    link_at("sub", "site/in");                        /* folder link inside */
    link_at("a.txt", "site/in.txt");                  /* file link inside */
    link_at("loop", "site/loop");
    link_at("site", "rootlink");                      /* the root through a link */
    snprintf(root, sizeof root, "%s/rootlink", top);
    ck_assert_int_gt(plat_path_real(root, root_real, sizeof root_real), 0);
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    ck_assert_int_eq(system(cmd), 0);
}

/* Opens root/rel in mode; returns 0 or the PLAT_E* code, closing what was opened. */
static int open_rel(const char *rel, plat_links_t mode)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    plat_file_t f = PLAT_INVALID_FILE;
    plat_file_info_t info;
    int rc = plat_file_open_within(p, strlen(root), root_real, mode, &f, &info);
    if (rc == 0) {
        ck_assert(f != PLAT_INVALID_FILE);
        ck_assert(!info.is_directory);
        plat_file_close(f);
    }
    return rc;
}

START_TEST(test_real_root)
{
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/site", top);
    char *r = realpath(want, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(root_real, r);
    free(r);
    char small[4];
    ck_assert_int_eq(plat_path_real(root, small, sizeof small), PLAT_ENAMETOOLONG);
}
END_TEST

START_TEST(test_modes)
{
    static const struct {
        const char *rel;
        int inside, always, never;
    } t[] = {
        { "a.txt", 0, 0, 0 },
        { "sub/b.txt", 0, 0, 0 },
        { "out/secret.txt", PLAT_EOUTSIDE, 0, PLAT_EOUTSIDE },
        { "s.txt", PLAT_EOUTSIDE, 0, PLAT_EOUTSIDE },
        { "out", PLAT_EOUTSIDE, PLAT_EISDIR, PLAT_EOUTSIDE },  /* checked before EISDIR */
        { "in/b.txt", 0, 0, PLAT_EOUTSIDE },
        { "in.txt", 0, 0, PLAT_EOUTSIDE },
        { "sub", PLAT_EISDIR, PLAT_EISDIR, PLAT_EISDIR },
        { "in", PLAT_EISDIR, PLAT_EISDIR, PLAT_EOUTSIDE },
        { "", PLAT_EISDIR, PLAT_EISDIR, PLAT_EISDIR },
        { "missing.txt", PLAT_ENOENT, PLAT_ENOENT, PLAT_ENOENT },
        { "loop", PLAT_ENOENT, PLAT_ENOENT, PLAT_ENOENT },      /* ELOOP: no such file */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_msg(open_rel(t[i].rel, PLAT_LINKS_INSIDE) == t[i].inside, "%s inside_root",
                      t[i].rel);
        ck_assert_msg(open_rel(t[i].rel, PLAT_LINKS_ALWAYS) == t[i].always, "%s always",
                      t[i].rel);
        ck_assert_msg(open_rel(t[i].rel, PLAT_LINKS_NEVER) == t[i].never, "%s never",
                      t[i].rel);
    }
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ck_assert_int_eq(open_rel(name, PLAT_LINKS_INSIDE), PLAT_ENAMETOOLONG);
}
END_TEST

static atomic_int flipping;

/* Swaps root/flip between a link to a.txt (inside) and one to the secret (outside), each
 * swap one atomic rename. */
static void *flipper(void *arg)
{
    (void)arg;
    char tmp[PATH_MAX * 2], flip[PATH_MAX * 2], out[PATH_MAX * 2];
    snprintf(tmp, sizeof tmp, "%s/site/flip.tmp", top);
    snprintf(flip, sizeof flip, "%s/site/flip", top);
    snprintf(out, sizeof out, "%s/outside/secret.txt", top);
    for (unsigned i = 0; atomic_load(&flipping); i++) {
        unlink(tmp);
        if (symlink(i % 2 ? out : "a.txt", tmp) != 0 || rename(tmp, flip) != 0)
            break;
    }
    return NULL;
}

START_TEST(test_swap_race)
{
    char flip[PATH_MAX * 2];
    snprintf(flip, sizeof flip, "%s/site/flip", top);
    ck_assert_int_eq(symlink("a.txt", flip), 0);
    pthread_t t;
    atomic_store(&flipping, 1);
    ck_assert_int_eq(pthread_create(&t, NULL, flipper, NULL), 0);
    unsigned served = 0, refused = 0, leaked = 0;
    for (int i = 0; i < 50000; i++) {
        plat_file_t f;
        char p[PATH_MAX * 2], buf[16];
        snprintf(p, sizeof p, "%s/flip", root);
        int rc = plat_file_open_within(p, strlen(root), root_real, PLAT_LINKS_INSIDE, &f, NULL);
        if (rc != 0) {
            refused += rc == PLAT_EOUTSIDE;
            continue;
        }
        ptrdiff_t n = plat_file_pread(f, buf, sizeof buf, 0);
        plat_file_close(f);
        served++;
        leaked += n == 6 && memcmp(buf, "secret", 6) == 0;
    }
    atomic_store(&flipping, 0);
    pthread_join(t, NULL);
    ck_assert_msg(leaked == 0, "the outside file was served %u times (%u served, %u refused)",
                  leaked, served, refused);
    ck_assert_msg(served > 0, "the inside file was never served (%u refused)", refused);
}
END_TEST

static Suite *within_suite(void)
{
    Suite *s = suite_create("open_within");
    TCase *tc = tcase_create("strings");
    tcase_add_loop_test(tc, test_path_within, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Why 120 s and not Check's 4: the swap race makes 50,000 opens against a thread that
     * flips the link, which a busy 2-core machine can take well past 4 s to finish. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_real_root);
    tcase_add_test(tc, test_modes);
    tcase_add_test(tc, test_swap_race);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(within_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
