/*
 * stress.c - a bounded load generator and checker for isapihost (the HTTP/0.9 stress
 * regression of KB Q323064: filters loaded, simple requests mixed with full ones).
 *
 *   stress [options] -- <server command...>
 *
 * It writes a site (three files of known content) and an INI file into --workdir, starts
 * the server command with "--config <ini>" appended (ALLCALLS_REPORT set to a report file
 * there), reads the bound port from the port file, and drives it from --conns threads on
 * 127.0.0.1 only. Each thread loops over a mix of scenarios: an HTTP/0.9 simple request
 * (the answer must be the file's exact bytes, no "HTTP/" prefix: strict policy), an
 * HTTP/1.0 request, an HTTP/1.1 keep-alive series, a pipelined burst, a connection dropped
 * in the middle of its request and one dropped in the middle of a large response (half of
 * them with a reset). Every 1.x response is parsed (status, Content-Length, body bytes
 * against the file); with --allcalls its X-Allcalls-Violations header must read 0.
 *
 * The run stops by itself at --requests verified responses or --seconds, whichever comes
 * first. A warm-up run comes first; then the server's open descriptors (/proc/<pid>/fd)
 * and VmRSS are sampled, and after the main run and a settle time they must be back:
 * descriptors at or below the baseline, VmRSS within the tolerance. With --wine those
 * checks are skipped (the process is Wine's, not the server's) and say so. During the main
 * run VmRSS is also read every second (printed every --report-every seconds); with
 * --rss-growth-kb K no sample may exceed the warm-up figure by more than K. Finally the
 * server is stopped (SIGTERM; SIGINT under Wine, which Wine turns into Ctrl+C), must exit
 * 0 (native), and its stderr must hold no sanitizer report; the allcalls report must hold
 * no VIOLATION line. Exit status 0 = all good, 1 = a check failed, 2 = usage/setup error.
 *
 * --samples DIR (the soak): the server loads the bundled configuration's default filter
 * set from DIR (rawguard, headers, rewrite, basicauth, upcase, logger, each with its .ini
 * beside it) and writes a W3C log, and the 1.x scenarios draw from the filters' cases
 * instead of plain files: upcase's rewritten HTML (compared upper-cased), rewrite's internal
 * rewrite, physical mapping and its own 301, basicauth's 401 and the demo account's 200,
 * 404, a POST with a body (405), rawguard's 400 for TRACE and a malformed head (400). The
 * HTTP/0.9 scenario also asks for the upcase page, which the filter sees as all body.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- options ---------------------------------------------------------------------- */

static struct {
    long requests;
    double seconds;
    int conns;
    const char *workdir;
    const char *filter;
    int wine;
    int allcalls;
    long rss_slack_kb;
    int rss_pct;
    int workers;
    const char *samples;      /* the folder of the built sample filters: the soak mix */
    long rss_growth_kb;       /* the bound on every sample over the warm-up figure */
    double report_every;      /* seconds between printed memory samples */
    char **server_argv;
    int server_argc;
} opt = { 20000, 20.0, 64, NULL, NULL, 0, 0, 16384, 50, 16, NULL, -1, 10.0, NULL, 0 };

/* The default filter set of the bundled configuration (CMakeLists.txt), in its load order. */
static const char *const sample_filters[] = { "rawguard", "headers", "rewrite", "basicauth",
                                              "upcase", "logger" };

/* ---- the site --------------------------------------------------------------------- */

typedef struct site_file {
    const char *name;
    unsigned char *data;
    size_t len;
} site_file;

enum { F_SMALL, F_MID, F_BIG, F_UPCASE, F_LEGACY, F_PRIVATE, F_COUNT };
/* The last three are written only with --samples, for the folders the sample filters'
 * .ini files name (upcase.ini, rewrite.ini, basicauth.ini). */
static site_file files[F_COUNT] = {
    { "small.txt", NULL, 13 }, { "mid.bin", NULL, 48 * 1024 }, { "big.bin", NULL, 1024 * 1024 },
    { "upcase/page.html", NULL, 4096 }, { "legacy/page.htm", NULL, 2000 },
    { "private/page.htm", NULL, 700 },
};
/* What the upcase filter makes of upcase/page.html: the same bytes, upper-cased. */
static unsigned char *upcased;

static char root_dir[1024], ini_path[1024], port_path[1024], report_path[1024], err_path[1024];

/* ---- results ---------------------------------------------------------------------- */

static atomic_long n_requests;      /* verified responses */
static atomic_long n_errors;
static atomic_long n_scen[6];
static atomic_long n_sample_kinds;  /* --samples: requests that reached a filter's case */
static const char *const scen_names[6] = { "http09", "http10", "keepalive11", "pipelined",
                                           "drop_request", "drop_response" };
static double deadline;
static long limit_requests;
static uint16_t port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void error_at(const char *scen, const char *fmt, ...)
{
    long n = atomic_fetch_add(&n_errors, 1);
    if (n >= 25)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "stress: error in %s: %s\n", scen, msg);
}

static int done(void)
{
    return atomic_load(&n_requests) >= limit_requests || now_s() >= deadline;
}

