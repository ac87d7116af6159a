/*
 * os_supervise_posix.c - the supervisor process on POSIX (see supervise.h).
 *
 * The parent forks the serving child and waits for it. SIGINT and SIGTERM reaching the
 * parent are forwarded to the child as SIGTERM, which shuts down gracefully. When the
 * child dies from a signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, ...) the parent logs
 * the signal and forks a new child straight away; the child's own crash handler has
 * already written which filter and which notification were running (isapi/guard_posix.c).
 * Restarts are counted in a sliding 60-second window so a filter that crashes on every
 * request does not make the supervisor spin forever.
 *
 * In the child, a handler for the fatal signals writes one line naming the signal and the
 * filter call in progress on the faulting thread (isapi_describe_current_call(), which is
 * async-signal-safe) to the error log and standard error with write(2) only, then lets the
 * signal end the process with its default action.
 */
#define _POSIX_C_SOURCE 200809L
#include "supervise.h"
#include "isapi.h"
#include "log.h"
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int crash_fd = -1;

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
    if (isapi_describe_current_call(call, sizeof call) > 0) {
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

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

int host_supervise(int (*serve)(void *arg), void *arg, unsigned max_restarts,
                   const char *crash_log)
{
    uint64_t crash_times[64];
    unsigned ncrash = 0;
    if (max_restarts > 64)
        max_restarts = 64;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (;;) {
        pid_t child = fork();
        if (child < 0) {
            host_log(HOST_LOG_ERROR, "supervisor: cannot start the serving process: %s",
                     strerror(errno));
            return 1;
        }
        if (child == 0) {
            install_crash_handlers(crash_log);
            _exit(serve(arg));
        }

        /* The parent only waits and forwards stop requests. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int status, forwarded = 0;
        for (;;) {
            if (stop_signal && !forwarded) {
                kill(child, SIGTERM);
                forwarded = 1;
            }
            pid_t r = waitpid(child, &status, 0);
            if (r == child)
                break;
            if (r < 0 && errno != EINTR) {
                host_log(HOST_LOG_ERROR, "supervisor: waitpid: %s", strerror(errno));
                return 1;
            }
        }
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        int sig = WTERMSIG(status);
        if (stop_signal) {
            host_log(HOST_LOG_WARN, "supervisor: the serving process ended with signal %d (%s) "
                     "while stopping", sig, strsignal(sig));
            return 1;
        }
        uint64_t now = plat_time_mono_ms();
        unsigned kept = 0;
        for (unsigned i = 0; i < ncrash; i++)
            if (now - crash_times[i] < 60000)
                crash_times[kept++] = crash_times[i];
        ncrash = kept;
        if (ncrash < 64)
            crash_times[ncrash++] = now;
        host_log(HOST_LOG_ERROR, "supervisor: serving process %d died from signal %d (%s); "
                 "requests in flight on it failed; restarting (%u crash(es) in the last minute)",
                 (int)child, sig, strsignal(sig), ncrash);
        if (ncrash > max_restarts) {
            host_log(HOST_LOG_ERROR, "supervisor: more than %u crashes in a minute; giving up",
                     max_restarts);
            return 1;
        }
    }
}
