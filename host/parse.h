/*
 * parse.h - the HTTP/0.9, 1.0 and 1.1 request parser and the body-framing helpers.
 *
 * Everything here is pure: no allocation, no global state, no I/O. The request parser works
 * in the style of picohttpparser's phr_parse_request(): the caller owns the receive buffer
 * and the header array, and gets back slices (pointer + length) into its own buffer. It is
 * called again with the whole buffer each time more bytes arrive, until it answers with a
 * complete request head (> 0), or a refusal (-1) that carries the HTTP status to send.
 *
 * Status codes the parser family answers with: 400 malformed, 411 length required,
 * 413 body too large, 414 request line too long, 417 unknown expectation, 431 header
 * too large, 501 transfer coding not implemented, 505 HTTP version not supported.
 * Decisions where RFC 9112 leaves a choice are written at each function below.
 */
#ifndef HOST_PARSE_H
#define HOST_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Return codes of host_parse_request() and host_chunked_decode(). */
#define HOST_PARSE_ERROR      (-1)   /* refuse the request; *http_status says how */
#define HOST_PARSE_INCOMPLETE (-2)   /* call again with more bytes */

/* A piece of the caller's buffer. Never NUL-terminated. */
typedef struct host_slice {
    const char *base;
    size_t len;
} host_slice_t;

typedef enum host_http_version {
    HOST_HTTP_09 = 9,     /* simple request: "GET /path" and a line end, nothing else */
    HOST_HTTP_10 = 10,
    HOST_HTTP_11 = 11
} host_http_version_t;

typedef enum host_method {
    HOST_METHOD_OTHER = 0,  /* a well-formed token the server does not know: 501/405 later */
    HOST_METHOD_GET,
    HOST_METHOD_HEAD,
    HOST_METHOD_POST,
    HOST_METHOD_PUT,
    HOST_METHOD_DELETE,
    HOST_METHOD_OPTIONS,
    HOST_METHOD_TRACE,
    HOST_METHOD_CONNECT,
    HOST_METHOD_PATCH
} host_method_t;

/* RFC 9112 section 3.2: the four shapes a request-target can take. */
typedef enum host_target_form {
    HOST_TARGET_ORIGIN,     /* "/path?query" */
    HOST_TARGET_ABSOLUTE,   /* "http://host/path" (scheme ":" ...) */
    HOST_TARGET_AUTHORITY,  /* "host:port", CONNECT only */
    HOST_TARGET_ASTERISK    /* "*", OPTIONS only */
} host_target_form_t;

typedef struct host_request_line {
    host_slice_t method;            /* case-sensitive token, e.g. "GET" */
    host_method_t method_id;        /* host_method_classify(method) */
    host_slice_t target;            /* exactly as received, not decoded */
    host_target_form_t form;
    host_slice_t version_token;     /* "HTTP/1.1"; empty (len 0) for HTTP/0.9 */
    host_http_version_t version;
} host_request_line_t;

typedef struct host_header {
    host_slice_t name;              /* token, case as received */
    host_slice_t value;             /* leading and trailing SP/HTAB removed; may be empty */
} host_header_t;

/*
 * Size limits. A limit that is hit gives the status named here, whether the offending line
 * is complete or still arriving, so a client cannot make the server buffer past a limit.
 * Lengths of lines exclude their line end (CRLF or LF).
 */
typedef struct host_parse_limits {
    size_t max_request_line;   /* request line bytes                 -> 414 */
    size_t max_header_line;    /* one header line's bytes            -> 431 */
    size_t max_header_bytes;   /* the whole head as received: leading
                                  empty lines, request line, headers,
                                  final empty line, line ends        -> 431 */
    size_t max_headers;        /* header lines (also capped by the
                                  caller's array, see below)         -> 431 */
} host_parse_limits_t;

/* Every limit must be between 1 and this (so a head size always fits in an int). */
#define HOST_PARSE_LIMIT_MAX ((size_t)64 * 1024 * 1024)

/* 8192 / 8192 / 65536 / 100. */
extern const host_parse_limits_t host_parse_default_limits;

/* 1 when every field is within 1..HOST_PARSE_LIMIT_MAX, else 0 (check configuration with it). */
int host_parse_limits_valid(const host_parse_limits_t *limits);

