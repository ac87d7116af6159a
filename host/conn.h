/*
 * conn.h - one client connection, shared by the scheduler (server.c), the HTTP/1.x
 * pipeline (http1.c) and the static file handler (static.c). Internal to host/.
 *
 * A connection is owned by exactly one place at a time: the ready queue, a worker thread,
 * or the parked list (its socket watched by the poller). Only the worker that owns it
 * touches its fields, so they need no lock; the queue and the parked list have their own.
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
    plat_endpoint_t local;      /* the bound address, when it is one address */
    int local_is_wildcard;      /* bound to 0.0.0.0 or ::: ask each connection */
    struct host_server *srv;
} host_listener_t;

/* One thread of the pool. */
typedef struct host_worker {
    struct host_server *srv;
    plat_thread_t *thread;
    _Atomic uint64_t serving_since_ms;  /* 0 when not serving; HOST_WORKER_DETACHED once
                                           the monitor gave its shard to another worker */
    struct host_shard *shard;   /* the shard it runs (qlock) */
    /* For the hung-call watchdog (server.c): since when it serves its connection (0: it
     * does not), its thread's filter call record, and the url of its request. */
    _Atomic uint64_t busy_since_ms;
    isapi_call_record *call;
    plat_mutex_t url_lock;
    char url[256];
} host_worker_t;

#define HOST_WORKER_DETACHED UINT64_MAX

/* One event loop: a poller, the connections it watches and the listeners, run by at most
 * one worker at a time (its owner). */
typedef struct host_shard {
    struct host_server *srv;
    plat_poller_t *poller;
    host_worker_t *owner;       /* qlock; NULL: waiting for a worker */
    host_conn_t *pending, *pending_tail;  /* reported or accepted, not served yet: owner */
    uint64_t next_sweep_ms;     /* owner */
    int oneshot_only;           /* the poller cannot watch edge-triggered */
    plat_mutex_t lock;          /* the parked and closed lists, and watching sockets */
    host_conn_t *parked;
    host_conn_t *closed;        /* closed edge-triggered connections, freed before a wait */
    host_conn_t *detached;      /* pending extension requests no thread serves (prev/next) */
    host_conn_t *resume, *resume_tail;  /* their sessions have work: served next (owner) */
    atomic_int resume_ready;    /* resume is not empty: the owner takes it after a wait */
    int loop_gone;              /* shutdown took the lists: a resume goes to the pool */
    atomic_int listeners_unwatched;   /* retiring: the listeners left this poller */
} host_shard_t;

#define HOST_MAX_SHARDS 64

struct host_server {
    const host_config_t *cfg;
    isapi_engine *engine;
    host_listener_t listeners[HOST_MAX_LISTENERS];
    size_t nlisteners;
    host_parse_limits_t limits;
    atomic_int stopping;
    atomic_int nconns;          /* open connections */
    atomic_int busy;            /* connections being served by a worker */
    atomic_int ext_detached;    /* pending extension requests no worker serves */

    host_shard_t shards[HOST_MAX_SHARDS];
    size_t nshards;             /* the concurrency: event loops running at once */

    /* The pool (server.c), under qlock. */
    plat_mutex_t qlock;
    plat_cond_t qcond;          /* idle workers wait here */
    host_conn_t *qhead, *qtail; /* connections to close (shutdown, a socket not watched) */
    unsigned idle;              /* workers waiting on qcond */
    int draining;               /* shutdown: workers exit once the queue is empty */
    host_worker_t *workers;
    size_t nworkers;
    plat_thread_t *monitor_thread;
    int recycle_requested;      /* the watchdog asked for a new serving process (monitor) */

    /* The admin listener (metrics.c) and the drain before a stop (drain_delay). */
    atomic_int health_down;     /* asked to stop: /healthz answers 503 */
    atomic_int drain_done;      /* the drain is over (or none): a wake stops at once */
    atomic_int admin_stop;
    int has_admin;
    plat_socket_t admin_sock;
    plat_thread_t *admin_thread;

