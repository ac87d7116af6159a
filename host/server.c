/*
 * server.c - listeners, event loops, the worker pool and the monitor.
 *
 * The server runs `concurrency` event loops (shards; by default one per processor, as
 * nginx runs one worker process per core) on a pool of `workers` threads. A shard has its
 * own poller, watching the listeners and the idle connections it accepted. The worker
 * that owns a shard waits on its poller, accepts, and serves every connection that became
 * readable, one after the other, then waits again: under load a request costs no thread
 * hand-off and no lock but the shard's own, the way an event loop serves it. The other
 * workers sleep.
 *
 * Why a monitor thread: a filter may block (LDAP, a backend, the disk) for as long as it
 * likes, and every connection of its shard would wait behind it. IIS's thread pool sits on
 * an I/O completion port, which notices a blocked thread and lets another run in its
 * place; here the monitor notices a worker that has served one connection for more than
 * HOST_OVERTIME_MS, takes the shard from it and wakes an idle worker to run the shard on.
 * The blocked worker finishes its connection, parks or closes it, and returns to the pool.
 * A blocked filter therefore holds one thread, never the server, while threads remain.
 *
 * A connection is always in exactly one place:
 *   its shard's pending list -> reported readable, accepted, or past its deadline (marked
 *                      expired); the owner serves it next (or closes it);
 *   a worker        -> it serves requests while some are complete, then parks it or
 *                      closes it;
 *   the parked list -> its socket is watched by the shard's poller (one-shot);
 *   the detached list -> its extension returned HSE_STATUS_PENDING and no thread serves
 *                      it: the extension's threads call into it until its session has
 *                      work (an I/O completion, DONE_WITH_SESSION), which moves it to
 *   the resume list -> the owner takes it after its next wait (the poller is woken) and
 *                      serves it: the completion callbacks run there, and the pipeline
 *                      goes on after DONE_WITH_SESSION;
 *   the close queue -> shutdown, or a socket the poller would not watch: a worker closes it.
 * Idle keep-alive connections therefore hold no thread and (with an empty buffer, which is
 * freed when they park) little memory. Graceful shutdown: the event loops stop (no new
 * connections), parked connections are closed, workers finish what they hold (a request
 * in progress completes; keep-alive ends), then join.
 */
#include "server.h"
#include "conn.h"
#include "fmt.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_POLL_BATCH 64
#define HOST_SWEEP_MS 250
/* Why one accept per report, as nginx does by default (multi_accept off): a loop that took
 * every pending connection would serve them one after another while the other loops sat
 * idle; the listener is watched level-triggered, so the next wait reports it again. */
#define HOST_ACCEPT_BATCH 1
#define HOST_OVERTIME_MS 20     /* a worker serving one connection longer is "blocked" */
#define HOST_MONITOR_MS 10

/* ---- lists ------------------------------------------------------------------------ */

/* A singly linked batch of connections (through ->next). */
typedef struct conn_batch {
    host_conn_t *first, *last;
    unsigned n;
} conn_batch_t;

/* Appends batch b to the list head/tail. */
static void batch_append_to(host_conn_t **head, host_conn_t **tail, const conn_batch_t *b)
{
    if (b->n == 0)
        return;
    if (*tail)
        (*tail)->next = b->first;
    else
        *head = b->first;
    *tail = b->last;
}

static void batch_add(conn_batch_t *b, host_conn_t *c)
{
    c->next = NULL;
    if (b->last)
        b->last->next = c;
    else
        b->first = c;
    b->last = c;
    b->n++;
}

