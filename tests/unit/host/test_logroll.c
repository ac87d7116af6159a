/*
 * test_logroll.c - the access log's rollover and reopening (host/log.c).
 *
 * File names: the IIS names of each period for known instants (a Wednesday, the Saturday
 * before a week starts, the Sunday it starts, New Year).
 *
 * Rollover under load: the clock is injected (host_w3c_set_clock), and every call moves it
 * on, so 8 threads writing 24,000 records together cross two hour boundaries while they
 * write. Every record must be found exactly once, whole (15 columns), across the files,
 * and each file must begin with its four directives. The same with size rollover at 4 KiB:
 * dozens of switches while every thread writes.
 *
 * Local time (IIS's localTimeRollover): with TZ=EST5 the files are named and switched at
 * local midnight while each record keeps its UTC date and time.
 *
 * Reopening: SIGUSR1 after the file was renamed away gives a new file at the same path,
 * with the directives at its top, and the renamed file keeps what was written before.
 */
#include "log.h"
#include "os.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/isapihost-logroll-XXXXXX";

/* ---- the injected clock: each read moves it on by clock_step_ms ---------------------- */

static _Atomic int64_t clock_now_ms;
static int64_t clock_step_ms;

static int64_t moving_clock(void)
{
    return atomic_fetch_add(&clock_now_ms, clock_step_ms);
}

/* ---- reading the files back --------------------------------------------------------- */

enum { THREADS = 8, PER_THREAD = 3000 };

typedef struct {
    unsigned char seen[THREADS][PER_THREAD];
    unsigned files, records, torn, bad_heads, duplicates;
} tally_t;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* Counts the records of every file of dir whose name starts with prefix. */
static void tally_dir(const char *dir, const char *prefix, tally_t *t)
{
    memset(t, 0, sizeof *t);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *text = read_all(path, &len);
        ck_assert_ptr_nonnull(text);
        t->files++;
        if (strncmp(text, "#Software: ", 11) != 0 || !strstr(text, "\n#Fields: date time ")
            || strstr(text, "#Fields") > strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n') + 1)
            t->bad_heads++;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == '#')
                continue;
            unsigned cols = 1;
            for (char *p = line; *p; p++)
                cols += *p == ' ';
            unsigned th, i;
            char *stem = strstr(line, " GET /t");
            if (cols != 15 || !stem || sscanf(stem, " GET /t%u/%u ", &th, &i) != 2
                || th >= THREADS || i >= PER_THREAD) {
                t->torn++;
                continue;
            }
            t->records++;
            if (t->seen[th][i]++)
                t->duplicates++;
        }
        free(text);
    }
    closedir(d);
}

/* ---- writers ------------------------------------------------------------------------ */

static void write_records(void *arg)
{
    unsigned th = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        char stem[64];
        snprintf(stem, sizeof stem, "/t%u/%u", th, i);
        host_w3c_record_t r = { .server_ip = "127.0.0.1", .method = "GET", .uri_stem = stem,
                                .server_port = 80, .client_ip = "127.0.0.1",
                                .user_agent = "roll test", .status = 200, .bytes_sent = i };
        host_w3c_write(&r);
    }
}

