/*
 * os_posix.c - host/os.h for POSIX systems (Linux first; any POSIX with poll()): errors,
 * time, signals, sockets, threads and files.
 *
 * Sockets are non-blocking at the OS level. Every call that may wait first tries the
 * operation, and on EAGAIN waits with poll() on that one descriptor for the time left, so
 * a worker thread blocks exactly as long as its timeout and no longer, and no socket
 * option (SO_RCVTIMEO) or signal is involved. EINTR is retried with the remaining time.
 *
 * The poller lives in its own files: host/posix/poller_epoll.c (epoll, Linux) and the
 * portable poll() backend host/os_poll.c, which Windows shares; this file gives them the
 * wakeup pipe (os_private.h).
 *
 * Errors: map_errno() is the one errno-to-code table. An errno it does not name is
 * returned with its value inside the code (plat__native_code), so plat_strerror() can
 * give the OS's text later without any per-thread "last error" state. Broken contracts
 * (locking a destroyed mutex) abort().
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700   /* realpath() */
#define _FILE_OFFSET_BITS 64

#include "os.h"
#include "os_private.h"
#include "os_shared.h"
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
#include <sys/mman.h>
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

#if PLAT_HAVE_SENDFILE
#include <sys/sendfile.h>
#endif

#if PLAT_HAVE_MALLOC_ARENA_MAX
#include <malloc.h>
#endif

#if PLAT_HAVE_OPENAT2
#include <linux/openat2.h>
#include <sys/syscall.h>
/* glibc declares syscall() only under _DEFAULT_SOURCE (see accept4 above). */
long syscall(long number, ...);
#endif

#if defined(MSG_NOSIGNAL)
#define SEND_FLAGS MSG_NOSIGNAL   /* no SIGPIPE even if a filter restored its default action */
#else
#define SEND_FLAGS 0
#endif

/* ---- errors ------------------------------------------------------------------------- */

static int map_errno(int e)
{
    switch (e) {
    case ETIMEDOUT: return PLAT_ETIMEDOUT;
    case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN: case ESHUTDOWN:
        return PLAT_ECONNRESET;
    case ECONNREFUSED: return PLAT_ECONNREFUSED;
    case EADDRINUSE: return PLAT_EADDRINUSE;
    case EADDRNOTAVAIL: return PLAT_EADDRNOTAVAIL;
    case EINVAL: case EBADF: case EAFNOSUPPORT: return PLAT_EINVAL;
    case ENOENT: case ENOTDIR: case ELOOP: return PLAT_ENOENT;   /* ELOOP: a link cycle */
    case EACCES: case EPERM: return PLAT_EACCES;
    case EISDIR: return PLAT_EISDIR;
    case ENOMEM: case ENOBUFS: return PLAT_ENOMEM;
    case EMFILE: case ENFILE: return PLAT_EMFILE;
    case ENAMETOOLONG: return PLAT_ENAMETOOLONG;
    case EIO: return PLAT_EIO;
    case ENOSYS: case EOPNOTSUPP: return PLAT_ENOTSUP;
    default: return plat__native_code(e);
    }
}

int plat__errno_code(void)
{
    return map_errno(errno);
}

#define fail_errno plat__errno_code

