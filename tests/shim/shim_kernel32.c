/*
 * shim_kernel32.c - conformance tests for kernel32: last error, FormatMessageA, critical
 * sections, Interlocked*, events, mutexes, threads and waits, TLS, time, heaps and
 * Local/Global memory, and profile (.ini) strings.
 */
#include "shimtest.h"

/* Every code in the shim's winerror.h: FormatMessageA must know all of them. */
static const DWORD all_codes[] = {
    ERROR_SUCCESS, ERROR_INVALID_FUNCTION, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND,
    ERROR_TOO_MANY_OPEN_FILES, ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE, ERROR_NOT_ENOUGH_MEMORY,
    ERROR_BAD_FORMAT, ERROR_INVALID_DATA, ERROR_OUTOFMEMORY, ERROR_NO_MORE_FILES, ERROR_WRITE_FAULT,
    ERROR_READ_FAULT, ERROR_GEN_FAILURE, ERROR_SHARING_VIOLATION, ERROR_HANDLE_EOF, ERROR_NOT_SUPPORTED,
    ERROR_NETNAME_DELETED, ERROR_FILE_EXISTS, ERROR_INVALID_PARAMETER, ERROR_BROKEN_PIPE,
    ERROR_BUFFER_OVERFLOW, ERROR_DISK_FULL, ERROR_CALL_NOT_IMPLEMENTED, ERROR_INSUFFICIENT_BUFFER,
    ERROR_INVALID_NAME, ERROR_MOD_NOT_FOUND, ERROR_PROC_NOT_FOUND, ERROR_NEGATIVE_SEEK,
    ERROR_DIR_NOT_EMPTY, ERROR_BUSY, ERROR_ALREADY_EXISTS, ERROR_BAD_EXE_FORMAT,
    ERROR_ENVVAR_NOT_FOUND, ERROR_FILENAME_EXCED_RANGE, ERROR_NO_DATA, ERROR_MORE_DATA, WAIT_TIMEOUT,
    ERROR_NO_MORE_ITEMS, ERROR_NOT_OWNER, ERROR_TOO_MANY_POSTS, ERROR_MR_MID_NOT_FOUND,
    ERROR_INVALID_ADDRESS, ERROR_ARITHMETIC_OVERFLOW, ERROR_OPERATION_ABORTED, ERROR_IO_PENDING,
    ERROR_NOACCESS, ERROR_INVALID_FLAGS, ERROR_BADDB, ERROR_BADKEY, ERROR_CANTOPEN, ERROR_CANTREAD,
    ERROR_DLL_INIT_FAILED, ERROR_NO_UNICODE_TRANSLATION, ERROR_INVALID_INDEX, ERROR_TIMEOUT,
    ERROR_CONNECTION_REFUSED, ERROR_CONNECTION_ABORTED,
};

static void test_last_error(void)
{
    SetLastError(0xdeadbeef);
    ok(GetLastError() == 0xdeadbeef, "got %lu\n", (unsigned long)GetLastError());
    SetLastError(ERROR_SUCCESS);
    ok(GetLastError() == 0, "got %lu\n", (unsigned long)GetLastError());
}

static DWORD WINAPI last_error_thread(LPVOID arg)
{
    SetLastError(1234);
    return GetLastError();
}

static void test_last_error_per_thread(void)
{
    DWORD code = 0;
    HANDLE t;

    SetLastError(0xdeadbeef);
    t = CreateThread(NULL, 0, last_error_thread, NULL, 0, NULL);
    ok(t != NULL, "CreateThread failed\n");
    if (!t)
        return;
    ok(WaitForSingleObject(t, 10000) == WAIT_OBJECT_0, "thread did not finish\n");
    ok(GetExitCodeThread(t, &code) && code == 1234, "thread's last error %lu\n", (unsigned long)code);
    ok(GetLastError() == 0xdeadbeef, "another thread changed this thread's last error to %lu\n",
       (unsigned long)GetLastError());
    CloseHandle(t);
}

