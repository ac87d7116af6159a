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
 * One implementation per OS: host/os_supervise_posix.c, win32/os_supervise_win32.c, and
 * host/os_supervise_winelib.c for the Winelib build (no fork: the launcher supervises).
 */
#ifndef HOST_SUPERVISE_H
#define HOST_SUPERVISE_H

/* Runs serve(arg) under supervision and returns its exit status. serve must open no
 * threads before it is called and must create its own poller, engine and threads (they
 * are not shared across processes). A stop request (SIGINT/SIGTERM) is passed to the
 * serving process, and the supervisor returns its status once it exited. A crash loop
 * (more than max_restarts crashes within 60 seconds) ends supervision with status 1.
 * On Windows it simply returns serve(arg); in the Winelib build it installs the
 * last-chance handler and returns serve(arg) (the launcher restarts the process). */
#define HOST_SUPERVISE_MAX_RESTARTS 20

/* The exit status of a Winelib serving process that ended on an unhandled exception
 * (host/os_supervise_winelib.c); its supervisor, win32/isapihost-wine, restarts it. */
#define HOST_EXIT_CRASHED 70

/* crash_log: the error log's path ("" or "-": standard error only). When a fatal signal
 * hits the serving process, one line naming the signal and the filter call in progress
 * (isapi_describe_current_call) is written there and to standard error. */
int host_supervise(int (*serve)(void *arg), void *arg, unsigned max_restarts,
                   const char *crash_log);

#endif
