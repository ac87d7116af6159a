/*
 * trace.c - ISAPI filter sample: writes one line for every notification it receives.
 *
 * A debugging tool (what does the server call, in which order, with what?) and the fixture
 * of isapihost's pipeline tests. It registers for every notification on both port kinds
 * and never changes anything: every call returns SF_STATUS_REQ_NEXT_NOTIFICATION.
 *
 * Each line is a list of key=value fields separated by single spaces (format in
 * README.md): who (filter, connection, request, sequence number, thread), the notification,
 * whether pFilterContext still held this filter's record, a few server variables read in
 * every notification, and the notification's own data: structure fields by their SDK
 * names, and the results of the callbacks the filter makes (GetHeader, GetUserToken). A
 * callback that fails is shown as "!<Win32 error>"; values are percent-escaped so a line
 * never contains a space or a line break inside a value.
 *
 * State per connection: a record allocated with AllocMem at the first notification and
 * hung on pFilterContext, holding a magic number (to detect a host that loses or mixes up
 * the slot), the connection number and the request counter. A request starts at the first
 * notification after the previous request's LOG (or at a second PREPROC_HEADERS).
 *
 * Output goes to the file named in trace.ini (or in the ISAPI_TRACE_FILE environment
 * variable, which wins), opened once for appending and flushed after every line so that a
 * reader sees each line at once; with no file, to OutputDebugStringA. Lines from concurrent
 * connections are serialised by one critical section.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_MAGIC     0x54524331u   /* "TRC1" */
#define TRACE_LINE_MAX  16384
#define TRACE_SMALL_BUF 256

typedef struct TRACE_CONN {
    DWORD dwMagic;
    DWORD dwConn;            /* 1, 2, ... in the order connections were first seen */
    DWORD dwRequest;         /* request number on this connection, from 1 */
    DWORD dwSeq;             /* notifications seen on this connection, from 1 */
    BOOL fRequestOpen;       /* a request is in progress (its LOG not seen yet) */
    BOOL fPreprocSeen;       /* the current request has had its PREPROC_HEADERS */
} TRACE_CONN;

typedef struct TRACE_LINE {
    char buf[TRACE_LINE_MAX];
    size_t len;
} TRACE_LINE;

typedef BOOL (WINAPI *TRACE_GETTER)(PHTTP_FILTER_CONTEXT, LPSTR, LPVOID, LPDWORD);

static const struct {
    DWORD dwFlag;
    const char *pszName;
} g_notifications[] = {
    { SF_NOTIFY_READ_RAW_DATA,      "READ_RAW_DATA" },
    { SF_NOTIFY_PREPROC_HEADERS,    "PREPROC_HEADERS" },
    { SF_NOTIFY_URL_MAP,            "URL_MAP" },
    { SF_NOTIFY_AUTHENTICATION,     "AUTHENTICATION" },
    { SF_NOTIFY_AUTH_COMPLETE,      "AUTH_COMPLETE" },
    { SF_NOTIFY_ACCESS_DENIED,      "ACCESS_DENIED" },
    { SF_NOTIFY_SEND_RESPONSE,      "SEND_RESPONSE" },
    { SF_NOTIFY_SEND_RAW_DATA,      "SEND_RAW_DATA" },
    { SF_NOTIFY_END_OF_REQUEST,     "END_OF_REQUEST" },
    { SF_NOTIFY_LOG,                "LOG" },
    { SF_NOTIFY_END_OF_NET_SESSION, "END_OF_NET_SESSION" },
};
#define TRACE_NOTIFICATIONS (sizeof g_notifications / sizeof g_notifications[0])

static HINSTANCE g_hInstance;
static char g_szFilterName[64] = "trace";
static FILE *g_pFile;
static CRITICAL_SECTION g_csOutput;
static BOOL g_fInitialized;
static DWORD g_dwFlags;
static DWORD g_cbData = 64;          /* raw-data bytes shown in data= */
static LONG volatile g_lConnections;

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    if (fdwReason == DLL_PROCESS_ATTACH) {
        g_hInstance = hinstDLL;
        DisableThreadLibraryCalls(hinstDLL);
    }
    return TRUE;
}

/* ---- building a line ---------------------------------------------------------------- */

