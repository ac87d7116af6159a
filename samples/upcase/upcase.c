/*
 * upcase.c - ISAPI filter sample: upper-cases the body of HTML pages on their way out.
 *
 * The classic IIS SDK "UpCase" sample, rewritten: it shows how a filter transforms
 * response bodies in SF_NOTIFY_SEND_RAW_DATA and how it carries per-request state from one
 * notification to the next through pFilterContext.
 *
 *   SF_NOTIFY_URL_MAP        decides whether this request is one to transform: its URL is
 *                            under the configured prefix (upcase.ini, default /upcase/)
 *                            and names an .htm/.html file or a folder (default document).
 *   SF_NOTIFY_SEND_RAW_DATA  the first chunk of a response is normally the header block
 *                            ("HTTP/1.1 200 OK ... CRLF CRLF"), possibly followed by body
 *                            bytes. The filter walks the header bytes (they may also arrive
 *                            alone, or split over chunks), checks Content-Type is text/html,
 *                            and upper-cases every body byte after the blank line, in place.
 *                            Upper-casing keeps the length, so Content-Length stays right.
 *   SF_NOTIFY_END_OF_REQUEST resets the state for the next request on the connection.
 *
 * The state record is allocated once per connection with AllocMem (freed by the server
 * after END_OF_NET_SESSION) and reused by every request on a keep-alive connection.
 */
#include <windows.h>
#include <httpfilt.h>
#include <string.h>

#define UPCASE_MAX_PREFIX 256
#define UPCASE_LINE_MAX   128

enum upcase_phase {
    UPCASE_OFF,        /* not a request we transform */
    UPCASE_START,      /* transform; no response byte seen yet */
    UPCASE_HEADERS,    /* inside the response header block */
    UPCASE_BODY,       /* after the blank line: upper-case everything */
    UPCASE_SKIP        /* the response is not HTML: leave it alone */
};

typedef struct UPCASE_STATE {
    enum upcase_phase phase;
    BOOL isHtml;                      /* Content-Type: text/html seen in the header block */
    DWORD lineLen;                    /* bytes of the current header line kept in line[] */
    BOOL lineStart;                   /* the previous byte ended a line */
    char line[UPCASE_LINE_MAX];
} UPCASE_STATE;

static HINSTANCE g_hInstance;
static char g_szPrefix[UPCASE_MAX_PREFIX] = "/upcase/";

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

static char AsciiUpper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static BOOL EndsWithI(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && _strnicmp(s + len - n, suffix, n) == 0;
}

/* Does this URL name something whose response we upper-case? */
static BOOL WantsUpcase(const char *url)
{
    size_t prefixLen = strlen(g_szPrefix);
    size_t len = strcspn(url, "?");

    if (len == 0 || _strnicmp(url, g_szPrefix, prefixLen) != 0)
        return FALSE;
    return url[len - 1] == '/' || EndsWithI(url, len, ".htm") || EndsWithI(url, len, ".html");
}

/* Checks one complete header line (without its line end) for Content-Type: text/html. */
static void CheckHeaderLine(UPCASE_STATE *st)
{
    static const char name[] = "Content-Type:";
    const char *v;

    st->line[st->lineLen] = '\0';
    if (_strnicmp(st->line, name, sizeof name - 1) != 0)
        return;
    v = st->line + sizeof name - 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (_strnicmp(v, "text/html", 9) == 0)
        st->isHtml = TRUE;
}

/* Walks header bytes until the blank line. Returns the number of bytes consumed; the
 * phase becomes UPCASE_BODY or UPCASE_SKIP when the blank line was found. */
static DWORD ScanHeaders(UPCASE_STATE *st, const char *p, DWORD cb)
{
    DWORD i;

    for (i = 0; i < cb; i++) {
        char c = p[i];
        if (c == '\r')
            continue;
        if (c == '\n') {
            if (st->lineStart) {
                st->phase = st->isHtml ? UPCASE_BODY : UPCASE_SKIP;
                return i + 1;
            }
            CheckHeaderLine(st);
            st->lineLen = 0;
            st->lineStart = TRUE;
            continue;
        }
        st->lineStart = FALSE;
        if (st->lineLen < UPCASE_LINE_MAX - 1)
            st->line[st->lineLen++] = c;
    }
    return cb;
}

static UPCASE_STATE *GetState(PHTTP_FILTER_CONTEXT pfc)
{
    UPCASE_STATE *st = (UPCASE_STATE *)pfc->pFilterContext;

    if (!st) {
        st = (UPCASE_STATE *)pfc->AllocMem(pfc, sizeof *st, 0);
        if (st) {
            memset(st, 0, sizeof *st);
            pfc->pFilterContext = st;
        }
    }
    return st;
}

static DWORD OnUrlMap(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_URL_MAP pMap)
{
    UPCASE_STATE *st = (UPCASE_STATE *)pfc->pFilterContext;

    /* Why only allocate for matching URLs: AllocMem memory lives as long as the
     * connection, so a filter should not spend it on requests it ignores. */
    if (!WantsUpcase(pMap->pszURL)) {
        if (st)
            st->phase = UPCASE_OFF;
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    st = GetState(pfc);
    if (!st) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return SF_STATUS_REQ_ERROR;
    }
    memset(st, 0, sizeof *st);
    st->phase = UPCASE_START;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static DWORD OnSendRawData(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_RAW_DATA pRaw)
{
    UPCASE_STATE *st = (UPCASE_STATE *)pfc->pFilterContext;
    char *p = (char *)pRaw->pvInData;
    DWORD cb = pRaw->cbInData;
    DWORD i = 0;

    if (!st || st->phase == UPCASE_OFF || st->phase == UPCASE_SKIP || cb == 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;

    if (st->phase == UPCASE_START) {
        /* Why check for "HTTP/": a simple (HTTP/0.9) response has no header block, so its
         * first chunk is already body. */
        if (cb >= 5 && memcmp(p, "HTTP/", 5) == 0) {
            st->phase = UPCASE_HEADERS;
            st->lineStart = FALSE;
        } else {
            st->phase = UPCASE_BODY;
        }
    }
    if (st->phase == UPCASE_HEADERS)
        i = ScanHeaders(st, p, cb);
    if (st->phase == UPCASE_BODY) {
        for (; i < cb; i++)
            p[i] = AsciiUpper(p[i]);
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    char ini[MAX_PATH];

    if (GetIniPath(ini, sizeof ini)) {
        GetPrivateProfileStringA("upcase", "prefix", "/upcase/", g_szPrefix,
                                 sizeof g_szPrefix, ini);
    }
    if (g_szPrefix[0] != '/')
        lstrcpyA(g_szPrefix, "/upcase/");

    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "upcase sample: upper-cases HTML bodies under a prefix",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_DEFAULT |
                    SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    UPCASE_STATE *st;

    switch (NotificationType) {
    case SF_NOTIFY_URL_MAP:
        return OnUrlMap(pfc, (PHTTP_FILTER_URL_MAP)pvNotification);
    case SF_NOTIFY_SEND_RAW_DATA:
        return OnSendRawData(pfc, (PHTTP_FILTER_RAW_DATA)pvNotification);
    case SF_NOTIFY_END_OF_REQUEST:
        st = (UPCASE_STATE *)pfc->pFilterContext;
        if (st)
            st->phase = UPCASE_OFF;
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}
