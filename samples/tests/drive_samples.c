/*
 * drive_samples.c - runs each sample filter inside a small fake ISAPI host and checks what
 * it does, without a network or the real server.
 *
 * Written against Win32 only, so the same source runs natively (linked to libshim, which
 * loads the .so files) and on Windows/Wine (the real LoadLibraryA loads the DLLs). Usage:
 *
 *   drive_samples <folder of the filters> [sample ...]
 *
 * The fake host implements the callbacks the samples use with IIS's contracts: the exact
 * size protocol of GetServerVariable/GetHeader (ERROR_INSUFFICIENT_BUFFER with the size
 * needed, ERROR_INVALID_INDEX when absent), SetHeader("", ...) deleting, AllocMem memory
 * living until the fake connection is reset, WriteClient and SF_REQ_SEND_RESPONSE_HEADER
 * recorded for inspection. Each notification is delivered the way the server delivers it
 * (one bit, the matching structure, a writable buffer for raw data).
 *
 * The trace sample writes to the file named by ISAPI_TRACE_FILE (set by the test), which
 * this program removes first and reads back afterwards. Exit status: 0 when every check
 * passed, 1 otherwise; each failure prints its line and the values involved.
 */
#include <windows.h>
#include <httpfilt.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 32

typedef struct ITEM {
    char name[64];
    char value[1024];
} ITEM;

typedef struct FAKE {
    HTTP_FILTER_CONTEXT fc;              /* first: the callbacks find FAKE through pfc */
    ITEM hdrs[MAX_ITEMS];                /* request or response headers, specials included */
    int nHdrs;
    ITEM vars[MAX_ITEMS];                /* server variables */
    int nVars;
    char out[8192];                      /* WriteClient bytes */
    DWORD cbOut;
    char addHeaders[1024];               /* AddResponseHeaders */
    char denialHeaders[1024];            /* SF_REQ_ADD_HEADERS_ON_DENIAL */
    char sendStatus[128];                /* SF_REQ_SEND_RESPONSE_HEADER */
    char sendHeaders[2048];
    int nSendResponse;
    ULONG_PTR nextReadSize;              /* SF_REQ_SET_NEXT_READ_SIZE */
    void *allocs[64];
    int nAllocs;
} FAKE;

typedef BOOL (WINAPI *PFN_GETFILTERVERSION)(PHTTP_FILTER_VERSION);
typedef DWORD (WINAPI *PFN_HTTPFILTERPROC)(PHTTP_FILTER_CONTEXT, DWORD, LPVOID);
typedef BOOL (WINAPI *PFN_TERMINATEFILTER)(DWORD);

typedef struct FILTER {
    HMODULE hModule;
    PFN_GETFILTERVERSION pfnGetFilterVersion;
    PFN_HTTPFILTERPROC pfnHttpFilterProc;
    PFN_TERMINATEFILTER pfnTerminateFilter;
    DWORD dwFlags;
} FILTER;

static int g_failures;
static char g_dir[MAX_PATH];

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            g_failures++;                                                  \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

/* ---- the fake host ------------------------------------------------------------------ */

static ITEM *FindItem(ITEM *items, int n, const char *name)
{
    size_t len = strlen(name);
    int i;

    /* Lenient like IIS: "Host" finds "Host:" too. */
    if (len && name[len - 1] == ':')
        len--;
    for (i = 0; i < n; i++) {
        size_t il = strlen(items[i].name);
        if (il && items[i].name[il - 1] == ':')
            il--;
        if (il == len && _strnicmp(items[i].name, name, len) == 0)
            return &items[i];
    }
    return NULL;
}

static void SetItem(ITEM *items, int *n, const char *name, const char *value)
{
    ITEM *it = FindItem(items, *n, name);
    int i;

    if (value[0] == '\0') {
        if (it) {
            i = (int)(it - items);
            memmove(&items[i], &items[i + 1], (size_t)(*n - i - 1) * sizeof *items);
            (*n)--;
        }
        return;
    }
    if (!it) {
        if (*n == MAX_ITEMS)
            return;
        it = &items[(*n)++];
        lstrcpynA(it->name, name, sizeof it->name);
    }
    lstrcpynA(it->value, value, sizeof it->value);
}

static const char *ItemValue(ITEM *items, int n, const char *name)
{
    ITEM *it = FindItem(items, n, name);
    return it ? it->value : NULL;
}

