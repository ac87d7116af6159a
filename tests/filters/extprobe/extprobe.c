/*
 * extprobe.c - a test ISAPI extension that is also a filter, in one DLL.
 *
 * The extension answers by its query string (lpszQueryString, up to the first '&'), each
 * answer a text/plain body with Content-Length unless the case is about framing:
 *   ecb          every control block member and the extension-only server variables
 *   echo         the whole body (lpbData, then ReadClient until it is all read): its
 *                length and FNV-1a 64 hash
 *   nolen        old SEND_RESPONSE_HEADER without Content-Length (the server must close)
 *   keepfalse    SEND_RESPONSE_HEADER_EX with Content-Length and fKeepConn FALSE
 *   lie          "Connection: keep-alive" without Content-Length
 *   short        Content-Length: 100, 10 bytes written
 *   raw          a whole response written with WriteClient, no header call
 *   error, error_after, empty, crash, twice, redirect, sendurl, custom, vector, cert,
 *   token, unhealthy, log, keepconn, map=<url>, mapex=<url>, normalize=<url>,
 *   ssf=<code>, wait (ReadClient until the client goes away)
 *   headers=<n>  SEND_RESPONSE_HEADER_EX with the header text number n of header_texts
 *                (own Date and Server, LF-only lines, white space, repeated Connection,
 *                no framing, chunked, many lines, a long Connection value...), then its
 *                body; &nokeep: fKeepConn FALSE. For comparing the server's two ways of
 *                writing an extension's header block.
 *   headfirst    the header block (Content-Length: 8) first, then ReadClient until the
 *                whole body is read, then "read ok\n" (or "read no\n")
 *   pending=before / pending=after  HSE_STATUS_PENDING, another thread answers and calls
 *                DONE_WITH_SESSION before HttpExtensionProc returned / after it returned
 *   hold=<n>     HSE_STATUS_PENDING; a thread waits for the file "<DLL path>.release",
 *                then writes "held <n> sync" synchronously and "held <n> async" with
 *                HSE_IO_ASYNC, whose completion calls DONE_WITH_SESSION
 *   transmit=<url>  HSE_REQ_TRANSMIT_FILE of the file the URL maps to, with the options
 *                &hdr (HSE_IO_SEND_HEADERS), &async (HSE_IO_ASYNC; &own: the callback in
 *                HSE_TF_INFO, else HSE_REQ_IO_COMPLETION's), &disc
 *                (HSE_IO_DISCONNECT_AFTER_SEND), &head, &tail, &off=<n>, &len=<n>
 *   vectorfile=<url>  HSE_REQ_VECTOR_SEND with memory and file-handle elements (&off, &len,
 *                &async)
 *   exec[=<url>] HSE_REQ_EXEC_URL of <url> ('~' in it stands for '&'; none: NULL, the
 *                request's own), HSE_STATUS_PENDING; the completion reports
 *                GET_EXEC_URL_STATUS to the log ("exec <tag>: ...") and ends the session.
 *                Options: &tag=<word>, &method=<m>, &hdr (a replacement header block),
 *                &entity=<text>, &noheaders (the parent's own header block first, then
 *                the child with HSE_EXEC_URL_NO_HEADERS), &ignore
 *                (IGNORE_CURRENT_INTERCEPTOR), &novalidate (IGNORE_VALIDATION_AND_RANGE),
 *                &nocustom (DISABLE_CUSTOM_ERROR), &cacheok (HTTP_CACHE_ELIGIBLE), &ssicmd
 *                (SSI_CMD), &unicode (HSE_REQ_EXEC_UNICODE_URL), &deep
 *                (the child is /d<n+1>.probe?exec&deep, to the nesting limit), &thread
 *                (the call comes from a thread of its own, after the return), &noreturn
 *                (the extension answers itself and returns HSE_STATUS_SUCCESS), &busy (a
 *                thread calls into the parent while the child runs, once the test created
 *                "<DLL path>.busy"); refusals:
 *                &null (no buffer), &nocb (no callback), &twice, &sent (after a header
 *                block), &user (pUserInfo). A refused call answers "exec failed err=<n>".
 *   asyncread    HSE_STATUS_PENDING; the body in HSE_REQ_ASYNC_READ_CLIENT reads of 5000
 *                bytes, each started from the previous one's completion (&thread: from a
 *                thread of the extension), then its length and hash; &tell logs
 *                "asyncread total <n>" at each completion, and the last one logs
 *                "asyncread ended, error <code>"; &nopending returns HSE_STATUS_SUCCESS
 *                after starting the first read
 *   stream=<n>   HSE_STATUS_PENDING; n bytes (byte i is i % 251) in asynchronous
 *                WriteClient chunks of &chunk=<n> (64 KiB), each started from the previous
 *                one's completion, or with &thread from a thread of the extension that waits
 *                for each completion; a failed write ends the session with HSE_STATUS_ERROR
 *                and the log line "stream failed after <bytes>, error <code>"
 * The filter half (SF_NOTIFY_PREPROC_HEADERS) adds "X-Filter-Module: <module handle>" and
 * "X-Set-By-Filter: yes" to every request; the extension compares the handle with its
 * own: one module for both roles. DllMain counts its PROCESS_ATTACH calls. Life-cycle
 * calls are reported in "<DLL path>.log" beside the DLL.
 */
#include <windows.h>
#include <httpext.h>
#include <httpfilt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static HINSTANCE g_module;
static LONG g_attach;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        g_module = inst;
        InterlockedIncrement(&g_attach);
    }
    return TRUE;
}

/* Appends one line to "<this DLL's path>.log": the tests read it (OutputDebugStringA
 * reaches the server's log natively only). */
static void say_text(const char *line)
{
    char path[MAX_PATH + 8];
    DWORD n = GetModuleFileNameA(g_module, path, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return;
    lstrcatA(path, ".log");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static void say(const char *fmt, DWORD a)
{
    char line[200];
    _snprintf(line, sizeof line - 1, fmt, (unsigned long)a);
    line[sizeof line - 1] = '\0';
    say_text(line);
}

/* ---- filter half ---------------------------------------------------------------------- */

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *v)
{
    v->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(v->lpszFilterDesc, "extprobe filter half", SF_MAX_FILTER_DESC_LEN);
    v->dwFlags = SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_NONSECURE_PORT
                 | SF_NOTIFY_SECURE_PORT;
    say("extprobe: GetFilterVersion, attach count %lu", (DWORD)g_attach);
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *fc, DWORD type, LPVOID pv)
{
    if (type == SF_NOTIFY_PREPROC_HEADERS) {
        HTTP_FILTER_PREPROC_HEADERS *p = pv;
        char mod[40];
        _snprintf(mod, sizeof mod - 1, "%p", (void *)g_module);
        mod[sizeof mod - 1] = '\0';
        p->SetHeader(fc, "X-Filter-Module:", mod);
        p->SetHeader(fc, "X-Set-By-Filter:", "yes");
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD flags)
{
    say("extprobe: TerminateFilter %lu", flags);
    return TRUE;
}

/* ---- extension half ------------------------------------------------------------------- */

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *v)
{
    v->dwExtensionVersion = HSE_VERSION;
    lstrcpynA(v->lpszExtensionDesc, "extprobe extension", HSE_MAX_EXT_DLL_NAME_LEN);
    say("extprobe: GetExtensionVersion, attach count %lu", (DWORD)g_attach);
    return TRUE;
}

BOOL WINAPI TerminateExtension(DWORD flags)
{
    say("extprobe: TerminateExtension %lu", flags);
    return TRUE;
}

typedef struct out {
    char text[16384];
    size_t len;
} out;

static void add(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = _vsnprintf(o->text + o->len, sizeof o->text - o->len - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
    o->text[o->len] = '\0';
}

static void var(EXTENSION_CONTROL_BLOCK *ecb, out *o, const char *name)
{
    char buf[2048];
    DWORD size = sizeof buf;
    if (ecb->GetServerVariable(ecb->ConnID, (LPSTR)name, buf, &size))
        add(o, "%s=%s\n", name, buf);
    else
        add(o, "%s=<error %lu>\n", name, (unsigned long)GetLastError());
}

static BOOL respond(EXTENSION_CONTROL_BLOCK *ecb, const char *status, const char *body,
                    size_t len, BOOL keep)
{
    char hdr[256];
    _snprintf(hdr, sizeof hdr - 1, "Content-Type: text/plain\r\nContent-Length: %lu\r\n\r\n",
              (unsigned long)len);
    hdr[sizeof hdr - 1] = '\0';
    HSE_SEND_HEADER_EX_INFO hi = { status, hdr, (DWORD)lstrlenA(status), (DWORD)lstrlenA(hdr),
                                   keep };
    if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL,
                                    NULL))
        return FALSE;
    DWORD n = (DWORD)len;
    return len == 0 || ecb->WriteClient(ecb->ConnID, (LPVOID)body, &n, HSE_IO_SYNC);
}