static void run_writers(void)
{
    plat_thread_t *threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(plat_thread_create(&threads[i], write_records, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(plat_thread_join(threads[i]), 0);
}

static void check_every_record(const tally_t *t)
{
    ck_assert_msg(t->torn == 0, "%u torn or foreign lines", t->torn);
    ck_assert_msg(t->duplicates == 0, "%u records written twice", t->duplicates);
    ck_assert_msg(t->bad_heads == 0, "%u of %u files do not start with the directives",
                  t->bad_heads, t->files);
    ck_assert_msg(t->records == THREADS * PER_THREAD, "%u of %u records found in %u files",
                  t->records, THREADS * PER_THREAD, t->files);
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(test_iis_file_names)
{
    char name[64];
    const int64_t wed = 1796238300000;   /* 2026-12-02 19:05:00 UTC, a Wednesday */
    host_w3c_file_name(HOST_LOG_PERIOD_HOURLY, 0, wed, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex26120219.log");
    host_w3c_file_name(HOST_LOG_PERIOD_DAILY, 0, wed, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261202.log");
    host_w3c_file_name(HOST_LOG_PERIOD_MONTHLY, 0, wed, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex2612.log");
    /* December 2026 starts on a Tuesday: the 1st to the 5th are week 01, Sunday the 6th
     * starts week 02 */
    host_w3c_file_name(HOST_LOG_PERIOD_WEEKLY, 0, wed, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261201.log");
    host_w3c_file_name(HOST_LOG_PERIOD_WEEKLY, 0, 1796515199000, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261201.log");
    host_w3c_file_name(HOST_LOG_PERIOD_WEEKLY, 0, 1796515200000, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261202.log");
    host_w3c_file_name(HOST_LOG_PERIOD_DAILY, 0, 1798761600000, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex270101.log");
    host_w3c_file_name(HOST_LOG_PERIOD_SIZE, 0, wed, 12, name, sizeof name);
    ck_assert_str_eq(name, "u_extend12.log");
    /* a buffer too small is cut, never overrun */
    char tiny[6];
    ck_assert_uint_le(host_w3c_file_name(HOST_LOG_PERIOD_HOURLY, 0, wed, 0, tiny, sizeof tiny), 5);
}
END_TEST

/* localTimeRollover: names and switches follow local time (TZ=EST5, five hours behind UTC,
 * no daylight saving), while each record's date and time stay UTC. */
START_TEST(test_local_time_rollover)
{
    char name[64];
    const int64_t utc_0330 = 1796182200000;   /* 2026-12-02 03:30 UTC = 12-01 22:30 local */
    host_w3c_file_name(HOST_LOG_PERIOD_DAILY, 1, utc_0330, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261201.log");
    host_w3c_file_name(HOST_LOG_PERIOD_HOURLY, 1, utc_0330, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex26120122.log");
    host_w3c_file_name(HOST_LOG_PERIOD_DAILY, 0, utc_0330, 0, name, sizeof name);
    ck_assert_str_eq(name, "u_ex261202.log");

    char dir[256];
    snprintf(dir, sizeof dir, "%s/local", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* 04:59:50 UTC, local 23:59:50: ten seconds before local midnight, 1 s per read */
    atomic_store(&clock_now_ms, 1796187590000);
    clock_step_ms = 1000;
    host_w3c_set_clock(moving_clock);
    char err[256];
    host_w3c_options_t o = { .dir = dir, .period = HOST_LOG_PERIOD_DAILY, .local_time = 1,
                             .software = "t" };
    ck_assert_msg(host_w3c_open_rolling(&o, err, sizeof err) == 0, "%s", err);
    for (unsigned i = 0; i < 20; i++) {
        char stem[32];
        snprintf(stem, sizeof stem, "/t0/%u", i);
        host_w3c_record_t r = { .method = "GET", .uri_stem = stem, .status = 200 };
        host_w3c_write(&r);
    }
    host_w3c_close();
    host_w3c_set_clock(NULL);
    size_t len;
    char path[300];
    snprintf(path, sizeof path, "%s/u_ex261201.log", dir);
    char *before = read_all(path, &len);
    snprintf(path, sizeof path, "%s/u_ex261202.log", dir);
    char *after = read_all(path, &len);
    ck_assert_msg(before && after, "the local day's file and the next one");
    ck_assert_msg(strstr(before, "2026-12-02 04:59:5") && !strstr(before, "2026-12-02 05:00:0"),
                  "before local midnight, records stamped in UTC: %s", before);
    ck_assert_msg(strncmp(after, "#Software: t\n", 13) == 0
                  && strstr(after, "2026-12-02 05:00:0"), "after it: %s", after);
    free(before);
    free(after);
}
END_TEST

START_TEST(test_hourly_rollover_under_load)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/hourly", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* 19:59:30 UTC, 300 ms per clock read: 24,000 records span two hours */
    atomic_store(&clock_now_ms, 1796241570000);
    clock_step_ms = 300;
    host_w3c_set_clock(moving_clock);
    char err[256];
    host_w3c_options_t o = { .dir = dir, .period = HOST_LOG_PERIOD_HOURLY, .software = "t" };
    ck_assert_msg(host_w3c_open_rolling(&o, err, sizeof err) == 0, "%s", err);
    run_writers();
    host_w3c_close();
    host_w3c_set_clock(NULL);
    tally_t *t = calloc(1, sizeof *t);
    tally_dir(dir, "u_ex", t);
    check_every_record(t);
    ck_assert_msg(t->files == 3, "three hours, three files: %u", t->files);
    char path[300];
    snprintf(path, sizeof path, "%s/u_ex26120221.log", dir);
    ck_assert_msg(access(path, F_OK) == 0, "%s exists", path);
    free(t);
}
END_TEST

START_TEST(test_size_rollover_under_load)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/size", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char err[256];
    host_w3c_options_t o = { .dir = dir, .period = HOST_LOG_PERIOD_SIZE, .truncate_size = 4096,
                             .software = "t" };
    ck_assert_msg(host_w3c_open_rolling(&o, err, sizeof err) == 0, "%s", err);
    run_writers();
    host_w3c_close();
    tally_t *t = calloc(1, sizeof *t);
    tally_dir(dir, "u_extend", t);
    check_every_record(t);
    ck_assert_msg(t->files > 100, "24,000 records in 4 KiB files: %u files", t->files);
    free(t);
}
END_TEST

START_TEST(test_sigusr1_reopens)
{
    char path[256], moved[300];
    snprintf(path, sizeof path, "%s/access.log", tmpdir);
    snprintf(moved, sizeof moved, "%s.1", path);
    ck_assert_int_eq(plat_reopen_signal_install(), 0);
    char err[256];
    ck_assert_msg(host_w3c_open(path, "t", err, sizeof err) == 0, "%s", err);
    host_w3c_record_t r = { .method = "GET", .uri_stem = "/t0/1", .status = 200 };
    host_w3c_write(&r);
    ck_assert_int_eq(rename(path, moved), 0);
    r.uri_stem = "/t0/2";
    host_w3c_write(&r);   /* no request yet: still the renamed file */
    unsigned before = plat_reopen_generation();
    ck_assert_int_eq(raise(SIGUSR1), 0);
    ck_assert_uint_eq(plat_reopen_generation(), before + 1);
    r.uri_stem = "/t0/3";
    host_w3c_write(&r);
    host_w3c_close();
    size_t len;
    char *old_text = read_all(moved, &len), *new_text = read_all(path, &len);
    ck_assert_ptr_nonnull(old_text);
    ck_assert_msg(new_text != NULL, "a new file at the original path");
    ck_assert_msg(strstr(old_text, "/t0/1") && strstr(old_text, "/t0/2")
                  && !strstr(old_text, "/t0/3"), "the renamed file: %s", old_text);
    ck_assert_msg(strncmp(new_text, "#Software: t\n", 13) == 0 && strstr(new_text, "#Fields: ")
                  && strstr(new_text, "/t0/3") && !strstr(new_text, "/t0/2"),
                  "the new file: %s", new_text);
    free(old_text);
    free(new_text);
}
END_TEST

static Suite *roll_suite(void)
{
    Suite *s = suite_create("logroll");
    TCase *c = tcase_create("rollover");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, test_iis_file_names);
    tcase_add_test(c, test_local_time_rollover);
    tcase_add_test(c, test_hourly_rollover_under_load);
    tcase_add_test(c, test_size_rollover_under_load);
    tcase_add_test(c, test_sigusr1_reopens);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    setenv("TZ", "EST5", 1);
    tzset();
    if (plat_init() != 0 || !mkdtemp(tmpdir))
        return 2;
    SRunner *sr = srunner_create(roll_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        failed++;
    return failed ? 1 : 0;
}
