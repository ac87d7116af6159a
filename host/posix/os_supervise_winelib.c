/*
 * os_supervise_winelib.c - crash handling and overlapped reload in the Winelib build (see
 * supervise.h).
 *
 * The native supervisor forks a serving child; inside a Wine process that is unsafe (the
 * child would share the parent's wineserver connection and thread state), and the native
 * crash handlers for SIGSEGV and friends would pre-empt Wine's exception dispatch. So:
 *   - every filter call is guarded in-process (isapi/guard_winelib.c): a filter fault fails
 *     that request only, the process keeps serving;
 *   - a fault outside any guard reaches the last-chance handler installed here
 *     (SetUnhandledExceptionFilter), which writes one line naming the exception and the
 *     filter call in progress, then ends the process with HOST_EXIT_CRASHED;
 *   - the supervisor is a plain Linux parent, the launcher win32/isapihost-wine, which
 *     starts the Wine process with fork+exec and starts it again after that exit status.
 * No signal handler is installed for faults here.
 *
 * Overlapped reload (SIGHUP to the launcher), the way HAProxy hands its listeners over:
 * the launcher names a Unix socket in a private folder for each serving process it starts
 * (ISAPIHOST_HANDOVER). Once the process serves, it answers there one client at a time:
 * it sends its listening descriptors (SCM_RIGHTS), and when the client writes "ready" it
 * retires (host_supervise_on_retire's callback) and answers no more. A process started
 * with ISAPIHOST_TAKE_OVER = the old process's socket takes the listeners from there
 * (host_supervise_inherited_listeners) instead of opening them, and writes "ready" once it
 * serves (host_supervise_ready). The old process accepts until then, and the kernel's
 * accept queue belongs to the shared socket, so no connection is dropped in between. A
 * new process that ends before it serves closes its connection without "ready": the old
 * one serves on and answers the next client.
 */
/* SO_PEERCRED, struct ucred, accept4 and MSG_CMSG_CLOEXEC are Linux's. */
#define _GNU_SOURCE
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "supervise.h"
#include "config.h"
#include "os_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2 };   /* host/log.h's levels */

static int crash_fd = -1;
static size_t (*describe_call)(char *buf, size_t len);
static const host_supervise_opts_t *opts_in_use;

static LONG WINAPI last_chance(EXCEPTION_POINTERS *ep)
{
    char line[1024], call[700];
    const EXCEPTION_RECORD *rec = ep->ExceptionRecord;
    int n = snprintf(line, sizeof line, "isapihost error: unhandled exception 0x%08lx at %p ",
                     (unsigned long)rec->ExceptionCode, rec->ExceptionAddress);
    if (describe_call && describe_call(call, sizeof call) > 0)
        n += snprintf(line + n, sizeof line - (size_t)n, "in %s", call);
    else
        n += snprintf(line + n, sizeof line - (size_t)n, "outside any filter call");
    n += snprintf(line + n, sizeof line - (size_t)n,
                  "; the serving process ends and the supervisor restarts it\n");
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    if (crash_fd >= 0 && write(crash_fd, line, (size_t)n) < 0)
        crash_fd = -1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        n = 0;
    /* Why not return EXCEPTION_CONTINUE_SEARCH: Wine would start its debugger (winedbg),
     * dump registers and exit with status 0, which the launcher could not tell from a
     * graceful stop. */
    _exit(HOST_EXIT_CRASHED);
}

/* One error-log line through the host's callback (os_shared.h). */
#define say(level, ...) plat__supervise_say(opts_in_use, (level), __VA_ARGS__)

/* ---- the handover socket ---------------------------------------------------------- */

static int handover_listen_fd = -1;       /* ISAPIHOST_HANDOVER, bound at the start */
static char handover_path[sizeof ((struct sockaddr_un *)0)->sun_path];
static int take_over_fd = -1;             /* the connection to the process replaced */
static long replaced_pid;
static void (*volatile retire_fn)(void *arg);
static void *volatile retire_arg;

enum { HANDOVER_MAX_FDS = HOST_MAX_LISTENERS + 1 };   /* the listeners and the admin one */
static const char ready_word[] = "ready\n";

static int unix_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return -1;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Binds the handover socket at the start, so that a reload right after it finds the
 * socket: a client's connect then waits in its backlog until this process serves and
 * accepts it. */
static void handover_bind(void)
{
    const char *path = getenv("ISAPIHOST_HANDOVER");
    struct sockaddr_un sa;
    if (!path || !path[0])
        return;
    if (unix_address(path, &sa) != 0) {
        say(LOG_ERROR, "handover socket %s: path too long; no reload for this process", path);
        return;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        say(LOG_ERROR, "handover socket: %s; no reload for this process", strerror(errno));
        return;
    }
    unlink(path);   /* a file an earlier process left at that name */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0) {
        say(LOG_ERROR, "handover socket %s: %s; no reload for this process", path,
            strerror(errno));
        close(fd);
        return;
    }
    snprintf(handover_path, sizeof handover_path, "%s", path);
    handover_listen_fd = fd;
}

