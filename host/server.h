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
#include "os.h"

typedef struct host_server host_server_t;

/* The listening sockets, opened once and kept across serving processes (supervise.h). */
typedef struct host_listeners {
    plat_socket_t sock[HOST_MAX_LISTENERS];
    uint16_t port[HOST_MAX_LISTENERS];
    size_t n;
    int has_admin;              /* [admin] listen: metrics and health (metrics.h) */
    plat_socket_t admin_sock;
    uint16_t admin_port;
} host_listeners_t;

/* Opens every configured listener, then the admin listener, and writes the port file (one
 * line per listener, then the admin listener's port). Returns 0, or -1 with one line in
 * err ("site.ini: listen: 127.0.0.1:8080: address in use"), nothing left open. */
int host_listeners_open(const host_config_t *cfg, host_listeners_t *out, char *err,
                        size_t errlen);
void host_listeners_close(host_listeners_t *ls);

/* host_listeners_open's sibling for a process that took the listening sockets over from
 * the one it replaces (supervise.h: host_supervise_inherited_listeners): each configured
 * listener, then the admin listener, gets the received socket bound to its address and
 * port (port 0: any). Writes no port file (the ports are the ones it holds). Takes socks
 * over: on success they are in *out, on failure they are closed. Returns 0, or -1 with
 * one line in err when the addresses differ from the sockets' ("site.ini: listen:
 * changed; a restart applies it, a reload cannot", as the native reload says). */
int host_listeners_adopt(const host_config_t *cfg, plat_socket_t *socks, size_t n,
                         host_listeners_t *out, char *err, size_t errlen);

/* Creates the server on open listeners (the caller keeps them and closes them after
 * host_server_destroy). Returns 0, or -1 with one line in err. */
int host_server_start(const host_config_t *cfg, isapi_engine *engine,
                      const host_listeners_t *ls, host_server_t **out, char *err,
                      size_t errlen);

/* The port a listener is bound to (useful with port 0). */
unsigned host_server_port(const host_server_t *s, size_t listener);

/* Serves until plat_shutdown_requested(), then shuts down. Returns 0 when every
 * connection closed in time, -1 when requests were still running in filters at the
 * deadline (the caller must then not unload the filters). */
int host_server_run(host_server_t *s);

/* Asks a running server to stop; async-signal-safe. With drain_delay set, the first call
 * only turns /healthz to 503: the server serves on for drain_delay, then stops. */
void host_server_wake(host_server_t *s);

/* Stops a running server that another serving process replaces on the same listeners
 * (the watchdog's recycling, a reload): no drain, and it stops answering on the admin
 * listener at once, which the new process shares. Async-signal-safe. */
void host_server_hand_over(host_server_t *s);

void host_server_destroy(host_server_t *s);

/* Overlapped recycling (supervise.h): a reload, or a recycle limit reached.
 *
 * host_server_on_ready() names a function host_server_run() calls once its event loops
 * and workers run: the supervisor's signal that this process serves.
 *
 * host_server_retire() tells a running server that a new serving process took over the
 * listeners: it stops accepting, answers each connection's next request with
 * Connection: close (a request in progress completes), and once no connection is left
 * (or after shutdown_timeout) it shuts down as on a stop request, END_OF_NET_SESSION and
 * all. Async-signal-safe. */
void host_server_on_ready(host_server_t *s, void (*fn)(void));
void host_server_retire(host_server_t *s);

#endif
