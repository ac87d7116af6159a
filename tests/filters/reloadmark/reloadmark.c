/*
 * reloadmark.c - a test filter that says which build of it answered, and whether every
 * connection it saw was ended before it was unloaded.
 *
 * Built twice from this file (RELOADMARK_BUILD "a" and "b"). In PREPROC_HEADERS it adds
 * "X-Reload-Build: <build>" to the response, so a client can tell which file the serving
 * process loaded. It counts the connections it saw (the first notification of each, marked
 * in pFilterContext) and the END_OF_NET_SESSION notifications, and TerminateFilter appends
 * one line to the file named by the environment variable RELOADMARK_REPORT:
 *     terminate build=<build> pid=<process> connections=<seen> ended=<ended>
 * GetFilterVersion appends "load build=<build> pid=<process>". Without the variable it
 * reports nothing.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>

#ifndef RELOADMARK_BUILD
#define RELOADMARK_BUILD "?"
#endif

static LONG volatile g_lConnections;
static LONG volatile g_lEnded;

static void Report(const char *pszLine)
{
    char file[1024];
    DWORD n = GetEnvironmentVariableA("RELOADMARK_REPORT", file, sizeof file);
    if (n == 0 || n >= sizeof file)
        return;
    FILE *f = fopen(file, "a");
    if (!f)
        return;
    fprintf(f, "%s\n", pszLine);
    fclose(f);
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    char line[128];
    snprintf(line, sizeof line, "load build=%s pid=%lu", RELOADMARK_BUILD,
             (unsigned long)GetCurrentProcessId());
    Report(line);
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT
                    | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_NET_SESSION;
    lstrcpynA(pVer->lpszFilterDesc, "reloadmark test filter: build " RELOADMARK_BUILD,
              SF_MAX_FILTER_DESC_LEN);
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType, LPVOID pvNotification)
{
    (void)pvNotification;
    if (notificationType == SF_NOTIFY_END_OF_NET_SESSION) {
        if (pfc->pFilterContext)
            InterlockedIncrement(&g_lEnded);
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (!pfc->pFilterContext) {
        pfc->pFilterContext = (PVOID)1;
        InterlockedIncrement(&g_lConnections);
    }
    if (notificationType == SF_NOTIFY_PREPROC_HEADERS)
        pfc->AddResponseHeaders(pfc, (LPSTR)"X-Reload-Build: " RELOADMARK_BUILD "\r\n", 0);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    char line[160];
    (void)dwFlags;
    snprintf(line, sizeof line, "terminate build=%s pid=%lu connections=%ld ended=%ld",
             RELOADMARK_BUILD, (unsigned long)GetCurrentProcessId(), (long)g_lConnections,
             (long)g_lEnded);
    Report(line);
    return TRUE;
}
