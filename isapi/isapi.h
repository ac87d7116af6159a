/*
 * isapi.h - the ISAPI filter engine: the public API the host (host/) uses.
 *
 * The engine loads filter DLLs, owns one HTTP_FILTER_CONTEXT per (connection, filter),
 * raises notifications in IIS order and implements every callback a filter can make. It is
 * written in the Win32 dialect (windows.h, httpfilt.h) and knows no sockets and no HTTP
 * framing: the host parses requests into an isapi_request, raises the notifications through
 * the isapi_notify_* functions below at the points of its pipeline, and supplies a small
 * table of operations (isapi_ops) for the things only it can do: put bytes on the wire and
 * serialise a response header block.
 *
 * The engine owns the protocol-neutral request model (isapi_request, isapi_headers) and
 * computes every server variable from it, so ISAPI semantics live in one place and can be
 * unit-tested without sockets (docs/semantics.md, "Who owns the request model").
 *
 * Threads: isapi_engine_* load/unload functions run on one thread before the first and after
 * the last connection. Everything else is per connection and strictly sequential for one
 * connection (IIS's model); different connections may be driven concurrently.
 *
 * Strings handed to the engine are copied unless a comment says otherwise. Functions that
 * return `int` return 0 on success and -1 on failure (out of memory) unless documented.
 */
#ifndef ISAPI_ISAPI_H
#define ISAPI_ISAPI_H

#include <stddef.h>
#include <stdint.h>
#include <windows.h>
#include <httpfilt.h>
#include <httpext.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * Header lists
 * ==================================================================================== */

/* One header line. `name` is stored in its original case and WITHOUT the colon. */
typedef struct isapi_header {
    char *name;
    char *value;                /* in the same block, right after the name's NUL */
} isapi_header;

/* The name's length, without a strlen: the value starts right after the name's NUL. */
static inline size_t isapi_header_name_len(const isapi_header *h)
{
    return (size_t)(h->value - h->name) - 1;
}

/* The arena a request's strings come from: owned by the connection, emptied once when the
 * request ends (see isapi_request). Opaque. */
typedef struct isapi_arena isapi_arena;

/* An ordered list of headers (request or response). Zero-initialise it before use
 * (`isapi_headers h = {0};`); isapi_headers_clear() frees everything. Names are matched
 * case-insensitively over their full length, never by prefix (KB 872953); a trailing colon
 * on a lookup name is ignored.
 *
 * A list of one's own (arena NULL) allocates each entry and frees it when it is removed.
 * The request model's two lists take their entries from the request's arena (set by the
 * engine): removing an entry frees nothing, everything goes at once when the request ends,
 * and a failed allocation also sets the request's out-of-memory flag. */
typedef struct isapi_headers {
    isapi_header *v;
    size_t n, cap;
    isapi_arena *arena;         /* NULL, or the request arena entries come from */
} isapi_headers;

/* Appends one instance (never replaces). `nlen`/`vlen` may be (size_t)-1 for NUL-terminated
 * strings. Returns 0, or -1 when out of memory. */
int  isapi_headers_add(isapi_headers *h, const char *name, size_t nlen,
                       const char *value, size_t vlen);
/* Replaces every instance of `name` with one line carrying `value` at the position of the
 * first instance, or appends it when absent. Returns 0 or -1 (out of memory). */
int  isapi_headers_set(isapi_headers *h, const char *name, const char *value);
/* Removes every instance of `name`; returns how many were removed. */
size_t isapi_headers_del(isapi_headers *h, const char *name);
/* First instance's value, or NULL when absent. Valid until the list changes. */
const char *isapi_headers_find(const isapi_headers *h, const char *name);
/* isapi_headers_find() for `count` names (at most 8) in one walk of the entries from index
 * `from` on: values[i] gets the first instance's value of names[i], or NULL. */
void isapi_headers_find_each(const isapi_headers *h, size_t from, const char *const *names,
                             size_t count, const char **values);
/* Removes the entry at index i (< h->n), keeping the order of the others. */
void isapi_headers_remove_at(isapi_headers *h, size_t i);
/* All instances joined with ", " into a new malloc'ed string the caller frees, or NULL when
 * the header is absent (or out of memory: then *oom is set to 1 if oom is not NULL). */
char *isapi_headers_get_joined(const isapi_headers *h, const char *name, int *oom);
/* Parses "Name: value\r\n..." text (LF alone accepted, an empty line ends it) and appends
 * each line. Returns 0, -1 out of memory, -2 when a line has no colon (lines before it
 * are kept). */
int  isapi_headers_parse_block(isapi_headers *h, const char *text);
/* Removes every header and frees the list's storage (a request list stays bound to its
 * arena). */
void isapi_headers_clear(isapi_headers *h);
/* Removes every header but keeps the list's storage for the next use. */
void isapi_headers_reset(isapi_headers *h);

