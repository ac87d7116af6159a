/*
 * test_stats.c - the call statistics behind /metrics (isapi_engine_stats_enable,
 * isapi_engine_call_stats): how often a walk reads the clock, what each call is charged,
 * and exact counts from many threads at once, past the threads that get a block of their
 * own, while another thread reads them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

/* A clock that advances one tick per read, one tick a microsecond: every call then takes
 * exactly one tick whatever the machine does, and the reads can be counted. */
static uint64_t fake_now;
static unsigned fake_reads;

static uint64_t fake_clock(void)
{
    fake_reads++;
    return ++fake_now;
}

static size_t slot_of(DWORD bit)
{
    for (size_t n = 0; n < isapi_notification_count(); n++)
        if (isapi_notification_bit(n) == bit)
            return n;
    ck_abort_msg("no slot for notification %lx", (unsigned long)bit);
    return 0;
}

START_TEST(test_one_clock_read_between_calls)
{
    DWORD flags = SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_ORDER_MEDIUM;
    fx_probe(0, "A", flags, "");
    fx_probe(1, "B", flags, "");
    fx_probe(2, "C", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_MEDIUM, "");
    ck_assert_int_eq(isapi_engine_stats_enable(F.e, 1, fake_clock, 1000000), 0);
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_uint_eq(fake_reads, 4);   /* three calls: one read before, one after each */

    size_t pre = slot_of(SF_NOTIFY_PREPROC_HEADERS);
    for (size_t i = 0; i < 3; i++) {
        isapi_call_stats cs;
        ck_assert_int_eq(isapi_engine_call_stats(F.e, i, pre, &cs), 0);
        ck_assert_msg(cs.calls == 1 && cs.le[0] == 1, "filter %zu: %llu calls, %llu <= 1 us",
                      i, (unsigned long long)cs.calls, (unsigned long long)cs.le[0]);
        ck_assert_msg(cs.seconds > 0.9e-6 && cs.seconds < 1.1e-6, "filter %zu: %g s", i,
                      cs.seconds);
    }
    /* Each walk starts over: a notification with two filters reads three times. */
    fake_reads = 0;
    ck_assert_int_eq(isapi_notify_end_of_request(F.c), ISAPI_CONTINUE);
    ck_assert_uint_eq(fake_reads, 3);
}
END_TEST

START_TEST(test_untimed_counts_read_no_clock)
{
    fx_probe(0, "A", SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_MEDIUM, "");
    ck_assert_int_eq(isapi_engine_stats_enable(F.e, 0, fake_clock, 1000000), 0);
    fx_open(0);
    fx_request("GET", "/", "HTTP/1.1", NULL);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(isapi_notify_preproc_headers(F.c), ISAPI_CONTINUE);
    ck_assert_uint_eq(fake_reads, 0);
    isapi_call_stats cs;
    ck_assert_int_eq(isapi_engine_call_stats(F.e, 0, slot_of(SF_NOTIFY_PREPROC_HEADERS), &cs),
                     0);
    ck_assert_uint_eq(cs.calls, 5);
    ck_assert_uint_eq(cs.le[ISAPI_STATS_BUCKETS - 1], 0);
}
END_TEST

/* More threads than get a block of their own (1,024), a few at a time, each with its own
 * connection, and a reader summing the blocks meanwhile. */
#define STATS_THREADS 1100
#define STATS_AT_ONCE 16
#define STATS_CALLS 20

static size_t pre_slot;

static void *caller(void *arg)
{
    (void)arg;
    isapi_conn_info info = { "127.0.0.1", "8080", "10.1.2.3", "54321", NULL, 0, 3 };
    isapi_conn *c = isapi_conn_open(F.e, NULL, &F.ops, &info);
    isapi_request *r = c ? isapi_request_begin(c) : NULL;
    if (!r)
        return (void *)1;
    isapi_str_set(r, &r->method, "GET", (size_t)-1);
    isapi_str_set(r, &r->url, "/fast", (size_t)-1);
    isapi_str_set(r, &r->version, "HTTP/1.1", (size_t)-1);
    void *failed = NULL;
    for (int i = 0; i < STATS_CALLS; i++)
        if (isapi_notify_preproc_headers(c) != ISAPI_CONTINUE)
            failed = (void *)1;
    isapi_conn_close(c);
    return failed;
}

static atomic_int callers_done;

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    while (!atomic_load(&callers_done)) {
        isapi_call_stats cs;
        if (isapi_engine_call_stats(F.e, 0, pre_slot, &cs) != 0 || cs.calls < last
            || cs.le[ISAPI_STATS_BUCKETS - 1] > cs.calls)
            return (void *)1;
        for (int b = 1; b < ISAPI_STATS_BUCKETS; b++)
            if (cs.le[b] < cs.le[b - 1])
                return (void *)1;
        last = cs.calls;
    }
    return NULL;
}

START_TEST(test_exact_counts_from_many_threads)
{
    char err[512];
    ck_assert_msg(isapi_engine_load(F.e, SLEEPER_PATH, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(isapi_engine_stats_enable(F.e, 1, NULL, 0), 0);
    pre_slot = slot_of(SF_NOTIFY_PREPROC_HEADERS);
    pthread_t read_thread;
    ck_assert_int_eq(pthread_create(&read_thread, NULL, reader, NULL), 0);
    int failures = 0;
    for (int started = 0; started < STATS_THREADS; started += STATS_AT_ONCE) {
        pthread_t t[STATS_AT_ONCE];
        int n = STATS_THREADS - started < STATS_AT_ONCE ? STATS_THREADS - started
                                                         : STATS_AT_ONCE;
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, caller, NULL), 0);
        for (int i = 0; i < n; i++) {
            void *rc;
            pthread_join(t[i], &rc);
            failures += rc != NULL;
        }
    }
    atomic_store(&callers_done, 1);
    void *read_rc;
    pthread_join(read_thread, &read_rc);
    ck_assert_int_eq(failures, 0);
    ck_assert_msg(read_rc == NULL, "a read while calls ran was not cumulative or went back");
    isapi_call_stats cs;
    ck_assert_int_eq(isapi_engine_call_stats(F.e, 0, pre_slot, &cs), 0);
    ck_assert_uint_eq(cs.calls, (uint64_t)STATS_THREADS * STATS_CALLS);
    ck_assert_msg(cs.seconds > 0, "time spent: %g s", cs.seconds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isapi_stats");
    TCase *tc = tcase_create("stats");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_one_clock_read_between_calls);
    tcase_add_test(tc, test_untimed_counts_read_no_clock);
    tcase_add_test(tc, test_exact_counts_from_many_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