static void test_format_message(void)
{
    char buf[512], *alloc = NULL;
    DWORD n;
    const DWORD flags = FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;

    for (size_t i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
        SetLastError(0xdeadbeef);
        n = FormatMessageA(flags, NULL, all_codes[i], 0, buf, sizeof buf, NULL);
        /* Wine has no text for WAIT_TIMEOUT; Windows has ("The wait operation timed out."). */
        ok((n > 2 && n == strlen(buf)) || wine_variance(all_codes[i] == WAIT_TIMEOUT && n == 0),
           "code %lu: returned %lu, error %lu\n", (unsigned long)all_codes[i], (unsigned long)n,
           (unsigned long)GetLastError());
        if (n > 2)
            ok(buf[n - 2] == '\r' && buf[n - 1] == '\n', "code %lu: \"%s\" does not end in CRLF\n",
               (unsigned long)all_codes[i], buf);
    }

    n = FormatMessageA(flags, NULL, ERROR_FILE_NOT_FOUND, 0, buf, sizeof buf, NULL);
    {
        char lower[512];
        lstrcpynA(lower, buf, sizeof lower);
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        ok(n > 0 && strstr(lower, "file") != NULL, "ERROR_FILE_NOT_FOUND text \"%s\"\n", buf);
    }

    /* Inserts stay as they are with IGNORE_INSERTS. */
    n = FormatMessageA(flags, NULL, ERROR_BAD_EXE_FORMAT, 0, buf, sizeof buf, NULL);
    ok(n > 0 && strstr(buf, "%1") != NULL, "ERROR_BAD_EXE_FORMAT text \"%s\"\n", buf);

    SetLastError(0xdeadbeef);
    n = FormatMessageA(flags, NULL, 0x2345678, 0, buf, sizeof buf, NULL);
    ok(n == 0, "unknown id returned %lu\n", (unsigned long)n);
    ok(GetLastError() == ERROR_MR_MID_NOT_FOUND, "unknown id: got %lu\n", (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    n = FormatMessageA(flags | FORMAT_MESSAGE_ALLOCATE_BUFFER, NULL, ERROR_ACCESS_DENIED, 0,
                       (LPSTR)&alloc, 0, NULL);
    ok(n > 0 && alloc != NULL && n == strlen(alloc), "ALLOCATE_BUFFER returned %lu\n", (unsigned long)n);
    ok(LocalFree(alloc) == NULL, "LocalFree of the message failed\n");

    SetLastError(0xdeadbeef);
    n = FormatMessageA(flags, NULL, ERROR_ACCESS_DENIED, 0, buf, 3, NULL);
    ok(n == 0, "too small buffer returned %lu\n", (unsigned long)n);
    ok(GetLastError() == ERROR_INSUFFICIENT_BUFFER, "too small: got %lu\n", (unsigned long)GetLastError());

    /* MAX_WIDTH_MASK drops the message's own line break. */
    n = FormatMessageA(flags | FORMAT_MESSAGE_MAX_WIDTH_MASK, NULL, ERROR_ACCESS_DENIED, 0, buf, sizeof buf, NULL);
    ok(n > 0 && strchr(buf, '\n') == NULL, "MAX_WIDTH_MASK kept a newline: \"%s\"\n", buf);

    /* FROM_STRING with inserts from an argument array. */
    {
        DWORD_PTR args[] = { (DWORD_PTR)"world", 42 };
        n = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY,
                           "hello %1, %2!u! %% done%n", 0, 0, buf, sizeof buf, (va_list *)args);
        ok(n == strlen("hello world, 42 % done\r\n") && strcmp(buf, "hello world, 42 % done\r\n") == 0,
           "FROM_STRING gave %lu \"%s\"\n", (unsigned long)n, buf);
    }
}

static DWORD WINAPI try_enter_thread(LPVOID arg)
{
    CRITICAL_SECTION *cs = arg;
    if (TryEnterCriticalSection(cs)) {
        LeaveCriticalSection(cs);
        return 1;
    }
    return 0;
}

static void test_critical_section(void)
{
    CRITICAL_SECTION cs;
    HANDLE t;
    DWORD code = 99;

    InitializeCriticalSection(&cs);
    ok(cs.RecursionCount == 0 && cs.OwningThread == NULL, "fresh section owned\n");
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);
    ok(TryEnterCriticalSection(&cs), "recursive TryEnter failed\n");
    ok(cs.RecursionCount == 3, "RecursionCount %ld\n", (long)cs.RecursionCount);
    ok(cs.OwningThread == (HANDLE)(ULONG_PTR)GetCurrentThreadId(), "OwningThread %p, thread id %lu\n",
       (void *)cs.OwningThread, (unsigned long)GetCurrentThreadId());

    t = CreateThread(NULL, 0, try_enter_thread, &cs, 0, NULL);
    ok(t && WaitForSingleObject(t, 10000) == WAIT_OBJECT_0, "thread wait failed\n");
    ok(t && GetExitCodeThread(t, &code) && code == 0, "another thread entered an owned section (%lu)\n",
       (unsigned long)code);
    if (t)
        CloseHandle(t);

    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    ok(cs.RecursionCount == 0 && cs.OwningThread == NULL, "released section: count %ld owner %p\n",
       (long)cs.RecursionCount, (void *)cs.OwningThread);

    t = CreateThread(NULL, 0, try_enter_thread, &cs, 0, NULL);
    ok(t && WaitForSingleObject(t, 10000) == WAIT_OBJECT_0, "thread wait failed\n");
    ok(t && GetExitCodeThread(t, &code) && code == 1, "free section not enterable (%lu)\n", (unsigned long)code);
    if (t)
        CloseHandle(t);
    DeleteCriticalSection(&cs);

    SetLastError(0xdeadbeef);
    ok(InitializeCriticalSectionAndSpinCount(&cs, 4000), "InitializeCriticalSectionAndSpinCount failed\n");
    EnterCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    DeleteCriticalSection(&cs);
}

