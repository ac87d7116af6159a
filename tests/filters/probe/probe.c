/*
 * probe.c - a configurable ISAPI filter for the engine's unit tests, written as a Windows
 * filter (windows.h, httpfilt.h, a .def file).
 *
 * The test chooses its behaviour through ProbeSetup (see probe.h) and reads back what it
 * saw through the journal and ProbeLog. Every call is recorded as "<name> <NOTIF>", every
 * action as "<name> <NOTIF> <action> <result>", one per line. Errors are recorded as
 * "!<GetLastError()>".
 *
 * Actions (arguments end at ',' or ';', '~' means CRLF, '^HH' the byte with hex value HH):
 *   ret=NEXT|HANDLED|FINISHED|KEEP|READ_NEXT|BOGUS|ERROR:<code>   return value
 *   gsv=NAME          GetServerVariable into a 4096-byte buffer: "=value" or "!err"
 *   gsvsize=NAME      GetServerVariable(NULL, size 0): records "size=<n> !err"
 *   gsvsmall=NAME     GetServerVariable with a 2-byte buffer: records "size=<n> !err"
 *   gh=NAME / sh=NAME=VALUE / ah=NAME=VALUE   header accessors of PRE/AUTHC/RESP
 *   stash             keep this notification's header struct; ghstash=NAME uses it later
 *   arh=TEXT          AddResponseHeaders       denial=TEXT  SF_REQ_ADD_HEADERS_ON_DENIAL
 *   wc=TEXT / wc0 / wcnull   WriteClient (text / zero bytes / NULL length pointer)
 *   ssrh / ssrh=STATUS / ssrh=STATUS=EXTRA    SF_REQ_SEND_RESPONSE_HEADER
 *   ssf=CODE[:UL1]    ServerSupportFunction(CODE, NULL, UL1, 0)
 *   dis=HEXMASK       SF_REQ_DISABLE_NOTIFICATIONS
 *   prop=ID           SF_REQ_GET_PROPERTY into a DWORD: "=value" or "!err"
 *   norm=URL          SF_REQ_NORMALIZE_URL on a copy (unescaped): "=result" or "!err"
 *   nrs=N             SF_REQ_SET_NEXT_READ_SIZE
 *   alloc=N           AllocMem: records "aligned" / "unaligned" / "!err"; fills the block
 *   alloccheck        checks the fill pattern of every block allocated so far
 *   allocz=N          AllocMem N: records "zeroed" or "DIRTY at <offset>" (what the block
 *                     held when handed out), then fills it like alloc
 *   ctx=set:N | ctx=get | ctx=inc   pFilterContext as a small integer
 *   raw=rec|zero|upper|replace:TEXT  SEND/RAW data: record, suppress, upper-case in place,
 *                     replace pvInData with an AllocMem buffer
 *   raw=over:N        overstate cbInData by N on the buffer given (cbInBuffer untouched)
 *   raw=own:N         swap in a static 32-byte buffer of 'O's, cbInBuffer 32, cbInData 32+N
 *   raw=alloc:N       swap in a 32-byte AllocMem block of 'M's, cbInData = cbInBuffer = 32+N
 *   readnext=TEXT     RAW: READ_NEXT unless the data contains TEXT
 *   user=NAME / userptr=NAME / pass=TEXT   AUTH: edit in place / replace the pointer
 *   recauth / recmap / recdeny / reclog    record the notification structure
 *   map=PATH          URL_MAP: overwrite the physical path in place
 *   log=FIELD:VALUE   LOG: point FIELD (host user server op target params) at filter memory
 *   gut               GetUserToken        reset   AUTHC fResetAuth = TRUE
 *   badpfc            GetServerVariable with a copy of the context (not the engine's)
 */
#include <windows.h>
#include <httpfilt.h>
#include <httpext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static char g_name[32] = "probe";
static DWORD g_flags;
static BOOL g_version_result = TRUE;
static DWORD g_version_error;
static char g_script[8192];
static probe_journal *g_journal;
static char g_log[1 << 16];
static size_t g_loglen;
static int g_counts[16];
static void *g_blocks[64];
static DWORD g_block_sizes[64];
static int g_nblocks;
static HTTP_FILTER_PREPROC_HEADERS *g_stash;
static char g_logbuf[6][128];
static char g_userbuf[64];