/* Sends every listening descriptor to the client as one message. */
static int send_listeners(int client)
{
    const host_supervise_opts_t *o = opts_in_use;
    int fds[HANDOVER_MAX_FDS];
    size_t n = 0;
    for (size_t i = 0; i < o->nlisteners && n < HOST_MAX_LISTENERS; i++)
        fds[n++] = o->listeners[i];
    if (o->has_admin_listener)
        fds[n++] = o->admin_listener;
    union {
        char buf[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    unsigned char count = (unsigned char)n;
    struct iovec iov = { &count, 1 };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    ssize_t sent;
    do
        sent = sendmsg(client, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

/* Reads until "ready" (1) or the client goes away without it (0). */
static int client_says_ready(int client)
{
    char got[sizeof ready_word];
    size_t have = 0;
    while (have < sizeof ready_word - 1) {
        ssize_t n = read(client, got + have, sizeof ready_word - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    return memcmp(got, ready_word, sizeof ready_word - 1) == 0;
}

/* The handover thread: started through plat_thread_create, so it is a Wine thread
 * (CreateThread); it calls no filter code itself, and the retire callback
 * (host_server_retire) only sets flags and wakes the event loops. */
static void answer_handovers(void *arg)
{
    (void)arg;
    for (;;) {
        int client = accept4(handover_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            say(LOG_ERROR, "handover socket: accept: %s; no reload for this process",
                strerror(errno));
            return;
        }
        struct ucred peer = { 0, 0, 0 };
        socklen_t len = sizeof peer;
        /* Why check the account: the folder is the launcher's (mode 0700), but a socket
         * that hands listening descriptors out must not serve another account anyway. */
        if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0
            || peer.uid != geteuid() || send_listeners(client) != 0) {
            close(client);
            continue;
        }
        if (!client_says_ready(client)) {
            /* It ended before it served (a bad configuration, a filter that did not
             * load): this process serves on. */
            close(client);
            continue;
        }
        /* Why the socket goes first: the launcher tells a process that retired (no
         * socket left) from one that ended before it could (its socket is still there). */
        unlink(handover_path);
        close(handover_listen_fd);
        handover_listen_fd = -1;
        void (*fn)(void *) = retire_fn;
        if (fn)
            fn(retire_arg);
        close(client);
        return;
    }
}

int host_supervise_inherited_listeners(plat_socket_t *socks, size_t max, char *err,
                                       size_t errlen)
{
    const char *path = getenv("ISAPIHOST_TAKE_OVER");
    struct sockaddr_un sa;
    if (!path || !path[0])
        return 0;
    if (unix_address(path, &sa) != 0) {
        snprintf(err, errlen, "ISAPIHOST_TAKE_OVER: path too long");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "take-over: socket: %s", strerror(errno));
        return -1;
    }
    /* Why wait for it: the process replaced binds its socket as it starts; a reload sent
     * during its start finds no socket yet. */
    int rc = -1;
    for (int tries = 0; tries < 600; tries++) {
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        if (rc == 0 || (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR))
            break;
        plat_sleep_ms(100);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot take the listeners over from the serving process "
                 "(%s: %s)", path, strerror(errno));
        close(fd);
        return -1;
    }
    struct ucred peer = { 0, 0, 0 };
    socklen_t len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0)
        replaced_pid = (long)peer.pid;
    union {
        char buf[CMSG_SPACE(HANDOVER_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    unsigned char count = 0;
    struct iovec iov = { &count, 1 };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    /* It answers once it serves: a process still starting keeps this one waiting. */
    ssize_t got;
    do
        got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    size_t n = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); got == 1 && cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            const unsigned char *data = CMSG_DATA(cm);
            for (size_t i = 0; i < k; i++) {
                int one;
                memcpy(&one, data + i * sizeof(int), sizeof one);
                if (n < max)
                    socks[n++] = one;
                else
                    close(one);
            }
        }
    if (got != 1 || (size_t)count != n || (msg.msg_flags & MSG_CTRUNC)
        || n == 0) {
        for (size_t i = 0; i < n; i++)
            close(socks[i]);
        snprintf(err, errlen, "cannot take the listeners over from the serving process "
                 "(%s: %s)", path, got < 0 ? strerror(errno) : "no listeners received");
        close(fd);
        return -1;
    }
    take_over_fd = fd;
    return (int)n;
}

int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *opts)
{
    /* Restarts are counted by the launcher, which restarts the process. */
    const char *crash_log = opts->crash_log;
    opts_in_use = opts;
    describe_call = opts->describe_call;
    if (crash_log && crash_log[0] && strcmp(crash_log, "-") != 0)
        crash_fd = open(crash_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    SetUnhandledExceptionFilter(last_chance);
    handover_bind();
    return serve(arg);
}

void host_supervise_ready(void)
{
    if (take_over_fd >= 0) {
        /* Why only now: as IIS's overlapped recycling does, the old process serves until
         * this one does; from here both accept on the same sockets until it retires. */
        ssize_t n;
        do
            n = send(take_over_fd, ready_word, sizeof ready_word - 1, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)(sizeof ready_word - 1))
            say(LOG_INFO, "reload: serving process %ld takes over; %ld retires (it finishes "
                "its requests, then TerminateFilter)", (long)getpid(), replaced_pid);
        else
            say(LOG_ERROR, "reload: cannot tell serving process %ld to retire: %s",
                replaced_pid, strerror(errno));
        close(take_over_fd);
        take_over_fd = -1;
    }
    plat_thread_t *t;
    if (handover_listen_fd >= 0 && plat_thread_create(&t, answer_handovers, NULL) != 0)
        say(LOG_ERROR, "cannot start the handover thread; no reload for this process");
}

int host_supervise_on_retire(void (*fn)(void *arg), void *arg)
{
    retire_arg = arg;
    retire_fn = fn;
    return handover_listen_fd >= 0 ? 0 : -1;
}