static BOOL CopyOut(const char *value, LPVOID buf, LPDWORD lpdwSize)
{
    DWORD need = (DWORD)strlen(value) + 1;

    if (!buf || *lpdwSize < need) {
        *lpdwSize = need;
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    memcpy(buf, value, need);
    *lpdwSize = need;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL WINAPI FakeGetServerVariable(PHTTP_FILTER_CONTEXT pfc, LPSTR name, LPVOID buf, LPDWORD lpdwSize)
{
    FAKE *f = (FAKE *)pfc;
    const char *v = ItemValue(f->vars, f->nVars, name);

    if (!v) {
        SetLastError(ERROR_INVALID_INDEX);
        return FALSE;
    }
    return CopyOut(v, buf, lpdwSize);
}

static BOOL WINAPI FakeGetHeader(PHTTP_FILTER_CONTEXT pfc, LPSTR name, LPVOID buf, LPDWORD lpdwSize)
{
    FAKE *f = (FAKE *)pfc;
    const char *v = ItemValue(f->hdrs, f->nHdrs, name);

    if (!v) {
        SetLastError(ERROR_INVALID_INDEX);
        return FALSE;
    }
    return CopyOut(v, buf, lpdwSize);
}

static BOOL WINAPI FakeSetHeader(PHTTP_FILTER_CONTEXT pfc, LPSTR name, LPSTR value)
{
    FAKE *f = (FAKE *)pfc;

    SetItem(f->hdrs, &f->nHdrs, name, value);
    return TRUE;
}

static BOOL WINAPI FakeAddHeader(PHTTP_FILTER_CONTEXT pfc, LPSTR name, LPSTR value)
{
    return FakeSetHeader(pfc, name, value);
}

static BOOL WINAPI FakeGetUserToken(PHTTP_FILTER_CONTEXT pfc, HANDLE *phToken)
{
    SetLastError(ERROR_NOT_SUPPORTED);
    return FALSE;
}

static BOOL WINAPI FakeAddResponseHeaders(PHTTP_FILTER_CONTEXT pfc, LPSTR headers, DWORD dwReserved)
{
    FAKE *f = (FAKE *)pfc;

    if (strlen(f->addHeaders) + strlen(headers) < sizeof f->addHeaders)
        lstrcatA(f->addHeaders, headers);
    return TRUE;
}

static BOOL WINAPI FakeWriteClient(PHTTP_FILTER_CONTEXT pfc, LPVOID buf, LPDWORD lpdwBytes, DWORD dwReserved)
{
    FAKE *f = (FAKE *)pfc;

    if (*lpdwBytes > sizeof f->out - f->cbOut) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    memcpy(f->out + f->cbOut, buf, *lpdwBytes);
    f->cbOut += *lpdwBytes;
    return TRUE;
}

static VOID *WINAPI FakeAllocMem(PHTTP_FILTER_CONTEXT pfc, DWORD cb, DWORD dwReserved)
{
    FAKE *f = (FAKE *)pfc;
    void *p;

    if (f->nAllocs == 64)
        return NULL;
    p = calloc(1, cb ? cb : 1);
    if (p)
        f->allocs[f->nAllocs++] = p;
    return p;
}

static BOOL WINAPI FakeServerSupportFunction(PHTTP_FILTER_CONTEXT pfc, enum SF_REQ_TYPE sfReq,
                                             PVOID pData, ULONG_PTR ul1, ULONG_PTR ul2)
{
    FAKE *f = (FAKE *)pfc;

    switch (sfReq) {
    case SF_REQ_SEND_RESPONSE_HEADER:
        lstrcpynA(f->sendStatus, pData ? (const char *)pData : "200 OK", sizeof f->sendStatus);
        lstrcpynA(f->sendHeaders, ul1 ? (const char *)ul1 : "", sizeof f->sendHeaders);
        f->nSendResponse++;
        return TRUE;
    case SF_REQ_ADD_HEADERS_ON_DENIAL:
        if (pData && strlen(f->denialHeaders) + strlen((const char *)pData) < sizeof f->denialHeaders)
            lstrcatA(f->denialHeaders, (const char *)pData);
        return TRUE;
    case SF_REQ_SET_NEXT_READ_SIZE:
        f->nextReadSize = ul1;
        return TRUE;
    default:
        SetLastError(ERROR_NOT_SUPPORTED);
        return FALSE;
    }
}

/* A fresh connection: everything from the previous one is gone, AllocMem blocks freed. */
static void ResetConnection(FAKE *f)
{
    int i;

    for (i = 0; i < f->nAllocs; i++)
        free(f->allocs[i]);
    memset(f, 0, sizeof *f);
    f->fc.cbSize = sizeof f->fc;
    f->fc.Revision = HTTP_FILTER_REVISION;
    f->fc.GetServerVariable = FakeGetServerVariable;
    f->fc.AddResponseHeaders = FakeAddResponseHeaders;
    f->fc.WriteClient = FakeWriteClient;
    f->fc.AllocMem = FakeAllocMem;
    f->fc.ServerSupportFunction = FakeServerSupportFunction;
}

/* A new request on the same connection: pFilterContext and AllocMem memory survive. */
static void ResetRequest(FAKE *f)
{
    f->nHdrs = 0;
    f->cbOut = 0;
    f->addHeaders[0] = f->denialHeaders[0] = f->sendStatus[0] = f->sendHeaders[0] = '\0';
    f->nSendResponse = 0;
    f->nextReadSize = 0;
}

static BOOL LoadFilter(const char *name, FILTER *flt)
{
    HTTP_FILTER_VERSION ver;
    char path[MAX_PATH * 2];

    memset(flt, 0, sizeof *flt);
    wsprintfA(path, "%s/%s.dll", g_dir, name);
    flt->hModule = LoadLibraryA(path);
    if (!flt->hModule) {
        printf("FAIL: LoadLibraryA(%s): error %lu\n", path, (unsigned long)GetLastError());
        g_failures++;
        return FALSE;
    }
    flt->pfnGetFilterVersion = (PFN_GETFILTERVERSION)(void (*)(void))GetProcAddress(flt->hModule, "GetFilterVersion");
    flt->pfnHttpFilterProc = (PFN_HTTPFILTERPROC)(void (*)(void))GetProcAddress(flt->hModule, "HttpFilterProc");
    flt->pfnTerminateFilter = (PFN_TERMINATEFILTER)(void (*)(void))GetProcAddress(flt->hModule, "TerminateFilter");
    CHECK(flt->pfnGetFilterVersion && flt->pfnHttpFilterProc, "%s: exports missing", name);
    if (!flt->pfnGetFilterVersion || !flt->pfnHttpFilterProc)
        return FALSE;
    memset(&ver, 0, sizeof ver);
    ver.dwServerFilterVersion = HTTP_FILTER_REVISION;
    if (!flt->pfnGetFilterVersion(&ver)) {
        printf("FAIL: %s: GetFilterVersion returned FALSE, error %lu\n", name, (unsigned long)GetLastError());
        g_failures++;
        return FALSE;
    }
    CHECK(ver.dwFilterVersion == HTTP_FILTER_REVISION, "%s: version %lx", name, (unsigned long)ver.dwFilterVersion);
    CHECK(ver.lpszFilterDesc[0] != '\0', "%s: no description", name);
    flt->dwFlags = ver.dwFlags;
    return TRUE;
}

static void UnloadFilter(FILTER *flt)
{
    if (flt->pfnTerminateFilter)
        flt->pfnTerminateFilter(HSE_TERM_MUST_UNLOAD);
    if (flt->hModule)
        FreeLibrary(flt->hModule);
}

static DWORD Notify(FILTER *flt, FAKE *f, DWORD type, LPVOID pv)
{
    return flt->pfnHttpFilterProc(&f->fc, type, pv);
}

static DWORD PreprocOrResponse(FILTER *flt, FAKE *f, DWORD type, DWORD status)
{
    HTTP_FILTER_PREPROC_HEADERS h;

    memset(&h, 0, sizeof h);
    h.GetHeader = FakeGetHeader;
    h.SetHeader = FakeSetHeader;
    h.AddHeader = FakeAddHeader;
    h.HttpStatus = status;
    return Notify(flt, f, type, &h);
}

static DWORD UrlMap(FILTER *flt, FAKE *f, const char *url, char *phys, DWORD cbPhys)
{
    HTTP_FILTER_URL_MAP m;

    m.pszURL = url;
    m.pszPhysicalPath = phys;
    m.cbPathBuff = cbPhys;
    return Notify(flt, f, SF_NOTIFY_URL_MAP, &m);
}

/* Raw data in a private writable buffer, as the server hands it out; the (possibly
 * changed) bytes come back in buf. */
static DWORD RawData(FILTER *flt, FAKE *f, DWORD type, char *buf, DWORD cb)
{
    HTTP_FILTER_RAW_DATA raw;

    raw.pvInData = buf;
    raw.cbInData = cb;
    raw.cbInBuffer = cb;
    raw.dwReserved = 0;
    return Notify(flt, f, type, &raw);
}

/* ---- the samples -------------------------------------------------------------------- */

static void TestUpcase(FAKE *f)
{
    FILTER flt;
    char phys[MAX_PATH] = "site";
    char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n";
    char body[] = "hello <b>x</b>";
    char both[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nabc def";
    char plain[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc";
    char other[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nabc";

    if (!LoadFilter("upcase", &flt))
        return;
    CHECK((flt.dwFlags & (SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RAW_DATA)) ==
          (SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RAW_DATA), "flags %lx", (unsigned long)flt.dwFlags);
    ResetConnection(f);

    /* Header block as its own first chunk, then the body. */
    UrlMap(&flt, f, "/upcase/page.html", phys, sizeof phys);
    RawData(&flt, f, SF_NOTIFY_SEND_RAW_DATA, head, (DWORD)strlen(head));
    CHECK(strstr(head, "Content-Type: text/html") != NULL, "header block changed: %s", head);
    RawData(&flt, f, SF_NOTIFY_SEND_RAW_DATA, body, (DWORD)strlen(body));
    CHECK(strcmp(body, "HELLO <B>X</B>") == 0, "body %s", body);
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    /* Outside the prefix: untouched. */
    UrlMap(&flt, f, "/index.html", phys, sizeof phys);
    RawData(&flt, f, SF_NOTIFY_SEND_RAW_DATA, other, (DWORD)strlen(other));
    CHECK(strstr(other, "\r\n\r\nabc") != NULL, "other %s", other);
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    /* Headers and body in one chunk: only the body changes. */
    UrlMap(&flt, f, "/upcase/x.htm?q=1", phys, sizeof phys);
    RawData(&flt, f, SF_NOTIFY_SEND_RAW_DATA, both, (DWORD)strlen(both));
    CHECK(strcmp(both, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nABC DEF") == 0, "both %s", both);
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    /* Not HTML: untouched. */
    UrlMap(&flt, f, "/upcase/", phys, sizeof phys);
    RawData(&flt, f, SF_NOTIFY_SEND_RAW_DATA, plain, (DWORD)strlen(plain));
    CHECK(strstr(plain, "\r\n\r\nabc") != NULL, "plain %s", plain);
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);
    ResetConnection(f);
    UnloadFilter(&flt);
}

static void TestHeaders(FAKE *f)
{
    FILTER flt;

    if (!LoadFilter("headers", &flt))
        return;
    ResetConnection(f);
    PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    CHECK(strcmp(f->addHeaders, "X-Request-Seen: 1\r\n") == 0, "AddResponseHeaders [%s]", f->addHeaders);

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "status", "200 OK");
    SetItem(f->hdrs, &f->nHdrs, "Server:", "Microsoft-IIS/6.0");
    PreprocOrResponse(&flt, f, SF_NOTIFY_SEND_RESPONSE, 200);
    CHECK(ItemValue(f->hdrs, f->nHdrs, "Server:") == NULL, "Server: still there");
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Frame-Options:") &&
          strcmp(ItemValue(f->hdrs, f->nHdrs, "X-Frame-Options:"), "DENY") == 0, "X-Frame-Options");
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Content-Type-Options:") &&
          strcmp(ItemValue(f->hdrs, f->nHdrs, "X-Content-Type-Options:"), "nosniff") == 0, "nosniff");
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Served-By:") != NULL, "X-Served-By missing on 200");

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "status", "404 Not Found");
    PreprocOrResponse(&flt, f, SF_NOTIFY_SEND_RESPONSE, 404);
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Served-By:") == NULL, "X-Served-By on 404");
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Frame-Options:") != NULL, "X-Frame-Options on 404");
    ResetConnection(f);
    UnloadFilter(&flt);
}

static void TestRewrite(FAKE *f)
{
    FILTER flt;
    DWORD rc;
    char len[32];
    char phys[MAX_PATH];
    const char *url;

    if (!LoadFilter("rewrite", &flt))
        return;
    ResetConnection(f);

    SetItem(f->hdrs, &f->nHdrs, "method", "GET");
    SetItem(f->hdrs, &f->nHdrs, "url", "/app/page.htm?q=1");
    rc = PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    url = ItemValue(f->hdrs, f->nHdrs, "url");
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION, "rc %lx", (unsigned long)rc);
    CHECK(url && strcmp(url, "/legacy/page.htm?q=1") == 0, "url %s", url ? url : "(none)");

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "method", "GET");
    SetItem(f->hdrs, &f->nHdrs, "url", "/OLD/a.htm?x=1");
    rc = PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    CHECK(rc == SF_STATUS_REQ_FINISHED, "redirect rc %lx", (unsigned long)rc);
    CHECK(f->nSendResponse == 1 && strcmp(f->sendStatus, "301 Moved Permanently") == 0,
          "status [%s]", f->sendStatus);
    CHECK(strstr(f->sendHeaders, "Location: /legacy/a.htm?x=1\r\n") != NULL, "headers [%s]", f->sendHeaders);
    wsprintfA(len, "Content-Length: %lu\r\n", f->cbOut);
    CHECK(f->cbOut > 0 && strstr(f->sendHeaders, len) != NULL, "length %lu vs [%s]", (unsigned long)f->cbOut, f->sendHeaders);
    CHECK(strlen(f->sendHeaders) >= 4 &&
          strcmp(f->sendHeaders + strlen(f->sendHeaders) - 4, "\r\n\r\n") == 0, "no blank line");

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "method", "GET");
    SetItem(f->hdrs, &f->nHdrs, "url", "/old/<script>\"");
    PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    f->out[f->cbOut < sizeof f->out ? f->cbOut : sizeof f->out - 1] = '\0';
    CHECK(strstr(f->out, "<script>") == NULL && strstr(f->out, "&lt;script&gt;&quot;") != NULL,
          "body not escaped: %s", f->out);

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "method", "HEAD");
    SetItem(f->hdrs, &f->nHdrs, "url", "/home");
    rc = PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    CHECK(rc == SF_STATUS_REQ_FINISHED && strcmp(f->sendStatus, "302 Found") == 0 && f->cbOut == 0,
          "HEAD redirect rc %lx status [%s] body %lu", (unsigned long)rc, f->sendStatus, (unsigned long)f->cbOut);
    CHECK(strstr(f->sendHeaders, "Location: /\r\n") != NULL, "headers [%s]", f->sendHeaders);

    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "url", "/index.html");
    rc = PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    url = ItemValue(f->hdrs, f->nHdrs, "url");
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION && url && strcmp(url, "/index.html") == 0 &&
          f->nSendResponse == 0, "unmatched url changed");

    lstrcpyA(phys, "/srv/site/archive/page.htm");
    UrlMap(&flt, f, "/archive/page.htm", phys, sizeof phys);
    CHECK(strcmp(phys, "/srv/site/legacy/page.htm") == 0, "phys %s", phys);
    lstrcpyA(phys, "C:\\inetpub\\site\\Archive\\sub\\page.htm");
    UrlMap(&flt, f, "/archive/sub/page.htm", phys, sizeof phys);
    CHECK(strcmp(phys, "C:\\inetpub\\site\\legacy\\sub\\page.htm") == 0, "phys %s", phys);
    lstrcpyA(phys, "/srv/site/archive");
    UrlMap(&flt, f, "/archive/", phys, sizeof phys);
    CHECK(strcmp(phys, "/srv/site/legacy/") == 0, "phys %s", phys);
    lstrcpyA(phys, "/srv/site/other/page.htm");
    UrlMap(&flt, f, "/other/page.htm", phys, sizeof phys);
    CHECK(strcmp(phys, "/srv/site/other/page.htm") == 0, "phys %s", phys);
    ResetConnection(f);
    UnloadFilter(&flt);
}