/* ======================================================================================
 * The request model (one per request, owned by the connection)
 * ==================================================================================== */

/* Filled by the host after parsing; read and edited by filters through the callbacks.
 *
 * Memory: one rule, "freed once". Every string of the request (each `char *` below, the
 * entries of `headers` and `resp_headers`, what filters set with SetHeader, the LOG copies,
 * and whatever the host takes with isapi_request_alloc) comes from the request's arena and
 * is freed once, all together, by isapi_request_end(); nothing is freed field by field. Set
 * the fields with isapi_str_set() (or point them at other request memory), never free()
 * them; a string replaced stays valid until the request ends. The arena keeps its first
 * block for the connection's next request (isapi_conn_trim gives it back).
 *
 * A failed allocation never goes unnoticed: besides its own return value it sets the
 * request's out-of-memory flag (isapi_request_out_of_memory), which the host checks after
 * each step of its pipeline and answers with a 500 and a log line. */
typedef struct isapi_request {
    /* request line */
    char *method;            /* "GET" */
    char *url;               /* raw request-target as received, including "?query" */
    char *version;           /* "HTTP/1.1", "HTTP/1.0" or "HTTP/0.9" */
    char *path;              /* decoded path the host routes on; NULL = derive from url */
    isapi_headers headers;   /* request headers, original order and case */

    /* response */
    DWORD status;            /* e.g. 200 */
    char *reason;            /* e.g. "OK" */
    isapi_headers resp_headers;
    int has_header_block;    /* 0 for an HTTP/0.9 strict (body-only) response */

    /* facts for server variables, filled by the host as the pipeline learns them */
    char *auth_type;         /* "" anonymous, "Basic", ... (AUTH_TYPE) */
    char *auth_user;         /* as sent by the client (AUTH_USER, REMOTE_USER) */
    char *auth_password;     /* as sent by the client (AUTH_PASSWORD) */
    char *logon_user;        /* after AUTHENTICATION filters mapped it (LOGON_USER) */
    char *logon_password;    /* password after AUTHENTICATION filters */
    char *physical_path;     /* after URL_MAP (PATH_TRANSLATED) */
    uint64_t content_length; /* request body length (CONTENT_LENGTH) */
    uint64_t bytes_sent;     /* maintained by isapi_send() */
    uint64_t bytes_received; /* maintained by the host */
    uint64_t start_ms;       /* GetTickCount64() at isapi_request_begin() */
    isapi_arena *arena;      /* where the request's strings come from (set by the engine) */
} isapi_request;

/* Sets *field to a copy of s (n bytes, or strlen when n == (size_t)-1) taken from r's
 * arena, or to NULL when s is NULL. `field` may be any pointer that lives no longer than
 * the request (a field of r, or the host's own). Returns 0, or -1 when out of memory: the
 * field is unchanged and r's out-of-memory flag is set. */
int isapi_str_set(isapi_request *r, char **field, const char *s, size_t n);

/* n bytes (no alignment: for text) from r's arena, valid until isapi_request_end(); NULL
 * when out of memory, which also sets r's out-of-memory flag. */
char *isapi_request_alloc(isapi_request *r, size_t n);

/* 1 when an allocation for r's strings or header lists failed since the request began or
 * the flag was last cleared, else 0. */
int isapi_request_out_of_memory(const isapi_request *r);
/* Clears the flag: the host has answered the failure (a 500 replaces the response). */
void isapi_request_clear_out_of_memory(isapi_request *r);

/* ======================================================================================
 * Engine lifecycle
 * ==================================================================================== */

enum isapi_log_level { ISAPI_LOG_ERROR = 0, ISAPI_LOG_WARN = 1, ISAPI_LOG_INFO = 2, ISAPI_LOG_DEBUG = 3 };

/* `filter` is the filter's file path, or NULL for engine-wide messages. */
typedef void (*isapi_log_fn)(void *log_ctx, int level, const char *filter, const char *msg);

typedef struct isapi_config {
    DWORD server_filter_version;  /* 0 = 0x00060000 (IIS 6 semantics) */
    size_t alloc_cap;             /* AllocMem bytes per connection; 0 = 16 MiB */
    isapi_log_fn log;             /* may be NULL */
    void *log_ctx;
    const char *server_software;  /* SERVER_SOFTWARE; NULL = "isapihost/<version>" */
    const char *appl_physical_path; /* APPL_PHYSICAL_PATH (site root); NULL = ""; the engine
                                       appends a separator when it lacks one (IIS's form) */
    /* Turns a filter's path as configured into the form LoadLibraryA takes (the Winelib
     * build: a Linux path into its Windows form). Returns the length, or < 0 when it does
     * not fit outlen. NULL = the path as given. Messages always name the configured path. */
    int (*loader_path)(const char *path, char *out, size_t outlen);
} isapi_config;

typedef struct isapi_engine isapi_engine;

/* Returns a new engine, or NULL when out of memory. `cfg` may be NULL (all defaults);
 * its strings are copied. */
