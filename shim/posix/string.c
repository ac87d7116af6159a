/*
 * string.c - ANSI string functions: lstr*A, wsprintfA, the MSVC runtime's _stricmp and
 * _snprintf, GetEnvironmentVariableA and OutputDebugStringA.
 *
 * OutputDebugStringA hands each call to the sink set with ShimSetDebugSink (isapihost:
 * its error log at debug level), else writes it to stderr; either way as one line of at
 * most SHIM_DEBUG_STRING_MAX bytes (shim.h).
 *
 * lstrcmpA/lstrcmpiA follow Windows' linguistic order for ASCII rather than byte order:
 * strings are first compared case-insensitively, and only when they are equal that way
 * does case decide, lowercase first ("a" < "A" < "b"). Both return -1, 0 or 1. A NULL
 * pointer sorts before every string, as in kernel32.
 *
 * wsprintfA is user32's printf, not the C library's: %[-][#][0][width][.precision]
 * [l|h|w|I|I32|I64]type with types c C d i u x X s S p. `l` means 32 bits (a DWORD on
 * Win64), only I64 and I read 64 bits (I: pointer size), %p is zero-padded upper-case hex
 * as wide as a pointer, there is no floating point, an unknown type prints the character
 * itself, NULL strings print "(null)", and output stops at 1024 characters including the
 * NUL. Wide arguments (%S, %ls, %wc) are converted with WideCharToMultiByte(CP_ACP).
 */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_private.h"
#include <shim.h>

int shim__strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = shim__tolower((unsigned char)*a), cb = shim__tolower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

/*** lstrlenA (shim kernel32) ***/
int WINAPI lstrlenA(LPCSTR lpString)
{
    return lpString ? (int)strlen(lpString) : 0;
}

/*** lstrcpyA (shim kernel32) ***/
LPSTR WINAPI lstrcpyA(LPSTR lpString1, LPCSTR lpString2)
{
    if (!lpString1 || !lpString2) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    memmove(lpString1, lpString2, strlen(lpString2) + 1);
    return lpString1;
}

/*** lstrcpynA (shim kernel32) ***/
LPSTR WINAPI lstrcpynA(LPSTR lpString1, LPCSTR lpString2, int iMaxLength)
{
    UINT count = (UINT)iMaxLength;
    LPSTR d = lpString1;

    if (!lpString1 || (!lpString2 && count > 1)) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    /* Why: at most iMaxLength-1 characters, always terminated (unlike strncpy). */
    while (count > 1 && *lpString2) {
        *d++ = *lpString2++;
        count--;
    }
    if (count)
        *d = '\0';
    return lpString1;
}

/*** lstrcatA (shim kernel32) ***/
LPSTR WINAPI lstrcatA(LPSTR lpString1, LPCSTR lpString2)
{
    if (!lpString1 || !lpString2) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    memmove(lpString1 + strlen(lpString1), lpString2, strlen(lpString2) + 1);
    return lpString1;
}

static int shim__lstrcmp(const char *a, const char *b, BOOL nocase)
{
    int r;

    /* Why: kernel32 sorts NULL before every string, the empty one included. */
    if (!a || !b)
        return (a == b) ? 0 : a ? 1 : -1;
    r = shim__strcasecmp(a, b);
    if (r == 0 && !nocase) {
        for (; *a; a++, b++) {
            if (*a != *b) {
                /* same letter, different case: lowercase sorts first */
                r = islower((unsigned char)*a) ? -1 : 1;
                break;
            }
        }
    }
    return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/*** lstrcmpA (shim kernel32) ***/
int WINAPI lstrcmpA(LPCSTR lpString1, LPCSTR lpString2)
{
    return shim__lstrcmp(lpString1, lpString2, FALSE);
}

/*** lstrcmpiA (shim kernel32) ***/
int WINAPI lstrcmpiA(LPCSTR lpString1, LPCSTR lpString2)
{
    return shim__lstrcmp(lpString1, lpString2, TRUE);
}

/*** _stricmp (shim msvcrt) ***/
int _stricmp(const char *a, const char *b)
{
    return shim__strcasecmp(a, b);
}

/*** _strnicmp (shim msvcrt) ***/
int _strnicmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++) {
        int ca = shim__tolower((unsigned char)*a), cb = shim__tolower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
    return 0;
}

/*** _vsnprintf (shim msvcrt) ***/
int _vsnprintf(char *buf, size_t count, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return -1;
    if ((size_t)n < count)
        return vsnprintf(buf, count, fmt, ap);
    /* Why: MSVC's _vsnprintf fills the whole buffer without a terminating NUL when the
     * output does not fit, and returns -1 (a result of exactly count is not terminated
     * either and returns count). */
    if (count > 0) {
        char *tmp = malloc((size_t)n + 1);
        if (!tmp)
            return -1;
        vsnprintf(tmp, (size_t)n + 1, fmt, ap);
        memcpy(buf, tmp, count);
        free(tmp);
    }
    return (size_t)n == count ? n : -1;
}

