/*
 * shim_eventlog.c - conformance tests for the generic (TCHAR) names of Windows' headers
 * without UNICODE (TCHAR, LPTSTR, LPCTSTR, PTSTR, TEXT, CONST, wsprintf, lstrlen,
 * OutputDebugString, ...) and for the event log writer functions RegisterEventSourceA,
 * ReportEventA (ReportEvent) and DeregisterEventSource, used as Microsoft's samples use them.
 *
 * Only documented success behaviour is checked here: Wine's event log functions are stubs
 * that accept any handle (dlls/advapi32/eventlog.c), so the failures for bad handles and
 * where the messages go are checked natively by shim_sinks.c.
 */
#include "shimtest.h"

static void test_generic_names(void)
{
    TCHAR buf[64];
    CONST TCHAR *fmt = TEXT("%s=%d");
    LPCTSTR name = TEXT("count");
    LPTSTR out = buf;
    PTSTR again = buf;
    PCTSTR cpath = TEXT("C:\\inetpub");
    int n;

    ok(sizeof(TCHAR) == 1, "TCHAR is %lu bytes\n", (unsigned long)sizeof(TCHAR));
    n = wsprintf(out, fmt, name, 42);
    ok(n == 8 && lstrcmp(buf, TEXT("count=42")) == 0, "wsprintf: %d \"%s\"\n", n, buf);
    ok(lstrlen(again) == 8, "lstrlen %d\n", lstrlen(again));
    lstrcpyn(buf, cpath, 3);
    ok(lstrcmpi(buf, TEXT("c:")) == 0, "lstrcpyn/lstrcmpi: \"%s\"\n", buf);
    lstrcpy(buf, TEXT("a"));
    lstrcat(buf, TEXT("b"));
    ok(lstrcmp(buf, TEXT("ab")) == 0, "lstrcpy/lstrcat: \"%s\"\n", buf);
    ok(GetModuleHandle(NULL) != NULL, "GetModuleHandle(NULL) failed\n");
    ok(GetModuleFileName(NULL, buf, sizeof buf / sizeof buf[0]) > 0, "GetModuleFileName failed\n");
    /* OutputDebugString has no result; it must return with a debugger or without one. */
    OutputDebugString(TEXT("shim_eventlog: OutputDebugString through the generic name\n"));
    ok(1, "OutputDebugString returned\n");
}

static void test_eventlog_constants(void)
{
    ok(EVENTLOG_SUCCESS == 0x0000 && EVENTLOG_ERROR_TYPE == 0x0001 && EVENTLOG_WARNING_TYPE == 0x0002
       && EVENTLOG_INFORMATION_TYPE == 0x0004 && EVENTLOG_AUDIT_SUCCESS == 0x0008
       && EVENTLOG_AUDIT_FAILURE == 0x0010, "EVENTLOG_* values differ from winnt.h\n");
}

static void test_report_event(void)
{
    static const WORD types[] = {
        EVENTLOG_SUCCESS, EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE, EVENTLOG_INFORMATION_TYPE,
        EVENTLOG_AUDIT_SUCCESS, EVENTLOG_AUDIT_FAILURE,
    };
    LPCSTR strings[2] = { "shim_eventlog conformance test:", "a message with two strings" };
    LPCTSTR one[1] = { TEXT("one string through the generic names") };
    HANDLE h, h2;
    BOOL ret;

    /* Microsoft's service samples: RegisterEventSource(NULL, name), ReportEvent, Deregister.
     * A source that was never registered under the Eventlog key writes to Application. */
    SetLastError(0xdeadbeef);
    h = RegisterEventSourceA(NULL, "isapihost-shimtest");
    ok(h != NULL, "RegisterEventSourceA failed: %lu\n", (unsigned long)GetLastError());
    if (!h)
        return;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        SetLastError(0xdeadbeef);
        ret = ReportEventA(h, types[i], 0, 1000 + (DWORD)i, NULL, 2, 0, strings, NULL);
        ok(ret, "ReportEventA type %u failed: %lu\n", (unsigned)types[i], (unsigned long)GetLastError());
    }
    SetLastError(0xdeadbeef);
    ret = ReportEventA(h, EVENTLOG_INFORMATION_TYPE, 3, 0xC0000101, NULL, 0, 0, NULL, NULL);
    ok(ret, "ReportEventA without strings failed: %lu\n", (unsigned long)GetLastError());

    h2 = RegisterEventSource(TEXT(""), TEXT("isapihost-shimtest-2"));
    ok(h2 != NULL, "RegisterEventSource with an empty server name failed: %lu\n",
       (unsigned long)GetLastError());
    if (h2) {
        ret = ReportEvent(h2, EVENTLOG_WARNING_TYPE, 0, 7, NULL, 1, 0, one, NULL);
        ok(ret, "ReportEvent (generic name) failed: %lu\n", (unsigned long)GetLastError());
        ok(DeregisterEventSource(h2), "DeregisterEventSource of the second source failed: %lu\n",
           (unsigned long)GetLastError());
    }
    /* The first source still works after another one closed. */
    ok(ReportEventA(h, EVENTLOG_ERROR_TYPE, 0, 2000, NULL, 1, 0, strings, NULL),
       "ReportEventA after another source closed failed: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(DeregisterEventSource(h), "DeregisterEventSource failed: %lu\n", (unsigned long)GetLastError());
}

int main(void)
{
    test_generic_names();
    test_eventlog_constants();
    test_report_event();
    return shimtest_done("shim_eventlog");
}