isapi_engine *isapi_engine_create(const isapi_config *cfg);

/* Loads one filter DLL and appends it to the load order. Must not be called while
 * connections are open. Returns:
 *    0  loaded (or already loaded from this path: one load per DLL, a warning is logged);
 *    1  GetFilterVersion returned FALSE: the filter is skipped, a warning with the Win32
 *       error text was logged (nothing when the filter set last error 0);
 *   -1  failure: `err` (if not NULL) receives one line naming the file and the reason in
 *       words, e.g. "filter /x/f.so: HttpFilterProc not exported (The specified procedure
 *       could not be found.)". */
int isapi_engine_load(isapi_engine *e, const char *path, char *err, size_t errlen);

/* Number of filters in use, and their paths / descriptions / normalised flags in load
 * order (i < count). Strings live as long as the engine. */
size_t      isapi_engine_filter_count(const isapi_engine *e);
const char *isapi_engine_filter_path(const isapi_engine *e, size_t i);
const char *isapi_engine_filter_desc(const isapi_engine *e, size_t i);
DWORD       isapi_engine_filter_flags(const isapi_engine *e, size_t i);

/* Waits until no filter call is in flight, calls TerminateFilter(HSE_TERM_MUST_UNLOAD)
 * and FreeLibrary in reverse load order, and frees the engine. Every connection must have
 * been closed first. NULL is allowed. */
void isapi_engine_destroy(isapi_engine *e);

/* ======================================================================================
 * Connections
 * ==================================================================================== */

typedef struct isapi_conn isapi_conn;

/* Where bytes enter the SEND_RAW_DATA chain (docs/isapi-reference.md, "Notifications
 * raised from callbacks"). Host-generated
 * output uses isapi_origin_host(); filter-generated output gets an origin from the engine
 * (passed to isapi_ops.send_response_header). Treat the field as opaque. */
typedef struct isapi_send_origin {
    int limit;
} isapi_send_origin;

isapi_send_origin isapi_origin_host(void);

typedef struct isapi_ops {
    /* Writes `len` bytes to the client, synchronously, after the SEND_RAW_DATA filters
     * ran. Returns 0 or a Win32 error code (e.g. ERROR_NETNAME_DELETED when the peer is
     * gone). Required. */
    DWORD (*write)(void *host_conn, const void *data, size_t len);

    /* SF_REQ_SEND_RESPONSE_HEADER from a filter, for a request with a header block.
     * The engine has already set request->status/reason from `status` ("401 Denied";
     * "200 OK" when the filter passed NULL). The host builds the response header list
     * (its standard headers plus the `added` AddResponseHeaders text plus `extra`, the
     * filter's ul1 text which carries its own final blank line; either may be ""), calls
     * isapi_notify_send_response(), serialises the block (status line with its own
     * protocol version) and passes it to isapi_send(c, *origin, ...) as one chunk.
     * Returns 0 or a Win32 error code, which the filter sees as FALSE + that error.
     * Required. */
    DWORD (*send_response_header)(void *host_conn, isapi_conn *c,
                                  const isapi_send_origin *origin, const char *status,
                                  const char *added, const char *extra);

    /* Log sink for this connection; NULL = the engine's config log. */
    isapi_log_fn log;
    void *log_ctx;

    /* ---- for extensions (isapi/extension.c); NULL where the host runs none ---- */

    /* ReadClient: up to *size bytes of the request body that follow the read-ahead,
     * waiting for at least one. *size = 0 at the end of the body (or when the client
     * closed). Returns 0 or a Win32 error code (ERROR_TIMEOUT, ERROR_NETNAME_DELETED). */
    DWORD (*read_client)(void *host_conn, void *buf, DWORD *size);

    /* A structured header block of an extension (SEND_RESPONSE_HEADER(_EX), redirects,
     * VECTOR_SEND with headers). The engine has set request->status/reason; `headers` is
     * the extension's header text without its final blank line ("" when none). The host
     * builds the block (its standard headers unless the text has them), decides
     * keep-alive (keep_conn: the extension offers to frame its response) and states it in
     * Connection, raises SEND_RESPONSE, and sends the block through isapi_send. Returns 0
     * or a Win32 error code. */
    DWORD (*ext_send_header)(void *host_conn, isapi_conn *c, const char *headers,
                             int keep_conn);

    /* 1 while the client is still connected (HSE_REQ_IS_CONNECTED), else 0. */
    int (*is_connected)(void *host_conn);

    /* HSE_REQ_MAP_URL_TO_PATH(_EX): maps the URL path `url` as the server would
     * (virtual directories, then SF_NOTIFY_URL_MAP) into info (lpszPath, dwFlags,
     * cchMatchingPath, cchMatchingURL). Returns 0, ERROR_INSUFFICIENT_BUFFER when the path
     * does not fit in MAX_PATH bytes (info->lpszPath holds it cut), or another code. */
    DWORD (*map_url)(void *host_conn, isapi_conn *c, const char *url, HSE_URL_MAPEX_INFO *info);

    /* The session of a request whose HttpExtensionProc returned HSE_STATUS_PENDING, and
     * which the host let go (isapi_extension_detach() returned 0), has work: a completion
     * to deliver, or HSE_REQ_DONE_WITH_SESSION. Called from any thread (the extension's
     * own), once per such detach; the host serves the connection again on one of its
     * threads, which calls isapi_extension_resume(). Required for extensions. */
    void (*ext_wake)(void *host_conn);
} isapi_ops;

