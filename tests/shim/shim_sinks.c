/*
 * shim_sinks.c - native-only tests of where libshim sends OutputDebugStringA text and
 * ReportEventA messages (there is no debugger or event log to read back on POSIX):
 *   - with ShimSetDebugSink, each call reaches the sink as one line of at most
 *     SHIM_DEBUG_STRING_MAX bytes plus "...", control bytes made printable;
 *   - without a sink, stderr gets one bounded line per call;
 *   - with ShimSetEventLogSink, each report reaches the sink with the source name, the
 *     syslog priority for its type and "event <id>: <strings>", bounded;
 *   - bad handles fail with ERROR_INVALID_HANDLE, as on Windows.
 */
#define _POSIX_C_SOURCE 200809L
#include "shimtest.h"

#include <shim.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

static char debug_text[4096];
static size_t debug_len;
static int debug_calls;

static void debug_sink(const char *text, size_t len)
{
    debug_calls++;
    debug_len = len;
    snprintf(debug_text, sizeof debug_text, "%s", text);
}

static char event_source[512], event_message[4096];
static int event_priority, event_calls;

static void event_sink(const char *source, int priority, const char *message)
{
    event_calls++;
    event_priority = priority;
    snprintf(event_source, sizeof event_source, "%s", source);
    snprintf(event_message, sizeof event_message, "%s", message);
}

/* A long text: 64 KiB of lines "line N\n". */
static char *long_text(size_t size)
{
    char *s = malloc(size + 1);
    size_t n = 0;
    for (int i = 0; n + 16 < size; i++)
        n += (size_t)sprintf(s + n, "line %d\n", i);
    s[n] = '\0';
    return s;
}

static void test_debug_sink(void)
{
    char *big = long_text(65536);

    ShimSetDebugSink(debug_sink);
    OutputDebugStringA("hello\n");
    ok(debug_calls == 1 && debug_len == 5 && strcmp(debug_text, "hello") == 0,
       "short text: %d calls, len %lu, \"%s\"\n", debug_calls, (unsigned long)debug_len, debug_text);

    OutputDebugStringA(big);
    ok(debug_calls == 2 && debug_len == SHIM_DEBUG_STRING_MAX + 3, "64 KiB text: len %lu\n",
       (unsigned long)debug_len);
    ok(strlen(debug_text) == debug_len && strchr(debug_text, '\n') == NULL
       && strcmp(debug_text + debug_len - 3, "...") == 0 && strncmp(debug_text, "line 0 line 1 ", 14) == 0,
       "64 KiB text: not one line cut with \"...\": \"%.40s...\"\n", debug_text);

    OutputDebugStringA("a\tb\x01" "c\r\nd\x7f");
    ok(strcmp(debug_text, "a b?c  d?") == 0, "control bytes: \"%s\"\n", debug_text);

    OutputDebugStringA(NULL);
    ok(debug_calls == 4 && debug_len == 0 && debug_text[0] == '\0', "NULL text: len %lu \"%s\"\n",
       (unsigned long)debug_len, debug_text);
    ShimSetDebugSink(NULL);
    free(big);
}

/* Without a sink: one line on stderr per call, bounded, whatever the length. */
static void test_debug_stderr(void)
{
    char path[] = "/tmp/shim_sinks_stderr_XXXXXX";
    char *big = long_text(65536), buf[16384];
    int fd = mkstemp(path), saved = dup(2);
    ssize_t n;
    int lines = 0;

    ok(fd >= 0 && saved >= 0, "mkstemp/dup failed\n");
    if (fd < 0 || saved < 0)
        return;
    fflush(stderr);
    dup2(fd, 2);
    for (int i = 0; i < 10; i++)
        OutputDebugStringA(big);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    unlink(path);
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    /* 10 lines of the "OutputDebugString[pid:tid]: " tag plus 1024 bytes and "..." */
    ok(n > 10 * (SHIM_DEBUG_STRING_MAX + 3) && n < 10 * (SHIM_DEBUG_STRING_MAX + 64) && lines == 10,
       "stderr without a sink: %ld bytes in %d lines for 10 calls of 64 KiB\n", (long)n, lines);
    ok(n > 0 && strncmp(buf, "OutputDebugString[", 18) == 0, "stderr line: \"%.40s\"\n", n > 0 ? buf : "");
    free(big);
}