static void Put(TRACE_LINE *l, const char *s)
{
    size_t n = strlen(s);

    if (n > TRACE_LINE_MAX - 1 - l->len)
        n = TRACE_LINE_MAX - 1 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

/* Appends cb bytes, escaping everything but printable ASCII, and '%' and '!' themselves,
 * as %XX: a value never contains a blank, and '!' only ever starts an error marker. */
static void PutEscaped(TRACE_LINE *l, const char *s, size_t cb)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < cb && l->len + 4 < TRACE_LINE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '%' || c == '!') {
            l->buf[l->len++] = '%';
            l->buf[l->len++] = hex[c >> 4];
            l->buf[l->len++] = hex[c & 15];
        } else {
            l->buf[l->len++] = (char)c;
        }
    }
    l->buf[l->len] = '\0';
}

static void PutKey(TRACE_LINE *l, const char *key)
{
    Put(l, " ");
    Put(l, key);
    Put(l, "=");
}

/* key=value; a NULL pointer is shown as !NULL. */
static void PutStr(TRACE_LINE *l, const char *key, const char *value)
{
    PutKey(l, key);
    if (value)
        PutEscaped(l, value, strlen(value));
    else
        Put(l, "!NULL");
}

static void PutNum(TRACE_LINE *l, const char *key, DWORD value)
{
    char num[16];

    wsprintfA(num, "%lu", value);
    PutKey(l, key);
    Put(l, num);
}

static void PutHex(TRACE_LINE *l, const char *key, DWORD value)
{
    char num[16];

    wsprintfA(num, "0x%08lx", value);
    PutKey(l, key);
    Put(l, num);
}

static void PutError(TRACE_LINE *l, const char *key, DWORD dwError)
{
    char num[16];

    wsprintfA(num, "!%lu", dwError);
    PutKey(l, key);
    Put(l, num);
}

/* Calls a GetServerVariable-style callback and appends key=value or key=!error. Grows the
 * buffer once to the size the server reports for ERROR_INSUFFICIENT_BUFFER. */
static void PutFetched(TRACE_LINE *l, PHTTP_FILTER_CONTEXT pfc, TRACE_GETTER pfnGet,
                       const char *key, const char *name)
{
    char small[TRACE_SMALL_BUF];
    DWORD cb = sizeof small;
    DWORD dwError;
    char *big;

    if (!pfnGet) {
        PutStr(l, key, NULL);
        return;
    }
    if (pfnGet(pfc, (LPSTR)name, small, &cb)) {
        PutStr(l, key, small);
        return;
    }
    dwError = GetLastError();
    if (dwError != ERROR_INSUFFICIENT_BUFFER || cb <= sizeof small) {
        PutError(l, key, dwError);
        return;
    }
    big = (char *)malloc(cb);
    if (!big) {
        PutError(l, key, ERROR_NOT_ENOUGH_MEMORY);
        return;
    }
    if (pfnGet(pfc, (LPSTR)name, big, &cb))
        PutStr(l, key, big);
    else
        PutError(l, key, GetLastError());
    free(big);
}

static void PutServerVariable(TRACE_LINE *l, PHTTP_FILTER_CONTEXT pfc, const char *name)
{
    char key[64];

    wsprintfA(key, "sv.%.48s", name);
    PutFetched(l, pfc, pfc->GetServerVariable, key, name);
}

static void PutRaw(TRACE_LINE *l, PHTTP_FILTER_RAW_DATA pRaw)
{
    DWORD cb;

    if (!pRaw) {
        PutStr(l, "pvInData", NULL);
        return;
    }
    PutNum(l, "cbInData", pRaw->cbInData);
    PutNum(l, "cbInBuffer", pRaw->cbInBuffer);
    if (g_cbData == 0)
        return;
    cb = pRaw->cbInData < g_cbData ? pRaw->cbInData : g_cbData;
    PutKey(l, "data");
    if (pRaw->pvInData)
        PutEscaped(l, (const char *)pRaw->pvInData, cb);
    else
        Put(l, "!NULL");
}

/* ---- output ------------------------------------------------------------------------- */

static void Emit(TRACE_LINE *l)
{
    Put(l, "\n");
    EnterCriticalSection(&g_csOutput);
    if (g_pFile) {
        fputs(l->buf, g_pFile);
        /* Why flush every line: tests and users read the file while the server runs. */
        fflush(g_pFile);
    } else {
        OutputDebugStringA(l->buf);
    }
    LeaveCriticalSection(&g_csOutput);
}

