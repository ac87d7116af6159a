/*
 * logger.c - ISAPI filter sample: edits the log record and counts per-connection traffic.
 *
 *   SF_NOTIFY_LOG                the server is about to write its log line. The filter
 *                                replaces two fields by pointing them at its own strings:
 *                                the client address, taken from X-Forwarded-For when the
 *                                peer (REMOTE_ADDR) is a trusted proxy listed in logger.ini,
 *                                and the user name, which for an anonymous request ("" or
 *                                "-") becomes the value of a request header
 *                                (X-Authenticated-User, set by the basicauth sample) or
 *                                "anonymous". It also adds the request to the connection's
 *                                totals (requests, bytes sent, bytes received).
 *   SF_NOTIFY_END_OF_NET_SESSION the connection is closing: the totals are reported with
 *                                OutputDebugStringA and, when logger.ini names a file,
 *                                appended to it.
 *
 * The totals and the replacement strings live in one record allocated with AllocMem and
 * hung on pFilterContext. Why AllocMem: the server keeps the memory until after
 * END_OF_NET_SESSION, exactly the lifetime needed, and the strings handed to the LOG
 * record must stay valid after the notification returns. Server variables are read with
 * the usual loop: start with a small buffer and grow it to the size the server asks for
 * (ERROR_INSUFFICIENT_BUFFER).
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGGER_MAX_TEXT 512
#define LOGGER_MAX_HOST 64

typedef struct LOGGER_CONN {
    DWORD dwRequests;
    DWORD dwBytesSent;              /* totals wrap at 4 GB, like the LOG fields they add up */
    DWORD dwBytesRecvd;
    char szClientHost[LOGGER_MAX_HOST];
    char szUser[SF_MAX_USERNAME];
} LOGGER_CONN;

static HINSTANCE g_hInstance;
static char g_szTrusted[LOGGER_MAX_TEXT] = "127.0.0.1, ::1";
static char g_szUserVar[LOGGER_MAX_TEXT] = "HTTP_X_AUTHENTICATED_USER";
static char g_szAnonymous[SF_MAX_USERNAME] = "anonymous";
static char g_szLogFile[MAX_PATH];
static CRITICAL_SECTION g_csFile;
static BOOL g_fInitialized;

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    if (fdwReason == DLL_PROCESS_ATTACH) {
        g_hInstance = hinstDLL;
        DisableThreadLibraryCalls(hinstDLL);
    }
    return TRUE;
}

static void LoadSettings(void)
{
    char ini[MAX_PATH], header[LOGGER_MAX_TEXT], file[MAX_PATH];
    DWORD n = GetModuleFileNameA(g_hInstance, ini, sizeof ini);
    const char *sep;
    char *dot, *p;
    size_t cchDir;

    if (n == 0 || n >= sizeof ini - 4)
        return;
    sep = strrchr(ini, '\\');
    if (!sep || strrchr(ini, '/') > sep)
        sep = strrchr(ini, '/');
    cchDir = sep ? (size_t)(sep - ini) + 1 : 0;
    dot = strrchr(ini, '.');
    if (dot && dot >= ini + cchDir)
        *dot = '\0';
    lstrcatA(ini, ".ini");

    GetPrivateProfileStringA("logger", "trusted_proxies", "127.0.0.1, ::1", g_szTrusted,
                             sizeof g_szTrusted, ini);
    GetPrivateProfileStringA("logger", "anonymous", "anonymous", g_szAnonymous,
                             sizeof g_szAnonymous, ini);
    GetPrivateProfileStringA("logger", "user_header", "X-Authenticated-User", header,
                             sizeof header, ini);
    /* A request header "X-Name" is the server variable HTTP_X_NAME. */
    if (header[0] && strlen(header) + 5 < sizeof g_szUserVar) {
        wsprintfA(g_szUserVar, "HTTP_%s", header);
        for (p = g_szUserVar; *p; p++) {
            if (*p == '-')
                *p = '_';
            else if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        }
    } else {
        g_szUserVar[0] = '\0';
    }
    GetPrivateProfileStringA("logger", "file", "", file, sizeof file, ini);
    if (file[0] == '/' || file[0] == '\\' || (file[0] && file[1] == ':'))
        lstrcpynA(g_szLogFile, file, sizeof g_szLogFile);
    else if (file[0] && cchDir + strlen(file) < sizeof g_szLogFile) {
        lstrcpynA(g_szLogFile, ini, (int)cchDir + 1);
        lstrcatA(g_szLogFile, file);
    }
}

/* A server variable in a malloc'd buffer (free it), or NULL when it is not available. */
static char *GetVar(PHTTP_FILTER_CONTEXT pfc, const char *name)
{
    DWORD cb = 32;                 /* small on purpose: most values need the second round */
    char *buf = (char *)malloc(cb);

    while (buf) {
        DWORD size = cb;
        char *bigger;
        if (pfc->GetServerVariable(pfc, (LPSTR)name, buf, &size))
            return buf;
        if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || size <= cb)
            break;
        cb = size;
        bigger = (char *)realloc(buf, cb);
        if (!bigger)
            break;
        buf = bigger;
    }
    free(buf);
    return NULL;
}

