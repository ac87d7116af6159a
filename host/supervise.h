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
 * One implementation per OS: host/posix/os_supervise_posix.c, win32/os_supervise_win32.c,
 * and host/posix/os_supervise_winelib.c for the Winelib build (no fork: the launcher,
 * win32/isapihost-wine, supervises).
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
    /* Handed in so that these per-OS files call neither the host's log nor the engine:
     * one error-log line at a level (HOST_LOG_ERROR, _WARN, _INFO of host/log.h), and the
     * filter call in progress on the calling thread, async-signal-safe
     * (isapi_describe_current_call's contract), for the crash line. */
    void (*log)(int level, const char *line);
    size_t (*describe_call)(char *buf, size_t len);
} host_supervise_opts_t;

/* Runs serve(arg) under supervision and returns its exit status. serve must open no
 * threads before it is called and must create its own poller, engine and threads (they
 * are not shared across processes). A stop request (SIGINT/SIGTERM) is passed to the
 * serving process, and the supervisor returns its status once it exited. After a crash
 * the next serving process starts after a back-off that doubles with each crash in the
 * window (none for the first, 100 ms for the second, at most 5 s). On Windows it simply
 * returns serve(arg); in the Winelib build it installs the last-chance handler and returns
 * serve(arg) (the launcher restarts the process). */
int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *opts);

/* The exit status of a Winelib serving process that ended on an unhandled exception
 * (host/posix/os_supervise_winelib.c); its supervisor, win32/isapihost-wine, restarts it. */
#define HOST_EXIT_CRASHED 70

#endif
