/*
 * shimtest.h - a tiny Wine-style test harness for the Win32 conformance tests.
 *
 * The tests use Win32 names only, so the same source builds natively against libshim and
 * with mingw-w64 against the real kernel32 (run under Wine). Idioms, as in Wine's
 * dlls/ * /tests: SetLastError(0xdeadbeef) before a call, then check the return value and
 * GetLastError(), printing actual values on failure. DWORD is unsigned int natively and
 * unsigned long on Windows, so values are cast to unsigned long for "%lu".
 *
 *   ok(cond, fmt, ...)    one check; a failure prints file:line and the message
 *   trace(fmt, ...)       informational output
 *   broken(cond)          an answer older Windows versions give: true only when running on
 *                         real Windows, as in Wine's test.h, so neither Wine nor libshim can
 *                         pass a check through it
 *   wine_variance(cond)   an answer Wine gives where current Windows differs: true only under
 *                         Wine, so libshim must still give the Windows answer
 *   shimtest_on_wine()    running under Wine (ntdll exports wine_get_version)
 *   shimtest_on_windows() running on real Windows (a Windows build, not under Wine)
 *   shimtest_done(name)   prints "<name>: N passed, M failed"; returns the exit status, which
 *                         is a failure when a check failed or when no check ran at all
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
    if (shimtest_passed + shimtest_failed == 0) {
        printf("%s: no check ran\n", name);
        return 1;
    }
    return shimtest_failed ? 1 : 0;
}

/* Wine's ntdll exports wine_get_version; Windows' does not. Natively the program runs
 * against libshim, which is neither. */
static inline int shimtest_on_wine(void)
{
#ifdef _WIN32
    static int cached = -1;
    if (cached < 0) {
        HMODULE ntdll = GetModuleHandleA("ntdll.dll");
        cached = ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
    }
    return cached;
#else
    return 0;
#endif
}

static inline int shimtest_on_windows(void)
{
#ifdef _WIN32
    return !shimtest_on_wine();
#else
    return 0;
#endif
}

#define ok(cond, ...) shimtest_ok(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)
#define trace(...) shimtest_trace(__VA_ARGS__)
#define broken(cond) (shimtest_on_windows() && (cond))
#define wine_variance(cond) (shimtest_on_wine() && (cond))

/* Directory of the running executable, with its trailing separator, in buf. */
static inline void shimtest_exe_dir(char *buf, DWORD size)
{
    DWORD n = GetModuleFileNameA(NULL, buf, size);
    while (n > 0 && buf[n - 1] != '\\' && buf[n - 1] != '/')
        n--;
    buf[n] = '\0';
}

#endif