/*
 * host_parse_request - parse the request head at the start of buf[0..len).
 *
 *   rl           out: the request line (on success; unspecified otherwise).
 *   headers      out: caller's array, filled in order of arrival (on success).
 *   num_headers  in: capacity of headers; out: headers found (written on success only).
 *                More header lines than min(capacity, limits->max_headers) -> 431.
 *   last_len     0, or the len of the previous call on the same growing buffer when that
 *                call returned HOST_PARSE_INCOMPLETE. The buffer may have moved, but its
 *                first last_len bytes must be unchanged. With it, a call that brings no new
 *                line end costs a bounded scan instead of a full reparse.
 *   limits       NULL for host_parse_default_limits. Invalid limits abort() (a broken
 *                contract, not client input).
 *   http_status  out: set when the result is HOST_PARSE_ERROR.
 *
 * Returns the number of bytes in the head (> 0; the request body or the next pipelined
 * request starts there), HOST_PARSE_INCOMPLETE, or HOST_PARSE_ERROR.
 *
 * Grammar and decisions:
 * - Line ends are CRLF or a bare LF, everywhere; a CR anywhere else is a 400.
 * - Up to 10 empty lines before the request line are skipped (RFC 9112 section 2.2 says
 *   "at least one"; 10 is Apache's limit); the 11th is a 400.
 * - Request line: method SP request-target [SP version], single spaces, nothing after.
 *   Method: one or more tchar; unknown methods are passed on with HOST_METHOD_OTHER.
 *   Target: any byte except CTL (0x00-0x1F, 0x7F) and SP; bytes >= 0x80 are passed on.
 *   "*" is accepted for OPTIONS only, authority-form for CONNECT only, otherwise the
 *   target starts with "/" or with a scheme and ":"; anything else is a 400.
 * - No version token: a simple request (HTTP/0.9), complete at its line end, with no
 *   headers. Only GET exists in HTTP/0.9, so any other method there is a 400.
 * - Version token: "HTTP/" DIGIT "." DIGIT, case-sensitive. HTTP/1.0 and HTTP/1.1 are
 *   accepted. Any other well-formed version is a 505, including an explicit "HTTP/0.9"
 *   (a request with a version token is a full request, which HTTP/0.9 never had; nginx
 *   answers "HTTP/2.0" the same way) and "HTTP/1.2" (RFC 9112 section 2.3 would let a
 *   server treat it as 1.1; this server speaks exactly the versions it knows). Anything
 *   else, such as "HTTP/1.10", "http/1.1", "HTTP/2" or a trailing space, is a 400.
 * - Header line: field-name (tchar, at least one) ":" OWS value OWS. Whitespace before the
 *   colon (RFC 9112 section 5.1) and obsolete line folding (a line starting with SP or
 *   HTAB, section 5.2) are 400s. Value bytes: HTAB, SP, VCHAR and 0x80-0xFF; any other
 *   control byte (NUL, CR, DEL, ...) is a 400.
 * - Errors are reported line by line: a line's content is judged when its line end has
 *   arrived; before that only the size limits apply. So feeding the same bytes in any
 *   number of pieces gives the same answer as feeding them at once.
 */
int host_parse_request(const char *buf, size_t len, host_request_line_t *rl,
                       host_header_t *headers, size_t *num_headers, size_t last_len,
                       const host_parse_limits_t *limits, int *http_status);

/* The method token, case-sensitively (RFC 9110 section 9.1): "get" is HOST_METHOD_OTHER. */
host_method_t host_method_classify(const char *method, size_t len);

/* Index of the first header at or after `from` whose name equals `name` ignoring ASCII
 * case, or num_headers when there is none. */
size_t host_header_find(const host_header_t *headers, size_t num_headers, const char *name,
                        size_t from);

/* --- Host (RFC 9112 section 3.2) ------------------------------------------------------ */

/*
 * host_parse_host_valid - 1 when value[0..len) is a valid Host field value, else 0.
 * Grammar (RFC 9110 section 7.2, RFC 3986 section 3.2.2): uri-host [ ":" port ], where
 * uri-host is an IP-literal ("[" IPv6address "]" or "[v" HEXDIG "." ... "]"), or a
 * reg-name of unreserved characters, percent-encodings and sub-delims (which covers
 * IPv4). Decisions: the host must not be empty (RFC 9110 section 4.2.1: an "http" URI
 * with an empty host is invalid, so "Host:" and "Host: :80" are refused), a zone
 * identifier ("%25eth0") inside brackets is refused (RFC 9110 does not take RFC 6874),
 * and the port, which may be empty ("a:"), is at most 65535.
 */
int host_parse_host_valid(const char *value, size_t len);

/*
 * host_parse_host - the Host fields of a parsed request. Returns 0, or HOST_PARSE_ERROR
 * with *http_status = 400 when an HTTP/1.1 request carries no Host field, or a request of
 * any version carries more than one or an invalid one (host_parse_host_valid). RFC 9112
 * section 3.2 requires the 400 for each. HTTP/1.0 may omit Host; HTTP/0.9 has no fields.
 */
int host_parse_host(const host_request_line_t *rl, const host_header_t *headers,
                    size_t num_headers, int *http_status);

/* --- Body framing (RFC 9112 section 6) ------------------------------------------------ */

typedef enum host_body_kind {
    HOST_BODY_NONE,      /* no body */
    HOST_BODY_LENGTH,    /* exactly content_length bytes (which may be 0) */
    HOST_BODY_CHUNKED    /* decode with host_chunked_decode() */
} host_body_kind_t;

typedef struct host_body_framing {
    host_body_kind_t kind;
    uint64_t content_length;   /* HOST_BODY_LENGTH only */
} host_body_framing_t;

