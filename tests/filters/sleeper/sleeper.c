/*
 * sleeper.c - a test filter that blocks: for a URL under /slow/ it sleeps in
 * PREPROC_HEADERS, the way a filter waiting on LDAP or a backend holds its thread.
 *
 * The time comes from the query string, "ms=<milliseconds>" (default 3000, at most 60000).
 * Every other URL passes untouched. The integration test (test_blocking.py) holds one
 * connection here and checks that requests on other connections still complete: a
 * blocking filter holds its own worker, never the server.
 *
 * So that the test knows when the request is really held here (instead of guessing with a
 * delay), the filter appends "asleep <url>" to the file named by the environment variable
 * SLEEPER_REPORT just before it sleeps and "awake <url>" just after, flushing each line.
 * Without the variable it reports nothing.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLEEPER_PREFIX "/slow/"
#define SLEEPER_DEFAULT_MS 3000
#define SLEEPER_MAX_MS 60000

static FILE *g_pReport;
static CRITICAL_SECTION g_csReport;

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    (void)hinstDLL;
    (void)lpvReserved;
    if (fdwReason == DLL_PROCESS_ATTACH)
        InitializeCriticalSection(&g_csReport);
    else if (fdwReason == DLL_PROCESS_DETACH)
        DeleteCriticalSection(&g_csReport);
    return TRUE;
}

static void Report(const char *pszWhat, const char *pszUrl)
{
    EnterCriticalSection(&g_csReport);
    if (g_pReport) {
        fprintf(g_pReport, "%s %s\n", pszWhat, pszUrl);
        fflush(g_pReport);
    }
    LeaveCriticalSection(&g_csReport);
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    char file[1024];
    DWORD n = GetEnvironmentVariableA("SLEEPER_REPORT", file, sizeof file);
    if (n > 0 && n < sizeof file && !g_pReport) {
        g_pReport = fopen(file, "a");
        if (!g_pReport) {
            SetLastError(ERROR_PATH_NOT_FOUND);
            return FALSE;
        }
    }
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT
                    | SF_NOTIFY_PREPROC_HEADERS;
    lstrcpynA(pVer->lpszFilterDesc, "sleeper test filter: blocks in PREPROC_HEADERS",
              SF_MAX_FILTER_DESC_LEN);
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType, LPVOID pvNotification)
{
    HTTP_FILTER_PREPROC_HEADERS *ph = (HTTP_FILTER_PREPROC_HEADERS *)pvNotification;
    char url[1024];
    DWORD size = sizeof url;
    if (notificationType != SF_NOTIFY_PREPROC_HEADERS || !ph->GetHeader(pfc, "url", url, &size))
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (_strnicmp(url, SLEEPER_PREFIX, sizeof SLEEPER_PREFIX - 1) != 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    DWORD ms = SLEEPER_DEFAULT_MS;
    const char *q = strstr(url, "ms=");
    if (q) {
        unsigned long v = strtoul(q + 3, NULL, 10);
        ms = v > SLEEPER_MAX_MS ? SLEEPER_MAX_MS : (DWORD)v;
    }
    Report("asleep", url);
    Sleep(ms);
    Report("awake", url);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    (void)dwFlags;
    EnterCriticalSection(&g_csReport);
    if (g_pReport) {
        fclose(g_pReport);
        g_pReport = NULL;
    }
    LeaveCriticalSection(&g_csReport);
    return TRUE;
}
