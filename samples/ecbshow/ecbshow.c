/*
 * ecbshow.c - a sample ISAPI extension that shows what it is given: every member of the
 * EXTENSION_CONTROL_BLOCK, the server variables, and for a POST the form or upload it
 * received, with a form to send one. Map it with a script map ([script_maps] .show =
 * ecbshow.dll,1) and open /anything.show.
 *
 * It shows both ways an extension does I/O. A GET is answered synchronously: the page is
 * built in memory and sent with one HSE_REQ_SEND_RESPONSE_HEADER_EX carrying its
 * Content-Length and fKeepConn TRUE, then one WriteClient. A POST goes asynchronously, as
 * IIS's own upload handlers do: HttpExtensionProc returns HSE_STATUS_PENDING, the rest of
 * the body after the read-ahead (lpbData) comes in HSE_REQ_ASYNC_READ_CLIENT reads, each
 * started from the previous one's completion (HSE_REQ_IO_COMPLETION), the page leaves in an
 * asynchronous WriteClient (HSE_IO_ASYNC), and that write's completion ends the request with
 * HSE_REQ_DONE_WITH_SESSION. No server thread waits for the client meanwhile.
 */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX_BODY (1u << 20)   /* bytes of a posted body shown */

typedef struct page {
    char *text;
    size_t len, cap;
} page;

static void put(page *p, const char *s, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8192;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *t = realloc(p->text, cap);
        if (!t)
            return;
        p->text = t;
        p->cap = cap;
    }
    memcpy(p->text + p->len, s, n);
    p->len += n;
    p->text[p->len] = '\0';
}

static void puts_html(page *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '<')
            put(p, "&lt;", 4);
        else if (c == '>')
            put(p, "&gt;", 4);
        else if (c == '&')
            put(p, "&amp;", 5);
        else if (c == '"')
            put(p, "&quot;", 6);
        else if ((unsigned char)c < 0x20 && c != '\n' && c != '\t')
            put(p, "?", 1);
        else
            put(p, &c, 1);
    }
}

static void row(page *p, const char *name, const char *value)
{
    put(p, "<tr><th>", 8);
    put(p, name, strlen(name));
    put(p, "</th><td>", 9);
    puts_html(p, value, strlen(value));
    put(p, "</td></tr>\n", 11);
}

static void row_num(page *p, const char *name, unsigned long v)
{
    char num[32];
    _snprintf(num, sizeof num - 1, "%lu", v);
    num[sizeof num - 1] = '\0';
    row(p, name, num);
}

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *v)
{
    v->dwExtensionVersion = HSE_VERSION;
    lstrcpynA(v->lpszExtensionDesc, "ecbshow: shows the control block", HSE_MAX_EXT_DLL_NAME_LEN);
    return TRUE;
}

BOOL WINAPI TerminateExtension(DWORD flags)
{
    (void)flags;
    return TRUE;
}

/* The control block and the server variables. */
static void show_request(page *p, EXTENSION_CONTROL_BLOCK *ecb)
{
    static const char top[] = "<!DOCTYPE html>\n<html><head><title>ecbshow</title></head><body>\n"
                              "<h1>EXTENSION_CONTROL_BLOCK</h1>\n<table>\n";
    put(p, top, sizeof top - 1);
    row_num(p, "cbSize", ecb->cbSize);
    row_num(p, "dwVersion", ecb->dwVersion);
    row_num(p, "dwHttpStatusCode", ecb->dwHttpStatusCode);
    row(p, "lpszMethod", ecb->lpszMethod);
    row(p, "lpszQueryString", ecb->lpszQueryString);
    row(p, "lpszPathInfo", ecb->lpszPathInfo);
    row(p, "lpszPathTranslated", ecb->lpszPathTranslated);
    row_num(p, "cbTotalBytes", ecb->cbTotalBytes);
    row_num(p, "cbAvailable", ecb->cbAvailable);
    row(p, "lpszContentType", ecb->lpszContentType);
    put(p, "</table>\n<h2>Server variables</h2>\n<table>\n", 42);
    static const char *const names[] = {
        "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED", "URL", "QUERY_STRING",
        "REQUEST_METHOD", "SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR",
        "APPL_MD_PATH", "APPL_PHYSICAL_PATH", "CONTENT_LENGTH", "CONTENT_TYPE",
        "HTTP_USER_AGENT", "ALL_RAW",
    };
    char *value = malloc(65536);
    for (size_t i = 0; value && i < sizeof names / sizeof names[0]; i++) {
        DWORD size = 65536;
        if (ecb->GetServerVariable(ecb->ConnID, (LPSTR)names[i], value, &size))
            row(p, names[i], value);
        else
            row(p, names[i], "(not set)");
    }
    free(value);
    put(p, "</table>\n", 9);
}

/* The forms, the end of the page, and the header block for it; FALSE when out of memory
 * or when the header block could not be sent. */
