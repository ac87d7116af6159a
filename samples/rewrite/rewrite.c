/*
 * rewrite.c - ISAPI filter sample: URL rewriting, redirects and physical-path mapping.
 *
 * Three kinds of rule, all by URL prefix (case-insensitive) and read from rewrite.ini:
 *
 *   [redirect]  "/old/ = 301 /legacy/"   SF_NOTIFY_PREPROC_HEADERS: the filter answers the
 *               request itself: ServerSupportFunction(SF_REQ_SEND_RESPONSE_HEADER) with
 *               the status line and its own headers (Location, Content-Type,
 *               Content-Length, ending with the blank line), then WriteClient of a small
 *               HTML body, then SF_STATUS_REQ_FINISHED so the server does nothing more.
 *   [rewrite]   "/app/ = /legacy/"       SF_NOTIFY_PREPROC_HEADERS: SetHeader("url", ...)
 *               changes the request target before the server routes it. The client never
 *               sees it; the query string is carried over.
 *   [physical]  "/archive/ = /legacy/"   SF_NOTIFY_URL_MAP: the URL stays, but the file is
 *               taken from another folder of the site: the filter edits pszPhysicalPath in
 *               place, within cbPathBuff bytes.
 *
 * In each case the part of the URL after the matched prefix is appended to the target, so
 * /old/page.htm?x=1 redirects to /legacy/page.htm?x=1. Redirect rules are tried first,
 * then rewrite rules; the first match wins.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REWRITE_MAX_RULES 32
#define REWRITE_MAX_TEXT  256

typedef struct REWRITE_RULE {
    char szFrom[REWRITE_MAX_TEXT];
    char szTo[REWRITE_MAX_TEXT];
    DWORD dwStatus;                  /* redirects: 301, 302, 307 or 308 */
} REWRITE_RULE;

typedef struct RULE_SET {
    REWRITE_RULE rules[REWRITE_MAX_RULES];
    DWORD count;
} RULE_SET;

static HINSTANCE g_hInstance;
static RULE_SET g_redirects, g_rewrites, g_physical;

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

/* Reads every "from = to" entry of one section. For redirects the value starts with the
 * status code: "301 /new/". */
static void LoadSection(const char *ini, const char *section, RULE_SET *set, BOOL isRedirect)
{
    char keys[4096];
    char value[REWRITE_MAX_TEXT];
    const char *key;

    set->count = 0;
    /* A NULL key name lists the section's keys, each NUL-terminated, then one more NUL. */
    GetPrivateProfileStringA(section, NULL, "", keys, sizeof keys, ini);
    for (key = keys; *key && set->count < REWRITE_MAX_RULES; key += strlen(key) + 1) {
        REWRITE_RULE *r = &set->rules[set->count];
        const char *to = value;

        if (key[0] != '/' || strlen(key) >= sizeof r->szFrom)
            continue;
        GetPrivateProfileStringA(section, key, "", value, sizeof value, ini);
        r->dwStatus = 0;
        if (isRedirect) {
            char *end;
            r->dwStatus = (DWORD)strtoul(value, &end, 10);
            if (r->dwStatus != 301 && r->dwStatus != 302 && r->dwStatus != 307 &&
                r->dwStatus != 308)
                continue;
            to = end;
            while (*to == ' ' || *to == '\t')
                to++;
        }
        if (to[0] != '/')
            continue;
        lstrcpynA(r->szFrom, key, sizeof r->szFrom);
        lstrcpynA(r->szTo, to, sizeof r->szTo);
        set->count++;
    }
}

static const REWRITE_RULE *FindRule(const RULE_SET *set, const char *url)
{
    DWORD i;

    for (i = 0; i < set->count; i++) {
        if (_strnicmp(url, set->rules[i].szFrom, strlen(set->rules[i].szFrom)) == 0)
            return &set->rules[i];
    }
    return NULL;
}

/* rule->szTo + the rest of url after the prefix (query included), in a malloc'd string. */
static char *ApplyRule(const REWRITE_RULE *rule, const char *url)
{
    const char *rest = url + strlen(rule->szFrom);
    size_t cb = strlen(rule->szTo) + strlen(rest) + 1;
    char *out = (char *)malloc(cb);

    if (out) {
        lstrcpyA(out, rule->szTo);
        lstrcatA(out, rest);
    }
    return out;
}

/* GetHeader into a malloc'd buffer, growing it as the server asks. NULL when absent. */
static char *GetHeaderAlloc(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pHdr,
                            char *name)
{
    DWORD cb = 256;
    char *buf = (char *)malloc(cb);

    while (buf) {
        DWORD size = cb;
        char *bigger;
        if (pHdr->GetHeader(pfc, name, buf, &size))
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

/* Copies s into out with the HTML special characters escaped; returns the length. out may
 * be NULL to measure. */
static size_t HtmlEscape(char *out, const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        default: break;
        }
        if (rep) {
            if (out)
                memcpy(out + n, rep, strlen(rep));
            n += strlen(rep);
        } else {
            if (out)
                out[n] = *s;
            n++;
        }
    }
    if (out)
        out[n] = '\0';
    return n;
}

static const char *StatusText(DWORD dwStatus)
{
    switch (dwStatus) {
    case 301: return "301 Moved Permanently";
    case 307: return "307 Temporary Redirect";
    case 308: return "308 Permanent Redirect";
    default: return "302 Found";
    }
}

