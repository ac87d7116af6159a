/*
 * dispatch.c - nanoseconds of engine overhead per filter call.
 *
 *   bench_dispatch NOOP_FILTER [ITERATIONS]
 *
 * For K = 0, 1, 4 and 16 it copies NOOP_FILTER (tests/bench/filters/noop) K times into a
 * temporary folder (one load per path: the copies are distinct modules), loads them into
 * a fresh engine, opens one connection and one request, and times a tight loop of
 * isapi_notify_end_of_request() and of isapi_notify_preproc_headers() (best of five
 * passes, CLOCK_MONOTONIC). With t(K) the time per notification, (t(K) - t(0)) / K is what
 * one more registered filter costs a notification: the engine's walk and isapi__invoke()
 * plus the filter's own work. The filter's own work is timed too, by calling its
 * HttpFilterProc directly in the same kind of loop, and subtracted: what remains is the
 * host overhead per filter call. Output: one line per (notification, K) and a summary
 * line per notification "overhead_ns_per_call <notification> <value>" (K = 16), which
 * tests/bench/run.py reads.
 *
 * Then what the call statistics of the metrics (isapi_engine_stats_enable) add: the same
 * END_OF_REQUEST loop with K = 1 and 16 on engines whose statistics are off, counting only,
 * timing with the performance counter (the shim's, CLOCK_MONOTONIC) and timing with the
 * host's tick counter (plat_ticks, host/os.h: what the server uses). One line per mode
 * and K, "stats <mode> K=<k> <ns per notification> (+<ns per call against off>)".
 */
#define _POSIX_C_SOURCE 200809L
#include <windows.h>
#include <httpfilt.h>

#include "isapi.h"
#include "os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PASSES 5

static const int bench_ks[] = { 0, 1, 4, 16 };
#define BENCH_NK (sizeof bench_ks / sizeof bench_ks[0])

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static DWORD op_write(void *host_conn, const void *data, size_t len)
{
    (void)host_conn;
    (void)data;
    (void)len;
    return 0;
}

static DWORD op_send_response_header(void *host_conn, isapi_conn *c,
                                     const isapi_send_origin *origin, const char *status,
                                     const char *added, const char *extra)
{
    (void)host_conn;
    (void)c;
    (void)origin;
    (void)status;
    (void)added;
    (void)extra;
    return ERROR_NOT_SUPPORTED;
}

static const isapi_ops bench_ops = { .write = op_write,
                                     .send_response_header = op_send_response_header };

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    return rc;
}

enum { N_END, N_PREPROC, N_COUNT };
static const char *const notif_name[N_COUNT] = { "END_OF_REQUEST", "PREPROC_HEADERS" };

/* Best time per call over BENCH_PASSES passes of `iters` calls. */
static double time_notification(isapi_conn *c, int which, long iters)
{
    double best = 0;
    for (int p = 0; p < BENCH_PASSES; p++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            isapi_rc rc = which == N_END ? isapi_notify_end_of_request(c)
                                         : isapi_notify_preproc_headers(c);
            if (rc != ISAPI_CONTINUE) {
                fprintf(stderr, "bench_dispatch: %s returned %d\n", notif_name[which], (int)rc);
                exit(1);
            }
        }
        double t = (now_ns() - t0) / (double)iters;
        if (p == 0 || t < best)
            best = t;
    }
    return best;
}

/* The filter's own work: its HttpFilterProc called directly, no engine in between. */
static double time_direct(const char *path, long iters)
{
    HMODULE m = LoadLibraryA(path);
    if (!m)
        return -1;
    DWORD (WINAPI *proc)(PHTTP_FILTER_CONTEXT, DWORD, LPVOID) =
        (DWORD (WINAPI *)(PHTTP_FILTER_CONTEXT, DWORD, LPVOID))(void (*)(void))
            GetProcAddress(m, "HttpFilterProc");
    if (!proc) {
        FreeLibrary(m);
        return -1;
    }
    /* Called through a volatile pointer so the loop cannot be folded away. */
    DWORD (WINAPI *volatile call)(PHTTP_FILTER_CONTEXT, DWORD, LPVOID) = proc;
    HTTP_FILTER_CONTEXT fc;
    memset(&fc, 0, sizeof fc);
    double best = 0;
    volatile DWORD sink = 0;
    for (int p = 0; p < BENCH_PASSES; p++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++)
            sink += call(&fc, SF_NOTIFY_END_OF_REQUEST, NULL);
        double t = (now_ns() - t0) / (double)iters;
        if (p == 0 || t < best)
            best = t;
    }
    (void)sink;
    FreeLibrary(m);
    return best;
}

enum { STATS_OFF, STATS_COUNTS, STATS_QPC, STATS_TICKS, STATS_MODES };
static const char *const stats_name[STATS_MODES] = {
    "off", "counts", "timed_performance_counter", "timed_plat_ticks"
};

/* An engine with the first k of paths loaded, statistics as `mode` says, and one request
 * open on one connection; 0, or -1 with nothing left open. */
