/*
 * static.c - URL path decoding and static files.
 *
 * host_url_path() is the one place a request-target becomes a file-system-bound path. It
 * is the engine's isapi_url_normalize() (isapi/urlnorm.c), the same rules SF_REQ_NORMALIZE_URL
 * gives filters, so a filter and the router never disagree on a path. plat_path_join() then
 * refuses whatever the OS itself would misread (device names and trailing dots on Windows),
 * so two independent checks stand between a URL and the disk.
 *
 * host_static_respond() only decides: it sets the status, the content headers on the
 * request model's response list (where SEND_RESPONSE filters see and edit them) and a body
 * descriptor; http1.c serialises and sends. Files are opened here and closed by
 * host_body_free() after the body was sent.
 *
 * Every string this file makes (the reason, the headers, an error page, a Location) is
 * request memory, freed once with the request (isapi.h). Nothing here checks an allocation
 * itself: a failure sets the request's out-of-memory flag, and the pipeline (http1.c)
 * answers 500 after the step instead of sending a response that lacks a header or a page.
 *
 * What the server's account can read is more than the site should show, so two rules
 * stand between a mapped path and the disk: names starting with '.' (.git, .htpasswd) are
 * not served unless serve_dotfiles says so, and every file is opened through
 * plat_file_open_within(), which checks the file actually opened against the real path of
 * the folder it belongs to, the root or a virtual directory's (follow_symlinks). Both refusals are 404s, as a missing file: the client learns
 * nothing about what exists outside the site or behind a hidden name.
 */
#include "static.h"
#include "fmt.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void host_body_free(host_body_t *b)
{
    if (b->file != PLAT_INVALID_FILE)
        plat_file_close(b->file);
    b->file = PLAT_INVALID_FILE;
    b->mem = NULL;   /* request memory: freed with the request */
    b->mem_len = 0;
    b->offset = b->length = 0;
}

int host_url_path(const char *target, char *out, size_t outlen, const char **query)
{
    return isapi_url_normalize(target, out, outlen, query);
}

