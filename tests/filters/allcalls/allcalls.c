/*
 * allcalls.c - a test filter that calls every callback in every notification and checks
 * each answer against the documented contract (docs/isapi-reference.md: "Callbacks",
 * "Header accessors", "ServerSupportFunction requests", "HTTP/0.9").
 *
 * It registers for every notification on secure and non-secure ports. In each one it runs
 * the checks the notification allows: GetServerVariable (connection and request variables,
 * ALL_RAW, ALL_HTTP, an unknown name, with size probing: NULL buffer and size 0, one byte
 * short, exact), AllocMem (non-NULL, aligned, writable), WriteClient of zero bytes,
 * AddResponseHeaders, the header accessors of PREPROC_HEADERS / AUTH_COMPLETE /
 * SEND_RESPONSE (get, set, add, delete; "status"; HTTP/0.9 answers), and every SF_REQ_*
 * code with harmless arguments (SEND_RESPONSE_HEADER only where the contract says it must
 * fail, so it never adds a response; NORMALIZE_URL on a copy; DISABLE_NOTIFICATIONS of
 * nothing). Where the table "Where each callback may be called" of docs/isapi-reference.md
 * says "no", the call must fail with
 * ERROR_INVALID_PARAMETER; it is made anyway, because a host that accepted it would corrupt
 * the response or touch state that does not exist (KB Q323064, KB 892988).
 *
 * Every broken promise is a violation: counted, written as one line "VIOLATION ..." to the
 * file named by the environment variable ALLCALLS_REPORT (or OutputDebugStringA when it is
 * unset), and shown to the client in the header "X-Allcalls-Violations: <total>" of every
 * HTTP/1.x response. TerminateFilter appends one line per notification it received,
 * "allcalls: notify=NAME calls=N http09=N get_property=N" (calls in all, calls for HTTP/0.9
 * requests, calls where SF_REQ_GET_PROPERTY gave the instance number that INSTANCE_ID
 * gives), then "allcalls: calls=N violations=M". The filter never changes a response body
 * and always returns SF_STATUS_REQ_NEXT_NOTIFICATION; the only headers it adds are
 * X-Allcalls-* (so a client can see it ran).
 *
 * The environment variable ALLCALLS_HTTP09 names the server's HTTP/0.9 policy: "strict"
 * (SetHeader on a 0.9 response must fail with ERROR_NOT_SUPPORTED) or "http10" (it must
 * succeed). Unset, either answer is accepted.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AC_MAGIC 0x41434c31u   /* "ACL1" */
#define AC_VAR_MAX 65536

typedef struct AC_CONN {
    DWORD dwMagic;
    DWORD dwNotifications;
} AC_CONN;

/* Notifications by the number of their bit (SF_NOTIFY_READ_RAW_DATA is 1 << 15, ...). */
#define AC_NOTIF_SLOTS 32

typedef enum { AC_09_ANY, AC_09_STRICT, AC_09_HTTP10 } AC_POLICY09;

static FILE *g_pReport;
static CRITICAL_SECTION g_csReport;
static LONG volatile g_lViolations;
static LONG volatile g_lCalls;
static LONG volatile g_alCalls[AC_NOTIF_SLOTS];          /* calls per notification */
static LONG volatile g_alCalls09[AC_NOTIF_SLOTS];        /* of those, for HTTP/0.9 requests */
static LONG volatile g_alGetProperty[AC_NOTIF_SLOTS];    /* GET_PROPERTY answered right */
static AC_POLICY09 g_policy09;

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

static int NotifSlot(DWORD n)
{
    for (int i = 0; i < AC_NOTIF_SLOTS; i++)
        if (n == (DWORD)1 << i)
            return i;
    return 0;
}

