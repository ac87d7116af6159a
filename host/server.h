/*
 * server.h - listeners, the worker pool and the connection life cycle.
 *
 * host_server_start() opens every listener (so a bad address fails before anything runs),
 * host_server_run() serves until a stop is requested (SIGINT/SIGTERM or the console), then
 * shuts down gracefully: stop accepting, let requests in flight finish up to
 * shutdown_timeout, close every connection (END_OF_NET_SESSION for each), and return.
 */
#ifndef HOST_SERVER_H
#define HOST_SERVER_H

#include "config.h"
#include "isapi.h"

typedef struct host_server host_server_t;

/* Opens the listeners. Returns 0, or -1 with one line in err ("listen 127.0.0.1:8080:
 * address in use"). */
int host_server_start(const host_config_t *cfg, isapi_engine *engine, host_server_t **out,
                      char *err, size_t errlen);

/* The port a listener is bound to (useful with port 0). */
unsigned host_server_port(const host_server_t *s, size_t listener);

/* Serves until plat_shutdown_requested(), then shuts down. Returns 0 when every
 * connection closed in time, -1 when requests were still running in filters at the
 * deadline (the caller must then not unload the filters). */
int host_server_run(host_server_t *s);

/* Asks a running server to stop; async-signal-safe. */
void host_server_wake(host_server_t *s);

void host_server_destroy(host_server_t *s);

#endif