/* ---- client side ------------------------------------------------------------------ */

typedef struct client {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    unsigned rng;
} client;

static unsigned rnd(client *c, unsigned n)
{
    c->rng = c->rng * 1103515245u + 12345u;
    return (c->rng >> 8) % n;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { 20, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into the client buffer: >0 bytes, 0 EOF, -1 error or timeout. */
static ssize_t fill(client *c)
{
    if (c->len + 65536 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 262144;
        while (cap < c->len + 65536)
            cap *= 2;
        unsigned char *nb = realloc(c->buf, cap);
        if (!nb)
            return -1;
        c->buf = nb;
        c->cap = cap;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            c->len += (size_t)r;
        return r;
    }
}

static void consume(client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void drop(client *c, int reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Finds a header's value in a response head (case-insensitive name). */
static int head_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2] != '\r') {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = strstr(p, "\r\n");
    }
    return 0;
}

/* Reads one HTTP/1.x response and checks it: status `want_status`, and for 200 the body
 * equals `f`. *close_after is set when the server said Connection: close. Returns 0 or
 * -1 (error reported). */
static int read_response_data(client *c, const char *scen, int want_status, const site_file *f,
                              const unsigned char *data, int *close_after);

static int read_response(client *c, const char *scen, int want_status, const site_file *f,
                         int *close_after)
{
    return read_response_data(c, scen, want_status, f, f ? f->data : NULL, close_after);
}

/* As read_response, the body compared with `data` (f's length and name). */
static int read_response_data(client *c, const char *scen, int want_status, const site_file *f,
                              const unsigned char *data, int *close_after)
{
    size_t head_end;
    for (;;) {
        unsigned char *e = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (e) {
            head_end = (size_t)(e - c->buf) + 4;
            break;
        }
        if (c->len > 65536) {
            error_at(scen, "response head over 64 KiB");
            return -1;
        }
        ssize_t r = fill(c);
        if (r <= 0) {
            error_at(scen, "connection %s before the response head (%zu bytes read)",
                     r == 0 ? "closed" : "failed", c->len);
            return -1;
        }
    }
    char *head = malloc(head_end + 1);
    if (!head)
        return -1;
    memcpy(head, c->buf, head_end);
    head[head_end] = '\0';
    int rc = -1;
    int status = 0;
    char val[64];
    if (strncmp(head, "HTTP/1.1 ", 9) != 0 && strncmp(head, "HTTP/1.0 ", 9) != 0) {
        error_at(scen, "bad status line: %.40s", head);
        goto out;
    }
    status = atoi(head + 9);
    if (status != want_status) {
        error_at(scen, "status %d, expected %d (%.60s)", status, want_status,
                 f ? f->name : "no body check");
        goto out;
    }
    if (!head_value(head, "Content-Length", val, sizeof val)) {
        error_at(scen, "no Content-Length in a %d response", status);
        goto out;
    }
    size_t clen = strtoul(val, NULL, 10);
    if (opt.allcalls) {
        if (!head_value(head, "X-Allcalls-Violations", val, sizeof val)) {
            error_at(scen, "no X-Allcalls-Violations header: the allcalls filter did not run");
            goto out;
        }
        if (strcmp(val, "0") != 0) {
            error_at(scen, "allcalls reports %s contract violation(s)", val);
            goto out;
        }
    }
    *close_after = head_value(head, "Connection", val, sizeof val) && strcasecmp(val, "close") == 0;
    consume(c, head_end);
    while (c->len < clen) {
        ssize_t r = fill(c);
        if (r <= 0) {
            error_at(scen, "body cut at %zu of %zu bytes", c->len, clen);
            goto out;
        }
    }
    if (f && (clen != f->len || memcmp(c->buf, data, clen) != 0)) {
        error_at(scen, "body of %s differs (%zu bytes, file %zu)", f->name, clen, f->len);
        goto out;
    }
    consume(c, clen);
    atomic_fetch_add(&n_requests, 1);
    rc = 0;
out:
    free(head);
    return rc;
}

/* A request of the --samples mix: what to send and what must come back. */
typedef struct target {
    const char *method;
    char path[64];
    const char *headers;          /* extra header lines, each ending in CRLF */
    const char *body;             /* sent with Content-Length, or NULL */
    int status;
    const site_file *expect;      /* the body must equal it (NULL: not compared) */
    const unsigned char *expect_data;  /* when set, compared instead of expect->data */
    int closes;                   /* the server ends the connection after it */
    int close_unannounced;        /* ... without a "Connection: close" in the head */
} target;

static const char basic_alice[] = "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n";

/* Picks one request of the sample filters' cases. `may_close`: a request the server
 * answers with a close (a filter's own 301 or 400, a malformed head) may be chosen. */
static void pick_sample(client *c, int may_close, target *t)
{
    memset(t, 0, sizeof *t);
    t->method = "GET";
    t->headers = "";
    t->status = 200;
    unsigned r = rnd(c, may_close ? 100 : 84);
    if (r < 25) {                        /* static, no filter acts */
        t->expect = &files[r < 18 ? F_SMALL : F_MID];
        snprintf(t->path, sizeof t->path, "/%s", t->expect->name);
        return;
    }
    atomic_fetch_add(&n_sample_kinds, 1);
    if (r < 45) {                        /* upcase rewrites the body */
        t->expect = &files[F_UPCASE];
        t->expect_data = upcased;
        snprintf(t->path, sizeof t->path, "/upcase/page.html");
    } else if (r < 55) {                 /* rewrite: an internal rewrite ... */
        t->expect = &files[F_LEGACY];
        snprintf(t->path, sizeof t->path, "/app/page.htm");
    } else if (r < 63) {                 /* ... and a physical-path mapping */
        t->expect = &files[F_LEGACY];
        snprintf(t->path, sizeof t->path, "/archive/page.htm");
    } else if (r < 72) {                 /* basicauth lets the demo account in */
        t->expect = &files[F_PRIVATE];
        t->headers = basic_alice;
        snprintf(t->path, sizeof t->path, "/private/page.htm");
    } else if (r < 79) {                 /* an error page */
        t->status = 404;
        snprintf(t->path, sizeof t->path, "/missing-%u.txt", rnd(c, 1000));
    } else if (r < 84) {                 /* a body the static handler refuses */
        t->method = "POST";
        t->body = "field=value&other=0123456789abcdef";
        t->status = 405;
        snprintf(t->path, sizeof t->path, "/small.txt");
    } else if (r < 93) {                 /* basicauth denies anonymous or a wrong password */
        t->status = 401;
        t->closes = 1;
        /* Why: the filter fails the request (SF_STATUS_REQ_ERROR), and the server closes
         * after a filter ended a request, as IIS 6 and 7.5 do (http1.c, filter_ended);
         * the denial's head does not say so (no "Connection: close"), so the check
         * accepts the close unannounced here. */
        t->close_unannounced = 1;
        t->headers = r < 90 ? "" : "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";
        snprintf(t->path, sizeof t->path, "/private/page.htm");
    } else if (r < 96) {                 /* rewrite answers a redirect itself, and closes */
        t->status = 301;
        t->closes = 1;
        snprintf(t->path, sizeof t->path, "/old/page.htm");
    } else if (r < 98) {                 /* rawguard refuses the method, and closes */
        t->method = "TRACE";
        t->status = 400;
        t->closes = 1;
        snprintf(t->path, sizeof t->path, "/small.txt");
    } else {                             /* a malformed header line: 400, closed */
        t->status = 400;
        t->closes = 1;
        t->headers = "this line has no colon\r\n";
        snprintf(t->path, sizeof t->path, "/small.txt");
    }
}

/* Formats t as an HTTP/1.1 request into buf; returns its length. */
static size_t format_target(const target *t, int last, char *buf, size_t cap)
{
    int n;
    if (t->body)
        n = snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n"
                               "%s\r\n%s", t->method, t->path, t->headers, strlen(t->body),
                     last ? "Connection: close\r\n" : "", t->body);
    else
        n = snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n", t->method,
                     t->path, t->headers, last ? "Connection: close\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Picks a target: a file (200) or a missing one (404). */
static const site_file *pick(client *c, int allow_big, char *path, size_t pathlen, int *status)
{
    unsigned r = rnd(c, 20);
    if (r == 0) {
        snprintf(path, pathlen, "/missing-%u.txt", rnd(c, 1000));
        *status = 404;
        return NULL;
    }
    const site_file *f = r < 12 ? &files[F_SMALL] : (r < 19 || !allow_big) ? &files[F_MID]
                                                                            : &files[F_BIG];
    snprintf(path, pathlen, "/%s", f->name);
    *status = 200;
    return f;
}

/* Picks the next request of a keep-alive series or a pipelined burst into t. */
typedef void (*target_picker)(client *c, target *t);

/* A file (200) or a missing one (404), never the big file, without a close. */
static void pick_file_target(client *c, target *t)
{
    memset(t, 0, sizeof *t);
    t->method = "GET";
    t->headers = "";
    t->expect = pick(c, 0, t->path, sizeof t->path, &t->status);
}

/* One of the sample filters' cases; pick_sample_open never one the server closes after. */
static void pick_sample_any(client *c, target *t)
{
    pick_sample(c, 1, t);
}

static void pick_sample_open(client *c, target *t)
{
    pick_sample(c, 0, t);
}

/* Connects c->fd to the server; 0, or -1 with the error reported under `scen`. */
static int open_conn(client *c, const char *scen)
{
    if ((c->fd = connect_server()) < 0) {
        error_at(scen, "connect: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads t's response and checks it against what t expects (read_response_data). */
static int read_target(client *c, const char *what, const target *t, int *close_after)
{
    return read_response_data(c, what, t->status, t->expect,
                              t->expect_data ? t->expect_data
                                             : t->expect ? t->expect->data : NULL,
                              close_after);
}

static void scen_http09(client *c)
{
    const char *scen = "http09";
    const site_file *f = rnd(c, 4) ? &files[F_SMALL] : &files[F_MID];
    const unsigned char *want = f->data;
    if (opt.samples && rnd(c, 3) == 0) {
        /* upcase sees a simple response as all body (upcase/README.md) */
        f = &files[F_UPCASE];
        want = upcased;
    }
    char req[128];
    int n = snprintf(req, sizeof req, "GET /%s%s", f->name, rnd(c, 2) ? "\r\n" : "\n");
    if (open_conn(c, scen) != 0)
        return;
    if (send_all(c->fd, req, (size_t)n) != 0) {
        error_at(scen, "send: %s", strerror(errno));
        drop(c, 0);
        return;
    }
    for (;;) {
        ssize_t r = fill(c);
        if (r == 0)
            break;
        if (r < 0) {
            error_at(scen, "recv: %s after %zu bytes", strerror(errno), c->len);
            drop(c, 0);
            return;
        }
        if (c->len > f->len + 4096)
            break;
    }
    /* Why: the strict policy answers a simple request with the entity body alone
     * (RFC 1945, IIS 7): no status line, the end marked by the close. */
    if (c->len >= 5 && memcmp(c->buf, "HTTP/", 5) == 0)
        error_at(scen, "0.9 response starts with a status line: %.30s", (char *)c->buf);
    else if (c->len != f->len || memcmp(c->buf, want, f->len) != 0)
        error_at(scen, "0.9 body of %s: %zu bytes, expected %zu", f->name, c->len, f->len);
    else
        atomic_fetch_add(&n_requests, 1);
    drop(c, 0);
}

/* Sends t on the open connection and checks its response: 0 and the connection still
 * open, 1 the server closed it as it should, -1 an error (reported). */
static int exchange(client *c, const char *scen, const target *t, int last)
{
    char req[512];
    size_t n = format_target(t, last, req, sizeof req);
    int close_after = 0;
    if (n == 0 || send_all(c->fd, req, n) != 0) {
        error_at(scen, "send: %s", strerror(errno));
        return -1;
    }
    char what[128];
    snprintf(what, sizeof what, "%s (%s %s)", scen, t->method, t->path);
    if (read_target(c, what, t, &close_after) != 0)
        return -1;
    if (t->close_unannounced) {
        char extra;
        ssize_t r = c->len > 0 ? 1 : recv(c->fd, &extra, 1, 0);
        if (r != 0) {
            error_at(what, "the connection stayed open (recv %zd)", r);
            return -1;
        }
        return 1;
    }
    if ((t->closes || last) && !close_after) {
        error_at(scen, "%s %s: no Connection: close where the server must close", t->method,
                 t->path);
        return -1;
    }
    return close_after;
}

/* --samples: one request of the mix per connection, the connection closed after it. */
static void scen_sample_once(client *c)
{
    const char *scen = "http10";
    target t;
    pick_sample(c, 1, &t);
    if (open_conn(c, scen) != 0)
        return;
    if (exchange(c, scen, &t, 1) == 1) {
        char extra;
        ssize_t r = recv(c->fd, &extra, 1, 0);
        if (r != 0)
            error_at(scen, "connection not closed after Connection: close (recv %zd)", r);
    }
    drop(c, 0);
}

/* A keep-alive series of 2 to 8 requests from `next`, until one the server closes after. */
static void keepalive_series(client *c, target_picker next)
{
    const char *scen = "keepalive11";
    if (open_conn(c, scen) != 0)
        return;
    unsigned k = 2 + rnd(c, 7);
    for (unsigned i = 0; i < k && !done(); i++) {
        target t;
        next(c, &t);
        if (exchange(c, scen, &t, 0) != 0)
            break;
    }
    drop(c, 0);
}

/* A pipelined burst of 2 to `max_k` requests from `next` (which picks none the server
 * closes after), sent at once, the last asking for the close. */
static void pipelined_burst(client *c, unsigned max_k, target_picker next)
{
    const char *scen = "pipelined";
    enum { MAXK = 10 };
    target ts[MAXK];
    char req[MAXK * 512];
    size_t rl = 0;
    if (max_k > MAXK)
        max_k = MAXK;
    unsigned k = 2 + rnd(c, max_k - 1);
    for (unsigned i = 0; i < k; i++) {
        next(c, &ts[i]);
        size_t n = format_target(&ts[i], i + 1 == k, req + rl, sizeof req - rl);
        if (n == 0)
            return;
        rl += n;
    }
    if (open_conn(c, scen) != 0)
        return;
    if (send_all(c->fd, req, rl) != 0) {
        error_at(scen, "send: %s", strerror(errno));
        drop(c, 0);
        return;
    }
    for (unsigned i = 0; i < k; i++) {
        int close_after = 0;
        const target *t = &ts[i];
        char what[128];
        snprintf(what, sizeof what, "%s (%s %s, %u of %u)", scen, t->method, t->path, i + 1, k);
        if (read_target(c, what, t, &close_after) != 0)
            break;
        if (close_after && i + 1 < k) {
            error_at(scen, "server closed after %u of %u pipelined requests", i + 1, k);
            break;
        }
    }
    drop(c, 0);
}

static void scen_http10(client *c)
{
    const char *scen = "http10";
    char path[64], req[256];
    int status, close_after;
    const site_file *f = pick(c, 1, path, sizeof path, &status);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nUser-Agent: stress\r\n\r\n", path);
    if (open_conn(c, scen) != 0)
        return;
    if (send_all(c->fd, req, (size_t)n) == 0 && read_response(c, scen, status, f, &close_after) == 0) {
        /* HTTP/1.0 without keep-alive: the server closes after the response */
        char extra;
        ssize_t r = recv(c->fd, &extra, 1, 0);
        if (r != 0)
            error_at(scen, "1.0 connection not closed after the response (recv %zd)", r);
    }
    drop(c, 0);
}

static void scen_drop_request(client *c)
{
    static const char *const partial[] = {
        "GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ",
        "GET /mid.b",
        "POST /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789",
        "GET /small.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: x\r\n\r\n10\r\nabc",
        "G",
    };
    const char *p = partial[rnd(c, 5)];
    if (open_conn(c, "drop_request") != 0)
        return;
    send_all(c->fd, p, strlen(p));
    if (rnd(c, 2))
        usleep(1000 * rnd(c, 20));
    drop(c, rnd(c, 2));
}

static void scen_drop_response(client *c)
{
    const char *scen = "drop_response";
    if (open_conn(c, scen) != 0)
        return;
    int use09 = rnd(c, 3) == 0;
    const char *req = use09 ? "GET /big.bin\r\n" : "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send_all(c->fd, req, strlen(req)) != 0) {
        error_at(scen, "send: %s", strerror(errno));
        drop(c, 0);
        return;
    }
    size_t want = 1 + rnd(c, 256 * 1024);
    while (c->len < want) {
        ssize_t r = fill(c);
        if (r <= 0) {
            error_at(scen, "connection ended after %zu bytes of big.bin", c->len);
            break;
        }
    }
    if (use09 && c->len >= 5 && memcmp(c->buf, "HTTP/", 5) == 0)
        error_at(scen, "0.9 response starts with a status line");
    drop(c, rnd(c, 2));
}

static void *worker(void *arg)
{
    client c = { .fd = -1, .rng = (unsigned)(uintptr_t)arg * 2654435761u + (unsigned)time(NULL) };
    while (!done()) {
        unsigned r = rnd(&c, 100);
        int s = r < 30 ? 0 : r < 45 ? 1 : r < 70 ? 2 : r < 88 ? 3 : r < 95 ? 4 : 5;
        atomic_fetch_add(&n_scen[s], 1);
        switch (s) {
        case 0: scen_http09(&c); break;
        case 1: opt.samples ? scen_sample_once(&c) : scen_http10(&c); break;
        case 2: keepalive_series(&c, opt.samples ? pick_sample_any : pick_file_target); break;
        case 3: pipelined_burst(&c, opt.samples ? 8 : 10,
                                opt.samples ? pick_sample_open : pick_file_target);
            break;
        case 4: scen_drop_request(&c); break;
        default: scen_drop_response(&c); break;
        }
    }
    free(c.buf);
    return NULL;
}

static int run_load(long requests, double seconds)
{
    atomic_store(&n_requests, 0);
    limit_requests = requests;
    deadline = now_s() + seconds;
    pthread_t *t = calloc((size_t)opt.conns, sizeof *t);
    if (!t)
        return -1;
    for (int i = 0; i < opt.conns; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0) {
            fprintf(stderr, "stress: cannot start thread %d\n", i);
            exit(2);
        }
    for (int i = 0; i < opt.conns; i++)
        pthread_join(t[i], NULL);
    free(t);
    return 0;
}

/* ---- the server process ----------------------------------------------------------- */

static pid_t server_pid;

/* Under Wine the server sees Unix paths through drive Z: ("Z:\tmp\x"). */
static void server_path(const char *unix_path, char *out, size_t outlen)
{
    if (!opt.wine) {
        snprintf(out, outlen, "%s", unix_path);
        return;
    }
    snprintf(out, outlen, "Z:%s", unix_path);
    for (char *p = out; *p; p++)
        if (*p == '/')
            *p = '\\';
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int make_site(void)
{
    snprintf(root_dir, sizeof root_dir, "%s/root", opt.workdir);
    snprintf(ini_path, sizeof ini_path, "%s/stress.ini", opt.workdir);
    snprintf(port_path, sizeof port_path, "%s/port", opt.workdir);
    snprintf(report_path, sizeof report_path, "%s/allcalls.report", opt.workdir);
    snprintf(err_path, sizeof err_path, "%s/server.stderr", opt.workdir);
    mkdir(opt.workdir, 0755);
    mkdir(root_dir, 0755);
    unlink(port_path);
    unlink(report_path);
    unsigned x = 12345;
    int nfiles = opt.samples ? F_COUNT : F_UPCASE;
    if (opt.samples) {
        static const char *const dirs[] = { "upcase", "legacy", "private" };
        for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
            char d[1100];
            snprintf(d, sizeof d, "%s/%s", root_dir, dirs[k]);
            mkdir(d, 0755);
        }
    }
    for (int i = 0; i < nfiles; i++) {
        files[i].data = malloc(files[i].len);
        if (!files[i].data)
            return -1;
        if (i == F_SMALL) {
            memcpy(files[i].data, "stress small\n", 13);
        } else if (i >= F_UPCASE) {
            /* lower-case HTML, so the upcase filter's work shows in every byte it owns */
            static const char para[] = "<p>the quick brown fox jumps over the lazy dog.</p>\n";
            size_t k = 0;
            while (k < files[i].len) {
                size_t n = files[i].len - k < sizeof para - 1 ? files[i].len - k : sizeof para - 1;
                memcpy(files[i].data + k, para, n);
                k += n;
            }
        } else {
            for (size_t k = 0; k < files[i].len; k++) {
                x = x * 1103515245u + 12345u;
                files[i].data[k] = (unsigned char)(x >> 16);
            }
        }
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", root_dir, files[i].name);
        if (write_file(p, files[i].data, files[i].len) != 0)
            return -1;
    }
    if (opt.samples) {
        if (!(upcased = malloc(files[F_UPCASE].len)))
            return -1;
        for (size_t k = 0; k < files[F_UPCASE].len; k++) {
            unsigned char ch = files[F_UPCASE].data[k];
            upcased[k] = ch >= 'a' && ch <= 'z' ? (unsigned char)(ch - 32) : ch;
        }
    }
    char root_s[1100], port_s[1100], filt_s[1100];
    server_path(root_dir, root_s, sizeof root_s);
    server_path(port_path, port_s, sizeof port_s);
    FILE *f = fopen(ini_path, "w");
    if (!f)
        return -1;
    fprintf(f, "[server]\nlisten = 127.0.0.1:0\nroot = %s\nport_file = %s\nhttp09 = strict\n"
               "workers = %d\nheader_timeout = 10\nkeepalive_timeout = 10\nsend_timeout = 20\n"
               "max_connections = 5000\n%s", root_s, port_s, opt.workers,
            /* as root (CI), filters run as root only when the configuration says so */
            !opt.wine && geteuid() == 0 ? "run_as_root = yes\n" : "");
    if (opt.samples) {
        /* the logger sample rewrites W3C records: there must be a log */
        char log_path[1024], log_s[1100];
        snprintf(log_path, sizeof log_path, "%s/access.log", opt.workdir);
        unlink(log_path);
        server_path(log_path, log_s, sizeof log_s);
        fprintf(f, "log = %s\n", log_s);
    }
    fprintf(f, "\n[filters]\n");
    if (opt.filter) {
        server_path(opt.filter, filt_s, sizeof filt_s);
        fprintf(f, "allcalls = %s\n", filt_s);
    }
    for (size_t k = 0; opt.samples && k < sizeof sample_filters / sizeof sample_filters[0]; k++) {
        char lib[1024];
        snprintf(lib, sizeof lib, "%s/%s%s", opt.samples, sample_filters[k],
                 opt.wine ? ".dll" : ".so");
        if (access(lib, R_OK) != 0) {
            fprintf(stderr, "stress: no sample filter %s\n", lib);
            fclose(f);
            return -1;
        }
        server_path(lib, filt_s, sizeof filt_s);
        fprintf(f, "%s = %s\n", sample_filters[k], filt_s);
    }
    return fclose(f);
}

static int start_server(void)
{
    char ini_s[1100], rep_s[1100];
    server_path(ini_path, ini_s, sizeof ini_s);
    server_path(report_path, rep_s, sizeof rep_s);
    char **argv = calloc((size_t)opt.server_argc + 3, sizeof *argv);
    if (!argv)
        return -1;
    for (int i = 0; i < opt.server_argc; i++)
        argv[i] = opt.server_argv[i];
    argv[opt.server_argc] = "--config";
    argv[opt.server_argc + 1] = ini_s;
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        setpgid(0, 0);
        setenv("ALLCALLS_REPORT", rep_s, 1);
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    free(argv);
    double until = now_s() + (opt.wine ? 90 : 20);
    while (now_s() < until) {
        FILE *f = fopen(port_path, "r");
        if (f) {
            unsigned p = 0;
            int ok = fscanf(f, "%u", &p) == 1;
            fclose(f);
            if (ok && p > 0 && p < 65536) {
                port = (uint16_t)p;
                return 0;
            }
        }
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            fprintf(stderr, "stress: the server exited at start (status %d); its output:\n", st);
            server_pid = 0;
            return -1;
        }
        usleep(50000);
    }
    fprintf(stderr, "stress: no port file after the start timeout\n");
    return -1;
}

/* Stops the server; returns its exit status, or -1 when it had to be killed. */
static int stop_server(void)
{
    if (server_pid <= 0)
        return -1;
    kill(server_pid, opt.wine ? SIGINT : SIGTERM);
    double until = now_s() + 30;
    int st;
    while (now_s() < until) {
        pid_t r = waitpid(server_pid, &st, WNOHANG);
        if (r == server_pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        usleep(50000);
    }
    kill(-server_pid, SIGKILL);
    waitpid(server_pid, &st, 0);
    return -1;
}

/* The process that serves: natively the server runs under a supervisor
 * (host/supervise.h) whose one child does the work, and descriptors and memory must be
 * measured there. Falls back to the started process. */
static pid_t serving_pid(void)
{
    char p[96];
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)server_pid, (int)server_pid);
    FILE *f = fopen(p, "r");
    long child = 0;
    if (f) {
        if (fscanf(f, "%ld", &child) != 1)
            child = 0;
        fclose(f);
    }
    return child > 0 ? (pid_t)child : server_pid;
}

static long count_fds(void)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd", (int)serving_pid());
    DIR *d = opendir(p);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static long rss_kb(void)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)serving_pid());
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* The memory series of the main run: VmRSS read every second, printed every
 * --report-every seconds, its highest value kept for the --rss-growth-kb check. */
