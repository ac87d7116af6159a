/*
 * guard.h - calling filter code so that a crash inside it fails only that call.
 *
 * Why: under IIS 6 an access violation in a filter ends the worker process (KB 892988);
 * Windows CE's httpd catches exceptions around every filter call, logs them and fails the
 * request (docs/isapi-reference.md, "Crashes in filters"). isapihost does the latter
 * where the platform lets a process survive a fault: on Windows, structured exception
 * handling around the call (isapi/guard_win32.c), and the same through Wine in the
 * Winelib build (isapi/guard_winelib.c). On POSIX the call is plain (isapi/guard_posix.c):
 * a signal in filter code cannot be recovered from safely inside the process.
 *
 * The build picks one implementation file (isapi/CMakeLists.txt); nothing else in the
 * engine depends on the platform.
 */
#ifndef ISAPI_GUARD_H
#define ISAPI_GUARD_H

#include <stddef.h>
#include <windows.h>

/* Why a local definition: the code is Windows' own (winerror.h, "{Application Error} The
 * exception ... occurred in the application"), but not every winerror.h carries it. The
 * engine reports it as the failing call's Win32 status (sc-win32-status in the log). */
#ifndef ERROR_UNHANDLED_EXCEPTION
#define ERROR_UNHANDLED_EXCEPTION 574L
#endif

/* What left the guarded call. */
typedef struct isapi__fault {
    DWORD code;             /* exception code, e.g. 0xc0000005 */
    void *address;          /* instruction that raised it */
    int access;             /* access violations: 0 read, 1 write, 8 execute; else -1 */
    ULONG_PTR target;       /* access violations: the address accessed */
} isapi__fault;

typedef void (*isapi__guarded_fn)(void *arg);

/* Calls fn(arg) on the calling thread. Returns 0 when fn returned. Returns 1 when an
 * exception that nothing inside fn handled left it: the frames between this call and the
 * fault were unwound (their own termination handlers ran, as for an SEH __except), and
 * *fault describes the exception. fn's work is then incomplete: whatever it was doing is
 * abandoned, locks it held stay held. Guards nest: a fault reaches the innermost one.
 * Exceptions a debugger owns (breakpoints, single steps) and stack overflows are not
 * caught. Never returns 1 on POSIX. */
int isapi__guard_call(isapi__guarded_fn fn, void *arg, isapi__fault *fault);

/* One phrase for a log line, e.g. "exception 0xc0000005 (access violation writing address
 * 0x00000000) at crasher.dll+0x1a2b". Always NUL-terminates buf (len > 0). */
void isapi__guard_describe(const isapi__fault *fault, char *buf, size_t len);

#endif