/* Facts about the connection for server variables; strings are copied. */
typedef struct isapi_conn_info {
    const char *local_addr;   /* LOCAL_ADDR, e.g. "127.0.0.1" */
    const char *local_port;   /* SERVER_PORT */
    const char *remote_addr;  /* REMOTE_ADDR (and REMOTE_HOST) */
    const char *remote_port;  /* REMOTE_PORT */
    const char *server_name;  /* SERVER_NAME when the request has no Host header; NULL = local_addr */
    int secure;               /* TLS connection: fIsSecurePort, HTTPS=on, SERVER_PORT_SECURE=1 */
    DWORD instance_id;        /* INSTANCE_ID; 0 = 1 */
} isapi_conn_info;

/* Opens a connection: one HTTP_FILTER_CONTEXT per filter, pFilterContext NULL, an empty
 * AllocMem arena. `ops` must outlive the connection; `host_conn` is passed back to it.
 * Returns NULL when out of memory. */
isapi_conn *isapi_conn_open(isapi_engine *e, void *host_conn, const isapi_ops *ops,
                            const isapi_conn_info *info);

/* Raises END_OF_NET_SESSION (exactly once, even if called for a connection whose request
 * is still open: that request is ended first), then frees the AllocMem arena and the
 * connection. Never call it from inside a notification of the same connection (e.g. from
 * isapi_ops.write): record the failure and close after the notification returned. NULL is
 * allowed. */
void isapi_conn_close(isapi_conn *c);

/* Starts a request on the connection: resets DISABLE_NOTIFICATIONS masks, the
 * AddResponseHeaders / ADD_HEADERS_ON_DENIAL buffers and the "response header sent"
 * state, and returns the empty request model the host fills (valid until
 * isapi_request_end). Call it before the request's first READ_RAW_DATA (which begins one
 * itself when none is open). Never NULL: beginning a request allocates nothing, the
 * connection holds the model and its arena takes its first block at the first string. A
 * request still open is ended first. */
isapi_request *isapi_request_begin(isapi_conn *c);
isapi_request *isapi_conn_request(isapi_conn *c);   /* current request or NULL */
/* Ends the request: empties its arena in one go (every string of the request model, its
 * header entries, the LOG copies), keeping the arena's first block and the header lists'
 * storage for the connection's next request. */
void isapi_request_end(isapi_conn *c);

/* Gives back what the connection keeps for its next request (the arena's first block)
 * when no request is open; a no-op otherwise. Call it when the connection goes idle, so an
 * idle connection holds no request storage. */
void isapi_conn_trim(isapi_conn *c);

/* True once a filter or the host (through isapi_send) made the connection unusable for
 * keep-alive: a SEND_RAW_DATA filter returned FINISHED/ERROR, or a write failed. */
int isapi_conn_must_close(const isapi_conn *c);

/* True once SEND_RESPONSE was raised for the current request (the host's own response or
 * a filter's SF_REQ_SEND_RESPONSE_HEADER): the host must not send another header block. */
int isapi_conn_response_started(const isapi_conn *c);

/* 1 when a SEND_RAW_DATA filter on this connection's port could see output, else 0.
 * Only when it is 0 may the host send bytes past isapi_send() (a zero-copy file send);
 * it then adds them to request->bytes_sent itself. */
int isapi_conn_sees_send_raw(const isapi_conn *c);
/* 1 when a SEND_RESPONSE filter on this connection's port could change the response
 * headers, else 0 (the lists then stay as the host left them). */
int isapi_conn_sees_send_response(const isapi_conn *c);
/* 1 when filters added response headers (AddResponseHeaders) that the next header block
 * takes (isapi_take_added_headers), else 0. */
int isapi_conn_has_added_headers(const isapi_conn *c);

/* The last error the most recent filter returning SF_STATUS_REQ_ERROR had set
 * (GetLastError() right after its HttpFilterProc) in the current request, else 0. */
DWORD isapi_conn_filter_error(const isapi_conn *c);

/* ======================================================================================
 * Notifications
 * ==================================================================================== */

