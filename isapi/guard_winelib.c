/*
 * guard_winelib.c - filter calls under structured exception handling in the Winelib build.
 *
 * The server is a Linux program built with winegcc, and the filters are PE DLLs loaded by
 * Wine into the same process. A fault in filter code reaches Wine's signal handler, which
 * turns it into a Win32 exception and dispatches it along the thread's frames, exactly as
 * Windows does. Wine's own __TRY/__EXCEPT (wine/exception.h) registers a frame in the
 * thread block's exception list for the duration of the call, so, as with
 * isapi/guard_win32.c, handlers inside the filter see an exception first and the guard only
 * gets what would otherwise end the process.
 *
 * Rules this depends on: the calling thread is a Wine thread (created with CreateThread,
 * see plat_thread_create in host/posix/os_winelib.c), and the process installs no SIGSEGV,
 * SIGBUS, SIGILL or SIGFPE handler of its own (one would pre-empt Wine's dispatch).
 */
#include <windows.h>
#include <wine/exception.h>

#include "guard.h"
#include "guard_seh.h"

static LONG CALLBACK guard_filter(EXCEPTION_POINTERS *ep, void *ctx)
{
    if (!isapi__guard_contained(ep->ExceptionRecord->ExceptionCode))
        return EXCEPTION_CONTINUE_SEARCH;
    isapi__guard_record(ctx, ep->ExceptionRecord);
    return EXCEPTION_EXECUTE_HANDLER;
}

int isapi__guard_call(isapi__guarded_fn fn, void *arg, isapi__fault *fault)
{
    /* volatile: read after the handler's longjmp back into this frame. */
    volatile int faulted = 0;
    __TRY {
        fn(arg);
    }
    __EXCEPT_CTX(guard_filter, fault) {
        faulted = 1;
    }
    __ENDTRY
    return faulted;
}
