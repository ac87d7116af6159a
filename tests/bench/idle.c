/*
 * idle.c - opens many keep-alive connections and holds them idle, to measure what an idle
 * connection costs the server.
 *
 *   bench_idle HOST PORT COUNT HOLD_SECONDS [PATH]
 *
 * Raises its own RLIMIT_NOFILE to the hard limit, then for each of COUNT connections:
 * connect, send one HTTP/1.1 keep-alive request for PATH (default /small.txt), and read
 * the complete response (headers, then Content-Length bytes), every step bounded by 5 s.
 * Requests are issued in windows of 64 connections in flight. When all are open it prints
 * "held N failed F" and flushes, then holds every connection open, sending nothing, until
 * its standard input reaches end of file or HOLD_SECONDS pass, and closes them all. The
 * caller (tests/bench/run.py) reads the server's resident memory while they are held.
 * Exit status 0 when every connection was opened and answered, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_STEP_TIMEOUT_MS 5000
#define IDLE_WINDOW 64
#define IDLE_RESP_MAX 65536

typedef struct idle_conn {
    int fd;
    size_t got;
    char *buf;
} idle_conn_t;

static int response_complete(const char *b, size_t n)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
            end = b + i + 4;
            break;
        }
    if (!end)
        return 0;
    size_t head = (size_t)(end - b), cl = 0;
    for (const char *p = b; p < end; p++)
        if ((p == b || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) {
            cl = (size_t)strtoul(p + 15, NULL, 10);
            break;
        }
    return n >= head + cl;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_idle HOST PORT COUNT HOLD_SECONDS [PATH]\n");
        return 2;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bench_idle: bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    long count = atol(argv[3]);
    int hold = atoi(argv[4]);
    const char *path = argc > 5 ? argv[5] : "/small.txt";
    if (count < 1 || count > 1000000 || hold < 0) {
        fprintf(stderr, "bench_idle: COUNT 1..1000000, HOLD_SECONDS >= 0\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 16) {
        fprintf(stderr, "bench_idle: RLIMIT_NOFILE %lu is below %ld connections\n",
                (unsigned long)rl.rlim_cur, count);
        return 1;
    }
    char req[512];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, argv[1]);

    int *fds = malloc((size_t)count * sizeof *fds);
    idle_conn_t win[IDLE_WINDOW];
    struct pollfd pfd[IDLE_WINDOW];
    if (!fds)
        return 1;
    for (int i = 0; i < IDLE_WINDOW; i++)
        win[i].buf = malloc(IDLE_RESP_MAX);
    long opened = 0, failed;
    for (long base = 0; base < count; base += IDLE_WINDOW) {
        int nw = (int)(count - base < IDLE_WINDOW ? count - base : IDLE_WINDOW);
        for (int i = 0; i < nw; i++) {
            win[i].got = 0;
            win[i].fd = socket(AF_INET, SOCK_STREAM, 0);
            if (win[i].fd >= 0 && (connect(win[i].fd, (struct sockaddr *)&addr, sizeof addr) != 0
                                   || send(win[i].fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen)) {
                close(win[i].fd);
                win[i].fd = -1;
            }
        }
        for (;;) {
            int np = 0;
            for (int i = 0; i < nw; i++) {
                pfd[i].fd = win[i].fd;   /* negative fds are ignored by poll */
                pfd[i].events = POLLIN;
                pfd[i].revents = 0;
                np += win[i].fd >= 0;
            }
            if (np == 0)
                break;
            int r = poll(pfd, (nfds_t)nw, IDLE_STEP_TIMEOUT_MS);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                for (int i = 0; i < nw; i++)
                    if (win[i].fd >= 0) {
                        close(win[i].fd);
                        win[i].fd = -2;
                    }
                break;
            }
            for (int i = 0; i < nw; i++) {
                if (win[i].fd < 0 || !pfd[i].revents)
                    continue;
                ssize_t n = recv(win[i].fd, win[i].buf + win[i].got,
                                 IDLE_RESP_MAX - win[i].got, 0);
                if (n <= 0) {
                    close(win[i].fd);
                    win[i].fd = -2;
                    continue;
                }
                win[i].got += (size_t)n;
                if (response_complete(win[i].buf, win[i].got)) {
                    fds[opened++] = win[i].fd;
                    win[i].fd = -1;
                } else if (win[i].got == IDLE_RESP_MAX) {
                    close(win[i].fd);
                    win[i].fd = -2;
                }
            }
        }
    }
    failed = count - opened;
    printf("held %ld failed %ld\n", opened, failed);
    fflush(stdout);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd in = { 0, POLLIN, 0 };
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = (long)hold * 1000 - ((t.tv_sec - t0.tv_sec) * 1000
                                         + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            break;
        int r = poll(&in, 1, (int)(left < 1000 ? left : 1000));
        if (r > 0) {
            char b[64];
            if (read(0, b, sizeof b) <= 0)
                break;
        }
    }
    for (long i = 0; i < opened; i++)
        close(fds[i]);
    for (int i = 0; i < IDLE_WINDOW; i++)
        free(win[i].buf);
    free(fds);
    return failed == 0 ? 0 : 1;
}
