/*
 * os_posix.c - host/os.h for POSIX systems (Linux first; any POSIX with poll()).
 *
 * Sockets are non-blocking at the OS level. Every call that may wait first tries the
 * operation, and on EAGAIN waits with poll() on that one descriptor for the time left, so
 * a worker thread blocks exactly as long as its timeout and no longer, and no socket
 * option (SO_RCVTIMEO) or signal is involved. EINTR is retried with the remaining time.
 *
 * The poller has two backends. With PLAT_HAVE_EPOLL it is an epoll set with EPOLLONESHOT:
 * a reported descriptor stays in the set, disarmed, until plat_poller_add re-arms it
 * (EPOLL_CTL_MOD) or it is removed or closed. Otherwise it is a pollfd array owned by the
 * waiting thread; other threads append to a small pending list under a mutex (and wake the
 * waiter if it is inside poll()), and the waiter merges the list before each poll(). Both
 * wake through a non-blocking pipe whose read end is watched like any socket, so
 * plat_poller_wakeup is one write() and is safe in a signal handler.
 *
 * Errors: every failure goes through fail(code, errno), which records the native value in
 * a thread-local for plat_strerror() and returns the PLAT_E* code from map_errno(), the one
 * errno-to-code table. Broken contracts (locking a destroyed mutex) abort().
 */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include "os.h"
#include "fmt.h"


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if PLAT_HAVE_ACCEPT4
/* glibc declares accept4() only under _GNU_SOURCE, which would also switch strerror_r to
 * its GNU form; the function itself is in every Linux libc. */
int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
#endif

#if PLAT_HAVE_EPOLL
#include <sys/epoll.h>
#endif
#if PLAT_HAVE_SENDFILE
#include <sys/sendfile.h>
#endif

#if defined(MSG_NOSIGNAL)
#define SEND_FLAGS MSG_NOSIGNAL   /* no SIGPIPE even if a filter restored its default action */
#else
#define SEND_FLAGS 0
#endif

/* ---- errors ------------------------------------------------------------------------- */

static _Thread_local int last_code;
static _Thread_local int last_native;

static int map_errno(int e)
{
    switch (e) {
    case 0: return PLAT_ERROR;
    case ETIMEDOUT: return PLAT_ETIMEDOUT;
    case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN: case ESHUTDOWN:
        return PLAT_ECONNRESET;
    case ECONNREFUSED: return PLAT_ECONNREFUSED;
    case EADDRINUSE: return PLAT_EADDRINUSE;
    case EADDRNOTAVAIL: return PLAT_EADDRNOTAVAIL;
    case EINVAL: case EBADF: case EAFNOSUPPORT: return PLAT_EINVAL;
    case ENOENT: case ENOTDIR: return PLAT_ENOENT;
    case EACCES: case EPERM: return PLAT_EACCES;
    case EISDIR: return PLAT_EISDIR;
    case ENOMEM: case ENOBUFS: return PLAT_ENOMEM;
    case EMFILE: case ENFILE: return PLAT_EMFILE;
    case ENAMETOOLONG: return PLAT_ENAMETOOLONG;
    case EIO: return PLAT_EIO;
    case ENOSYS: case EOPNOTSUPP: return PLAT_ENOTSUP;
    default: return PLAT_ERROR;
    }
}

static int fail(int code, int native)
{
    last_code = code;
    last_native = native;
    return code;
}

static int fail_errno(void)
{
    int e = errno;
    return fail(map_errno(e), e);
}

char *plat_strerror(int code, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (code < 0 && code == last_code && last_native != 0) {
        char text[256];
        if (strerror_r(last_native, text, sizeof text) != 0)
            snprintf(text, sizeof text, "%s", plat__code_text(code));
        snprintf(buf, len, "%s (errno %d)", text, last_native);
    } else {
        snprintf(buf, len, "%s", plat__code_text(code));
    }
    return buf;
}

int plat_last_native_error(void)
{
    return last_native;
}

/* ---- time --------------------------------------------------------------------------- */

uint64_t plat_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t plat_time_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void plat_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Deadline helpers: a timeout of -1 never expires. */
static uint64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : plat_time_mono_ms() + (uint64_t)timeout_ms;
}

static int time_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = plat_time_mono_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* ---- process ------------------------------------------------------------------------ */