static const char *NotifName(DWORD n)
{
    switch (n) {
    case SF_NOTIFY_READ_RAW_DATA: return "READ_RAW_DATA";
    case SF_NOTIFY_PREPROC_HEADERS: return "PREPROC_HEADERS";
    case SF_NOTIFY_URL_MAP: return "URL_MAP";
    case SF_NOTIFY_AUTHENTICATION: return "AUTHENTICATION";
    case SF_NOTIFY_AUTH_COMPLETE: return "AUTH_COMPLETE";
    case SF_NOTIFY_ACCESS_DENIED: return "ACCESS_DENIED";
    case SF_NOTIFY_SEND_RESPONSE: return "SEND_RESPONSE";
    case SF_NOTIFY_SEND_RAW_DATA: return "SEND_RAW_DATA";
    case SF_NOTIFY_END_OF_REQUEST: return "END_OF_REQUEST";
    case SF_NOTIFY_LOG: return "LOG";
    case SF_NOTIFY_END_OF_NET_SESSION: return "END_OF_NET_SESSION";
    default: return "UNKNOWN";
    }
}

static void Violation(DWORD dwNotif, const char *pszCheck, BOOL fRet, DWORD dwErr)
{
    char line[512];
    LONG total = InterlockedIncrement(&g_lViolations);
    snprintf(line, sizeof line, "VIOLATION #%ld notify=%s check=%s ret=%d err=%lu\n",
              (long)total, NotifName(dwNotif), pszCheck, (int)fRet, (unsigned long)dwErr);
    line[sizeof line - 1] = '\0';
    EnterCriticalSection(&g_csReport);
    if (g_pReport) {
        fputs(line, g_pReport);
        fflush(g_pReport);
    } else {
        OutputDebugStringA(line);
    }
    LeaveCriticalSection(&g_csReport);
}

/* Expects a call that failed with exactly dwWant. */
static void ExpectFail(DWORD dwNotif, const char *pszCheck, BOOL fRet, DWORD dwErr, DWORD dwWant)
{
    if (fRet || dwErr != dwWant)
        Violation(dwNotif, pszCheck, fRet, dwErr);
}

static void ExpectOk(DWORD dwNotif, const char *pszCheck, BOOL fRet, DWORD dwErr)
{
    /* Why the last error too: the engine clears it on success (old Shibboleth code tests
     * GetLastError after a TRUE return; docs/isapi-reference.md, "GetServerVariable"). */
    if (!fRet || dwErr != ERROR_SUCCESS)
        Violation(dwNotif, pszCheck, fRet, dwErr);
}

typedef BOOL (WINAPI *AC_GETTER)(PHTTP_FILTER_CONTEXT, LPSTR, LPVOID, LPDWORD);

/* The size protocol of GetServerVariable / GetHeader (docs/isapi-reference.md,
 * "GetServerVariable"): probing with a NULL
 * buffer and size 0, then one byte short, then the exact size. Returns TRUE with the value
 * in *ppsz (malloc'ed) when it exists; FALSE with *pdwErr the error of the probe. Every
 * step that breaks the protocol is a violation. */
static BOOL ProbeValue(DWORD dwNotif, const char *pszWhat, AC_GETTER pfn,
                       PHTTP_FILTER_CONTEXT pfc, const char *pszName, char **ppsz, DWORD *pdwErr)
{
    char name[128];
    DWORD cb = 0;
    *ppsz = NULL;
    lstrcpynA(name, pszName, sizeof name);
    SetLastError(0xdeadbeef);
    BOOL fRet = pfn(pfc, name, NULL, &cb);
    DWORD dwErr = GetLastError();
    *pdwErr = dwErr;
    if (fRet) {
        Violation(dwNotif, pszWhat, fRet, dwErr);   /* nothing fits in zero bytes */
        return FALSE;
    }
    if (dwErr != ERROR_INSUFFICIENT_BUFFER)
        return FALSE;
    if (cb == 0 || cb > AC_VAR_MAX) {
        Violation(dwNotif, pszWhat, fRet, cb);
        return FALSE;
    }
    DWORD need = cb;
    char *buf = malloc(need + 1);
    if (!buf)
        return FALSE;
    if (need > 1) {
        cb = need - 1;
        SetLastError(0xdeadbeef);
        fRet = pfn(pfc, name, buf, &cb);
        dwErr = GetLastError();
        if (fRet || dwErr != ERROR_INSUFFICIENT_BUFFER || cb != need)
            Violation(dwNotif, pszWhat, fRet, dwErr);
    }
    cb = need;
    SetLastError(0xdeadbeef);
    fRet = pfn(pfc, name, buf, &cb);
    dwErr = GetLastError();
    if (!fRet || dwErr != ERROR_SUCCESS || cb != need || strlen(buf) + 1 != need) {
        Violation(dwNotif, pszWhat, fRet, dwErr);
        free(buf);
        return FALSE;
    }
    *ppsz = buf;
    return TRUE;
}

