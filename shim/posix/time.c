/*
 * time.c - tick counts, the performance counter and the system clock in Windows' units.
 *
 * GetTickCount(64) and QueryPerformanceCounter read CLOCK_MONOTONIC, which, like Windows'
 * tick count, never goes backwards and does not follow wall-clock changes. The performance
 * counter runs at 10 MHz (100 ns units), the frequency modern Windows and Wine report, so
 * code that hard-codes neither sees a difference. FILETIME counts 100 ns intervals since
 * 1601-01-01 UTC; SYSTEMTIME comes from gmtime_r (GetSystemTime) or localtime_r
 * (GetLocalTime), with wDayOfWeek 0 = Sunday as on Windows.
 */
#include <time.h>

#include "shim_private.h"

/* Seconds between 1601-01-01 and 1970-01-01. */
#define SHIM_EPOCH_DIFF 11644473600ULL

static ULONGLONG shim__monotonic_100ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ULONGLONG)ts.tv_sec * 10000000ULL + (ULONGLONG)ts.tv_nsec / 100;
}

/*** GetTickCount64 (shim kernel32) ***/
ULONGLONG WINAPI GetTickCount64(void)
{
    return shim__monotonic_100ns() / 10000;
}

/*** GetTickCount (shim kernel32) ***/
DWORD WINAPI GetTickCount(void)
{
    return (DWORD)GetTickCount64();   /* wraps after 49.7 days, as on Windows */
}

/*** QueryPerformanceCounter (shim kernel32) ***/
BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount)
{
    lpPerformanceCount->QuadPart = (LONGLONG)shim__monotonic_100ns();
    return TRUE;
}

/*** QueryPerformanceFrequency (shim kernel32) ***/
BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency)
{
    lpFrequency->QuadPart = 10000000;
    return TRUE;
}

/*** GetSystemTimeAsFileTime (shim kernel32) ***/
void WINAPI GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime)
{
    struct timespec ts;
    ULONGLONG t;

    clock_gettime(CLOCK_REALTIME, &ts);
    t = ((ULONGLONG)ts.tv_sec + SHIM_EPOCH_DIFF) * 10000000ULL + (ULONGLONG)ts.tv_nsec / 100;
    lpSystemTimeAsFileTime->dwLowDateTime = (DWORD)t;
    lpSystemTimeAsFileTime->dwHighDateTime = (DWORD)(t >> 32);
}

static void shim__systemtime(LPSYSTEMTIME st, BOOL local)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (local)
        localtime_r(&ts.tv_sec, &tm);
    else
        gmtime_r(&ts.tv_sec, &tm);
    st->wYear = (WORD)(tm.tm_year + 1900);
    st->wMonth = (WORD)(tm.tm_mon + 1);
    st->wDayOfWeek = (WORD)tm.tm_wday;
    st->wDay = (WORD)tm.tm_mday;
    st->wHour = (WORD)tm.tm_hour;
    st->wMinute = (WORD)tm.tm_min;
    st->wSecond = (WORD)(tm.tm_sec > 59 ? 59 : tm.tm_sec);   /* Windows has no leap second */
    st->wMilliseconds = (WORD)(ts.tv_nsec / 1000000);
}

/*** GetSystemTime (shim kernel32) ***/
void WINAPI GetSystemTime(LPSYSTEMTIME lpSystemTime)
{
    shim__systemtime(lpSystemTime, FALSE);
}

/*** GetLocalTime (shim kernel32) ***/
void WINAPI GetLocalTime(LPSYSTEMTIME lpSystemTime)
{
    shim__systemtime(lpSystemTime, TRUE);
}