/* What the host does after a notification (docs/isapi-reference.md, "Return codes"). */
typedef enum isapi_rc {
    ISAPI_CONTINUE = 0,        /* go on with the request */
    ISAPI_FINISHED,            /* a filter answered: stop the pipeline, close after output */
    ISAPI_FINISHED_KEEP_CONN,  /* as FINISHED; keep-alive allowed if the output is
                                  self-delimiting (the host decides) */
    ISAPI_ERROR,               /* abort; isapi_conn_filter_error() has the filter's error
                                  (0 for engine-side failures); no keep-alive */
    ISAPI_READ_NEXT            /* READ_RAW_DATA only: read more and call again */
} isapi_rc;

/* SF_NOTIFY_READ_RAW_DATA for `len` bytes just read. The engine copies them into a private
 * writable buffer and runs the chain. On ISAPI_CONTINUE, *out and *out_len are the bytes as the
 * last filter left them (valid until the next call or isapi_request_end; with no
 * READ_RAW_DATA filter on the connection's port they are `data` itself, uncopied); parse
 * from those. On ISAPI_READ_NEXT the engine keeps the partial buffer of the filter that asked:
 * read more (isapi_next_read_size() is the hint, 0 = host default) and call again with
 * only the new bytes; they pass the filters before that one and are appended. */
isapi_rc isapi_notify_read_raw(isapi_conn *c, const void *data, size_t len,
                               const void **out, size_t *out_len);
DWORD    isapi_next_read_size(const isapi_conn *c);

/* SF_NOTIFY_PREPROC_HEADERS on the current request's headers. Afterwards request
 * variables are available and method/url/version/headers hold the filters' edits: route
 * from them (set request->path after decoding). */
isapi_rc isapi_notify_preproc_headers(isapi_conn *c);

/* SF_NOTIFY_URL_MAP. The host fills `map` (the _EX layout; pszPhysicalPath is a host
 * buffer of cbPathBuff bytes, at least MAX_PATH, filters edit it in place). After the chain
 * request->physical_path is a copy of the final path. */
isapi_rc isapi_notify_url_map(isapi_conn *c, HTTP_FILTER_URL_MAP_EX *map);

/* SF_NOTIFY_AUTHENTICATION with request->auth_user / auth_password (NULL = anonymous)
 * copied into 257-byte buffers. Afterwards request->logon_user / logon_password hold
 * what the filters left (edited in place or pointer replaced). */
isapi_rc isapi_notify_authentication(isapi_conn *c);

/* SF_NOTIFY_AUTH_COMPLETE. *reset_auth (may be NULL) receives fResetAuth. */
isapi_rc isapi_notify_auth_complete(isapi_conn *c, BOOL *reset_auth);

/* SF_NOTIFY_ACCESS_DENIED for a denial about to be sent; `reason` is SF_DENIED_*. The
 * headers of SF_REQ_ADD_HEADERS_ON_DENIAL are available from isapi_take_denial_headers. */
isapi_rc isapi_notify_access_denied(isapi_conn *c, const char *url, const char *phys,
                                    DWORD reason);

/* Moves the pending AddResponseHeaders text (what filters added for the next response
 * block) into `dst` as header lines and clears it. Call it while building a response
 * header block yourself. Returns 0 or -1 (out of memory). */
int isapi_take_added_headers(isapi_conn *c, isapi_headers *dst);
/* Same for SF_REQ_ADD_HEADERS_ON_DENIAL text (append it to a 401/denial response). */
int isapi_take_denial_headers(isapi_conn *c, isapi_headers *dst);

/* SF_NOTIFY_SEND_RESPONSE on request->status/reason/resp_headers, just before the host
 * serialises them. Filters edit them through GetHeader/SetHeader/AddHeader ("status"
 * included). Marks the response header as sent: from now on AddResponseHeaders and
 * SF_REQ_SEND_RESPONSE_HEADER fail. On FINISHED/ERROR send neither block nor body. */
isapi_rc isapi_notify_send_response(isapi_conn *c);

/* Every byte the host writes for the connection goes through here: the header block as
 * its own first chunk, then body chunks. Runs SEND_RAW_DATA (reverse priority order,
 * starting at `origin`) on a private writable copy, then calls ops->write with what is
 * left (nothing when a filter set cbInData = 0). Returns ISAPI_CONTINUE, or
 * ISAPI_FINISHED / ISAPI_ERROR when a filter stopped the output or the write failed:
 * the chunk and everything after it for this request are dropped; close the connection.
 * A zero-length call is a successful no-op. */
isapi_rc isapi_send(isapi_conn *c, isapi_send_origin origin, const void *data, size_t len);

/* SF_NOTIFY_END_OF_REQUEST. Filters may still WriteClient held-back data. */
isapi_rc isapi_notify_end_of_request(isapi_conn *c);

/* SF_NOTIFY_LOG. The host fills `log` (NULL strings are presented as ""). Afterwards the
 * string pointers point at engine-owned copies of what the filters left, valid until
 * isapi_request_end; numeric fields hold the filters' values. */
isapi_rc isapi_notify_log(isapi_conn *c, HTTP_FILTER_LOG *log);