/*** _snprintf (shim msvcrt) ***/
int _snprintf(char *buf, size_t count, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = _vsnprintf(buf, count, fmt, ap);
    va_end(ap);
    return n;
}

/* wsprintf output: at most `cap` characters before the NUL. */
struct shim_wout {
    char *p;
    size_t len, cap;
};

static void shim__wput(struct shim_wout *o, char c, size_t times)
{
    while (times-- > 0 && o->len < o->cap)
        o->p[o->len++] = c;
}

static void shim__wputs(struct shim_wout *o, const char *s, size_t n)
{
    while (n-- > 0 && o->len < o->cap)
        o->p[o->len++] = *s++;
}

#define SHIM_WSPRINTF_MAX 1024

/*** wvsprintfA (shim user32) ***/
int WINAPI wvsprintfA(LPSTR lpOut, LPCSTR lpFmt, va_list arglist)
{
    struct shim_wout o = { lpOut, 0, SHIM_WSPRINTF_MAX - 1 };
    const char *p = lpFmt;

    if (!lpOut || !lpFmt) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return -1;
    }
    while (*p && o.len < o.cap) {
        BOOL left = FALSE, prefix = FALSE, zero = FALSE, is_long = FALSE, is_short = FALSE;
        BOOL is_wide = FALSE, is_i64 = FALSE, is_ptr = FALSE, upper = FALSE;
        size_t width = 0, prec = 0;
        char digits[24], tmp[8];
        const char *str = NULL;
        size_t len = 0;
        int base = 10;
        ULONGLONG num = 0;
        BOOL neg = FALSE, numeric = FALSE;

        if (*p != '%') {
            shim__wput(&o, *p++, 1);
            continue;
        }
        p++;
        if (*p == '%') {
            shim__wput(&o, *p++, 1);
            continue;
        }
        if (*p == '-') { left = TRUE; p++; }
        if (*p == '#') { prefix = TRUE; p++; }
        if (*p == '0') { zero = TRUE; p++; }
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (size_t)(*p++ - '0');
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                prec = prec * 10 + (size_t)(*p++ - '0');
        }
        if (*p == 'l') { is_long = TRUE; p++; }
        else if (*p == 'h') { is_short = TRUE; p++; }
        else if (*p == 'w') { is_wide = TRUE; p++; }
        else if (*p == 'I') {
            if (p[1] == '6' && p[2] == '4') { is_i64 = TRUE; p += 3; }
            else if (p[1] == '3' && p[2] == '2') p += 3;
            else { is_ptr = TRUE; p++; }
        }
        switch (*p) {
        case 'c':
        case 'C': {
            BOOL wide = (*p == 'c') ? (is_long || is_wide) : !is_short;
            int c = va_arg(arglist, int);
            if (wide) {
                WCHAR wc = (WCHAR)c;
                int n = WideCharToMultiByte(CP_ACP, 0, &wc, 1, tmp, sizeof tmp, NULL, NULL);
                str = tmp;
                len = n > 0 ? (size_t)n : 0;
            } else {
                tmp[0] = (char)c;
                str = tmp;
                len = 1;
            }
            prec = len;
            break;
        }
        case 's':
        case 'S': {
            BOOL wide = (*p == 's') ? (is_long || is_wide) : !is_short;
            if (wide) {
                const WCHAR *ws = va_arg(arglist, const WCHAR *);
                static const WCHAR null_w[] = { '(', 'n', 'u', 'l', 'l', ')', 0 };
                char conv[SHIM_WSPRINTF_MAX * 4];
                int n = WideCharToMultiByte(CP_ACP, 0, ws ? ws : null_w, -1, conv, sizeof conv, NULL, NULL);
                len = n > 0 ? (size_t)n - 1 : 0;
                if (prec && len > prec)
                    len = prec;
                if (!left)
                    shim__wput(&o, ' ', width > len ? width - len : 0);
                shim__wputs(&o, conv, len);
                if (left)
                    shim__wput(&o, ' ', width > len ? width - len : 0);
                p++;
                continue;
            }
            str = va_arg(arglist, const char *);
            if (!str)
                str = "(null)";
            for (len = 0; (!prec || len < prec) && str[len]; len++)
                ;
            prec = len;
            break;
        }
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'p':
            numeric = TRUE;
            if (*p == 'p') {
                width = 2 * sizeof(void *);
                zero = TRUE;
                is_ptr = TRUE;
            }
            if (*p == 'x' || *p == 'X' || *p == 'p')
                base = 16;
            upper = *p != 'x';
            /* Why: `l` is 32 bits on Windows, so "%lu" with a DWORD reads an int. */
            if (is_ptr)
                num = (ULONGLONG)va_arg(arglist, ULONG_PTR);
            else if (is_i64)
                num = (ULONGLONG)va_arg(arglist, LONGLONG);
            else
                num = (ULONGLONG)(DWORD)va_arg(arglist, int);
            if ((*p == 'd' || *p == 'i')) {
                LONGLONG s = is_ptr ? (LONGLONG)(LONG_PTR)num : is_i64 ? (LONGLONG)num : (LONGLONG)(LONG)(DWORD)num;
                if (s < 0) {
                    neg = TRUE;
                    num = (ULONGLONG)0 - (ULONGLONG)s;
                }
            }
            break;
        default:
            /* unknown type: the character itself is printed as plain text */
            continue;
        }
        (void)is_long;
        p++;

        if (left)
            zero = FALSE;
        if (numeric) {
            const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
            size_t nd = 0;
            char rev[24];
            do {
                rev[nd++] = set[num % (ULONGLONG)base];
                num /= (ULONGLONG)base;
            } while (num);
            for (size_t i = 0; i < nd; i++)
                digits[i] = rev[nd - 1 - i];
            len = nd + (neg ? 1 : 0);
            if (prec < len)
                prec = len;
            if (zero && width > prec)
                prec = width;
            BOOL hex_prefix = prefix && base == 16;
            size_t shown = prec + (hex_prefix ? 2 : 0);
            if (!left)
                shim__wput(&o, ' ', width > shown ? width - shown : 0);
            if (hex_prefix) {
                shim__wput(&o, '0', 1);
                shim__wput(&o, upper ? 'X' : 'x', 1);
            }
            if (neg)
                shim__wput(&o, '-', 1);
            shim__wput(&o, '0', prec - len);
            shim__wputs(&o, digits, nd);
            if (left)
                shim__wput(&o, ' ', width > shown ? width - shown : 0);
        } else {
            if (!left)
                shim__wput(&o, ' ', width > prec ? width - prec : 0);
            shim__wputs(&o, str, len);
            if (left)
                shim__wput(&o, ' ', width > prec ? width - prec : 0);
        }
    }
    lpOut[o.len] = '\0';
    return (int)o.len;
}