static const struct { int code; const char *text; } host_reasons[] = {
    { 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
    { 206, "Partial Content" }, { 301, "Moved Permanently" }, { 302, "Found" },
    { 304, "Not Modified" }, { 307, "Temporary Redirect" }, { 400, "Bad Request" },
    { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 408, "Request Timeout" }, { 411, "Length Required" },
    { 413, "Payload Too Large" }, { 414, "URI Too Long" },
    { 416, "Range Not Satisfiable" }, { 417, "Expectation Failed" },
    { 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
    { 501, "Not Implemented" }, { 503, "Service Unavailable" },
    { 505, "HTTP Version Not Supported" },
};

const char *host_reason(int status)
{
    for (size_t i = 0; i < sizeof host_reasons / sizeof host_reasons[0]; i++)
        if (host_reasons[i].code == status)
            return host_reasons[i].text;
    return "Unknown";
}

static void set_status(isapi_request *req, int status)
{
    req->status = (DWORD)status;
    isapi_str_set(req, &req->reason, host_reason(status), (size_t)-1);
}

static void set_length(isapi_request *req, uint64_t n)
{
    char num[24];
    num[host_fmt_u64(num, n)] = '\0';
    isapi_headers_set(&req->resp_headers, "Content-Length", num);
}

void host_error_page(isapi_request *req, int status, host_body_t *body)
{
    const char *reason = host_reason(status);
    host_body_free(body);
    set_status(req, status);
    char page[512];
    int n = snprintf(page, sizeof page,
                     "<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\r\n",
                     status, reason, status, reason);
    body->mem = isapi_request_alloc(req, (size_t)n);
    if (body->mem) {
        memcpy(body->mem, page, (size_t)n);
        body->mem_len = (size_t)n;
    }
    isapi_headers_set(&req->resp_headers, "Content-Type", "text/html");
    set_length(req, body->mem_len);
}

/* Parses a single "bytes=a-b" range against `total`. Returns 1 and the range, 0 to ignore
 * the header (several ranges, other units, malformed: RFC 9110 lets a server serve the
 * whole file), -1 when it cannot be satisfied (416). */
static int parse_range(const char *v, uint64_t total, uint64_t *off, uint64_t *len)
{
    if (strncmp(v, "bytes=", 6) != 0)
        return 0;
    v += 6;
    if (strchr(v, ','))
        return 0;
    char *end;
    if (*v == '-') {
        if (v[1] < '0' || v[1] > '9')
            return 0;
        unsigned long long suffix = strtoull(v + 1, &end, 10);
        if (*end != '\0')
            return 0;
        if (suffix == 0 || total == 0)
            return -1;
        if (suffix > total)
            suffix = total;
        *off = total - suffix;
        *len = suffix;
        return 1;
    }
    if (*v < '0' || *v > '9')
        return 0;
    unsigned long long first = strtoull(v, &end, 10);
    if (*end != '-')
        return 0;
    unsigned long long last;
    if (end[1] == '\0') {
        last = total ? total - 1 : 0;
    } else {
        if (end[1] < '0' || end[1] > '9')
            return 0;
        last = strtoull(end + 1, &end, 10);
        if (*end != '\0' || last < first)
            return 0;
    }
    if (first >= total)
        return -1;
    if (last >= total)
        last = total - 1;
    *off = first;
    *len = last - first + 1;
    return 1;
}

/* Sets the content headers for the open file f and makes it the body (HEAD: closes it).
 * Returns 0, or the error status (f is then closed). */
static int serve_file(isapi_request *req, host_method_t method, const char *physical,
                      plat_file_t f, const plat_file_info_t *fi, host_body_t *body)
{
    plat_file_info_t info = *fi;
    if (info.is_directory) {
        plat_file_close(f);
        return 404;
    }
    /* Why: IIS 6 and later serve only files whose extension has a MIME type and answer
     * 404 for the rest (mime.h), so a DLL or an .ini under the root is never sent. */
    const char *type = host_mime_type(physical);
    if (!type) {
        plat_file_close(f);
        return 404;
    }
    char date[PLAT_HTTP_DATE_LEN + 1];
    plat_http_date_format(info.mtime, date);
    isapi_headers_set(&req->resp_headers, "Content-Type", type);
    isapi_headers_set(&req->resp_headers, "Last-Modified", date);
    isapi_headers_set(&req->resp_headers, "Accept-Ranges", "bytes");

    const char *ims = isapi_headers_find(&req->headers, "If-Modified-Since");
    int64_t since;
    if (ims && plat_http_date_parse(ims, strlen(ims), &since) == 0 && info.mtime <= since) {
        plat_file_close(f);
        set_status(req, 304);
        isapi_headers_del(&req->resp_headers, "Content-Type");
        return 0;
    }

    uint64_t off = 0, len = info.size;
    const char *range = isapi_headers_find(&req->headers, "Range");
    /* Why: a Range with If-Range asks for a range only if the file is unchanged; serving
     * the whole file is always a correct answer to it. */
    if (range && !isapi_headers_find(&req->headers, "If-Range")) {
        int r = parse_range(range, info.size, &off, &len);
        if (r < 0) {
            plat_file_close(f);
            char cr[48];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)info.size);
            host_error_page(req, 416, body);
            isapi_headers_set(&req->resp_headers, "Content-Range", cr);
            return 0;
        }
        if (r > 0) {
            char cr[80];
            snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1), (unsigned long long)info.size);
            isapi_headers_set(&req->resp_headers, "Content-Range", cr);
            set_status(req, 206);
        } else {
            off = 0;
            len = info.size;
            set_status(req, 200);
        }
    } else {
        set_status(req, 200);
    }
    set_length(req, len);
    if (method == HOST_METHOD_HEAD) {
        plat_file_close(f);
        return 0;
    }
    body->file = f;
    body->offset = off;
    body->length = len;
    return 0;
}

/* The status for a file that could not be opened. A name longer than the file system
 * allows (PLAT_ENAMETOOLONG) cannot exist, so it is a 404 like any missing file; a URL too
 * long for the server's buffers was already refused with a 414 by host_url_path(). */
static int open_error_status(int rc)
{
    switch (rc) {
    case PLAT_ENOENT: case PLAT_EINVAL: case PLAT_ENAMETOOLONG: case PLAT_EOUTSIDE:
        return 404;
    case PLAT_EACCES:
        return 403;
    default:
        return 500;
    }
}

static int is_sep(char c)
{
    return c == '/' || c == PLAT_PATH_SEP;
}

int host_path_has_dot_segment(const char *path)
{
    for (const char *p = path; *p;) {
        while (is_sep(*p))
            p++;
        size_t n = 0;
        while (p[n] && !is_sep(p[n]))
            n++;
        /* Why .well-known is served: RFC 8615 reserves it for exactly that (ACME
         * challenges, security.txt). */
        if (n > 0 && p[0] == '.' && !(n == 11 && memcmp(p, ".well-known", 11) == 0))
            return 1;
        p += n;
    }
    return 0;
}