static const char *NotificationName(DWORD dwType)
{
    size_t i;

    for (i = 0; i < TRACE_NOTIFICATIONS; i++) {
        if (g_notifications[i].dwFlag == dwType)
            return g_notifications[i].pszName;
    }
    return NULL;
}

/* The connection record on pFilterContext; *pszCtx says what was found there. */
static TRACE_CONN *GetConn(PHTTP_FILTER_CONTEXT pfc, const char **pszCtx)
{
    TRACE_CONN *conn = (TRACE_CONN *)pfc->pFilterContext;

    if (conn && conn->dwMagic == TRACE_MAGIC) {
        *pszCtx = "same";
        return conn;
    }
    *pszCtx = conn ? "bad" : "new";
    conn = (TRACE_CONN *)pfc->AllocMem(pfc, sizeof *conn, 0);
    if (!conn) {
        *pszCtx = "nomem";
        return NULL;
    }
    memset(conn, 0, sizeof *conn);
    conn->dwMagic = TRACE_MAGIC;
    conn->dwConn = (DWORD)InterlockedIncrement(&g_lConnections);
    pfc->pFilterContext = conn;
    return conn;
}

/* ---- the notifications -------------------------------------------------------------- */

static void TraceHeaders(TRACE_LINE *l, PHTTP_FILTER_CONTEXT pfc, TRACE_GETTER pfnGetHeader)
{
    PutFetched(l, pfc, pfnGetHeader, "method", "method");
    PutFetched(l, pfc, pfnGetHeader, "url", "url");
    PutFetched(l, pfc, pfnGetHeader, "version", "version");
    PutFetched(l, pfc, pfnGetHeader, "host", "Host:");
}

