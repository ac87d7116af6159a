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
 * Overlapped replacement (supervise.h): on SIGHUP the configuration is read on trial in a
 * short-lived child, then for real; on SIGUSR2 from the current serving process (its
 * watchdog or a recycle limit) nothing is read. Either way a new child is forked with the
 * write end of a pipe; its one byte says it serves, and only then does the current child
 * get SIGQUIT (retire) and join the list of old ones, whose ends are logged. A new child
 * that ends before its byte leaves the current one in place. One replacement runs at a
 * time; the 20 ms loop below checks the flags, the pipe and waitpid.
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
#include "os_shared.h"

#include <errno.h>
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

/* One error-log line through the host's callback (os_shared.h). */
#define say(level, ...) plat__supervise_say(opts_in_use, (level), __VA_ARGS__)

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
static volatile sig_atomic_t recycle_sender;   /* the process that asked (SIGUSR2) */

static void on_recycle_signal(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig;
    (void)ucontext;
    recycle_sender = info ? (sig_atomic_t)info->si_pid : 0;
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

/* ---- in the serving process --------------------------------------------------------- */

static int ready_fd = -1;                 /* the supervisor reads "serving" from here */
static volatile sig_atomic_t retire_asked;
static void (*volatile retire_fn)(void *arg);
static void *volatile retire_arg;

static void on_retire_signal(int sig)
{
    (void)sig;
    retire_asked = 1;
    void (*fn)(void *) = retire_fn;
    if (fn)
        fn(retire_arg);
}

/* The supervisor opened the listening sockets, and every serving process inherits them
 * through fork. */
int host_supervise_inherited_listeners(plat_socket_t *socks, size_t max, char *err,
                                       size_t errlen)
{
    (void)socks;
    (void)max;
    (void)err;
    (void)errlen;
    return 0;
}

void host_supervise_ready(void)
{
    if (ready_fd < 0)
        return;
    char byte = 'R';
    ssize_t n;
    do
        n = write(ready_fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    close(ready_fd);
    ready_fd = -1;
}

int host_supervise_on_retire(void (*fn)(void *arg), void *arg)
{
    retire_arg = arg;
    retire_fn = fn;
    /* Asked before the server could hear it (the handler runs from the fork on). */
    if (retire_asked && fn)
        fn(arg);
    return 0;
}

/* The serving process's signals, right after the fork: the supervisor's own handlers
 * must not run there. Stop requests end it by default until the server installs its
 * graceful handler (plat_shutdown_handler_set); a SIGHUP sent to the whole process group
 * reaches the supervisor, which reloads, so the serving processes ignore it; SIGQUIT
 * asks this process to retire (host_supervise_on_retire). */
static void serving_process_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_retire_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGQUIT, &sa, NULL);
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

/* Forks a serving process. Returns its pid, or -1 (logged). With ready_read, the child
 * reports through a pipe when it serves (host_supervise_ready) and *ready_read is the
 * supervisor's end of it. */
static pid_t start_child(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *o,
                         int *ready_read)
{
    static unsigned long serving_starts;
    serving_starts++;
    int ends[2] = { -1, -1 };
    if (ready_read && pipe(ends) != 0) {
        say(LOG_ERROR, "supervisor: cannot start the serving process: pipe: %s",
            strerror(errno));
        return -1;
    }
    /* Why block them across the fork: a stop or retire request that reached the child
     * before it reset the supervisor's handlers would be lost there, and the child would
     * serve on. Blocked, it waits for the child's own handlers. */
    sigset_t block, before;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &before);
    pid_t child = fork();
    if (child != 0)
        sigprocmask(SIG_SETMASK, &before, NULL);
    if (child < 0) {
        say(LOG_ERROR, "supervisor: cannot start the serving process: %s",
                 strerror(errno));
        if (ready_read) {
            close(ends[0]);
            close(ends[1]);
        }
        return -1;
    }
    if (child == 0) {
        char me[24];
        snprintf(me, sizeof me, "%ld", (long)getppid());
        setenv("ISAPIHOST_SUPERVISOR_PID", me, 1);   /* plat_request_recycle() */
        serving_process_signals();
        sigprocmask(SIG_SETMASK, &before, NULL);
        if (ready_read) {
            close(ends[0]);
            fcntl(ends[1], F_SETFD, FD_CLOEXEC);
            ready_fd = ends[1];
        }
        snprintf(me, sizeof me, "%lu", serving_starts - 1);
        setenv("ISAPIHOST_SERVING_RESTARTS", me, 1); /* the metrics' restart count */
        install_crash_handlers(o->crash_log);
        _exit(serve(arg));
    }
    if (ready_read) {
        close(ends[1]);
        fcntl(ends[0], F_SETFD, FD_CLOEXEC);
        *ready_read = ends[0];
    }
    return child;
}