/* Describes the filter call in progress on the calling thread, e.g. "filter /x/f.so in
 * SF_NOTIFY_PREPROC_HEADERS", into buf (NUL-terminated, truncated to len). Returns the
 * length, or 0 when no filter call is in progress on this thread. Async-signal-safe: a
 * crash handler uses it to name the filter that faulted. */
size_t isapi_describe_current_call(char *buf, size_t len);

/* The calling thread's record of its filter call in progress: stable for the thread's
 * life, so a watchdog thread can describe what another thread is stuck in with
 * isapi_describe_call() (same text and return as isapi_describe_current_call). */
typedef struct isapi_call_record isapi_call_record;
isapi_call_record *isapi_thread_call_record(void);
size_t isapi_describe_call(isapi_call_record *rec, char *buf, size_t len);

/* ======================================================================================
 * Call statistics (dispatch.c): per filter and notification, for the host's metrics
 * ==================================================================================== */

/* Upper bounds of the call-time histogram's buckets, in microseconds; a last bucket
 * (+Inf) holds the slower calls. */
#define ISAPI_STATS_BUCKETS 12
extern const unsigned isapi_stats_bucket_us[ISAPI_STATS_BUCKETS];

/* Starts counting every HttpFilterProc call and every contained crash, and with `timed`
 * also timing each call with `clock`, which ticks clock_per_second times a second (the
 * host's plat_ticks; NULL: the performance counter, and clock_per_second is ignored). A
 * walk over a notification's filters reads the clock once before the first call and once
 * after each. Call once, after the filters are loaded and before any connection opens;
 * without it the engine counts nothing and reads no clock. Returns 0, or -1 when out of
 * memory or clock_per_second is 0 (nothing is counted then). */
int isapi_engine_stats_enable(isapi_engine *e, int timed, uint64_t (*clock)(void),
                              uint64_t clock_per_second);

/* 1 when the statistics include call times (enabled with timed), else 0. */
int isapi_engine_stats_timed(const isapi_engine *e);

/* The notifications the engine raises, in a fixed order (i < isapi_notification_count()):
 * the SF_NOTIFY_* bit and its name ("SF_NOTIFY_PREPROC_HEADERS"). */
size_t isapi_notification_count(void);
DWORD isapi_notification_bit(size_t i);
const char *isapi_notification_name(size_t i);

/* One (filter, notification) pair's calls, summed over every thread: le[k] counts the
 * calls that took at most isapi_stats_bucket_us[k] (cumulative), calls counts them all
 * (the +Inf bucket), seconds their total time (untimed statistics: le[] and seconds 0). A read while calls run is not one instant,
 * but le[] never decreases along k and le[last] <= calls always hold. */
typedef struct isapi_call_stats {
    uint64_t calls;
    uint64_t le[ISAPI_STATS_BUCKETS];
    double seconds;
} isapi_call_stats;

/* Fills *out for filter i (load order) and notification n (isapi_notification_bit order).
 * Returns 0, or -1 when statistics are not enabled or i, n are out of range. */
int isapi_engine_call_stats(const isapi_engine *e, size_t i, size_t n, isapi_call_stats *out);

/* Crashes contained in filter i's calls (platforms that contain them, guard.h). */
uint64_t isapi_engine_filter_crashes(const isapi_engine *e, size_t i);

/* ======================================================================================
 * Extensions (isapi/extension.c)
 * ==================================================================================== */

typedef struct isapi_extension isapi_extension;

/* Loads an extension DLL (LoadLibrary, GetExtensionVersion) or finds it loaded. A DLL
 * that is also a loaded filter is the same module: LoadLibrary hands back the one module,
 * whose DllMain ran once. Safe to call from several threads at once (first use of a DLL
 * named in a URL): concurrent callers for one path wait for a single load. Returns 0 with
 * *out set, or -1 with one line in err naming the file and the reason. */
int isapi_engine_load_extension(isapi_engine *e, const char *path, isapi_extension **out,
                                char *err, size_t errlen);
const char *isapi_extension_path(const isapi_extension *x);
const char *isapi_extension_desc(const isapi_extension *x);
size_t isapi_engine_extension_count(const isapi_engine *e);

/* What the host knows about an extension request beyond the request model. Strings are
 * copied for the extension (it sees private copies); NULL means "". */
typedef struct isapi_ext_request {
    const char *script_name;        /* SCRIPT_NAME: the URL of the DLL or mapped script */
    const char *path_info;          /* PATH_INFO and lpszPathInfo */
    const char *path_translated;    /* PATH_TRANSLATED and lpszPathTranslated */
    const char *script_translated;  /* SCRIPT_TRANSLATED */
    const char *appl_md_path;       /* APPL_MD_PATH; NULL = the engine's */
    const char *appl_physical_path; /* APPL_PHYSICAL_PATH; NULL = the engine's */
    uint64_t total_bytes;           /* body length; UINT64_MAX = unknown (chunked) */
    const void *ahead;              /* the body read ahead: lpbData, cbAvailable */
    size_t ahead_len;
    int keep_alive;                 /* the client allows keep-alive and the server would
                                       keep the connection (HSE_REQ_IS_KEEP_CONN) */
    unsigned exec_depth;            /* 0 for a client's request; n for the child request
                                       (HSE_REQ_EXEC_URL) of a request at depth n - 1 */
} isapi_ext_request;

