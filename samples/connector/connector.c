/*
 * connector.c - a miniature connector: an ISAPI filter and an ISAPI extension in one DLL
 * that relay requests under a URL prefix to a back end over TCP, the way Tomcat's
 * isapi_redirect.dll (mod_jk) is built.
 *
 * The filter half (SF_NOTIFY_PREPROC_HEADERS) sees every request. One whose URL starts
 * with `prefix` (connector.ini) is rewritten to `target` (a URL a script map gives to this
 * DLL) and its original URL is kept in a request header named after this module's handle
 * ("X-Connector-Uri-<handle>:"), as mod_jk does: only the extension half of the same
 * module knows the name, and the filter removes that header from every other request, so
 * a client cannot forge it.
 *
 * The extension half reads the header back (HTTP_X_CONNECTOR_URI_<HANDLE>), connects to
 * host:port, sends the request as HTTP/1.0 with the client's headers (less the hop-by-hop
 * ones) and its body (lpbData, then ReadClient), and relays the answer: the status line
 * and headers through HSE_REQ_SEND_RESPONSE_HEADER_EX (fKeepConn when the back end gave a
 * Content-Length), the body through WriteClient until the back end closes. A back end that
 * cannot be reached is a 502.
 *
 * Windows source: winsock2.h and ws2_32 on Windows; natively the shim's winsock2.h maps the
 * same names to BSD sockets. Build it by hand with mingw-w64:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o connector.dll connector.c connector.def -lws2_32
 * (for 32 bits i686-w64-mingw32-gcc and -Wl,--enable-stdcall-fixup, which lets the .def's
 * undecorated names match the stdcall symbols without a warning).
 */
#include <winsock2.h>
#include <windows.h>
#include <httpext.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_MAX_HEAD 65536

static HINSTANCE g_module;
static char g_prefix[256] = "/backend/";
static char g_target[256] = "/connector.relay";
static char g_host[64] = "127.0.0.1";
static unsigned short g_port = 8081;
static char g_header[64];      /* "X-Connector-Uri-<handle>:" */
static char g_variable[80];    /* "HTTP_X_CONNECTOR_URI_<HANDLE>" */
static LONG g_started;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        g_module = inst;
    return TRUE;
}

/* Reads connector.ini beside the DLL and names the header after the module handle, once
 * for both halves (whichever entry point runs first). */
static void start(void)
{
    if (InterlockedExchange(&g_started, 1))
        return;
    char ini[MAX_PATH + 8];
    DWORD n = GetModuleFileNameA(g_module, ini, MAX_PATH);
    char *dot = n ? strrchr(ini, '.') : NULL;
    if (dot) {
        lstrcpyA(dot, ".ini");
        GetPrivateProfileStringA("connector", "prefix", g_prefix, g_prefix, sizeof g_prefix, ini);
        GetPrivateProfileStringA("connector", "target", g_target, g_target, sizeof g_target, ini);
        GetPrivateProfileStringA("connector", "host", g_host, g_host, sizeof g_host, ini);
        g_port = (unsigned short)GetPrivateProfileIntA("connector", "port", g_port, ini);
    }
    /* the handle in hex, the same digits on every platform */
    char hex[2 * sizeof(void *) + 1];
    ULONG_PTR h = (ULONG_PTR)g_module;
    int i = (int)sizeof hex - 1;
    hex[i] = '\0';
    do {
        hex[--i] = "0123456789ABCDEF"[h & 15];
        h >>= 4;
    } while (h && i > 0);
    wsprintfA(g_header, "X-Connector-Uri-%s:", hex + i);
    wsprintfA(g_variable, "HTTP_X_CONNECTOR_URI_%s", hex + i);
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
}