static void rec(const char *fmt, ...)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "%s ", g_name);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    line[n] = '\0';
    if (g_loglen + (size_t)n < sizeof g_log) {
        memcpy(g_log + g_loglen, line, (size_t)n + 1);
        g_loglen += (size_t)n;
    }
    if (g_journal && g_journal->len + (size_t)n < sizeof g_journal->text) {
        memcpy(g_journal->text + g_journal->len, line, (size_t)n + 1);
        g_journal->len += (size_t)n;
    }
}

BOOL WINAPI ProbeSetup(const char *name, DWORD flags, BOOL version_result,
                       DWORD version_error, const char *script, probe_journal *journal)
{
    snprintf(g_name, sizeof g_name, "%s", name);
    g_flags = flags;
    g_version_result = version_result;
    g_version_error = version_error;
    snprintf(g_script, sizeof g_script, "%s", script ? script : "");
    g_journal = journal;
    return TRUE;
}

const char *WINAPI ProbeLog(void)
{
    return g_log;
}

void WINAPI ProbeScribble(void)
{
    for (int i = 0; i < 6; i++)
        memset(g_logbuf[i], 'X', sizeof g_logbuf[i] - 1);
    memset(g_userbuf, 'X', sizeof g_userbuf - 1);
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    int zeroed = pVer->dwFilterVersion == 0 && pVer->dwFlags == 0 && pVer->lpszFilterDesc[0] == 0;
    rec("VERSION server=%08lx zeroed=%d", (unsigned long)pVer->dwServerFilterVersion, zeroed);
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    strcpy(pVer->lpszFilterDesc, g_name);
    pVer->dwFlags = g_flags;
    if (!g_version_result) {
        SetLastError(g_version_error);
        return FALSE;
    }
    return TRUE;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    rec("TERMINATE %lu", (unsigned long)dwFlags);
    return TRUE;
}

static const char *notif_name(DWORD n, int *idx)
{
    static const struct { DWORD bit; const char *name; } t[] = {
        { SF_NOTIFY_READ_RAW_DATA, "RAW" }, { SF_NOTIFY_PREPROC_HEADERS, "PRE" },
        { SF_NOTIFY_URL_MAP, "MAP" }, { SF_NOTIFY_AUTHENTICATION, "AUTH" },
        { SF_NOTIFY_AUTH_COMPLETE, "AUTHC" }, { SF_NOTIFY_ACCESS_DENIED, "DENY" },
        { SF_NOTIFY_SEND_RESPONSE, "RESP" }, { SF_NOTIFY_SEND_RAW_DATA, "SEND" },
        { SF_NOTIFY_END_OF_REQUEST, "END" }, { SF_NOTIFY_LOG, "LOG" },
        { SF_NOTIFY_END_OF_NET_SESSION, "EONS" },
    };
    for (int i = 0; i < (int)(sizeof t / sizeof t[0]); i++)
        if (t[i].bit == n) {
            *idx = i;
            return t[i].name;
        }
    *idx = 15;
    return "UNKNOWN";
}

