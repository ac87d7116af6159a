/*
 * shim_debugflood.c - a test filter that floods OutputDebugStringA: for the URL
 * "/debugflood?N" it calls OutputDebugStringA N times (at most 10000) in PREPROC_HEADERS,
 * each time with a 64 KiB text of many lines starting "debugflood <i> ", then lets the
 * request go on (it is answered 404). Every other URL passes untouched.
 * tests/shim/test_debug_output.py checks that the server's error log gets one bounded
 * line per call.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD_PREFIX "/debugflood"
#define FLOOD_TEXT (64 * 1024)
#define FLOOD_MAX_CALLS 10000

static char flood_text[FLOOD_TEXT + 1];

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    size_t n = 0;
    for (int line = 0; n + 80 < FLOOD_TEXT; line++)
        n += (size_t)wsprintfA(flood_text + n, "line %d of a long debug text, with its newline\n", line);
    flood_text[n] = '\0';
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT
                    | SF_NOTIFY_PREPROC_HEADERS;
    lstrcpynA(pVer->lpszFilterDesc, "debugflood test filter: floods OutputDebugStringA",
              SF_MAX_FILTER_DESC_LEN);
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType, LPVOID pvNotification)
{
    HTTP_FILTER_PREPROC_HEADERS *ph = (HTTP_FILTER_PREPROC_HEADERS *)pvNotification;
    char url[1024], *text;
    DWORD size = sizeof url;
    const char *q;
    long calls;

    if (notificationType != SF_NOTIFY_PREPROC_HEADERS || !ph->GetHeader(pfc, "url", url, &size))
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (strncmp(url, FLOOD_PREFIX, sizeof FLOOD_PREFIX - 1) != 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    q = strchr(url, '?');
    calls = q ? strtol(q + 1, NULL, 10) : 1;
    if (calls < 1 || calls > FLOOD_MAX_CALLS)
        calls = 1;
    text = malloc(FLOOD_TEXT + 32);
    if (!text)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    for (long i = 0; i < calls; i++) {
        int head = wsprintfA(text, "debugflood %ld ", i);
        memcpy(text + head, flood_text, sizeof flood_text);
        OutputDebugStringA(text);
    }
    free(text);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    return TRUE;
}
