/*
 * shimtest.h - a tiny Wine-style test harness for the Win32 conformance tests.
 *
 * The tests use Win32 names only, so the same source builds natively against libshim and
 * with mingw-w64 against the real kernel32 (run under Wine). Idioms, as in Wine's
 * dlls/ * /tests: SetLastError(0xdeadbeef) before a call, then check the return value and
 * GetLastError(), printing actual values on failure. DWORD is unsigned int natively and
 * unsigned long on Windows, so values are cast to unsigned long for "%lu".
 *
 *   ok(cond, fmt, ...)   one check; a failure prints file:line and the message
 *   trace(fmt, ...)      informational output
 *   broken(cond)         documented variance between Windows versions: accepted as is
 *   shimtest_done(name)  prints "<name>: N passed, M failed"; returns the exit status
 */
#ifndef SHIMTEST_H
#define SHIMTEST_H

#include <windows.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int shimtest_passed, shimtest_failed;

#if defined(__GNUC__) && !defined(_WIN32)
#define SHIMTEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SHIMTEST_PRINTF(f, a)
#endif

static void shimtest_ok(const char *file, int line, int cond, const char *fmt, ...) SHIMTEST_PRINTF(4, 5);
static void shimtest_ok(const char *file, int line, int cond, const char *fmt, ...)
{
    va_list ap;
    const char *base = strrchr(file, '/');

    if (cond) {
        shimtest_passed++;
        return;
    }
    shimtest_failed++;
    printf("%s:%d: Test failed: ", base ? base + 1 : file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static inline void shimtest_trace(const char *fmt, ...) SHIMTEST_PRINTF(1, 2);
static inline void shimtest_trace(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static inline int shimtest_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, shimtest_passed, shimtest_failed);
    return shimtest_failed ? 1 : 0;
}

#define ok(cond, ...) shimtest_ok(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)
#define trace(...) shimtest_trace(__VA_ARGS__)
#define broken(cond) (cond)

/* Directory of the running executable, with its trailing separator, in buf. */
static inline void shimtest_exe_dir(char *buf, DWORD size)
{
    DWORD n = GetModuleFileNameA(NULL, buf, size);
    while (n > 0 && buf[n - 1] != '\\' && buf[n - 1] != '/')
        n--;
    buf[n] = '\0';
}

#endif