/* Copies an argument, turning '~' into CRLF and '^HH' into the byte 0xHH. */
static void unescape(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        if (in[i] == '~') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else if (in[i] == '^' && i + 2 < n) {
            char hex[3] = { in[i + 1], in[i + 2], 0 };
            out[o++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* Shows CR and LF of recorded data as '~' and '|' so a record stays on one line. */
static void visible(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        out[o++] = in[i] == '\r' ? '~' : in[i] == '\n' ? '|' : in[i];
    out[o] = '\0';
}

typedef struct call {
    HTTP_FILTER_CONTEXT *pfc;
    DWORD notif;
    void *pv;
    const char *nn;
    DWORD ret;
    DWORD err;      /* last error to set right before returning SF_STATUS_REQ_ERROR */
} call;

static HTTP_FILTER_PREPROC_HEADERS *headers_of(call *c)
{
    /* PREPROC_HEADERS, SEND_RESPONSE and AUTH_COMPLETE start with the same three
     * accessors, so one view serves all three. */
    if (c->notif == SF_NOTIFY_PREPROC_HEADERS || c->notif == SF_NOTIFY_SEND_RESPONSE ||
        c->notif == SF_NOTIFY_AUTH_COMPLETE)
        return (HTTP_FILTER_PREPROC_HEADERS *)c->pv;
    return NULL;
}

static void do_action(call *c, const char *act, const char *arg)
{
    HTTP_FILTER_CONTEXT *pfc = c->pfc;
    char buf[4096];
    DWORD size;
    BOOL ok;

    if (!strcmp(act, "ret")) {
        if (!strcmp(arg, "NEXT")) c->ret = SF_STATUS_REQ_NEXT_NOTIFICATION;
        else if (!strcmp(arg, "HANDLED")) c->ret = SF_STATUS_REQ_HANDLED_NOTIFICATION;
        else if (!strcmp(arg, "FINISHED")) c->ret = SF_STATUS_REQ_FINISHED;
        else if (!strcmp(arg, "KEEP")) c->ret = SF_STATUS_REQ_FINISHED_KEEP_CONN;
        else if (!strcmp(arg, "READ_NEXT")) c->ret = SF_STATUS_REQ_READ_NEXT;
        else if (!strcmp(arg, "BOGUS")) c->ret = 0x12345;
        else if (!strncmp(arg, "ERROR:", 6)) {
            c->ret = SF_STATUS_REQ_ERROR;
            c->err = (DWORD)strtoul(arg + 6, NULL, 10);
        }
    } else if (!strcmp(act, "gsv")) {
        size = sizeof buf;
        SetLastError(0xdead);
        ok = pfc->GetServerVariable(pfc, (LPSTR)arg, buf, &size);
        if (ok)
            rec("%s gsv %s=%s size=%lu err=%lu", c->nn, arg, buf, (unsigned long)size,
                (unsigned long)GetLastError());
        else
            rec("%s gsv %s!%lu", c->nn, arg, (unsigned long)GetLastError());
    } else if (!strcmp(act, "gsvsize") || !strcmp(act, "gsvsmall")) {
        int small = act[3] == 's' && act[4] == 'm';
        size = small ? 2 : 0;
        ok = pfc->GetServerVariable(pfc, (LPSTR)arg, small ? buf : NULL, &size);
        rec("%s %s %s ok=%d size=%lu !%lu", c->nn, act, arg, ok, (unsigned long)size,
            (unsigned long)GetLastError());
    } else if (!strcmp(act, "gh") || !strcmp(act, "ghstash")) {
        HTTP_FILTER_PREPROC_HEADERS *h = act[2] ? g_stash : headers_of(c);
        if (!h) {
            rec("%s %s nostruct", c->nn, act);
            return;
        }
        size = sizeof buf;
        SetLastError(0xdead);
        ok = h->GetHeader(pfc, (LPSTR)arg, buf, &size);
        if (ok)
            rec("%s %s %s=%s", c->nn, act, arg, buf);
        else
            rec("%s %s %s!%lu", c->nn, act, arg, (unsigned long)GetLastError());
    } else if (!strcmp(act, "sh") || !strcmp(act, "ah")) {
        HTTP_FILTER_PREPROC_HEADERS *h = headers_of(c);
        char name[256], value[1024];
        const char *eq = strchr(arg, '=');
        if (!h || !eq) {
            rec("%s %s nostruct", c->nn, act);
            return;
        }
        unescape(arg, (size_t)(eq - arg), name, sizeof name);
        unescape(eq + 1, strlen(eq + 1), value, sizeof value);
        ok = act[0] == 's' ? h->SetHeader(pfc, name, value) : h->AddHeader(pfc, name, value);
        rec("%s %s %s ok=%d !%lu", c->nn, act, name, ok, ok ? 0ul : (unsigned long)GetLastError());
    } else if (!strcmp(act, "stash")) {
        /* keeps a copy: the structure itself lives only during this call */
        static HTTP_FILTER_PREPROC_HEADERS copy;
        if (headers_of(c)) {
            copy = *headers_of(c);
            g_stash = &copy;
        }
    } else if (!strcmp(act, "arh") || !strcmp(act, "denial")) {
        unescape(arg, strlen(arg), buf, sizeof buf);
        ok = act[0] == 'a' ? pfc->AddResponseHeaders(pfc, buf, 0)
                           : pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL, buf, 0, 0);
        rec("%s %s ok=%d !%lu", c->nn, act, ok, ok ? 0ul : (unsigned long)GetLastError());
    } else if (!strcmp(act, "wc") || !strcmp(act, "wc0") || !strcmp(act, "wcnull")) {
        unescape(arg, strlen(arg), buf, sizeof buf);
        size = act[2] == '0' ? 0 : (DWORD)strlen(buf);
        ok = pfc->WriteClient(pfc, buf, act[2] == 'n' ? NULL : &size, 0);
        rec("%s %s ok=%d size=%lu !%lu", c->nn, act, ok, (unsigned long)size,
            ok ? 0ul : (unsigned long)GetLastError());
    } else if (!strcmp(act, "ssrh")) {
        char status[256] = "", extra[1024] = "";
        const char *eq = arg ? strchr(arg, '=') : NULL;
        if (arg && *arg)
            unescape(arg, eq ? (size_t)(eq - arg) : strlen(arg), status, sizeof status);
        if (eq)
            unescape(eq + 1, strlen(eq + 1), extra, sizeof extra);
        ok = pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER,
                                        status[0] ? status : NULL,
                                        eq ? (ULONG_PTR)extra : 0, 0);
        rec("%s ssrh ok=%d !%lu", c->nn, ok, ok ? 0ul : (unsigned long)GetLastError());
    } else if (!strcmp(act, "ssf")) {
        char *colon;
        DWORD code = (DWORD)strtoul(arg, &colon, 10);
        ULONG_PTR ul1 = *colon == ':' ? (ULONG_PTR)strtoul(colon + 1, NULL, 0) : 0;
        SetLastError(0xdead);
        ok = pfc->ServerSupportFunction(pfc, (enum SF_REQ_TYPE)code, NULL, ul1, 0);
        rec("%s ssf %lu ok=%d !%lu", c->nn, (unsigned long)code, ok, (unsigned long)GetLastError());
    } else if (!strcmp(act, "dis")) {
        ok = pfc->ServerSupportFunction(pfc, SF_REQ_DISABLE_NOTIFICATIONS, NULL,
                                        (ULONG_PTR)strtoul(arg, NULL, 16), 0);
        rec("%s dis ok=%d", c->nn, ok);
    } else if (!strcmp(act, "prop")) {
        DWORD v = 0xffffffffu;
        ok = pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &v,
                                        (ULONG_PTR)strtoul(arg, NULL, 10), 0);
        if (ok)
            rec("%s prop %s=%lu", c->nn, arg, (unsigned long)v);
        else
            rec("%s prop %s!%lu", c->nn, arg, (unsigned long)GetLastError());
    } else if (!strcmp(act, "norm")) {
        unescape(arg, strlen(arg), buf, sizeof buf);
        ok = pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, buf, 0, 0);
        if (ok)
            rec("%s norm %s=%s", c->nn, arg, buf);
        else
            rec("%s norm %s!%lu", c->nn, arg, (unsigned long)GetLastError());
    } else if (!strcmp(act, "nrs")) {
        ok = pfc->ServerSupportFunction(pfc, SF_REQ_SET_NEXT_READ_SIZE, NULL,
                                        (ULONG_PTR)strtoul(arg, NULL, 10), 0);
        rec("%s nrs ok=%d", c->nn, ok);
    } else if (!strcmp(act, "alloc")) {
        DWORD n = (DWORD)strtoul(arg, NULL, 10);
        unsigned char *p = pfc->AllocMem(pfc, n, 0);
        if (!p) {
            rec("%s alloc %lu!%lu", c->nn, (unsigned long)n, (unsigned long)GetLastError());
            return;
        }
        memset(p, 0xA5, n);
        if (g_nblocks < 64) {
            g_blocks[g_nblocks] = p;
            g_block_sizes[g_nblocks++] = n;
        }
        rec("%s alloc %lu %s", c->nn, (unsigned long)n,
            ((ULONG_PTR)p & 15) ? "unaligned" : "aligned");
    } else if (!strcmp(act, "allocz")) {
        DWORD n = (DWORD)strtoul(arg, NULL, 10), k = 0;
        unsigned char *p = pfc->AllocMem(pfc, n, 0);
        if (!p) {
            rec("%s allocz %lu!%lu", c->nn, (unsigned long)n, (unsigned long)GetLastError());
            return;
        }
        while (k < n && p[k] == 0)
            k++;
        if (k == n)
            rec("%s allocz %lu zeroed", c->nn, (unsigned long)n);
        else
            rec("%s allocz %lu DIRTY at %lu", c->nn, (unsigned long)n, (unsigned long)k);
        memset(p, 0xA5, n);
    } else if (!strcmp(act, "alloccheck")) {
        int good = 1;
        for (int i = 0; i < g_nblocks; i++)
            for (DWORD k = 0; k < g_block_sizes[i]; k++)
                if (((unsigned char *)g_blocks[i])[k] != 0xA5)
                    good = 0;
        rec("%s alloccheck %d blocks %s", c->nn, g_nblocks, good ? "intact" : "CORRUPT");
    } else if (!strcmp(act, "ctx")) {
        if (!strncmp(arg, "set:", 4))
            pfc->pFilterContext = (void *)(ULONG_PTR)strtoul(arg + 4, NULL, 10);
        else if (!strcmp(arg, "inc"))
            pfc->pFilterContext = (void *)((ULONG_PTR)pfc->pFilterContext + 1);
        else
            rec("%s ctx=%lu", c->nn, (unsigned long)(ULONG_PTR)pfc->pFilterContext);
    } else if (!strcmp(act, "raw")) {
        HTTP_FILTER_RAW_DATA *raw = c->pv;
        if (!strcmp(arg, "rec")) {
            visible(raw->pvInData, raw->cbInData, buf, sizeof buf);
            rec("%s raw [%s] in=%lu buf=%lu", c->nn, buf, (unsigned long)raw->cbInData,
                (unsigned long)raw->cbInBuffer);
        } else if (!strcmp(arg, "zero")) {
            raw->cbInData = 0;
        } else if (!strcmp(arg, "upper")) {
            char *p = raw->pvInData;
            for (DWORD i = 0; i < raw->cbInData; i++)
                if (p[i] >= 'a' && p[i] <= 'z')
                    p[i] = (char)(p[i] - 'a' + 'A');
        } else if (!strncmp(arg, "over:", 5)) {
            raw->cbInData += (DWORD)strtoul(arg + 5, NULL, 10);
        } else if (!strncmp(arg, "own:", 4)) {
            static char own[32];
            memset(own, 'O', sizeof own);
            raw->pvInData = own;
            raw->cbInBuffer = sizeof own;
            raw->cbInData = sizeof own + (DWORD)strtoul(arg + 4, NULL, 10);
        } else if (!strncmp(arg, "alloc:", 6)) {
            char *p = pfc->AllocMem(pfc, 32, 0);
            memset(p, 'M', 32);
            raw->pvInData = p;
            raw->cbInData = raw->cbInBuffer = 32 + (DWORD)strtoul(arg + 6, NULL, 10);
        } else if (!strncmp(arg, "replace:", 8)) {
            unescape(arg + 8, strlen(arg + 8), buf, sizeof buf);
            DWORD n = (DWORD)strlen(buf);
            char *p = pfc->AllocMem(pfc, n + 1, 0);
            memcpy(p, buf, n + 1);
            raw->pvInData = p;
            raw->cbInData = n;
            raw->cbInBuffer = n + 1;
        }
    } else if (!strcmp(act, "readnext")) {
        HTTP_FILTER_RAW_DATA *raw = c->pv;
        unescape(arg, strlen(arg), buf, sizeof buf);
        char data[4096];
        size_t n = raw->cbInData < sizeof data - 1 ? raw->cbInData : sizeof data - 1;
        memcpy(data, raw->pvInData, n);
        data[n] = '\0';
        if (!strstr(data, buf)) {
            c->ret = SF_STATUS_REQ_READ_NEXT;
            rec("%s readnext wait", c->nn);
        }
    } else if (!strcmp(act, "user") || !strcmp(act, "pass")) {
        HTTP_FILTER_AUTHENT *a = c->pv;
        char *dst = act[0] == 'u' ? a->pszUser : a->pszPassword;
        DWORD cap = act[0] == 'u' ? a->cbUserBuff : a->cbPasswordBuff;
        snprintf(dst, cap, "%s", arg);
    } else if (!strcmp(act, "userptr")) {
        HTTP_FILTER_AUTHENT *a = c->pv;
        snprintf(g_userbuf, sizeof g_userbuf, "%s", arg);
        a->pszUser = g_userbuf;
        a->cbUserBuff = sizeof g_userbuf;
    } else if (!strcmp(act, "recauth")) {
        HTTP_FILTER_AUTHENT *a = c->pv;
        rec("%s auth user=[%s] pass=[%s] cbUser=%lu cbPass=%lu", c->nn, a->pszUser,
            a->pszPassword, (unsigned long)a->cbUserBuff, (unsigned long)a->cbPasswordBuff);
    } else if (!strcmp(act, "recmap")) {
        HTTP_FILTER_URL_MAP_EX *m = c->pv;
        rec("%s map url=[%s] path=[%s] cb=%lu flags=%lu", c->nn, m->pszURL,
            m->pszPhysicalPath, (unsigned long)m->cbPathBuff, (unsigned long)m->dwFlags);
    } else if (!strcmp(act, "map")) {
        HTTP_FILTER_URL_MAP *m = c->pv;
        snprintf(m->pszPhysicalPath, m->cbPathBuff, "%s", arg);
    } else if (!strcmp(act, "recdeny")) {
        HTTP_FILTER_ACCESS_DENIED *d = c->pv;
        rec("%s deny url=[%s] phys=[%s] reason=%lu", c->nn, d->pszURL, d->pszPhysicalPath,
            (unsigned long)d->dwReason);
    } else if (!strcmp(act, "reclog")) {
        HTTP_FILTER_LOG *l = c->pv;
        rec("%s log host=[%s] user=[%s] server=[%s] op=[%s] target=[%s] params=[%s] status=%lu",
            c->nn, l->pszClientHostName, l->pszClientUserName, l->pszServerName,
            l->pszOperation, l->pszTarget, l->pszParameters, (unsigned long)l->dwHttpStatus);
    } else if (!strcmp(act, "log")) {
        HTTP_FILTER_LOG *l = c->pv;
        static const char *const fields[6] = { "host", "user", "server", "op", "target", "params" };
        const CHAR **slots[6] = { &l->pszClientHostName, &l->pszClientUserName,
                                  &l->pszServerName, &l->pszOperation, &l->pszTarget,
                                  &l->pszParameters };
        const char *colon = strchr(arg, ':');
        for (int i = 0; colon && i < 6; i++)
            if (strlen(fields[i]) == (size_t)(colon - arg) && !strncmp(arg, fields[i], strlen(fields[i]))) {
                snprintf(g_logbuf[i], sizeof g_logbuf[i], "%s", colon + 1);
                *slots[i] = g_logbuf[i];
            }
    } else if (!strcmp(act, "gut")) {
        HTTP_FILTER_AUTH_COMPLETE_INFO *a = c->pv;
        HANDLE h = (HANDLE)1;
        ok = a->GetUserToken(pfc, &h);
        rec("%s gut ok=%d !%lu", c->nn, ok, (unsigned long)GetLastError());
    } else if (!strcmp(act, "reset")) {
        ((HTTP_FILTER_AUTH_COMPLETE_INFO *)c->pv)->fResetAuth = TRUE;
    } else if (!strcmp(act, "badpfc")) {
        HTTP_FILTER_CONTEXT copy = *pfc;
        size = sizeof buf;
        ok = copy.GetServerVariable(&copy, "REMOTE_ADDR", buf, &size);
        rec("%s badpfc ok=%d !%lu", c->nn, ok, (unsigned long)GetLastError());
    } else {
        rec("%s UNKNOWN-ACTION %s", c->nn, act);
    }
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    int idx;
    call c = { pfc, NotificationType, pvNotification, NULL, SF_STATUS_REQ_NEXT_NOTIFICATION, 0 };
    c.nn = notif_name(NotificationType, &idx);
    int count = ++g_counts[idx];
    rec("%s", c.nn);

    /* walk the rules */
    const char *p = g_script;
    while (*p) {
        size_t rlen = strcspn(p, ";");
        char rule[4096];
        snprintf(rule, sizeof rule, "%.*s", (int)rlen, p);
        p += rlen;
        if (*p == ';')
            p++;
        char *colon = strchr(rule, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *at = strchr(rule, '@');
        int want = 0;
        if (at) {
            *at = '\0';
            want = atoi(at + 1);
        }
        if (strcmp(rule, "ANY") && strcmp(rule, c.nn))
            continue;
        if (want && want != count)
            continue;
        char *a = colon + 1;
        while (*a) {
            size_t alen = strcspn(a, ",");
            char action[2048];
            snprintf(action, sizeof action, "%.*s", (int)alen, a);
            a += alen;
            if (*a == ',')
                a++;
            char *eq = strchr(action, '=');
            if (eq)
                *eq = '\0';
            do_action(&c, action, eq ? eq + 1 : "");
        }
    }
    /* like real filters (mod_jk, WebKnight): set the error just before returning it */
    if (c.ret == SF_STATUS_REQ_ERROR)
        SetLastError(c.err);
    return c.ret;
}