static BOOL WINAPI GsvAdapter(PHTTP_FILTER_CONTEXT pfc, LPSTR name, LPVOID buf, LPDWORD size)
{
    return pfc->GetServerVariable(pfc, name, buf, size);
}

/* ---- the checks ------------------------------------------------------------------- */

typedef enum { AC_BEFORE_REQUEST, AC_IN_REQUEST, AC_AFTER_REQUEST } AC_PHASE;

static AC_PHASE PhaseOf(DWORD dwNotif)
{
    if (dwNotif == SF_NOTIFY_READ_RAW_DATA)
        return AC_BEFORE_REQUEST;
    if (dwNotif == SF_NOTIFY_END_OF_NET_SESSION)
        return AC_AFTER_REQUEST;
    return AC_IN_REQUEST;
}

/* Server variables; sets *pf09 when SERVER_PROTOCOL reads HTTP/0.9. */
static void CheckServerVariables(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif, BOOL *pf09)
{
    static const char *const conn_vars[] = { "REMOTE_ADDR", "LOCAL_ADDR", "SERVER_PORT",
                                             "INSTANCE_ID", "SERVER_PORT_SECURE", "HTTPS" };
    static const char *const req_vars[] = { "URL", "SERVER_PROTOCOL", "REQUEST_METHOD",
                                            "ALL_RAW", "ALL_HTTP", "QUERY_STRING",
                                            "AUTH_TYPE", "CONTENT_LENGTH", "HTTP_VERSION" };
    AC_PHASE phase = PhaseOf(dwNotif);
    char *v;
    DWORD dwErr;
    *pf09 = FALSE;
    for (size_t i = 0; i < sizeof conn_vars / sizeof conn_vars[0]; i++) {
        if (!ProbeValue(dwNotif, conn_vars[i], GsvAdapter, pfc, conn_vars[i], &v, &dwErr)) {
            Violation(dwNotif, conn_vars[i], FALSE, dwErr);
            continue;
        }
        if (!*v && strcmp(conn_vars[i], "HTTPS") != 0)
            Violation(dwNotif, conn_vars[i], TRUE, 0);
        free(v);
    }
    for (size_t i = 0; i < sizeof req_vars / sizeof req_vars[0]; i++) {
        BOOL fOk = ProbeValue(dwNotif, req_vars[i], GsvAdapter, pfc, req_vars[i], &v, &dwErr);
        if (phase == AC_AFTER_REQUEST) {
            if (fOk || dwErr != ERROR_NO_DATA)
                Violation(dwNotif, req_vars[i], fOk, dwErr);
        } else if (phase == AC_BEFORE_REQUEST) {
            if (!fOk && dwErr != ERROR_NO_DATA)
                Violation(dwNotif, req_vars[i], fOk, dwErr);
        } else if (!fOk) {
            Violation(dwNotif, req_vars[i], fOk, dwErr);
        }
        if (!fOk)
            continue;
        if (strcmp(req_vars[i], "SERVER_PROTOCOL") == 0) {
            *pf09 = strcmp(v, "HTTP/0.9") == 0;
            if (strncmp(v, "HTTP/", 5) != 0)
                Violation(dwNotif, "SERVER_PROTOCOL value", TRUE, 0);
        }
        if (strcmp(req_vars[i], "ALL_HTTP") == 0 && *v && v[strlen(v) - 1] != '\n')
            /* Why: mod_jk counts headers by counting '\n' (docs/isapi-reference.md,
             * "Server variables"). */
            Violation(dwNotif, "ALL_HTTP terminator", TRUE, 0);
        if (strcmp(req_vars[i], "URL") == 0 && v[0] != '/')
            Violation(dwNotif, "URL value", TRUE, 0);
        free(v);
    }
    /* HTTP/0.9 has no headers: ALL_HTTP / ALL_RAW are "" and HTTP_* is absent
     * (docs/isapi-reference.md, "HTTP/0.9"). */
    if (*pf09) {
        if (ProbeValue(dwNotif, "ALL_RAW 0.9", GsvAdapter, pfc, "ALL_RAW", &v, &dwErr)) {
            if (*v)
                Violation(dwNotif, "ALL_RAW 0.9 empty", TRUE, 0);
            free(v);
        }
        ProbeValue(dwNotif, "HTTP_HOST 0.9", GsvAdapter, pfc, "HTTP_HOST", &v, &dwErr);
        if (v) {
            Violation(dwNotif, "HTTP_HOST 0.9", TRUE, 0);
            free(v);
        } else if (dwErr != ERROR_INVALID_INDEX) {
            Violation(dwNotif, "HTTP_HOST 0.9", FALSE, dwErr);
        }
    }
    ProbeValue(dwNotif, "unknown variable", GsvAdapter, pfc, "ALLCALLS_NO_SUCH_VARIABLE", &v,
               &dwErr);
    if (v) {
        Violation(dwNotif, "unknown variable", TRUE, 0);
        free(v);
    } else if (dwErr != ERROR_INVALID_INDEX) {
        Violation(dwNotif, "unknown variable", FALSE, dwErr);
    }
}