static DWORD Authenticate(FILTER *flt, FAKE *f, const char *user, const char *password, char *userOut)
{
    HTTP_FILTER_AUTHENT a;
    char u[SF_MAX_USERNAME], p[SF_MAX_PASSWORD];
    DWORD rc;

    lstrcpyA(u, user);
    lstrcpyA(p, password);
    a.pszUser = u;
    a.cbUserBuff = sizeof u;
    a.pszPassword = p;
    a.cbPasswordBuff = sizeof p;
    SetLastError(0xdeadbeef);
    rc = Notify(flt, f, SF_NOTIFY_AUTHENTICATION, &a);
    if (userOut)
        lstrcpyA(userOut, u);
    return rc;
}

static DWORD AuthComplete(FILTER *flt, FAKE *f)
{
    HTTP_FILTER_AUTH_COMPLETE_INFO ac;

    memset(&ac, 0, sizeof ac);
    ac.GetHeader = FakeGetHeader;
    ac.SetHeader = FakeSetHeader;
    ac.AddHeader = FakeAddHeader;
    ac.GetUserToken = FakeGetUserToken;
    return Notify(flt, f, SF_NOTIFY_AUTH_COMPLETE, &ac);
}

static void TestBasicauth(FAKE *f)
{
    FILTER flt;
    HTTP_FILTER_ACCESS_DENIED denied;
    char user[SF_MAX_USERNAME];
    const char *v;
    DWORD rc;

    if (!LoadFilter("basicauth", &flt))
        return;
    ResetConnection(f);
    SetItem(f->vars, &f->nVars, "URL", "/private/default.htm");

    rc = Authenticate(&flt, f, "alice", "wonderland", user);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION, "good password rc %lx", (unsigned long)rc);
    CHECK(strcmp(user, "ALICE-MAPPED") == 0, "mapped user [%s]", user);
    SetItem(f->hdrs, &f->nHdrs, "X-Authenticated-User:", "spoofed");
    AuthComplete(&flt, f);
    v = ItemValue(f->hdrs, f->nHdrs, "X-Authenticated-User:");
    CHECK(v && strcmp(v, "ALICE-MAPPED") == 0, "X-Authenticated-User [%s]", v ? v : "(none)");
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    /* Next request on the connection: a client-sent header is deleted. */
    ResetRequest(f);
    SetItem(f->vars, &f->nVars, "URL", "/index.html");
    SetItem(f->hdrs, &f->nHdrs, "X-Authenticated-User:", "spoofed");
    rc = Authenticate(&flt, f, "", "", NULL);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION, "anonymous outside prefix rc %lx", (unsigned long)rc);
    AuthComplete(&flt, f);
    CHECK(ItemValue(f->hdrs, f->nHdrs, "X-Authenticated-User:") == NULL, "spoofed header kept");
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    ResetRequest(f);
    SetItem(f->vars, &f->nVars, "URL", "/Private/x.htm");
    rc = Authenticate(&flt, f, "alice", "wrong", NULL);
    CHECK(rc == SF_STATUS_REQ_ERROR && GetLastError() == ERROR_ACCESS_DENIED,
          "wrong password rc %lx error %lu", (unsigned long)rc, (unsigned long)GetLastError());
    rc = Authenticate(&flt, f, "", "", NULL);
    CHECK(rc == SF_STATUS_REQ_ERROR && GetLastError() == ERROR_ACCESS_DENIED,
          "anonymous rc %lx error %lu", (unsigned long)rc, (unsigned long)GetLastError());
    rc = Authenticate(&flt, f, "mallory", "wonderland", NULL);
    CHECK(rc == SF_STATUS_REQ_ERROR && GetLastError() == ERROR_ACCESS_DENIED,
          "unknown user rc %lx error %lu", (unsigned long)rc, (unsigned long)GetLastError());

    denied.pszURL = "/private/x.htm";
    denied.pszPhysicalPath = "site/private/x.htm";
    denied.dwReason = SF_DENIED_LOGON | SF_DENIED_FILTER;
    Notify(&flt, f, SF_NOTIFY_ACCESS_DENIED, &denied);
    CHECK(strcmp(f->denialHeaders, "WWW-Authenticate: Basic realm=\"isapihost sample\"\r\n") == 0,
          "denial headers [%s]", f->denialHeaders);
    ResetConnection(f);
    UnloadFilter(&flt);
}