/* ---- filter half ---------------------------------------------------------------------- */

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *v)
{
    start();
    v->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(v->lpszFilterDesc, "connector: relays a URL prefix to a back end",
              SF_MAX_FILTER_DESC_LEN);
    v->dwFlags = SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_HIGH | SF_NOTIFY_SECURE_PORT
                 | SF_NOTIFY_NONSECURE_PORT;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *fc, DWORD type, LPVOID pv)
{
    if (type != SF_NOTIFY_PREPROC_HEADERS)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    HTTP_FILTER_PREPROC_HEADERS *p = pv;
    char url[4096];
    DWORD size = sizeof url;
    /* An empty value removes the header: nobody but this filter sets it. */
    p->SetHeader(fc, g_header, "");
    if (!p->GetHeader(fc, "url", url, &size))
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    size_t plen = strlen(g_prefix);
    if (strncmp(url, g_prefix, plen) != 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (!p->SetHeader(fc, g_header, url) || !p->SetHeader(fc, "url", g_target))
        return SF_STATUS_REQ_ERROR;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD flags)
{
    (void)flags;
    return TRUE;
}

/* ---- extension half ------------------------------------------------------------------- */

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *v)
{
    start();
    v->dwExtensionVersion = HSE_VERSION;
    lstrcpynA(v->lpszExtensionDesc, "connector", HSE_MAX_EXT_DLL_NAME_LEN);
    return TRUE;
}

BOOL WINAPI TerminateExtension(DWORD flags)
{
    (void)flags;
    WSACleanup();
    return TRUE;
}

static BOOL send_all(SOCKET s, const char *p, size_t n)
{
    while (n > 0) {
        int k = send(s, p, n > 65536 ? 65536 : (int)n, 0);
        if (k <= 0)
            return FALSE;
        p += k;
        n -= (size_t)k;
    }
    return TRUE;
}