/*
 * host_parse_body_framing - decide how the request body is delimited.
 *
 * Returns 0 and fills *out, or HOST_PARSE_ERROR with *http_status:
 * - HTTP/0.9: never a body.
 * - Transfer-Encoding in an HTTP/1.0 request: 400 (RFC 9112 section 6.1 says the framing
 *   must be treated as faulty). With Content-Length as well: 400 (the request-smuggling
 *   guard of section 6.3). The codings of every Transfer-Encoding field, in order, must be
 *   exactly one "chunked" (empty list elements allowed): a coding this server does not
 *   implement is a 501 (as nginx; section 6.1), "chunked" twice or a malformed or empty
 *   list is a 400.
 * - Content-Length: each field and each comma-separated element is 1*DIGIT; all values
 *   must be equal (RFC 9110 section 8.6 allows repeated identical values); otherwise, or
 *   when the value does not fit in 64 bits, a 400. A value above max_body is a 413.
 * - Neither: POST and PUT get a 411 (RFC 9110 section 15.5.12 lets a server refuse a
 *   request without a defined length; these two methods exist to carry content), in
 *   HTTP/1.0 as in 1.1. Every other method, PATCH included, then has no body.
 */
int host_parse_body_framing(const host_request_line_t *rl, const host_header_t *headers,
                            size_t num_headers, uint64_t max_body, host_body_framing_t *out,
                            int *http_status);

/*
 * Incremental chunked decoder in the style of picohttpparser's phr_decode_chunked().
 * Initialise with host_chunked_init(); the struct is the whole state, the caller keeps it
 * between calls. Chunk extensions are skipped; trailer fields are skipped, not reported.
 */
typedef struct host_chunked_decoder {
    uint64_t bytes_left;       /* of the current chunk's data */
    uint64_t total;            /* body bytes decoded so far */
    uint64_t max_body;         /* total above this -> 413 */
    size_t line_len;           /* bytes of the size line or trailer line so far */
    size_t trailer_bytes;      /* bytes of the trailer section so far */
    unsigned hex_digits;       /* digits of the current chunk size */
    int state;
} host_chunked_decoder_t;

/* Longest chunk-size line (extensions included) before a 400, and largest trailer
 * section before a 431. */
#define HOST_CHUNK_LINE_MAX    4096
#define HOST_CHUNK_TRAILER_MAX 8192

void host_chunked_init(host_chunked_decoder_t *d, uint64_t max_body);

/*
 * host_chunked_decode - decode buf[0..len) in place.
 *
 * The decoded body bytes are moved to buf[0..*decoded) (they never overtake the bytes
 * still to be read, so in-place is safe). *consumed says how many input bytes were used.
 * Returns:
 *   0                      the body ended (last chunk and trailers read); buf[*consumed..len)
 *                          is untouched and belongs to the next request.
 *   HOST_PARSE_INCOMPLETE  all len bytes were used (*consumed == len); call again with the
 *                          next bytes and the same decoder.
 *   HOST_PARSE_ERROR       *http_status: 400 for a bad chunk size (no hex digit, a stray
 *                          byte after it, a value that does not fit in 64 bits), a missing
 *                          CRLF after the data, a control byte in an extension or a
 *                          trailer, or a size line (line end included) longer than
 *                          HOST_CHUNK_LINE_MAX; 413 as soon as a chunk size would take the
 *                          body past max_body; 431 when the trailer section (final empty
 *                          line included) passes HOST_CHUNK_TRAILER_MAX. Do not call again.
 * Bare LF is accepted wherever CRLF is expected, as in the head.
 */
int host_chunked_decode(host_chunked_decoder_t *d, char *buf, size_t len, size_t *decoded,
                        size_t *consumed, int *http_status);

/* --- Connection and Expect ------------------------------------------------------------ */

/* Tokens found in all Connection fields (comma lists, any ASCII case). */
#define HOST_CONN_CLOSE      0x1u
#define HOST_CONN_KEEP_ALIVE 0x2u
#define HOST_CONN_UPGRADE    0x4u
#define HOST_CONN_OTHER      0x8u   /* any other token (a hop-by-hop header name) */

unsigned host_parse_connection(const host_header_t *headers, size_t num_headers);

/* 1 when the connection may stay open after this request: HTTP/1.1 unless "close",
 * HTTP/1.0 only with "keep-alive" and without "close", HTTP/0.9 never. */
int host_request_keep_alive(const host_request_line_t *rl, const host_header_t *headers,
                            size_t num_headers);

/*
 * host_parse_expect - read the Expect fields (RFC 9110 section 10.1.1).
 * Returns 0 with *expect_continue = 1 when the client waits for "100 Continue", 0 when not;
 * HOST_PARSE_ERROR with *http_status = 417 for any expectation other than "100-continue"
 * (any case). HTTP/1.0 and 0.9 requests: Expect is ignored, as the RFC requires for
 * 100-continue, and *expect_continue = 0.
 */
int host_parse_expect(const host_request_line_t *rl, const host_header_t *headers,
                      size_t num_headers, int *expect_continue, int *http_status);

#endif