static void TraceNotification(TRACE_LINE *l, PHTTP_FILTER_CONTEXT pfc, DWORD dwType, LPVOID pv)
{
    switch (dwType) {
    case SF_NOTIFY_READ_RAW_DATA:
    case SF_NOTIFY_SEND_RAW_DATA:
        PutRaw(l, (PHTTP_FILTER_RAW_DATA)pv);
        break;
    case SF_NOTIFY_PREPROC_HEADERS: {
        PHTTP_FILTER_PREPROC_HEADERS p = (PHTTP_FILTER_PREPROC_HEADERS)pv;
        if (!p)
            break;
        TraceHeaders(l, pfc, p->GetHeader);
        PutNum(l, "HttpStatus", p->HttpStatus);
        break;
    }
    case SF_NOTIFY_AUTH_COMPLETE: {
        PHTTP_FILTER_AUTH_COMPLETE_INFO p = (PHTTP_FILTER_AUTH_COMPLETE_INFO)pv;
        HANDLE hToken = NULL;
        if (!p)
            break;
        TraceHeaders(l, pfc, p->GetHeader);
        PutNum(l, "HttpStatus", p->HttpStatus);
        PutNum(l, "fResetAuth", (DWORD)p->fResetAuth);
        if (!p->GetUserToken) {
            PutStr(l, "token", NULL);
        } else if (p->GetUserToken(pfc, &hToken)) {
            PutStr(l, "token", "ok");
            /* Why: the token belongs to the caller, who must close it. */
            if (hToken)
                CloseHandle(hToken);
        } else {
            PutError(l, "token", GetLastError());
        }
        break;
    }
    case SF_NOTIFY_URL_MAP: {
        PHTTP_FILTER_URL_MAP p = (PHTTP_FILTER_URL_MAP)pv;
        if (!p)
            break;
        PutStr(l, "pszURL", p->pszURL);
        PutStr(l, "pszPhysicalPath", p->pszPhysicalPath);
        PutNum(l, "cbPathBuff", p->cbPathBuff);
        break;
    }
    case SF_NOTIFY_AUTHENTICATION: {
        PHTTP_FILTER_AUTHENT p = (PHTTP_FILTER_AUTHENT)pv;
        if (!p)
            break;
        PutStr(l, "pszUser", p->pszUser);
        /* The password itself never goes into a log; its length is enough to debug. */
        PutNum(l, "passlen", p->pszPassword ? (DWORD)strlen(p->pszPassword) : 0);
        PutNum(l, "cbUserBuff", p->cbUserBuff);
        PutNum(l, "cbPasswordBuff", p->cbPasswordBuff);
        break;
    }
    case SF_NOTIFY_ACCESS_DENIED: {
        PHTTP_FILTER_ACCESS_DENIED p = (PHTTP_FILTER_ACCESS_DENIED)pv;
        if (!p)
            break;
        PutStr(l, "pszURL", p->pszURL);
        PutStr(l, "pszPhysicalPath", p->pszPhysicalPath);
        PutHex(l, "dwReason", p->dwReason);
        break;
    }
    case SF_NOTIFY_SEND_RESPONSE: {
        PHTTP_FILTER_SEND_RESPONSE p = (PHTTP_FILTER_SEND_RESPONSE)pv;
        if (!p)
            break;
        PutFetched(l, pfc, p->GetHeader, "status", "status");
        PutNum(l, "HttpStatus", p->HttpStatus);
        PutFetched(l, pfc, p->GetHeader, "content_type", "Content-Type:");
        PutFetched(l, pfc, p->GetHeader, "content_length", "Content-Length:");
        PutFetched(l, pfc, p->GetHeader, "server", "Server:");
        break;
    }
    case SF_NOTIFY_LOG: {
        PHTTP_FILTER_LOG p = (PHTTP_FILTER_LOG)pv;
        if (!p)
            break;
        PutStr(l, "pszClientHostName", p->pszClientHostName);
        PutStr(l, "pszClientUserName", p->pszClientUserName);
        PutStr(l, "pszServerName", p->pszServerName);
        PutStr(l, "pszOperation", p->pszOperation);
        PutStr(l, "pszTarget", p->pszTarget);
        PutStr(l, "pszParameters", p->pszParameters);
        PutNum(l, "dwHttpStatus", p->dwHttpStatus);
        PutNum(l, "dwWin32Status", p->dwWin32Status);
        PutNum(l, "dwBytesSent", p->dwBytesSent);
        PutNum(l, "dwBytesRecvd", p->dwBytesRecvd);
        PutNum(l, "msTimeForProcessing", p->msTimeForProcessing);
        break;
    }
    default:
        break;
    }
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    /* Why malloc: a 16 KB line is more than a filter should take from a server thread's
     * stack. */
    TRACE_LINE *l = (TRACE_LINE *)malloc(sizeof *l);
    const char *pszName = NotificationName(NotificationType);
    const char *pszCtx;
    TRACE_CONN *conn;
    char num[32];

    if (!l)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    l->len = 0;
    l->buf[0] = '\0';

    conn = GetConn(pfc, &pszCtx);
    if (conn) {
        if (NotificationType != SF_NOTIFY_END_OF_NET_SESSION &&
            (!conn->fRequestOpen ||
             (NotificationType == SF_NOTIFY_PREPROC_HEADERS && conn->fPreprocSeen))) {
            conn->dwRequest++;
            conn->fRequestOpen = TRUE;
            conn->fPreprocSeen = FALSE;
        }
        if (NotificationType == SF_NOTIFY_PREPROC_HEADERS)
            conn->fPreprocSeen = TRUE;
        conn->dwSeq++;
    }

    Put(l, "filter=");
    Put(l, g_szFilterName);
    PutNum(l, "conn", conn ? conn->dwConn : 0);
    PutNum(l, "req", conn ? conn->dwRequest : 0);
    PutNum(l, "seq", conn ? conn->dwSeq : 0);
    PutNum(l, "tid", GetCurrentThreadId());
    PutKey(l, "notify");
    if (pszName) {
        Put(l, pszName);
    } else {
        wsprintfA(num, "0x%08lx", NotificationType);
        Put(l, num);
    }
    PutStr(l, "ctx", pszCtx);
    PutNum(l, "secure", pfc->fIsSecurePort ? 1 : 0);
    PutServerVariable(l, pfc, "SERVER_PROTOCOL");
    PutServerVariable(l, pfc, "URL");
    PutServerVariable(l, pfc, "REMOTE_ADDR");
    TraceNotification(l, pfc, NotificationType, pvNotification);
    if (conn && NotificationType == SF_NOTIFY_END_OF_NET_SESSION)
        PutNum(l, "requests", conn->dwRequest);
    Emit(l);
    free(l);

    if (conn && NotificationType == SF_NOTIFY_LOG)
        conn->fRequestOpen = FALSE;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* ---- loading ------------------------------------------------------------------------ */

static DWORD ParsePriority(const char *s)
{
    if (_stricmp(s, "high") == 0)
        return SF_NOTIFY_ORDER_HIGH;
    if (_stricmp(s, "medium") == 0)
        return SF_NOTIFY_ORDER_MEDIUM;
    return SF_NOTIFY_ORDER_LOW;
}

/* "all" or empty: every notification; else a list of names such as "LOG, URL_MAP". */
static DWORD ParseNotifications(const char *s)
{
    DWORD dwFlags = 0;
    size_t i;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || _stricmp(s, "all") == 0) {
        for (i = 0; i < TRACE_NOTIFICATIONS; i++)
            dwFlags |= g_notifications[i].dwFlag;
        return dwFlags;
    }
    while (*s) {
        size_t n;
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        n = strcspn(s, ", \t");
        for (i = 0; n && i < TRACE_NOTIFICATIONS; i++) {
            if (strlen(g_notifications[i].pszName) == n &&
                _strnicmp(g_notifications[i].pszName, s, n) == 0)
                dwFlags |= g_notifications[i].dwFlag;
        }
        s += n;
    }
    return dwFlags;
}

