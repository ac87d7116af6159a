/*
 * rawguard.c - ISAPI filter sample: rejects bad requests from the raw bytes, before the
 * server parses them.
 *
 * SF_NOTIFY_READ_RAW_DATA hands the filter the bytes of each read from the client. For the
 * start of every request rawguard checks:
 *   - the request line is not longer than max_request_line (rawguard.ini);
 *   - the method is not one of forbidden_methods (default TRACE, TRACK, DEBUG);
 *   - the request line and header block contain no NUL byte.
 * A rejected request gets a complete "400 Bad Request" response written by the filter
 * itself with WriteClient (status line, headers, body: the server adds nothing), and
 * SF_STATUS_REQ_FINISHED tells the server the request is done and the connection closes.
 *
 * When the bytes so far do not hold the whole request line, the filter cannot decide yet.
 * It asks for more with SF_STATUS_REQ_READ_NEXT (after a size hint through
 * ServerSupportFunction(SF_REQ_SET_NEXT_READ_SIZE)); the server reads again and calls the
 * filter with all the bytes accumulated so far, from the start of the request.
 *
 * Per-connection state (where in the request the filter is) sits in an AllocMem record on
 * pFilterContext: LINE until the request line is checked, HEADERS while scanning the
 * header block for NUL bytes (a read may end anywhere, so the end-of-headers detection
 * carries over between reads), BODY after that until SF_NOTIFY_END_OF_REQUEST starts the
 * next request. Limitation: a pipelined request whose bytes arrive in the same read as the
 * previous request's body is not checked.
 *
 * Why READ_RAW_DATA at all: IIS 6 (worker-process mode) and IIS 7+ no longer offer it; it
 * is shown here because stream filters written for IIS 4/5 depend on it, READ_NEXT in
 * particular.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdlib.h>
#include <string.h>

#define RAWGUARD_MAX_TEXT 512

enum rawguard_phase { RAWGUARD_LINE, RAWGUARD_HEADERS, RAWGUARD_BODY };

typedef struct RAWGUARD_CONN {
    enum rawguard_phase phase;
    BOOL fAtLineStart;        /* HEADERS: the last significant byte was a line feed */
} RAWGUARD_CONN;

static HINSTANCE g_hInstance;
static DWORD g_cbMaxLine = 2048;
static BOOL g_fRejectNul = TRUE;
static char g_szForbidden[RAWGUARD_MAX_TEXT] = "TRACE, TRACK, DEBUG";

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

static BOOL IsForbiddenMethod(const char *method, size_t len)
{
    const char *p = g_szForbidden;

    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        n = strcspn(p, ", \t");
        if (n && n == len && _strnicmp(p, method, n) == 0)
            return TRUE;
        p += n;
    }
    return FALSE;
}

static DWORD Reject(PHTTP_FILTER_CONTEXT pfc, RAWGUARD_CONN *conn, const char *reason)
{
    char response[512], note[256];
    DWORD cb;

    wsprintfA(response, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
              "Content-Length: %lu\r\nConnection: close\r\n\r\n%s\r\n",
              (DWORD)(lstrlenA(reason) + 2), reason);
    cb = (DWORD)lstrlenA(response);
    pfc->WriteClient(pfc, response, &cb, 0);
    wsprintfA(note, "rawguard: rejected a request: %.200s\n", reason);
    OutputDebugStringA(note);
    conn->phase = RAWGUARD_BODY;
    return SF_STATUS_REQ_FINISHED;
}

/* Scans header bytes for NUL until the blank line that ends the header block. Returns
 * FALSE when a NUL byte was found. */
static BOOL ScanHeaders(RAWGUARD_CONN *conn, const char *p, DWORD cb)
{
    DWORD i;

    for (i = 0; i < cb && conn->phase == RAWGUARD_HEADERS; i++) {
        char c = p[i];
        if (c == '\0' && g_fRejectNul)
            return FALSE;
        if (c == '\r')
            continue;
        if (c == '\n') {
            if (conn->fAtLineStart)
                conn->phase = RAWGUARD_BODY;
            conn->fAtLineStart = TRUE;
        } else {
            conn->fAtLineStart = FALSE;
        }
    }
    return TRUE;
}

