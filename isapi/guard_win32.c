/*
 * guard_win32.c - filter calls under structured exception handling (i686 and x86_64).
 *
 * mingw-w64's gcc has no __try/__except for C, so the guard builds the SEH frame that an
 * MSVC __try/__except would build, at the place it would be: between the engine and the
 * filter. Exception dispatch walks the frames from the fault outwards, so handlers inside
 * the filter (its own __try, C++ catch, IsBadReadPtr's probes) see an exception first; the
 * guard only gets what would otherwise reach the unhandled-exception filter and end the
 * process. (A vectored handler would run before every frame handler and take faults the
 * filter handles itself, so it is not used.)
 *
 *   i686:   an EXCEPTION_REGISTRATION_RECORD on the guard's stack, linked into the TEB's
 *           ExceptionList (fs:[0]) for the duration of the call. Its handler unwinds the
 *           frames above it with RtlUnwind (their unwind handlers run, as for __except) and
 *           returns into the guard with __builtin_longjmp, which restores only ebp, esp and
 *           eip; the guard then unlinks its record.
 *   x86_64: frames are described by unwind tables, so the guard is a small assembly
 *           function whose unwind info names __C_specific_handler with a one-entry scope
 *           table around the call: what MSVC emits for __try/__except. The scope's filter
 *           expression records the fault; __C_specific_handler unwinds with RtlUnwindEx
 *           and resumes at the scope's target, which returns 1.
 *
 * Caught: every error-severity code (0xC0000000 and up: access violation, integer divide
 * by zero, illegal instruction, an uncaught C++ exception 0xe06d7363, ...) and datatype
 * misalignment. Not caught: stack overflow (the thread's guard page is spent, the next
 * overflow would end the process silently) and debugger events (breakpoints, single step).
 */
#include <string.h>

#include "guard.h"
#include "guard_seh.h"

#if defined(__i386__)

typedef struct guard_frame {
    EXCEPTION_REGISTRATION_RECORD reg;   /* first: the handler receives its address */
    void *resume[5];                     /* __builtin_setjmp buffer */
    isapi__fault *fault;
} guard_frame;

static EXCEPTION_ROUTINE guard_handler;

static EXCEPTION_DISPOSITION NTAPI guard_handler(struct _EXCEPTION_RECORD *rec, PVOID frame,
                                                struct _CONTEXT *ctx, PVOID dispatch)
{
    (void)ctx;
    (void)dispatch;
    if ((rec->ExceptionFlags & (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND))
        || !isapi__guard_contained(rec->ExceptionCode))
        return ExceptionContinueSearch;
    guard_frame *g = frame;
    isapi__guard_record(g->fault, rec);
    /* Removes every registration above ours (the filter's and the dispatcher's own),
     * calling their handlers with EXCEPTION_UNWINDING; returns with ExceptionList == g. */
    RtlUnwind(frame, NULL, rec, NULL);
    __builtin_longjmp(g->resume, 1);
}

int isapi__guard_call(isapi__guarded_fn fn, void *arg, isapi__fault *fault)
{
    NT_TIB *tib = (NT_TIB *)NtCurrentTeb();
    guard_frame g;
    memset(&g, 0, sizeof g);
    g.fault = fault;
    g.reg.Handler = guard_handler;
    if (__builtin_setjmp(g.resume)) {
        tib->ExceptionList = g.reg.Next;
        return 1;
    }
    g.reg.Next = tib->ExceptionList;
    tib->ExceptionList = &g.reg;
    fn(arg);
    tib->ExceptionList = g.reg.Next;
    return 0;
}

#elif defined(__x86_64__)

/* int isapi__guard_x64(fn, arg, fault): calls fn(arg); 0 when it returned, 1 after a
 * contained exception. The fault pointer is kept at 32(%rsp), above the callee's home
 * area, where guard_filter finds it from the establisher frame (the body's rsp). */
int isapi__guard_x64(isapi__guarded_fn fn, void *arg, isapi__fault *fault);

__asm__(
    "    .text\n"
    "    .globl isapi__guard_x64\n"
    "    .def isapi__guard_x64; .scl 2; .type 32; .endef\n"
    "    .seh_proc isapi__guard_x64\n"
    "isapi__guard_x64:\n"
    "    subq $40, %rsp\n"
    "    .seh_stackalloc 40\n"
    "    .seh_endprologue\n"
    "    movq %r8, 32(%rsp)\n"
    "    movq %rcx, %rax\n"
    "    movq %rdx, %rcx\n"
    ".Lisapi_guard_begin:\n"
    "    callq *%rax\n"
    "    nop\n"                       /* the return address must lie inside the scope */
    ".Lisapi_guard_end:\n"
    "    xorl %eax, %eax\n"
    "    addq $40, %rsp\n"
    "    ret\n"
    ".Lisapi_guard_except:\n"
    "    movl $1, %eax\n"
    "    addq $40, %rsp\n"
    "    ret\n"
    "    .seh_handler __C_specific_handler, @except\n"
    "    .seh_handlerdata\n"
    "    .long 1\n"
    "    .rva .Lisapi_guard_begin, .Lisapi_guard_end, isapi__guard_filter, .Lisapi_guard_except\n"
    "    .text\n"
    "    .seh_endproc\n");

/* The scope's filter expression, called by __C_specific_handler during dispatch. */
LONG isapi__guard_filter(EXCEPTION_POINTERS *ep, void *frame);

LONG isapi__guard_filter(EXCEPTION_POINTERS *ep, void *frame)
{
    if (!isapi__guard_contained(ep->ExceptionRecord->ExceptionCode))
        return EXCEPTION_CONTINUE_SEARCH;
    isapi__guard_record(*(isapi__fault **)((char *)frame + 32), ep->ExceptionRecord);
    return EXCEPTION_EXECUTE_HANDLER;
}

int isapi__guard_call(isapi__guarded_fn fn, void *arg, isapi__fault *fault)
{
    return isapi__guard_x64(fn, arg, fault);
}

#else
#error "guard_win32.c: SEH frames are implemented for i686 and x86_64 only"
#endif