static void TestLogger(FAKE *f)
{
    FILTER flt;
    HTTP_FILTER_LOG log;

    if (!LoadFilter("logger", &flt))
        return;
    ResetConnection(f);
    memset(&log, 0, sizeof log);
    log.pszClientHostName = "127.0.0.1";
    log.pszClientUserName = "";
    log.dwBytesSent = 100;
    SetItem(f->vars, &f->nVars, "REMOTE_ADDR", "127.0.0.1");
    SetItem(f->vars, &f->nVars, "HTTP_X_FORWARDED_FOR", "10.9.8.7, 203.0.113.9");
    Notify(&flt, f, SF_NOTIFY_LOG, &log);
    CHECK(strcmp(log.pszClientHostName, "203.0.113.9") == 0, "host [%s]", log.pszClientHostName);
    CHECK(strcmp(log.pszClientUserName, "anonymous") == 0, "user [%s]", log.pszClientUserName);

    log.pszClientHostName = "198.51.100.1";
    log.pszClientUserName = "-";
    SetItem(f->vars, &f->nVars, "REMOTE_ADDR", "198.51.100.1");
    SetItem(f->vars, &f->nVars, "HTTP_X_AUTHENTICATED_USER", "ALICE-MAPPED");
    Notify(&flt, f, SF_NOTIFY_LOG, &log);
    CHECK(strcmp(log.pszClientHostName, "198.51.100.1") == 0, "untrusted peer believed: [%s]",
          log.pszClientHostName);
    CHECK(strcmp(log.pszClientUserName, "ALICE-MAPPED") == 0, "user [%s]", log.pszClientUserName);

    log.pszClientUserName = "bob";
    Notify(&flt, f, SF_NOTIFY_LOG, &log);
    CHECK(strcmp(log.pszClientUserName, "bob") == 0, "named user replaced [%s]", log.pszClientUserName);

    CHECK(f->fc.pFilterContext != NULL, "no per-connection record");
    Notify(&flt, f, SF_NOTIFY_END_OF_NET_SESSION, NULL);
    CHECK(f->fc.pFilterContext == NULL, "record not released at END_OF_NET_SESSION");
    ResetConnection(f);
    UnloadFilter(&flt);
}

