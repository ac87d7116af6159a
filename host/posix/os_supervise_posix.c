/*
 * os_supervise_posix.c - the supervisor process on POSIX (see supervise.h).
 *
 * The parent forks the serving child and waits for it. SIGINT and SIGTERM reaching the
 * parent are forwarded to the child as SIGTERM, which shuts down gracefully. When the
 * child dies from a signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, ...) the parent logs
 * the signal and forks a new child, at once after a first crash and after a doubling
 * back-off after the next ones; the child's own crash handler has already written which
 * filter and which notification were running (isapi/guard_posix.c). Crashes are counted in
 * a sliding window: rapid_fail_max of them stop the restarts, and the supervisor answers
 * 503 on the listening sockets it keeps, until the window passes or SIGHUP asks for a new
 * serving process (IIS's rapid-fail protection, which also keeps answering).
 *
 * In the child, a handler for the fatal signals writes one line naming the signal and the
 * filter call in progress on the faulting thread (the describe_call the host hands in, which is
 * async-signal-safe) to the error log and standard error with write(2) only, then lets the
 * signal end the process with its default action.
 */
#define _POSIX_C_SOURCE 200809L
#include "supervise.h"
#include "config.h"
#include "os.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int crash_fd = -1;
static size_t (*describe_call)(char *buf, size_t len);
static const host_supervise_opts_t *opts_in_use;

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2 };   /* host/log.h's levels */

/* One error-log line through the host's callback. */
static void say(int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (opts_in_use && opts_in_use->log)
        opts_in_use->log(level, line);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS:  return "SIGBUS (bus error)";
    case SIGFPE:  return "SIGFPE (arithmetic fault)";
    case SIGILL:  return "SIGILL (illegal instruction)";
    case SIGABRT: return "SIGABRT (abort)";
    default:      return "a fatal signal";
    }
}

static size_t put(char *buf, size_t len, size_t at, const char *text)
{
    while (*text && at + 1 < len)
        buf[at++] = *text++;
    return at;
}

static void on_fatal_signal(int sig)
{
    char line[1024], call[700];
    size_t n = put(line, sizeof line, 0, "isapihost error: ");
    n = put(line, sizeof line, n, signal_name(sig));
    if (describe_call && describe_call(call, sizeof call) > 0) {
        n = put(line, sizeof line, n, " in ");
        n = put(line, sizeof line, n, call);
    } else {
        n = put(line, sizeof line, n, " outside any filter call");
    }
    n = put(line, sizeof line, n, "; the serving process ends and the supervisor restarts it\n");
    if (crash_fd >= 0 && write(crash_fd, line, n) < 0)
        crash_fd = -1;
    if (write(STDERR_FILENO, line, n) < 0)
        n = 0;
    /* SA_RESETHAND restored the default action: the signal now ends the process. */
    raise(sig);
}

static void install_crash_handlers(const char *crash_log)
{
    if (crash_log && crash_log[0] && strcmp(crash_log, "-") != 0)
        crash_fd = open(crash_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
}

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_signal;
static volatile sig_atomic_t recycle_signal;

static void on_recycle_signal(int sig)
{
    (void)sig;
    recycle_signal = 1;
}

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    reload_signal = 1;
}

/* Sleeps up to ms, in short steps, unless a stop or reload arrives. */
static void pause_unless_signalled(unsigned ms)
{
    uint64_t until = plat_time_mono_ms() + ms;
    while (!stop_signal && !reload_signal && plat_time_mono_ms() < until)
        plat_sleep_ms(20);
}

/* Rapid-fail protection holds: every connection on the listeners gets a 503 with
 * Retry-After, until `until` (monotonic ms), a reload (SIGHUP) or a stop. */
static void answer_unavailable(const host_supervise_opts_t *o, uint64_t until)
{
    struct pollfd pfd[HOST_MAX_LISTENERS];
    size_t n = o->nlisteners < HOST_MAX_LISTENERS ? o->nlisteners : HOST_MAX_LISTENERS;
    for (size_t i = 0; i < n; i++)
        pfd[i] = (struct pollfd){ o->listeners[i], POLLIN, 0 };
    for (;;) {
        uint64_t now = plat_time_mono_ms();
        if (stop_signal || reload_signal || now >= until)
            return;
        unsigned left_s = (unsigned)((until - now + 999) / 1000);
        if (poll(pfd, (nfds_t)n, 200) <= 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            plat_socket_t c;
            if (plat_accept(o->listeners[i], 0, &c, NULL, NULL) != 0)
                continue;
            char resp[256];
            int len = snprintf(resp, sizeof resp,
                               "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %u\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 20\r\n"
                               "Connection: close\r\n\r\nService Unavailable\n",
                               left_s);
            if (len > 0 && (size_t)len < sizeof resp)
                plat_sock_send_all(c, resp, (size_t)len, 1000);
            plat_sock_close(c);
        }
    }
}

/* Forks a serving process. Returns its pid, or -1 (logged). */
static pid_t start_child(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *o)
{
    static unsigned long serving_starts;
    serving_starts++;
    pid_t child = fork();
    if (child < 0) {
        say(LOG_ERROR, "supervisor: cannot start the serving process: %s",
                 strerror(errno));
        return -1;
    }
    if (child == 0) {
        char me[24];
        snprintf(me, sizeof me, "%ld", (long)getppid());
        setenv("ISAPIHOST_SUPERVISOR_PID", me, 1);   /* plat_request_recycle() */
        snprintf(me, sizeof me, "%lu", serving_starts - 1);
        setenv("ISAPIHOST_SERVING_RESTARTS", me, 1); /* the metrics' restart count */
        signal(SIGHUP, SIG_DFL);
        signal(SIGUSR2, SIG_DFL);
        install_crash_handlers(o->crash_log);
        _exit(serve(arg));
    }
    return child;
}

