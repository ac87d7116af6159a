/*
 * guard_seh.c - the parts of the structured-exception guard that do not depend on how the
 * handler frame is built: which exceptions are contained, what is recorded, and the log
 * phrase. Shared by isapi/guard_win32.c (mingw-w64: hand-built SEH frames) and
 * isapi/guard_winelib.c (Winelib: Wine's __TRY/__EXCEPT).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "guard_seh.h"

int isapi__guard_contained(DWORD code)
{
    if (code == EXCEPTION_STACK_OVERFLOW)
        return 0;
    return (code & 0xC0000000u) == 0xC0000000u || code == EXCEPTION_DATATYPE_MISALIGNMENT;
}

void isapi__guard_record(isapi__fault *f, const EXCEPTION_RECORD *rec)
{
    f->code = rec->ExceptionCode;
    f->address = rec->ExceptionAddress;
    f->access = -1;
    f->target = 0;
    if (rec->ExceptionCode == EXCEPTION_ACCESS_VIOLATION && rec->NumberParameters >= 2) {
        f->access = (int)rec->ExceptionInformation[0];
        f->target = rec->ExceptionInformation[1];
    }
}

static const char *exception_name(DWORD code)
{
    switch (code) {
    case EXCEPTION_ACCESS_VIOLATION:         return "access violation";
    case EXCEPTION_INT_DIVIDE_BY_ZERO:       return "integer divide by zero";
    case EXCEPTION_INT_OVERFLOW:             return "integer overflow";
    case EXCEPTION_ILLEGAL_INSTRUCTION:      return "illegal instruction";
    case EXCEPTION_PRIV_INSTRUCTION:         return "privileged instruction";
    case EXCEPTION_ARRAY_BOUNDS_EXCEEDED:    return "array bounds exceeded";
    case EXCEPTION_DATATYPE_MISALIGNMENT:    return "datatype misalignment";
    case EXCEPTION_IN_PAGE_ERROR:            return "in-page error";
    case EXCEPTION_FLT_DIVIDE_BY_ZERO:       return "floating-point divide by zero";
    case EXCEPTION_FLT_INVALID_OPERATION:    return "floating-point invalid operation";
    case EXCEPTION_FLT_OVERFLOW:             return "floating-point overflow";
    case EXCEPTION_FLT_UNDERFLOW:            return "floating-point underflow";
    case EXCEPTION_FLT_INEXACT_RESULT:       return "floating-point inexact result";
    case EXCEPTION_FLT_DENORMAL_OPERAND:     return "floating-point denormal operand";
    case EXCEPTION_FLT_STACK_CHECK:          return "floating-point stack check";
    case EXCEPTION_NONCONTINUABLE_EXCEPTION: return "noncontinuable exception";
    case EXCEPTION_INVALID_DISPOSITION:      return "invalid disposition";
    case 0xE06D7363u:                        return "uncaught C++ exception";
    default:                                 return "unknown exception";
    }
}

void isapi__guard_describe(const isapi__fault *f, char *buf, size_t len)
{
    char what[96];
    if (f->code == EXCEPTION_ACCESS_VIOLATION && f->access >= 0)
        snprintf(what, sizeof what, "access violation %s address 0x%08" PRIxPTR,
                 f->access == 0 ? "reading" : f->access == 8 ? "executing" : "writing",
                 (uintptr_t)f->target);
    else
        snprintf(what, sizeof what, "%s", exception_name(f->code));

    char where[MAX_PATH + 32] = "";
    HMODULE m = NULL;
    char path[MAX_PATH];
    if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                           | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           (LPCSTR)f->address, &m)
        && GetModuleFileNameA(m, path, sizeof path) > 0) {
        path[sizeof path - 1] = '\0';
        const char *base = path;
        for (const char *p = path; *p; p++)
            if (*p == '\\' || *p == '/')
                base = p + 1;
        snprintf(where, sizeof where, " at %s+0x%" PRIxPTR, base,
                 (uintptr_t)((const char *)f->address - (const char *)m));
    } else {
        snprintf(where, sizeof where, " at 0x%08" PRIxPTR, (uintptr_t)f->address);
    }
    snprintf(buf, len, "exception 0x%08lx (%s)%s", (unsigned long)f->code, what, where);
}