typedef void (*shutdown_fn_t)(void *);
static _Atomic(shutdown_fn_t) shutdown_fn;
static _Atomic(void *) shutdown_arg;
static atomic_int shutdown_flag;

int plat_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return fail_errno();
    return 0;
}

void plat_cleanup(void)
{
}

uint32_t plat_process_id(void)
{
    return (uint32_t)getpid();
}

unsigned plat_cpu_count(void)
{
#if defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
#else
    return 1u;
#endif
}

static void on_shutdown_signal(int sig)
{
    int saved = errno;
    (void)sig;
    atomic_store(&shutdown_flag, 1);
    shutdown_fn_t fn = atomic_load(&shutdown_fn);
    if (fn)
        fn(atomic_load(&shutdown_arg));
    errno = saved;
}

int plat_shutdown_handler_set(void (*fn)(void *arg), void *arg)
{
    atomic_store(&shutdown_arg, arg);
    atomic_store(&shutdown_fn, fn);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_shutdown_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return fail_errno();
    return 0;
}

int plat_shutdown_requested(void)
{
    return atomic_load(&shutdown_flag);
}

int plat_shutdown_raise(void)
{
    if (kill(getpid(), SIGTERM) != 0)
        return fail_errno();
    return 0;
}

/* ---- sockets ------------------------------------------------------------------------ */

static int set_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return fail_errno();
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return fail_errno();
    return 0;
}

/* Waits for events on fd until deadline: 1 ready, 0 timed out, or an error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd = { fd, events, 0 };
        int r = poll(&pfd, 1, time_left(deadline));
        if (r > 0)
            return (pfd.revents & POLLNVAL) ? fail(PLAT_EINVAL, EBADF) : 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return fail_errno();
    }
}

/* Parses numeric address text ("::1", "[::1]", "127.0.0.1") plus port. */
static int parse_addr(const char *text, uint16_t port, int passive,
                      struct sockaddr_storage *ss, socklen_t *len)
{
    char host[PLAT_ADDRSTRLEN];
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof host)
        return fail(PLAT_EINVAL, EINVAL);
    memcpy(host, text, n);
    host[n] = '\0';
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
    if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
        return fail(PLAT_EINVAL, EINVAL);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        return fail(PLAT_EINVAL, EAFNOSUPPORT);
    return 0;
}