static void CheckAllocMem(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif)
{
    unsigned char *p = pfc->AllocMem(pfc, 48, 0);
    if (!p) {
        Violation(dwNotif, "AllocMem", FALSE, GetLastError());
        return;
    }
    if ((uintptr_t)p % (sizeof(void *) * 2) != 0)
        Violation(dwNotif, "AllocMem alignment", TRUE, (DWORD)((uintptr_t)p & 0xf));
    memset(p, 0xa5, 48);
}

static BOOL Allowed(DWORD dwNotif, DWORD dwMask)
{
    return (dwNotif & dwMask) != 0;
}

#define AC_BEFORE_RESPONSE (SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | \
    SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | \
    SF_NOTIFY_ACCESS_DENIED)

static void CheckContextCalls(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif)
{
    BOOL fRet;
    DWORD dwErr, cb = 0;
    char text[128];

    /* WriteClient of zero bytes: a successful no-op where WriteClient is allowed. */
    SetLastError(0xdeadbeef);
    fRet = pfc->WriteClient(pfc, "", &cb, 0);
    dwErr = GetLastError();
    if (Allowed(dwNotif, SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION))
        ExpectFail(dwNotif, "WriteClient(0) not allowed", fRet, dwErr, ERROR_INVALID_PARAMETER);
    else
        ExpectOk(dwNotif, "WriteClient(0)", fRet, dwErr);

    /* AddResponseHeaders: before the response only (docs/isapi-reference.md,
     * "AddResponseHeaders"). The text is a copy
     * the host must make: this buffer is overwritten at once. */
    lstrcpyA(text, "X-Allcalls-Added: ");
    lstrcatA(text, NotifName(dwNotif));
    lstrcatA(text, "\r\n");
    SetLastError(0xdeadbeef);
    fRet = pfc->AddResponseHeaders(pfc, text, 0);
    dwErr = GetLastError();
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    if (Allowed(dwNotif, AC_BEFORE_RESPONSE))
        ExpectOk(dwNotif, "AddResponseHeaders", fRet, dwErr);
    else
        ExpectFail(dwNotif, "AddResponseHeaders not allowed", fRet, dwErr,
                   ERROR_INVALID_PARAMETER);

    /* SF_REQ_SEND_RESPONSE_HEADER only where it must fail: in or after SEND_RESPONSE. */
    if (!Allowed(dwNotif, AC_BEFORE_RESPONSE)) {
        SetLastError(0xdeadbeef);
        fRet = pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "500 Allcalls",
                                          0, 0);
        ExpectFail(dwNotif, "SEND_RESPONSE_HEADER not allowed", fRet, GetLastError(),
                   ERROR_INVALID_PARAMETER);
    }

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL,
                                      "X-Allcalls-Denial: 1\r\n", 0, 0);
    dwErr = GetLastError();
    if (Allowed(dwNotif, AC_BEFORE_RESPONSE))
        ExpectOk(dwNotif, "ADD_HEADERS_ON_DENIAL", fRet, dwErr);
    else
        ExpectFail(dwNotif, "ADD_HEADERS_ON_DENIAL not allowed", fRet, dwErr,
                   ERROR_INVALID_PARAMETER);

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_SET_NEXT_READ_SIZE, NULL, 0, 0);
    ExpectOk(dwNotif, "SET_NEXT_READ_SIZE", fRet, GetLastError());

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_SET_PROXY_INFO, NULL, 0, 0);
    ExpectOk(dwNotif, "SET_PROXY_INFO", fRet, GetLastError());

    DWORD id = 0xdeadbeef;
    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_GET_CONNID, &id, 0, 0);
    ExpectFail(dwNotif, "GET_CONNID", fRet, GetLastError(), ERROR_NOT_SUPPORTED);

    /* GET_PROPERTY(INSTANCE_NUM_ID) answers in every notification with the number that
     * INSTANCE_ID gives as text. */
    id = 0xdeadbeef;
    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &id,
                                      SF_PROPERTY_INSTANCE_NUM_ID, 0);
    dwErr = GetLastError();
    ExpectOk(dwNotif, "GET_PROPERTY INSTANCE_NUM_ID", fRet, dwErr);
    char instance[32];
    cb = sizeof instance;
    if (fRet && pfc->GetServerVariable(pfc, "INSTANCE_ID", instance, &cb)) {
        if (id == strtoul(instance, NULL, 10))
            InterlockedIncrement(&g_alGetProperty[NotifSlot(dwNotif)]);
        else
            Violation(dwNotif, "GET_PROPERTY value", fRet, id);
    }

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &id, SF_PROPERTY_SSL_CTXT, 0);
    ExpectFail(dwNotif, "GET_PROPERTY SSL_CTXT", fRet, GetLastError(), ERROR_NOT_SUPPORTED);

    char url[64];
    lstrcpyA(url, "/a/./b/../c%20d//e?x=%2e%2e");
    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, url, 0, 0);
    ExpectOk(dwNotif, "NORMALIZE_URL", fRet, GetLastError());
    if (fRet && strcmp(url, "/a/c d/e?x=%2e%2e") != 0)
        Violation(dwNotif, "NORMALIZE_URL result", fRet, 0);
    lstrcpyA(url, "/a/../../etc");
    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, url, 0, 0);
    ExpectFail(dwNotif, "NORMALIZE_URL above root", fRet, GetLastError(),
               ERROR_INVALID_PARAMETER);

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, SF_REQ_DISABLE_NOTIFICATIONS, NULL, 0, 0);
    ExpectOk(dwNotif, "DISABLE_NOTIFICATIONS(0)", fRet, GetLastError());

    SetLastError(0xdeadbeef);
    fRet = pfc->ServerSupportFunction(pfc, (enum SF_REQ_TYPE)0x7777, NULL, 0, 0);
    ExpectFail(dwNotif, "unknown SF_REQ", fRet, GetLastError(), ERROR_NOT_SUPPORTED);
}