static int open_engine(char (*paths)[64], int k, int mode, isapi_engine **pe, isapi_conn **pc)
{
    isapi_engine *e = isapi_engine_create(NULL);
    char err[512];
    for (int i = 0; i < k && e; i++)
        if (isapi_engine_load(e, paths[i], err, sizeof err) != 0) {
            fprintf(stderr, "bench_dispatch: %s\n", err);
            isapi_engine_destroy(e);
            return -1;
        }
    int rc = 0;
    if (e && mode == STATS_COUNTS)
        rc = isapi_engine_stats_enable(e, 0, NULL, 0);
    else if (e && mode == STATS_QPC)
        rc = isapi_engine_stats_enable(e, 1, NULL, 0);
    else if (e && mode == STATS_TICKS)
        rc = isapi_engine_stats_enable(e, 1, plat_ticks, plat_ticks_calibrate());
    isapi_conn_info info = { "127.0.0.1", "80", "127.0.0.1", "40000", NULL, 0, 1 };
    isapi_conn *c = e && rc == 0 ? isapi_conn_open(e, NULL, &bench_ops, &info) : NULL;
    isapi_request *req = c ? isapi_request_begin(c) : NULL;
    if (!req) {
        fprintf(stderr, "bench_dispatch: cannot open an engine with %d filters\n", k);
        isapi_conn_close(c);
        isapi_engine_destroy(e);
        return -1;
    }
    isapi_str_set(req, &req->method, "GET", (size_t)-1);
    isapi_str_set(req, &req->url, "/small.txt", (size_t)-1);
    isapi_str_set(req, &req->version, "HTTP/1.1", (size_t)-1);
    isapi_headers_add(&req->headers, "Host", (size_t)-1, "127.0.0.1", (size_t)-1);
    *pe = e;
    *pc = c;
    return 0;
}

/* The statistics' cost per call, for K = 1 and 16 filters. */
static int time_stats(char (*paths)[64], long iters)
{
    static const int ks[] = { 1, 16 };
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        double off = 0;
        for (int mode = 0; mode < STATS_MODES; mode++) {
            isapi_engine *e;
            isapi_conn *c;
            if (open_engine(paths, ks[ki], mode, &e, &c) != 0)
                return 1;
            double t = time_notification(c, N_END, iters);
            if (mode == STATS_OFF)
                off = t;
            printf("stats %-25s K=%-2d %8.2f ns/notification (%+.2f ns per call)\n",
                   stats_name[mode], ks[ki], t, (t - off) / ks[ki]);
            isapi_conn_close(c);
            isapi_engine_destroy(e);
        }
    }
    printf("stats clock: %s\n", plat_ticks_source());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dispatch NOOP_FILTER [ITERATIONS]\n");
        return 2;
    }
    long iters = argc > 2 ? atol(argv[2]) : 2000000;
    if (iters < 1)
        iters = 1;
    char dir[] = "/tmp/bench_dispatch_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_dispatch: mkdtemp");
        return 1;
    }
    char paths[16][64];
    for (int i = 0; i < 16; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/noop%d.so", dir, i);
        if (copy_file(argv[1], paths[i]) != 0) {
            fprintf(stderr, "bench_dispatch: cannot copy %s to %s\n", argv[1], paths[i]);
            return 1;
        }
    }

    double t[N_COUNT][BENCH_NK];
    int status = 0;
    for (size_t ki = 0; ki < BENCH_NK && status == 0; ki++) {
        int k = bench_ks[ki];
        isapi_engine *e;
        isapi_conn *c;
        if (open_engine(paths, k, STATS_OFF, &e, &c) != 0) {
            status = 1;
            break;
        }
        for (int n = 0; n < N_COUNT; n++) {
            t[n][ki] = time_notification(c, n, iters);
            printf("dispatch %-15s K=%-2d %8.2f ns/notification\n", notif_name[n], k,
                   t[n][ki]);
        }
        isapi_conn_close(c);
        isapi_engine_destroy(e);
    }
    if (status == 0)
        status = time_stats(paths, iters);
    double own = time_direct(paths[0], iters);
    if (own < 0) {
        fprintf(stderr, "bench_dispatch: cannot call %s directly\n", paths[0]);
        status = 1;
    }
    for (int i = 0; i < 16; i++)
        unlink(paths[i]);
    rmdir(dir);
    if (status != 0)
        return status;
    printf("filter_own_ns_per_call %.2f\n", own);
    for (int n = 0; n < N_COUNT; n++) {
        for (size_t ki = 1; ki < BENCH_NK; ki++)
            printf("per_filter %-15s K=%-2d %6.2f ns (engine %6.2f ns)\n", notif_name[n],
                   bench_ks[ki], (t[n][ki] - t[n][0]) / bench_ks[ki],
                   (t[n][ki] - t[n][0]) / bench_ks[ki] - own);
        printf("overhead_ns_per_call %s %.2f\n", notif_name[n],
               (t[n][BENCH_NK - 1] - t[n][0]) / bench_ks[BENCH_NK - 1] - own);
    }
    return 0;
}