static void endpoint_from(const struct sockaddr_storage *ss, socklen_t len, plat_endpoint_t *ep)
{
    ep->addr[0] = '\0';
    ep->port = 0;
    /* IPv4 by hand, once per accepted connection: glibc's getnameinfo and inet_ntop both
     * go through sprintf, which cost more than the rest of an accept. getnameinfo for
     * IPv6, which also writes a link-local address's scope. */
    if (ss->ss_family == AF_INET) {
        const unsigned char *a =
            (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
        char *p = ep->addr;
        for (int i = 0; i < 4; i++) {
            if (i)
                *p++ = '.';
            p += host_fmt_u64(p, a[i]);
        }
        *p = '\0';
    } else if (getnameinfo((const struct sockaddr *)ss, len, ep->addr, sizeof ep->addr, NULL,
                           0, NI_NUMERICHOST) != 0) {
        ep->addr[0] = '\0';
    }
    if (ss->ss_family == AF_INET)
        ep->port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    else if (ss->ss_family == AF_INET6)
        ep->port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int local_endpoint(int fd, plat_endpoint_t *ep)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return fail_errno();
    endpoint_from(&ss, len, ep);
    return 0;
}

int plat_listen(const char *addr, uint16_t port, int backlog, plat_socket_t *out,
                uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = parse_addr(addr, port, 1, &ss, &len);
    if (rc != 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fail_errno();
    int one = 1;
    if ((rc = set_fd_flags(fd)) != 0)
        goto err;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto err_errno;
    if (ss.ss_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        goto err_errno;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0
        || listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0)
        goto err_errno;
    if (bound_port) {
        plat_endpoint_t ep;
        if ((rc = local_endpoint(fd, &ep)) != 0)
            goto err;
        *bound_port = ep.port;
    }
    *out = fd;
    return 0;
err_errno:
    rc = fail_errno();
err:
    close(fd);
    return rc;
}

int plat_accept(plat_socket_t ls, int timeout_ms, plat_socket_t *out, plat_endpoint_t *peer,
                plat_endpoint_t *local)
{
    uint64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
#if PLAT_HAVE_ACCEPT4
        /* The new socket comes non-blocking and close-on-exec: no fcntl calls after. */
        int fd = accept4(ls, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int rc = 0;
#else
        int fd = accept(ls, (struct sockaddr *)&ss, &len);
        int rc = fd >= 0 ? set_fd_flags(fd) : 0;
#endif
        if (fd >= 0) {
            if (rc == 0 && local)
                rc = local_endpoint(fd, local);
            if (rc != 0) {
                close(fd);
                return rc;
            }
            if (peer)
                endpoint_from(&ss, len, peer);
            *out = fd;
            return 0;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            if (timeout_ms == 0)
                return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
            int r = wait_fd(ls, POLLIN, deadline);
            if (r < 0)
                return r;
            if (r == 0)
                return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
            continue;
        }
#if defined(EPROTO)
        if (e == EPROTO)   /* some systems report an aborted handshake this way */
            return fail(PLAT_ECONNRESET, e);
#endif
        return fail(map_errno(e), e);
    }
}

int plat_sock_local(plat_socket_t s, plat_endpoint_t *out)
{
    return local_endpoint(s, out);
}

int plat_connect(const char *addr, uint16_t port, int timeout_ms, plat_socket_t *out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = parse_addr(addr, port, 0, &ss, &len);
    if (rc != 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fail_errno();
    if ((rc = set_fd_flags(fd)) != 0)
        goto err;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            rc = fail_errno();
            goto err;
        }
        rc = wait_fd(fd, POLLOUT, deadline_of(timeout_ms));
        if (rc == 0)
            rc = fail(PLAT_ETIMEDOUT, ETIMEDOUT);
        if (rc < 0)
            goto err;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            rc = fail_errno();
            goto err;
        }
        if (soerr != 0) {
            rc = fail(map_errno(soerr), soerr);
            goto err;
        }
    }
    *out = fd;
    return 0;
err:
    close(fd);
    return rc;
}

ptrdiff_t plat_sock_recv(plat_socket_t s, void *buf, size_t len, int timeout_ms)
{
    uint64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        ssize_t n = recv(s, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_errno();
        if (timeout_ms == 0)
            return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
        int r = wait_fd(s, POLLIN, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
    }
}

int plat_sock_send_all(plat_socket_t s, const void *buf, size_t len, int timeout_ms)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(s, p, len, SEND_FLAGS);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_errno();
        int r = wait_fd(s, POLLOUT, deadline_of(timeout_ms));
        if (r < 0)
            return r;
        if (r == 0)
            return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
    }
    return 0;
}

