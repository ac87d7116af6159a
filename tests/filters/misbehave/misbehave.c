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
 *   rawover         serve /a.txt; in SEND_RAW_DATA overstate cbInData by 128 KiB on the
 *                   engine's own buffer
 *   rawown          serve /a.txt; in SEND_RAW_DATA swap in a static 16-byte buffer
 *                   ("OWN-BUFFER-BYTES", cbInBuffer 16) with cbInData 16 + 128 KiB
 *   rawalloc        serve /a.txt; in SEND_RAW_DATA swap in a 16-byte AllocMem block of 'M's
 *                   with cbInData = cbInBuffer = 16 + 128 KiB
 *   readover        READ_RAW_DATA: raw bytes starting "GET /mb/readover " get cbInData
 *                   overstated by 100,000; the url is rewritten to /a.txt
 *   hdrsplit        AddResponseHeaders("X-A: 1\rX-B: v\r"), then "X-After: 1\r\n", and
 *                   reports both results in "X-Mb-Split: <ok>/<error> <ok>"; serves /a.txt
 *   hdrbad          bad header bytes through every way a filter hands header text in (names
 *                   with a space or control byte, control bytes in values and in a status
 *                   line, a lone CR or LF, text after a blank line); each must fail with
 *                   ERROR_INVALID_PARAMETER: answers "hdrbad: ok" or "hdrbad: FAIL <n>..."
 *   norm?P          SF_REQ_NORMALIZE_URL on P (the query, percent-decoded once): answers
 *                   "=<result>" or "!<error>"
 *   applpath        answers the APPL_PHYSICAL_PATH server variable
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

typedef enum { MB_NONE, MB_LATE, MB_RECURSE, MB_RAWOVER, MB_RAWOWN, MB_RAWALLOC } MB_MODE;

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

