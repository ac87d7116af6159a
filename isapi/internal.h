/*
 * internal.h - the engine's private structures and the functions its files share.
 * Nothing outside isapi/ (and its unit tests) includes this header.
 */
#ifndef ISAPI_INTERNAL_H
#define ISAPI_INTERNAL_H

#include "isapi.h"

/* Notification slots: one ordered call list per slot (dispatch.c). */
enum isapi__notif {
    ISAPI__N_READ_RAW, ISAPI__N_PREPROC, ISAPI__N_URL_MAP, ISAPI__N_AUTHENT,
    ISAPI__N_AUTH_COMPLETE, ISAPI__N_ACCESS_DENIED, ISAPI__N_SEND_RESPONSE,
    ISAPI__N_SEND_RAW, ISAPI__N_END_OF_REQUEST, ISAPI__N_LOG, ISAPI__N_END_OF_NET_SESSION,
    ISAPI__N_COUNT
};

/* Every notification bit a filter may register; anything else in dwFlags is ignored. */
#define ISAPI__NOTIFY_ALL (SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | \
    SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | \
    SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_SEND_RAW_DATA | \
    SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION)
#define ISAPI__PORTS (SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT)

typedef BOOL  (WINAPI *isapi__gfv_fn)(HTTP_FILTER_VERSION *);
typedef DWORD (WINAPI *isapi__hfp_fn)(HTTP_FILTER_CONTEXT *, DWORD, LPVOID);
typedef BOOL  (WINAPI *isapi__term_fn)(DWORD);

typedef struct isapi__filter {
    char *path;
    char desc[SF_MAX_FILTER_DESC_LEN];
    HMODULE module;
    isapi__gfv_fn get_filter_version;
    isapi__hfp_fn proc;
    isapi__term_fn terminate;
    DWORD flags;        /* normalised: notification bits | port bits | one order bit */
    int rank;           /* position in the global call order, 0 = called first */
    volatile LONG raw_overrun_logged[2]; /* a READ [0] / SEND [1] RAW_DATA length was
                                            clamped and logged */
} isapi__filter;

struct isapi_engine {
    DWORD server_filter_version;
    size_t alloc_cap;
    isapi_log_fn log;
    void *log_ctx;
    int (*loader_path)(const char *path, char *out, size_t outlen);
    char *server_software;
    char *appl_physical_path;
    isapi__filter *filters;     /* load order */
    size_t nfilters;
    /* [secure][notification] -> filter indices in call order (SEND_RAW reversed) */
    size_t *lists[2][ISAPI__N_COUNT];
    size_t nlist[2][ISAPI__N_COUNT];
    volatile LONG inflight;     /* filter calls in progress */
    char load_fault[512];       /* what crashed GetFilterVersion, for the loader's message */
    struct isapi__extensions *exts;   /* extension.c; NULL until the first is loaded */
    struct isapi__stats *stats; /* dispatch.c; NULL: calls are neither counted nor timed */
};

/* One per (connection, filter). `fc` is what the filter sees; fc.ServerContext points back
 * here so every callback knows its connection and its caller. */
typedef struct isapi__slot {
    HTTP_FILTER_CONTEXT fc;
    isapi_conn *conn;
    size_t filter;
    DWORD disabled;             /* DISABLE_NOTIFICATIONS mask for the current request */
} isapi__slot;

typedef struct isapi__block {
    struct isapi__block *next;
    uintptr_t user;             /* the user part handed to the filter */
    size_t size;                /* its length in bytes */
} isapi__block;

/* One block of a request arena; its bytes follow it. */
typedef struct isapi__chunk {
    struct isapi__chunk *older;
    size_t size;                /* bytes after this header */
} isapi__chunk;

/* A request arena (arena.c): strings bumped off the newest chunk, freed all at once. */
struct isapi_arena {
    isapi__chunk *chunks;       /* newest first; the oldest, the first block, is kept */
    char *at, *end;             /* the free part of the newest chunk */
    int failed;                 /* an allocation failed: the request's out-of-memory flag */
    unsigned long fail_countdown; /* fault injection (test builds): fail the allocation
                                     this count reaches 0 at; 0 = none */
};