/* Reads trace.ini (the DLL's path with ".ini") and opens the output file. */
static BOOL Initialize(void)
{
    char module[MAX_PATH], ini[MAX_PATH], file[MAX_PATH], text[256];
    DWORD n = GetModuleFileNameA(g_hInstance, module, sizeof module);
    const char *sep;
    size_t cchDir;
    char *dot;

    if (n == 0 || n >= sizeof module - 4)
        return FALSE;
    sep = strrchr(module, '\\');
    if (!sep || strrchr(module, '/') > sep)
        sep = strrchr(module, '/');
    cchDir = sep ? (size_t)(sep - module) + 1 : 0;
    lstrcpyA(ini, module);
    dot = strrchr(ini, '.');
    if (dot && dot >= ini + cchDir)
        *dot = '\0';
    lstrcpynA(g_szFilterName, ini + cchDir, sizeof g_szFilterName);
    lstrcatA(ini, ".ini");

    GetPrivateProfileStringA("trace", "priority", "low", text, sizeof text, ini);
    g_dwFlags = ParsePriority(text);
    GetPrivateProfileStringA("trace", "notifications", "all", text, sizeof text, ini);
    g_dwFlags |= ParseNotifications(text) | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT;
    g_cbData = GetPrivateProfileIntA("trace", "data_bytes", 64, ini);
    if (g_cbData > 4096)
        g_cbData = 4096;

    file[0] = '\0';
    n = GetEnvironmentVariableA("ISAPI_TRACE_FILE", file, sizeof file);
    if (n == 0 || n >= sizeof file)
        GetPrivateProfileStringA("trace", "file", "", file, sizeof file, ini);
    if (file[0] == '\0')
        return TRUE;
    /* A relative name is relative to the DLL's folder, not to the server's directory. */
    if (!(file[0] == '/' || file[0] == '\\' || file[1] == ':')) {
        if (cchDir + strlen(file) >= sizeof module)
            return FALSE;
        lstrcpyA(module + cchDir, file);
        lstrcpyA(file, module);
    }
    g_pFile = fopen(file, "a");
    return g_pFile != NULL;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    /* Why the guard: a server may call GetFilterVersion more than once in a process. */
    if (!g_fInitialized) {
        InitializeCriticalSection(&g_csOutput);
        if (!Initialize()) {
            DeleteCriticalSection(&g_csOutput);
            /* The configured trace file cannot be opened: refuse to load rather than
             * trace nowhere. */
            SetLastError(ERROR_PATH_NOT_FOUND);
            return FALSE;
        }
        g_fInitialized = TRUE;
    }
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "trace sample: one line per notification",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = g_dwFlags;
    return TRUE;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    if (!g_fInitialized)
        return TRUE;
    if (g_pFile) {
        fclose(g_pFile);
        g_pFile = NULL;
    }
    DeleteCriticalSection(&g_csOutput);
    g_fInitialized = FALSE;
    return TRUE;
}