static DWORD RawRead(FILTER *flt, FAKE *f, const char *bytes, DWORD cb)
{
    char buf[4096];

    memcpy(buf, bytes, cb);
    return RawData(flt, f, SF_NOTIFY_READ_RAW_DATA, buf, cb);
}

static void TestRawguard(FAKE *f)
{
    static const char ok[] = "GET /index.htm HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char trace[] = "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char nul[] = "GET /a\0b HTTP/1.1\r\n\r\n";
    static const char hdrnul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    char longline[3100];
    FILTER flt;
    DWORD rc;

    if (!LoadFilter("rawguard", &flt))
        return;
    ResetConnection(f);
    rc = RawRead(&flt, f, ok, sizeof ok - 1);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION && f->cbOut == 0, "good request rc %lx", (unsigned long)rc);
    Notify(&flt, f, SF_NOTIFY_END_OF_REQUEST, NULL);

    rc = RawRead(&flt, f, trace, sizeof trace - 1);
    f->out[f->cbOut] = '\0';
    CHECK(rc == SF_STATUS_REQ_FINISHED, "TRACE rc %lx", (unsigned long)rc);
    CHECK(strcmp(f->out, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n"
                         "Connection: close\r\n\r\nmethod not allowed here\r\n") == 0, "response [%s]", f->out);

    /* Incomplete request line: READ_NEXT, then the accumulated bytes. */
    ResetConnection(f);
    rc = RawRead(&flt, f, "GET /partial", 12);
    CHECK(rc == SF_STATUS_REQ_READ_NEXT && f->nextReadSize > 0, "partial rc %lx hint %lu", (unsigned long)rc,
          (unsigned long)f->nextReadSize);
    rc = RawRead(&flt, f, "GET /partial HTTP/1.1\r\nHost: x\r\n", 32);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION, "completed rc %lx", (unsigned long)rc);
    /* The end of the header block in a later read; NUL bytes after it are body. */
    rc = RawRead(&flt, f, "\r\nbody\0bytes", 12);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION, "body with NUL rc %lx", (unsigned long)rc);

    ResetConnection(f);
    rc = RawRead(&flt, f, "TRA", 3);
    CHECK(rc == SF_STATUS_REQ_READ_NEXT, "short method rc %lx", (unsigned long)rc);
    rc = RawRead(&flt, f, "TRACE /x", 8);
    CHECK(rc == SF_STATUS_REQ_FINISHED, "forbidden method before line end rc %lx", (unsigned long)rc);

    ResetConnection(f);
    rc = RawRead(&flt, f, nul, sizeof nul - 1);
    CHECK(rc == SF_STATUS_REQ_FINISHED && f->cbOut > 0, "NUL in line rc %lx", (unsigned long)rc);

    ResetConnection(f);
    rc = RawRead(&flt, f, hdrnul, sizeof hdrnul - 1);
    CHECK(rc == SF_STATUS_REQ_FINISHED, "NUL in headers rc %lx", (unsigned long)rc);

    ResetConnection(f);
    memcpy(longline, "GET /", 5);
    memset(longline + 5, 'a', 3000);
    memcpy(longline + 3005, " HTTP/1.1\r\n\r\n", 13);
    rc = RawRead(&flt, f, longline, 3018);
    CHECK(rc == SF_STATUS_REQ_FINISHED, "long line rc %lx", (unsigned long)rc);

    ResetConnection(f);
    rc = RawRead(&flt, f, "GET /\r\n", 7);
    CHECK(rc == SF_STATUS_REQ_NEXT_NOTIFICATION && f->cbOut == 0, "HTTP/0.9 rc %lx", (unsigned long)rc);
    ResetConnection(f);
    UnloadFilter(&flt);
}

