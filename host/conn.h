/*
 * conn.h - one client connection, shared by the scheduler (server.c), the HTTP/1.x
 * pipeline (http1.c) and the static file handler (static.c). Internal to host/.
 *
 * A connection is owned by exactly one place at a time: the work queue, a worker thread,
 * or the poller's parked list. Only the worker that owns it touches its fields, so they
 * need no lock; the queue and the parked list have their own.
 */
#ifndef HOST_CONN_H
#define HOST_CONN_H

#include "config.h"
#include "isapi.h"
#include "os.h"
#include "parse.h"

#include <stdatomic.h>

typedef struct host_conn host_conn_t;

typedef struct host_listener {
    plat_socket_t sock;
    host_listen_t conf;
    uint16_t port;              /* bound port */
    char port_text[8];
    plat_thread_t *thread;
    struct host_server *srv;
} host_listener_t;

struct host_server {
    const host_config_t *cfg;
    isapi_engine *engine;
    host_listener_t listeners[HOST_MAX_LISTENERS];
    size_t nlisteners;
    host_parse_limits_t limits;
    atomic_int stopping;
    atomic_int nconns;          /* open connections */
    atomic_int busy;            /* connections being served by a worker */
    atomic_int queued;          /* connections waiting in the work queue */

    plat_mutex_t qlock;         /* work queue */
    plat_cond_t qcond;
    host_conn_t *qhead, *qtail;

    plat_mutex_t plock;         /* parked list (poller) */
    host_conn_t *parked;
    plat_poller_t *poller;
    plat_thread_t *poller_thread;
    plat_thread_t **workers;
    size_t nworkers;
};

/* What the pipeline tells the scheduler when it gives a connection back. */
typedef enum host_serve_result {
    HOST_SERVE_PARK,    /* no complete request pending: watch the socket until readable */
    HOST_SERVE_CLOSE    /* close the connection */
} host_serve_result_t;

struct host_conn {
    struct host_server *srv;
    host_listener_t *listener;
    plat_socket_t sock;
    plat_endpoint_t peer, local;
    char peer_port[8], local_port[8];
    isapi_conn *ic;

    char *buf;                  /* received bytes as the READ_RAW_DATA filters left them */
    size_t cap, len;
    size_t parse_last_len;      /* for the incremental parser */
    int in_request;             /* isapi_request_begin() done for the request being read */
    unsigned requests;          /* requests completed on this connection */
    uint64_t request_start_ms;
    uint64_t raw_bytes_in;      /* bytes read from the socket for the current request */

    uint64_t deadline_ms;       /* while parked: close at this time */
    int expired;                /* the poller found it past its deadline */
    host_conn_t *next, *prev;   /* queue or parked-list links */

    /* While the server writes a response: bytes that passed SEND_RAW_DATA collect here
     * and go out in as few sends as possible (http1.c, send_response). */
    char *obuf;
    size_t olen, ocap;

    /* the request being served */
    host_http_version_t version;
    int keep_alive;
    int head_only;
};

/* Serves requests on c until none is complete in its buffer (PARK) or it must close. */
host_serve_result_t host_http1_serve(host_conn_t *c);

/* The operations the engine calls back (write, SF_REQ_SEND_RESPONSE_HEADER). */
extern const isapi_ops host_http1_ops;

#endif