static BOOL respond_out(EXTENSION_CONTROL_BLOCK *ecb, out *o)
{
    return respond(ecb, "200 OK", o->text, o->len, TRUE);
}

static unsigned long long fnv(unsigned long long h, const unsigned char *p, DWORD n)
{
    for (DWORD i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int is(const char *q, const char *word)
{
    size_t n = strlen(word);
    return strncmp(q, word, n) == 0 && (q[n] == '\0' || q[n] == '&' || q[n] == '=');
}

static const char *arg(const char *q)
{
    const char *eq = strchr(q, '=');
    return eq ? eq + 1 : "";
}

static out g_big;   /* only ecb uses it, one request at a time in the tests */

/* The header texts of "headers=<n>", each with the body that fits its framing. */
#define MANY_LINES_10 "X-L: 1\r\nX-L: 2\r\nX-L: 3\r\nX-L: 4\r\nX-L: 5\r\n" \
                      "X-L: 6\r\nX-L: 7\r\nX-L: 8\r\nX-L: 9\r\nX-L: 10\r\n"
static const struct { const char *text, *body; } header_texts[] = {
    { "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n", "ok" },
    { "content-length:2\nX-Spaced:   a  b \t\n\n", "ok" },
    { "Content-Length: 2\r\nConnection: keep-alive\r\nX-B: 1\r\nConnection: Keep-Alive\r\n\r\n",
      "ok" },
    { "Date: Mon, 01 Jan 2001 00:00:00 GMT\r\nServer: Own/1.0\r\nContent-Length: 2\r\n\r\n",
      "ok" },
    { "sErVeR: lower\r\nContent-Length: 2\r\n\r\n", "ok" },
    { "X-No-Framing: 1\r\n\r\n", "unframed" },
    { "Transfer-Encoding: chunked\r\n\r\n", "2\r\nok\r\n0\r\n\r\n" },
    { "Connection: close\r\nContent-Length: 2\r\n\r\n", "ok" },
    { "Connection: Close\r\nContent-Length: 2\r\n\r\n", "ok" },
    { "Content-Length: 2\r\n", "ok" },
    { "Content-Length: 2", "ok" },
    { "Content-Length: 2\r\n\r\nok", "" },
    { "", "" },
    { "Content-Length: 2\r\n" MANY_LINES_10 MANY_LINES_10 MANY_LINES_10 MANY_LINES_10 "\r\n",
      "ok" },
    { "Content-Length: 2\r\nConnection: x-one, x-two, x-three, x-four, x-five, x-six, x-seven, "
      "x-eight, keep-alive\r\n\r\n", "ok" },
    { "Content-Length:  00002 \r\nX-Empty:\r\n\r\n", "ok" },
};

/* ---- asynchronous cases ------------------------------------------------------------------ */

/* pending: another thread answers and ends the session, in one of two orders.
 * "before": the thread calls DONE_WITH_SESSION and then sets `answered`, which
 * HttpExtensionProc waits for before it returns HSE_STATUS_PENDING: the end of the session
 * comes first, for certain. "after": the thread waits for `returned`, which the completion
 * of an asynchronous WriteClient started in HttpExtensionProc sets. The server delivers
 * completions on the request's own thread, which is busy in HttpExtensionProc until it
 * returned: the session ends after the return, for certain. */
typedef struct pending_state {
    EXTENSION_CONTROL_BLOCK *ecb;
    HANDLE answered, returned;
    int after;
} pending_state;

static DWORD WINAPI pending_thread(LPVOID p)
{
    pending_state *ps = p;
    EXTENSION_CONTROL_BLOCK *ecb = ps->ecb;
    if (ps->after && WaitForSingleObject(ps->returned, 30000) != WAIT_OBJECT_0)
        say("extprobe: pending after: no completion came", 0);
    static const char body[] = "answered from another thread\n";
    DWORD n = sizeof body - 1;
    BOOL ok = ecb->WriteClient(ecb->ConnID, (LPVOID)body, &n, HSE_IO_SYNC);
    DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
    say(ps->after ? "extprobe: pending after: session done, write %lu"
                  : "extprobe: pending before: session done, write %lu", (DWORD)ok);
    if (ps->after) {
        CloseHandle(ps->returned);
        CloseHandle(ps->answered);
        free(ps);
    } else {
        SetEvent(ps->answered);   /* HttpExtensionProc frees the state */
    }
    return 0;
}

static void WINAPI pending_returned(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    pending_state *ps = ctx;
    (void)ecb;
    (void)cb;
    (void)err;
    SetEvent(ps->returned);
}

/* The whole "pending" case; returns what HttpExtensionProc returns. */
static DWORD pending_case(EXTENSION_CONTROL_BLOCK *ecb, int after)
{
    pending_state *ps = calloc(1, sizeof *ps);
    if (!ps)
        return HSE_STATUS_ERROR;
    ps->ecb = ecb;
    ps->after = after;
    ps->answered = CreateEventA(NULL, TRUE, FALSE, NULL);
    ps->returned = CreateEventA(NULL, TRUE, FALSE, NULL);
    /* the header block first, on this thread: the thread writes only the body */
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Content-Type: text/plain\r\nContent-Length: 29\r\n\r\n",
                                   6, 48, TRUE };
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
    if (after) {
        DWORD n = 0;
        ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)pending_returned,
                                   NULL, (LPDWORD)ps);
        if (!ecb->WriteClient(ecb->ConnID, "", &n, HSE_IO_ASYNC))
            return HSE_STATUS_ERROR;
    }
    HANDLE t = CreateThread(NULL, 0, pending_thread, ps, 0, NULL);
    if (!t)
        return HSE_STATUS_ERROR;
    CloseHandle(t);
    if (!after) {
        if (WaitForSingleObject(ps->answered, 30000) != WAIT_OBJECT_0)
            say("extprobe: pending before: the thread did not answer", 0);
        say("extprobe: pending before: returning HSE_STATUS_PENDING", 0);
        CloseHandle(ps->answered);
        CloseHandle(ps->returned);
        free(ps);
    }
    return HSE_STATUS_PENDING;
}

/* hold: many pending requests at once, each released by the test (a file it creates). */
typedef struct hold_state {
    EXTENSION_CONTROL_BLOCK *ecb;
    char sync_part[40], async_part[40];
} hold_state;

