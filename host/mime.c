/*
 * mime.c - a small static table from extension to Content-Type, searched linearly (it is
 * short and the lookup runs once per static response). Text types carry no charset: IIS
 * sends none for static files either, and filters that compare Content-Type (the upcase
 * sample looks for "text/html") see the same value they would under IIS.
 */
#include "mime.h"

#include <ctype.h>
#include <string.h>

static const struct { const char *ext; const char *type; } host_mime_table[] = {
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
};

static int ext_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

const char *host_mime_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    const char *bslash = strrchr(path, '\\');
    if (!dot || (slash && slash > dot) || (bslash && bslash > dot))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof host_mime_table / sizeof host_mime_table[0]; i++)
        if (ext_equal(dot + 1, host_mime_table[i].ext))
            return host_mime_table[i].type;
    return "application/octet-stream";
}