/* How an extension request went, for the host's keep-alive decision and the log. */
typedef struct isapi_ext_result {
    DWORD hse_status;       /* HSE_STATUS_SUCCESS, _SUCCESS_AND_KEEP_CONN or _ERROR */
    int crashed;            /* a fault left HttpExtensionProc (contained: Windows) */
    int header_sent;        /* a structured header block went out */
    int keep_conn;          /* the extension offered to frame its response (fKeepConn) */
    int close_requested;    /* HSE_REQ_CLOSE_CONNECTION, HSE_IO_DISCONNECT_AFTER_SEND */
    int write_failed;       /* a WriteClient failed: the client is gone */
    uint64_t body_bytes;    /* bytes written after the header block (or in all, raw) */
    DWORD status;           /* dwHttpStatusCode at the end */
    DWORD win32_error;      /* last error of an HSE_STATUS_ERROR */
    int pending;            /* HSE_STATUS_PENDING and the session goes on (see below) */
    int abandoned;          /* the session was given up: the connection must close */
    int exec;               /* with pending: the session asked for a child request
                               (HSE_REQ_EXEC_URL); the host runs it now (see below) */
    int child_framed_last;  /* the response's last bytes were a child's framed response
                               (its keep-alive stands unless the request says close) */
    /* the texts stay last: the engine clears and copies a result up to them, and them by
     * their length */
    char log_data[HSE_LOG_BUFFER_LEN + 1];   /* lpszLogData, bounded and terminated */
    char log_param[1024];   /* HSE_APPEND_LOG_PARAMETER texts, concatenated and cut */
} isapi_ext_result;

/* Frees what the calling thread keeps for its next extension request (a spare control
 * block); a thread that ran extension requests calls it before it ends. */
void isapi_thread_cache_free(void);

/* How long a request whose HttpExtensionProc returned HSE_STATUS_PENDING may take to call
 * HSE_REQ_DONE_WITH_SESSION before the host gives up on it (isapi_extension_abandon()). */
#define ISAPI_EXT_PENDING_LIMIT_MS (10u * 60u * 1000u)

/* Runs HttpExtensionProc for the connection's current request (after AUTH_COMPLETE) on
 * the calling thread: ReadClient, WriteClient and ServerSupportFunction are served while
 * it runs. Returns 0, or -1 when out of memory (nothing ran). The result is filled in
 * either case. After HSE_STATUS_PENDING res->pending is set and nothing else of res is
 * meaningful: the session goes on, and the host calls isapi_extension_resume() next (which
 * may already end it: DONE_WITH_SESSION may come before the return). The extension's
 * threads may call its callbacks meanwhile. */
int isapi_extension_run(isapi_conn *c, isapi_extension *x, const isapi_ext_request *rq,
                        isapi_ext_result *res);

/* The pending session of the connection's request, on a thread of the host that serves
 * it alone: delivers the I/O completions queued (their callbacks run here, one at a time,
 * never inside the call that started the operation), then fills res as
 * isapi_extension_run() does: res->pending while the session goes on, else how it ended
 * (the status given to DONE_WITH_SESSION; HSE_STATUS_ERROR after a crash in a callback or
 * when the host abandoned it). Returns 0. */
int isapi_extension_resume(isapi_conn *c, isapi_ext_result *res);

/* The host lets the pending session go: no thread of its serves the request until
 * ops->ext_wake. Returns 1 instead, and keeps the request, when the session already has
 * work (call isapi_extension_resume() again). */
int isapi_extension_detach(isapi_conn *c);

/* 1 when an asynchronous write of the pending session waits for the host's output queue:
 * its bytes are in the queue (they joined it through ops->write while
 * isapi_conn_writing_async() said so, on the host's thread), and its completion follows
 * isapi_extension_write_done(), which the host calls once they have left (error 0) or
 * the connection failed (the Win32 error for the completion: ERROR_NETNAME_DELETED,
 * ERROR_TIMEOUT). Then isapi_extension_resume() delivers it. */
int isapi_extension_write_waiting(isapi_conn *c);
void isapi_extension_write_done(isapi_conn *c, DWORD error);

/* Once the output queue has drained while a write waits: 1 when the write had more to
 * produce (the next pieces of the files of an asynchronous TRANSMIT_FILE or VECTOR_SEND,
 * and the buffers after them) and put them in the queue through ops->write (send them,
 * then ask again), 0 when it has none: call isapi_extension_write_done(). */
