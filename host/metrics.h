/*
 * metrics.h - the server's counters and the admin listener that serves them.
 *
 * The admin listener ([admin] listen, docs/configuration.md) answers two paths, on its own
 * thread and never through a filter:
 *   /metrics  the Prometheus text exposition format, version 0.0.4: requests by status,
 *             bytes sent and received, connections open, and for every filter and
 *             notification it registered the calls and the time spent in the filter (a
 *             histogram, from the engine's call statistics, isapi.h), crashes contained
 *             in filter calls and serving processes started after the first;
 *   /healthz  200 while the server serves, 503 from the moment it is asked to stop (it
 *             then keeps serving for drain_delay, so a load balancer moves away first).
 * The request path only adds to counters of its own thread (host_metrics_request), with
 * no lock and no locked instruction; the admin thread sums them when scraped.
 */
#ifndef HOST_METRICS_H
#define HOST_METRICS_H

#include "isapi.h"
#include "os.h"

#include <stdint.h>

struct host_server;

/* Turns the counters on (they cost nothing while off). Call before serving starts. */
void host_metrics_enable(void);

/* Counts one finished request with its status and the bytes sent to and received from the
 * client (the W3C log's sc-bytes and cs-bytes). Any thread; no lock. */
void host_metrics_request(unsigned status, uint64_t bytes_sent, uint64_t bytes_received);

/* Serving processes started before this one (restarts after crashes, recycling): the
 * supervisor's count, read once at start. */
void host_metrics_set_restarts(uint64_t restarts);

/* Writes the whole exposition for server s into a malloc'ed, NUL-terminated buffer
 * (*out, caller frees). Returns its length, or -1 when out of memory. */
long host_metrics_render(const struct host_server *s, char **out);

/* Starts the admin thread on the listening socket `sock` (the caller keeps it). Returns 0
 * or -1 (nothing started). host_admin_stop() ends the thread and waits for it. */
int host_admin_start(struct host_server *s, plat_socket_t sock);
void host_admin_stop(struct host_server *s);

#endif
