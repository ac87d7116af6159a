/*
 * urlnorm.c - the one URL normaliser: the server routes on its result and
 * SF_REQ_NORMALIZE_URL hands it to filters, so a filter deciding on a normalised URL sees
 * exactly the path the server will serve (docs/semantics.md, "URL normalisation").
 *
 * It decodes percent escapes once, refuses what could name a different file than it seems
 * (encoded slashes, backslashes, NUL and control bytes, invalid or overlong UTF-8 such as
 * %C0%AE), and resolves dot segments on the decoded text, refusing a path that climbs above
 * the root. The host's platform layer then refuses whatever the OS itself would misread
 * (device names, trailing dots on Windows), so two independent checks stand between a URL
 * and the disk.
 *
 * isapi__normalize_url applies it in place for SF_REQ_NORMALIZE_URL, the query kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Strict UTF-8 check: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

static int normalize(const char *target, char *out, size_t outlen, const char **query,
                     int plain_path);

int isapi_url_normalize(const char *target, char *out, size_t outlen, const char **query)
{
    return normalize(target, out, outlen, query, 1);
}

int isapi__url_normalize_general(const char *target, char *out, size_t outlen,
                                 const char **query)
{
    return normalize(target, out, outlen, query, 0);
}

/* plain_path: a path that needs no decoding or resolving is copied as it is; 0 sends every
 * path through the general rules (the unit tests compare the two). */
static int normalize(const char *target, char *out, size_t outlen, const char **query,
                     int plain_path)
{
    const char *p = target;
    /* absolute-form: skip "scheme://authority" */
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    if (colon && (!slash || colon < slash) && colon[1] == '/' && colon[2] == '/') {
        p = strchr(colon + 3, '/');
        if (!p)
            p = "/";
    }
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    if (query)
        *query = q ? q + 1 : "";
    if (plen == 0 || p[0] != '/')
        return 400;

    /* The common path: printable ASCII with no escape, no backslash, and no segment that
     * is empty or starts with a dot, has nothing to decode or resolve: it is its own
     * normal form, copied as it is (one scan instead of three). */
    size_t plain = 0;
    while (plain_path && plain < plen) {
        unsigned char ch = (unsigned char)p[plain];
        if (ch < 0x20 || ch > 0x7e || ch == '%' || ch == '\\'
            || (ch == '/' && plain + 1 < plen && (p[plain + 1] == '/' || p[plain + 1] == '.')))
            break;
        plain++;
    }
    if (plain_path && plain == plen) {
        if (plen + 1 >= outlen)
            return 414;
        memcpy(out, p, plen);
        out[plen] = '\0';
        return 0;
    }

    /* percent-decode into out */
    size_t n = 0;
    for (size_t i = 0; i < plen; i++) {
        int ch = (unsigned char)p[i];
        if (ch == '%') {
            if (i + 2 >= plen)
                return 400;
            int hi = hexval((unsigned char)p[i + 1]), lo = hexval((unsigned char)p[i + 2]);
            if (hi < 0 || lo < 0)
                return 400;
            ch = hi * 16 + lo;
            i += 2;
            /* Why: an encoded slash would let "/a%2F..%2Fb" pass the segment checks below
             * as one segment and then be split by the OS; IIS refuses it too. */
            if (ch == '/')
                return 400;
        }
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            return 400;
        if (n + 2 >= outlen)
            return 414;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    if (!utf8_valid((const unsigned char *)out, n))
        return 400;

    /* Resolve segments in place: the result is never longer than the input. Empty
     * segments ("//") are dropped, "." is dropped, ".." removes the segment before it and
     * is refused at the root. The result ends in '/' when the path named a folder. */
    size_t w = 0, r = 0;
    int trailing = 0;
    while (r < n) {
        size_t seg = r + 1, end = seg;
        while (end < n && out[end] != '/')
            end++;
        size_t len = end - seg;
        int last = end >= n;
        trailing = 0;
        if (len == 0 || (len == 1 && out[seg] == '.')) {
            trailing = last;
        } else if (len == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            if (w == 0)
                return 400;
            while (w > 0 && out[w - 1] != '/')
                w--;
            w--;
            trailing = last;
        } else {
            memmove(out + w, out + r, end - r);
            w += end - r;
        }
        r = end;
    }
    if (w == 0 || trailing)
        out[w++] = '/';
    out[w] = '\0';
    return 0;
}

/* Why the router's rules: a filter that decides on the normalised URL (an access check, a
 * rewrite) must see the very path the server will serve; a normaliser more lenient than the
 * router (decoding %2F, passing control bytes or overlong UTF-8) lets a request look like
 * another URL to the filter than to the server. The result is never longer than the input
 * (Why: pubcookie passes a fixed buffer). */
int isapi__normalize_url(char *url)
{
    size_t len = strlen(url);
    char *path = malloc(len + 3);
    if (!path)
        return -1;
    const char *query;
    int st = isapi_url_normalize(url, path, len + 3, &query);
    size_t plen = st ? 0 : strlen(path);
    /* a query found in url itself (never in the "/" the normaliser supplies itself) */
    int has_query = !st && (uintptr_t)query > (uintptr_t)url &&
                    (uintptr_t)query <= (uintptr_t)(url + len);
    size_t qlen = has_query ? strlen(query) : 0;
    if (st || plen + (has_query ? 1 + qlen : 0) > len) {
        free(path);
        return -1;
    }
    /* the query lies in url itself, after the path part: move it first */
    if (has_query) {
        memmove(url + plen + 1, query, qlen + 1);
        url[plen] = '?';
    } else {
        url[plen] = '\0';
    }
    memcpy(url, path, plen);
    free(path);
    return 0;
}