static int send_file_copy(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                          int timeout_ms)
{
    char buf[16384];
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ptrdiff_t n = plat_file_pread(f, buf, want, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return fail(PLAT_EIO, EIO);
        int rc = plat_sock_send_all(s, buf, (size_t)n, timeout_ms);
        if (rc != 0)
            return rc;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

int plat_sock_send_file(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                        int timeout_ms)
{
#if PLAT_HAVE_SENDFILE
    while (len > 0) {
        off_t o = (off_t)off;
        size_t chunk = len > (1u << 30) ? (size_t)1 << 30 : (size_t)len;
        ssize_t n = sendfile(s, f, &o, chunk);
        if (n > 0) {
            off += (uint64_t)n;
            len -= (uint64_t)n;
            continue;
        }
        if (n == 0)
            return fail(PLAT_EIO, EIO);
        if (errno == EINTR)
            continue;
        /* Some file systems cannot feed sendfile(); copying still works for them. */
        if (errno == EINVAL || errno == ENOSYS)
            return send_file_copy(s, f, off, len, timeout_ms);
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_errno();
        int r = wait_fd(s, POLLOUT, deadline_of(timeout_ms));
        if (r < 0)
            return r;
        if (r == 0)
            return fail(PLAT_ETIMEDOUT, ETIMEDOUT);
    }
    return 0;
#else
    return send_file_copy(s, f, off, len, timeout_ms);
#endif
}

int plat_sock_shutdown_write(plat_socket_t s)
{
    if (shutdown(s, SHUT_WR) != 0)
        return fail_errno();
    return 0;
}

int plat_sock_set_nodelay(plat_socket_t s, int on)
{
    int v = on ? 1 : 0;
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0)
        return fail_errno();
    return 0;
}

void plat_sock_close(plat_socket_t s)
{
    if (s != PLAT_INVALID_SOCKET)
        close(s);
}

/* ---- poller ------------------------------------------------------------------------- */

typedef struct pending {
    int fd;
    void *user;
    int persistent;
} pending_t;

struct plat_poller {
    int wake_r, wake_w;
#if PLAT_HAVE_EPOLL
    int ep;
#else
    plat_mutex_t lock;
    pending_t *pend;            /* added by any thread, merged by the waiter */
    size_t npend, pend_cap;
    int waiting;                /* the owner is in poll(): additions must wake it */
    struct pollfd *fds;         /* owner thread only; fds[0] is the wakeup pipe */
    void **users;
    unsigned char *keep;        /* 1: persistent (stays after being reported) */
    size_t n, cap;
#endif
};

static void drain_wakeup(plat_poller_t *p)
{
    char buf[64];
    while (read(p->wake_r, buf, sizeof buf) > 0)
        ;
}

int plat_poller_wakeup(plat_poller_t *p)
{
    /* No fail() here: this may run in a signal handler, where thread-locals are off-limits. */
    ssize_t n;
    do
        n = write(p->wake_w, "w", 1);
    while (n < 0 && errno == EINTR);
    return (n == 1 || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : PLAT_ERROR;
}

int plat_poller_create(plat_poller_t **out)
{
    plat_poller_t *p = calloc(1, sizeof *p);
    if (!p)
        return fail(PLAT_ENOMEM, ENOMEM);
    int pipefd[2], rc;
    if (pipe(pipefd) != 0) {
        rc = fail_errno();
        free(p);
        return rc;
    }
    p->wake_r = pipefd[0];
    p->wake_w = pipefd[1];
    if ((rc = set_fd_flags(p->wake_r)) != 0 || (rc = set_fd_flags(p->wake_w)) != 0)
        goto err;
#if PLAT_HAVE_EPOLL
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    if (p->ep < 0) {
        rc = fail_errno();
        goto err;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = p;   /* the poller itself marks the wakeup pipe */
    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, p->wake_r, &ev) != 0) {
        rc = fail_errno();
        close(p->ep);
        goto err;
    }
#else
    p->cap = 64;
    p->fds = malloc(p->cap * sizeof *p->fds);
    p->users = malloc(p->cap * sizeof *p->users);
    p->keep = malloc(p->cap);
    if (!p->fds || !p->users || !p->keep || plat_mutex_init(&p->lock) != 0) {
        free(p->fds);
        free(p->users);
        free(p->keep);
        rc = fail(PLAT_ENOMEM, ENOMEM);
        goto err;
    }
    p->fds[0] = (struct pollfd){ p->wake_r, POLLIN, 0 };
    p->users[0] = NULL;
    p->keep[0] = 1;
    p->n = 1;
#endif
    *out = p;
    return 0;
err:
    close(p->wake_r);
    close(p->wake_w);
    free(p);
    return rc;
}

void plat_poller_destroy(plat_poller_t *p)
{
    if (!p)
        return;
#if PLAT_HAVE_EPOLL
    close(p->ep);
#else
    plat_mutex_destroy(&p->lock);
    free(p->pend);
    free(p->fds);
    free(p->users);
    free(p->keep);
#endif
    close(p->wake_r);
    close(p->wake_w);
    free(p);
}

#if PLAT_HAVE_EPOLL

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
    return fail_errno();
}

int plat_poller_add_edge(plat_poller_t *p, plat_socket_t s, void *user)
{
    return epoll_watch(p, s, user, EPOLLIN | EPOLLET, EPOLL_CTL_ADD, 0);
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
        return fail_errno();
    return 0;
}

int plat_poller_wait(plat_poller_t *p, int timeout_ms, void **ready, int max)
{
    struct epoll_event ev[64];
    if (max <= 0)
        return fail(PLAT_EINVAL, EINVAL);
    int want = max < 63 ? max + 1 : 64;
    int n = epoll_wait(p->ep, ev, want, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : fail_errno();
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == p)
            drain_wakeup(p);
        else if (k < max)
            ready[k++] = ev[i].data.ptr;
    }
    return k;
}

#else /* poll() */