    /* Overlapped recycling (server.c, "retiring"): a reload or a recycle limit. */
    atomic_int retiring;        /* a new serving process took over: accept no more */
    uint64_t started_ms;        /* for recycle_after_seconds */
    int recycle_limit_reached;  /* the limits asked for a new process once (monitor) */
    void (*on_ready)(void);     /* host_server_on_ready() */
};

/* What the pipeline tells the scheduler when it gives a connection back. */
typedef enum host_serve_result {
    HOST_SERVE_PARK,        /* it waits for bytes (a request head, a body): watch the socket
                               until readable */
    HOST_SERVE_WAIT_WRITE,  /* a response waits for the client to read: watch the socket
                               until writable */
    HOST_SERVE_EXT_PENDING, /* an extension's request is pending: let it go (server.c,
                               detach) until its session wakes it (host_conn_resume) */
    HOST_SERVE_CLOSE        /* close the connection */
} host_serve_result_t;


struct host_conn {
    struct host_server *srv;
    host_shard_t *shard;        /* the event loop that watches it */
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
    int watched;                /* the poller has seen this socket: park re-arms it */
    int edge;                   /* watched edge-triggered: parking again costs no call */
    int parked;                 /* on its shard's parked list (shard lock) */
    int event_pending;          /* reported while not parked: serve again (shard lock) */
    int nodelay;                /* TCP_NODELAY is set (keep-alive connections only) */
    int may_have_data;          /* worth a receive before parking: fresh, reported readable,
                                   or the last receive filled what it asked for */
    host_conn_t *next, *prev;   /* queue or parked-list links */

    int peer_closed;            /* the peer's close was reported: read until 0 */
    unsigned pending_events;    /* PLAT_EV_* reported while not parked (shard lock) */
    int wait_write;             /* parked until writable: a response waits for the client */
    atomic_int ext_pending;     /* an extension's request is pending (HSE_STATUS_PENDING):
                                   its threads may write while no worker serves it */
    int ext_detached;           /* on its shard's detached list (shard lock) */

    /* Output: bytes that passed SEND_RAW_DATA and wait for the socket. They go out in as
     * few sends as possible; when the socket is full the connection parks until it is
     * writable and no worker waits (http1.c). Only the thread serving the connection
     * touches them, and, while an extension's request is pending and no thread serves it,
     * the extension's thread that writes synchronously; an asynchronous write from such a
     * thread is handed to the serving thread (isapi/extension.c, defer_body). */
    char *out;
    size_t out_len, out_sent, out_cap;
    int producing;              /* the server is writing a response of its own */
    int hold_output;            /* an extension's header block joins the queue and waits
                                   for its first body bytes (http1.c, op_ext_send_header) */

    /* Progress of what the connection waits for, for the minimum data rate: a body or a
     * response must move at least min_bytes_per_second after its grace time. */
    uint64_t rate_start_ms;
    uint64_t rate_bytes;

    /* the request being served, kept across parks (http1.c) */
    int in_pipeline;            /* a request is between its first step and its last */
    int step;                   /* the next step of the pipeline to run */
    struct host_req *req;       /* the pipeline's state for that request */
    host_http_version_t version;
    int keep_alive;
    int head_only;
};

/* Serves requests on c until none is complete in its buffer (PARK) or it must close. */
host_serve_result_t host_http1_serve(host_conn_t *c);

/* Gives c's empty receive and output buffers back (kept by the calling thread for its
 * next connection, or freed). */
void host_conn_buf_release(host_conn_t *c);

/* Frees what the pipeline keeps for c (its request state); the connection is closing. */
void host_conn_pipeline_free(host_conn_t *c);

/* Records the url of the request the calling worker serves, for the hung-call watchdog's
 * log line (a no-op on a thread that is not a worker). */
void host_worker_note_url(const char *url);

/* The pending extension request of c has work (any thread; isapi_ops.ext_wake): c goes
 * back to its event loop, or to the pool at shutdown, and is served again. */
void host_conn_resume(host_conn_t *c);

/* Frees what the calling thread kept; a worker calls it before it exits. */
void host_thread_buffers_free(void);

/* The operations the engine calls back (write, SF_REQ_SEND_RESPONSE_HEADER). */
extern const isapi_ops host_http1_ops;

#endif