static BOOL IsTrustedProxy(const char *addr)
{
    const char *p = g_szTrusted;

    while (*p) {
        size_t len;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        len = strcspn(p, ", \t");
        if (len && len == strlen(addr) && _strnicmp(p, addr, len) == 0)
            return TRUE;
        p += len;
    }
    return FALSE;
}

/* The last address of an X-Forwarded-For list (the one the trusted proxy added), copied to
 * out when it looks like an IPv4 or IPv6 address. */
static BOOL LastForwardedAddress(const char *xff, char *out, size_t cbOut)
{
    const char *start = strrchr(xff, ',');
    size_t len, i;

    start = start ? start + 1 : xff;
    while (*start == ' ' || *start == '\t')
        start++;
    len = strcspn(start, " \t");
    if (len == 0 || len >= cbOut)
        return FALSE;
    for (i = 0; i < len; i++) {
        char c = start[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':' || c == '[' || c == ']'))
            return FALSE;
    }
    memcpy(out, start, len);
    out[len] = '\0';
    return TRUE;
}

static LOGGER_CONN *GetConn(PHTTP_FILTER_CONTEXT pfc)
{
    LOGGER_CONN *conn = (LOGGER_CONN *)pfc->pFilterContext;

    if (!conn) {
        conn = (LOGGER_CONN *)pfc->AllocMem(pfc, sizeof *conn, 0);
        if (conn) {
            memset(conn, 0, sizeof *conn);
            pfc->pFilterContext = conn;
        }
    }
    return conn;
}

static DWORD OnLog(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_LOG pLog)
{
    LOGGER_CONN *conn = GetConn(pfc);
    char *remote, *value;

    if (!conn)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    conn->dwRequests++;
    conn->dwBytesSent += pLog->dwBytesSent;
    conn->dwBytesRecvd += pLog->dwBytesRecvd;

    remote = GetVar(pfc, "REMOTE_ADDR");
    if (remote && IsTrustedProxy(remote)) {
        value = GetVar(pfc, "HTTP_X_FORWARDED_FOR");
        if (value && LastForwardedAddress(value, conn->szClientHost, sizeof conn->szClientHost))
            pLog->pszClientHostName = conn->szClientHost;
        free(value);
    }
    free(remote);

    if (!pLog->pszClientUserName || pLog->pszClientUserName[0] == '\0' ||
        lstrcmpA(pLog->pszClientUserName, "-") == 0) {
        value = g_szUserVar[0] ? GetVar(pfc, g_szUserVar) : NULL;
        lstrcpynA(conn->szUser, (value && value[0]) ? value : g_szAnonymous, sizeof conn->szUser);
        free(value);
        pLog->pszClientUserName = conn->szUser;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static DWORD OnEndOfNetSession(PHTTP_FILTER_CONTEXT pfc)
{
    LOGGER_CONN *conn = (LOGGER_CONN *)pfc->pFilterContext;
    char *remote, *remotePort, *local, *localPort;
    char line[1024];
    SYSTEMTIME now;

    if (!conn)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    remote = GetVar(pfc, "REMOTE_ADDR");
    remotePort = GetVar(pfc, "REMOTE_PORT");
    local = GetVar(pfc, "LOCAL_ADDR");
    localPort = GetVar(pfc, "SERVER_PORT");
    GetLocalTime(&now);
    wsprintfA(line, "%04u-%02u-%02u %02u:%02u:%02u logger: connection %.64s:%.8s -> %.64s:%.8s "
              "closed: %lu requests, %lu bytes sent, %lu bytes received\n",
              now.wYear, now.wMonth, now.wDay, now.wHour, now.wMinute, now.wSecond,
              remote ? remote : "-", remotePort ? remotePort : "-",
              local ? local : "-", localPort ? localPort : "-",
              conn->dwRequests, conn->dwBytesSent, conn->dwBytesRecvd);
    free(remote);
    free(remotePort);
    free(local);
    free(localPort);

    OutputDebugStringA(line);
    if (g_szLogFile[0]) {
        FILE *f;
        /* Connections close on many threads at once; one line at a time. */
        EnterCriticalSection(&g_csFile);
        f = fopen(g_szLogFile, "a");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
        LeaveCriticalSection(&g_csFile);
    }
    pfc->pFilterContext = NULL;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    /* Why the guard: a server may call GetFilterVersion more than once in a process. */
    if (!g_fInitialized) {
        InitializeCriticalSection(&g_csFile);
        LoadSettings();
        g_fInitialized = TRUE;
    }
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "logger sample: log record edits, per-connection totals",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_DEFAULT |
                    SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    switch (NotificationType) {
    case SF_NOTIFY_LOG:
        return OnLog(pfc, (PHTTP_FILTER_LOG)pvNotification);
    case SF_NOTIFY_END_OF_NET_SESSION:
        return OnEndOfNetSession(pfc);
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    if (g_fInitialized) {
        DeleteCriticalSection(&g_csFile);
        g_fInitialized = FALSE;
    }
    return TRUE;
}
