/*
 * os_private.h - what the Windows platform files share among themselves (win32/ and
 * the portable poller, host/os_poll.c, which runs over WSAPoll here). POSIX has a header of
 * the same name in host/posix/; the build puts the platform's folder on the include path.
 * Not for core code.
 */
#ifndef ISAPIHOST_WIN32_OS_PRIVATE_H
#define ISAPIHOST_WIN32_OS_PRIVATE_H

#include "os.h"

#include <winsock2.h>
#include <ws2tcpip.h>

/* The length of a socket address (host/os_shared.c): Winsock takes an int. */
typedef int plat__socklen_t;

/* WSAPoll for the portable backend. */
typedef WSAPOLLFD plat__pollfd_t;
#define PLAT__POLLIN POLLRDNORM
#define PLAT__POLLOUT POLLWRNORM
#define PLAT__POLLHUP POLLHUP
#define PLAT__POLLERR POLLERR
static inline int plat__poll(plat__pollfd_t *fds, size_t n, int timeout_ms)
{
    return WSAPoll(fds, (ULONG)n, timeout_ms);
}

/* Windows has no epoll: the portable backend is the poller. */
#define PLAT__USE_POLL_BACKEND 1

/* A poller's wakeup: a connected loopback TCP pair (WSAPoll cannot watch a pipe); one byte
 * sent on w makes r readable. */
typedef struct plat__wake {
    SOCKET r, w;
} plat__wake_t;

#define plat__wake_socket(wk) ((wk)->r)

/* Opens the pair. Returns 0 or a PLAT_E* code. */
int plat__wake_open(plat__wake_t *wk);
void plat__wake_close(plat__wake_t *wk);
/* Reads away every pending wakeup (the waiting thread). */
void plat__wake_drain(plat__wake_t *wk);
/* Makes the read end readable (one send). Returns 0 or a PLAT_E* code. */
int plat__wake_signal(plat__wake_t *wk);

/* What a failed WSAPoll means for the waiter: the PLAT_E* code of WSAGetLastError(). */
int plat__poll_failure(void);

#endif
