/*
 * misbehave.c - a test filter that behaves badly on purpose, one behaviour per URL, so the
 * robustness tests can show that each one affects only its own request. It never crashes
 * the server on purpose (crash containment is tested elsewhere).
 *
 * The behaviour is chosen in PREPROC_HEADERS from the url ("/mb/<name>[?arg]"):
 *   badstatus       rewrite the url to /a.txt, return an undefined status code
 *   finished        return FINISHED without writing anything
 *   error-denied / error-notfound / error-other / error-zero
 *                   return ERROR with last error ERROR_ACCESS_DENIED / ERROR_FILE_NOT_FOUND /
 *                   ERROR_INVALID_FUNCTION / 0
 *   alloc?N         AllocMem N KiB more on the connection; NULL fails the request
 *                   (ERROR_NOT_ENOUGH_MEMORY), else serves /a.txt
 *   flood?N         answer with N MiB through WriteClient (64 KiB calls; chunk k is filled
 *                   with 'a' + k % 26), Content-Length set, then FINISHED
 *   nullargs        call every callback with NULL or garbage arguments (NULL pfc, a copy of
 *                   pfc, a forged ServerContext, NULL buffers and size pointers, huge sizes,
 *                   invalid SF_REQ codes, malformed header text) and answer
 *                   "nullargs: ok" or "nullargs: FAIL <check numbers>"
 *   late            keep this notification's GetHeader/SetHeader pointers and call them, plus
 *                   AddResponseHeaders, SF_REQ_SEND_RESPONSE_HEADER and WriteClient, from
 *                   SEND_RAW_DATA, END_OF_REQUEST, LOG and END_OF_NET_SESSION, where each
 *                   must fail; the url is rewritten to /a.txt so the request is served
 *   report          answer with what "late" saw on this connection, and what the most recent
 *                   END_OF_NET_SESSION checks saw ("late: ok|FAIL ...; eons: ...")
 *   recurse         answer with "body\n" and, from SEND_RAW_DATA, WriteClient "[w]" again
 *                   (nested up to three deep if the host re-entered the filter)
 *   block?S         sleep S seconds, then serve /a.txt
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MB_MAGIC 0x4d424831u
#define MB_RESULT 512
#define MB_NOTES (MB_RESULT - 8)   /* room for failed-check notes in a result */

typedef BOOL (WINAPI *MB_GETHDR)(PHTTP_FILTER_CONTEXT, LPSTR, LPVOID, LPDWORD);
typedef BOOL (WINAPI *MB_SETHDR)(PHTTP_FILTER_CONTEXT, LPSTR, LPSTR);

typedef enum { MB_NONE, MB_LATE, MB_RECURSE } MB_MODE;

typedef struct MB_CONN {
    DWORD dwMagic;
    MB_MODE mode;
    int depth;
    MB_GETHDR pfnGet;
    MB_SETHDR pfnSet;
    char szLate[MB_RESULT];     /* failed "late" checks of this connection */
    BOOL fLateRan;
} MB_CONN;

static CRITICAL_SECTION g_cs;
static char g_szEons[MB_RESULT] = "none";

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    (void)hinstDLL;
    (void)lpvReserved;
    if (fdwReason == DLL_PROCESS_ATTACH)
        InitializeCriticalSection(&g_cs);
    else if (fdwReason == DLL_PROCESS_DETACH)
        DeleteCriticalSection(&g_cs);
    return TRUE;
}

static void Note(char *dst, const char *what)
{
    size_t n = strlen(dst);
    if (n + 1 < MB_NOTES)
        snprintf(dst + n, MB_NOTES - n, " %s", what);
}

/* A call that must fail with dwWant; records `tag` in dst when it did not. */
static void MustFail(char *dst, const char *tag, BOOL fRet, DWORD dwWant)
{
    DWORD dwErr = GetLastError();
    if (fRet || dwErr != dwWant) {
        char t[96];
        snprintf(t, sizeof t, "%s(ret=%d,err=%lu)", tag, (int)fRet, (unsigned long)dwErr);
        Note(dst, t);
    }
}

static DWORD Respond(PHTTP_FILTER_CONTEXT pfc, const char *status, const char *body)
{
    char extra[128];
    DWORD cb = (DWORD)strlen(body);
    snprintf(extra, sizeof extra, "Content-Type: text/plain\r\nContent-Length: %lu\r\n"
             "Connection: close\r\n\r\n", (unsigned long)cb);
    if (!pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, (PVOID)status,
                                    (ULONG_PTR)extra, 0))
        return SF_STATUS_REQ_ERROR;
    pfc->WriteClient(pfc, (LPVOID)body, &cb, 0);
    return SF_STATUS_REQ_FINISHED;
}