/* The trace file's lines, in order, into lines[]; returns how many. */
static int ReadLines(const char *path, char lines[][2048], int max)
{
    FILE *fp = fopen(path, "r");
    int n = 0;

    if (!fp)
        return -1;
    while (n < max && fgets(lines[n], 2048, fp))
        n++;
    fclose(fp);
    return n;
}

static void TestTrace(FAKE *f)
{
    static char lines[16][2048];
    char path[MAX_PATH], raw[] = "GET / HTTP/1.1\r\n\r\n", longAddr[400];
    const DWORD all = SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP |
                      SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED |
                      SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST |
                      SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION | SF_NOTIFY_SECURE_PORT |
                      SF_NOTIFY_NONSECURE_PORT;
    HTTP_FILTER_LOG log;
    FILTER flt;
    int n;

    if (GetEnvironmentVariableA("ISAPI_TRACE_FILE", path, sizeof path) == 0) {
        printf("SKIP trace: ISAPI_TRACE_FILE is not set\n");
        return;
    }
    remove(path);
    if (!LoadFilter("trace", &flt))
        return;
    CHECK((flt.dwFlags & all) == all, "flags %lx", (unsigned long)flt.dwFlags);

    ResetConnection(f);
    memset(longAddr, 'a', sizeof longAddr - 1);
    longAddr[sizeof longAddr - 1] = '\0';
    SetItem(f->vars, &f->nVars, "SERVER_PROTOCOL", "HTTP/1.1");
    SetItem(f->vars, &f->nVars, "REMOTE_ADDR", longAddr);
    RawData(&flt, f, SF_NOTIFY_READ_RAW_DATA, raw, (DWORD)strlen(raw));
    SetItem(f->hdrs, &f->nHdrs, "method", "GET");
    SetItem(f->hdrs, &f->nHdrs, "url", "/x?y=1 2");
    SetItem(f->hdrs, &f->nHdrs, "version", "HTTP/1.1");
    PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    ResetRequest(f);
    SetItem(f->hdrs, &f->nHdrs, "status", "200 OK");
    PreprocOrResponse(&flt, f, SF_NOTIFY_SEND_RESPONSE, 200);
    memset(&log, 0, sizeof log);
    log.pszClientHostName = "127.0.0.1";
    log.pszClientUserName = "";
    log.pszTarget = "/x";
    log.dwHttpStatus = 200;
    Notify(&flt, f, SF_NOTIFY_LOG, &log);
    ResetRequest(f);
    PreprocOrResponse(&flt, f, SF_NOTIFY_PREPROC_HEADERS, 0);
    Notify(&flt, f, SF_NOTIFY_END_OF_NET_SESSION, NULL);

    n = ReadLines(path, lines, 16);
    CHECK(n == 6, "%d lines in %s", n, path);
    if (n == 6) {
        CHECK(strncmp(lines[0], "filter=trace conn=", 18) == 0, "line 1: %s", lines[0]);
        CHECK(strstr(lines[0], " req=1 seq=1 ") && strstr(lines[0], " notify=READ_RAW_DATA ctx=new "),
              "line 1: %s", lines[0]);
        CHECK(strstr(lines[0], " sv.SERVER_PROTOCOL=HTTP/1.1 sv.URL=!1413 sv.REMOTE_ADDR=aaaa") &&
              strstr(lines[0], " data=GET%20/%20HTTP/1.1%0D%0A%0D%0A"), "line 1: %s", lines[0]);
        CHECK(strstr(lines[0], longAddr) != NULL, "long server variable cut: %s", lines[0]);
        CHECK(strstr(lines[1], " notify=PREPROC_HEADERS ctx=same ") &&
              strstr(lines[1], " method=GET url=/x?y=1%202 version=HTTP/1.1 host=!1413 HttpStatus=0"),
              "line 2: %s", lines[1]);
        CHECK(strstr(lines[2], " notify=SEND_RESPONSE ") && strstr(lines[2], " status=200%20OK HttpStatus=200"),
              "line 3: %s", lines[2]);
        CHECK(strstr(lines[3], " req=1 seq=4 ") && strstr(lines[3], " notify=LOG ") &&
              strstr(lines[3], " pszClientUserName= ") && strstr(lines[3], " pszServerName=!NULL ") &&
              strstr(lines[3], " dwHttpStatus=200 "), "line 4: %s", lines[3]);
        CHECK(strstr(lines[4], " req=2 seq=5 ") && strstr(lines[4], " notify=PREPROC_HEADERS "),
              "line 5: %s", lines[4]);
        CHECK(strstr(lines[5], " notify=END_OF_NET_SESSION ") && strstr(lines[5], " requests=2\n"),
              "line 6: %s", lines[5]);
    }
    ResetConnection(f);
    UnloadFilter(&flt);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(FAKE *);
    } tests[] = {
        { "upcase", TestUpcase }, { "headers", TestHeaders }, { "rewrite", TestRewrite },
        { "basicauth", TestBasicauth }, { "logger", TestLogger }, { "rawguard", TestRawguard },
        { "trace", TestTrace },
    };
    static FAKE fake;
    size_t i;
    int j;

    if (argc < 2) {
        printf("usage: drive_samples <filter folder> [sample ...]\n");
        return 2;
    }
    lstrcpynA(g_dir, argv[1], sizeof g_dir);
    ResetConnection(&fake);
    for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        BOOL run = argc == 2;
        for (j = 2; j < argc; j++)
            run |= strcmp(argv[j], tests[i].name) == 0;
        if (!run)
            continue;
        printf("sample %s\n", tests[i].name);
        tests[i].run(&fake);
    }
    printf("%d failure(s)\n", g_failures);
    return g_failures ? 1 : 0;
}
