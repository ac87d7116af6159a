/*
 * fuzz_serve.c - the shared set-up and connection driver of the pipeline fuzz targets
 * (fuzz_serve.h says what each call does).
 */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */
#include "fuzz_serve.h"
#include "log.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void fuzz_site_create(fuzz_site_t *site, const char *prefix)
{
    char err[1024];
    memset(site, 0, sizeof *site);
    if (plat_init() != 0)
        abort();
    host_config_defaults(&site->cfg);
    snprintf(site->dir, sizeof site->dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(site->dir))
        abort();
    snprintf(site->cfg.root, sizeof site->cfg.root, "%s", site->dir);
    if (plat_path_real(site->cfg.root, site->cfg.root_real, sizeof site->cfg.root_real) < 0)
        abort();
    char file[128];
    snprintf(file, sizeof file, "%s/index.html", site->dir);
    FILE *f = fopen(file, "w");
    if (!f)
        abort();
    fputs("<html><body>fuzz</body></html>\n", f);
    fclose(f);
    site->cfg.header_timeout_ms = site->cfg.body_timeout_ms = site->cfg.send_timeout_ms = 1000;
    if (host_log_open("/dev/null", HOST_LOG_ERROR, err, sizeof err) != 0)
        abort();
}

void fuzz_site_ready(fuzz_site_t *site, isapi_engine *engine)
{
    site->srv.cfg = &site->cfg;
    site->srv.engine = engine;
    site->srv.limits.max_request_line = site->cfg.max_request_line;
    site->srv.limits.max_header_line = site->cfg.max_header_bytes;
    site->srv.limits.max_header_bytes = site->cfg.max_header_bytes;
    site->srv.limits.max_headers = site->cfg.max_headers;
    site->listener.srv = &site->srv;
    snprintf(site->listener.conf.address, sizeof site->listener.conf.address, "127.0.0.1");
}

typedef struct drain {
    int fd;
    fuzz_output_t *out;
} drain_t;

static void *drain_main(void *arg)
{
    drain_t *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(d->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        fuzz_output_t *o = d->out;
        if (o->got < sizeof o->head) {
            size_t room = sizeof o->head - o->got;
            memcpy(o->head + o->got, buf, room < (size_t)n ? room : (size_t)n);
        }
        o->got += (size_t)n;
    }
    return NULL;
}

size_t fuzz_serve_bytes(fuzz_site_t *site, const void *data, size_t size, fuzz_output_t *out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    host_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->srv = &site->srv;
    c->listener = &site->listener;
    c->sock = sv[0];
    snprintf(c->peer.addr, sizeof c->peer.addr, "127.0.0.1");
    c->peer.port = 40000;
    snprintf(c->local.addr, sizeof c->local.addr, "127.0.0.1");
    c->local.port = 80;
    snprintf(c->peer_port, sizeof c->peer_port, "40000");
    snprintf(c->local_port, sizeof c->local_port, "80");
    isapi_conn_info info = { .local_addr = "127.0.0.1", .local_port = "80",
                             .remote_addr = "127.0.0.1", .remote_port = "40000" };
    c->ic = isapi_conn_open(site->srv.engine, c, &host_http1_ops, &info);
    if (!c->ic)
        abort();

    memset(out, 0, sizeof *out);
    drain_t d = { .fd = sv[1], .out = out };
    pthread_t th;
    if (pthread_create(&th, NULL, drain_main, &d) != 0)
        abort();
    /* non-blocking: an input larger than the socket buffer is cut there, never stalls */
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[1], (const char *)data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);   /* the server sees end of stream after the input */

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
    return off;
}