static LONG volatile counter;

static DWORD WINAPI increment_thread(LPVOID arg)
{
    for (int i = 0; i < 10000; i++)
        InterlockedIncrement(&counter);
    return 0;
}

static void test_interlocked(void)
{
    LONG v = 5;
    PVOID p = NULL, q;
    HANDLE t[4];

    ok(InterlockedIncrement(&v) == 6 && v == 6, "InterlockedIncrement gave %ld\n", (long)v);
    ok(InterlockedDecrement(&v) == 5 && v == 5, "InterlockedDecrement gave %ld\n", (long)v);
    ok(InterlockedExchange(&v, 9) == 5 && v == 9, "InterlockedExchange: %ld\n", (long)v);
    ok(InterlockedExchangeAdd(&v, -4) == 9 && v == 5, "InterlockedExchangeAdd: %ld\n", (long)v);
    ok(InterlockedCompareExchange(&v, 7, 4) == 5 && v == 5, "CompareExchange swapped on mismatch: %ld\n", (long)v);
    ok(InterlockedCompareExchange(&v, 7, 5) == 5 && v == 7, "CompareExchange did not swap: %ld\n", (long)v);
    q = InterlockedExchangePointer(&p, &v);
    ok(q == NULL && p == &v, "InterlockedExchangePointer\n");
    ok(InterlockedCompareExchangePointer(&p, NULL, &v) == &v && p == NULL, "CompareExchangePointer\n");
    v = -1;
    ok(InterlockedIncrement(&v) == 0, "increment to zero\n");

    counter = 0;
    for (int i = 0; i < 4; i++)
        t[i] = CreateThread(NULL, 0, increment_thread, NULL, 0, NULL);
    for (int i = 0; i < 4; i++) {
        ok(t[i] && WaitForSingleObject(t[i], 30000) == WAIT_OBJECT_0, "incrementer %d\n", i);
        if (t[i])
            CloseHandle(t[i]);
    }
    ok(counter == 40000, "4 threads x 10000 increments gave %ld\n", (long)counter);
}

struct mutex_arg {
    HANDLE mutex;
    DWORD wait, release_ok, release_error;
};

static DWORD WINAPI mutex_thread(LPVOID p)
{
    struct mutex_arg *a = p;
    SetLastError(0xdeadbeef);
    a->release_ok = ReleaseMutex(a->mutex);
    a->release_error = GetLastError();
    a->wait = WaitForSingleObject(a->mutex, 50);
    return 0;
}

/* Milliseconds from the performance counter (GetTickCount is coarse under Wine). */
static LONGLONG now_ms(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return c.QuadPart * 1000 / f.QuadPart;
}

static DWORD WINAPI exit_code_thread(LPVOID p)
{
    HANDLE go = p;
    WaitForSingleObject(go, INFINITE);
    return 77;
}

