/*
 * supervise.h - keep serving when a filter crashes the process.
 *
 * A filter runs inside the server process, and real filters crash (null dereferences,
 * access violations). On Windows the engine catches the fault around the filter call and
 * fails that request only. On POSIX a fault cannot be safely recovered in-process, so the
 * server runs as a supervisor: the parent opens the listening sockets, then runs the
 * server in a child process that inherits them; when the child dies from a signal the
 * parent logs it and starts a new child at once, while the listening sockets stay open
 * (connections queue in the backlog meanwhile). Requests in flight on the dead child fail.
 *
 * Overlapped recycling, as IIS recycles an application pool: on a reload (SIGHUP to the
 * supervisor) or when the serving process asks for it (the hung-call watchdog, a recycle
 * limit: plat_request_recycle), the supervisor starts a new serving process on the same
 * listening sockets, waits until it reports that it serves (host_supervise_ready), and
 * only then tells the old one to retire (host_supervise_on_retire): it finishes its
 * requests, ends its connections (END_OF_NET_SESSION), calls TerminateFilter and exits.
 * A reload first re-reads and checks the configuration (opts->reload); a bad one, or a
 * new process that ends before it serves, leaves the old one serving.
 *
 * One implementation per OS: host/posix/os_supervise_posix.c, win32/os_supervise_win32.c,
 * and host/posix/os_supervise_winelib.c for the Winelib build (no fork: the launcher,
 * win32/isapihost-wine, supervises; the new serving process takes the listening sockets
 * over from the old one through a Unix socket, host_supervise_inherited_listeners).
 */
#ifndef HOST_SUPERVISE_H
#define HOST_SUPERVISE_H

#include "os.h"

/* How the supervisor keeps serving when the serving process keeps crashing. */
typedef struct host_supervise_opts {
    /* The error log's path ("" or "-": standard error only). When a fatal signal hits the
     * serving process, one line naming the signal and the filter call in progress
     * (isapi_describe_current_call) is written there and to standard error. */
    const char *crash_log;
    /* Rapid-fail protection, as IIS's application pools have it: rapid_fail_max crashes
     * within rapid_fail_window_ms stop the restarts; the supervisor keeps the listening
     * sockets and answers every connection with 503 and Retry-After until the oldest of
     * those crashes leaves the window or an operator sends SIGHUP, then starts a serving
     * process again. 0 turns the protection off (restarts go on, with back-off). */
    unsigned rapid_fail_max;
    unsigned rapid_fail_window_ms;
    const plat_socket_t *listeners;   /* answered with 503 while the protection holds */
    size_t nlisteners;
    /* The admin listener (Winelib: handed over on a reload with the listeners). */
    int has_admin_listener;
    plat_socket_t admin_listener;
    /* Handed in so that these per-OS files call neither the host's log nor the engine:
     * one error-log line at a level (HOST_LOG_ERROR, _WARN, _INFO of host/log.h), and the
     * filter call in progress on the calling thread, async-signal-safe
     * (isapi_describe_current_call's contract), for the crash line. */
    void (*log)(int level, const char *line);
    size_t (*describe_call)(char *buf, size_t len);
    /* A reload (SIGHUP): re-reads and checks the configuration in the supervisor, so that
     * the next serve(arg) uses it. Returns 0, or -1 with one line in err ("FILE: setting:
     * reason"); then nothing changed and the serving process goes on. It runs twice per
     * reload on POSIX: on trial in a short-lived child, then, if that succeeded, in the
     * supervisor. NULL: a reload starts a new serving process with the configuration it
     * has. */
    int (*reload)(void *arg, char *err, size_t errlen);
    /* Puts back the configuration the last successful reload replaced: the new serving
     * process it was read for ended before it served, and the old one goes on with the
     * old configuration (a later crash restart must use what it runs). NULL: nothing to
     * put back. */
    void (*reload_revert)(void *arg);
} host_supervise_opts_t;

/* Runs serve(arg) under supervision and returns its exit status. serve must open no
 * threads before it is called and must create its own poller, engine and threads (they
 * are not shared across processes). A stop request (SIGINT/SIGTERM) is passed to the
 * serving processes, and the supervisor returns the current one's status once every one
 * exited. SIGHUP reloads (above). After a crash the next serving process starts after a
 * back-off that doubles with each crash in the window (none for the first, 100 ms for
 * the second, at most 5 s). On Windows it simply
 * returns serve(arg); in the Winelib build it installs the last-chance handler and returns
 * serve(arg) (the launcher restarts the process). */
int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *opts);

/* Before the listeners open: the listening sockets this process takes over from the one
 * it replaces (Winelib: ISAPIHOST_TAKE_OVER names that process's handover socket; the
 * call waits until that process serves). Returns how many descriptors are in socks (at
 * most max: the listeners, then the admin listener, in no promised order; the caller
 * matches them to the configuration, host_listeners_adopt), 0 when this process opens
 * its own (always on POSIX and Windows, where the supervisor or nobody holds them), or
 * -1 with one line in err. */
int host_supervise_inherited_listeners(plat_socket_t *socks, size_t max, char *err,
                                       size_t errlen);

/* In a serving process: it serves (its event loops and workers run). The supervisor
 * waiting to replace another process with this one retires the other now (Winelib: this
 * process tells the one it took the listeners from, and from now on hands them over to
 * the next one itself). Any thread; once per process; a no-op where no supervisor waits
 * (the first process on POSIX, Windows). */
void host_supervise_ready(void);

/* In a serving process: fn(arg) runs when the supervisor tells this process to retire
 * (POSIX: SIGQUIT, in a signal handler; Winelib: the next process's "ready", on the
 * handover thread), so fn must be async-signal-safe (host_server_retire is). Returns 0,
 * or -1 where no supervisor can ask (Windows; Winelib started without a launcher). */
int host_supervise_on_retire(void (*fn)(void *arg), void *arg);

/* The exit status of a Winelib serving process that ended on an unhandled exception
 * (host/posix/os_supervise_winelib.c); its supervisor, win32/isapihost-wine, restarts it. */
#define HOST_EXIT_CRASHED 70

#endif