static void WINAPI hold_written(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    hold_state *hs = ctx;
    DWORD status = cb == (DWORD)strlen(hs->async_part) && err == 0
                   ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
    free(hs);
}

static DWORD WINAPI hold_thread(LPVOID p)
{
    hold_state *hs = p;
    EXTENSION_CONTROL_BLOCK *ecb = hs->ecb;
    char path[MAX_PATH + 16];
    DWORD len = GetModuleFileNameA(g_module, path, MAX_PATH);
    if (len > 0 && len < MAX_PATH) {
        lstrcatA(path, ".release");
        for (int i = 0; i < 6000; i++) {   /* at most a minute */
            FILE *f = fopen(path, "r");
            if (f) {
                fclose(f);
                break;
            }
            Sleep(10);
        }
    }
    DWORD n = (DWORD)strlen(hs->sync_part);
    BOOL ok = ecb->WriteClient(ecb->ConnID, hs->sync_part, &n, HSE_IO_SYNC);
    n = (DWORD)strlen(hs->async_part);
    if (!ok || !ecb->WriteClient(ecb->ConnID, hs->async_part, &n, HSE_IO_ASYNC)) {
        DWORD status = HSE_STATUS_ERROR;
        ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
        free(hs);
    }
    return 0;
}

static DWORD hold_case(EXTENSION_CONTROL_BLOCK *ecb, const char *which)
{
    hold_state *hs = calloc(1, sizeof *hs);
    if (!hs)
        return HSE_STATUS_ERROR;
    hs->ecb = ecb;
    _snprintf(hs->sync_part, sizeof hs->sync_part - 1, "held %.8s sync\n", which);
    _snprintf(hs->async_part, sizeof hs->async_part - 1, "held %.8s async\n", which);
    char head[100];
    _snprintf(head, sizeof head - 1, "Content-Type: text/plain\r\nContent-Length: %lu\r\n\r\n",
              (unsigned long)(strlen(hs->sync_part) + strlen(hs->async_part)));
    head[sizeof head - 1] = '\0';
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", head, 6, (DWORD)strlen(head), TRUE };
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)hold_written, NULL,
                               (LPDWORD)hs);
    HANDLE t = CreateThread(NULL, 0, hold_thread, hs, 0, NULL);
    if (!t) {
        free(hs);
        return HSE_STATUS_ERROR;
    }
    CloseHandle(t);
    say("extprobe: hold %lu: returning HSE_STATUS_PENDING", (DWORD)atoi(which));
    return HSE_STATUS_PENDING;
}

/* ---- files: TRANSMIT_FILE and VECTOR_SEND file elements --------------------------------- */

/* The value of "&name=value" in the query (after its first word), or "" for "&name"
 * alone; NULL when absent. */
static const char *opt(const char *q, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(q, '&'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, n) == 0 && (p[1 + n] == '\0' || p[1 + n] == '&'))
            return "";
        if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '=')
            return p + 2 + n;
    }
    return NULL;
}

static DWORD opt_num(const char *q, const char *name)
{
    const char *v = opt(q, name);
    return v ? (DWORD)strtoul(v, NULL, 10) : 0;
}

/* Opens the file the first word's URL maps to, the way IIS asks for TransmitFile. */
static HANDLE open_mapped(EXTENSION_CONTROL_BLOCK *ecb, const char *q)
{
    char path[MAX_PATH];
    const char *url = arg(q);
    size_t n = strcspn(url, "&");
    if (n >= sizeof path)
        return INVALID_HANDLE_VALUE;
    memcpy(path, url, n);
    path[n] = '\0';
    DWORD size = sizeof path;
    if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_MAP_URL_TO_PATH, path, &size, NULL))
        return INVALID_HANDLE_VALUE;
    return CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                       FILE_FLAG_SEQUENTIAL_SCAN | FILE_FLAG_OVERLAPPED, NULL);
}

/* How many bytes of the file a slice (offset, count; 0 = to the end) holds. */
static DWORD slice_len(HANDLE f, DWORD off, DWORD count)
{
    LARGE_INTEGER size;
    if (!GetFileSizeEx(f, &size) || (LONGLONG)off > size.QuadPart)
        return 0;
    DWORD left = (DWORD)(size.QuadPart - off);
    return count && count < left ? count : left;
}

static void WINAPI file_sent(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    HANDLE f = ctx;
    say("extprobe: file send completed, %lu bytes", cb);
    say("extprobe: file send completed, error %lu", err);
    CloseHandle(f);
    DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

static DWORD file_failed(EXTENSION_CONTROL_BLOCK *ecb, HANDLE f, DWORD err)
{
    out o;
    o.len = 0;
    add(&o, "failed=%lu\n", (unsigned long)err);
    if (f != INVALID_HANDLE_VALUE)
        CloseHandle(f);
    return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
}

static DWORD transmit_case(EXTENSION_CONTROL_BLOCK *ecb, const char *q)
{
    static const char head[] = "<head>", tail[] = "<tail>\n";
    HANDLE f = open_mapped(ecb, q);
    if (f == INVALID_HANDLE_VALUE)
        return file_failed(ecb, f, GetLastError());
    DWORD off = opt_num(q, "off"), len = opt_num(q, "len");
    int with_head = opt(q, "head") != NULL, with_tail = opt(q, "tail") != NULL;
    int async = opt(q, "async") != NULL;
    DWORD body = slice_len(f, off, len) + (with_tail ? sizeof tail - 1 : 0);
    char hdr[200];
    HSE_TF_INFO tf;
    memset(&tf, 0, sizeof tf);
    tf.hFile = f;
    tf.Offset = off;
    tf.BytesToWrite = len;
    tf.dwFlags = async ? HSE_IO_ASYNC : HSE_IO_SYNC;
    if (opt(q, "disc"))
        tf.dwFlags |= HSE_IO_DISCONNECT_AFTER_SEND;
    if (opt(q, "hdr")) {
        _snprintf(hdr, sizeof hdr - 1, "Content-Type: application/octet-stream\r\n"
                  "Content-Length: %lu\r\n\r\n", (unsigned long)body);
        hdr[sizeof hdr - 1] = '\0';
        tf.dwFlags |= HSE_IO_SEND_HEADERS;
        tf.pszStatusCode = "200 OK";
        tf.pHead = hdr;
        tf.HeadLength = (DWORD)lstrlenA(hdr);
    } else {
        body += with_head ? sizeof head - 1 : 0;
        _snprintf(hdr, sizeof hdr - 1, "Content-Length: %lu\r\n\r\n", (unsigned long)body);
        hdr[sizeof hdr - 1] = '\0';
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", hdr, 6, (DWORD)lstrlenA(hdr), TRUE };
        if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL,
                                        NULL))
            return HSE_STATUS_ERROR;
        if (with_head) {
            tf.pHead = (PVOID)head;
            tf.HeadLength = sizeof head - 1;
        }
    }
    if (with_tail) {
        tf.pTail = (PVOID)tail;
        tf.TailLength = sizeof tail - 1;
    }
    if (async && opt(q, "own")) {
        tf.pfnHseIO = file_sent;
        tf.pContext = f;
    } else if (async) {
        ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)file_sent, NULL,
                                   (LPDWORD)f);
    }
    if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_TRANSMIT_FILE, &tf, NULL, NULL)) {
        DWORD err = GetLastError();
        say("extprobe: transmit failed %lu", err);
        return file_failed(ecb, f, err);
    }
    if (async)
        return HSE_STATUS_PENDING;
    say("extprobe: transmit returned %lu", 1);
    CloseHandle(f);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

