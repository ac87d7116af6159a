/*
 * mime.c - a small table from extension to Content-Type, searched linearly (it is short
 * and the lookup runs once per static response). It starts as the built-in list below and
 * [mime] entries of the configuration edit it before the server starts; it is only read
 * afterwards, so it needs no lock.
 *
 * Text types carry no charset: IIS sends none for static files either, and filters that
 * compare Content-Type (the upcase sample looks for "text/html") see the same value they
 * would under IIS. Nothing executable or configuration-like (dll, exe, so, ini, asp, config)
 * is in the list: such a file under the root is a 404 (mime.h).
 */
#include "mime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define HOST_MIME_MAX 256
#define HOST_MIME_EXT_MAX 16
#define HOST_MIME_TYPE_MAX 96

static const struct { const char *ext; const char *type; } host_mime_builtin[] = {
    { "htm", "text/html" },          { "html", "text/html" },
    { "txt", "text/plain" },         { "css", "text/css" },
    { "js", "application/javascript" }, { "json", "application/json" },
    { "xml", "text/xml" },           { "csv", "text/csv" },
    { "gif", "image/gif" },          { "png", "image/png" },
    { "jpg", "image/jpeg" },         { "jpeg", "image/jpeg" },
    { "ico", "image/x-icon" },       { "svg", "image/svg+xml" },
    { "webp", "image/webp" },        { "pdf", "application/pdf" },
    { "zip", "application/x-zip-compressed" }, { "gz", "application/x-gzip" },
    { "wasm", "application/wasm" },  { "woff", "font/woff" },
    { "woff2", "font/woff2" },       { "mp4", "video/mp4" },
    { "mp3", "audio/mpeg" },         { "wav", "audio/wav" },
    /* Why .bin: IIS's default map has it (application/octet-stream) */
    { "bin", "application/octet-stream" },
};

typedef struct host_mime_entry {
    char ext[HOST_MIME_EXT_MAX];
    char type[HOST_MIME_TYPE_MAX];
} host_mime_entry_t;

static host_mime_entry_t host_mime_map[HOST_MIME_MAX];
static size_t host_mime_n;
static int host_mime_ready;

static int ext_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

void host_mime_reset(void)
{
    size_t n = sizeof host_mime_builtin / sizeof host_mime_builtin[0];
    for (size_t i = 0; i < n; i++) {
        snprintf(host_mime_map[i].ext, sizeof host_mime_map[i].ext, "%s", host_mime_builtin[i].ext);
        snprintf(host_mime_map[i].type, sizeof host_mime_map[i].type, "%s",
                 host_mime_builtin[i].type);
    }
    host_mime_n = n;
    host_mime_ready = 1;
}

int host_mime_set(const char *ext, const char *type, const char **why)
{
    if (!host_mime_ready)
        host_mime_reset();
    if (*ext == '.')
        ext++;
    size_t el = strlen(ext), tl = strlen(type);
    if (el == 0 || el >= HOST_MIME_EXT_MAX || strpbrk(ext, "./\\ \t")) {
        *why = "not a file extension (letters and digits, at most 15)";
        return -1;
    }
    if (tl >= HOST_MIME_TYPE_MAX || (tl && !strchr(type, '/'))) {
        *why = "not a MIME type (type/subtype, at most 95 characters)";
        return -1;
    }
    for (size_t i = 0; i < host_mime_n; i++) {
        if (!ext_equal(host_mime_map[i].ext, ext))
            continue;
        if (tl == 0) {
            host_mime_map[i] = host_mime_map[--host_mime_n];
        } else {
            memcpy(host_mime_map[i].type, type, tl + 1);
        }
        return 0;
    }
    if (tl == 0)
        return 0;
    if (host_mime_n == HOST_MIME_MAX) {
        *why = "too many MIME types";
        return -1;
    }
    memcpy(host_mime_map[host_mime_n].ext, ext, el + 1);
    memcpy(host_mime_map[host_mime_n].type, type, tl + 1);
    host_mime_n++;
    return 0;
}

const char *host_mime_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    const char *bslash = strrchr(path, '\\');
    if (!dot || (slash && slash > dot) || (bslash && bslash > dot))
        return NULL;
    /* Before the configuration set the map up (unit tests), the built-in list answers:
     * the lookup never writes, so concurrent workers need no lock. */
    if (!host_mime_ready) {
        for (size_t i = 0; i < sizeof host_mime_builtin / sizeof host_mime_builtin[0]; i++)
            if (ext_equal(dot + 1, host_mime_builtin[i].ext))
                return host_mime_builtin[i].type;
        return NULL;
    }
    for (size_t i = 0; i < host_mime_n; i++)
        if (ext_equal(dot + 1, host_mime_map[i].ext))
            return host_mime_map[i].type;
    return NULL;
}
