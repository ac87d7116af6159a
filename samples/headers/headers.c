/*
 * headers.c - ISAPI filter sample: edits response headers.
 *
 * Shows the two ways a filter changes the response header block:
 *
 *   SF_NOTIFY_PREPROC_HEADERS  AddResponseHeaders: text queued before the response exists;
 *                              the server appends it to whatever header block it sends for
 *                              this request (normal page, error page, redirect).
 *   SF_NOTIFY_SEND_RESPONSE    the header block is built but not sent. GetHeader("status")
 *                              reads the status line ("200 OK"); SetHeader(name, "")
 *                              deletes a header (here "Server:"); SetHeader(name, value)
 *                              replaces or adds one (the security headers, and a header
 *                              that is added to successful 2xx responses only).
 *
 * Header names carry their trailing colon ("Server:"); the special name "status" does not.
 * Every value comes from headers.ini beside the DLL; an empty value turns that header off.
 * Failures of SetHeader are not fatal: for an HTTP/0.9 request there is no header block and
 * the server answers ERROR_NOT_SUPPORTED, which the filter accepts silently.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdlib.h>
#include <string.h>

#define HEADERS_MAX_VALUE 256

static HINSTANCE g_hInstance;
static BOOL g_fRemoveServer = TRUE;
static char g_szContentTypeOptions[HEADERS_MAX_VALUE] = "nosniff";
static char g_szFrameOptions[HEADERS_MAX_VALUE] = "DENY";
static char g_szServedBy[HEADERS_MAX_VALUE] = "isapihost headers sample";
static char g_szRequestSeen[HEADERS_MAX_VALUE] = "X-Request-Seen: 1\r\n";

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    if (fdwReason == DLL_PROCESS_ATTACH) {
        g_hInstance = hinstDLL;
        DisableThreadLibraryCalls(hinstDLL);
    }
    return TRUE;
}

/* The settings file is the DLL's own path with the extension replaced by ".ini". */
static BOOL GetIniPath(char *path, DWORD cb)
{
    DWORD n = GetModuleFileNameA(g_hInstance, path, cb);
    char *dot, *sep;

    if (n == 0 || n >= cb - 4)
        return FALSE;
    dot = strrchr(path, '.');
    sep = strrchr(path, '\\');
    if (!sep || strrchr(path, '/') > sep)
        sep = strrchr(path, '/');
    if (!dot || (sep && dot < sep))
        dot = path + n;
    lstrcpyA(dot, ".ini");
    return TRUE;
}

static void LoadSettings(void)
{
    char ini[MAX_PATH];
    char value[HEADERS_MAX_VALUE];

    if (!GetIniPath(ini, sizeof ini))
        return;
    g_fRemoveServer = GetPrivateProfileIntA("headers", "remove_server", 1, ini) != 0;
    GetPrivateProfileStringA("headers", "x_content_type_options", "nosniff",
                             g_szContentTypeOptions, sizeof g_szContentTypeOptions, ini);
    GetPrivateProfileStringA("headers", "x_frame_options", "DENY", g_szFrameOptions,
                             sizeof g_szFrameOptions, ini);
    GetPrivateProfileStringA("headers", "served_by", "isapihost headers sample", g_szServedBy,
                             sizeof g_szServedBy, ini);
    GetPrivateProfileStringA("headers", "request_seen", "1", value, sizeof value, ini);
    if (value[0])
        wsprintfA(g_szRequestSeen, "X-Request-Seen: %.200s\r\n", value);
    else
        g_szRequestSeen[0] = '\0';
}

static DWORD OnPreprocHeaders(PHTTP_FILTER_CONTEXT pfc)
{
    /* Why here and not in SEND_RESPONSE: AddResponseHeaders only works before the response
     * header block is built; inside SEND_RESPONSE a filter uses SetHeader/AddHeader. */
    if (g_szRequestSeen[0])
        pfc->AddResponseHeaders(pfc, g_szRequestSeen, 0);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* The status code from GetHeader("status") ("404 Not Found"), or from HttpStatus when the
 * header cannot be read. */
static DWORD ReadStatus(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_SEND_RESPONSE pResp)
{
    char status[128];
    DWORD cb = sizeof status;

    if (pResp->GetHeader(pfc, "status", status, &cb))
        return (DWORD)strtoul(status, NULL, 10);
    return pResp->HttpStatus;
}

static DWORD OnSendResponse(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_SEND_RESPONSE pResp)
{
    DWORD dwStatus = ReadStatus(pfc, pResp);

    if (g_fRemoveServer)
        pResp->SetHeader(pfc, "Server:", "");
    if (g_szContentTypeOptions[0])
        pResp->SetHeader(pfc, "X-Content-Type-Options:", g_szContentTypeOptions);
    if (g_szFrameOptions[0])
        pResp->SetHeader(pfc, "X-Frame-Options:", g_szFrameOptions);
    if (dwStatus >= 200 && dwStatus < 300 && g_szServedBy[0])
        pResp->SetHeader(pfc, "X-Served-By:", g_szServedBy);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    LoadSettings();
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "headers sample: security headers, no Server header",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_DEFAULT |
                    SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    switch (NotificationType) {
    case SF_NOTIFY_PREPROC_HEADERS:
        return OnPreprocHeaders(pfc);
    case SF_NOTIFY_SEND_RESPONSE:
        return OnSendResponse(pfc, (PHTTP_FILTER_SEND_RESPONSE)pvNotification);
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}
