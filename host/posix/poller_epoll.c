/*
 * poller_epoll.c - the epoll backend of the poller in host/os.h (Linux).
 *
 * A poller is an epoll set. One-shot interest is EPOLLONESHOT: a reported descriptor stays
 * in the set, disarmed, until plat_poller_add or plat_poller_rearm arms it again
 * (EPOLL_CTL_MOD) or it is removed or closed. Edge-triggered interest (EPOLLIN, EPOLLOUT and
 * EPOLLRDHUP with EPOLLET, as nginx watches its connections) stays armed, so a connection
 * parked again costs no call; listeners are level-triggered with
 * EPOLLEXCLUSIVE. The wakeup is a non-blocking pipe in the set, marked by the poller's own
 * address, so plat_poller_wakeup() is one write() and safe in a signal handler. Systems
 * without epoll use the portable backend, host/os_poll.c.
 */
#define _POSIX_C_SOURCE 200809L

#include "os.h"
#include "os_private.h"

#if PLAT_HAVE_EPOLL

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct plat_poller {
    plat__wake_t wake;
    int ep;
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
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = p;   /* the poller itself marks the wakeup pipe */
    if (p->ep < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, plat__wake_socket(&p->wake), &ev) != 0) {
        rc = plat__errno_code();
        if (p->ep >= 0)
            close(p->ep);
        plat__wake_close(&p->wake);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void plat_poller_destroy(plat_poller_t *p)
{
    if (!p)
        return;
    close(p->ep);
    plat__wake_close(&p->wake);
    free(p);
}

/* One epoll_ctl with op; when `fallback` is set and the socket already is (ADD) or is not
 * yet (MOD) in the set, the other operation. */
static int epoll_watch(plat_poller_t *p, int s, void *user, uint32_t events, int op,
                       int fallback)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = user;
    if (epoll_ctl(p->ep, op, s, &ev) == 0)
        return 0;
    int other = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int expected = op == EPOLL_CTL_ADD ? EEXIST : ENOENT;
    if (fallback && errno == expected && epoll_ctl(p->ep, other, s, &ev) == 0)
        return 0;
    return plat__errno_code();
}

int plat_poller_add_edge(plat_poller_t *p, plat_socket_t s, void *user)
{
    /* Why EPOLLRDHUP: bytes and the peer's close can arrive before one receive; the short
     * receive then looks like "drained", and without this report no new edge would come. */
    return epoll_watch(p, s, user, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, EPOLL_CTL_ADD, 0);
}

int plat_poller_add_writable(plat_poller_t *p, plat_socket_t s, void *user)
{
    return epoll_watch(p, s, user, EPOLLOUT | EPOLLONESHOT, EPOLL_CTL_ADD, 1);
}

int plat_poller_rearm(plat_poller_t *p, plat_socket_t s, void *user)
{
    return epoll_watch(p, s, user, EPOLLIN | EPOLLONESHOT, EPOLL_CTL_MOD, 1);
}

int plat_poller_add_persistent(plat_poller_t *p, plat_socket_t s, void *user)
{
    uint32_t events = EPOLLIN;
#if defined(EPOLLEXCLUSIVE)
    /* Why: every event loop watches the same listeners; a new connection then wakes one
     * of the waiting loops, not all of them. */
    events |= EPOLLEXCLUSIVE;
#endif
    return epoll_watch(p, s, user, events, EPOLL_CTL_ADD, 0);
}

int plat_poller_add(plat_poller_t *p, plat_socket_t s, void *user)
{
    /* A socket reported earlier is disarmed but still in the set: re-arm it. */
    return epoll_watch(p, s, user, EPOLLIN | EPOLLONESHOT, EPOLL_CTL_ADD, 1);
}

int plat_poller_remove(plat_poller_t *p, plat_socket_t s)
{
    struct epoll_event ev;   /* ignored, but kernels before 2.6.9 required it */
    memset(&ev, 0, sizeof ev);
    if (epoll_ctl(p->ep, EPOLL_CTL_DEL, s, &ev) != 0 && errno != ENOENT)
        return plat__errno_code();
    return 0;
}

int plat_poller_wait(plat_poller_t *p, int timeout_ms, plat_ready_t *ready, int max)
{
    struct epoll_event ev[64];
    if (max <= 0)
        return PLAT_EINVAL;
    int want = max < 63 ? max + 1 : 64;
    int n = epoll_wait(p->ep, ev, want, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return plat__poll_failure();
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == p) {
            plat__wake_drain(&p->wake);
        } else if (k < max) {
            uint32_t e = ev[i].events;
            ready[k].user = ev[i].data.ptr;
            ready[k++].events = ((e & EPOLLIN) ? PLAT_EV_READ : 0u)
                                | ((e & EPOLLOUT) ? PLAT_EV_WRITE : 0u)
                                | ((e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ? PLAT_EV_HUP : 0u);
        }
    }
    return k;
}

#endif