static int add_pending(plat_poller_t *p, plat_socket_t s, void *user, int persistent)
{
    plat_mutex_lock(&p->lock);
    if (p->npend == p->pend_cap) {
        size_t cap = p->pend_cap ? p->pend_cap * 2 : 16;
        pending_t *np = realloc(p->pend, cap * sizeof *np);
        if (!np) {
            plat_mutex_unlock(&p->lock);
            return fail(PLAT_ENOMEM, ENOMEM);
        }
        p->pend = np;
        p->pend_cap = cap;
    }
    p->pend[p->npend++] = (pending_t){ s, user, persistent };
    int wake = p->waiting;
    plat_mutex_unlock(&p->lock);
    return wake ? plat_poller_wakeup(p) : 0;
}

int plat_poller_add(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 0);
}

int plat_poller_add_persistent(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 1);
}

int plat_poller_rearm(plat_poller_t *p, plat_socket_t s, void *user)
{
    return add_pending(p, s, user, 0);
}

int plat_poller_add_edge(plat_poller_t *p, plat_socket_t s, void *user)
{
    (void)p;
    (void)s;
    (void)user;
    return fail(PLAT_ENOTSUP, ENOTSUP);
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
        if (p->pend[i].fd == s) {
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
        struct pollfd *nf = realloc(p->fds, cap * sizeof *nf);
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
            rc = fail(PLAT_ENOMEM, ENOMEM);
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < p->npend; i++) {
            p->fds[p->n] = (struct pollfd){ p->pend[i].fd, POLLIN, 0 };
            p->keep[p->n] = (unsigned char)p->pend[i].persistent;
            p->users[p->n++] = p->pend[i].user;
        }
        p->npend = 0;
        p->waiting = 1;
    }
    plat_mutex_unlock(&p->lock);
    return rc;
}

int plat_poller_wait(plat_poller_t *p, int timeout_ms, void **ready, int max)
{
    if (max <= 0)
        return fail(PLAT_EINVAL, EINVAL);
    int rc = merge_pending(p);
    if (rc != 0)
        return rc;
    int n = poll(p->fds, (nfds_t)p->n, timeout_ms < 0 ? -1 : timeout_ms);
    int e = errno;
    plat_mutex_lock(&p->lock);
    p->waiting = 0;
    plat_mutex_unlock(&p->lock);
    if (n < 0)
        return e == EINTR ? 0 : fail(map_errno(e), e);
    if (p->fds[0].revents)
        drain_wakeup(p);
    int k = 0;
    /* Walk backwards so remove_at() only moves entries already looked at. */
    for (size_t i = p->n - 1; i >= 1 && k < max; i--)
        if (p->fds[i].revents) {
            ready[k++] = p->users[i];
            if (!p->keep[i])
                remove_at(p, i);
        }
    return k;
}

#endif

/* ---- threads ------------------------------------------------------------------------ */

#if PLAT_WIN32_THREADS
/* The Winelib build starts every thread with CreateThread (host/os_winelib.c): a pthread
 * has no Wine thread block, and PE code it calls into crashes the whole process. */
int plat__win32_thread_start(void **handle, void (*fn)(void *arg), void *arg);
int plat__win32_thread_join(void *handle);
#endif

struct plat_thread {
#if PLAT_WIN32_THREADS
    void *handle;
#else
    pthread_t tid;
#endif
    void (*fn)(void *);
    void *arg;
};

#if !PLAT_WIN32_THREADS
static void *thread_main(void *a)
{
    plat_thread_t *t = a;
    t->fn(t->arg);
    return NULL;
}
#endif

int plat_thread_create(plat_thread_t **out, void (*fn)(void *arg), void *arg)
{
    plat_thread_t *t = malloc(sizeof *t);
    if (!t)
        return fail(PLAT_ENOMEM, ENOMEM);
    t->fn = fn;
    t->arg = arg;
#if PLAT_WIN32_THREADS
    int e = plat__win32_thread_start(&t->handle, fn, arg);
#else
    int e = pthread_create(&t->tid, NULL, thread_main, t);
#endif
    if (e != 0) {
        free(t);
        return fail(map_errno(e), e);
    }
    *out = t;
    return 0;
}

