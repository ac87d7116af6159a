/*
 * ecbshow.c - a sample ISAPI extension that shows what it is given: every member of the
 * EXTENSION_CONTROL_BLOCK, the server variables, and for a POST the form it received (the
 * body read ahead in lpbData, the rest with ReadClient), with a form to send one. Map it
 * with a script map ([script_maps] .show = ecbshow.dll,1) and open /anything.show.
 *
 * The page is built in memory and sent with one HSE_REQ_SEND_RESPONSE_HEADER_EX carrying
 * its Content-Length and fKeepConn TRUE, so the connection stays open for the next request.
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

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
    page p = { NULL, 0, 0 };
    static const char top[] = "<!DOCTYPE html>\n<html><head><title>ecbshow</title></head><body>\n"
                              "<h1>EXTENSION_CONTROL_BLOCK</h1>\n<table>\n";
    put(&p, top, sizeof top - 1);
    row_num(&p, "cbSize", ecb->cbSize);
    row_num(&p, "dwVersion", ecb->dwVersion);
    row_num(&p, "dwHttpStatusCode", ecb->dwHttpStatusCode);
    row(&p, "lpszMethod", ecb->lpszMethod);
    row(&p, "lpszQueryString", ecb->lpszQueryString);
    row(&p, "lpszPathInfo", ecb->lpszPathInfo);
    row(&p, "lpszPathTranslated", ecb->lpszPathTranslated);
    row_num(&p, "cbTotalBytes", ecb->cbTotalBytes);
    row_num(&p, "cbAvailable", ecb->cbAvailable);
    row(&p, "lpszContentType", ecb->lpszContentType);
    put(&p, "</table>\n<h2>Server variables</h2>\n<table>\n", 42);
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
            row(&p, names[i], value);
        else
            row(&p, names[i], "(not set)");
    }
    free(value);
    put(&p, "</table>\n", 9);

    if (ecb->cbTotalBytes > 0) {
        /* the body: what was read ahead, then ReadClient until it is all there */
        size_t cap = SHOW_MAX_BODY, n = ecb->cbAvailable < cap ? ecb->cbAvailable : cap;
        char *body = malloc(cap);
        unsigned long total = ecb->cbAvailable;
        if (body) {
            memcpy(body, ecb->lpbData, n);
            char chunk[8192];
            for (;;) {
                if (ecb->cbTotalBytes != 0xffffffffu && total >= ecb->cbTotalBytes)
                    break;
                DWORD k = sizeof chunk;
                if (!ecb->ReadClient(ecb->ConnID, chunk, &k) || k == 0)
                    break;
                total += k;
                size_t take = cap - n < k ? cap - n : k;
                memcpy(body + n, chunk, take);
                n += take;
            }
            put(&p, "<h2>Body</h2>\n", 14);
            row_num(&p, "bytes received", total);
            put(&p, "<pre>", 5);
            puts_html(&p, body, n < 4096 ? n : 4096);
            put(&p, "</pre>\n", 7);
            free(body);
        }
    }
    static const char form[] =
        "<h2>Send a form</h2>\n<form method=\"post\"><input name=\"name\" value=\"value\">"
        "<input type=\"submit\"></form>\n"
        "<form method=\"post\" enctype=\"multipart/form-data\"><input type=\"file\" name=\"f\">"
        "<input type=\"submit\" value=\"Upload\"></form>\n</body></html>\n";
    put(&p, form, sizeof form - 1);
    if (!p.text)
        return HSE_STATUS_ERROR;

    char head[128];
    _snprintf(head, sizeof head - 1, "Content-Type: text/html\r\nContent-Length: %lu\r\n\r\n",
              (unsigned long)p.len);
    head[sizeof head - 1] = '\0';
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", head, 6, (DWORD)strlen(head), TRUE };
    BOOL ok = ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi,
                                         NULL, NULL);
    DWORD len = (DWORD)p.len;
    if (ok)
        ok = ecb->WriteClient(ecb->ConnID, p.text, &len, HSE_IO_SYNC);
    free(p.text);
    return ok ? HSE_STATUS_SUCCESS : HSE_STATUS_ERROR;
}