static DWORD Flood(PHTTP_FILTER_CONTEXT pfc, DWORD mib)
{
    char extra[128];
    snprintf(extra, sizeof extra, "Content-Type: application/octet-stream\r\n"
             "Content-Length: %lu\r\nConnection: close\r\n\r\n", (unsigned long)mib << 20);
    if (!pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "200 OK",
                                    (ULONG_PTR)extra, 0))
        return SF_STATUS_REQ_ERROR;
    char local[65536];
    for (DWORD k = 0; k < mib * 16; k++) {
        memset(local, 'a' + (int)(k % 26), sizeof local);
        DWORD cb = sizeof local;
        if (!pfc->WriteClient(pfc, local, &cb, 0))
            break;   /* the client went away: stop, as a real filter would */
    }
    return SF_STATUS_REQ_FINISHED;
}

/* Every callback with NULL or garbage arguments; each must fail cleanly. */
static DWORD NullArgs(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pp)
{
    char fails[MB_RESULT] = "";
    char buf[256];
    DWORD sz, huge = 0xffffffffu, n;
    HTTP_FILTER_CONTEXT copy = *pfc, forged = *pfc, nullctx = *pfc;
    forged.ServerContext = (PVOID)(ULONG_PTR)0x10;
    nullctx.ServerContext = NULL;

    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "1", pfc->GetServerVariable(pfc, NULL, buf, &sz), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "2", pfc->GetServerVariable(pfc, "URL", buf, NULL), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "3", pfc->GetServerVariable(pfc, "URL", NULL, &huge), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "4", pfc->GetServerVariable(NULL, "URL", buf, &sz), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "5", pfc->GetServerVariable(&copy, "URL", buf, &sz), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "6", pfc->GetServerVariable(&forged, "URL", buf, &sz), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "7", pfc->GetServerVariable(&nullctx, "URL", buf, &sz), ERROR_INVALID_PARAMETER);
    n = 10; SetLastError(0);
    MustFail(fails, "8", pfc->WriteClient(pfc, NULL, &n, 0), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "9", pfc->WriteClient(pfc, "x", NULL, 0), ERROR_INVALID_PARAMETER);
    n = 1; SetLastError(0);
    MustFail(fails, "10", pfc->WriteClient(NULL, "x", &n, 0), ERROR_INVALID_PARAMETER);
    n = 1; SetLastError(0);
    MustFail(fails, "10b", pfc->WriteClient(&forged, "x", &n, 0), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "11", pfc->AddResponseHeaders(pfc, NULL, 0), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "12", pfc->AddResponseHeaders(pfc, "no colon here\r\n", 0),
             ERROR_INVALID_PARAMETER);
    SetLastError(0);
    if (pfc->AllocMem(pfc, 0xffffffffu, 0) != NULL)
        Note(fails, "13");
    SetLastError(0);
    if (pfc->AllocMem(NULL, 16, 0) != NULL || pfc->AllocMem(&forged, 16, 0) != NULL)
        Note(fails, "14");
    SetLastError(0);
    MustFail(fails, "15", pfc->ServerSupportFunction(pfc, (enum SF_REQ_TYPE)0x7fffffff, NULL,
                                                     0, 0), ERROR_NOT_SUPPORTED);
    SetLastError(0);
    MustFail(fails, "16", pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, NULL, 0, 0),
             ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "17", pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, NULL,
                                                     SF_PROPERTY_INSTANCE_NUM_ID, 0),
             ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "18", pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL, NULL,
                                                     0, 0), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "19", pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "abc",
                                                     0, 0), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "20", pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER,
                                                     "200 OK\r\nX-Split: y", 0, 0),
             ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "21", pfc->ServerSupportFunction(NULL, SF_REQ_SET_PROXY_INFO, NULL, 1, 0),
             ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "22", pp->GetHeader(pfc, NULL, buf, &sz), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "23", pp->GetHeader(pfc, "url", buf, NULL), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "24", pp->GetHeader(pfc, "url", NULL, &huge), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "25", pp->SetHeader(pfc, NULL, "x"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "26", pp->SetHeader(pfc, "X-A:", NULL), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "27", pp->AddHeader(pfc, "url", ""), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "28", pp->GetHeader(NULL, "url", buf, &sz), ERROR_INVALID_PARAMETER);
    sz = sizeof buf; SetLastError(0);
    MustFail(fails, "29", pp->GetHeader(&forged, "url", buf, &sz), ERROR_INVALID_PARAMETER);
    sz = 0; SetLastError(0);
    MustFail(fails, "30", pfc->GetServerVariable(pfc, "URL", buf, &sz), ERROR_INSUFFICIENT_BUFFER);
    if (sz != strlen("/mb/nullargs") + 1)
        Note(fails, "30size");
    {
        char *longname = malloc(10001);
        if (longname) {
            memset(longname, 'A', 10000);
            longname[10000] = '\0';
            sz = sizeof buf; SetLastError(0);
            MustFail(fails, "31", pfc->GetServerVariable(pfc, longname, buf, &sz),
                     ERROR_INVALID_INDEX);
            sz = sizeof buf; SetLastError(0);
            MustFail(fails, "32", pp->GetHeader(pfc, longname, buf, &sz), ERROR_INVALID_INDEX);
            free(longname);
        }
    }
    SetLastError(0);
    MustFail(fails, "33", pfc->ServerSupportFunction(pfc, SF_REQ_SET_CERTIFICATE_INFO,
                                                     (PVOID)(ULONG_PTR)0x20, 0x30, 0x40),
             ERROR_NOT_SUPPORTED);
    char body[MB_RESULT + 32];
    snprintf(body, sizeof body, "nullargs: %s%s\n", fails[0] ? "FAIL" : "ok", fails);
    return Respond(pfc, "200 OK", body);
}