static BOOL finish_page(page *p, EXTENSION_CONTROL_BLOCK *ecb)
{
    static const char form[] =
        "<h2>Send a form</h2>\n<form method=\"post\"><input name=\"name\" value=\"value\">"
        "<input type=\"submit\"></form>\n"
        "<form method=\"post\" enctype=\"multipart/form-data\"><input type=\"file\" name=\"f\">"
        "<input type=\"submit\" value=\"Upload\"></form>\n</body></html>\n";
    put(p, form, sizeof form - 1);
    if (!p->text)
        return FALSE;
    char head[128];
    _snprintf(head, sizeof head - 1, "Content-Type: text/html\r\nContent-Length: %lu\r\n\r\n",
              (unsigned long)p->len);
    head[sizeof head - 1] = '\0';
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", head, 6, (DWORD)strlen(head), TRUE };
    return ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL,
                                      NULL);
}

/* ---- a POST: the body read and the page written asynchronously ------------------------ */

typedef struct upload {
    EXTENSION_CONTROL_BLOCK *ecb;
    page page;
    char *body;                 /* the first SHOW_MAX_BODY bytes of the body */
    size_t kept;
    unsigned long total;        /* bytes received */
    int writing;                /* the page's write is outstanding: its completion ends */
    char chunk[16384];          /* one asynchronous read's buffer */
} upload;

static void end_session(upload *u, DWORD status)
{
    EXTENSION_CONTROL_BLOCK *ecb = u->ecb;
    free(u->page.text);
    free(u->body);
    free(u);
    /* Why last: the control block is the server's again once this returns. */
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

static void keep_bytes(upload *u, const void *data, DWORD n)
{
    size_t take = SHOW_MAX_BODY - u->kept < n ? SHOW_MAX_BODY - u->kept : n;
    memcpy(u->body + u->kept, data, take);
    u->kept += take;
    u->total += n;
}

static int body_complete(const upload *u)
{
    return u->ecb->cbTotalBytes != 0xffffffffu && u->total >= u->ecb->cbTotalBytes;
}

/* Starts the next read; FALSE when the server refused it. */
static BOOL read_more(upload *u)
{
    DWORD size = sizeof u->chunk, type = HSE_IO_ASYNC;
    return u->ecb->ServerSupportFunction(u->ecb->ConnID, HSE_REQ_ASYNC_READ_CLIENT, u->chunk,
                                         &size, &type);
}

/* The body is in: the page, its header block, and its bytes in one asynchronous write. */
static void write_page(upload *u)
{
    page *p = &u->page;
    put(p, "<h2>Body</h2>\n", 14);
    row_num(p, "bytes received", u->total);
    put(p, "<pre>", 5);
    puts_html(p, u->body, u->kept < 4096 ? u->kept : 4096);
    put(p, "</pre>\n", 7);
    if (!finish_page(p, u->ecb)) {
        end_session(u, HSE_STATUS_ERROR);
        return;
    }
    u->writing = 1;
    DWORD len = (DWORD)p->len;
    if (!u->ecb->WriteClient(u->ecb->ConnID, p->text, &len, HSE_IO_ASYNC))
        end_session(u, HSE_STATUS_ERROR);
}

/* The one completion of the request's asynchronous operations (HSE_REQ_IO_COMPLETION):
 * a read's bytes, or the end of the page's write. */
static VOID WINAPI io_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID context, DWORD bytes,
                           DWORD error)
{
    upload *u = context;
    (void)ecb;
    if (u->writing) {
        end_session(u, error ? HSE_STATUS_ERROR : HSE_STATUS_SUCCESS_AND_KEEP_CONN);
        return;
    }
    if (error) {
        end_session(u, HSE_STATUS_ERROR);   /* the client went away, or timed out */
        return;
    }
    keep_bytes(u, u->chunk, bytes);
    if (bytes == 0 || body_complete(u))
        write_page(u);
    else if (!read_more(u))
        end_session(u, HSE_STATUS_ERROR);
}

static DWORD start_upload(EXTENSION_CONTROL_BLOCK *ecb)
{
    upload *u = calloc(1, sizeof *u);
    if (!u || !(u->body = malloc(SHOW_MAX_BODY))) {
        free(u);
        return HSE_STATUS_ERROR;
    }
    u->ecb = ecb;
    show_request(&u->page, ecb);
    keep_bytes(u, ecb->lpbData, ecb->cbAvailable);
    if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)io_done, NULL,
                                    (LPDWORD)u)) {
        free(u->page.text);
        free(u->body);
        free(u);
        return HSE_STATUS_ERROR;
    }
    /* Why PENDING before anything completes: the completions run on the server's threads
     * once this call has returned, and the last one ends the request. */
    if (body_complete(u) || ecb->cbTotalBytes == 0)
        write_page(u);
    else if (!read_more(u))
        end_session(u, HSE_STATUS_ERROR);
    return HSE_STATUS_PENDING;
}

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
    if (strcmp(ecb->lpszMethod, "POST") == 0)
        return start_upload(ecb);
    page p = { NULL, 0, 0 };
    show_request(&p, ecb);
    BOOL ok = finish_page(&p, ecb);
    DWORD len = (DWORD)p.len;
    if (ok)
        ok = ecb->WriteClient(ecb->ConnID, p.text, &len, HSE_IO_SYNC);
    free(p.text);
    return ok ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
}
