/*
 * fuzz_pipeline.c - libFuzzer target for the whole request pipeline: bytes in, every
 * notification (the trace filter is loaded), bytes out.
 *
 * Set up once: a site folder with one file, the default configuration (HTTP/0.9 strict),
 * an engine with the trace sample loaded through isapi_engine_load (its lines go to
 * /dev/null; the path comes from FUZZ_TRACE_FILTER, else the one compiled in), and a
 * host_server_t built by hand from host/conn.h with no listener, poller or workers.
 *
 * Each input: a connection (host_conn_t + isapi_conn_open) on one end of a socketpair. The
 * input is written to the other end and its write side shut down, while a thread drains
 * what the server answers; host_http1_serve() runs inline until it gives the connection up
 * (a PARK is turned into an expiry, as the poller would at the deadline), then the
 * connection is closed the way server.c does (END_OF_NET_SESSION, arena freed).
 * Findings: any sanitizer report or crash, and one invariant checked cheaply: when the
 * input's first request parses as an HTTP/0.9 simple request, there is output and it does
 * not start with "HTTP/" (strict policy: the body alone).
 */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, setenv */
#include "conn.h"
#include "log.h"
#include "parse.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef FUZZ_TRACE_FILTER_PATH
#define FUZZ_TRACE_FILTER_PATH ""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static host_config_t cfg;
static struct host_server srv;
static host_listener_t listener;

typedef struct drain {
    int fd;
    unsigned char head[16];
    size_t got;
} drain_t;

static void *drain_main(void *arg)
{
    drain_t *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(d->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (d->got < sizeof d->head) {
            size_t take = sizeof d->head - d->got < (size_t)n ? sizeof d->head - d->got : (size_t)n;
            memcpy(d->head + d->got, buf, take);
        }
        d->got += (size_t)n;
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    if (plat_init() != 0)
        abort();
    host_config_defaults(&cfg);
    char dir[] = "/tmp/fuzz-pipeline-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(cfg.root, sizeof cfg.root, "%s", dir);
    if (plat_path_real(cfg.root, cfg.root_real, sizeof cfg.root_real) < 0)
        abort();
    char file[512];
    snprintf(file, sizeof file, "%s/index.html", dir);
    FILE *f = fopen(file, "w");
    if (!f)
        abort();
    fputs("<html><body>fuzz</body></html>\n", f);
    fclose(f);
    cfg.header_timeout_ms = cfg.body_timeout_ms = cfg.send_timeout_ms = 1000;
    host_log_open("/dev/null", HOST_LOG_ERROR, err, sizeof err);

    isapi_config icfg = { .server_software = cfg.server_software, .appl_physical_path = cfg.root };
    isapi_engine *engine = isapi_engine_create(&icfg);
    if (!engine)
        abort();
    const char *trace = getenv("FUZZ_TRACE_FILTER");
    if (!trace || !*trace)
        trace = FUZZ_TRACE_FILTER_PATH;
    setenv("ISAPI_TRACE_FILE", "/dev/null", 1);
    if (!*trace || isapi_engine_load(engine, trace, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_pipeline: cannot load the trace filter (%s): %s\n", trace,
                *trace ? err : "set FUZZ_TRACE_FILTER");
        abort();
    }
    srv.cfg = &cfg;
    srv.engine = engine;
    srv.limits.max_request_line = cfg.max_request_line;
    srv.limits.max_header_line = cfg.max_header_bytes;
    srv.limits.max_header_bytes = cfg.max_header_bytes;
    srv.limits.max_headers = cfg.max_headers;
    listener.srv = &srv;
    snprintf(listener.conf.address, sizeof listener.conf.address, "127.0.0.1");
    return 0;
}

/* True when the input's first request is a complete HTTP/0.9 simple request. */
static int first_is_09(const uint8_t *data, size_t size)
{
    host_request_line_t rl;
    host_header_t hdrs[64];
    size_t nh = 64;
    int status = 0;
    int r = host_parse_request((const char *)data, size, &rl, hdrs, &nh, 0, &srv.limits, &status);
    return r > 0 && rl.version == HOST_HTTP_09;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    host_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->srv = &srv;
    c->listener = &listener;
    c->sock = sv[0];
    snprintf(c->peer.addr, sizeof c->peer.addr, "127.0.0.1");
    c->peer.port = 40000;
    snprintf(c->local.addr, sizeof c->local.addr, "127.0.0.1");
    c->local.port = 80;
    snprintf(c->peer_port, sizeof c->peer_port, "40000");
    snprintf(c->local_port, sizeof c->local_port, "80");
    isapi_conn_info info = { .local_addr = "127.0.0.1", .local_port = "80",
                             .remote_addr = "127.0.0.1", .remote_port = "40000" };
    c->ic = isapi_conn_open(srv.engine, c, &host_http1_ops, &info);
    if (!c->ic)
        abort();

    drain_t d = { .fd = sv[1] };
    pthread_t th;
    if (pthread_create(&th, NULL, drain_main, &d) != 0)
        abort();
    /* the input, then end of stream: the server sees EOF after it */
    /* non-blocking: an input larger than the socket buffer is cut there, never stalls */
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    size = off;
    shutdown(sv[1], SHUT_WR);

    c->may_have_data = 1;   /* what accepting does: try a receive before parking */
    for (int round = 0; round < 64; round++) {
        host_serve_result_t r = host_http1_serve(c);
        if (r == HOST_SERVE_CLOSE)
            break;
        if (r == HOST_SERVE_WAIT_WRITE) {
            /* what the poller does when the reader has made room */
            struct pollfd pfd = { sv[0], POLLOUT, 0 };
            poll(&pfd, 1, 1000);
            continue;
        }
        c->expired = 1;   /* what the poller does at the deadline */
    }
    isapi_conn_close(c->ic);
    host_conn_pipeline_free(c);
    shutdown(sv[0], SHUT_RDWR);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    free(c->buf);
    free(c);

    /* Why: KB Q323064 - a simple request under the strict policy has no header block; and
     * it is answered (a file or an error page), so the server did read the input. */
    if (first_is_09(data, size) && (d.got == 0 || (d.got >= 5 && memcmp(d.head, "HTTP/", 5) == 0)))
        __builtin_trap();
    return 0;
}