static atomic_int sampler_stop;
static long rss_peak;
static long rss_samples;

static void *rss_sampler(void *arg)
{
    (void)arg;
    double t0 = now_s(), next_report = t0 + opt.report_every;
    while (!atomic_load(&sampler_stop)) {
        for (int i = 0; i < 10 && !atomic_load(&sampler_stop); i++)
            usleep(100 * 1000);
        long kb = rss_kb();
        if (kb < 0)
            continue;
        rss_samples++;
        if (kb > rss_peak)
            rss_peak = kb;
        if (now_s() >= next_report) {
            printf("stress: t=%4.0f s requests=%ld VmRSS=%ld kB\n", now_s() - t0,
                   atomic_load(&n_requests), kb);
            fflush(stdout);
            next_report += opt.report_every;
        }
    }
    return NULL;
}

/* Counts lines of `path` holding `needle`; -1 when the file cannot be read. */
static long grep_count(const char *path, const char *needle, int echo)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    long n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) {
            if (echo && n < 10)
                fprintf(stderr, "  %s", line);
            n++;
        }
    fclose(f);
    return n;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: stress [--requests N] [--seconds S] [--conns C] [--workers W]\n"
            "              [--filter allcalls.so|.dll] [--wine] [--rss-slack-kb K] [--rss-pct P]\n"
            "              [--samples DIR] [--rss-growth-kb K] [--report-every S]\n"
            "              --workdir DIR -- <server command...>\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc && strcmp(a, "--wine") != 0)
            usage();
        if (strcmp(a, "--requests") == 0) opt.requests = atol(argv[++i]);
        else if (strcmp(a, "--seconds") == 0) opt.seconds = atof(argv[++i]);
        else if (strcmp(a, "--conns") == 0) opt.conns = atoi(argv[++i]);
        else if (strcmp(a, "--workers") == 0) opt.workers = atoi(argv[++i]);
        else if (strcmp(a, "--workdir") == 0) opt.workdir = argv[++i];
        else if (strcmp(a, "--filter") == 0) opt.filter = argv[++i];
        else if (strcmp(a, "--rss-slack-kb") == 0) opt.rss_slack_kb = atol(argv[++i]);
        else if (strcmp(a, "--rss-pct") == 0) opt.rss_pct = atoi(argv[++i]);
        else if (strcmp(a, "--samples") == 0) opt.samples = argv[++i];
        else if (strcmp(a, "--rss-growth-kb") == 0) opt.rss_growth_kb = atol(argv[++i]);
        else if (strcmp(a, "--report-every") == 0) opt.report_every = atof(argv[++i]);
        else if (strcmp(a, "--wine") == 0) opt.wine = 1;
        else usage();
    }
    if (i >= argc || !opt.workdir || opt.conns < 1 || opt.requests < 1 || opt.seconds <= 0
        || opt.report_every <= 0)
        usage();
    opt.server_argv = argv + i;
    opt.server_argc = argc - i;
    opt.allcalls = opt.filter != NULL;
    static char samples_abs[PATH_MAX];
    if (opt.samples) {
        /* the server resolves filter paths from its own working folder */
        if (!realpath(opt.samples, samples_abs)) {
            fprintf(stderr, "stress: --samples %s: %s\n", opt.samples, strerror(errno));
            return 2;
        }
        opt.samples = samples_abs;
    }
    signal(SIGPIPE, SIG_IGN);

    if (make_site() != 0 || start_server() != 0) {
        fprintf(stderr, "stress: setup failed (%s)\n", strerror(errno));
        grep_count(err_path, "", 1);
        if (server_pid > 0)
            stop_server();
        return 2;
    }
    printf("stress: server pid %d on 127.0.0.1:%u, %d connections, at most %ld requests "
           "or %.0f s\n", (int)server_pid, (unsigned)port, opt.conns, opt.requests, opt.seconds);
    fflush(stdout);

    int failed = 0;
    long warm = opt.requests / 10 < 2000 ? opt.requests / 10 : 2000;
    run_load(warm > 0 ? warm : 1, opt.seconds / 4);
    long warm_errors = atomic_load(&n_errors);
    usleep(1500 * 1000);
    long fd0 = opt.wine ? -1 : count_fds();
    long rss0 = opt.wine ? -1 : rss_kb();
    if (!opt.wine) {
        /* Which process the checks read: the serving one (under the Winelib launcher, the
         * Wine process the launcher started), named so a reader can tell. */
        char p[64], comm[64] = "?";
        snprintf(p, sizeof p, "/proc/%d/comm", (int)serving_pid());
        FILE *f = fopen(p, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        printf("stress: descriptors and memory read from pid %d (%s)\n", (int)serving_pid(),
               comm);
    }

    pthread_t sampler;
    int sampling = !opt.wine && pthread_create(&sampler, NULL, rss_sampler, NULL) == 0;
    double t0 = now_s();
    run_load(opt.requests, opt.seconds);
    double dt = now_s() - t0;
    if (sampling) {
        atomic_store(&sampler_stop, 1);
        pthread_join(sampler, NULL);
    }
    long reqs = atomic_load(&n_requests);

    long fd1 = -1, rss1 = -1;
    if (!opt.wine) {
        double until = now_s() + 15;
        do {
            usleep(250 * 1000);
            fd1 = count_fds();
        } while (fd1 > fd0 && now_s() < until);
        rss1 = rss_kb();
    }
    printf("stress: %ld requests verified in %.1f s (%.0f/s), %ld errors (%ld in warm-up)\n",
           reqs, dt, dt > 0 ? (double)reqs / dt : 0.0, atomic_load(&n_errors), warm_errors);
    printf("stress: scenarios:");
    for (int s = 0; s < 6; s++)
        printf(" %s=%ld", scen_names[s], atomic_load(&n_scen[s]));
    printf("\n");
    if (opt.samples) {
        printf("stress: sample filters loaded from %s; %ld requests of their cases (upcase, "
               "rewrite, basicauth 401/200, 404, 405 with a body, 301, rawguard 400, bad head)\n",
               opt.samples, atomic_load(&n_sample_kinds));
        if (atomic_load(&n_sample_kinds) == 0) {
            printf("stress: FAIL no request reached a sample filter's case\n");
            failed = 1;
        }
    }
    if (atomic_load(&n_errors) > 0)
        failed = 1;
    if (reqs == 0) {
        printf("stress: FAIL no request completed\n");
        failed = 1;
    }

    if (opt.wine) {
        printf("stress: descriptor and memory checks skipped: under Wine the process is the "
               "Wine loader's, /proc does not describe the server's own handles and heap\n");
    } else {
        printf("stress: server descriptors %ld after warm-up, %ld after the run\n", fd0, fd1);
        if (fd0 < 0 || fd1 < 0 || fd1 > fd0) {
            printf("stress: FAIL descriptors did not come back (connections or files leak)\n");
            failed = 1;
        }
        long limit = rss0 + rss0 * opt.rss_pct / 100 + opt.rss_slack_kb;
        printf("stress: server VmRSS %ld kB after warm-up, %ld kB after the run (limit %ld kB)\n",
               rss0, rss1, limit);
        if (rss0 < 0 || rss1 < 0 || rss1 > limit) {
            printf("stress: FAIL memory did not come back within the tolerance\n");
            failed = 1;
        }
        printf("stress: server VmRSS highest of %ld samples during the run %ld kB (%+ld kB "
               "over the warm-up figure)\n", rss_samples, rss_peak, rss_peak - rss0);
        if (opt.rss_growth_kb >= 0) {
            printf("stress: bound: every sample within %ld kB of the warm-up figure\n",
                   opt.rss_growth_kb);
            if (rss_samples == 0 || rss_peak - rss0 > opt.rss_growth_kb) {
                printf("stress: FAIL memory grew past the bound during the run\n");
                failed = 1;
            }
        }
    }

    int st = stop_server();
    if (opt.wine) {
        printf("stress: server stopped (status %d; not asserted under Wine)\n", st);
    } else {
        printf("stress: server exit status %d\n", st);
        if (st != 0) {
            printf("stress: FAIL the server did not shut down cleanly\n");
            failed = 1;
        }
    }
    static const char *const san[] = { "ERROR: AddressSanitizer", "WARNING: ThreadSanitizer",
                                       "runtime error:", "ERROR: LeakSanitizer" };
    for (size_t k = 0; k < sizeof san / sizeof san[0]; k++) {
        long n = grep_count(err_path, san[k], 1);
        if (n > 0) {
            printf("stress: FAIL server stderr holds %ld \"%s\" report(s) (%s)\n", n, san[k],
                   err_path);
            failed = 1;
        }
    }
    if (opt.allcalls) {
        long v = grep_count(report_path, "VIOLATION", 1);
        long sum = grep_count(report_path, "allcalls: calls=", 0);
        printf("stress: allcalls report: %ld violation line(s)%s\n", v < 0 ? 0 : v,
               sum > 0 ? ", summary written at TerminateFilter" : "");
        if (v > 0) {
            printf("stress: FAIL contract violations (%s)\n", report_path);
            failed = 1;
        }
        if (!opt.wine && sum <= 0) {
            printf("stress: FAIL allcalls wrote no summary: TerminateFilter did not run\n");
            failed = 1;
        }
    }
    printf("stress: %s\n", failed ? "FAILED" : "passed");
    return failed;
}
