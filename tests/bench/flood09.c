/*
 * flood09.c - a bounded HTTP/0.9 (or one-request-per-connection) load generator.
 *
 *   bench_flood09 HOST PORT THREADS SECONDS [REQUEST]
 *
 * Each of THREADS threads repeats until SECONDS have passed: connect to HOST:PORT, send
 * REQUEST (default "GET /small.txt\r\n", a simple request; "\r\n" in the argument is
 * written as the two characters backslash-r backslash-n and translated), read until the
 * server closes, close. A request counts as done when the server closed after sending at
 * least one byte; anything else (refused, reset, nothing read, a 2 s timeout on any step)
 * counts as an error. Latency is connect-to-close, kept in a per-thread histogram of
 * 10 us buckets up to 1 s. Output, one line, read by tests/bench/run.py:
 *
 *   requests N errors E seconds S rps R p50_ms A p99_ms B bytes Y
 *
 * Exit status 0 when at least one request completed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_BUCKET_US 10
#define FLOOD_BUCKETS 100000          /* 10 us x 100,000 = 1 s */
#define FLOOD_STEP_TIMEOUT_MS 2000

typedef struct flood_thread {
    pthread_t tid;
    uint64_t done, errors, bytes;
    uint32_t *hist;
} flood_thread_t;

static struct sockaddr_in flood_addr;
static char flood_request[1024];
static size_t flood_request_len;
static double flood_end;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wait_fd(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };
    int r;
    do
        r = poll(&p, 1, FLOOD_STEP_TIMEOUT_MS);
    while (r < 0 && errno == EINTR);
    return r > 0 ? 0 : -1;
}

/* One request on a fresh connection; returns the bytes read, or -1. */
static long one_request(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    long got = -1;
    if (connect(fd, (struct sockaddr *)&flood_addr, sizeof flood_addr) != 0)
        goto out;
    size_t sent = 0;
    while (sent < flood_request_len) {
        if (wait_fd(fd, POLLOUT) != 0)
            goto out;
        ssize_t n = send(fd, flood_request + sent, flood_request_len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            goto out;
        sent += (size_t)n;
    }
    long total = 0;
    char buf[16384];
    for (;;) {
        if (wait_fd(fd, POLLIN) != 0)
            goto out;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        total += n;
    }
    got = total > 0 ? total : -1;
out:
    close(fd);
    return got;
}

static void *flood_main(void *arg)
{
    flood_thread_t *t = arg;
    while (now_s() < flood_end) {
        double t0 = now_s();
        long n = one_request();
        double us = (now_s() - t0) * 1e6;
        if (n < 0) {
            t->errors++;
            continue;
        }
        t->done++;
        t->bytes += (uint64_t)n;
        size_t b = (size_t)(us / FLOOD_BUCKET_US);
        t->hist[b < FLOOD_BUCKETS ? b : FLOOD_BUCKETS - 1]++;
    }
    return NULL;
}

static double percentile_ms(const uint64_t *hist, uint64_t total, double q)
{
    uint64_t want = (uint64_t)((double)total * q), seen = 0;
    for (size_t b = 0; b < FLOOD_BUCKETS; b++) {
        seen += hist[b];
        if (seen > want)
            return (double)(b * FLOOD_BUCKET_US + FLOOD_BUCKET_US / 2) / 1000.0;
    }
    return (double)FLOOD_BUCKETS * FLOOD_BUCKET_US / 1000.0;
}

/* Copies s into flood_request, turning the two-character escapes \r and \n into bytes. */
static void set_request(const char *s)
{
    size_t n = 0;
    for (; *s && n + 1 < sizeof flood_request; s++) {
        if (s[0] == '\\' && (s[1] == 'r' || s[1] == 'n')) {
            flood_request[n++] = s[1] == 'r' ? '\r' : '\n';
            s++;
        } else {
            flood_request[n++] = *s;
        }
    }
    flood_request_len = n;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_flood09 HOST PORT THREADS SECONDS [REQUEST]\n");
        return 2;
    }
    memset(&flood_addr, 0, sizeof flood_addr);
    flood_addr.sin_family = AF_INET;
    flood_addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &flood_addr.sin_addr) != 1) {
        fprintf(stderr, "bench_flood09: bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    int nthreads = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (nthreads < 1 || nthreads > 256 || seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "bench_flood09: THREADS 1..256, SECONDS 0..3600\n");
        return 2;
    }
    set_request(argc > 5 ? argv[5] : "GET /small.txt\\r\\n");

    flood_thread_t *th = calloc((size_t)nthreads, sizeof *th);
    uint64_t *hist = calloc(FLOOD_BUCKETS, sizeof *hist);
    if (!th || !hist)
        return 1;
    double start = now_s();
    flood_end = start + seconds;
    int started = 0;
    for (int i = 0; i < nthreads; i++) {
        th[i].hist = calloc(FLOOD_BUCKETS, sizeof *th[i].hist);
        if (!th[i].hist || pthread_create(&th[i].tid, NULL, flood_main, &th[i]) != 0)
            break;
        started++;
    }
    uint64_t done = 0, errors = 0, bytes = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i].tid, NULL);
        done += th[i].done;
        errors += th[i].errors;
        bytes += th[i].bytes;
        for (size_t b = 0; b < FLOOD_BUCKETS; b++)
            hist[b] += th[i].hist[b];
        free(th[i].hist);
    }
    double elapsed = now_s() - start;
    printf("requests %llu errors %llu seconds %.3f rps %.1f p50_ms %.3f p99_ms %.3f bytes %llu\n",
           (unsigned long long)done, (unsigned long long)errors, elapsed,
           (double)done / elapsed, percentile_ms(hist, done, 0.50),
           percentile_ms(hist, done, 0.99), (unsigned long long)bytes);
    free(hist);
    free(th);
    return done > 0 ? 0 : 1;
}