struct isapi_conn {
    isapi_engine *e;
    void *host;
    const isapi_ops *ops;
    char *local_addr, *local_port, *remote_addr, *remote_port, *server_name;
    int secure;
    DWORD instance_id;
    isapi__slot *slots;         /* indexed like e->filters */

    isapi__block *blocks;       /* AllocMem arena */
    size_t alloc_used;
    isapi_arena strings;        /* the request arena: every string of the current request */

    /* the current request */
    isapi_request req;
    int have_req;
    int req_parsed;             /* PREPROC_HEADERS was raised: request variables exist */
    int in_preproc;             /* inside the PREPROC_HEADERS chain */
    char *url_before_preproc;   /* URL variable during the PREPROC_HEADERS chain (arena) */
    char *added;                /* AddResponseHeaders text, CRLF-terminated lines */
    char *denial;               /* SF_REQ_ADD_HEADERS_ON_DENIAL text */
    int resp_sent;              /* SEND_RESPONSE raised: no more AddResponseHeaders */
    int ssrh_done;              /* SF_REQ_SEND_RESPONSE_HEADER used */
    int output_dead;            /* response output stopped: drop everything */
    isapi_rc dead_rc;
    int must_close;
    DWORD send_error;
    DWORD filter_error;
    int proxy;                  /* SF_REQ_SET_PROXY_INFO */
    struct isapi__ecb *ext_session;   /* the request's extension session after
                                         HSE_STATUS_PENDING (extension.c) */

    /* READ_RAW_DATA state */
    unsigned char *rbuf;
    size_t rcap;
    unsigned char *pending;     /* buffer kept for the filter that returned READ_NEXT */
    size_t npending;
    size_t read_next_at;        /* list position of that filter, or (size_t)-1 */
    DWORD next_read_size;

    /* which filter call is running (saved and restored around nested calls) */
    DWORD cur_notif;
    isapi__slot *cur_slot;
    int closing;
};

/* ---- The functions the engine's files share, by the file that defines them. The call
 * graph between the files has one cycle, callbacks.c <-> dispatch.c (a filter's
 * WriteClient raises SEND_RAW_DATA); tests/unit/isapi/check_cycles.py keeps it so. ---- */

/* dispatch.c: raising notifications.
 * isapi__invoke is the one function through which every call into filter code goes. kind:
 * 0 = GetFilterVersion(pv), 1 = HttpFilterProc(slot, notif, pv), 2 = TerminateFilter.
 * Returns the filter's return value; for HttpFilterProc an SF_STATUS_REQ_ERROR also
 * records GetLastError() in the connection. A contained crash (guard.h) is logged and
 * returns SF_STATUS_REQ_ERROR (last error ERROR_UNHANDLED_EXCEPTION, the connection marked
 * must-close); in GetFilterVersion it returns FALSE with that last error and the
 * description in e->load_fault. */
enum { ISAPI__CALL_VERSION, ISAPI__CALL_PROC, ISAPI__CALL_TERMINATE };
DWORD isapi__invoke(isapi_engine *e, isapi__filter *f, isapi__slot *s, int kind,
                    DWORD notif, void *pv);

/* dispatch.c: sets the call isapi_describe_current_call() reports for this thread (an
 * extension's DLL and entry point) and returns the previous one through saved_*; restore it
 * with a second call. */
void isapi__current_call_swap(const char *dll, const char *what, const char **saved_dll,
                              const char **saved_what);
const char *isapi__notif_name(DWORD bit);   /* "SF_NOTIFY_PREPROC_HEADERS" */
int isapi__build_lists(isapi_engine *e);   /* 0, or -1 (out of memory, lists unchanged) */
void isapi__stats_free(isapi_engine *e);
isapi_rc isapi__walk(isapi_conn *c, int ni, void *pv, size_t from, int limit,
                     size_t *stopped_at);
/* isapi_notify_read_raw for a request already begun (conn.c begins it when needed). */
isapi_rc isapi__raise_read_raw(isapi_conn *c, const void *data, size_t len,
                               const void **out, size_t *out_len);

/* callbacks.c: the function pointers handed to filters */
void isapi__init_context(isapi_conn *c, isapi__slot *s, size_t filter);
void isapi__fill_preproc(HTTP_FILTER_PREPROC_HEADERS *p);
void isapi__fill_send_response(HTTP_FILTER_SEND_RESPONSE *p);
void isapi__fill_auth_complete(HTTP_FILTER_AUTH_COMPLETE_INFO *p);