static DWORD SendRedirect(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pHdr,
                          DWORD dwStatus, const char *location)
{
    static const char head[] = "<html><head><title>Moved</title></head><body>"
                               "<p>This document has moved <a href=\"";
    static const char tail[] = "\">here</a>.</p></body></html>\r\n";
    char *method = GetHeaderAlloc(pfc, pHdr, "method");
    char *headers = NULL, *body = NULL;
    size_t cbBody;
    DWORD dwResult = SF_STATUS_REQ_ERROR;
    const char *p;

    /* Why: the location is built from the request URL; a CR or LF in it would let the
     * client add headers of its own to the response. */
    for (p = location; *p; p++) {
        if ((unsigned char)*p < 0x20) {
            free(method);
            SetLastError(ERROR_INVALID_PARAMETER);
            return SF_STATUS_REQ_ERROR;
        }
    }
    cbBody = sizeof head - 1 + HtmlEscape(NULL, location) + sizeof tail - 1;
    body = (char *)malloc(cbBody + 1);
    headers = (char *)malloc(strlen(location) + 128);
    if (!body || !headers) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        goto done;
    }
    lstrcpyA(body, head);
    HtmlEscape(body + sizeof head - 1, location);
    lstrcatA(body, tail);
    /* The header text handed to SF_REQ_SEND_RESPONSE_HEADER must end with the blank line. */
    sprintf(headers, "Location: %s\r\nContent-Type: text/html\r\nContent-Length: %lu\r\n\r\n",
            location, (unsigned long)cbBody);

    if (!pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER,
                                    (PVOID)StatusText(dwStatus), (ULONG_PTR)headers, 0))
        goto done;
    /* A HEAD request gets the headers only. */
    if (!method || lstrcmpA(method, "HEAD") != 0) {
        DWORD cb = (DWORD)cbBody;
        pfc->WriteClient(pfc, body, &cb, 0);
    }
    dwResult = SF_STATUS_REQ_FINISHED;
done:
    free(method);
    free(headers);
    free(body);
    return dwResult;
}

static DWORD OnPreprocHeaders(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_PREPROC_HEADERS pHdr)
{
    const REWRITE_RULE *rule;
    char *url = GetHeaderAlloc(pfc, pHdr, "url");    /* raw target, query included */
    char *target;
    DWORD dwResult = SF_STATUS_REQ_NEXT_NOTIFICATION;

    if (!url)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if ((rule = FindRule(&g_redirects, url)) != NULL) {
        target = ApplyRule(rule, url);
        if (target)
            dwResult = SendRedirect(pfc, pHdr, rule->dwStatus, target);
        free(target);
    } else if ((rule = FindRule(&g_rewrites, url)) != NULL) {
        target = ApplyRule(rule, url);
        if (target)
            pHdr->SetHeader(pfc, "url", target);
        free(target);
    }
    free(url);
    return dwResult;
}

static BOOL IsSep(char c)
{
    return c == '/' || c == '\\';
}

static char LowerAscii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Length of the site-root part of phys when phys ends with the URL path (separators and
 * case ignored), or -1 when it does not (a virtual directory elsewhere, say). */
static long RootLength(const char *phys, const char *url)
{
    size_t pl = strlen(phys), ul = strcspn(url, "?");

    /* "/archive/" may map to ".../archive" without the final separator. */
    if (ul > 0 && url[ul - 1] == '/' && (pl == 0 || !IsSep(phys[pl - 1])))
        ul--;
    if (ul > pl)
        return -1;
    for (; ul > 0; ul--, pl--) {
        char u = url[ul - 1], p = phys[pl - 1];
        if (IsSep(u) ? !IsSep(p) : LowerAscii(u) != LowerAscii(p))
            return -1;
    }
    return (long)pl;
}

static DWORD OnUrlMap(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_URL_MAP pMap)
{
    const REWRITE_RULE *rule = FindRule(&g_physical, pMap->pszURL);
    char newPath[MAX_PATH * 2];
    const char *rest;
    long root;
    char sep;
    size_t i, n;

    if (!rule || !pMap->pszPhysicalPath)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    root = RootLength(pMap->pszPhysicalPath, pMap->pszURL);
    if (root < 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    sep = pMap->pszPhysicalPath[root] ? pMap->pszPhysicalPath[root] : '\\';
    rest = pMap->pszPhysicalPath + root + strlen(rule->szFrom);
    if (rest > pMap->pszPhysicalPath + strlen(pMap->pszPhysicalPath))
        rest = "";

    n = (size_t)root + strlen(rule->szTo) + strlen(rest);
    if (n + 1 > sizeof newPath || n + 1 > pMap->cbPathBuff)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    memcpy(newPath, pMap->pszPhysicalPath, (size_t)root);
    for (i = 0; rule->szTo[i]; i++)       /* the target folder, in the path's separators */
        newPath[root + (long)i] = rule->szTo[i] == '/' ? sep : rule->szTo[i];
    lstrcpyA(newPath + root + (long)i, rest);
    /* Why in place: the server owns pszPhysicalPath; a filter may rewrite its contents
     * within cbPathBuff bytes but must not replace the pointer. */
    lstrcpyA(pMap->pszPhysicalPath, newPath);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    char ini[MAX_PATH];

    if (GetIniPath(ini, sizeof ini)) {
        LoadSection(ini, "redirect", &g_redirects, TRUE);
        LoadSection(ini, "rewrite", &g_rewrites, FALSE);
        LoadSection(ini, "physical", &g_physical, FALSE);
    }
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "rewrite sample: redirects, URL rewrites, path mapping",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_MEDIUM |
                    SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    switch (NotificationType) {
    case SF_NOTIFY_PREPROC_HEADERS:
        return OnPreprocHeaders(pfc, (PHTTP_FILTER_PREPROC_HEADERS)pvNotification);
    case SF_NOTIFY_URL_MAP:
        return OnUrlMap(pfc, (PHTTP_FILTER_URL_MAP)pvNotification);
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}
