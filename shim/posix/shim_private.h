/*
 * shim_private.h - internals shared by the libshim sources (never installed, never seen by
 * filters).
 *
 * Every export follows one pattern: validate the arguments the way Windows does, call a
 * `shim__*` helper that returns a status (0, a POSIX errno value, or one of the SHIM_E_*
 * values below for conditions POSIX has no errno for), and finish through
 * shim_set_errno(), which maps the status to an ERROR_* code through the single table in
 * error.c and stores it as the thread's last error. Success leaves the last error alone, as
 * most Win32 functions do.
 */
#ifndef SHIM_PRIVATE_H
#define SHIM_PRIVATE_H

#include <windows.h>

/* Statuses with no POSIX errno equivalent. Kept far above any errno value. */
enum shim_status {
    SHIM_E_FIRST = 0x10000,
    SHIM_E_MOD_NOT_FOUND = SHIM_E_FIRST, /* ERROR_MOD_NOT_FOUND */
    SHIM_E_PROC_NOT_FOUND,               /* ERROR_PROC_NOT_FOUND */
    SHIM_E_BAD_EXE_FORMAT,               /* ERROR_BAD_EXE_FORMAT */
    SHIM_E_DLL_INIT_FAILED,              /* ERROR_DLL_INIT_FAILED */
    SHIM_E_NOT_OWNER,                    /* ERROR_NOT_OWNER */
    SHIM_E_MORE_DATA,                    /* ERROR_MORE_DATA */
    SHIM_E_NO_MORE_ITEMS,                /* ERROR_NO_MORE_ITEMS */
    SHIM_E_MR_MID_NOT_FOUND,             /* ERROR_MR_MID_NOT_FOUND */
    SHIM_E_ENVVAR_NOT_FOUND,             /* ERROR_ENVVAR_NOT_FOUND */
    SHIM_E_INVALID_FLAGS,                /* ERROR_INVALID_FLAGS */
    SHIM_E_BADDB,                        /* ERROR_BADDB */
    SHIM_E_INVALID_HANDLE,               /* ERROR_INVALID_HANDLE */
    SHIM_E_NOT_SUPPORTED,                /* ERROR_NOT_SUPPORTED */
    SHIM_E_CALL_NOT_IMPLEMENTED,         /* ERROR_CALL_NOT_IMPLEMENTED */
    SHIM_E_TOO_MANY_POSTS,               /* ERROR_TOO_MANY_POSTS */
    SHIM_E_HANDLE_EOF,                   /* ERROR_HANDLE_EOF */
    SHIM_E_LAST
};

/* The translation table: status (0, errno or SHIM_E_*) -> ERROR_* code. */
DWORD shim_win32_error(int status);

/* Sets the last error from a non-zero status and returns TRUE when status is 0. */
BOOL shim_set_errno(int status);

/* Logs "fixme:shim:<func> <what>" to stderr the first time a call site is reached. */
void shim_fixme_log(int *once, const char *func, const char *what);
#define SHIM_FIXME(what)                                                              \
    do {                                                                              \
        static int shim_fixme_once_;                                                  \
        shim_fixme_log(&shim_fixme_once_, __func__, what);                            \
    } while (0)

/* Thread ids as Windows shows them: small, non-zero, unique in the process, assigned on
 * first use (threads.c). */
DWORD shim__thread_id(void);
void shim__thread_id_set(DWORD id);
DWORD shim__thread_id_new(void);

/* File handles (handles.c): a new handle owning fd (closed on failure, then
 * INVALID_HANDLE_VALUE with the last error set); the descriptor and CreateFile flags behind
 * a file handle, with a reference held until shim__file_release(ref), or
 * SHIM_E_INVALID_HANDLE for anything that is not an open file handle. */
HANDLE shim__file_handle_new(int fd, DWORD flags);
int shim__file_acquire(HANDLE h, int *fd, DWORD *flags, void **ref);
void shim__file_release(void *ref);

/* ASCII case folding, locale independent (Windows compares ANSI names this way for the
 * ASCII range). */
static inline int shim__tolower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
int shim__strcasecmp(const char *a, const char *b);

/* Strips blanks (and a trailing CR) from both ends in place (profile.c). */
char *shim__trim(char *s);

/* Copies at most max bytes of src to dst as one printable line: CR, LF and tab become
 * spaces, other control bytes '?', a trailing newline is dropped, and "..." marks a src
 * longer than max. dst holds max + 4 bytes; returns the length written (NUL excluded). */
size_t shim__one_line(char *dst, const char *src, size_t max);

/* A heap block from the process heap (memory.c), for buffers handed to callers that free
 * them with LocalFree/HeapFree. */
void *shim__local_alloc(size_t size);

#endif