static void test_event_sink(void)
{
    static const struct { WORD type; int priority; } map[] = {
        { EVENTLOG_ERROR_TYPE, LOG_ERR }, { EVENTLOG_WARNING_TYPE, LOG_WARNING },
        { EVENTLOG_INFORMATION_TYPE, LOG_INFO }, { EVENTLOG_SUCCESS, LOG_INFO },
        { EVENTLOG_AUDIT_SUCCESS, LOG_INFO }, { EVENTLOG_AUDIT_FAILURE, LOG_NOTICE },
    };
    LPCSTR two[2] = { "first", "second" };
    LPCSTR messy[3] = { "line one\r\nline two", NULL, "tab\there" };
    LPCSTR huge[3];
    char *big = long_text(4000);
    HANDLE h, other;
    int local;

    ShimSetEventLogSink(event_sink);
    SetLastError(0xdeadbeef);
    h = RegisterEventSourceA(NULL, "shimtest-source");
    ok(h != NULL && GetLastError() == 0xdeadbeef, "RegisterEventSourceA: %p, %lu\n", h,
       (unsigned long)GetLastError());
    if (!h)
        return;

    SetLastError(0xdeadbeef);
    ok(ReportEventA(h, EVENTLOG_ERROR_TYPE, 0, 0x40001000, NULL, 2, 0, two, NULL), "ReportEventA failed\n");
    ok(GetLastError() == 0xdeadbeef, "success changed the last error to %lu\n", (unsigned long)GetLastError());
    ok(event_calls == 1 && strcmp(event_source, "shimtest-source") == 0 && event_priority == LOG_ERR
       && strcmp(event_message, "event 4096: first second") == 0,
       "error event: %d calls, source \"%s\", priority %d, \"%s\"\n", event_calls, event_source,
       event_priority, event_message);

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        ReportEventA(h, map[i].type, 0, 1, NULL, 1, 0, two, NULL);
        ok(event_priority == map[i].priority, "type %u: priority %d, want %d\n", (unsigned)map[i].type,
           event_priority, map[i].priority);
    }

    ReportEventA(h, EVENTLOG_INFORMATION_TYPE, 2, 5, NULL, 0, 0, NULL, NULL);
    ok(strcmp(event_message, "event 5 (category 2):") == 0, "no strings: \"%s\"\n", event_message);
    ReportEventA(h, EVENTLOG_INFORMATION_TYPE, 0, 6, NULL, 3, 0, messy, NULL);
    ok(strcmp(event_message, "event 6: line one  line two tab here") == 0, "messy strings: \"%s\"\n",
       event_message);

    huge[0] = huge[1] = huge[2] = big;
    ReportEventA(h, EVENTLOG_WARNING_TYPE, 0, 7, NULL, 3, 0, huge, NULL);
    ok(strlen(event_message) <= 2048 + 3 && strlen(event_message) > 2000 && strchr(event_message, '\n') == NULL
       && strcmp(event_message + strlen(event_message) - 3, "...") == 0,
       "12 KB of strings: message of %lu bytes, \"...%s\"\n", (unsigned long)strlen(event_message),
       event_message + (strlen(event_message) > 20 ? strlen(event_message) - 20 : 0));

    /* A second source reports under its own name. */
    other = RegisterEventSourceA("", "shimtest-other");
    ok(other && ReportEventA(other, EVENTLOG_WARNING_TYPE, 0, 8, NULL, 1, 0, two, NULL)
       && strcmp(event_source, "shimtest-other") == 0, "second source: \"%s\"\n", event_source);
    ok(DeregisterEventSource(other), "DeregisterEventSource(other) failed\n");

    /* Bad handles: ERROR_INVALID_HANDLE and nothing logged. */
    event_calls = 0;
    SetLastError(0xdeadbeef);
    ok(!ReportEventA(NULL, EVENTLOG_ERROR_TYPE, 0, 1, NULL, 1, 0, two, NULL)
       && GetLastError() == ERROR_INVALID_HANDLE, "NULL handle: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!ReportEventA((HANDLE)&local, EVENTLOG_ERROR_TYPE, 0, 1, NULL, 1, 0, two, NULL)
       && GetLastError() == ERROR_INVALID_HANDLE, "invented handle: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!ReportEventA(other, EVENTLOG_ERROR_TYPE, 0, 1, NULL, 1, 0, two, NULL)
       && GetLastError() == ERROR_INVALID_HANDLE, "closed handle: %lu\n", (unsigned long)GetLastError());
    ok(event_calls == 0, "a bad handle logged %d messages\n", event_calls);
    SetLastError(0xdeadbeef);
    ok(!DeregisterEventSource(other) && GetLastError() == ERROR_INVALID_HANDLE,
       "closing twice: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!DeregisterEventSource(NULL) && GetLastError() == ERROR_INVALID_HANDLE,
       "DeregisterEventSource(NULL): %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(RegisterEventSourceA(NULL, NULL) == NULL && GetLastError() == ERROR_INVALID_PARAMETER,
       "RegisterEventSourceA(NULL, NULL): %lu\n", (unsigned long)GetLastError());

    /* Through syslog(3) itself: it must not fail (the message goes to the system log). */
    ShimSetEventLogSink(NULL);
    ok(ReportEventA(h, EVENTLOG_INFORMATION_TYPE, 0, 9, NULL, 1, 0, two, NULL), "ReportEventA to syslog failed\n");
    ok(DeregisterEventSource(h), "DeregisterEventSource failed\n");
    free(big);
}

int main(void)
{
    test_debug_sink();
    test_debug_stderr();
    test_event_sink();
    return shimtest_done("shim_sinks");
}
