/*
 * server.c - listeners, the work queue, the worker pool and the poller.
 *
 * A connection is always in exactly one place:
 *   the work queue  -> a worker pops it and runs host_http1_serve() on it; blocking filters
 *                      and blocking I/O only ever hold that worker, never the others;
 *   a worker        -> it serves requests while some are complete in its buffer, then
 *                      parks it or closes it;
 *   the parked list -> the poller thread watches the socket (one-shot), and puts the
 *                      connection back on the queue when it becomes readable, or when
 *                      its deadline passed (marked expired: the worker closes it, so even
 *                      END_OF_NET_SESSION runs on a worker, never on the poller).
 * Idle keep-alive connections therefore hold no thread and (with an empty buffer, which is
 * freed when they park) little memory. Acceptors hand new connections straight to the
 * queue. Graceful shutdown: acceptors stop, parked connections are closed, workers finish
 * what they hold (a request in progress completes; keep-alive ends), then join.
 */
#include "server.h"
#include "conn.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_POLL_BATCH 64
#define HOST_SWEEP_MS 250

/* ---- the work queue --------------------------------------------------------------- */

static void queue_push(struct host_server *s, host_conn_t *c)
{
    c->next = NULL;
    plat_mutex_lock(&s->qlock);
    if (s->qtail)
        s->qtail->next = c;
    else
        s->qhead = c;
    s->qtail = c;
    atomic_fetch_add(&s->queued, 1);
    plat_cond_signal(&s->qcond);
    plat_mutex_unlock(&s->qlock);
}