static void test_sync_objects(void)
{
    HANDLE ev, mx, t;
    DWORD r, code, tid = 0;
    LONGLONG start_ms;
    struct mutex_arg a;

    /* auto-reset event */
    SetLastError(0xdeadbeef);
    ev = CreateEventA(NULL, FALSE, FALSE, NULL);
    ok(ev != NULL, "CreateEventA failed: %lu\n", (unsigned long)GetLastError());
    ok(GetLastError() == ERROR_SUCCESS, "CreateEventA last error %lu\n", (unsigned long)GetLastError());
    r = WaitForSingleObject(ev, 0);
    ok(r == WAIT_TIMEOUT, "unsignalled event: got %lu\n", (unsigned long)r);
    start_ms = now_ms();
    r = WaitForSingleObject(ev, 100);
    ok(r == WAIT_TIMEOUT, "timed wait: got %lu\n", (unsigned long)r);
    ok(now_ms() - start_ms >= 90, "100 ms wait took %ld ms\n", (long)(now_ms() - start_ms));
    ok(SetEvent(ev), "SetEvent failed\n");
    ok(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0, "signalled event not acquired\n");
    ok(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT, "auto-reset event stayed signalled\n");
    ok(CloseHandle(ev), "CloseHandle(event) failed\n");

    /* manual-reset event */
    ev = CreateEventA(NULL, TRUE, TRUE, NULL);
    ok(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0 && WaitForSingleObject(ev, 0) == WAIT_OBJECT_0,
       "manual-reset event reset by a wait\n");
    ok(ResetEvent(ev), "ResetEvent failed\n");
    ok(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT, "reset event signalled\n");

    /* thread exit codes and waits */
    t = CreateThread(NULL, 0, exit_code_thread, ev, 0, &tid);
    ok(t != NULL && tid != 0, "CreateThread failed\n");
    ok(tid != GetCurrentThreadId(), "new thread has this thread's id %lu\n", (unsigned long)tid);
    ok(GetExitCodeThread(t, &code) && code == STILL_ACTIVE, "running thread exit code %lu\n", (unsigned long)code);
    ok(WaitForSingleObject(t, 50) == WAIT_TIMEOUT, "blocked thread finished\n");
    SetEvent(ev);
    ok(WaitForSingleObject(t, INFINITE) == WAIT_OBJECT_0, "INFINITE wait on thread failed\n");
    ok(GetExitCodeThread(t, &code) && code == 77, "exit code %lu\n", (unsigned long)code);
    ok(WaitForSingleObject(t, 0) == WAIT_OBJECT_0, "finished thread not signalled\n");
    ok(CloseHandle(t), "CloseHandle(thread) failed\n");
    CloseHandle(ev);

    /* mutex: owned, recursive, non-owner release fails */
    SetLastError(0xdeadbeef);
    mx = CreateMutexA(NULL, TRUE, NULL);
    ok(mx != NULL, "CreateMutexA failed\n");
    ok(WaitForSingleObject(mx, 0) == WAIT_OBJECT_0, "owner cannot re-acquire its mutex\n");
    a.mutex = mx;
    t = CreateThread(NULL, 0, mutex_thread, &a, 0, NULL);
    ok(t && WaitForSingleObject(t, 10000) == WAIT_OBJECT_0, "mutex thread\n");
    ok(!a.release_ok && a.release_error == ERROR_NOT_OWNER, "non-owner ReleaseMutex: %lu, error %lu\n",
       (unsigned long)a.release_ok, (unsigned long)a.release_error);
    ok(a.wait == WAIT_TIMEOUT, "non-owner acquired an owned mutex: %lu\n", (unsigned long)a.wait);
    if (t)
        CloseHandle(t);
    ok(ReleaseMutex(mx), "first release failed\n");
    ok(ReleaseMutex(mx), "second release failed\n");
    SetLastError(0xdeadbeef);
    ok(!ReleaseMutex(mx), "third release succeeded\n");
    ok(GetLastError() == ERROR_NOT_OWNER, "over-release: got %lu\n", (unsigned long)GetLastError());
    CloseHandle(mx);

    /* bad handles */
    SetLastError(0xdeadbeef);
    ok(!CloseHandle((HANDLE)(ULONG_PTR)0x12340), "CloseHandle of a bogus handle succeeded\n");
    ok(GetLastError() == ERROR_INVALID_HANDLE, "bogus CloseHandle: got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!CloseHandle(mx), "double CloseHandle succeeded\n");
    ok(GetLastError() == ERROR_INVALID_HANDLE, "double close: got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    r = WaitForSingleObject((HANDLE)(ULONG_PTR)0x12340, 0);
    ok(r == WAIT_FAILED, "wait on bogus handle: %lu\n", (unsigned long)r);
    ok(GetLastError() == ERROR_INVALID_HANDLE, "bogus wait: got %lu\n", (unsigned long)GetLastError());

    ok(GetCurrentProcessId() != 0, "process id 0\n");
    ok(GetCurrentThreadId() != 0, "thread id 0\n");
    start_ms = now_ms();
    Sleep(30);
    ok(now_ms() - start_ms >= 25, "Sleep(30) took %ld ms\n", (long)(now_ms() - start_ms));
}

static DWORD tls_index;

static DWORD WINAPI tls_thread(LPVOID p)
{
    if (TlsGetValue(tls_index) != NULL)
        return 1;
    TlsSetValue(tls_index, p);
    return TlsGetValue(tls_index) == p ? 0 : 2;
}

static void test_tls(void)
{
    HANDLE t;
    DWORD code = 99;
    int x;

    tls_index = TlsAlloc();
    ok(tls_index != TLS_OUT_OF_INDEXES, "TlsAlloc failed\n");
    SetLastError(0xdeadbeef);
    ok(TlsGetValue(tls_index) == NULL, "fresh slot not NULL\n");
    ok(GetLastError() == ERROR_SUCCESS, "TlsGetValue success: got %lu\n", (unsigned long)GetLastError());
    ok(TlsSetValue(tls_index, &x), "TlsSetValue failed\n");
    ok(TlsGetValue(tls_index) == &x, "TlsGetValue lost the value\n");
    t = CreateThread(NULL, 0, tls_thread, &code, 0, NULL);
    ok(t && WaitForSingleObject(t, 10000) == WAIT_OBJECT_0 && GetExitCodeThread(t, &code) && code == 0,
       "slot shared between threads (%lu)\n", (unsigned long)code);
    if (t)
        CloseHandle(t);
    ok(TlsGetValue(tls_index) == &x, "another thread changed this thread's slot\n");
    ok(TlsFree(tls_index), "TlsFree failed\n");

    SetLastError(0xdeadbeef);
    ok(TlsGetValue(5000) == NULL, "out-of-range slot\n");
    ok(GetLastError() == ERROR_INVALID_PARAMETER, "TlsGetValue(5000): got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!TlsSetValue(5000, &x), "TlsSetValue(5000) succeeded\n");
    ok(GetLastError() == ERROR_INVALID_PARAMETER, "TlsSetValue(5000): got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!TlsFree(5000), "TlsFree(5000) succeeded\n");
    ok(GetLastError() == ERROR_INVALID_PARAMETER, "TlsFree(5000): got %lu\n", (unsigned long)GetLastError());
}

static ULONGLONG filetime64(const FILETIME *ft)
{
    return ((ULONGLONG)ft->dwHighDateTime << 32) | ft->dwLowDateTime;
}

static void test_time(void)
{
    LARGE_INTEGER f, c1, c2;
    SYSTEMTIME st, lt;
    FILETIME ft;
    ULONGLONG t64a, t64b;
    DWORD t1;

    f.QuadPart = 0;
    ok(QueryPerformanceFrequency(&f) && f.QuadPart > 0, "frequency %ld\n", (long)f.QuadPart);
    ok(QueryPerformanceCounter(&c1), "QueryPerformanceCounter failed\n");
    t1 = GetTickCount();
    t64a = GetTickCount64();
    Sleep(100);
    ok(QueryPerformanceCounter(&c2) && c2.QuadPart > c1.QuadPart, "counter did not advance\n");
    t64b = GetTickCount64();
    {
        LONGLONG ms = (c2.QuadPart - c1.QuadPart) * 1000 / f.QuadPart;
        ok(ms >= 90 && ms < 5000, "100 ms measured as %ld ms\n", (long)ms);
    }
    /* The tick count may lag by a timer period (about 16 ms on Windows and Wine). */
    ok(GetTickCount() - t1 >= 60, "tick count advanced %lu ms\n", (unsigned long)(GetTickCount() - t1));
    ok(t64b - t64a >= 60 && t64b - t64a < 5000, "tick count 64 advanced %lu ms\n", (unsigned long)(t64b - t64a));
    ok((DWORD)t64b - GetTickCount() < 1000, "GetTickCount is not the low part of GetTickCount64\n");

    GetSystemTime(&st);
    GetLocalTime(&lt);
    GetSystemTimeAsFileTime(&ft);
    ok(st.wYear >= 2024 && st.wYear < 2200, "year %u\n", st.wYear);
    ok(st.wMonth >= 1 && st.wMonth <= 12 && st.wDay >= 1 && st.wDay <= 31 && st.wDayOfWeek <= 6 &&
       st.wHour < 24 && st.wMinute < 60 && st.wSecond < 60 && st.wMilliseconds < 1000,
       "system time %u-%u-%u %u:%u:%u.%u dow %u\n", st.wYear, st.wMonth, st.wDay, st.wHour, st.wMinute,
       st.wSecond, st.wMilliseconds, st.wDayOfWeek);
    ok(lt.wYear >= st.wYear - 1 && lt.wYear <= st.wYear + 1 && lt.wMinute < 60, "local time %u\n", lt.wYear);
    {
        /* FILETIME: 100 ns units since 1601; 2024-01-01 is 133485408000000000. */
        ULONGLONG t = filetime64(&ft);
        ULONGLONG years = (t / 10000000ULL) / 31556952ULL;   /* mean Gregorian year */
        ok(t > 133485408000000000ULL, "FILETIME %lu years after 1601 is before 2024\n", (unsigned long)years);
        ok((DWORD)(1601 + years) == st.wYear || (DWORD)(1601 + years) + 1 == st.wYear ||
           (DWORD)(1601 + years) == st.wYear + 1u,
           "FILETIME year %lu, SYSTEMTIME year %u\n", (unsigned long)(1601 + years), st.wYear);
    }
}

static void test_heap(void)
{
    HANDLE heap = GetProcessHeap(), h2;
    BYTE *p, *q;
    SIZE_T size;
    HLOCAL l;
    HGLOBAL g;

    ok(heap != NULL, "GetProcessHeap failed\n");
    p = HeapAlloc(heap, HEAP_ZERO_MEMORY, 100);
    ok(p != NULL, "HeapAlloc failed\n");
    if (!p)
        return;
    size = HeapSize(heap, 0, p);
    ok(size == 100, "HeapSize %lu\n", (unsigned long)size);
    {
        int zero = 1;
        for (int i = 0; i < 100; i++)
            zero &= p[i] == 0;
        ok(zero, "HEAP_ZERO_MEMORY block not zeroed\n");
    }
    memset(p, 0xab, 100);
    q = HeapReAlloc(heap, HEAP_ZERO_MEMORY, p, 300);
    ok(q != NULL && HeapSize(heap, 0, q) == 300, "HeapReAlloc to 300\n");
    if (q) {
        ok(q[0] == 0xab && q[99] == 0xab && q[100] == 0 && q[299] == 0, "realloc lost or did not zero data\n");
        p = q;
    }
    ok(HeapFree(heap, 0, p), "HeapFree failed\n");
    ok(HeapFree(heap, 0, NULL), "HeapFree(NULL) failed\n");

    h2 = HeapCreate(0, 0, 0);
    ok(h2 != NULL && h2 != heap, "HeapCreate failed\n");
    if (h2) {
        p = HeapAlloc(h2, 0, 10);
        q = HeapAlloc(h2, 0, 0);
        ok(p && q, "HeapAlloc on a private heap failed\n");
        ok(q && HeapSize(h2, 0, q) == 0, "zero-size block size\n");
        ok(HeapDestroy(h2), "HeapDestroy failed\n");   /* frees p and q too */
    }

    l = LocalAlloc(LPTR, 16);
    ok(l != NULL && ((BYTE *)l)[15] == 0, "LocalAlloc(LPTR) failed or not zeroed\n");
    ok(LocalFree(l) == NULL, "LocalFree failed\n");
    ok(LocalFree(NULL) == NULL, "LocalFree(NULL)\n");
    g = GlobalAlloc(GPTR, 16);
    ok(g != NULL && ((BYTE *)g)[7] == 0, "GlobalAlloc(GPTR) failed or not zeroed\n");
    ok(GlobalFree(g) == NULL, "GlobalFree failed\n");
}

static char ini[MAX_PATH];

static void test_profile(void)
{
    char buf[256];
    DWORD n;
    FILE *f;

    shimtest_exe_dir(ini, sizeof ini);
    lstrcatA(ini, "shim_kernel32_test.ini");
    f = fopen(ini, "wb");
    ok(f != NULL, "cannot write %s\n", ini);
    if (!f)
        return;
    fputs("; comment\r\n[Server]\r\n  Name = Alpha Beta  \r\nPort=8080\r\nQuoted=\"with spaces \"\r\n"
          "Single='x'\r\nMixed=12abc\r\nText=abc\r\nEmpty=\r\n\r\n[Other]\r\nkey=v\r\n", f);
    fclose(f);

    SetLastError(0xdeadbeef);
    n = GetPrivateProfileStringA("server", "NAME", "dflt", buf, sizeof buf, ini);
    ok(n == 10 && strcmp(buf, "Alpha Beta") == 0, "case-insensitive lookup: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Quoted", "", buf, sizeof buf, ini);
    ok(n == 12 && strcmp(buf, "with spaces ") == 0, "quotes: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Single", "", buf, sizeof buf, ini);
    ok(n == 1 && strcmp(buf, "x") == 0, "single quotes: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Missing", "def  ", buf, sizeof buf, ini);
    ok(n == 3 && strcmp(buf, "def") == 0, "default: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Missing", NULL, buf, sizeof buf, ini);
    ok(n == 0 && buf[0] == '\0', "NULL default: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Name", "", buf, 5, ini);
    ok(n == 4 && strcmp(buf, "Alph") == 0, "truncated value: %lu \"%s\"\n", (unsigned long)n, buf);
    n = GetPrivateProfileStringA("Server", "Empty", "dflt", buf, sizeof buf, ini);
    ok(n == 0 && buf[0] == '\0', "empty value: %lu \"%s\"\n", (unsigned long)n, buf);

    memset(buf, 'x', sizeof buf);
    n = GetPrivateProfileStringA(NULL, NULL, "", buf, sizeof buf, ini);
    ok(n == 13 && memcmp(buf, "Server\0Other\0\0", 14) == 0, "section list: %lu \"%s\"\n", (unsigned long)n, buf);
    memset(buf, 'x', sizeof buf);
    n = GetPrivateProfileStringA("Other", NULL, "", buf, sizeof buf, ini);
    ok(n == 4 && memcmp(buf, "key\0\0", 5) == 0, "key list: %lu \"%s\"\n", (unsigned long)n, buf);
    memset(buf, 'x', sizeof buf);
    n = GetPrivateProfileStringA("Server", NULL, "", buf, 10, ini);
    /* A list that does not fit is cut to nSize-2 characters, the last one a NUL. */
    ok(n == 8 && memcmp(buf, "Name\0Por\0", 9) == 0, "truncated key list: %lu\n", (unsigned long)n);

    ok(GetPrivateProfileIntA("Server", "Port", 1, ini) == 8080, "int\n");
    ok(GetPrivateProfileIntA("Server", "Mixed", 1, ini) == 12, "leading digits: %u\n",
       GetPrivateProfileIntA("Server", "Mixed", 1, ini));
    ok(GetPrivateProfileIntA("Server", "Text", 1, ini) == 0, "non-numeric: %u\n",
       GetPrivateProfileIntA("Server", "Text", 1, ini));
    ok(GetPrivateProfileIntA("Server", "Missing", 33, ini) == 33, "int default\n");
    ok(GetPrivateProfileIntA("Server", "Empty", 34, ini) == 34, "empty int: %u\n",
       GetPrivateProfileIntA("Server", "Empty", 34, ini));

    lstrcatA(ini, ".missing");
    SetLastError(0xdeadbeef);
    n = GetPrivateProfileStringA("Server", "Name", "dflt", buf, sizeof buf, ini);
    ok(n == 4 && strcmp(buf, "dflt") == 0, "missing file: %lu \"%s\"\n", (unsigned long)n, buf);
    ok(GetLastError() == ERROR_FILE_NOT_FOUND, "missing file: got %lu\n", (unsigned long)GetLastError());
}

int main(void)
{
    test_last_error();
    test_last_error_per_thread();
    test_format_message();
    test_critical_section();
    test_interlocked();
    test_sync_objects();
    test_tls();
    test_time();
    test_heap();
    test_profile();
    return shimtest_done("shim_kernel32");
}
