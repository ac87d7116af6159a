/*
 * error.c - the thread's last error, the one status -> ERROR_* translation table, and
 * FormatMessageA.
 *
 * The last error is a C11 _Thread_local DWORD, so each thread sees its own, as on Windows.
 * Helpers in the other files return a status: 0, a POSIX errno, or a SHIM_E_* value
 * (shim_private.h). shim_win32_error() is the only place where a status becomes an ERROR_*
 * code (libuv's uv_translate_sys_error and Wine's set_ntstatus play the same role); a
 * status it does not know becomes ERROR_GEN_FAILURE, Wine's answer for STATUS_UNSUCCESSFUL.
 *
 * FormatMessageA knows the system message text of every code in winerror.h, in Windows'
 * English wording, each ending "\r\n" as the system message table stores them. Inserts
 * (%1 .. %99 with an optional !printf-format!) and the escapes %0 %n %r %t %% %. %! "% "
 * are expanded unless FORMAT_MESSAGE_IGNORE_INSERTS is given. Arguments come from a
 * va_list or, with FORMAT_MESSAGE_ARGUMENT_ARRAY, an array of DWORD_PTR, both read as
 * pointer-sized values (which is what Windows does on x64). Message tables inside modules
 * (FORMAT_MESSAGE_FROM_HMODULE) do not exist for .so files: that flag alone fails with
 * ERROR_MR_MID_NOT_FOUND, combined with FROM_SYSTEM it falls back to the system table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_private.h"

static _Thread_local DWORD shim_last_error;

DWORD shim_win32_error(int status)
{
    switch (status) {
    case 0: return ERROR_SUCCESS;
    case EPERM:
    case EACCES: return ERROR_ACCESS_DENIED;
    case ENOENT: return ERROR_FILE_NOT_FOUND;
    case ENOTDIR: return ERROR_PATH_NOT_FOUND;
    case EMFILE:
    case ENFILE: return ERROR_TOO_MANY_OPEN_FILES;
    case EBADF: return ERROR_INVALID_HANDLE;
    case ENOMEM:
    case EAGAIN: return ERROR_NOT_ENOUGH_MEMORY;
    case EINVAL: return ERROR_INVALID_PARAMETER;
    case EEXIST: return ERROR_ALREADY_EXISTS;
    case ENOSPC: return ERROR_DISK_FULL;
    case EPIPE: return ERROR_BROKEN_PIPE;
    case ENAMETOOLONG: return ERROR_FILENAME_EXCED_RANGE;
    case ENOSYS: return ERROR_CALL_NOT_IMPLEMENTED;
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
    case ENOTSUP:
#endif
    case EOPNOTSUPP: return ERROR_NOT_SUPPORTED;
    case EBUSY: return ERROR_BUSY;
    case ETIMEDOUT: return ERROR_TIMEOUT;
    case ECONNREFUSED: return ERROR_CONNECTION_REFUSED;
    case ECONNABORTED: return ERROR_CONNECTION_ABORTED;
    case ECONNRESET: return ERROR_NETNAME_DELETED;
    case ERANGE: return ERROR_INSUFFICIENT_BUFFER;
    case EILSEQ: return ERROR_NO_UNICODE_TRANSLATION;
    case ENOEXEC: return ERROR_BAD_EXE_FORMAT;
    case EFAULT: return ERROR_NOACCESS;
    case ENOTEMPTY: return ERROR_DIR_NOT_EMPTY;
    case ESPIPE: return ERROR_NEGATIVE_SEEK;
    case EOVERFLOW: return ERROR_ARITHMETIC_OVERFLOW;
    case EIO: return ERROR_GEN_FAILURE;
    case SHIM_E_MOD_NOT_FOUND: return ERROR_MOD_NOT_FOUND;
    case SHIM_E_PROC_NOT_FOUND: return ERROR_PROC_NOT_FOUND;
    case SHIM_E_BAD_EXE_FORMAT: return ERROR_BAD_EXE_FORMAT;
    case SHIM_E_DLL_INIT_FAILED: return ERROR_DLL_INIT_FAILED;
    case SHIM_E_NOT_OWNER: return ERROR_NOT_OWNER;
    case SHIM_E_MORE_DATA: return ERROR_MORE_DATA;
    case SHIM_E_NO_MORE_ITEMS: return ERROR_NO_MORE_ITEMS;
    case SHIM_E_MR_MID_NOT_FOUND: return ERROR_MR_MID_NOT_FOUND;
    case SHIM_E_ENVVAR_NOT_FOUND: return ERROR_ENVVAR_NOT_FOUND;
    case SHIM_E_INVALID_FLAGS: return ERROR_INVALID_FLAGS;
    case SHIM_E_BADDB: return ERROR_BADDB;
    case SHIM_E_INVALID_HANDLE: return ERROR_INVALID_HANDLE;
    case SHIM_E_NOT_SUPPORTED: return ERROR_NOT_SUPPORTED;
    case SHIM_E_CALL_NOT_IMPLEMENTED: return ERROR_CALL_NOT_IMPLEMENTED;
    case SHIM_E_TOO_MANY_POSTS: return ERROR_TOO_MANY_POSTS;
    case SHIM_E_HANDLE_EOF: return ERROR_HANDLE_EOF;
    default: return ERROR_GEN_FAILURE;
    }
}

BOOL shim_set_errno(int status)
{
    if (status != 0)
        shim_last_error = shim_win32_error(status);
    return status == 0;
}

void shim_fixme_log(int *once, const char *func, const char *what)
{
    if (__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
        return;
    fprintf(stderr, "fixme:shim:%s %s\n", func, what);
}

/*** GetLastError (shim kernel32) ***/
DWORD WINAPI GetLastError(void)
{
    return shim_last_error;
}