/* GetHeader / SetHeader / AddHeader of PREPROC_HEADERS and AUTH_COMPLETE. */
static void CheckRequestHeaders(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif, AC_GETTER pfnGet,
                                BOOL (WINAPI *pfnSet)(PHTTP_FILTER_CONTEXT, LPSTR, LPSTR),
                                BOOL (WINAPI *pfnAdd)(PHTTP_FILTER_CONTEXT, LPSTR, LPSTR),
                                BOOL f09)
{
    char *v;
    DWORD dwErr;
    char name[64], value[16];
    if (!pfnGet || !pfnSet || !pfnAdd) {
        Violation(dwNotif, "header accessor NULL", FALSE, 0);
        return;
    }
    static const char *const specials[] = { "url", "method", "version" };
    for (size_t i = 0; i < 3; i++) {
        if (!ProbeValue(dwNotif, specials[i], pfnGet, pfc, specials[i], &v, &dwErr)) {
            Violation(dwNotif, specials[i], FALSE, dwErr);
            continue;
        }
        if (!*v || (i == 2 && f09 && strcmp(v, "HTTP/0.9") != 0))
            Violation(dwNotif, specials[i], TRUE, 0);
        free(v);
    }
    ProbeValue(dwNotif, "absent header", pfnGet, pfc, "X-Allcalls-Absent:", &v, &dwErr);
    if (v) {
        Violation(dwNotif, "absent header", TRUE, 0);
        free(v);
    } else if (dwErr != ERROR_INVALID_INDEX) {
        Violation(dwNotif, "absent header", FALSE, dwErr);
    }
    /* set, read back, add a second instance, delete: the request ends as it came */
    lstrcpyA(name, "X-Allcalls-Req:");
    lstrcpyA(value, "one");
    SetLastError(0xdeadbeef);
    BOOL fRet = pfnSet(pfc, name, value);
    ExpectOk(dwNotif, "SetHeader request", fRet, GetLastError());
    if (ProbeValue(dwNotif, "GetHeader after set", pfnGet, pfc, "X-Allcalls-Req:", &v, &dwErr)) {
        if (strcmp(v, "one") != 0)
            Violation(dwNotif, "GetHeader after set value", TRUE, 0);
        free(v);
    } else {
        Violation(dwNotif, "GetHeader after set", FALSE, dwErr);
    }
    lstrcpyA(value, "two");
    SetLastError(0xdeadbeef);
    fRet = pfnAdd(pfc, name, value);
    ExpectOk(dwNotif, "AddHeader request", fRet, GetLastError());
    lstrcpyA(value, "");
    SetLastError(0xdeadbeef);
    fRet = pfnSet(pfc, name, value);
    ExpectOk(dwNotif, "SetHeader delete", fRet, GetLastError());
    ProbeValue(dwNotif, "GetHeader after delete", pfnGet, pfc, "X-Allcalls-Req:", &v, &dwErr);
    if (v) {
        Violation(dwNotif, "GetHeader after delete", TRUE, 0);
        free(v);
    } else if (dwErr != ERROR_INVALID_INDEX) {
        Violation(dwNotif, "GetHeader after delete", FALSE, dwErr);
    }
    /* a name without its colon, a value with a line break: refused */
    lstrcpyA(name, "X-Allcalls-Nocolon");
    lstrcpyA(value, "v");
    SetLastError(0xdeadbeef);
    fRet = pfnSet(pfc, name, value);
    ExpectFail(dwNotif, "SetHeader without colon", fRet, GetLastError(), ERROR_INVALID_PARAMETER);
    lstrcpyA(name, "X-Allcalls-Split:");
    lstrcpyA(value, "a\r\nB: c");
    SetLastError(0xdeadbeef);
    fRet = pfnSet(pfc, name, value);
    ExpectFail(dwNotif, "SetHeader CRLF", fRet, GetLastError(), ERROR_INVALID_PARAMETER);
}