/* strings.c */
int isapi__ieq(const char *a, const char *b);
int isapi__ieqn(const char *a, size_t alen, const char *b, size_t blen);
char *isapi__strndup(const char *s, size_t n);
/* Appends `add` bytes of text to the malloc'ed string *dst. Returns 0 or -1 (out of memory). */
int isapi__append_n(char **dst, const char *text, size_t add);
/* The exact-size protocol: value and its NUL into buf, or ERROR_INSUFFICIENT_BUFFER with
 * the size needed in *size. */
BOOL isapi__size_result(const char *value, size_t len, void *buf, DWORD *size);

/* headers.c: what a filter hands in as header text, and the rule it is checked by. */
enum isapi__hin {
    ISAPI__HIN_BLOCK,   /* "Name: value\r\n..." lines: AddResponseHeaders, the header text of
                           SEND_RESPONSE_HEADER and ADD_HEADERS_ON_DENIAL */
    ISAPI__HIN_NAME,    /* a SetHeader/AddHeader name with its colon, "Name:" */
    ISAPI__HIN_VALUE,   /* a header value */
    ISAPI__HIN_STATUS,  /* a status line, "401 Denied" */
    ISAPI__HIN_TOKEN,   /* the "method" special */
    ISAPI__HIN_TARGET,  /* the "url" and "version" specials: no space, no control byte */
};
/* Returns NULL when `text` is acceptable, else a few words on what is wrong (for the log).
 * For a BLOCK, *keep (may be NULL) receives the length of its lines without the optional
 * final blank line. */
const char *isapi__header_input_fault(enum isapi__hin kind, const char *text, size_t *keep);

/* arena.c: AllocMem */
void *isapi__arena_alloc(isapi_conn *c, DWORD cb);
void isapi__arena_free(isapi_conn *c);
/* When p points into one of the connection's AllocMem blocks: returns 1 and stores in
 * *room how many bytes from p to the block's end. Else 0. */
int isapi__arena_room(const isapi_conn *c, const void *p, size_t *room);

/* arena.c: request arenas. A zeroed isapi_arena is empty and valid. */
/* n (>= 1) bytes, no alignment; NULL when out of memory, and a->failed is set. */
char *isapi__strings_alloc(isapi_arena *a, size_t n);
/* A copy of n bytes of s and a NUL, or NULL (a->failed set). */
char *isapi__strings_dup(isapi_arena *a, const char *s, size_t n);
/* A request begins on the arena (test builds arm the fault injection here). */
void isapi__strings_begin(isapi_arena *a);
/* The request ended: frees every chunk but the first, whose bytes are free again. */
void isapi__strings_reset(isapi_arena *a);
/* Frees every chunk (the connection closes or goes idle). */
void isapi__strings_free(isapi_arena *a);
/* Test builds: the ISAPIHOST_TEST_FAIL_ALLOC setting in force, else NULL (always NULL in
 * builds without ISAPI_FAULT_INJECTION). */
const char *isapi__fault_injection(void);

/* log.c */
void isapi__log(isapi_engine *e, const isapi_conn *c, int level, const char *filter,
                const char *fmt, ...);
void isapi__error_text(DWORD code, char *buf, size_t len);

/* image.c: puts into `out` the reason, in words, why LoadLibrary failed with `code` for
 * `path` (reads the file's PE or ELF header). */
void isapi__explain_load_failure(const char *path, DWORD code, char *out, size_t len);

/* extension.c: TerminateExtension(HSE_TERM_MUST_UNLOAD) and FreeLibrary for every
 * extension, after every HttpExtensionProc returned; called first by
 * isapi_engine_destroy, before the filters are terminated. */
void isapi__extensions_unload(isapi_engine *e);

/* urlnorm.c: isapi_url_normalize() without its shortcut for plain paths, every path through
 * the general rules: the unit tests check the shortcut gives what they give. */
int isapi__url_normalize_general(const char *target, char *out, size_t outlen,
                                 const char **query);
/* urlnorm.c: SF_REQ_NORMALIZE_URL in place: isapi_url_normalize's path, then "?query" as
 * given. Returns 0, or -1 when the URL is refused or out of memory. */
int isapi__normalize_url(char *url);

#endif