int isapi_extension_write_more(isapi_conn *c);

/* 1 when an asynchronous read of the pending session (HSE_REQ_ASYNC_READ_CLIENT) waits for
 * the host: *buf and *size are the extension's buffer and the most it takes. The host, on
 * the thread that serves the request, copies the body's next bytes there (as read_client
 * does, through READ_RAW_DATA and never past the body's end) as soon as some have arrived,
 * waiting on its event loop meanwhile, and calls isapi_extension_read_done() with the
 * count (0 at the end of the body) or the Win32 error (ERROR_NETNAME_DELETED,
 * ERROR_TIMEOUT) for the completion; then isapi_extension_resume() delivers it. */
int isapi_extension_read_waiting(isapi_conn *c, void **buf, DWORD *size);
void isapi_extension_read_done(isapi_conn *c, DWORD bytes, DWORD error);

/* In ops->write: 1 when the bytes belong to an asynchronous write of an extension on the
 * host's own thread: they join the output queue whatever their size, and the call must
 * not wait for the client. */
int isapi_conn_writing_async(const isapi_conn *c);

/* A detached session past ISAPI_EXT_PENDING_LIMIT_MS: returns 1 when it was still detached
 * (no ext_wake will come for it; its callbacks are refused from now on) and the host
 * must call isapi_extension_resume(), which ends it as failed. 0 when a wake is on its
 * way. The control block stays allocated: the extension may still hold it. */
int isapi_extension_abandon(isapi_conn *c);

/* HSE_REQ_EXEC_URL: the limit of nesting (a child's child ...), and the child request a
 * session asked for. Strings are the engine's bounded, checked copies, valid until
 * isapi_extension_exec_done(); NULL means "the parent's". */
#define ISAPI_EXEC_DEPTH_LIMIT 8

typedef struct isapi_exec_request {
    const char *url;                /* "/path?query": checked for control bytes */
    const char *method;             /* an HTTP token */
    const char *headers;            /* a complete "Name: value\r\n" block that parses */
    const unsigned char *entity;    /* with has_entity: the child's whole body */
    size_t entity_len;
    int has_entity;
    DWORD flags;                    /* HSE_EXEC_URL_* */
    const isapi_extension *caller;  /* the extension that asked */
} isapi_exec_request;

/* After isapi_extension_resume() set res->exec: the child request to run (the host routes
 * it and writes its response on the connection). The calling session's own callbacks are
 * refused while it runs (the child uses the request model). */
const isapi_exec_request *isapi_extension_exec_request(isapi_conn *c);

/* The child request ended: GET_EXEC_URL_STATUS answers `status` and `win32` from now on,
 * and the session's completion (cbIO 0, dwError win32) is queued; `framed` says the
 * child's response delimits itself, so the connection may be kept if nothing follows it.
 * The host calls isapi_extension_resume() next. */
void isapi_extension_exec_done(isapi_conn *c, DWORD status, DWORD win32, int framed);

/* ======================================================================================
 * URL normalisation (isapi/urlnorm.c): the one rule set for routing and NORMALIZE_URL
 * ==================================================================================== */

/* Decodes the path part of `target` (origin-form or absolute-form; the query is left out)
 * into out: percent-decoded once, "." and ".." segments resolved, empty segments dropped,
 * a trailing '/' kept. Returns 0, or the HTTP status to refuse it with: 400 for a path that
 * climbs above the root, contains NUL or control bytes, a backslash, an encoded slash
 * (%2F), invalid or overlong UTF-8, or a bad escape; 414 when it does not fit in outlen
 * bytes (the result is never longer than the path part, so outlen = path length + 3 always
 * fits). `query` (may be NULL) receives the text after '?', or "". The host routes on this
 * result and SF_REQ_NORMALIZE_URL gives filters the same (docs/semantics.md). */
int isapi_url_normalize(const char *target, char *out, size_t outlen, const char **query);

/* ======================================================================================
 * Server variables (also for the host's own use, e.g. extensions)
 * ==================================================================================== */

/* The GetServerVariable contract (docs/isapi-reference.md, "GetServerVariable"): on
 * entry *size is the buffer size; on
 * success copies value + NUL, *size = strlen + 1, SetLastError(0), TRUE. Otherwise FALSE
 * and last error: ERROR_INSUFFICIENT_BUFFER (*size = required size, buf may be NULL when
 * *size is 0), ERROR_INVALID_INDEX (unknown name, or a header that is absent),
 * ERROR_NO_DATA (request variable before PREPROC_HEADERS or in END_OF_NET_SESSION),
 * ERROR_INVALID_PARAMETER (NULL name or size). Names are case-insensitive. */
BOOL isapi_get_server_variable(isapi_conn *c, const char *name, void *buf, DWORD *size);

#ifdef __cplusplus
}
#endif

#endif /* ISAPI_ISAPI_H */