static void CheckSendResponse(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif,
                              PHTTP_FILTER_SEND_RESPONSE p, BOOL f09)
{
    char *v;
    DWORD dwErr;
    char name[64], value[32];
    if (!p->GetHeader || !p->SetHeader || !p->AddHeader) {
        Violation(dwNotif, "SEND_RESPONSE accessor NULL", FALSE, 0);
        return;
    }
    if (p->HttpStatus < 100 || p->HttpStatus > 999)
        Violation(dwNotif, "HttpStatus", TRUE, p->HttpStatus);
    if (ProbeValue(dwNotif, "status", p->GetHeader, pfc, "status", &v, &dwErr)) {
        if ((DWORD)atoi(v) != p->HttpStatus)
            Violation(dwNotif, "status value", TRUE, (DWORD)atoi(v));
        free(v);
    } else {
        Violation(dwNotif, "status", FALSE, dwErr);
    }
    lstrcpyA(name, "X-Allcalls-Violations:");
    snprintf(value, sizeof value, "%ld", (long)g_lViolations);
    value[sizeof value - 1] = '\0';
    SetLastError(0xdeadbeef);
    BOOL fRet = p->SetHeader(pfc, name, value);
    dwErr = GetLastError();
    if (f09 && g_policy09 != AC_09_HTTP10 && (!fRet || g_policy09 == AC_09_STRICT)) {
        /* Why: a strict 0.9 response has no headers; "header not supported by the HTTP
         * version", ERROR_NOT_SUPPORTED, is the answer SetHeader documents for that
         * (docs/isapi-reference.md, "HTTP/0.9"). Under the http10 policy the set succeeds. */
        if (fRet || dwErr != ERROR_NOT_SUPPORTED)
            Violation(dwNotif, "SetHeader 0.9", fRet, dwErr);
    } else {
        ExpectOk(dwNotif, "SetHeader response", fRet, dwErr);
    }
    lstrcpyA(name, "X-Allcalls-Req-Only:");
    SetLastError(0xdeadbeef);
    ProbeValue(dwNotif, "response absent header", p->GetHeader, pfc, name, &v, &dwErr);
    if (v) {
        Violation(dwNotif, "response absent header", TRUE, 0);
        free(v);
    } else if (dwErr != ERROR_INVALID_INDEX) {
        Violation(dwNotif, "response absent header", FALSE, dwErr);
    }
}