static DWORD answer(EXTENSION_CONTROL_BLOCK *ecb, const char *status, const char *text)
{
    char head[128];
    wsprintfA(head, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", lstrlenA(text));
    HSE_SEND_HEADER_EX_INFO hi = { status, head, (DWORD)lstrlenA(status),
                                   (DWORD)lstrlenA(head), TRUE };
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
    DWORD n = (DWORD)lstrlenA(text);
    ecb->WriteClient(ecb->ConnID, (LPVOID)text, &n, HSE_IO_SYNC);
    return HSE_STATUS_SUCCESS;
}

/* 1 for headers that describe one connection only (RFC 9110 section 7.6.1) or that the
 * connector sets itself. */
static int hop_by_hop(const char *line, size_t n)
{
    static const char *const names[] = { "connection:", "keep-alive:", "transfer-encoding:",
                                         "content-length:", "te:", "upgrade:",
                                         "proxy-connection:", "x-connector-uri-" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t k = strlen(names[i]);
        if (n >= k && _strnicmp(line, names[i], k) == 0)
            return 1;
    }
    return 0;
}

/* The request head for the back end into buf (HTTP/1.0, Connection: close). */
static int build_request(EXTENSION_CONTROL_BLOCK *ecb, const char *uri, DWORD body_len,
                         char *buf, size_t cap)
{
    char *raw = malloc(CONN_MAX_HEAD);
    DWORD size = CONN_MAX_HEAD;
    if (!raw || !ecb->GetServerVariable(ecb->ConnID, "ALL_RAW", raw, &size)) {
        free(raw);
        return -1;
    }
    int n = _snprintf(buf, cap, "%s %s HTTP/1.0\r\n", ecb->lpszMethod, uri);
    if (n < 0)
        goto fail;
    for (char *line = raw; *line;) {
        char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        size_t text = len && line[len - 1] == '\r' ? len - 1 : len;
        if (text && !hop_by_hop(line, text)) {
            if ((size_t)n + text + 2 >= cap)
                goto fail;
            memcpy(buf + n, line, text);
            n += (int)text;
            buf[n++] = '\r';
            buf[n++] = '\n';
        }
        if (!eol)
            break;
        line = eol + 1;
    }
    int k = _snprintf(buf + n, cap - (size_t)n,
                      "Content-Length: %lu\r\nConnection: close\r\n\r\n", (unsigned long)body_len);
    if (k < 0 || (size_t)(n + k) >= cap)
        goto fail;
    free(raw);
    return n + k;
fail:
    free(raw);
    return -1;
}

/* The whole request body: lpbData then ReadClient (bounded at 64 MiB). */
static char *read_body(EXTENSION_CONTROL_BLOCK *ecb, DWORD *len)
{
    size_t cap = ecb->cbAvailable + 65536, n = ecb->cbAvailable;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    memcpy(b, ecb->lpbData, n);
    for (;;) {
        if (ecb->cbTotalBytes != 0xffffffffu && n >= ecb->cbTotalBytes)
            break;
        if (cap - n < 65536) {
            if (cap >= 64u << 20) {
                free(b);
                return NULL;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
        DWORD k = 65536;
        if (!ecb->ReadClient(ecb->ConnID, b + n, &k) || k == 0)
            break;
        n += k;
    }
    *len = (DWORD)n;
    return b;
}

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
    char uri[4096];
    DWORD size = sizeof uri;
    if (!ecb->GetServerVariable(ecb->ConnID, g_variable, uri, &size) || size <= 1)
        return answer(ecb, "404 Not Found", "not a relayed URL\n");
    DWORD body_len = 0;
    char *body = read_body(ecb, &body_len);
    if (!body)
        return answer(ecb, "413 Request Entity Too Large", "body too large\n");
    char *head = malloc(CONN_MAX_HEAD + 256);
    int hl = head ? build_request(ecb, uri, body_len, head, CONN_MAX_HEAD + 256) : -1;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(g_port);
    sa.sin_addr.s_addr = inet_addr(g_host);
    if (hl < 0 || s == INVALID_SOCKET || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0
        || !send_all(s, head, (size_t)hl) || !send_all(s, body, body_len)) {
        if (s != INVALID_SOCKET)
            closesocket(s);
        free(head);
        free(body);
        return answer(ecb, "502 Bad Gateway", "the back end cannot be reached\n");
    }
    free(body);
    lstrcpynA(ecb->lpszLogData, "&relayed=1", HSE_LOG_BUFFER_LEN);

    /* the back end's head */
    size_t have = 0;
    char *end = NULL;
    while (!end && have < CONN_MAX_HEAD) {
        int k = recv(s, head + have, (int)(CONN_MAX_HEAD - have), 0);
        if (k <= 0)
            break;
        have += (size_t)k;
        head[have] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    char *sp = end ? strchr(head, ' ') : NULL;
    char *eol = sp ? strstr(head, "\r\n") : NULL;
    if (!eol) {
        closesocket(s);
        free(head);
        return answer(ecb, "502 Bad Gateway", "the back end sent no response\n");
    }
    *eol = '\0';
    char status[128];
    lstrcpynA(status, sp + 1, sizeof status);
    /* the back end's headers, less the hop-by-hop ones */
    char *out = malloc((size_t)(end - eol) + 8);
    size_t on = 0;
    int has_length = 0;
    for (char *line = eol + 2; out && line < end;) {
        char *le = strstr(line, "\r\n");
        size_t len = (size_t)(le - line);
        if (len >= 15 && _strnicmp(line, "Content-Length:", 15) == 0)
            has_length = 1;
        if (!hop_by_hop(line, len) || (len >= 15 && _strnicmp(line, "Content-Length:", 15) == 0)) {
            memcpy(out + on, line, len + 2);
            on += len + 2;
        }
        line = le + 2;
    }
    if (!out) {
        closesocket(s);
        free(head);
        return HSE_STATUS_ERROR;
    }
    memcpy(out + on, "\r\n", 3);
    HSE_SEND_HEADER_EX_INFO hi = { status, out, (DWORD)lstrlenA(status), (DWORD)(on + 2),
                                   has_length };
    BOOL ok = ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi,
                                         NULL, NULL);
    free(out);
    /* the body: what came with the head, then the rest until the back end closes */
    DWORD n = (DWORD)(have - (size_t)(end + 4 - head));
    if (ok && n)
        ok = ecb->WriteClient(ecb->ConnID, end + 4, &n, HSE_IO_SYNC);
    while (ok) {
        int k = recv(s, head, CONN_MAX_HEAD, 0);
        if (k <= 0)
            break;
        n = (DWORD)k;
        ok = ecb->WriteClient(ecb->ConnID, head, &n, HSE_IO_SYNC);
    }
    closesocket(s);
    free(head);
    return ok ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
}