int plat_thread_join(plat_thread_t *t)
{
#if PLAT_WIN32_THREADS
    int e = plat__win32_thread_join(t->handle);
#else
    int e = pthread_join(t->tid, NULL);
#endif
    free(t);
    return e != 0 ? fail(map_errno(e), e) : 0;
}

int plat_mutex_init(plat_mutex_t *m)
{
    int e = pthread_mutex_init(m, NULL);
    return e != 0 ? fail(map_errno(e), e) : 0;
}

void plat_mutex_destroy(plat_mutex_t *m)
{
    pthread_mutex_destroy(m);
}

void plat_mutex_lock(plat_mutex_t *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
}

void plat_mutex_unlock(plat_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
}

int plat_cond_init(plat_cond_t *c)
{
    pthread_condattr_t attr;
    int e = pthread_condattr_init(&attr);
    if (e != 0)
        return fail(map_errno(e), e);
#if PLAT_HAVE_CONDATTR_SETCLOCK
    e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
    if (e == 0)
        e = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return e != 0 ? fail(map_errno(e), e) : 0;
}

void plat_cond_destroy(plat_cond_t *c)
{
    pthread_cond_destroy(c);
}

void plat_cond_signal(plat_cond_t *c)
{
    pthread_cond_signal(c);
}

void plat_cond_broadcast(plat_cond_t *c)
{
    pthread_cond_broadcast(c);
}

int plat_cond_wait(plat_cond_t *c, plat_mutex_t *m, int timeout_ms)
{
    if (timeout_ms < 0) {
        if (pthread_cond_wait(c, m) != 0)
            abort();
        return 0;
    }
    struct timespec ts;
#if PLAT_HAVE_CONDATTR_SETCLOCK
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    clock_gettime(CLOCK_REALTIME, &ts);
#endif
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int e = pthread_cond_timedwait(c, m, &ts);
    if (e == ETIMEDOUT)
        return PLAT_ETIMEDOUT;
    if (e != 0)
        abort();
    return 0;
}

/* ---- files and paths ---------------------------------------------------------------- */

static void info_from_stat(const struct stat *st, plat_file_info_t *info)
{
    info->exists = 1;
    info->is_directory = S_ISDIR(st->st_mode) ? 1 : 0;
    info->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
    info->mtime = (int64_t)st->st_mtime;
}

int plat_file_open(const char *path, plat_file_t *out, plat_file_info_t *info)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail_errno();
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = fail_errno();
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(PLAT_EISDIR, EISDIR);
    }
    if (info)
        info_from_stat(&st, info);
    *out = fd;
    return 0;
}

int plat_file_open_append(const char *path, plat_file_t *out)
{
    int fd;
    do
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail_errno();
    *out = fd;
    return 0;
}

int plat_file_append(plat_file_t f, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(f, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_errno();
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int plat_file_info(plat_file_t f, plat_file_info_t *info)
{
    struct stat st;
    if (fstat(f, &st) != 0)
        return fail_errno();
    info_from_stat(&st, info);
    return 0;
}

int plat_file_stat(const char *path, plat_file_info_t *info)
{
    struct stat st;
    memset(info, 0, sizeof *info);
    if (stat(path, &st) != 0)
        return (errno == ENOENT || errno == ENOTDIR) ? 0 : fail_errno();
    info_from_stat(&st, info);
    return 0;
}

ptrdiff_t plat_file_pread(plat_file_t f, void *buf, size_t len, uint64_t off)
{
    if (off > (uint64_t)INT64_MAX)
        return 0;
    for (;;) {
        ssize_t n = pread(f, buf, len, (off_t)off);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return fail_errno();
    }
}

void plat_file_close(plat_file_t f)
{
    if (f != PLAT_INVALID_FILE)
        close(f);
}

int plat__path_segment_ok(const char *seg, size_t n)
{
    return !(n == 2 && seg[0] == '.' && seg[1] == '.');
}

int plat_path_is_absolute(const char *path)
{
    return path[0] == '/';
}

int plat_path_dirname(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    const char *dir = ".";
    size_t n = 1;
    if (slash) {
        dir = path;
        n = (size_t)(slash - path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        if (n == 0)
            n = 1;   /* "/x" -> "/" */
    }
    if (n + 1 > outlen)
        return fail(PLAT_ENAMETOOLONG, ENAMETOOLONG);
    memcpy(out, dir, n);
    out[n] = '\0';
    return (int)n;
}