int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *o)
{
    opts_in_use = o;
    describe_call = o->describe_call;
    enum { MAX_KEPT = 64 };
    uint64_t crash_times[MAX_KEPT];
    unsigned ncrash = 0;
    unsigned window_ms = o->rapid_fail_window_ms ? o->rapid_fail_window_ms : 300000;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction ra = sa;
    ra.sa_handler = on_reload_signal;
    struct sigaction ua = sa;
    ua.sa_handler = on_recycle_signal;
    /* Serving processes being replaced: asked to stop, still finishing their requests. */
    enum { MAX_OLD = 16 };
    pid_t old[MAX_OLD];
    size_t nold = 0;
    for (;;) {
        reload_signal = 0;
        pid_t child = start_child(serve, arg, o);
        if (child < 0)
            return 1;

        /* The parent only waits, forwards stop requests, and replaces a serving process
         * whose watchdog asked for it (SIGUSR2: overlapped, the new one first). */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &ra, NULL);
        sigaction(SIGUSR2, &ua, NULL);
        int status, forwarded = 0;
        for (;;) {
            if (stop_signal && !forwarded) {
                kill(child, SIGTERM);
                for (size_t i = 0; i < nold; i++)
                    kill(old[i], SIGTERM);
                forwarded = 1;
            }
            if (recycle_signal && !stop_signal) {
                recycle_signal = 0;
                pid_t fresh = nold < MAX_OLD ? start_child(serve, arg, o) : -1;
                if (fresh > 0) {
                    say(LOG_WARN, "supervisor: serving process %d reported hung "
                             "filter calls; serving process %d takes over and %d stops",
                             (int)child, (int)fresh, (int)child);
                    kill(child, SIGTERM);
                    old[nold++] = child;
                    child = fresh;
                }
            }
            /* Why not a blocking waitpid: a signal that arrives between the flag checks
             * above and the call would be seen only when a child ends (a stop request
             * lost until then). Polling every 20 ms has no such window. */
            pid_t r = waitpid(-1, &status, WNOHANG);
            if (r == 0) {
                plat_sleep_ms(20);
                continue;
            }
            if (r == child)
                break;
            for (size_t i = 0; i < nold; i++)
                if (r == old[i]) {
                    say(LOG_INFO, "supervisor: replaced serving process %d ended "
                             "(%s %d)", (int)r, WIFEXITED(status) ? "status" : "signal",
                             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                    old[i] = old[--nold];
                    break;
                }
            if (r < 0 && errno != EINTR && errno != ECHILD) {
                say(LOG_ERROR, "supervisor: waitpid: %s", strerror(errno));
                return 1;
            }
        }
        if (WIFEXITED(status)) {
            /* Replaced processes still finishing: let them, then return. */
            while (nold > 0) {
                pid_t r = waitpid(-1, NULL, 0);
                for (size_t i = 0; i < nold; i++)
                    if (r == old[i]) {
                        old[i] = old[--nold];
                        break;
                    }
                if (r < 0 && errno != EINTR)
                    break;
            }
            return WEXITSTATUS(status);
        }
        int sig = WTERMSIG(status);
        if (stop_signal) {
            say(LOG_WARN, "supervisor: the serving process ended with signal %d (%s) "
                     "while stopping", sig, strsignal(sig));
            return 1;
        }
        uint64_t now = plat_time_mono_ms();
        unsigned kept = 0;
        for (unsigned i = 0; i < ncrash; i++)
            if (now - crash_times[i] < window_ms)
                crash_times[kept++] = crash_times[i];
        ncrash = kept;
        if (ncrash == MAX_KEPT) {
            memmove(crash_times, crash_times + 1, (MAX_KEPT - 1) * sizeof crash_times[0]);
            ncrash--;
        }
        crash_times[ncrash++] = now;
        say(LOG_ERROR, "supervisor: serving process %d died from signal %d (%s); "
                 "requests in flight on it failed (%u crash(es) in the last %u s)",
                 (int)child, sig, strsignal(sig), ncrash, window_ms / 1000);
        if (o->rapid_fail_max && ncrash >= o->rapid_fail_max) {
            /* Why keep the port: IIS's rapid-fail protection answers 503 while the pool is
             * stopped; a closed port would make load balancers and clients see an outage
             * of another kind, and an operator could not tell the server was up. */
            uint64_t until = crash_times[ncrash - o->rapid_fail_max] + window_ms;
            say(LOG_ERROR, "supervisor: rapid-fail protection: %u crashes within "
                     "%u s; answering 503 with Retry-After for %u s, or until a reload "
                     "(SIGHUP)", ncrash, window_ms / 1000,
                     (unsigned)((until - now + 999) / 1000));
            answer_unavailable(o, until);
            if (stop_signal)
                return 0;
            say(LOG_INFO, "supervisor: rapid-fail protection lifted (%s); starting "
                     "the serving process", reload_signal ? "reload" : "the window passed");
            ncrash = 0;
            continue;
        }
        /* Back-off: a filter that crashes at every start must not make the supervisor
         * spin; a single crash restarts at once. */
        unsigned delay = ncrash <= 1 ? 0 : 100u << (ncrash - 2 < 6 ? ncrash - 2 : 6);
        if (delay > 5000)
            delay = 5000;
        if (delay) {
            say(LOG_INFO, "supervisor: restarting in %u ms", delay);
            pause_unless_signalled(delay);
            if (stop_signal)
                return 0;
        }
    }
}