static DWORD vector_file_case(EXTENSION_CONTROL_BLOCK *ecb, const char *q)
{
    HANDLE f = open_mapped(ecb, q);
    if (f == INVALID_HANDLE_VALUE)
        return file_failed(ecb, f, GetLastError());
    DWORD off = opt_num(q, "off"), len = opt_num(q, "len");
    int async = opt(q, "async") != NULL;
    char hdr[200];
    _snprintf(hdr, sizeof hdr - 1, "Content-Type: application/octet-stream\r\n"
              "Content-Length: %lu\r\n\r\n", (unsigned long)(slice_len(f, off, len) + 3));
    hdr[sizeof hdr - 1] = '\0';
    HSE_VECTOR_ELEMENT el[3] = {
        { HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, "[", 0, 1 },
        { HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE, f, off, len },
        { HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, "]\n", 0, 2 },
    };
    HSE_RESPONSE_VECTOR v = { (async ? HSE_IO_ASYNC : HSE_IO_SYNC) | HSE_IO_SEND_HEADERS,
                              "200 OK", hdr, 3, el };
    if (async)
        ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)file_sent, NULL,
                                   (LPDWORD)f);
    if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_VECTOR_SEND, &v, NULL, NULL)) {
        DWORD err = GetLastError();
        say("extprobe: vector send failed %lu", err);
        return file_failed(ecb, f, err);
    }
    if (async)
        return HSE_STATUS_PENDING;
    CloseHandle(f);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

/* stream: the state of one streamed response. */
typedef struct stream_state {
    EXTENSION_CONTROL_BLOCK *ecb;
    DWORD total, sent, chunk;
    DWORD error;
    HANDLE written;             /* &thread: set by each completion */
    char buf[1];                /* chunk bytes */
} stream_state;

static void stream_fill(stream_state *st, DWORD n)
{
    for (DWORD i = 0; i < n; i++)
        st->buf[i] = (char)((st->sent + i) % 251);
}

/* Starts the next chunk; 0 when none is left or the call failed (st->error). */
static int stream_next(stream_state *st)
{
    DWORD n = st->total - st->sent < st->chunk ? st->total - st->sent : st->chunk;
    if (n == 0 || st->error)
        return 0;
    stream_fill(st, n);
    if (!st->ecb->WriteClient(st->ecb->ConnID, st->buf, &n, HSE_IO_ASYNC)) {
        st->error = GetLastError();
        return 0;
    }
    return 1;
}

static void stream_end(stream_state *st)
{
    EXTENSION_CONTROL_BLOCK *ecb = st->ecb;
    DWORD status = st->error ? HSE_STATUS_ERROR : HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    if (st->error) {
        say("extprobe: stream failed after %lu", st->sent);
        say("extprobe: stream failed, error %lu", st->error);
    } else {
        say("extprobe: stream done, %lu bytes", st->sent);
    }
    if (st->written)
        CloseHandle(st->written);
    free(st);
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

static void WINAPI stream_written(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    stream_state *st = ctx;
    (void)ecb;
    if (err)
        st->error = err;
    else
        st->sent += cb;
    if (st->written) {
        SetEvent(st->written);
        return;
    }
    if (!stream_next(st))
        stream_end(st);
}

static DWORD WINAPI stream_thread(LPVOID p)
{
    stream_state *st = p;
    while (stream_next(st)) {
        if (WaitForSingleObject(st->written, 600000) != WAIT_OBJECT_0)
            st->error = WAIT_TIMEOUT;
    }
    stream_end(st);
    return 0;
}

static DWORD stream_case(EXTENSION_CONTROL_BLOCK *ecb, const char *q)
{
    DWORD total = (DWORD)strtoul(arg(q), NULL, 10);
    DWORD chunk = opt_num(q, "chunk") ? opt_num(q, "chunk") : 65536;
    stream_state *st = calloc(1, sizeof *st + chunk);
    if (!st)
        return HSE_STATUS_ERROR;
    st->ecb = ecb;
    st->total = total;
    st->chunk = chunk;
    char head[100];
    _snprintf(head, sizeof head - 1, "Content-Type: application/octet-stream\r\n"
              "Content-Length: %lu\r\n\r\n", (unsigned long)total);
    head[sizeof head - 1] = '\0';
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", head, 6, (DWORD)strlen(head), TRUE };
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)stream_written, NULL,
                               (LPDWORD)st);
    if (opt(q, "thread")) {
        st->written = CreateEventA(NULL, FALSE, FALSE, NULL);
        HANDLE t = st->written ? CreateThread(NULL, 0, stream_thread, st, 0, NULL) : NULL;
        if (!t) {
            if (st->written)
                CloseHandle(st->written);
            free(st);
            return HSE_STATUS_ERROR;
        }
        CloseHandle(t);
        return HSE_STATUS_PENDING;
    }
    if (!stream_next(st)) {
        free(st);
        return HSE_STATUS_ERROR;
    }
    return HSE_STATUS_PENDING;
}

typedef struct async_state {
    DWORD proc_thread;
    int in_initiating_call;
    int reentered;
    int other_thread_or_after;
    unsigned long long total;
    unsigned long long hash;
    unsigned long completions;
    int tell;                   /* &tell: each completion reports the bytes so far */
    EXTENSION_CONTROL_BLOCK *ecb;
    HANDLE next;                /* &thread: a completion hands the next read to the thread */
    volatile LONG over;
    char buf[5000];
} async_state;

static void WINAPI write_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    async_state *st = ctx;
    st->completions++;
    if (st->in_initiating_call)
        st->reentered = 1;
    say("extprobe: async write completed, %lu bytes", cb);
    say("extprobe: async write completed, error %lu", err);
    say("extprobe: async write completed, reentered %lu", (DWORD)st->reentered);
    DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
    free(st);
}

static BOOL start_read(EXTENSION_CONTROL_BLOCK *ecb, async_state *st);

static void WINAPI read_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    async_state *st = ctx;
    st->completions++;
    if (st->in_initiating_call)
        st->reentered = 1;
    if (cb > 0 && err == 0) {
        st->total += cb;
        st->hash = fnv(st->hash, (unsigned char *)st->buf, cb);
        if (st->tell)
            say("extprobe: asyncread total %lu", (DWORD)st->total);
        if (st->next)
            SetEvent(st->next);   /* the thread starts the next read */
        else
            start_read(ecb, st);  /* the next read from the callback: no recursion */
        return;
    }
    say("extprobe: asyncread ended, error %lu", err);
    out o;
    o.len = 0;
    add(&o, "len=%llu\nhash=%016llx\ncompletions=%lu\nreentered=%d\nerr=%lu\n", st->total,
        st->hash, st->completions, st->reentered, (unsigned long)err);
    respond_out(ecb, &o);
    DWORD status = err ? HSE_STATUS_ERROR : HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
    if (st->next) {
        InterlockedExchange(&st->over, 1);
        SetEvent(st->next);   /* the thread frees st */
    } else {
        free(st);
    }
}

static BOOL start_read(EXTENSION_CONTROL_BLOCK *ecb, async_state *st)
{
    DWORD n = sizeof st->buf, type = HSE_IO_ASYNC;
    /* (on the extension's own thread the completion runs elsewhere: nothing to check) */
    if (!st->next)
        st->in_initiating_call = 1;
    BOOL ok = ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_ASYNC_READ_CLIENT, st->buf, &n,
                                         &type);
    if (!st->next)
        st->in_initiating_call = 0;
    if (!ok)
        say("extprobe: ASYNC_READ_CLIENT failed %lu", GetLastError());
    return ok;
}