/* Calls that belong to PREPROC_HEADERS / before the response, made later. */
static void LateChecks(PHTTP_FILTER_CONTEXT pfc, MB_CONN *mc, DWORD dwNotif, char *dst)
{
    char buf[256], tag[32];
    DWORD sz = sizeof buf, n = 1;
    const char *where = dwNotif == SF_NOTIFY_SEND_RAW_DATA ? "raw"
                        : dwNotif == SF_NOTIFY_END_OF_REQUEST ? "eor"
                        : dwNotif == SF_NOTIFY_LOG ? "log" : "eons";
    snprintf(tag, sizeof tag, "%s.gethdr", where);
    SetLastError(0);
    MustFail(dst, tag, mc->pfnGet(pfc, "url", buf, &sz), ERROR_INVALID_PARAMETER);
    snprintf(tag, sizeof tag, "%s.sethdr", where);
    SetLastError(0);
    MustFail(dst, tag, mc->pfnSet(pfc, "X-Late:", "1"), ERROR_INVALID_PARAMETER);
    snprintf(tag, sizeof tag, "%s.arh", where);
    SetLastError(0);
    MustFail(dst, tag, pfc->AddResponseHeaders(pfc, "X-Late: 1\r\n", 0), ERROR_INVALID_PARAMETER);
    snprintf(tag, sizeof tag, "%s.ssrh", where);
    SetLastError(0);
    MustFail(dst, tag, pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "500 Late",
                                                  0, 0), ERROR_INVALID_PARAMETER);
    if (dwNotif == SF_NOTIFY_LOG || dwNotif == SF_NOTIFY_END_OF_NET_SESSION) {
        snprintf(tag, sizeof tag, "%s.wc", where);
        SetLastError(0);
        MustFail(dst, tag, pfc->WriteClient(pfc, "x", &n, 0), ERROR_INVALID_PARAMETER);
    }
    if (dwNotif == SF_NOTIFY_END_OF_NET_SESSION) {
        sz = sizeof buf;
        SetLastError(0);
        MustFail(dst, "eons.url", pfc->GetServerVariable(pfc, "URL", buf, &sz), ERROR_NO_DATA);
    }
}

static BOOL GetUrl(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pp, char *url, DWORD cb)
{
    return pp->GetHeader(pfc, "url", url, &cb);
}

