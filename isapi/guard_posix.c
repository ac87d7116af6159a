/*
 * guard_posix.c - filter calls on POSIX: a plain call.
 *
 * A SIGSEGV or SIGFPE inside a filter cannot be turned back into a failed call safely:
 * longjmp out of a signal handler leaves the filter's and the C library's state
 * (malloc's locks, stdio) wherever the fault found it. On POSIX the process therefore
 * ends on a filter crash, as IIS 6's worker process does; containing it is the job of a
 * supervising process, not of the engine (see guard.h).
 */
#include <stdio.h>

#include "guard.h"

int isapi__guard_call(isapi__guarded_fn fn, void *arg, isapi__fault *fault)
{
    (void)fault;
    fn(arg);
    return 0;
}

void isapi__guard_describe(const isapi__fault *fault, char *buf, size_t len)
{
    snprintf(buf, len, "exception 0x%08lx", (unsigned long)fault->code);
}
