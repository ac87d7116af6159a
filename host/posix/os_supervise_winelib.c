/*
 * os_supervise_winelib.c - crash handling in the Winelib build (see supervise.h).
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
 */
#define _POSIX_C_SOURCE 200809L
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "supervise.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int crash_fd = -1;
static size_t (*describe_call)(char *buf, size_t len);

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

int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *opts)
{
    /* Restarts are counted by the launcher, which restarts the process. */
    const char *crash_log = opts->crash_log;
    describe_call = opts->describe_call;
    if (crash_log && crash_log[0] && strcmp(crash_log, "-") != 0)
        crash_fd = open(crash_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    SetUnhandledExceptionFilter(last_chance);
    return serve(arg);
}

/* The launcher starts the Wine process anew and neither waits for it to serve nor asks it
 * to retire: no overlapped recycling in this build (docs/operations, "Reload"). */
void host_supervise_ready(void)
{
}

int host_supervise_on_retire(void (*fn)(void *arg), void *arg)
{
    (void)fn;
    (void)arg;
    return -1;
}