/* Blocks until a connection is queued; NULL once the server stops and the queue is empty. */
static host_conn_t *queue_pop(struct host_server *s)
{
    plat_mutex_lock(&s->qlock);
    while (!s->qhead && !atomic_load(&s->stopping))
        plat_cond_wait(&s->qcond, &s->qlock, 1000);
    host_conn_t *c = s->qhead;
    if (c) {
        s->qhead = c->next;
        if (!s->qhead)
            s->qtail = NULL;
        atomic_fetch_sub(&s->queued, 1);
        atomic_fetch_add(&s->busy, 1);
    }
    plat_mutex_unlock(&s->qlock);
    return c;
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_close(host_conn_t *c)
{
    isapi_conn_close(c->ic);   /* END_OF_NET_SESSION, then the AllocMem arena goes */
    plat_sock_close(c->sock);
    free(c->buf);
    atomic_fetch_sub(&c->srv->nconns, 1);
    free(c);
}

static host_conn_t *conn_new(host_listener_t *l, plat_socket_t sock, const plat_endpoint_t *peer,
                             const plat_endpoint_t *local)
{
    struct host_server *s = l->srv;
    host_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->listener = l;
    c->sock = sock;
    c->peer = *peer;
    c->local = *local;
    snprintf(c->peer_port, sizeof c->peer_port, "%u", (unsigned)peer->port);
    snprintf(c->local_port, sizeof c->local_port, "%u", (unsigned)local->port);
    isapi_conn_info info = {
        .local_addr = local->addr,
        .local_port = c->local_port,
        .remote_addr = peer->addr,
        .remote_port = c->peer_port,
        .server_name = NULL,
        .secure = l->conf.secure,
        .instance_id = s->cfg->instance_id,
    };
    c->ic = isapi_conn_open(s->engine, c, &host_http1_ops, &info);
    if (!c->ic) {
        free(c);
        return NULL;
    }
    atomic_fetch_add(&s->nconns, 1);
    return c;
}

static void park(struct host_server *s, host_conn_t *c)
{
    /* An idle connection keeps no buffer: 10,000 of them must stay cheap. */
    if (c->len == 0 && c->buf) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    c->expired = 0;
    plat_mutex_lock(&s->plock);
    c->prev = NULL;
    c->next = s->parked;
    if (s->parked)
        s->parked->prev = c;
    s->parked = c;
    plat_mutex_unlock(&s->plock);
    if (plat_poller_add(s->poller, c->sock, c) != 0) {
        /* Could not watch it: take it back and close it. */
        plat_mutex_lock(&s->plock);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->parked = c->next;
        if (c->next)
            c->next->prev = c->prev;
        plat_mutex_unlock(&s->plock);
        c->expired = 1;
        queue_push(s, c);
    }
}

static void unpark_locked(struct host_server *s, host_conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->parked = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

/* ---- threads ---------------------------------------------------------------------- */

static void worker_main(void *arg)
{
    struct host_server *s = arg;
    host_conn_t *c;
    while ((c = queue_pop(s)) != NULL) {
        host_serve_result_t r = host_http1_serve(c);
        if (r == HOST_SERVE_PARK && !atomic_load(&s->stopping))
            park(s, c);
        else
            conn_close(c);
        atomic_fetch_sub(&s->busy, 1);
    }
}

static void poller_main(void *arg)
{
    struct host_server *s = arg;
    void *ready[HOST_POLL_BATCH];
    uint64_t next_sweep = plat_time_mono_ms() + HOST_SWEEP_MS;
    while (!atomic_load(&s->stopping)) {
        int n = plat_poller_wait(s->poller, HOST_SWEEP_MS, ready, HOST_POLL_BATCH);
        for (int i = 0; i < n; i++) {
            host_conn_t *c = ready[i];
            plat_mutex_lock(&s->plock);
            unpark_locked(s, c);
            plat_mutex_unlock(&s->plock);
            queue_push(s, c);
        }
        uint64_t now = plat_time_mono_ms();
        if (now < next_sweep)
            continue;
        next_sweep = now + HOST_SWEEP_MS;
        plat_mutex_lock(&s->plock);
        host_conn_t *c = s->parked;
        while (c) {
            host_conn_t *next = c->next;
            if (c->deadline_ms <= now) {
                plat_poller_remove(s->poller, c->sock);
                unpark_locked(s, c);
                c->expired = 1;
                queue_push(s, c);
            }
            c = next;
        }
        plat_mutex_unlock(&s->plock);
    }
}

static void acceptor_main(void *arg)
{
    host_listener_t *l = arg;
    struct host_server *s = l->srv;
    while (!atomic_load(&s->stopping)) {
        plat_socket_t sock;
        plat_endpoint_t peer, local;
        int rc = plat_accept(l->sock, 250, &sock, &peer, &local);
        if (rc == PLAT_ETIMEDOUT)
            continue;
        if (rc != 0) {
            if (rc == PLAT_EMFILE || rc == PLAT_ENOMEM) {
                host_log(HOST_LOG_WARN, "listen %s:%u: out of descriptors; pausing accepts",
                         l->conf.address, (unsigned)l->port);
                plat_sleep_ms(100);
            }
            continue;
        }
        if ((unsigned)atomic_load(&s->nconns) >= s->cfg->max_connections) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            plat_sock_send_all(sock, busy, sizeof busy - 1, 1000);
            plat_sock_close(sock);
            continue;
        }
        plat_sock_set_nodelay(sock, 1);
        host_conn_t *c = conn_new(l, sock, &peer, &local);
        if (!c) {
            plat_sock_close(sock);
            continue;
        }
        queue_push(s, c);
    }
}

/* ---- life cycle ------------------------------------------------------------------- */

int host_listeners_open(const host_config_t *cfg, host_listeners_t *out, char *err,
                        size_t errlen)
{
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    out->n = 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const host_listen_t *l = &cfg->listen[i];
        int rc = plat_listen(l->address, (uint16_t)l->port, 511, &out->sock[i], &out->port[i]);
        if (rc != 0) {
            char why[256];
            plat_strerror(rc, why, sizeof why);
            int v6 = strchr(l->address, ':') != NULL;
            snprintf(err, errlen, "%s: listen: %s%s%s:%u: %s", where, v6 ? "[" : "",
                     l->address, v6 ? "]" : "", l->port, why);
            host_listeners_close(out);
            return -1;
        }
        out->n++;
    }
    if (cfg->port_file[0]) {
        /* Binary mode: one "\n" per line on every OS, so readers need no CR handling. */
        FILE *f = fopen(cfg->port_file, "wb");
        if (!f) {
            snprintf(err, errlen, "%s: port_file: cannot write %s", where, cfg->port_file);
            host_listeners_close(out);
            return -1;
        }
        for (size_t i = 0; i < out->n; i++)
            fprintf(f, "%u\n", (unsigned)out->port[i]);
        fclose(f);
    }
    return 0;
}

void host_listeners_close(host_listeners_t *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        plat_sock_close(ls->sock[i]);
    ls->n = 0;
}

int host_server_start(const host_config_t *cfg, isapi_engine *engine,
                      const host_listeners_t *ls, host_server_t **out, char *err,
                      size_t errlen)
{
    struct host_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->cfg = cfg;
    s->engine = engine;
    s->limits.max_request_line = cfg->max_request_line;
    s->limits.max_header_line = cfg->max_header_bytes;
    s->limits.max_header_bytes = cfg->max_header_bytes;
    s->limits.max_headers = cfg->max_headers;
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    if (!host_parse_limits_valid(&s->limits)) {
        snprintf(err, errlen, "%s: max_request_line, max_header_bytes, max_headers: each must be "
                 "from 1 to %lu", where, (unsigned long)HOST_PARSE_LIMIT_MAX);
        free(s);
        return -1;
    }
    if (plat_poller_create(&s->poller) != 0) {
        snprintf(err, errlen, "cannot create the poller");
        free(s);
        return -1;
    }
    plat_mutex_init(&s->qlock);
    plat_cond_init(&s->qcond);
    plat_mutex_init(&s->plock);
    for (size_t i = 0; i < ls->n; i++) {
        host_listener_t *l = &s->listeners[i];
        l->srv = s;
        l->conf = cfg->listen[i];
        l->sock = ls->sock[i];
        l->port = ls->port[i];
        snprintf(l->port_text, sizeof l->port_text, "%u", (unsigned)l->port);
    }
    s->nlisteners = ls->n;
    *out = s;
    return 0;
}