/* asyncread&thread: every read starts on this thread, after HttpExtensionProc returned,
 * the next one once the previous one's completion ran. */
static DWORD WINAPI read_thread(LPVOID p)
{
    async_state *st = p;
    for (;;) {
        if (!start_read(st->ecb, st)) {
            DWORD status = HSE_STATUS_ERROR;
            st->ecb->ServerSupportFunction(st->ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status,
                                           NULL, NULL);
            break;
        }
        WaitForSingleObject(st->next, INFINITE);
        if (InterlockedCompareExchange(&st->over, 0, 0))
            break;
    }
    CloseHandle(st->next);
    free(st);
    return 0;
}

/* ---- child requests: HSE_REQ_EXEC_URL -------------------------------------------------- */

/* One formatted line into the report (say() takes one number). */
static void say_line(const char *fmt, ...)
{
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    _vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    line[sizeof line - 1] = '\0';
    say_text(line);
}

typedef struct exec_state {
    char tag[32];
} exec_state;

static void WINAPI exec_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    exec_state *st = ctx;
    HSE_EXEC_URL_STATUS es;
    memset(&es, 0x55, sizeof es);
    BOOL ok = ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_GET_EXEC_URL_STATUS, &es, NULL,
                                         NULL);
    say_line("extprobe: exec %s: status=%u sub=%u win32=%lu cb=%lu err=%lu ok=%d", st->tag,
             (unsigned)es.uHttpStatusCode, (unsigned)es.uHttpSubStatus,
             (unsigned long)es.dwWin32Error, (unsigned long)cb, (unsigned long)err, ok);
    free(st);
    DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

/* The text of option `name` up to the next '&', into buf; NULL when absent. */
static char *opt_text(const char *q, const char *name, char *buf, size_t cap)
{
    const char *v = opt(q, name);
    if (!v)
        return NULL;
    size_t n = strcspn(v, "&");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

static DWORD exec_failed(EXTENSION_CONTROL_BLOCK *ecb, exec_state *st, DWORD err)
{
    out o;
    o.len = 0;
    add(&o, "exec failed err=%lu\n", (unsigned long)err);
    say_line("extprobe: exec %s: refused err=%lu", st->tag, (unsigned long)err);
    free(st);
    return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
}

/* &thread: HSE_REQ_EXEC_URL from a thread of the extension's, after HttpExtensionProc
 * returned (the completion of an empty asynchronous write, which the server delivers only
 * after the return, starts the thread). */
typedef struct exec_later {
    EXTENSION_CONTROL_BLOCK *ecb;
    exec_state *st;
    char url[512];
} exec_later;

static DWORD WINAPI exec_thread(LPVOID p)
{
    exec_later *el = p;
    EXTENSION_CONTROL_BLOCK *ecb = el->ecb;
    char tag[sizeof el->st->tag];   /* the completion may free el->st before the call returns */
    lstrcpynA(tag, el->st->tag, sizeof tag);
    HSE_EXEC_URL_INFO info;
    memset(&info, 0, sizeof info);
    info.pszUrl = el->url;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)exec_done, NULL,
                               (LPDWORD)el->st);
    BOOL ok = ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_EXEC_URL, &info, NULL, NULL);
    say_line("extprobe: exec %s: from a thread %d", tag, ok);
    free(el);
    return 0;
}

static void WINAPI exec_kick(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD cb, DWORD err)
{
    (void)ecb;
    (void)cb;
    (void)err;
    HANDLE t = CreateThread(NULL, 0, exec_thread, ctx, 0, NULL);
    if (t)
        CloseHandle(t);
}

/* &busy: once the test created "<DLL path>.busy" (while the child waits for its client),
 * a thread of the extension's calls GetServerVariable and WriteClient on the parent,
 * which the server refuses while the child runs. Without the file in a minute it does
 * nothing (the session may be over). */
typedef struct exec_busy {
    EXTENSION_CONTROL_BLOCK *ecb;
    char tag[32];
} exec_busy;

static DWORD WINAPI busy_thread(LPVOID p)
{
    exec_busy *eb = p;
    EXTENSION_CONTROL_BLOCK *ecb = eb->ecb;
    char path[MAX_PATH + 16];
    DWORD len = GetModuleFileNameA(g_module, path, MAX_PATH);
    int found = 0;
    if (len > 0 && len < MAX_PATH) {
        lstrcatA(path, ".busy");
        for (int i = 0; i < 6000 && !found; i++) {
            FILE *f = fopen(path, "r");
            if (f) {
                fclose(f);
                found = 1;
            } else {
                Sleep(10);
            }
        }
    }
    if (found) {
        char buf[256];
        DWORD size = sizeof buf;
        BOOL gsv = ecb->GetServerVariable(ecb->ConnID, "URL", buf, &size);
        DWORD gsv_err = GetLastError();
        DWORD n = 1;
        BOOL wrote = ecb->WriteClient(ecb->ConnID, "x", &n, HSE_IO_SYNC);
        DWORD write_err = GetLastError();
        say_line("extprobe: exec %s: during the child gsv %d/%lu write %d/%lu", eb->tag, gsv,
                 (unsigned long)gsv_err, wrote, (unsigned long)write_err);
    }
    free(eb);
    return 0;
}

