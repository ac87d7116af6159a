/*
 * modes.c - a test filter whose behaviour each request chooses, for the semantics tests
 * (tests/integration/test_semantics.py).
 *
 * The request's URL carries "modes=<name>+<name>..." in its query string; PREPROC_HEADERS
 * reads it (GetHeader "url") and keeps the chosen set in pFilterContext as a bit mask (a
 * number, not a pointer), replaced at every request. A request without "modes=" passes
 * untouched. The filter registers at high priority, so it runs before the trace sample and
 * the allcalls filter in every notification but SEND_RAW_DATA, which it does not take.
 *
 *   resp_finished  SEND_RESPONSE returns SF_STATUS_REQ_FINISHED
 *   resp_error     SEND_RESPONSE returns SF_STATUS_REQ_ERROR, last error ERROR_INVALID_DATA
 *   httpstatus     SEND_RESPONSE writes 299 into HttpStatus (and nothing else)
 *   status         SEND_RESPONSE calls SetHeader("status", "299 Changed")
 *   headers        PREPROC_HEADERS adds "X-Modes-Added: 1" with AddResponseHeaders;
 *                  SEND_RESPONSE replaces the values of Server: and X-Modes-Added: with
 *                  SetHeader and appends "X-Modes-Saw: <names>" with AddHeader, <names>
 *                  being those of Content-Type, Content-Length, Server, Date and
 *                  X-Modes-Added that GetHeader found there, in that order, joined by ','
 *   version10      PREPROC_HEADERS sets "version" to HTTP/1.0
 *   version11      PREPROC_HEADERS sets "version" to HTTP/1.1
 *   protocol       SEND_RESPONSE appends "X-Modes-Protocol: <SERVER_PROTOCOL>"
 *   deny           PREPROC_HEADERS returns SF_STATUS_REQ_ERROR with ERROR_ACCESS_DENIED,
 *                  which the server answers with ACCESS_DENIED and a 401
 */
#include <windows.h>
#include <httpfilt.h>
#include <string.h>

enum {
    MODE_RESP_FINISHED = 1 << 0,
    MODE_RESP_ERROR = 1 << 1,
    MODE_HTTPSTATUS = 1 << 2,
    MODE_STATUS = 1 << 3,
    MODE_HEADERS = 1 << 4,
    MODE_VERSION10 = 1 << 5,
    MODE_VERSION11 = 1 << 6,
    MODE_PROTOCOL = 1 << 7,
    MODE_DENY = 1 << 8,
};

static const struct {
    const char *pszName;
    DWORD dwBit;
} g_modes[] = {
    { "resp_finished", MODE_RESP_FINISHED },
    { "resp_error", MODE_RESP_ERROR },
    { "httpstatus", MODE_HTTPSTATUS },
    { "status", MODE_STATUS },
    { "headers", MODE_HEADERS },
    { "version10", MODE_VERSION10 },
    { "version11", MODE_VERSION11 },
    { "protocol", MODE_PROTOCOL },
    { "deny", MODE_DENY },
};

/* The modes named after "modes=" in url, each name ending at '+', '&' or the end. */
static DWORD ParseModes(const char *pszUrl)
{
    const char *p = strstr(pszUrl, "modes=");
    DWORD dwModes = 0;
    if (!p)
        return 0;
    p += 6;
    while (*p && *p != '&') {
        size_t n = strcspn(p, "+&");
        for (size_t i = 0; i < sizeof g_modes / sizeof g_modes[0]; i++)
            if (strlen(g_modes[i].pszName) == n && strncmp(p, g_modes[i].pszName, n) == 0)
                dwModes |= g_modes[i].dwBit;
        p += n;
        if (*p == '+')
            p++;
    }
    return dwModes;
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_ORDER_HIGH | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT
                    | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE;
    lstrcpynA(pVer->lpszFilterDesc, "modes test filter: behaviour chosen by the query",
              SF_MAX_FILTER_DESC_LEN);
    return TRUE;
}

static DWORD OnPreproc(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_PREPROC_HEADERS *ph)
{
    char url[2048];
    DWORD cb = sizeof url;
    DWORD dwModes = ph->GetHeader(pfc, "url", url, &cb) ? ParseModes(url) : 0;
    pfc->pFilterContext = (void *)(ULONG_PTR)dwModes;
    if (dwModes & MODE_HEADERS)
        pfc->AddResponseHeaders(pfc, "X-Modes-Added: 1\r\n", 0);
    if (dwModes & MODE_VERSION10)
        ph->SetHeader(pfc, "version", "HTTP/1.0");
    if (dwModes & MODE_VERSION11)
        ph->SetHeader(pfc, "version", "HTTP/1.1");
    if (dwModes & MODE_DENY) {
        SetLastError(ERROR_ACCESS_DENIED);
        return SF_STATUS_REQ_ERROR;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static DWORD OnSendResponse(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_SEND_RESPONSE *sr,
                            DWORD dwModes)
{
    if (dwModes & MODE_HEADERS) {
        static const char *const names[] = { "Content-Type:", "Content-Length:", "Server:",
                                             "Date:", "X-Modes-Added:" };
        char saw[128] = "";
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char value[512];
            DWORD cb = sizeof value;
            if (sr->GetHeader(pfc, (LPSTR)names[i], value, &cb)) {
                if (saw[0])
                    lstrcatA(saw, ",");
                size_t have = strlen(saw), n = strlen(names[i]) - 1;   /* without the ':' */
                if (have + n < sizeof saw) {
                    memcpy(saw + have, names[i], n);
                    saw[have + n] = '\0';
                }
            }
        }
        sr->SetHeader(pfc, "Server:", "modes-edited");
        sr->SetHeader(pfc, "X-Modes-Added:", "edited");
        sr->AddHeader(pfc, "X-Modes-Saw:", saw);
    }
    if (dwModes & MODE_PROTOCOL) {
        char proto[64];
        DWORD cb = sizeof proto;
        if (pfc->GetServerVariable(pfc, "SERVER_PROTOCOL", proto, &cb))
            sr->AddHeader(pfc, "X-Modes-Protocol:", proto);
    }
    if (dwModes & MODE_HTTPSTATUS)
        sr->HttpStatus = 299;
    if (dwModes & MODE_STATUS)
        sr->SetHeader(pfc, "status", "299 Changed");
    if (dwModes & MODE_RESP_FINISHED)
        return SF_STATUS_REQ_FINISHED;
    if (dwModes & MODE_RESP_ERROR) {
        SetLastError(ERROR_INVALID_DATA);
        return SF_STATUS_REQ_ERROR;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD dwNotification, LPVOID pvNotification)
{
    if (dwNotification == SF_NOTIFY_PREPROC_HEADERS)
        return OnPreproc(pfc, pvNotification);
    if (dwNotification == SF_NOTIFY_SEND_RESPONSE)
        return OnSendResponse(pfc, pvNotification, (DWORD)(ULONG_PTR)pfc->pFilterContext);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