/* Hands c to a worker to close (qlock not held). */
static void close_later(struct host_server *s, host_conn_t *c)
{
    conn_batch_t one = { NULL, NULL, 0 };
    c->expired = 1;
    batch_add(&one, c);
    plat_mutex_lock(&s->qlock);
    batch_append_to(&s->qhead, &s->qtail, &one);
    if (s->idle > 0)
        plat_cond_signal(&s->qcond);
    plat_mutex_unlock(&s->qlock);
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_close(host_conn_t *c)
{
    isapi_conn_close(c->ic);   /* END_OF_NET_SESSION, then the AllocMem arena goes */
    plat_sock_close(c->sock);
    host_conn_pipeline_free(c);
    host_conn_buf_release(c);
    atomic_fetch_sub(&c->srv->nconns, 1);
    if (c->edge && c->shard) {
        /* Why: an edge-triggered socket stays watched while it is served, so a worker
         * that took over the loop from a blocked one may hold a report for c from a wait
         * that ended before the close. The loop's owner frees c before its next wait,
         * when no such report can be left. */
        host_shard_t *sh = c->shard;
        plat_mutex_lock(&sh->lock);
        c->next = sh->closed;
        sh->closed = c;
        plat_mutex_unlock(&sh->lock);
        return;
    }
    free(c);
}

/* Frees the connections closed since the last call (owner, before it waits). */
static void free_closed(host_shard_t *sh)
{
    plat_mutex_lock(&sh->lock);
    host_conn_t *c = sh->closed;
    sh->closed = NULL;
    plat_mutex_unlock(&sh->lock);
    while (c) {
        host_conn_t *next = c->next;
        free(c);
        c = next;
    }
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
    c->peer_port[host_fmt_u64(c->peer_port, peer->port)] = '\0';
    c->local_port[host_fmt_u64(c->local_port, local->port)] = '\0';
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

/* Watches c again (for reading, or for writing when c->wait_write), or tells the caller
 * to serve it again at once (1) when something was reported while it was being served. */
static int park(host_conn_t *c)
{
    host_shard_t *sh = c->shard;
    /* An idle connection keeps no buffer: 10,000 of them must stay cheap. */
    if (c->len == 0)
        host_conn_buf_release(c);
    c->expired = 0;
    /* Listed and watched under one lock: the sweep (which takes the lock) then never
     * finds c listed but not yet watched. Once listed, c may be reported and served at
     * once, so nothing touches it after the lock is released. */
    plat_mutex_lock(&sh->lock);
    if (atomic_load(&c->srv->stopping) && atomic_load(&c->ext_pending)) {
        /* An extension's asynchronous write waits for the client: its extension still
         * holds the request, so it is not closed here; the write fails as expired, and
         * the session ends the request (http1.c). */
        plat_mutex_unlock(&sh->lock);
        c->expired = 1;
        return 1;
    }
    if (atomic_load(&c->srv->stopping)) {
        /* Shutdown collects the parked list once; a late arrival is closed instead. */
        plat_mutex_unlock(&sh->lock);
        close_later(c->srv, c);
        return 0;
    }
    if (c->event_pending) {
        /* Edge-triggered: that report will not come again. */
        c->event_pending = 0;
        if (c->pending_events & PLAT_EV_HUP)
            c->peer_closed = 1;
        c->pending_events = 0;
        plat_mutex_unlock(&sh->lock);
        return 1;
    }
    int rc = 0;
    if (!c->watched) {
        rc = sh->oneshot_only ? PLAT_ENOTSUP : plat_poller_add_edge(sh->poller, c->sock, c);
        if (rc == PLAT_ENOTSUP) {
            sh->oneshot_only = 1;
            rc = c->wait_write ? plat_poller_add_writable(sh->poller, c->sock, c)
                               : plat_poller_add(sh->poller, c->sock, c);
        } else if (rc == 0) {
            c->edge = 1;
        }
        c->watched = rc == 0;
    } else if (!c->edge) {
        rc = c->wait_write ? plat_poller_add_writable(sh->poller, c->sock, c)
                           : plat_poller_rearm(sh->poller, c->sock, c);
    }
    if (rc == 0) {
        c->prev = NULL;
        c->next = sh->parked;
        if (sh->parked)
            sh->parked->prev = c;
        sh->parked = c;
        c->parked = 1;
    }
    plat_mutex_unlock(&sh->lock);
    if (rc != 0)
        close_later(c->srv, c);
    return 0;
}

/* Removes c from the doubly linked list *head (shard lock). */
static void list_unlink(host_conn_t **head, host_conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void list_push(host_conn_t **head, host_conn_t *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void unpark_locked(host_shard_t *sh, host_conn_t *c)
{
    c->parked = 0;
    list_unlink(&sh->parked, c);
}

/* ---- pending extension requests ------------------------------------------------------
 *
 * Why no worker waits for them: IIS holds no thread for a request whose HttpExtensionProc
 * returned HSE_STATUS_PENDING, and extensions that serve long polls or slow back ends keep
 * many such requests open at once; a worker waiting for each would leave none for the
 * others. */

/* Lets c go after its extension returned HSE_STATUS_PENDING. Returns 1 when its session
 * already has work: the caller serves it again at once. Otherwise c is on the detached
 * list and belongs to its session until host_conn_resume(): the caller touches it no
 * more. */
static int detach(host_conn_t *c)
{
    host_shard_t *sh = c->shard;
    struct host_server *s = c->srv;
    atomic_fetch_add(&s->ext_detached, 1);
    /* Listed before the session may wake it, and the session's decision taken under the
     * same lock, so host_conn_resume() always finds c listed. */
    plat_mutex_lock(&sh->lock);
    list_push(&sh->detached, c);
    c->ext_detached = 1;
    int again = isapi_extension_detach(c->ic);
    if (again) {
        list_unlink(&sh->detached, c);
        c->ext_detached = 0;
    }
    plat_mutex_unlock(&sh->lock);
    if (again)
        atomic_fetch_sub(&s->ext_detached, 1);
    return again;
}

void host_conn_resume(host_conn_t *c)
{
    host_shard_t *sh = c->shard;
    struct host_server *s = c->srv;
    plat_mutex_lock(&sh->lock);
    if (c->ext_detached) {
        list_unlink(&sh->detached, c);
        c->ext_detached = 0;
    }
    int to_loop = !sh->loop_gone;
    if (to_loop) {
        c->next = NULL;
        if (sh->resume_tail)
            sh->resume_tail->next = c;
        else
            sh->resume = c;
        sh->resume_tail = c;
        atomic_store(&sh->resume_ready, 1);
    }
    plat_mutex_unlock(&sh->lock);
    if (to_loop) {
        plat_poller_wakeup(sh->poller);
    } else {
        /* Shutdown: the event loops are gone; a worker of the pool serves it. */
        conn_batch_t one = { NULL, NULL, 0 };
        batch_add(&one, c);
        plat_mutex_lock(&s->qlock);
        batch_append_to(&s->qhead, &s->qtail, &one);
        plat_cond_signal(&s->qcond);
        plat_mutex_unlock(&s->qlock);
    }
    atomic_fetch_sub(&s->ext_detached, 1);
}

/* Moves the resumed connections to b (owner). */
static void take_resumed(host_shard_t *sh, conn_batch_t *b)
{
    if (!atomic_load(&sh->resume_ready))
        return;
    plat_mutex_lock(&sh->lock);
    for (host_conn_t *c = sh->resume, *next; c; c = next) {
        next = c->next;
        c->may_have_data = 1;
        batch_add(b, c);
    }
    sh->resume = sh->resume_tail = NULL;
    atomic_store(&sh->resume_ready, 0);
    plat_mutex_unlock(&sh->lock);
}

/* ---- one event loop ---------------------------------------------------------------- */

static host_listener_t *listener_of(struct host_server *s, void *user)
{
    for (size_t i = 0; i < s->nlisteners; i++)
        if (user == &s->listeners[i])
            return &s->listeners[i];
    return NULL;
}

/* At the connection limit: closes the loop's oldest idle keep-alive connection (as nginx
 * reuses idle connections) so a new client is served instead of refused. The closed one
 * goes to b, marked expired, and its worker closes it. Returns 1 when one was found. */
static int reclaim_idle(host_shard_t *sh, conn_batch_t *b)
{
    host_conn_t *oldest = NULL;
    plat_mutex_lock(&sh->lock);
    for (host_conn_t *c = sh->parked; c; c = c->next)
        if (!c->in_request && !c->in_pipeline && c->len == 0)
            oldest = c;   /* the list is newest first */
    if (oldest) {
        plat_poller_remove(sh->poller, oldest->sock);
        unpark_locked(sh, oldest);
        oldest->expired = 1;
        batch_add(b, oldest);
    }
    plat_mutex_unlock(&sh->lock);
    return oldest != NULL;
}

/* Accepts what is pending on l (up to a batch) into b, for shard sh. */
static void accept_batch(host_shard_t *sh, host_listener_t *l, conn_batch_t *b)
{
    struct host_server *s = sh->srv;
    for (int i = 0; i < HOST_ACCEPT_BATCH; i++) {
        plat_socket_t sock;
        plat_endpoint_t peer, local;
        int rc = plat_accept(l->sock, 0, &sock, &peer, l->local_is_wildcard ? &local : NULL);
        if (rc == PLAT_ETIMEDOUT)
            return;
        if (rc == PLAT_ECONNRESET)
            continue;
        if (rc != 0) {
            if (rc == PLAT_EMFILE || rc == PLAT_ENOMEM) {
                /* The listener stays readable; pausing keeps this from spinning. */
                host_log(HOST_LOG_WARN, "listen %s:%u: out of descriptors; pausing accepts",
                         l->conf.address, (unsigned)l->port);
                plat_sleep_ms(100);
            }
            return;
        }
        if ((unsigned)atomic_load(&s->nconns) >= s->cfg->max_connections
            && !reclaim_idle(sh, b)) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            plat_sock_send_all(sock, busy, sizeof busy - 1, 1000);
            plat_sock_close(sock);
            continue;
        }
        host_conn_t *c = conn_new(l, sock, &peer, l->local_is_wildcard ? &local : &l->local);
        if (!c) {
            plat_sock_close(sock);
            continue;
        }
        c->shard = sh;
        /* A client usually sends its request right behind the handshake: one receive
         * before parking often finds it. */
        c->may_have_data = 1;
        batch_add(b, c);
    }
}

/* Moves parked connections past their deadline into b (the owner alone may remove
 * sockets from the poller). */
static void sweep_expired(host_shard_t *sh, uint64_t now, conn_batch_t *b)
{
    plat_mutex_lock(&sh->lock);
    host_conn_t *c = sh->parked;
    while (c) {
        host_conn_t *next = c->next;
        if (c->deadline_ms <= now) {
            plat_poller_remove(sh->poller, c->sock);
            c->watched = 0;   /* a child request's parent serves on (http1.c) */
            unpark_locked(sh, c);
            c->expired = 1;
            batch_add(b, c);
        }
        c = next;
    }
    /* A pending extension request past its time: the handle step fails it, unless its
     * session woke it meanwhile. */
    for (c = sh->detached; c; ) {
        host_conn_t *next = c->next;
        if (c->deadline_ms <= now && isapi_extension_abandon(c->ic)) {
            list_unlink(&sh->detached, c);
            c->ext_detached = 0;
            c->may_have_data = 1;
            batch_add(b, c);
            atomic_fetch_sub(&sh->srv->ext_detached, 1);
        }
        c = next;
    }
    plat_mutex_unlock(&sh->lock);
}

/* ---- overlapped recycling: the retiring side ----------------------------------------
 *
 * A reload (or a recycle limit) starts a new serving process on the same listening
 * sockets; once it serves, the supervisor tells this one to retire (host_server_retire).
 * Retiring is not stopping: connections accepted here are still served, so none is lost,
 * but each one's next response says Connection: close and the connection ends after it,
 * and the listeners leave the pollers, so clients reconnect to the new process. The
 * kernel queues connections on the shared listening socket for whichever process
 * accepts, so none waits on a process that will not accept it. */

/* Why the owner removes them: a poller belongs to the thread that runs its shard. */
static void stop_accepting(host_shard_t *sh)
{
    struct host_server *s = sh->srv;
    for (size_t k = 0; k < s->nlisteners; k++)
        plat_poller_remove(sh->poller, s->listeners[k].sock);
    atomic_store(&sh->listeners_unwatched, 1);
}

/* Makes c's request in progress, or its next one, the connection's last: http1.c then
 * answers it with Connection: close and closes the connection after it, exactly as when
 * max_requests_per_connection is reached. Why not close the idle keep-alive connection at
 * once: a client may have sent its next request already, and it would find the connection
 * reset instead of answered. */
static void make_last_request(host_conn_t *c)
{
    unsigned cap = c->srv->cfg->max_requests_per_connection;
    if (cap > 0 && c->requests + 1 < cap)
        c->requests = cap - 1;
}

/* Waits on the shard's poller; what became ready, was accepted or expired goes to the
 * shard's pending list. */
static void poll_shard(host_shard_t *sh)
{
    struct host_server *s = sh->srv;
    plat_ready_t ready[HOST_POLL_BATCH];
    conn_batch_t b = { NULL, NULL, 0 };
    free_closed(sh);
    if (atomic_load(&s->retiring) && !atomic_load(&sh->listeners_unwatched))
        stop_accepting(sh);
    int n = plat_poller_wait(sh->poller, HOST_SWEEP_MS, ready, HOST_POLL_BATCH);
    if (n > 0) {
        plat_mutex_lock(&sh->lock);
        for (int i = 0; i < n; i++) {
            if (listener_of(s, ready[i].user))
                continue;
            host_conn_t *c = ready[i].user;
            if (!c->parked) {
                /* Edge-triggered and being served (or waiting to be): whoever holds it
                 * parks it, sees this, and serves it again. */
                c->event_pending = 1;
                c->pending_events |= ready[i].events;
                continue;
            }
            /* Why: edge-triggered watching also reports a socket that became writable;
             * that means nothing to a connection that is not waiting to write. */
            if (ready[i].events == PLAT_EV_WRITE && !c->wait_write && c->edge)
                continue;
            unpark_locked(sh, c);
            c->may_have_data = 1;
            if (ready[i].events & PLAT_EV_HUP)
                c->peer_closed = 1;
            batch_add(&b, c);
        }
        plat_mutex_unlock(&sh->lock);
        for (int i = 0; i < n && !atomic_load(&s->stopping)
                        && !atomic_load(&sh->listeners_unwatched); i++) {
            host_listener_t *l = listener_of(s, ready[i].user);
            if (l)
                accept_batch(sh, l, &b);
        }
    }
    take_resumed(sh, &b);
    uint64_t now = plat_time_mono_ms();
    if (now >= sh->next_sweep_ms) {
        sh->next_sweep_ms = now + HOST_SWEEP_MS;
        sweep_expired(sh, now, &b);
    }
    batch_append_to(&sh->pending, &sh->pending_tail, &b);
}

/* The worker running on this thread (NULL elsewhere), for host_worker_note_url(). */
static _Thread_local host_worker_t *this_worker;

void host_worker_note_url(const char *url)
{
    host_worker_t *w = this_worker;
    if (!w)
        return;
    plat_mutex_lock(&w->url_lock);
    size_t n = strlen(url);
    if (n >= sizeof w->url)
        n = sizeof w->url - 1;
    memcpy(w->url, url, n);
    w->url[n] = '\0';
    plat_mutex_unlock(&w->url_lock);
}

static void serve(host_conn_t *c)
{
    struct host_server *s = c->srv;
    atomic_fetch_add(&s->busy, 1);
    if (this_worker)
        atomic_store(&this_worker->busy_since_ms, plat_time_mono_ms());
    for (;;) {
        if (atomic_load(&s->retiring))
            make_last_request(c);
        host_serve_result_t r = host_http1_serve(c);
        if (r == HOST_SERVE_EXT_PENDING) {
            if (!detach(c))
                break;
            continue;
        }
        if (r == HOST_SERVE_CLOSE || (atomic_load(&s->stopping) && !c->in_pipeline)) {
            conn_close(c);
            break;
        }
        c->wait_write = r == HOST_SERVE_WAIT_WRITE;
        if (!park(c))
            break;
        c->may_have_data = 1;
    }
    if (this_worker)
        atomic_store(&this_worker->busy_since_ms, 0);
    atomic_fetch_sub(&s->busy, 1);
}

/* Runs shard sh on worker w until the server stops (1) or the monitor gave the shard to
 * another worker while w was serving (0). */
static int run_shard(host_worker_t *w, host_shard_t *sh)
{
    struct host_server *s = sh->srv;
    for (;;) {
        host_conn_t *c = sh->pending;
        if (c) {
            sh->pending = c->next;
            if (!sh->pending)
                sh->pending_tail = NULL;
            atomic_store(&w->serving_since_ms, plat_time_mono_ms());
            serve(c);
            if (atomic_exchange(&w->serving_since_ms, 0) == HOST_WORKER_DETACHED)
                return 0;
            continue;
        }
        if (atomic_load(&s->stopping))
            return 1;
        poll_shard(sh);
    }
}

/* ---- the pool and the monitor ------------------------------------------------------ */

static host_shard_t *ownerless_shard_locked(struct host_server *s)
{
    for (size_t i = 0; i < s->nshards; i++)
        if (!s->shards[i].owner)
            return &s->shards[i];
    return NULL;
}

static void worker_main(void *arg)
{
    host_worker_t *w = arg;
    struct host_server *s = w->srv;
    this_worker = w;
    w->call = isapi_thread_call_record();
    plat_mutex_lock(&s->qlock);
    for (;;) {
        if (s->qhead) {
            host_conn_t *c = s->qhead;
            s->qhead = c->next;
            if (!s->qhead)
                s->qtail = NULL;
            plat_mutex_unlock(&s->qlock);
            serve(c);   /* expired: host_http1_serve() closes it */
            plat_mutex_lock(&s->qlock);
            continue;
        }
        if (s->draining)
            break;
        host_shard_t *sh = atomic_load(&s->stopping) ? NULL : ownerless_shard_locked(s);
        if (sh) {
            sh->owner = w;
            w->shard = sh;
            plat_mutex_unlock(&s->qlock);
            int stopped = run_shard(w, sh);
            plat_mutex_lock(&s->qlock);
            if (stopped) {
                sh->owner = NULL;
                w->shard = NULL;
            }
            continue;
        }
        s->idle++;
        plat_cond_wait(&s->qcond, &s->qlock, 1000);
        s->idle--;
    }
    plat_mutex_unlock(&s->qlock);
    host_thread_buffers_free();
    isapi_thread_cache_free();
}

/* The hung-call watchdog, as IIS pings its worker process and recycles one that stopped
 * answering: when calls have stayed in filter code longer than hung_call_timeout and the
 * workers left fall below hung_workers_floor, it logs each stuck call (filter,
 * notification, url) and asks the supervisor for a new serving process on the same
 * listeners; this one then stops accepting and ends when its calls return or its
 * shutdown time is up. Once per process. */
static void watch_hung_calls(struct host_server *s, uint64_t now)
{
    const host_config_t *cfg = s->cfg;
    if (!cfg->hung_call_timeout_ms || s->recycle_requested || atomic_load(&s->stopping))
        return;
    size_t hung = 0;
    for (size_t i = 0; i < s->nworkers; i++) {
        host_worker_t *w = &s->workers[i];
        uint64_t since = atomic_load(&w->busy_since_ms);
        char what[8];
        if (since && now - since >= cfg->hung_call_timeout_ms && w->call
            && isapi_describe_call(w->call, what, sizeof what) > 0)
            hung++;
    }
    if (hung == 0 || s->nworkers - hung >= cfg->hung_workers_floor)
        return;
    s->recycle_requested = 1;
    for (size_t i = 0; i < s->nworkers; i++) {
        host_worker_t *w = &s->workers[i];
        uint64_t since = atomic_load(&w->busy_since_ms);
        char what[700], url[sizeof w->url];
        if (!since || now - since < cfg->hung_call_timeout_ms || !w->call
            || isapi_describe_call(w->call, what, sizeof what) == 0)
            continue;
        plat_mutex_lock(&w->url_lock);
        memcpy(url, w->url, sizeof url);
        plat_mutex_unlock(&w->url_lock);
        host_log(HOST_LOG_ERROR, "hung call: worker %lu has been in %s for %lu s, url %s",
                 (unsigned long)i, what, (unsigned long)((now - since) / 1000),
                 url[0] ? url : "-");
    }
    int rc = plat_request_recycle();
    host_log(HOST_LOG_ERROR, "%lu of %lu workers are stuck in filter calls (floor %u): %s",
             (unsigned long)hung, (unsigned long)s->nworkers, cfg->hung_workers_floor,
             rc == 0 ? "asking the supervisor for a new serving process; this one stops"
                     : "no supervisor to start a new serving process");
    if (rc == 0)
        host_server_hand_over(s);
}

/* Periodic recycling, as IIS's application pools recycle after a number of requests or a
 * time (periodicRestart requests and time): once either limit is reached, this process
 * asks the supervisor for a new serving process and goes on serving until the supervisor
 * retires it, once the new one serves. Once per process. */
static void watch_recycle_limits(struct host_server *s, uint64_t now)
{
    const host_config_t *cfg = s->cfg;
    if (s->recycle_limit_reached || s->recycle_requested || atomic_load(&s->retiring)
        || atomic_load(&s->stopping))
        return;
    uint64_t served = host_w3c_count();   /* one record per finished request */
    char why[128];
    if (cfg->recycle_after_requests && served >= cfg->recycle_after_requests)
        snprintf(why, sizeof why, "%llu requests served (recycle_after_requests = %u)",
                 (unsigned long long)served, cfg->recycle_after_requests);
    else if (cfg->recycle_after_seconds
             && now - s->started_ms >= (uint64_t)cfg->recycle_after_seconds * 1000u)
        snprintf(why, sizeof why, "%u s of serving (recycle_after_seconds = %u)",
                 cfg->recycle_after_seconds, cfg->recycle_after_seconds);
    else
        return;
    s->recycle_limit_reached = 1;
    int rc = plat_request_recycle();
    host_log(rc == 0 ? HOST_LOG_INFO : HOST_LOG_WARN, "recycling after %s: %s", why,
             rc == 0 ? "asking the supervisor for a new serving process; this one serves "
                       "until it takes over"
                     : "no supervisor to start a new serving process; this one goes on");
}

static void monitor_main(void *arg)
{
    struct host_server *s = arg;
    for (;;) {
        plat_sleep_ms(HOST_MONITOR_MS);
        uint64_t now = plat_time_mono_ms();
        watch_hung_calls(s, now);
        watch_recycle_limits(s, now);
        plat_mutex_lock(&s->qlock);
        if (s->draining) {
            plat_mutex_unlock(&s->qlock);
            return;
        }
        for (size_t i = 0; i < s->nworkers; i++) {
            host_worker_t *w = &s->workers[i];
            uint64_t since = atomic_load(&w->serving_since_ms);
            if (!w->shard || since == 0 || since == HOST_WORKER_DETACHED
                || now - since < HOST_OVERTIME_MS)
                continue;
            /* The exchange decides against the worker finishing at this moment: if it
             * wins, the worker sees HOST_WORKER_DETACHED and leaves the shard alone. */
            if (!atomic_compare_exchange_strong(&w->serving_since_ms, &since,
                                                HOST_WORKER_DETACHED))
                continue;
            w->shard->owner = NULL;
            w->shard = NULL;
            if (s->idle > 0)
                plat_cond_signal(&s->qcond);
        }
        plat_mutex_unlock(&s->qlock);
    }
}

/* Opens one listener; on failure writes "<where>: <setting>: <address>:<port>: <reason>"
 * into err. Returns 0 or -1. */
static int listen_one(const char *where, const char *setting, const host_listen_t *l,
                      int backlog, plat_socket_t *sock, uint16_t *port, char *err,
                      size_t errlen)
{
    int rc = plat_listen(l->address, (uint16_t)l->port, backlog, sock, port);
    if (rc == 0)
        return 0;
    char why[256];
    plat_strerror(rc, why, sizeof why);
    int v6 = strchr(l->address, ':') != NULL;
    snprintf(err, errlen, "%s: %s: %s%s%s:%u: %s", where, setting, v6 ? "[" : "", l->address,
             v6 ? "]" : "", l->port, why);
    return -1;
}

/* ---- life cycle ------------------------------------------------------------------- */

int host_listeners_open(const host_config_t *cfg, host_listeners_t *out, char *err,
                        size_t errlen)
{
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    out->n = 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (listen_one(where, "listen", &cfg->listen[i], 511, &out->sock[i], &out->port[i],
                       err, errlen) != 0) {
            host_listeners_close(out);
            return -1;
        }
        out->n++;
    }
    out->has_admin = 0;
    if (cfg->admin_enabled) {
        if (listen_one(where, "[admin] listen", &cfg->admin_listen, 64, &out->admin_sock,
                       &out->admin_port, err, errlen) != 0) {
            host_listeners_close(out);
            return -1;
        }
        out->has_admin = 1;
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
        if (out->has_admin)
            fprintf(f, "%u\n", (unsigned)out->admin_port);
        fclose(f);
    }
    return 0;
}

/* The first of socks[0..n) not taken yet that is bound to l's address and port. */
static int adopt_one(const host_listen_t *l, plat_socket_t *socks, int *taken, size_t n,
                     plat_socket_t *sock, uint16_t *port)
{
    for (size_t i = 0; i < n; i++) {
        plat_endpoint_t ep;
        if (taken[i] || !plat_sock_bound_to(socks[i], l->address, (uint16_t)l->port)
            || plat_sock_local(socks[i], &ep) != 0)
            continue;
        taken[i] = 1;
        *sock = socks[i];
        *port = ep.port;
        return 0;
    }
    return -1;
}

int host_listeners_adopt(const host_config_t *cfg, plat_socket_t *socks, size_t n,
                         host_listeners_t *out, char *err, size_t errlen)
{
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    int taken[HOST_MAX_LISTENERS + 1] = { 0 };
    const char *changed = NULL;
    out->n = 0;
    out->has_admin = 0;
    if (n > HOST_MAX_LISTENERS + 1)
        changed = "listen";
    for (size_t i = 0; !changed && i < cfg->nlisten; i++) {
        if (adopt_one(&cfg->listen[i], socks, taken, n, &out->sock[i], &out->port[i]) != 0)
            changed = "listen";
        else
            out->n++;
    }
    if (!changed && cfg->admin_enabled) {
        if (adopt_one(&cfg->admin_listen, socks, taken, n, &out->admin_sock,
                      &out->admin_port) != 0)
            changed = "[admin] listen";
        else
            out->has_admin = 1;
    }
    for (size_t i = 0; !changed && i < n; i++)
        if (!taken[i])
            changed = "listen";   /* a listener (or the admin one) was removed */
    if (!changed)
        return 0;
    /* Why refuse: the sockets were opened by the first process, perhaps as root; another
     * address needs a new socket, which only a restart opens. */
    for (size_t i = 0; i < n && i < HOST_MAX_LISTENERS + 1; i++)
        plat_sock_close(socks[i]);
    out->n = 0;
    out->has_admin = 0;
    snprintf(err, errlen, "%.400s: %s: changed; a restart applies it, a reload cannot", where,
             changed);
    return -1;
}

void host_listeners_close(host_listeners_t *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        plat_sock_close(ls->sock[i]);
    ls->n = 0;
    if (ls->has_admin)
        plat_sock_close(ls->admin_sock);
    ls->has_admin = 0;
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
    for (size_t i = 0; i < ls->n; i++) {
        host_listener_t *l = &s->listeners[i];
        l->srv = s;
        l->conf = cfg->listen[i];
        l->sock = ls->sock[i];
        l->port = ls->port[i];
        snprintf(l->port_text, sizeof l->port_text, "%u", (unsigned)l->port);
        /* Why: the local address of a connection is the listener's own unless the
         * listener is bound to every address; asking once saves a call per connection. */
        if (plat_sock_local(l->sock, &l->local) != 0
            || strcmp(l->local.addr, "0.0.0.0") == 0 || strcmp(l->local.addr, "::") == 0)
            l->local_is_wildcard = 1;
    }
    s->nlisteners = ls->n;
    atomic_store(&s->drain_done, cfg->drain_delay_ms == 0);
    if (ls->has_admin) {
        /* Counting starts with the admin listener that reports it: without one, the
         * request path reads no clock and adds to no counter. */
        uint64_t ticks_per_second = cfg->filter_timing ? plat_ticks_calibrate() : 1;
        if (isapi_engine_stats_enable(engine, cfg->filter_timing, plat_ticks,
                                      ticks_per_second) != 0) {
            snprintf(err, errlen, "out of memory for the filter call statistics");
            free(s);
            return -1;
        }
        if (cfg->filter_timing)
            host_log(HOST_LOG_INFO, "metrics: filter calls timed with %s (%.3f MHz)",
                     plat_ticks_source(), (double)ticks_per_second / 1e6);
        host_metrics_enable();
        const char *starts = getenv("ISAPIHOST_SERVING_RESTARTS");
        host_metrics_set_restarts(starts ? strtoull(starts, NULL, 10) : 0);
        s->admin_sock = ls->admin_sock;
        s->has_admin = 1;
    }

    /* Why half the workers at most: a worker blocked in a filter hands its loop to an
     * idle worker, so with as many loops as workers, none would be left to take it. */
    unsigned n = cfg->concurrency ? cfg->concurrency : plat_cpu_count();
    if (n > (cfg->workers + 1) / 2)
        n = (cfg->workers + 1) / 2;
    if (n > HOST_MAX_SHARDS)
        n = HOST_MAX_SHARDS;
    if (n == 0)
        n = 1;
    plat_mutex_init(&s->qlock);
    plat_cond_init(&s->qcond);
    for (size_t i = 0; i < n; i++) {
        host_shard_t *sh = &s->shards[i];
        sh->srv = s;
        plat_mutex_init(&sh->lock);
        s->nshards = i + 1;
        if (plat_poller_create(&sh->poller) != 0) {
            snprintf(err, errlen, "cannot create a poller");
            host_server_destroy(s);
            return -1;
        }
        for (size_t k = 0; k < s->nlisteners; k++)
            if (plat_poller_add_persistent(sh->poller, s->listeners[k].sock,
                                           &s->listeners[k]) != 0) {
                snprintf(err, errlen, "cannot watch the listening sockets");
                host_server_destroy(s);
                return -1;
            }
    }
    *out = s;
    return 0;
}

unsigned host_server_port(const host_server_t *s, size_t listener)
{
    return listener < s->nlisteners ? s->listeners[listener].port : 0;
}

void host_server_wake(host_server_t *s)
{
    atomic_store(&s->health_down, 1);
    if (!atomic_load(&s->drain_done))
        return;   /* host_server_run drains first, then stops */
    atomic_store(&s->stopping, 1);
    for (size_t i = 0; i < s->nshards; i++)
        plat_poller_wakeup(s->shards[i].poller);
}

/* Another serving process has the listeners and the admin listener now. Why no drain: the
 * new process serves the same listeners, so a load balancer has nothing to move away from;
 * and the admin listener is shared with it, so this one stops answering there, and every
 * health check reaches the process that serves. Async-signal-safe. */
static void leave_listeners_to_successor(host_server_t *s)
{
    atomic_store(&s->drain_done, 1);
    atomic_store(&s->admin_stop, 1);
}

void host_server_hand_over(host_server_t *s)
{
    leave_listeners_to_successor(s);
    host_server_wake(s);
}

void host_server_on_ready(host_server_t *s, void (*fn)(void))
{
    s->on_ready = fn;
}

void host_server_retire(host_server_t *s)
{
    atomic_store(&s->retiring, 1);
    leave_listeners_to_successor(s);
    for (size_t i = 0; i < s->nshards; i++)
        plat_poller_wakeup(s->shards[i].poller);
}

/* Retiring: the connections end one by one after their next response; the stop proper
 * (END_OF_NET_SESSION for what is left, TerminateFilter) follows once none is open, or
 * after shutdown_timeout for a client that keeps an idle connection, or at a stop. */
static void wait_for_retirement(struct host_server *s)
{
    uint64_t deadline = plat_time_mono_ms() + s->cfg->shutdown_timeout_ms;
    /* The line below is a promise: every event loop let the listeners go first. */
    for (size_t i = 0; i < s->nshards; i++)
        while (!atomic_load(&s->shards[i].listeners_unwatched) && !atomic_load(&s->stopping)
               && !plat_shutdown_requested() && plat_time_mono_ms() < deadline)
            plat_sleep_ms(5);
    host_log(HOST_LOG_INFO, "retiring: a new serving process took over; no new connections "
             "here, each open one closes after its next response");
    while (atomic_load(&s->nconns) > 0 && !atomic_load(&s->stopping)
           && !plat_shutdown_requested() && plat_time_mono_ms() < deadline)
        plat_sleep_ms(20);
    if (atomic_load(&s->nconns) > 0)
        host_log(HOST_LOG_INFO, "retiring: %d connection(s) still open; closing them",
                 atomic_load(&s->nconns));
}

static int shards_running(struct host_server *s)
{
    plat_mutex_lock(&s->qlock);
    int running = 0;
    for (size_t i = 0; i < s->nshards; i++)
        running |= s->shards[i].owner != NULL;
    plat_mutex_unlock(&s->qlock);
    return running;
}

int host_server_run(host_server_t *s)
{
    const host_config_t *cfg = s->cfg;
    s->workers = calloc(cfg->workers, sizeof *s->workers);
    if (!s->workers)
        return -1;
    plat_mutex_lock(&s->qlock);
    for (size_t i = 0; i < cfg->workers; i++) {
        host_worker_t *w = &s->workers[i];
        w->srv = s;
        plat_mutex_init(&w->url_lock);
        if (plat_thread_create(&w->thread, worker_main, w) != 0) {
            host_log(HOST_LOG_ERROR, "cannot start worker thread %lu", (unsigned long)i);
            atomic_store(&s->stopping, 1);
            break;
        }
        s->nworkers = i + 1;
    }
    plat_mutex_unlock(&s->qlock);
    s->started_ms = plat_time_mono_ms();
    if (!atomic_load(&s->stopping))
        plat_thread_create(&s->monitor_thread, monitor_main, s);
    if (s->has_admin && host_admin_start(s, s->admin_sock) != 0)
        host_log(HOST_LOG_ERROR, "cannot start the admin listener's thread; no metrics");
    host_log(HOST_LOG_INFO, "%lu event loop(s) on %lu worker thread(s)%s",
             (unsigned long)s->nshards, (unsigned long)s->nworkers,
             cfg->concurrency > s->nshards ? " (concurrency is at most half the workers)" : "");
    for (size_t i = 0; i < s->nlisteners && !atomic_load(&s->stopping); i++)
        host_log(HOST_LOG_INFO, "listening on %s%s%s:%u%s",
                 strchr(s->listeners[i].conf.address, ':') ? "[" : "",
                 s->listeners[i].conf.address,
                 strchr(s->listeners[i].conf.address, ':') ? "]" : "",
                 (unsigned)s->listeners[i].port, s->listeners[i].conf.secure ? " (secure)" : "");

    if (s->on_ready && !atomic_load(&s->stopping))
        s->on_ready();

    while (!atomic_load(&s->stopping) && !atomic_load(&s->health_down)
           && !plat_shutdown_requested()) {
        if (atomic_load(&s->retiring)) {
            wait_for_retirement(s);
            break;
        }
        plat_sleep_ms(20);
    }
    atomic_store(&s->health_down, 1);
    if (!atomic_load(&s->drain_done)) {
        /* Why serve on: a load balancer reads /healthz every few hundred milliseconds and
         * sends new requests here until it sees the 503; stopping at once would refuse
         * them. drain_delay is the operator's bound on its detection time. */
        host_log(HOST_LOG_INFO, "draining: /healthz answers 503; serving %u ms more",
                 cfg->drain_delay_ms);
        uint64_t drained = plat_time_mono_ms() + cfg->drain_delay_ms;
        while (!atomic_load(&s->stopping) && plat_time_mono_ms() < drained)
            plat_sleep_ms(20);
        atomic_store(&s->drain_done, 1);
    }
    host_log(HOST_LOG_INFO, "shutting down: no new connections; finishing requests in progress");
    host_server_wake(s);

    /* Once no worker runs a shard, none will again: the pollers are this thread's. A
     * worker blocked in a filter loses its shard to the monitor as usual, and closes its
     * connection when the filter returns. */
    uint64_t deadline = plat_time_mono_ms() + cfg->shutdown_timeout_ms;
    while (shards_running(s)) {
        if (plat_time_mono_ms() >= deadline) {
            host_log(HOST_LOG_ERROR, "shutdown: %d request(s) still running in filters after "
                     "%u ms; exiting without unloading the filters",
                     atomic_load(&s->busy), cfg->shutdown_timeout_ms);
            return -1;
        }
        host_server_wake(s);
        plat_sleep_ms(10);
    }

    /* Parked and pending connections have no request in progress (or only a partial
     * head): workers close them. Resumed extension requests are the exception: workers
     * serve them to their end. The listening sockets stay open (their owner closes them):
     * a supervisor keeps them for the next serving process. */
    conn_batch_t b = { NULL, NULL, 0 };
    for (size_t i = 0; i < s->nshards; i++) {
        host_shard_t *sh = &s->shards[i];
        for (size_t k = 0; k < s->nlisteners; k++)
            plat_poller_remove(sh->poller, s->listeners[k].sock);
        plat_mutex_lock(&sh->lock);
        host_conn_t *c = sh->parked;
        sh->parked = NULL;
        while (c) {
            host_conn_t *next = c->next;
            plat_poller_remove(sh->poller, c->sock);
            c->watched = 0;
            c->expired = 1;
            batch_add(&b, c);
            c = next;
        }
        /* Resumed extension requests are served to their end (below); pending ones that
         * wake from now on go to the pool's queue. */
        sh->loop_gone = 1;
        for (c = sh->resume; c; ) {
            host_conn_t *next = c->next;
            batch_add(&b, c);
            c = next;
        }
        sh->resume = sh->resume_tail = NULL;
        atomic_store(&sh->resume_ready, 0);
        plat_mutex_unlock(&sh->lock);
        for (c = sh->pending; c; ) {
            host_conn_t *next = c->next;
            c->expired = !atomic_load(&c->ext_pending);
            batch_add(&b, c);
            c = next;
        }
        sh->pending = sh->pending_tail = NULL;
    }
    plat_mutex_lock(&s->qlock);
    batch_append_to(&s->qhead, &s->qtail, &b);
    plat_cond_broadcast(&s->qcond);
    plat_mutex_unlock(&s->qlock);

    /* Workers close the queue and finish what they hold, up to the deadline. */
    for (;;) {
        /* Why pending extension requests too: their extensions still use the requests,
         * and TerminateExtension must wait for them. Read first: one that wakes from now
         * on is queued before it stops counting. */
        int detached = atomic_load(&s->ext_detached);
        plat_mutex_lock(&s->qlock);
        int queued = s->qhead != NULL;
        plat_mutex_unlock(&s->qlock);
        if (!queued && atomic_load(&s->busy) == 0 && detached == 0)
            break;
        if (plat_time_mono_ms() >= deadline) {
            host_log(HOST_LOG_ERROR, "shutdown: %d request(s) still running in filters and %d "
                     "pending extension request(s) (no HSE_REQ_DONE_WITH_SESSION yet) after "
                     "%u ms; exiting without unloading the filters", atomic_load(&s->busy),
                     atomic_load(&s->ext_detached), cfg->shutdown_timeout_ms);
            return -1;
        }
        plat_sleep_ms(20);
    }
    plat_mutex_lock(&s->qlock);
    s->draining = 1;
    plat_cond_broadcast(&s->qcond);
    plat_mutex_unlock(&s->qlock);
    host_admin_stop(s);
    if (s->monitor_thread)
        plat_thread_join(s->monitor_thread);
    for (size_t i = 0; i < s->nworkers; i++)
        plat_thread_join(s->workers[i].thread);
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
    host_thread_buffers_free();
    isapi_thread_cache_free();
    host_admin_stop(s);
    for (size_t i = 0; i < s->nshards; i++) {
        free_closed(&s->shards[i]);
        plat_poller_destroy(s->shards[i].poller);
        plat_mutex_destroy(&s->shards[i].lock);
    }
    plat_mutex_destroy(&s->qlock);
    plat_cond_destroy(&s->qcond);
    free(s);
}