/* Length of folder at the start of physical (spelled as configured, as plat_path_join
 * wrote it), or 0 when physical does not start with it. */
static size_t folder_prefix(const char *folder, const char *physical)
{
    size_t n = strlen(folder);
    if (n == 0 || strncmp(physical, folder, n) != 0)
        return 0;
    return (is_sep(folder[n - 1]) || physical[n] == '\0' || is_sep(physical[n])) ? n : 0;
}

/* The folder a static file must lie in: the site root or a virtual directory's folder,
 * the longest one that starts physical, with *real set to its real path. Why virtual
 * directories count: IIS serves files from a directory's folder wherever it is (often
 * outside the site's root), with Read access. Returns 0, *real the root's, when a URL_MAP
 * filter mapped the request somewhere neither spells. */
static size_t containing_folder(const host_config_t *cfg, const char *physical,
                                const char **real)
{
    size_t best = folder_prefix(cfg->root, physical);
    *real = cfg->root_real;
    for (size_t i = 0; i < cfg->nvdirs; i++) {
        size_t n = folder_prefix(cfg->vdirs[i].path, physical);
        if (n > best && cfg->vdirs[i].path_real[0]) {
            best = n;
            *real = cfg->vdirs[i].path_real;
        }
    }
    return best;
}

/* Opens physical under the follow_symlinks rule, refusing hidden names first. */
static int open_checked(const host_config_t *cfg, const char *url_path, const char *physical,
                        plat_file_t *f, plat_file_info_t *info)
{
    const char *within;
    size_t root_len = containing_folder(cfg, physical, &within);
    if (!cfg->serve_dotfiles
        && (host_path_has_dot_segment(url_path)
            || (root_len && host_path_has_dot_segment(physical + root_len))))
        return PLAT_EOUTSIDE;
    plat_links_t links = cfg->follow_symlinks == HOST_SYMLINKS_ALWAYS ? PLAT_LINKS_ALWAYS
                         : cfg->follow_symlinks == HOST_SYMLINKS_NEVER ? PLAT_LINKS_NEVER
                                                                       : PLAT_LINKS_INSIDE;
    /* A configuration that was never validated has no real root: nothing passes. */
    if (links != PLAT_LINKS_ALWAYS && within[0] == '\0')
        return PLAT_EOUTSIDE;
    return plat_file_open_within(physical, root_len, within, links, f, info);
}

void host_static_respond(const host_config_t *cfg, isapi_request *req, host_method_t method,
                         const char *url_path, const char *physical, host_body_t *body)
{
    if (method != HOST_METHOD_GET && method != HOST_METHOD_HEAD) {
        host_error_page(req, method == HOST_METHOD_OTHER ? 501 : 405, body);
        if (method != HOST_METHOD_OTHER)
            isapi_headers_set(&req->resp_headers, "Allow", "GET, HEAD");
        return;
    }
    /* Open first: one open and one fstat for the common case of a file. */
    plat_file_t f;
    plat_file_info_t info;
    int rc = open_checked(cfg, url_path, physical, &f, &info);
    if (rc == 0) {
        int status = serve_file(req, method, physical, f, &info, body);
        if (status)
            host_error_page(req, status, body);
        return;
    }
    if (rc != PLAT_EISDIR) {
        host_error_page(req, open_error_status(rc), body);
        return;
    }
    size_t ulen = strlen(url_path);
    if (ulen == 0 || url_path[ulen - 1] != '/') {
        /* Why: IIS answers a folder URL without its slash with a redirect to the slashed
         * URL, so relative links in the default document resolve. */
        const char *q = strchr(req->url ? req->url : "", '?');
        size_t qlen = q ? strlen(q) : 0;
        char *loc = isapi_request_alloc(req, ulen + 2 + qlen);
        host_error_page(req, 301, body);
        if (loc) {
            memcpy(loc, url_path, ulen);
            loc[ulen] = '/';
            memcpy(loc + ulen + 1, q ? q : "", qlen);
            loc[ulen + 1 + qlen] = '\0';
            isapi_headers_set(&req->resp_headers, "Location", loc);
        }
        return;
    }
    char doc[HOST_PATH_MAX + 80];
    for (size_t i = 0; i < cfg->ndefault_docs; i++) {
        if (plat_path_join(doc, sizeof doc, physical, cfg->default_docs[i]) < 0)
            continue;
        if (open_checked(cfg, url_path, doc, &f, &info) == 0) {
            int status = serve_file(req, method, doc, f, &info, body);
            if (status)
                host_error_page(req, status, body);
            return;
        }
    }
    host_error_page(req, 403, body);
}