/*** SetLastError (shim kernel32) ***/
void WINAPI SetLastError(DWORD dwErrCode)
{
    shim_last_error = dwErrCode;
}

/* System message table: Windows' English text, "\r\n" appended when copied out. */
static const struct shim_message {
    DWORD id;
    const char *text;
} shim_messages[] = {
    { ERROR_SUCCESS, "The operation completed successfully." },
    { ERROR_INVALID_FUNCTION, "Incorrect function." },
    { ERROR_FILE_NOT_FOUND, "The system cannot find the file specified." },
    { ERROR_PATH_NOT_FOUND, "The system cannot find the path specified." },
    { ERROR_TOO_MANY_OPEN_FILES, "The system cannot open the file." },
    { ERROR_ACCESS_DENIED, "Access is denied." },
    { ERROR_INVALID_HANDLE, "The handle is invalid." },
    { ERROR_NOT_ENOUGH_MEMORY, "Not enough memory resources are available to process this command." },
    { ERROR_BAD_FORMAT, "An attempt was made to load a program with an incorrect format." },
    { ERROR_INVALID_DATA, "The data is invalid." },
    { ERROR_OUTOFMEMORY, "Not enough memory resources are available to complete this operation." },
    { ERROR_NO_MORE_FILES, "There are no more files." },
    { ERROR_WRITE_FAULT, "The system cannot write to the specified device." },
    { ERROR_READ_FAULT, "The system cannot read from the specified device." },
    { ERROR_GEN_FAILURE, "A device attached to the system is not functioning." },
    { ERROR_SHARING_VIOLATION, "The process cannot access the file because it is being used by another process." },
    { ERROR_HANDLE_EOF, "Reached the end of the file." },
    { ERROR_NOT_SUPPORTED, "The request is not supported." },
    { ERROR_NETNAME_DELETED, "The specified network name is no longer available." },
    { ERROR_FILE_EXISTS, "The file exists." },
    { ERROR_INVALID_PARAMETER, "The parameter is incorrect." },
    { ERROR_BROKEN_PIPE, "The pipe has been ended." },
    { ERROR_BUFFER_OVERFLOW, "The file name is too long." },
    { ERROR_DISK_FULL, "There is not enough space on the disk." },
    { ERROR_CALL_NOT_IMPLEMENTED, "This function is not supported on this system." },
    { ERROR_INSUFFICIENT_BUFFER, "The data area passed to a system call is too small." },
    { ERROR_INVALID_NAME, "The filename, directory name, or volume label syntax is incorrect." },
    { ERROR_MOD_NOT_FOUND, "The specified module could not be found." },
    { ERROR_PROC_NOT_FOUND, "The specified procedure could not be found." },
    { ERROR_NEGATIVE_SEEK, "An attempt was made to move the file pointer before the beginning of the file." },
    { ERROR_DIR_NOT_EMPTY, "The directory is not empty." },
    { ERROR_BUSY, "The requested resource is in use." },
    { ERROR_ALREADY_EXISTS, "Cannot create a file when that file already exists." },
    { ERROR_BAD_EXE_FORMAT, "%1 is not a valid Win32 application." },
    { ERROR_ENVVAR_NOT_FOUND, "The system could not find the environment option that was entered." },
    { ERROR_FILENAME_EXCED_RANGE, "The filename or extension is too long." },
    { ERROR_NO_DATA, "The pipe is being closed." },
    { ERROR_MORE_DATA, "More data is available." },
    { WAIT_TIMEOUT, "The wait operation timed out." },
    { ERROR_NO_MORE_ITEMS, "No more data is available." },
    { ERROR_NOT_OWNER, "Attempt to release mutex not owned by caller." },
    { ERROR_TOO_MANY_POSTS, "Too many posts were made to a semaphore." },
    { ERROR_MR_MID_NOT_FOUND, "The system cannot find message text for message number 0x%1 in the message file for %2." },
    { ERROR_INVALID_ADDRESS, "Attempt to access invalid address." },
    { ERROR_ARITHMETIC_OVERFLOW, "Arithmetic result exceeded 32 bits." },
    { ERROR_OPERATION_ABORTED, "The I/O operation has been aborted because of either a thread exit or an application request." },
    { ERROR_IO_PENDING, "Overlapped I/O operation is in progress." },
    { ERROR_NOACCESS, "Invalid access to memory location." },
    { ERROR_INVALID_FLAGS, "Invalid flags." },
    { ERROR_BADDB, "The configuration registry database is corrupt." },
    { ERROR_BADKEY, "The configuration registry key is invalid." },
    { ERROR_CANTOPEN, "The configuration registry key could not be opened." },
    { ERROR_CANTREAD, "The configuration registry key could not be read." },
    { ERROR_NO_UNICODE_TRANSLATION, "No mapping for the Unicode character exists in the target multi-byte code page." },
    { ERROR_DLL_INIT_FAILED, "A dynamic link library (DLL) initialization routine failed." },
    { ERROR_CONNECTION_REFUSED, "The remote computer refused the network connection." },
    { ERROR_CONNECTION_ABORTED, "The network connection was aborted by the local system." },
    { ERROR_INVALID_INDEX, "Invalid index." },
    { ERROR_TIMEOUT, "This operation returned because the timeout period expired." },
};