static void CheckRawData(DWORD dwNotif, PHTTP_FILTER_RAW_DATA p)
{
    if (p->cbInData > p->cbInBuffer)
        Violation(dwNotif, "cbInData > cbInBuffer", TRUE, p->cbInData);
    if (p->cbInData && !p->pvInData)
        Violation(dwNotif, "pvInData NULL", FALSE, p->cbInData);
}

/* ---- entry points ----------------------------------------------------------------- */

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    char file[1024];
    DWORD n = GetEnvironmentVariableA("ALLCALLS_REPORT", file, sizeof file);
    if (n > 0 && n < sizeof file && !g_pReport) {
        g_pReport = fopen(file, "a");
        if (!g_pReport) {
            SetLastError(ERROR_PATH_NOT_FOUND);
            return FALSE;
        }
    }
    n = GetEnvironmentVariableA("ALLCALLS_HTTP09", file, sizeof file);
    if (n > 0 && n < sizeof file)
        g_policy09 = strcmp(file, "strict") == 0 ? AC_09_STRICT
                   : strcmp(file, "http10") == 0 ? AC_09_HTTP10 : AC_09_ANY;
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "allcalls: every callback in every notification",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_LOW |
                    SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP |
                    SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE |
                    SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_SEND_RESPONSE |
                    SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG |
                    SF_NOTIFY_END_OF_NET_SESSION;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif, LPVOID pvNotification)
{
    InterlockedIncrement(&g_lCalls);
    /* Why pvNotification may be NULL: END_OF_REQUEST and END_OF_NET_SESSION carry no
     * structure (IIS SDK). */
    if (!pfc || (!pvNotification && dwNotif != SF_NOTIFY_END_OF_REQUEST &&
                 dwNotif != SF_NOTIFY_END_OF_NET_SESSION)) {
        Violation(dwNotif, "NULL context or notification", FALSE, 0);
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (!pfc->GetServerVariable || !pfc->AddResponseHeaders || !pfc->WriteClient ||
        !pfc->AllocMem || !pfc->ServerSupportFunction) {
        Violation(dwNotif, "context function NULL", FALSE, 0);
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    /* pFilterContext: NULL at the connection's first notification, then ours, unchanged */
    AC_CONN *conn = pfc->pFilterContext;
    if (!conn) {
        conn = pfc->AllocMem(pfc, sizeof *conn, 0);
        if (conn) {
            conn->dwMagic = AC_MAGIC;
            conn->dwNotifications = 0;
            pfc->pFilterContext = conn;
        }
    } else if (conn->dwMagic != AC_MAGIC) {
        Violation(dwNotif, "pFilterContext lost", FALSE, conn->dwMagic);
        conn = NULL;
    }
    if (conn)
        conn->dwNotifications++;

    BOOL f09;
    CheckServerVariables(pfc, dwNotif, &f09);
    InterlockedIncrement(&g_alCalls[NotifSlot(dwNotif)]);
    if (f09)
        InterlockedIncrement(&g_alCalls09[NotifSlot(dwNotif)]);
    CheckAllocMem(pfc, dwNotif);

    switch (dwNotif) {
    case SF_NOTIFY_READ_RAW_DATA:
    case SF_NOTIFY_SEND_RAW_DATA:
        CheckRawData(dwNotif, pvNotification);
        break;
    case SF_NOTIFY_PREPROC_HEADERS: {
        PHTTP_FILTER_PREPROC_HEADERS p = pvNotification;
        CheckRequestHeaders(pfc, dwNotif, p->GetHeader, p->SetHeader, p->AddHeader, f09);
        break;
    }
    case SF_NOTIFY_AUTH_COMPLETE: {
        PHTTP_FILTER_AUTH_COMPLETE_INFO p = pvNotification;
        CheckRequestHeaders(pfc, dwNotif, p->GetHeader, p->SetHeader, p->AddHeader, f09);
        break;
    }
    case SF_NOTIFY_SEND_RESPONSE:
        CheckSendResponse(pfc, dwNotif, pvNotification, f09);
        break;
    case SF_NOTIFY_URL_MAP: {
        PHTTP_FILTER_URL_MAP p = pvNotification;
        if (!p->pszURL || !p->pszPhysicalPath || p->cbPathBuff < MAX_PATH)
            Violation(dwNotif, "URL_MAP fields", FALSE, p->cbPathBuff);
        break;
    }
    case SF_NOTIFY_AUTHENTICATION: {
        PHTTP_FILTER_AUTHENT p = pvNotification;
        if (!p->pszUser || !p->pszPassword || p->cbUserBuff < SF_MAX_USERNAME ||
            p->cbPasswordBuff < SF_MAX_PASSWORD)
            Violation(dwNotif, "AUTHENTICATION fields", FALSE, p->cbUserBuff);
        break;
    }
    case SF_NOTIFY_ACCESS_DENIED: {
        PHTTP_FILTER_ACCESS_DENIED p = pvNotification;
        if (!p->pszURL || !p->pszPhysicalPath)
            Violation(dwNotif, "ACCESS_DENIED fields", FALSE, 0);
        break;
    }
    case SF_NOTIFY_LOG: {
        PHTTP_FILTER_LOG p = pvNotification;
        if (!p->pszClientHostName || !p->pszClientUserName || !p->pszServerName ||
            !p->pszOperation || !p->pszTarget || !p->pszParameters)
            Violation(dwNotif, "LOG fields", FALSE, 0);
        break;
    }
    default:
        break;
    }
    CheckContextCalls(pfc, dwNotif);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    (void)dwFlags;
    char line[128];
    snprintf(line, sizeof line, "allcalls: calls=%ld violations=%ld\n", (long)g_lCalls,
              (long)g_lViolations);
    line[sizeof line - 1] = '\0';
    EnterCriticalSection(&g_csReport);
    for (int i = 0; i < AC_NOTIF_SLOTS; i++) {
        char tally[160];
        if (!g_alCalls[i])
            continue;
        snprintf(tally, sizeof tally, "allcalls: notify=%s calls=%ld http09=%ld "
                 "get_property=%ld\n", NotifName((DWORD)1 << i), (long)g_alCalls[i],
                 (long)g_alCalls09[i], (long)g_alGetProperty[i]);
        tally[sizeof tally - 1] = '\0';
        if (g_pReport)
            fputs(tally, g_pReport);
        else
            OutputDebugStringA(tally);
    }
    if (g_pReport) {
        fputs(line, g_pReport);
        fclose(g_pReport);
        g_pReport = NULL;
    } else {
        OutputDebugStringA(line);
    }
    LeaveCriticalSection(&g_csReport);
    return TRUE;
}