static const char *how_it_ended(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "status %d", WEXITSTATUS(status));
    else
        snprintf(buf, len, "signal %d, %s", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return buf;
}

/* Runs o->reload in a short-lived child and returns its verdict (0, or -1 with its one
 * line in err). Why a trial first: reading a configuration also sets process-wide tables
 * (the [mime] map), and a file that fails half-way must leave the supervisor's copy as the
 * running serving process has it, for its crash restarts. */
static int trial_reload(void *arg, const host_supervise_opts_t *o, char *err, size_t errlen)
{
    int ends[2];
    if (pipe(ends) != 0) {
        snprintf(err, errlen, "supervisor: pipe: %s", strerror(errno));
        return -1;
    }
    pid_t trial = fork();
    if (trial < 0) {
        snprintf(err, errlen, "supervisor: fork: %s", strerror(errno));
        close(ends[0]);
        close(ends[1]);
        return -1;
    }
    if (trial == 0) {
        close(ends[0]);
        int rc = o->reload(arg, err, errlen);
        if (rc != 0 && write(ends[1], err, strlen(err)) < 0)
            rc = 2;
        _exit(rc == 0 ? 0 : 1);
    }
    close(ends[1]);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(ends[0], err + got, errlen - 1 - got);
        if (n > 0 && (got += (size_t)n) < errlen - 1)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    err[got] = '\0';
    close(ends[0]);
    int status;
    while (waitpid(trial, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (got == 0)
        snprintf(err, errlen, "the configuration check ended abnormally");
    return -1;
}

/* A reload: the configuration is read again (opts->reload), on trial first. Returns 1 when
 * a new serving process may start with it, 0 after the one line saying why not. */
static int reread_configuration(void *arg, const host_supervise_opts_t *o, pid_t serving)
{
    char err[800];
    if (!o->reload
        || (trial_reload(arg, o, err, sizeof err) == 0 && o->reload(arg, err, sizeof err) == 0))
        return 1;
    if (serving > 0)
        say(LOG_ERROR, "supervisor: reload refused: %s; serving process %d goes on with "
            "the configuration it has", err, (int)serving);
    else
        say(LOG_ERROR, "supervisor: reload refused: %s; starting with the configuration "
            "it has", err);
    return 0;
}

int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *o)
{
    opts_in_use = o;
    describe_call = o->describe_call;
    enum { MAX_KEPT = 64 };
    uint64_t crash_times[MAX_KEPT];
    unsigned ncrash = 0;
    unsigned window_ms = o->rapid_fail_window_ms ? o->rapid_fail_window_ms : 300000;

    /* The parent only waits, forwards stop requests, and replaces the serving process on a
     * reload (SIGHUP) or when it asks for it (SIGUSR2: the hung-call watchdog, a recycle
     * limit). Installed before the first fork: the child resets them at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction ra = sa;
    ra.sa_handler = on_reload_signal;
    struct sigaction ua = sa;
    ua.sa_handler = NULL;
    ua.sa_sigaction = on_recycle_signal;
    ua.sa_flags = SA_SIGINFO;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &ra, NULL);
    sigaction(SIGUSR2, &ua, NULL);

    /* Serving processes being replaced: told to retire, still finishing their requests. */
    enum { MAX_OLD = 16 };
    pid_t old[MAX_OLD];
    size_t nold = 0;
    char how[96];
    for (;;) {
        /* A reload asked during a back-off or the rapid-fail protection. */
        if (reload_signal) {
            reload_signal = 0;
            reread_configuration(arg, o, -1);
        }
        pid_t child = start_child(serve, arg, o, NULL);
        if (child < 0)
            return 1;

        /* The overlapped replacement under way: the new process, until it serves. */
        pid_t fresh = -1;
        int fresh_ready = -1, fresh_is_reload = 0;
        int status, forwarded = 0;
        for (;;) {
            if (stop_signal && !forwarded) {
                kill(child, SIGTERM);
                if (fresh > 0)
                    kill(fresh, SIGTERM);
                for (size_t i = 0; i < nold; i++)
                    kill(old[i], SIGTERM);
                forwarded = 1;
            }
            /* One replacement at a time: a reload asked meanwhile waits for it to end. */
            if (fresh < 0 && !stop_signal && nold < MAX_OLD
                && (reload_signal || recycle_signal)) {
                fresh_is_reload = reload_signal;
                int asked_by_child = recycle_signal && (pid_t)recycle_sender == child;
                reload_signal = 0;
                recycle_signal = 0;
                if (fresh_is_reload ? reread_configuration(arg, o, child) : asked_by_child) {
                    fresh = start_child(serve, arg, o, &fresh_ready);
                    if (fresh > 0)
                        say(LOG_INFO, "supervisor: %s: serving process %d starts beside %d",
                            fresh_is_reload ? "reload" : "recycle requested by the serving "
                            "process", (int)fresh, (int)child);
                }
            }
            if (fresh > 0 && fresh_ready >= 0) {
                /* Wait for its word (or 20 ms: the flags above are checked as often). */
                struct pollfd pfd = { fresh_ready, POLLIN, 0 };
                char byte;
                if (poll(&pfd, 1, 20) > 0) {
                    ssize_t n = read(fresh_ready, &byte, 1);
                    if (n < 0 && errno == EINTR)
                        continue;
                    close(fresh_ready);
                    fresh_ready = -1;
                    if (n == 1) {
                        /* Why the old one retires only now: IIS's overlapped recycling
                         * lets the old worker process drain once the new one is ready,
                         * so no request meets a server that is not serving. */
                        say(LOG_INFO, "supervisor: serving process %d takes over; %d "
                            "retires (it finishes its requests, then TerminateFilter)",
                            (int)fresh, (int)child);
                        kill(child, SIGQUIT);
                        old[nold++] = child;
                        child = fresh;
                        fresh = -1;
                    }
                    /* n == 0: it ended before serving; waitpid tells how. */
                }
            }
            /* Why not a blocking waitpid: a signal that arrives between the flag checks
             * above and the call would be seen only when a child ends (a stop request
             * lost until then). Polling every 20 ms has no such window. */
            pid_t r = waitpid(-1, &status, WNOHANG);
            if (r == 0) {
                if (fresh_ready < 0)
                    plat_sleep_ms(20);
                continue;
            }
            if (r < 0) {
                if (errno == EINTR || errno == ECHILD)
                    continue;
                say(LOG_ERROR, "supervisor: waitpid: %s", strerror(errno));
                return 1;
            }
            if (r == fresh) {
                if (fresh_ready >= 0)
                    close(fresh_ready);
                fresh_ready = -1;
                fresh = -1;
                if (!stop_signal) {
                    say(LOG_ERROR, "supervisor: %s: the new serving process %d ended (%s) "
                        "before it served; serving process %d goes on", fresh_is_reload
                        ? "reload failed" : "recycle failed", (int)r,
                        how_it_ended(status, how, sizeof how), (int)child);
                    /* Crash restarts of the current process use what it runs. */
                    if (fresh_is_reload && o->reload_revert)
                        o->reload_revert(arg);
                }
                continue;
            }
            if (r == child) {
                if (fresh > 0 && !stop_signal) {
                    /* The replacement is already on its way: it takes over. */
                    say(LOG_ERROR, "supervisor: serving process %d ended (%s) while %d was "
                        "starting; %d takes over", (int)r, how_it_ended(status, how,
                        sizeof how), (int)fresh, (int)fresh);
                    child = fresh;
                    fresh = -1;
                    if (fresh_ready >= 0)
                        close(fresh_ready);
                    fresh_ready = -1;
                    continue;
                }
                break;
            }
            for (size_t i = 0; i < nold; i++)
                if (r == old[i]) {
                    say(LOG_INFO, "supervisor: replaced serving process %d ended (%s)",
                        (int)r, how_it_ended(status, how, sizeof how));
                    old[i] = old[--nold];
                    break;
                }
        }
        if (fresh_ready >= 0)
            close(fresh_ready);
        if (fresh > 0) {
            kill(fresh, SIGTERM);
            old[nold++] = fresh;
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