static DWORD OnReadRawData(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_RAW_DATA pRaw)
{
    RAWGUARD_CONN *conn = (RAWGUARD_CONN *)pfc->pFilterContext;
    const char *p = (const char *)pRaw->pvInData;
    DWORD cb = pRaw->cbInData;
    DWORD start = 0, end, cbLine, i, words;
    const char *space;
    BOOL fInWord;

    if (!conn) {
        conn = (RAWGUARD_CONN *)pfc->AllocMem(pfc, sizeof *conn, 0);
        if (!conn) {
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
            return SF_STATUS_REQ_ERROR;
        }
        memset(conn, 0, sizeof *conn);
        pfc->pFilterContext = conn;
    }
    if (conn->phase == RAWGUARD_BODY || cb == 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (conn->phase == RAWGUARD_HEADERS) {
        if (!ScanHeaders(conn, p, cb))
            return Reject(pfc, conn, "NUL byte in the request headers");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }

    /* RAWGUARD_LINE: p holds every byte of the request received so far. Empty lines
     * before a request line are allowed (RFC 7230, 3.5). */
    while (start < cb && (p[start] == '\r' || p[start] == '\n'))
        start++;
    for (end = start; end < cb && p[end] != '\n'; end++) {
        if (p[end] == '\0' && g_fRejectNul)
            return Reject(pfc, conn, "NUL byte in the request line");
    }
    cbLine = end - start;
    if (end < cb && cbLine > 0 && p[end - 1] == '\r')
        cbLine--;
    if (cbLine > g_cbMaxLine)
        return Reject(pfc, conn, "request line too long");

    space = memchr(p + start, ' ', cbLine);
    if (space && IsForbiddenMethod(p + start, (size_t)(space - (p + start))))
        return Reject(pfc, conn, "method not allowed here");

    if (end == cb) {
        /* Why READ_NEXT: the request line is not complete yet. The server reads more and
         * calls again with everything received so far; the hint is how much more the
         * longest allowed line could need. */
        pfc->ServerSupportFunction(pfc, SF_REQ_SET_NEXT_READ_SIZE, NULL,
                                   (ULONG_PTR)(g_cbMaxLine + 2 - cbLine), 0);
        return SF_STATUS_REQ_READ_NEXT;
    }

    /* A request line with fewer than three words is an HTTP/0.9 request: no headers. */
    for (i = start, words = 0, fInWord = FALSE; i < start + cbLine; i++) {
        if (p[i] == ' ' || p[i] == '\t') {
            fInWord = FALSE;
        } else if (!fInWord) {
            fInWord = TRUE;
            words++;
        }
    }
    if (words < 3) {
        conn->phase = RAWGUARD_BODY;
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    conn->phase = RAWGUARD_HEADERS;
    conn->fAtLineStart = TRUE;
    if (!ScanHeaders(conn, p + end + 1, cb - end - 1))
        return Reject(pfc, conn, "NUL byte in the request headers");
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    char ini[MAX_PATH];

    if (GetIniPath(ini, sizeof ini)) {
        g_cbMaxLine = GetPrivateProfileIntA("rawguard", "max_request_line", 2048, ini);
        g_fRejectNul = GetPrivateProfileIntA("rawguard", "reject_nul", 1, ini) != 0;
        GetPrivateProfileStringA("rawguard", "forbidden_methods", "TRACE, TRACK, DEBUG",
                                 g_szForbidden, sizeof g_szForbidden, ini);
    }
    if (g_cbMaxLine < 16)
        g_cbMaxLine = 16;

    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "rawguard sample: rejects bad raw requests",
              SF_MAX_FILTER_DESC_LEN);
    /* High priority: a guard should see the bytes before other raw-data filters. */
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_HIGH |
                    SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_END_OF_REQUEST;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    RAWGUARD_CONN *conn;

    switch (NotificationType) {
    case SF_NOTIFY_READ_RAW_DATA:
        return OnReadRawData(pfc, (PHTTP_FILTER_RAW_DATA)pvNotification);
    case SF_NOTIFY_END_OF_REQUEST:
        conn = (RAWGUARD_CONN *)pfc->pFilterContext;
        if (conn)
            conn->phase = RAWGUARD_LINE;
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}
