/*
 * os_private.h - what the POSIX platform files share among themselves (host/posix/ and
 * the portable poll() backend, host/os_poll.c). Windows has a header of the same name in
 * win32/; the build puts the platform's folder on the include path, so each file includes
 * "os_private.h" and gets its own OS's (nginx's include-path trick). Not for core code.
 */
#ifndef ISAPIHOST_POSIX_OS_PRIVATE_H
#define ISAPIHOST_POSIX_OS_PRIVATE_H

#include "os.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* The length of a socket address (host/os_shared.c). */
typedef socklen_t plat__socklen_t;

/* poll() for the portable backend. */
typedef struct pollfd plat__pollfd_t;
#define PLAT__POLLIN POLLIN
#define PLAT__POLLOUT POLLOUT
#define PLAT__POLLHUP POLLHUP
#define PLAT__POLLERR POLLERR
static inline int plat__poll(plat__pollfd_t *fds, size_t n, int timeout_ms)
{
    return poll(fds, (nfds_t)n, timeout_ms);
}

/* The portable backend serves where epoll is missing (or forced off by the build). */
#define PLAT__USE_POLL_BACKEND (!PLAT_HAVE_EPOLL)

/* A poller's wakeup: a non-blocking pipe; its read end is watched like a socket. */
typedef struct plat__wake {
    int r, w;
} plat__wake_t;

#define plat__wake_socket(wk) ((wk)->r)

/* Opens the pair. Returns 0 or a PLAT_E* code. */
int plat__wake_open(plat__wake_t *wk);
void plat__wake_close(plat__wake_t *wk);
/* Reads away every pending wakeup (the waiting thread). */
void plat__wake_drain(plat__wake_t *wk);
/* Makes the read end readable: one write(), async-signal-safe. Returns 0 or PLAT_ERROR. */
int plat__wake_signal(plat__wake_t *wk);

/* The PLAT_E* code for errno as a failing call left it. */
int plat__errno_code(void);

/* What a failed poll() means for the waiter: 0 for an interrupted wait (report nothing),
 * else the PLAT_E* code of errno. */
int plat__poll_failure(void);

#endif