unsigned host_server_port(const host_server_t *s, size_t listener)
{
    return listener < s->nlisteners ? s->listeners[listener].port : 0;
}

void host_server_wake(host_server_t *s)
{
    atomic_store(&s->stopping, 1);
    plat_poller_wakeup(s->poller);
}

int host_server_run(host_server_t *s)
{
    const host_config_t *cfg = s->cfg;
    s->nworkers = cfg->workers;
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->workers)
        return -1;
    for (size_t i = 0; i < s->nworkers; i++)
        if (plat_thread_create(&s->workers[i], worker_main, s) != 0) {
            host_log(HOST_LOG_ERROR, "cannot start worker thread %lu", (unsigned long)i);
            atomic_store(&s->stopping, 1);
            s->nworkers = i;
            break;
        }
    if (!atomic_load(&s->stopping))
        plat_thread_create(&s->poller_thread, poller_main, s);
    for (size_t i = 0; i < s->nlisteners && !atomic_load(&s->stopping); i++) {
        plat_thread_create(&s->listeners[i].thread, acceptor_main, &s->listeners[i]);
        host_log(HOST_LOG_INFO, "listening on %s%s%s:%u%s",
                 strchr(s->listeners[i].conf.address, ':') ? "[" : "",
                 s->listeners[i].conf.address,
                 strchr(s->listeners[i].conf.address, ':') ? "]" : "",
                 (unsigned)s->listeners[i].port, s->listeners[i].conf.secure ? " (secure)" : "");
    }

    while (!atomic_load(&s->stopping) && !plat_shutdown_requested())
        plat_sleep_ms(100);
    host_log(HOST_LOG_INFO, "shutting down: no new connections; finishing requests in progress");
    atomic_store(&s->stopping, 1);
    plat_poller_wakeup(s->poller);

    /* The listening sockets stay open (their owner closes them): a supervisor keeps them
     * for the next serving process. */
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].thread)
            plat_thread_join(s->listeners[i].thread);
    if (s->poller_thread)
        plat_thread_join(s->poller_thread);

    /* Parked connections have no request in progress (or only a partial head): close. */
    plat_mutex_lock(&s->plock);
    host_conn_t *parked = s->parked;
    s->parked = NULL;
    plat_mutex_unlock(&s->plock);
    while (parked) {
        host_conn_t *next = parked->next;
        plat_poller_remove(s->poller, parked->sock);
        parked->expired = 1;
        queue_push(s, parked);
        parked = next;
    }
    plat_mutex_lock(&s->qlock);
    plat_cond_broadcast(&s->qcond);
    plat_mutex_unlock(&s->qlock);

    /* Workers drain the queue and finish what they hold, up to the deadline. */
    uint64_t deadline = plat_time_mono_ms() + cfg->shutdown_timeout_ms;
    for (;;) {
        plat_mutex_lock(&s->qlock);
        int queued = s->qhead != NULL;
        plat_mutex_unlock(&s->qlock);
        if (!queued && atomic_load(&s->busy) == 0)
            break;
        if (plat_time_mono_ms() >= deadline) {
            host_log(HOST_LOG_ERROR, "shutdown: %d request(s) still running in filters after "
                     "%u ms; exiting without unloading the filters",
                     atomic_load(&s->busy), cfg->shutdown_timeout_ms);
            return -1;
        }
        plat_sleep_ms(20);
    }
    for (size_t i = 0; i < s->nworkers; i++)
        plat_thread_join(s->workers[i]);
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
    return 0;
}

void host_server_destroy(host_server_t *s)
{
    if (!s)
        return;
    /* Anything still queued (only after a run that returned early) is closed here. */
    host_conn_t *c = s->qhead;
    while (c) {
        host_conn_t *next = c->next;
        conn_close(c);
        c = next;
    }
    plat_poller_destroy(s->poller);
    plat_mutex_destroy(&s->qlock);
    plat_cond_destroy(&s->qcond);
    plat_mutex_destroy(&s->plock);
    free(s);
}