/*** wsprintfA (shim user32) ***/
int WINAPIV wsprintfA(LPSTR lpOut, LPCSTR lpFmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, lpFmt);
    n = wvsprintfA(lpOut, lpFmt, ap);
    va_end(ap);
    return n;
}

/*** GetEnvironmentVariableA (shim kernel32) ***/
DWORD WINAPI GetEnvironmentVariableA(LPCSTR lpName, LPSTR lpBuffer, DWORD nSize)
{
    const char *value;
    size_t len;

    if (!lpName || !*lpName || strchr(lpName, '=')) {
        SetLastError(ERROR_ENVVAR_NOT_FOUND);
        return 0;
    }
    value = getenv(lpName);
    if (!value) {
        shim_set_errno(SHIM_E_ENVVAR_NOT_FOUND);
        return 0;
    }
    len = strlen(value);
    if (len + 1 > nSize || !lpBuffer)
        return (DWORD)len + 1;   /* required size, NUL included; no error is set */
    memcpy(lpBuffer, value, len + 1);
    if (len == 0)
        SetLastError(ERROR_SUCCESS);   /* Why: 0 is also the failure value */
    return (DWORD)len;
}

size_t shim__one_line(char *dst, const char *src, size_t max)
{
    size_t n = 0;

    while (n < max && src[n]) {
        unsigned char c = (unsigned char)src[n];
        dst[n++] = (c == '\r' || c == '\n' || c == '\t') ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (src[n]) {
        memcpy(dst + n, "...", 3);
        n += 3;
    } else {
        /* A trailing newline ends the text; it is not part of it. */
        while (n > 0 && dst[n - 1] == ' ' && (src[n - 1] == '\n' || src[n - 1] == '\r'))
            n--;
    }
    dst[n] = '\0';
    return n;
}

static _Atomic(ShimDebugSink) shim_debug_sink;

/*** ShimSetDebugSink (shim) ***/
void ShimSetDebugSink(ShimDebugSink sink)
{
    atomic_store(&shim_debug_sink, sink);
}

/*** OutputDebugStringA (shim kernel32) ***/
void WINAPI OutputDebugStringA(LPCSTR lpOutputString)
{
    /* No debugger to receive it: the text goes to the host's sink, or to stderr tagged
     * with the process and the Win32 thread id. Either way one bounded line per call, so
     * a filter that logs a lot cannot fill a disk with one call or break the log's lines. */
    char line[SHIM_DEBUG_STRING_MAX + 4];
    size_t n = shim__one_line(line, lpOutputString ? lpOutputString : "", SHIM_DEBUG_STRING_MAX);
    ShimDebugSink sink = atomic_load(&shim_debug_sink);

    if (sink)
        sink(line, n);
    else
        fprintf(stderr, "OutputDebugString[%lu:%lu]: %s\n", (unsigned long)GetCurrentProcessId(),
                (unsigned long)GetCurrentThreadId(), line);
}
