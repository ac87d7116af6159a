/*
 * static.h - the static file handler and the URL path rules in front of it.
 *
 * host_url_path() turns a request-target into the decoded, normalised path the server
 * routes on and filters see as URL (docs/isapi-reference.md, "Server variables");
 * host_static_respond() decides the
 * response for that path: status, content headers and the body to send.
 */
#ifndef HOST_STATIC_H
#define HOST_STATIC_H

#include "config.h"
#include "isapi.h"
#include "os.h"
#include "parse.h"

#include <stdint.h>

/* The body of a response: a file range (owned: host_body_free closes it), a memory buffer
 * (request memory, from the request's arena: it lives as long as the request), or
 * nothing. */
typedef struct host_body {
    plat_file_t file;
    uint64_t offset, length;
    char *mem;
    size_t mem_len;
} host_body_t;

#define HOST_BODY_INIT { PLAT_INVALID_FILE, 0, 0, NULL, 0 }

void host_body_free(host_body_t *b);

/* Decodes the path part of `target` (origin-form or absolute-form; the query is left out)
 * into out: percent-decoded, "." and ".." segments resolved. Returns 0, or the HTTP status
 * to refuse it with: 400 for a path that climbs above the root, contains NUL or control
 * bytes, a backslash, an encoded slash (%2F), invalid or overlong UTF-8, or a bad escape;
 * 414 when it does not fit. `query` (may be NULL) receives the text after '?', or "". */
int host_url_path(const char *target, char *out, size_t outlen, const char **query);

/* Fills req->status/reason, the content headers of req->resp_headers and *body for a
 * request to `url_path` mapped to `physical`. Handles GET and HEAD (other methods: 405
 * with Allow, unknown ones 501), folders (301 to add the slash, default documents, 403),
 * 404, If-Modified-Since (304) and a single byte range (206/416). A file reached through a
 * link that cfg->follow_symlinks refuses, one whose URL or mapped path has a segment
 * starting with '.' (unless cfg->serve_dotfiles), or whose name is too long for the file
 * system is a 404. */

/* 1 when a segment of path ('/' or the platform's separator between segments) starts with
 * '.', other than ".well-known" (RFC 8615), else 0. */
int host_path_has_dot_segment(const char *path);
void host_static_respond(const host_config_t *cfg, isapi_request *req, host_method_t method,
                         const char *url_path, const char *physical, host_body_t *body);

/* A small HTML error page for `status` as the body (in request memory), with Content-Type
 * and Content-Length; sets req->status and reason. A failed allocation sets the request's
 * out-of-memory flag. */
void host_error_page(isapi_request *req, int status, host_body_t *body);

/* The reason phrase of a status code ("Not Found"), "Unknown" for codes it does not know. */
const char *host_reason(int status);

#endif