static DWORD Preproc(PHTTP_FILTER_CONTEXT pfc, MB_CONN *mc, PHTTP_FILTER_PREPROC_HEADERS pp)
{
    char url[512];
    mc->mode = MB_NONE;
    if (!GetUrl(pfc, pp, url, sizeof url) || strncmp(url, "/mb/", 4) != 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    const char *what = url + 4;
    const char *arg = strchr(what, '?');
    DWORD num = arg ? (DWORD)strtoul(arg + 1, NULL, 10) : 0;
    size_t wl = arg ? (size_t)(arg - what) : strlen(what);
#define IS(name) (wl == sizeof(name) - 1 && strncmp(what, name, wl) == 0)
    if (IS("badstatus")) {
        pp->SetHeader(pfc, "url", "/a.txt");
        return 0x7fff1234u;   /* no SF_STATUS_TYPE has this value */
    }
    if (IS("finished"))
        return SF_STATUS_REQ_FINISHED;
    if (IS("error-denied")) {
        SetLastError(ERROR_ACCESS_DENIED);
        return SF_STATUS_REQ_ERROR;
    }
    if (IS("error-notfound")) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return SF_STATUS_REQ_ERROR;
    }
    if (IS("error-other")) {
        SetLastError(ERROR_INVALID_FUNCTION);
        return SF_STATUS_REQ_ERROR;
    }
    if (IS("error-zero")) {
        SetLastError(0);
        return SF_STATUS_REQ_ERROR;
    }
    if (IS("alloc")) {
        /* AllocMem num KiB more on this connection; a NULL fails the request with
         * ERROR_NOT_ENOUGH_MEMORY, as real filters do. */
        if (!pfc->AllocMem(pfc, num * 1024u, 0)) {
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
            return SF_STATUS_REQ_ERROR;
        }
        pp->SetHeader(pfc, "url", "/a.txt");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (IS("flood"))
        return Flood(pfc, num ? num : 1);
    if (IS("nullargs"))
        return NullArgs(pfc, pp);
    if (IS("late")) {
        mc->mode = MB_LATE;
        mc->pfnGet = pp->GetHeader;
        mc->pfnSet = pp->SetHeader;
        mc->szLate[0] = '\0';
        mc->fLateRan = FALSE;
        pp->SetHeader(pfc, "url", "/a.txt");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (IS("report")) {
        char body[3 * MB_RESULT];
        EnterCriticalSection(&g_cs);
        snprintf(body, sizeof body, "late: %s%s; eons: %s\n",
                 !mc->fLateRan ? "none" : mc->szLate[0] ? "FAIL" : "ok", mc->szLate, g_szEons);
        LeaveCriticalSection(&g_cs);
        return Respond(pfc, "200 OK", body);
    }
    if (IS("recurse")) {
        mc->mode = MB_RECURSE;
        DWORD cb = 5;
        if (!pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "200 OK",
                                        (ULONG_PTR)"Connection: close\r\n\r\n", 0))
            return SF_STATUS_REQ_ERROR;
        pfc->WriteClient(pfc, "body\n", &cb, 0);
        return SF_STATUS_REQ_FINISHED;
    }
    if (IS("block")) {
        Sleep((num ? num : 1) * 1000);
        pp->SetHeader(pfc, "url", "/a.txt");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
#undef IS
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "misbehave: bad behaviour chosen by url",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_HIGH |
                    SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RAW_DATA |
                    SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD dwNotif, LPVOID pv)
{
    MB_CONN *mc = pfc->pFilterContext;
    if (!mc) {
        mc = pfc->AllocMem(pfc, sizeof *mc, 0);
        if (!mc)
            return SF_STATUS_REQ_NEXT_NOTIFICATION;
        memset(mc, 0, sizeof *mc);
        mc->dwMagic = MB_MAGIC;
        pfc->pFilterContext = mc;
    }
    switch (dwNotif) {
    case SF_NOTIFY_PREPROC_HEADERS:
        return Preproc(pfc, mc, pv);
    case SF_NOTIFY_SEND_RAW_DATA:
        if (mc->mode == MB_LATE) {
            LateChecks(pfc, mc, dwNotif, mc->szLate);
        } else if (mc->mode == MB_RECURSE && mc->depth < 3) {
            DWORD cb = 3;
            mc->depth++;
            pfc->WriteClient(pfc, "[w]", &cb, 0);
            mc->depth--;
        }
        break;
    case SF_NOTIFY_END_OF_REQUEST:
    case SF_NOTIFY_LOG:
        if (mc->mode == MB_LATE) {
            LateChecks(pfc, mc, dwNotif, mc->szLate);
            mc->fLateRan = TRUE;
        }
        break;
    case SF_NOTIFY_END_OF_NET_SESSION:
        if (mc->pfnGet) {
            char res[MB_NOTES] = "";
            LateChecks(pfc, mc, dwNotif, res);
            EnterCriticalSection(&g_cs);
            snprintf(g_szEons, sizeof g_szEons, "%s%s", res[0] ? "FAIL" : "ok", res);
            LeaveCriticalSection(&g_cs);
        }
        break;
    default:
        break;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    (void)dwFlags;
    return TRUE;
}