/* Bad header bytes through every way in; each call must fail with ERROR_INVALID_PARAMETER. */
static DWORD HeaderBytes(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pp)
{
    static const char *const texts[] = {
        "Bad Name: 1\r\n", "X-Ctl: a\x01" "b\r\n", "X-Del: a\x7f" "b\r\n",
        "X-Lf: 1\n\nX-Hidden: 2\r\n", "X-Cr: 1\rX-Two: 2\r\n", "X-Blank: 1\r\n\r\nX-Hidden: 2\r\n",
        " X-Fold: 1\r\n", "X-Space : 1\r\n",
    };
    char fails[MB_RESULT] = "", tag[16];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        snprintf(tag, sizeof tag, "arh%u", (unsigned)i);
        SetLastError(0);
        MustFail(fails, tag, pfc->AddResponseHeaders(pfc, (LPSTR)texts[i], 0),
                 ERROR_INVALID_PARAMETER);
        snprintf(tag, sizeof tag, "den%u", (unsigned)i);
        SetLastError(0);
        MustFail(fails, tag, pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL,
                                                        (PVOID)texts[i], 0, 0),
                 ERROR_INVALID_PARAMETER);
        snprintf(tag, sizeof tag, "ssrh%u", (unsigned)i);
        SetLastError(0);
        MustFail(fails, tag, pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "200 OK",
                                                        (ULONG_PTR)texts[i], 0),
                 ERROR_INVALID_PARAMETER);
    }
    SetLastError(0);
    MustFail(fails, "sh1", pp->SetHeader(pfc, "X Sp:", "1"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "sh2", pp->SetHeader(pfc, "X-Ctl:", "a\x02" "b"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "sh3", pp->AddHeader(pfc, "X-C\x01:", "1"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "sh4", pp->SetHeader(pfc, "url", "/a.txt\r\nX: y"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "sh5", pp->SetHeader(pfc, "method", "G T"), ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "st1", pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER,
                                                      "200 O\x01K", 0, 0),
             ERROR_INVALID_PARAMETER);
    SetLastError(0);
    MustFail(fails, "st2", pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER,
                                                      "403 Denied\x7f", 0, 0),
             ERROR_INVALID_PARAMETER);
    char body[MB_RESULT + 32];
    snprintf(body, sizeof body, "hdrbad: %s%s\n", fails[0] ? "FAIL" : "ok", fails);
    return Respond(pfc, "200 OK", body);
}

static int HexVal(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* SF_REQ_NORMALIZE_URL on the query, percent-decoded once. */
static DWORD Normalize(PHTTP_FILTER_CONTEXT pfc, const char *query)
{
    char path[512], body[600];
    size_t n = 0;
    for (const char *q = query; *q && n + 1 < sizeof path; q++) {
        if (q[0] == '%' && HexVal(q[1]) >= 0 && HexVal(q[2]) >= 0) {
            path[n++] = (char)(HexVal(q[1]) * 16 + HexVal(q[2]));
            q += 2;
        } else {
            path[n++] = *q;
        }
    }
    path[n] = '\0';
    if (pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, path, 0, 0))
        snprintf(body, sizeof body, "=%s\n", path);
    else
        snprintf(body, sizeof body, "!%lu\n", (unsigned long)GetLastError());
    return Respond(pfc, "200 OK", body);
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
    if (IS("rawover") || IS("rawown") || IS("rawalloc") || IS("readover")) {
        mc->mode = IS("rawover") ? MB_RAWOVER : IS("rawown") ? MB_RAWOWN
                   : IS("rawalloc") ? MB_RAWALLOC : MB_NONE;
        pp->SetHeader(pfc, "url", "/a.txt");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (IS("hdrsplit")) {
        char res[96];
        BOOL fFirst = pfc->AddResponseHeaders(pfc, "X-A: 1\rX-B: v\r", 0);
        DWORD dwFirst = fFirst ? 0 : GetLastError();
        BOOL fAfter = pfc->AddResponseHeaders(pfc, "X-After: 1\r\n", 0);
        snprintf(res, sizeof res, "X-Mb-Split: %d/%lu %d\r\n", (int)fFirst,
                 (unsigned long)dwFirst, (int)fAfter);
        pfc->AddResponseHeaders(pfc, res, 0);
        pp->SetHeader(pfc, "url", "/a.txt");
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
    if (IS("hdrbad"))
        return HeaderBytes(pfc, pp);
    if (IS("norm"))
        return Normalize(pfc, arg ? arg + 1 : "");
    if (IS("applpath")) {
        char value[600], body[620];
        DWORD cb = sizeof value;
        if (!pfc->GetServerVariable(pfc, "APPL_PHYSICAL_PATH", value, &cb))
            snprintf(value, sizeof value, "!%lu", (unsigned long)GetLastError());
        snprintf(body, sizeof body, "%s\n", value);
        return Respond(pfc, "200 OK", body);
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
                    SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RAW_DATA |
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
    case SF_NOTIFY_READ_RAW_DATA: {
        /* before PREPROC_HEADERS: the behaviour is picked from the raw request line */
        PHTTP_FILTER_RAW_DATA raw = pv;
        static const char tag[] = "GET /mb/readover ";
        if (raw->pvInData && raw->cbInData >= sizeof tag - 1 &&
            memcmp(raw->pvInData, tag, sizeof tag - 1) == 0)
            raw->cbInData += 100000;
        break;
    }
    case SF_NOTIFY_SEND_RAW_DATA:
        if (mc->mode == MB_RAWOVER) {
            ((PHTTP_FILTER_RAW_DATA)pv)->cbInData += 128 * 1024;
        } else if (mc->mode == MB_RAWOWN) {
            static char own[16];
            PHTTP_FILTER_RAW_DATA raw = pv;
            memcpy(own, "OWN-BUFFER-BYTES", sizeof own);
            raw->pvInData = own;
            raw->cbInBuffer = sizeof own;
            raw->cbInData = sizeof own + 128 * 1024;
        } else if (mc->mode == MB_RAWALLOC) {
            PHTTP_FILTER_RAW_DATA raw = pv;
            char *block = pfc->AllocMem(pfc, 16, 0);
            if (block) {
                memset(block, 'M', 16);
                raw->pvInData = block;
                raw->cbInData = raw->cbInBuffer = 16 + 128 * 1024;
            }
        } else if (mc->mode == MB_LATE) {
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
