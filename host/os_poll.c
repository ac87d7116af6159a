/*
 * os_poll.c - the portable poller backend of host/os.h: poll() on POSIX systems without
 * epoll, WSAPoll on Windows. Written once for both; the few differences (the pollfd type,
 * the poll call, the wakeup pair) come from the platform's os_private.h.
 *
 * The poller is a pollfd array owned by the waiting thread. Other threads append to a
 * small pending list under a mutex (and wake the waiter if it is inside poll()), and the
 * waiter merges the list before each poll(). Entry 0 is the read end of the wakeup pair (a
 * pipe on POSIX; on Windows, which has no pipe WSAPoll can watch, a connected loopback TCP
 * pair): plat_poller_wakeup() makes it readable. Interest is one-shot unless persistent:
 * a reported socket leaves the array. Edge-triggered watching is not available here
 * (PLAT_ENOTSUP), and the server falls back to one-shot watching.
 */
#include "os.h"
#include "os_private.h"

#if PLAT__USE_POLL_BACKEND

#include <stdlib.h>

typedef struct pending {
    plat_socket_t s;
    void *user;
    int persistent;
    short events;
} pending_t;

struct plat_poller {
    plat__wake_t wake;
    plat_mutex_t lock;
    pending_t *pend;            /* added by any thread, merged by the waiter */
    size_t npend, pend_cap;
    int waiting;                /* the owner is in poll(): additions must wake it */
    plat__pollfd_t *fds;        /* owner thread only; fds[0] is the wakeup's read end */
    void **users;
    unsigned char *keep;        /* 1: persistent (stays after being reported) */
    size_t n, cap;
};

int plat_poller_wakeup(plat_poller_t *p)
{
    return plat__wake_signal(&p->wake);
}

int plat_poller_create(plat_poller_t **out)
{
    plat_poller_t *p = calloc(1, sizeof *p);
    if (!p)
        return PLAT_ENOMEM;
    int rc = plat__wake_open(&p->wake);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->cap = 64;
    p->fds = malloc(p->cap * sizeof *p->fds);
    p->users = malloc(p->cap * sizeof *p->users);
    p->keep = malloc(p->cap);
    if (!p->fds || !p->users || !p->keep || plat_mutex_init(&p->lock) != 0) {
        free(p->fds);
        free(p->users);
        free(p->keep);
        plat__wake_close(&p->wake);
        free(p);
        return PLAT_ENOMEM;
    }
    p->fds[0].fd = plat__wake_socket(&p->wake);
    p->fds[0].events = PLAT__POLLIN;
    p->fds[0].revents = 0;
    p->users[0] = NULL;
    p->keep[0] = 1;
    p->n = 1;
    *out = p;
    return 0;
}

void plat_poller_destroy(plat_poller_t *p)
{
    if (!p)
        return;
    plat_mutex_destroy(&p->lock);
    plat__wake_close(&p->wake);
    free(p->pend);
    free(p->fds);
    free(p->users);
    free(p->keep);
    free(p);
}

static int add_pending(plat_poller_t *p, plat_socket_t s, void *user, int persistent,
                       short events)
{
    plat_mutex_lock(&p->lock);
    if (p->npend == p->pend_cap) {
        size_t cap = p->pend_cap ? p->pend_cap * 2 : 16;
        pending_t *np = realloc(p->pend, cap * sizeof *np);
        if (!np) {
            plat_mutex_unlock(&p->lock);
            return PLAT_ENOMEM;
        }
        p->pend = np;
        p->pend_cap = cap;
    }
    p->pend[p->npend].s = s;
    p->pend[p->npend].user = user;
    p->pend[p->npend].events = events;
    p->pend[p->npend++].persistent = persistent;
    int wake = p->waiting;
    plat_mutex_unlock(&p->lock);
    return wake ? plat_poller_wakeup(p) : 0;
}

int plat_poller_add(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 0, PLAT__POLLIN);
}

int plat_poller_add_writable(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 0, PLAT__POLLOUT);
}

int plat_poller_add_persistent(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 1, PLAT__POLLIN);
}

int plat_poller_rearm(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 0, PLAT__POLLIN);
}

int plat_poller_add_edge(plat_poller_t *p, plat_socket_t s, void *user)
{
    (void)p;
    (void)s;
    (void)user;
    return PLAT_ENOTSUP;
}

static void remove_at(plat_poller_t *p, size_t i)
{
    p->n--;
    p->fds[i] = p->fds[p->n];
    p->users[i] = p->users[p->n];
    p->keep[i] = p->keep[p->n];
}

int plat_poller_remove(plat_poller_t *p, plat_socket_t s)
{
    plat_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->npend; i++)
        if (p->pend[i].s == s) {
            p->pend[i] = p->pend[--p->npend];
            break;
        }
    plat_mutex_unlock(&p->lock);
    for (size_t i = 1; i < p->n; i++)
        if (p->fds[i].fd == s) {
            remove_at(p, i);
            break;
        }
    return 0;
}

/* Moves the pending additions into the pollfd array and marks the owner as waiting, so
 * that later additions wake it (owner thread). */
static int merge_pending(plat_poller_t *p)
{
    int rc = 0;
    plat_mutex_lock(&p->lock);
    if (p->n + p->npend > p->cap) {
        size_t cap = p->cap;
        while (cap < p->n + p->npend)
            cap *= 2;
        plat__pollfd_t *nf = realloc(p->fds, cap * sizeof *nf);
        if (nf)
            p->fds = nf;
        void **nu = nf ? realloc(p->users, cap * sizeof *nu) : NULL;
        if (nu)
            p->users = nu;
        unsigned char *nk = nu ? realloc(p->keep, cap) : NULL;
        if (nk) {
            p->keep = nk;
            p->cap = cap;
        } else {
            rc = PLAT_ENOMEM;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < p->npend; i++) {
            p->fds[p->n].fd = p->pend[i].s;
            p->fds[p->n].events = p->pend[i].events;
            p->fds[p->n].revents = 0;
            p->keep[p->n] = (unsigned char)p->pend[i].persistent;
            p->users[p->n++] = p->pend[i].user;
        }
        p->npend = 0;
        p->waiting = 1;
    }
    plat_mutex_unlock(&p->lock);
    return rc;
}

int plat_poller_wait(plat_poller_t *p, int timeout_ms, plat_ready_t *ready, int max)
{
    if (max <= 0)
        return PLAT_EINVAL;
    int rc = merge_pending(p);
    if (rc != 0)
        return rc;
    int n = plat__poll(p->fds, p->n, timeout_ms < 0 ? -1 : timeout_ms);
    int failure = n < 0 ? plat__poll_failure() : 0;
    plat_mutex_lock(&p->lock);
    p->waiting = 0;
    plat_mutex_unlock(&p->lock);
    if (n < 0)
        return failure;
    if (p->fds[0].revents)
        plat__wake_drain(&p->wake);
    int k = 0;
    /* Walk backwards so remove_at() only moves entries already looked at. */
    for (size_t i = p->n - 1; i >= 1 && k < max; i--) {
        short e = p->fds[i].revents;
        if (!e)
            continue;
        ready[k].user = p->users[i];
        ready[k++].events = ((e & PLAT__POLLIN) ? PLAT_EV_READ : 0u)
                            | ((e & PLAT__POLLOUT) ? PLAT_EV_WRITE : 0u)
                            | ((e & (PLAT__POLLHUP | PLAT__POLLERR)) ? PLAT_EV_HUP : 0u);
        if (!p->keep[i])
            remove_at(p, i);
    }
    return k;
}

#endif