static const char *shim__system_message(DWORD id)
{
    for (size_t i = 0; i < sizeof shim_messages / sizeof shim_messages[0]; i++)
        if (shim_messages[i].id == id)
            return shim_messages[i].text;
    return NULL;
}

/* Growable output for FormatMessageA. */
struct shim_out {
    char *buf;
    size_t len, cap;
    int err;
};

static void shim__out_put(struct shim_out *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->err = ENOMEM;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* One insert "%n!fmt!" with the argument value already fetched. Why the size prefix
 * rewriting: Windows format specs say "lu" for a 32-bit value and "I64u" for 64 bits. */
static void shim__out_insert(struct shim_out *o, const char *fmt, size_t fmtlen, DWORD_PTR value)
{
    char spec[32], tmp[64];
    char conv = fmtlen ? fmt[fmtlen - 1] : 's';
    int wide = 0;
    size_t n = 0;

    if (conv == 's' || conv == 'S') {
        const char *s = (const char *)value;
        shim__out_put(o, s ? s : "(null)", s ? strlen(s) : 6);
        return;
    }
    spec[n++] = '%';
    for (size_t i = 0; i + 1 < fmtlen && n < sizeof spec - 4; i++) {
        if (fmt[i] == 'l' || fmt[i] == 'h' || fmt[i] == 'w')
            continue;
        if (fmt[i] == 'I' && i + 2 < fmtlen && fmt[i + 1] == '6' && fmt[i + 2] == '4') {
            wide = 1;
            i += 2;
            continue;
        }
        spec[n++] = fmt[i];
    }
    if (wide) {
        spec[n++] = 'l';
        spec[n++] = 'l';
    }
    spec[n++] = conv;
    spec[n] = '\0';
    int len;
    if (strchr("diouxXc", conv) == NULL) {
        SHIM_FIXME("insert format other than s/d/i/o/u/x/X/c");
        len = 0;
    } else if (wide) {
        len = snprintf(tmp, sizeof tmp, spec, (unsigned long long)value);
    } else if (conv == 'd' || conv == 'i' || conv == 'c') {
        len = snprintf(tmp, sizeof tmp, spec, (int)(DWORD)value);
    } else {
        len = snprintf(tmp, sizeof tmp, spec, (unsigned)(DWORD)value);
    }
    if (len > 0)
        shim__out_put(o, tmp, (size_t)len < sizeof tmp ? (size_t)len : sizeof tmp - 1);
}

static int shim__format(struct shim_out *o, const char *src, DWORD flags, va_list *args)
{
    DWORD_PTR argv[100];
    int nargs = 0, width = (int)(flags & FORMAT_MESSAGE_MAX_WIDTH_MASK);
    const DWORD_PTR *array = (flags & FORMAT_MESSAGE_ARGUMENT_ARRAY) ? (const DWORD_PTR *)args : NULL;

    if (width != 0 && width != FORMAT_MESSAGE_MAX_WIDTH_MASK)
        SHIM_FIXME("line wrapping at a maximum width is not implemented");
    for (const char *p = src; *p; p++) {
        if (*p == '\r' && p[1] == '\n' && width == FORMAT_MESSAGE_MAX_WIDTH_MASK) {
            /* Why: with MAX_WIDTH_MASK Windows drops the message's own line breaks. */
            p++;
            if (p[1])
                shim__out_put(o, " ", 1);
            continue;
        }
        if (*p != '%' || (flags & FORMAT_MESSAGE_IGNORE_INSERTS)) {
            shim__out_put(o, p, 1);
            continue;
        }
        char c = *++p;
        if (c == '\0')
            break;
        if (c >= '1' && c <= '9') {
            int idx = c - '0';
            if (p[1] >= '0' && p[1] <= '9')
                idx = idx * 10 + (*++p - '0');
            const char *fmt = "s";
            size_t fmtlen = 1;
            if (p[1] == '!') {
                const char *end = strchr(p + 2, '!');
                if (!end)
                    return EINVAL;
                fmt = p + 2;
                fmtlen = (size_t)(end - fmt);
                p = end;
                if (memchr(fmt, '*', fmtlen)) {
                    SHIM_FIXME("'*' width in an insert format is not implemented");
                    return EINVAL;
                }
            }
            if (!array && !args)
                return EINVAL;
            DWORD_PTR value;
            if (array) {
                value = array[idx - 1];
            } else {
                while (nargs < idx)
                    argv[nargs++] = va_arg(*args, DWORD_PTR);
                value = argv[idx - 1];
            }
            shim__out_insert(o, fmt, fmtlen, value);
            continue;
        }
        switch (c) {
        case '0': return 0;
        case 'n': shim__out_put(o, "\r\n", 2); break;
        case 'r': shim__out_put(o, "\r", 1); break;
        case 't': shim__out_put(o, "\t", 1); break;
        default: shim__out_put(o, &c, 1); break; /* %% %. %! and "% " */
        }
    }
    return 0;
}

/*** FormatMessageA (shim kernel32) ***/
DWORD WINAPI FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId,
                            DWORD dwLanguageId, LPSTR lpBuffer, DWORD nSize, va_list *Arguments)
{
    const char *src = NULL;
    char *text = NULL;
    struct shim_out out = { 0 };
    int err = 0;

    if (!lpBuffer) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER)
        *(LPSTR *)lpBuffer = NULL;
    if (dwFlags & FORMAT_MESSAGE_FROM_STRING) {
        src = lpSource;
        if (!src) {
            SetLastError(ERROR_INVALID_PARAMETER);
            return 0;
        }
    } else if (dwFlags & (FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_FROM_HMODULE)) {
        const char *msg = (dwFlags & FORMAT_MESSAGE_FROM_SYSTEM) ? shim__system_message(dwMessageId) : NULL;
        if (dwFlags & FORMAT_MESSAGE_FROM_HMODULE)
            SHIM_FIXME("modules carry no message tables; only the system table is searched");
        if (!msg) {
            SetLastError(ERROR_MR_MID_NOT_FOUND);
            return 0;
        }
        size_t n = strlen(msg);
        text = malloc(n + 3);
        if (!text)
            return shim_set_errno(ENOMEM), 0;
        memcpy(text, msg, n);
        memcpy(text + n, "\r\n", 3);
        src = text;
    } else {
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (dwLanguageId != 0 && PRIMARYLANGID(dwLanguageId) != LANG_ENGLISH &&
        PRIMARYLANGID(dwLanguageId) != LANG_NEUTRAL)
        SHIM_FIXME("only English message text exists");

    err = shim__format(&out, src, dwFlags, Arguments);
    free(text);
    if (!err)
        err = out.err;
    if (!err && out.len == 0)
        shim__out_put(&out, "", 0);
    if (err) {
        free(out.buf);
        return shim_set_errno(err), 0;
    }

    DWORD len = (DWORD)out.len;
    if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) {
        size_t size = (size_t)len + 1 > nSize ? (size_t)len + 1 : nSize;
        char *dst = shim__local_alloc(size);
        if (!dst) {
            free(out.buf);
            return shim_set_errno(ENOMEM), 0;
        }
        memcpy(dst, out.buf, (size_t)len + 1);
        *(LPSTR *)lpBuffer = dst;
    } else if ((size_t)len + 1 > nSize) {
        free(out.buf);
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    } else {
        memcpy(lpBuffer, out.buf, (size_t)len + 1);
    }
    free(out.buf);
    return len;
}