char *plat_strerror(int code, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    int native = plat__native_of(code);
    char text[256];
    if (native && strerror_r(native, text, sizeof text) == 0)
        snprintf(buf, len, "%s (errno %d)", text, native);
    else
        snprintf(buf, len, "%s", plat__code_text(code));
    return buf;
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

/* ---- process ------------------------------------------------------------------------ */

typedef void (*shutdown_fn_t)(void *);
static _Atomic(shutdown_fn_t) shutdown_fn;
static _Atomic(void *) shutdown_arg;
static atomic_int shutdown_flag;

int plat_init(void)
{
#if PLAT_HAVE_MALLOC_ARENA_MAX
    /* Why: glibc gives threads up to 8 malloc arenas per processor, and each keeps the
     * freed memory of its busiest moment. With 16 workers and the event loops that made
     * the resident size of a soak with the sample filters climb for minutes (6.9 to 13.3
     * MB in 10 minutes; no block was leaked: docs/robustness.md, "Memory under a soak").
     * Only as many threads run at once as there are processors (--concurrency), so one
     * arena each is enough. An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins. */
    if (!getenv("MALLOC_ARENA_MAX") && !getenv("GLIBC_TUNABLES"))
        mallopt(M_ARENA_MAX, (int)plat_cpu_count());
#endif
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

/* The reopen count lives in one shared page (mapped from /dev/zero, which POSIX allows
 * without MAP_ANONYMOUS) so the supervisor and its serving child, forked later, count
 * together: `kill -USR1 <main pid>` reaches the child's log writer too. */
static _Atomic unsigned *reopen_count;

static void on_reopen_signal(int sig)
{
    (void)sig;
    if (reopen_count)
        atomic_fetch_add(reopen_count, 1u);
}

int plat_reopen_signal_install(void)
{
    if (!reopen_count) {
        int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return fail_errno();
        void *page = mmap(NULL, sizeof *reopen_count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        int saved = errno;
        close(fd);
        if (page == MAP_FAILED)
            return plat__native_code(saved);
        reopen_count = page;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_reopen_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return fail_errno();
    return 0;
}

unsigned plat_reopen_generation(void)
{
    return reopen_count ? atomic_load(reopen_count) : 0u;
}

int plat_shutdown_requested(void)
{
    return atomic_load(&shutdown_flag);
}

int plat_request_recycle(void)
{
    /* Only a supervisor understands SIGUSR2: host/posix/os_supervise_posix.c's, and in the
     * Winelib build the launcher win32/isapihost-wine. Each names itself to its serving
     * process (another parent, e.g. a shell, would just die of it). */
    const char *sup = getenv("ISAPIHOST_SUPERVISOR_PID");
    if (!sup || atol(sup) != (long)getppid())
        return PLAT_ENOTSUP;
    return kill(getppid(), SIGUSR2) == 0 ? 0 : fail_errno();
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
        int r = poll(&pfd, 1, plat__time_left(deadline));
        if (r > 0)
            return (pfd.revents & POLLNVAL) ? PLAT_EINVAL : 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return fail_errno();
    }
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
    int rc = plat__parse_addr(addr, port, 1, &ss, &len);
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
    uint64_t deadline = plat__deadline_of(timeout_ms);
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
                return PLAT_ETIMEDOUT;
            int r = wait_fd(ls, POLLIN, deadline);
            if (r < 0)
                return r;
            if (r == 0)
                return PLAT_ETIMEDOUT;
            continue;
        }
#if defined(EPROTO)
        if (e == EPROTO)   /* some systems report an aborted handshake this way */
            return PLAT_ECONNRESET;
#endif
        return map_errno(e);
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
    int rc = plat__parse_addr(addr, port, 0, &ss, &len);
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
        rc = wait_fd(fd, POLLOUT, plat__deadline_of(timeout_ms));
        if (rc == 0)
            rc = PLAT_ETIMEDOUT;
        if (rc < 0)
            goto err;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            rc = fail_errno();
            goto err;
        }
        if (soerr != 0) {
            rc = map_errno(soerr);
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
    uint64_t deadline = plat__deadline_of(timeout_ms);
    for (;;) {
        ssize_t n = recv(s, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_errno();
        if (timeout_ms == 0)
            return PLAT_ETIMEDOUT;
        int r = wait_fd(s, POLLIN, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return PLAT_ETIMEDOUT;
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
        int r = wait_fd(s, POLLOUT, plat__deadline_of(timeout_ms));
        if (r < 0)
            return r;
        if (r == 0)
            return PLAT_ETIMEDOUT;
    }
    return 0;
}

ptrdiff_t plat_sock_send_some(plat_socket_t s, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(s, buf, len, SEND_FLAGS);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return fail_errno();
    }
}

ptrdiff_t plat_sock_send_file_some(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len)
{
#if PLAT_HAVE_SENDFILE
    for (;;) {
        off_t o = (off_t)off;
        size_t chunk = len > (1u << 30) ? (size_t)1 << 30 : (size_t)len;
        ssize_t n = sendfile(s, f, &o, chunk);
        if (n > 0)
            return n;
        if (n == 0)
            return len == 0 ? 0 : PLAT_EIO;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return fail_errno();
    }
#else
    (void)s;
    (void)f;
    (void)off;
    (void)len;
    return PLAT_ENOTSUP;
#endif
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
            return PLAT_EIO;
        if (errno == EINTR)
            continue;
        /* Some file systems cannot feed sendfile(); copying still works for them. */
        if (errno == EINVAL || errno == ENOSYS)
            return plat__send_file_copy(s, f, off, len, timeout_ms);
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_errno();
        int r = wait_fd(s, POLLOUT, plat__deadline_of(timeout_ms));
        if (r < 0)
            return r;
        if (r == 0)
            return PLAT_ETIMEDOUT;
    }
    return 0;
#else
    return plat__send_file_copy(s, f, off, len, timeout_ms);
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

/* ---- the pollers' wakeup (host/posix/poller_epoll.c, host/os_poll.c) ---------------- */

int plat__wake_open(plat__wake_t *wk)
{
    int pipefd[2], rc;
    if (pipe(pipefd) != 0)
        return fail_errno();
    if ((rc = set_fd_flags(pipefd[0])) != 0 || (rc = set_fd_flags(pipefd[1])) != 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return rc;
    }
    wk->r = pipefd[0];
    wk->w = pipefd[1];
    return 0;
}

void plat__wake_close(plat__wake_t *wk)
{
    close(wk->r);
    close(wk->w);
}

void plat__wake_drain(plat__wake_t *wk)
{
    char buf[64];
    while (read(wk->r, buf, sizeof buf) > 0)
        ;
}

int plat__wake_signal(plat__wake_t *wk)
{
    ssize_t n;
    do
        n = write(wk->w, "w", 1);
    while (n < 0 && errno == EINTR);
    return (n == 1 || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : PLAT_ERROR;
}

int plat__poll_failure(void)
{
    return errno == EINTR ? 0 : fail_errno();
}

/* ---- threads ------------------------------------------------------------------------ */

#if PLAT_WIN32_THREADS
/* The Winelib build starts every thread with CreateThread (host/posix/os_winelib.c): a pthread
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
        return PLAT_ENOMEM;
    t->fn = fn;
    t->arg = arg;
#if PLAT_WIN32_THREADS
    int e = plat__win32_thread_start(&t->handle, fn, arg);
#else
    int e = pthread_create(&t->tid, NULL, thread_main, t);
#endif
    if (e != 0) {
        free(t);
        return map_errno(e);
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
    return e != 0 ? map_errno(e) : 0;
}

int plat_mutex_init(plat_mutex_t *m)
{
    int e = pthread_mutex_init(m, NULL);
    return e != 0 ? map_errno(e) : 0;
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
        return map_errno(e);
#if PLAT_HAVE_CONDATTR_SETCLOCK
    e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
    if (e == 0)
        e = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return e != 0 ? map_errno(e) : 0;
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
        return PLAT_EISDIR;
    }
    if (info)
        info_from_stat(&st, info);
    *out = fd;
    return 0;
}

int plat_path_real(const char *path, char *out, size_t outlen)
{
    char *real = realpath(path, NULL);
    if (!real)
        return fail_errno();
    size_t n = strlen(real);
    if (n + 1 > outlen) {
        free(real);
        return PLAT_ENAMETOOLONG;
    }
    memcpy(out, real, n + 1);
    free(real);
    return (int)n;
}

/* The real path of the file open as fd (opened by the name `path`, whose status is *st).
 * Linux tells it for the descriptor itself (/proc/self/fd); elsewhere, or without /proc,
 * realpath(path) counts only if it names the same device and inode as fd. */
static int fd_real_path(int fd, const char *path, const struct stat *st, char *out,
                        size_t outlen)
{
    char link[48];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, outlen);
    if (n > 0 && (size_t)n < outlen && out[0] == '/') {
        out[n] = '\0';
        return 0;
    }
    if (n >= 0 && (size_t)n >= outlen)
        return PLAT_ENAMETOOLONG;
    char *real = realpath(path, NULL);
    if (!real)
        return fail_errno();
    struct stat again;
    int same = stat(real, &again) == 0 && again.st_dev == st->st_dev
               && again.st_ino == st->st_ino;
    size_t len = strlen(real);
    if (same && len < outlen)
        memcpy(out, real, len + 1);
    free(real);
    if (!same)
        return PLAT_EOUTSIDE;   /* swapped while we looked: refuse */
    return len < outlen ? 0 : PLAT_ENAMETOOLONG;
}

#if PLAT_HAVE_OPENAT2
/* Set once the kernel (or a seccomp policy in front of it) refuses openat2 itself. */
static atomic_int openat2_unavailable;

/* An absolute path with no "." or ".." segment: resolved without following any link, the
 * file the kernel finds is the one the text names, so the text is its real path. */
static int is_plain_absolute(const char *path)
{
    if (path[0] != '/')
        return 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = 0;
        while (p[n] && p[n] != '/')
            n++;
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
    }
    return 1;
}

/* Opens `path` for reading if no component of it is a symbolic link: a descriptor, or -1
 * with errno (ELOOP when there is a link on the way). */
static int open_following_no_link(const char *path)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd;
    do
        fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return (int)fd;
}
#endif

int plat_file_open_within(const char *path, size_t root_len, const char *within,
                          plat_links_t links, plat_file_t *out, plat_file_info_t *info)
{
    if (links == PLAT_LINKS_ALWAYS)
        return plat_file_open(path, out, info);
    const char *rest = links == PLAT_LINKS_NEVER && root_len ? path + root_len : NULL;
    int fd = -1;
    struct stat st;
    char real[PATH_MAX + 1];
    int rc = -1;
#if PLAT_HAVE_OPENAT2
    /* The common case in one system call: a path that passes no link is its own real
     * path, so the containment check reads the text and /proc is not asked. A link on the
     * way (ELOOP), or a kernel without openat2, takes the general path below. */
    if (!atomic_load_explicit(&openat2_unavailable, memory_order_relaxed)
        && is_plain_absolute(path)) {
        fd = open_following_no_link(path);
        if (fd >= 0) {
            rc = fstat(fd, &st) != 0 ? fail_errno()
                 : plat__path_within(path, within, rest) ? 0 : PLAT_EOUTSIDE;
        } else if (errno == ENOENT || errno == ENOTDIR) {
            return fail_errno();   /* every component so far was a plain folder */
        } else if (errno == ENOSYS || errno == EPERM || errno == EINVAL || errno == E2BIG) {
            atomic_store_explicit(&openat2_unavailable, 1, memory_order_relaxed);
        }
    }
#endif
    if (fd < 0) {
        do
            fd = open(path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return fail_errno();
        rc = fstat(fd, &st) != 0 ? fail_errno() : fd_real_path(fd, path, &st, real, sizeof real);
        if (rc == 0 && !plat__path_within(real, within, rest))
            rc = PLAT_EOUTSIDE;
    }
    if (rc == 0 && S_ISDIR(st.st_mode))
        rc = PLAT_EISDIR;
    if (rc != 0) {
        close(fd);
        return rc;
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
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail_errno();
    *out = fd;
    return 0;
}

/* dup2 swaps the open file behind the descriptor in one step: a write() already running
 * holds its own reference to the old file and finishes there, every later one goes to the
 * new file, and no thread ever sees a closed or reused descriptor. */
int plat_file_reopen_append(plat_file_t *f, const char *path, const void *head,
                            size_t head_len)
{
    plat_file_t fresh = PLAT_INVALID_FILE;
    int rc = plat_file_open_append(path, &fresh);
    if (rc != 0)
        return rc;
    if (head_len > 0 && (rc = plat_file_append(fresh, head, head_len)) != 0) {
        close(fresh);
        return rc;
    }
    int r;
    do
        r = dup2(fresh, *f);
    while (r < 0 && errno == EINTR);
    rc = r < 0 ? fail_errno() : 0;
    if (rc == 0)
        fcntl(*f, F_SETFD, FD_CLOEXEC);   /* dup2 clears it; the server never execs */
    close(fresh);
    return rc;
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
        return PLAT_ENAMETOOLONG;
    memcpy(out, dir, n);
    out[n] = '\0';
    return (int)n;
}