static DWORD exec_case(EXTENSION_CONTROL_BLOCK *ecb, const char *q)
{
    HCONN id = ecb->ConnID;
    exec_state *st = calloc(1, sizeof *st);
    if (!opt_text(q, "tag", st->tag, sizeof st->tag))
        lstrcpynA(st->tag, "-", sizeof st->tag);
    say_line("extprobe: exec %s: started", st->tag);
    char url[512], method[32], entity[256];
    char *child = NULL;
    if (q[4] == '=') {
        size_t n = strcspn(q + 5, "&");
        if (n >= sizeof url)
            n = sizeof url - 1;
        memcpy(url, q + 5, n);
        url[n] = '\0';
        for (char *p = url; *p; p++)
            if (*p == '~')
                *p = '&';
        child = url;
    }
    if (opt(q, "deep")) {
        char script[64];
        DWORD size = sizeof script;
        int depth = 0;
        if (ecb->GetServerVariable(id, "SCRIPT_NAME", script, &size) && script[1] == 'd')
            depth = atoi(script + 2);
        _snprintf(url, sizeof url - 1, "/d%d.probe?exec&deep&tag=deep%d", depth + 1, depth + 1);
        url[sizeof url - 1] = '\0';
        child = url;
    }
    HSE_EXEC_URL_ENTITY_INFO ent;
    HSE_EXEC_URL_USER_INFO user = { NULL, "someone", "Basic" };
    HSE_EXEC_URL_INFO info;
    memset(&info, 0, sizeof info);
    info.pszUrl = child;
    info.pszMethod = opt_text(q, "method", method, sizeof method);
    if (opt(q, "hdr"))
        info.pszChildHeaders = "Content-Type: text/x-child\nX-Set-By-Filter: child\n";
    if (opt_text(q, "entity", entity, sizeof entity)) {
        ent.cbAvailable = (DWORD)strlen(entity);
        ent.lpbData = entity;
        info.pEntity = &ent;
    }
    if (opt(q, "user"))
        info.pUserInfo = &user;
    if (opt(q, "thread") && child) {
        exec_later *el = calloc(1, sizeof *el);
        el->ecb = ecb;
        el->st = st;
        lstrcpynA(el->url, child, sizeof el->url);
        ecb->ServerSupportFunction(id, HSE_REQ_IO_COMPLETION, (LPVOID)exec_kick, NULL,
                                   (LPDWORD)el);
        DWORD none = 0;
        return ecb->WriteClient(id, "", &none, HSE_IO_ASYNC) ? HSE_STATUS_PENDING
                                                             : HSE_STATUS_ERROR;
    }
    if (opt(q, "ignore"))
        info.dwExecUrlFlags |= HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR;
    if (opt(q, "novalidate"))
        info.dwExecUrlFlags |= HSE_EXEC_URL_IGNORE_VALIDATION_AND_RANGE;
    if (opt(q, "nocustom"))
        info.dwExecUrlFlags |= HSE_EXEC_URL_DISABLE_CUSTOM_ERROR;
    if (opt(q, "cacheok"))
        info.dwExecUrlFlags |= HSE_EXEC_URL_HTTP_CACHE_ELIGIBLE;
    if (opt(q, "ssicmd"))
        info.dwExecUrlFlags |= HSE_EXEC_URL_SSI_CMD;
    if (!opt(q, "nocb"))
        ecb->ServerSupportFunction(id, HSE_REQ_IO_COMPLETION, (LPVOID)exec_done, NULL,
                                   (LPDWORD)st);
    if (opt(q, "noheaders")) {
        info.dwExecUrlFlags |= HSE_EXEC_URL_NO_HEADERS;
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Content-Type: text/plain\r\n\r\n", 6, 28,
                                       FALSE };
        ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
    }
    if (opt(q, "sent")) {
        HSE_EXEC_URL_STATUS es;
        BOOL early = ecb->ServerSupportFunction(id, HSE_REQ_GET_EXEC_URL_STATUS, &es, NULL,
                                                NULL);
        say_line("extprobe: exec %s: status before any child %d err=%lu", st->tag, early,
                 (unsigned long)GetLastError());
        respond(ecb, "200 OK", "sent first\n", 11, TRUE);
    }
    BOOL ok;
    if (opt(q, "unicode")) {
        WCHAR wurl[512];
        HSE_EXEC_UNICODE_URL_INFO ui;
        memset(&ui, 0, sizeof ui);
        if (child) {
            MultiByteToWideChar(CP_UTF8, 0, child, -1, wurl, 512);
            ui.pszUrl = wurl;
        }
        ui.pszMethod = info.pszMethod;
        ui.pszChildHeaders = info.pszChildHeaders;
        ui.pEntity = info.pEntity;
        ui.dwExecUrlFlags = info.dwExecUrlFlags;
        ok = ecb->ServerSupportFunction(id, HSE_REQ_EXEC_UNICODE_URL, &ui, NULL, NULL);
    } else {
        ok = ecb->ServerSupportFunction(id, HSE_REQ_EXEC_URL, opt(q, "null") ? NULL : &info,
                                        NULL, NULL);
    }
    if (!ok) {
        DWORD err = GetLastError();
        if (opt(q, "sent")) {
            say_line("extprobe: exec %s: refused err=%lu", st->tag, (unsigned long)err);
            free(st);
            return HSE_STATUS_SUCCESS;
        }
        return exec_failed(ecb, st, err);
    }
    if (opt(q, "busy")) {
        exec_busy *eb = calloc(1, sizeof *eb);
        eb->ecb = ecb;
        lstrcpynA(eb->tag, st->tag, sizeof eb->tag);
        HANDLE t = CreateThread(NULL, 0, busy_thread, eb, 0, NULL);
        if (t)
            CloseHandle(t);
    }
    if (opt(q, "noreturn")) {
        respond(ecb, "200 OK", "no pending\n", 11, TRUE);
        return HSE_STATUS_SUCCESS;
    }
    if (opt(q, "twice")) {
        BOOL again = ecb->ServerSupportFunction(id, HSE_REQ_EXEC_URL, &info, NULL, NULL);
        say_line("extprobe: exec %s: second call %d err=%lu", st->tag, again,
                 (unsigned long)GetLastError());
    }
    return HSE_STATUS_PENDING;
}

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
    const char *q = ecb->lpszQueryString;
    HCONN id = ecb->ConnID;
    out o;
    o.len = 0;
    o.text[0] = '\0';
    if (is(q, "ecb")) {
        out *b = &g_big;
        b->len = 0;
        add(b, "cbSize=%lu\ndwVersion=0x%08lx\nConnID=%s\ndwHttpStatusCode=%lu\n",
            (unsigned long)ecb->cbSize, (unsigned long)ecb->dwVersion,
            ecb->ConnID ? "set" : "NULL", (unsigned long)ecb->dwHttpStatusCode);
        add(b, "lpszLogData=[%s]\nlpszMethod=%s\nlpszQueryString=%s\nlpszPathInfo=%s\n"
               "lpszPathTranslated=%s\ncbTotalBytes=%lu\ncbAvailable=%lu\nlpszContentType=%s\n",
            ecb->lpszLogData, ecb->lpszMethod, ecb->lpszQueryString, ecb->lpszPathInfo,
            ecb->lpszPathTranslated, (unsigned long)ecb->cbTotalBytes,
            (unsigned long)ecb->cbAvailable, ecb->lpszContentType);
        add(b, "lpbData=%.*s\nlpbData_nul=%d\n",
            (int)(ecb->cbAvailable > 200 ? 200 : ecb->cbAvailable), (const char *)ecb->lpbData,
            ecb->lpbData && ecb->lpbData[ecb->cbAvailable] == 0);
        static const char *const names[] = {
            "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED", "SCRIPT_TRANSLATED", "URL",
            "APPL_MD_PATH", "APPL_PHYSICAL_PATH", "QUERY_STRING", "REQUEST_METHOD",
            "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_X_SET_BY_FILTER", "HTTP_X_FILTER_MODULE",
            "SERVER_PROTOCOL", "NO_SUCH_VARIABLE", "HTTP_NO_SUCH_HEADER", "HTTP_RANGE",
            "HTTP_IF_MODIFIED_SINCE",
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            var(ecb, b, names[i]);
        char own[40];
        _snprintf(own, sizeof own - 1, "%p", (void *)g_module);
        own[sizeof own - 1] = '\0';
        add(b, "own_module=%s\nattach_count=%ld\n", own, (long)g_attach);
        DWORD small = 2;
        char tiny[2];
        BOOL ok = ecb->GetServerVariable(id, "SCRIPT_NAME", tiny, &small);
        add(b, "small_buffer=%d/%lu/%lu\n", ok, (unsigned long)GetLastError(),
            (unsigned long)small);
        return respond(ecb, "200 OK", b->text, b->len, TRUE) ? HSE_STATUS_SUCCESS
                                                             : HSE_STATUS_ERROR;
    }
    if (is(q, "echo")) {
        unsigned long long h = 0xcbf29ce484222325ULL;
        unsigned long long total = ecb->cbAvailable;
        h = fnv(h, ecb->lpbData, ecb->cbAvailable);
        char buf[7000];
        unsigned long reads = 0;
        for (;;) {
            if (ecb->cbTotalBytes != 0xffffffffu && total >= ecb->cbTotalBytes)
                break;
            DWORD n = sizeof buf;
            if (!ecb->ReadClient(id, buf, &n)) {
                add(&o, "readclient_failed=%lu\n", (unsigned long)GetLastError());
                break;
            }
            if (n == 0)
                break;
            reads++;
            total += n;
            h = fnv(h, (unsigned char *)buf, n);
        }
        DWORD n = sizeof buf;
        BOOL after = ecb->ReadClient(id, buf, &n);
        add(&o, "len=%llu\nhash=%016llx\ntotal=%lu\navailable=%lu\nreads=%lu\nafter=%d/%lu\n",
            total, h, (unsigned long)ecb->cbTotalBytes, (unsigned long)ecb->cbAvailable, reads,
            after, (unsigned long)n);
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
    }
    if (is(q, "headfirst")) {
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Content-Type: text/plain\r\n"
                                       "Content-Length: 8\r\n\r\n", 6, 47, TRUE };
        if (!ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
            return HSE_STATUS_ERROR;
        char buf[256];
        unsigned long total = ecb->cbAvailable;
        DWORD n = sizeof buf;
        while (total < ecb->cbTotalBytes && ecb->ReadClient(id, buf, &n) && n > 0) {
            total += n;
            n = sizeof buf;
        }
        n = 8;
        BOOL ok = ecb->WriteClient(id, total == ecb->cbTotalBytes ? "read ok\n" : "read no\n",
                                   &n, HSE_IO_SYNC);
        return ok ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
    }
    if (is(q, "wait")) {
        char buf[4096];
        DWORD n = sizeof buf;
        BOOL ok;
        unsigned long total = ecb->cbAvailable;
        while ((ok = ecb->ReadClient(id, buf, &n)) && n > 0) {
            total += n;
            n = sizeof buf;
        }
        DWORD err = GetLastError();
        say("extprobe: wait ended, ReadClient %lu", (DWORD)ok);
        BOOL connected = TRUE;
        ecb->ServerSupportFunction(id, HSE_REQ_IS_CONNECTED, &connected, NULL, NULL);
        say("extprobe: wait ended, connected %lu", (DWORD)connected);
        add(&o, "ok=%d err=%lu total=%lu\n", ok, (unsigned long)err, total);
        respond_out(ecb, &o);
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "pending"))
        return pending_case(ecb, strncmp(arg(q), "after", 5) == 0);
    if (is(q, "hold"))
        return hold_case(ecb, arg(q));
    if (is(q, "transmit"))
        return transmit_case(ecb, q);
    if (is(q, "stream"))
        return stream_case(ecb, q);
    if (is(q, "vectorfile"))
        return vector_file_case(ecb, q);
    if (is(q, "exec"))
        return exec_case(ecb, q);
    if (is(q, "asyncwrite")) {
        async_state *st = calloc(1, sizeof *st);
        BOOL nocb_write;
        DWORD n = 5;
        nocb_write = ecb->WriteClient(id, "early", &n, HSE_IO_ASYNC);
        say("extprobe: async write without a callback %lu", (DWORD)nocb_write);
        ecb->ServerSupportFunction(id, HSE_REQ_IO_COMPLETION, (LPVOID)write_done, NULL,
                                   (LPDWORD)st);
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Content-Length: 12\r\n\r\n", 6, 22, TRUE };
        ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
        n = 12;
        st->in_initiating_call = 1;
        BOOL ok = ecb->WriteClient(id, "async body\r\n", &n, HSE_IO_ASYNC);
        n = 3;
        BOOL second = ecb->WriteClient(id, "two", &n, HSE_IO_ASYNC);
        st->in_initiating_call = 0;
        say("extprobe: second async write while one is outstanding %lu", (DWORD)second);
        return ok ? HSE_STATUS_PENDING : HSE_STATUS_ERROR;
    }
    if (is(q, "asyncread")) {
        async_state *st = calloc(1, sizeof *st);
        st->hash = fnv(0xcbf29ce484222325ULL, ecb->lpbData, ecb->cbAvailable);
        st->total = ecb->cbAvailable;
        st->tell = opt(q, "tell") != NULL;
        st->ecb = ecb;
        ecb->ServerSupportFunction(id, HSE_REQ_IO_COMPLETION, (LPVOID)read_done, NULL,
                                   (LPDWORD)st);
        if (opt(q, "thread")) {
            st->next = CreateEventA(NULL, FALSE, FALSE, NULL);
            HANDLE t = CreateThread(NULL, 0, read_thread, st, 0, NULL);
            if (!t)
                return HSE_STATUS_ERROR;
            CloseHandle(t);
            return HSE_STATUS_PENDING;
        }
        start_read(ecb, st);
        /* &nopending: the request ends with the return, the read still waiting */
        return opt(q, "nopending") ? HSE_STATUS_SUCCESS : HSE_STATUS_PENDING;
    }
    if (is(q, "nolen")) {
        ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER, "200 OK", NULL,
                                   (LPDWORD)"Content-Type: text/plain\r\n\r\n");
        DWORD n = 11;
        ecb->WriteClient(id, "no length\r\n", &n, 0);
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    }
    if (is(q, "headers")) {
        unsigned i = (unsigned)atoi(arg(q));
        if (i >= sizeof header_texts / sizeof header_texts[0])
            return HSE_STATUS_ERROR;
        const char *text = header_texts[i].text;
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", text, 6, (DWORD)strlen(text),
                                       !strstr(q, "&nokeep") };
        if (!ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
            return HSE_STATUS_ERROR;
        DWORD n = (DWORD)strlen(header_texts[i].body);
        if (n)
            ecb->WriteClient(id, (LPVOID)header_texts[i].body, &n, 0);
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    }
    if (is(q, "keepfalse")) {
        respond(ecb, "200 OK", "framed\n", 7, FALSE);
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "lie")) {
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Connection: keep-alive\r\n\r\n", 6, 26, TRUE };
        ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
        DWORD n = 5;
        ecb->WriteClient(id, "lied\n", &n, 0);
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    }
    if (is(q, "short")) {
        HSE_SEND_HEADER_EX_INFO hi = { "200 OK", "Content-Length: 100\r\n\r\n", 6, 23, TRUE };
        ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
        DWORD n = 10;
        ecb->WriteClient(id, "0123456789", &n, 0);
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    }
    if (is(q, "raw")) {
        static const char r[] = "HTTP/1.1 203 Raw\r\nContent-Length: 4\r\n\r\nraw\n";
        DWORD n = sizeof r - 1;
        ecb->WriteClient(id, (LPVOID)r, &n, 0);
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "error")) {
        SetLastError(ERROR_ACCESS_DENIED);
        return HSE_STATUS_ERROR;
    }
    if (is(q, "error_after")) {
        respond(ecb, "200 OK", "partial\n", 8, TRUE);
        SetLastError(ERROR_INVALID_DATA);
        return HSE_STATUS_ERROR;
    }
    if (is(q, "empty")) {
        ecb->dwHttpStatusCode = 202;
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "crash")) {
        volatile int *p = NULL;
        *p = 1;
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "twice")) {
        respond(ecb, "200 OK", "one\n", 4, TRUE);
        BOOL again = ecb->ServerSupportFunction(id, HSE_REQ_SEND_RESPONSE_HEADER, "200 OK",
                                                NULL, NULL);
        DWORD err = GetLastError();
        say("extprobe: second header %lu", (DWORD)again);
        say("extprobe: second header error %lu", err);
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "redirect") || is(q, "sendurl")) {
        char url[] = "/target?x=1";
        DWORD n = sizeof url - 1;
        ecb->ServerSupportFunction(id, is(q, "redirect") ? HSE_REQ_SEND_URL_REDIRECT_RESP
                                                         : HSE_REQ_SEND_URL, url, &n, NULL);
        return HSE_STATUS_SUCCESS;
    }
    if (is(q, "custom")) {
        HSE_CUSTOM_ERROR_INFO ci = { "404 Not Found", 0, FALSE };
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_SEND_CUSTOM_ERROR, &ci, NULL, NULL);
        return ok ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "vector")) {
        HSE_VECTOR_ELEMENT el[2] = {
            { HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, "first,", 0, 6 },
            { HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, "xxsecond\n", 2, 7 },
        };
        HSE_RESPONSE_VECTOR v = { HSE_IO_SYNC | HSE_IO_SEND_HEADERS, "200 OK",
                                  "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n", 2, el };
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_VECTOR_SEND, &v, NULL, NULL);
        return ok ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "cert")) {
        struct { DWORD enc; BYTE *pb; DWORD cb; void *info; void *store; DWORD alloc, flags; } cc;
        BYTE certbuf[64];
        memset(&cc, 0x55, sizeof cc);
        cc.pb = certbuf;
        cc.alloc = sizeof certbuf;
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_GET_CERT_INFO_EX, &cc, NULL, NULL);
        add(&o, "ok=%d cb=%lu flags=%lu alloc=%lu\n", ok, (unsigned long)cc.cb,
            (unsigned long)cc.flags, (unsigned long)cc.alloc);
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "token")) {
        HANDLE t = NULL;
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_GET_IMPERSONATION_TOKEN, &t, NULL, NULL);
        add(&o, "ok=%d err=%lu\n", ok, (unsigned long)GetLastError());
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "unhealthy")) {
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_REPORT_UNHEALTHY, "disk full", NULL,
                                             NULL);
        add(&o, "ok=%d\n", ok);
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "log")) {
        char param[] = "&extparam=1";
        DWORD n = sizeof param - 1;
        ecb->ServerSupportFunction(id, HSE_APPEND_LOG_PARAMETER, param, &n, NULL);
        lstrcpynA(ecb->lpszLogData, "&logdata=2", HSE_LOG_BUFFER_LEN);
        return respond(ecb, "200 OK", "logged\n", 7, TRUE) ? HSE_STATUS_SUCCESS
                                                           : HSE_STATUS_ERROR;
    }
    if (is(q, "keepconn")) {
        BOOL keep = 7, conn = 7;
        DWORD inproc = 7;
        BOOL k = ecb->ServerSupportFunction(id, HSE_REQ_IS_KEEP_CONN, &keep, NULL, NULL);
        BOOL c = ecb->ServerSupportFunction(id, HSE_REQ_IS_CONNECTED, &conn, NULL, NULL);
        BOOL p = ecb->ServerSupportFunction(id, HSE_REQ_IS_IN_PROCESS, &inproc, NULL, NULL);
        BOOL d = ecb->ServerSupportFunction(id, HSE_REQ_DONE_WITH_SESSION, NULL, NULL, NULL);
        BOOL a = ecb->ServerSupportFunction(id, HSE_REQ_ABORTIVE_CLOSE, NULL, NULL, NULL);
        add(&o, "keep=%d/%d connected=%d/%d inproc=%d/%lu done=%d abortive=%d\n", k, keep, c,
            conn, p, (unsigned long)inproc, d, a);
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "close")) {
        ecb->ServerSupportFunction(id, HSE_REQ_CLOSE_CONNECTION, NULL, NULL, NULL);
        return respond(ecb, "200 OK", "closing\n", 8, TRUE) ? HSE_STATUS_SUCCESS
                                                            : HSE_STATUS_ERROR;
    }
    if (is(q, "map") || is(q, "mapex")) {
        char buf[MAX_PATH];
        lstrcpynA(buf, arg(q), sizeof buf);
        if (is(q, "map")) {
            DWORD n = sizeof buf;
            BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_MAP_URL_TO_PATH, buf, &n, NULL);
            add(&o, "ok=%d size=%lu path=%s\n", ok, (unsigned long)n, ok ? buf : "");
            DWORD tiny = 3;
            char small[3] = "/a";
            ok = ecb->ServerSupportFunction(id, HSE_REQ_MAP_URL_TO_PATH, small, &tiny, NULL);
            add(&o, "small=%d/%lu/%lu\n", ok, (unsigned long)GetLastError(), (unsigned long)tiny);
        } else {
            HSE_URL_MAPEX_INFO mi;
            memset(&mi, 0, sizeof mi);
            DWORD n = (DWORD)lstrlenA(buf);
            BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_MAP_URL_TO_PATH_EX, buf, &n,
                                                 (LPDWORD)&mi);
            add(&o, "ok=%d path=%s flags=0x%lx matchpath=%lu matchurl=%lu\n", ok, mi.lpszPath,
                (unsigned long)mi.dwFlags, (unsigned long)mi.cchMatchingPath,
                (unsigned long)mi.cchMatchingURL);
        }
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "unicode")) {
        WCHAR w[512];
        char back[1024];
        DWORD size = sizeof w;
        BOOL ok = ecb->GetServerVariable(id, "UNICODE_SCRIPT_NAME", w, &size);
        int n = ok ? WideCharToMultiByte(CP_UTF8, 0, w, -1, back, sizeof back, NULL, NULL) : 0;
        add(&o, "script=%d/%lu/%s\n", ok, (unsigned long)size, n > 0 ? back : "");
        DWORD small = 4;
        ok = ecb->GetServerVariable(id, "UNICODE_URL", w, &small);
        add(&o, "small=%d/%lu/%lu\n", ok, (unsigned long)GetLastError(), (unsigned long)small);
        size = sizeof w;
        ok = ecb->GetServerVariable(id, "UNICODE_HTTP_HOST", w, &size);
        add(&o, "header=%d/%lu\n", ok, (unsigned long)GetLastError());
        WCHAR url[MAX_PATH];
        MultiByteToWideChar(CP_UTF8, 0, "/sub/x.txt", -1, url, MAX_PATH);
        size = sizeof url;
        ok = ecb->ServerSupportFunction(id, HSE_REQ_MAP_UNICODE_URL_TO_PATH, url, &size, NULL);
        n = ok ? WideCharToMultiByte(CP_UTF8, 0, url, -1, back, sizeof back, NULL, NULL) : 0;
        add(&o, "umap=%d/%lu/%s\n", ok, (unsigned long)size, n > 0 ? back : "");
        HSE_UNICODE_URL_MAPEX_INFO mi;
        memset(&mi, 0, sizeof mi);
        MultiByteToWideChar(CP_UTF8, 0, "/sub/x.txt", -1, url, MAX_PATH);
        ok = ecb->ServerSupportFunction(id, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, url, NULL,
                                        (LPDWORD)&mi);
        n = ok ? WideCharToMultiByte(CP_UTF8, 0, mi.lpszPath, -1, back, sizeof back, NULL, NULL) : 0;
        add(&o, "umapex=%d/%s/0x%lx\n", ok, n > 0 ? back : "", (unsigned long)mi.dwFlags);
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "normalize")) {
        char buf[512];
        lstrcpynA(buf, arg(q), sizeof buf);
        BOOL ok = ecb->ServerSupportFunction(id, HSE_REQ_NORMALIZE_URL, buf, NULL, NULL);
        add(&o, "ok=%d url=%s\n", ok, ok ? buf : "");
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    if (is(q, "ssf")) {
        DWORD code = (DWORD)strtoul(arg(q), NULL, 10);
        char buf[128] = "";   /* zeroes, larger than any structure a code reads */
        DWORD n = sizeof buf;
        DWORD type = 0;
        SetLastError(0);
        BOOL ok = ecb->ServerSupportFunction(id, code, buf, &n, &type);
        add(&o, "code=%lu ok=%d err=%lu\n", (unsigned long)code, ok, (unsigned long)GetLastError());
        return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
    }
    add(&o, "extprobe: unknown case [%s]\n", q);
    return respond_out(ecb, &o) ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
}
