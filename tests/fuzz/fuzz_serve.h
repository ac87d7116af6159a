/*
 * fuzz_serve.h - what the pipeline fuzz targets (fuzz_pipeline.c, fuzz_log.c) share: a
 * site and a host_server_t built by hand from host/conn.h, with no listener, poller or
 * workers, and one connection served inline on a socketpair.
 *
 * fuzz_site_create() makes the site folder (one index.html) and the default configuration
 * with short timeouts; the target then adjusts the configuration and makes its engine, and
 * fuzz_site_ready() fills the server from both. fuzz_serve_bytes() writes the input to the
 * client end of a socketpair and shuts that end's write side, while a thread drains what the
 * server answers; host_http1_serve() runs inline until it gives the connection up (a PARK
 * becomes an expiry, as the poller would at the deadline; a write wait is a poll() for room),
 * then the connection is closed the way server.c does (END_OF_NET_SESSION, arena freed).
 */
#ifndef ISAPIHOST_FUZZ_SERVE_H
#define ISAPIHOST_FUZZ_SERVE_H

#include "conn.h"

#include <stddef.h>

typedef struct fuzz_site {
    host_config_t cfg;
    struct host_server srv;
    host_listener_t listener;
    char dir[64];        /* the site folder, under /tmp */
} fuzz_site_t;

/* What the server answered: its first bytes and the total. */
typedef struct fuzz_output {
    unsigned char head[16];
    size_t got;
} fuzz_output_t;

/* The site folder (mkdtemp from "/tmp/<prefix>-XXXXXX") with index.html, the defaults,
 * 1 s timeouts and the error log to /dev/null. Aborts on failure (a broken fuzz set-up). */
void fuzz_site_create(fuzz_site_t *site, const char *prefix);

/* The server from the (adjusted) configuration and the engine. */
void fuzz_site_ready(fuzz_site_t *site, isapi_engine *engine);

/* Serve one connection whose client sends data[0..size) then ends its stream. Returns how
 * many bytes were sent: the socket buffer may cut a large input (never a stall). */
size_t fuzz_serve_bytes(fuzz_site_t *site, const void *data, size_t size, fuzz_output_t *out);

#endif
