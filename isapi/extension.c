/*
 * extension.c - ISAPI extensions: loading (GetExtensionVersion), the
 * EXTENSION_CONTROL_BLOCK, its four callbacks, and unloading (TerminateExtension).
 *
 * Loading: one record per DLL path, kept in a list under one lock; a DLL named in a URL is
 * loaded on its first request while concurrent first requests wait on that lock, so
 * GetExtensionVersion runs once. LoadLibrary hands back the module a filter of the same
 * path already loaded (the loader's count goes up, DllMain does not run again), which is
 * what connectors whose filter and extension halves share globals rely on.
 *
 * A request: isapi_extension_run() builds the control block on the heap (the thread's
 * spare record from its previous request when it has one, see ecb_get) with private
 * copies of every string the extension sees, calls HttpExtensionProc under the same guard
 * as filter calls (guard.h), and reports in an isapi_ext_result what the host needs to end
 * the request: whether a structured header block went out, whether the extension offered
 * to frame its response, the status, the log texts. ConnID is the address of the block's
 * owner record; every callback checks its magic and that the request is still running,
 * and answers FALSE + ERROR_INVALID_PARAMETER otherwise.
 *
 * After HSE_STATUS_PENDING the session outlives the call: the host lets the request go
 * (isapi_extension_detach) and no thread of its waits for the extension. The extension's
 * threads call the callbacks directly; a queued I/O completion or DONE_WITH_SESSION that
 * finds the request let go hands it back to the host (isapi_ops.ext_wake, exactly once per
 * detach, decided under the record's lock), and a thread of the host delivers the
 * completions and ends the request (isapi_extension_resume).
 *
 * Child requests (HSE_REQ_EXEC_URL): the call checks and copies what the extension hands
 * in and records it as the session's asynchronous operation; the host takes it in
 * isapi_extension_resume (res->exec), runs it through its own routing on the request's
 * thread, and ends it with isapi_extension_exec_done, which queues the completion. A
 * child that is an extension gets a record of its own (depth + 1) whose `outer` is the
 * parent's session, put back as the connection's session when the child ends.
 *
 * Output: header blocks go to the host (isapi_ops.ext_send_header), which builds them,
 * raises SEND_RESPONSE and states keep-alive; every other byte goes through isapi_send,
 * so SEND_RAW_DATA filters see the extension's output as they see the server's; that holds
 * for the files of TRANSMIT_FILE and VECTOR_SEND too, which are read with ReadFile (the
 * Win32 API of the build: kernel32, Wine, or libshim natively) and sent in pieces (an
 * asynchronous call's as the output queue drains, see stream_more). Input:
 * ReadClient asks the host (isapi_ops.read_client), which reads the body past the
 * read-ahead through READ_RAW_DATA and never past the body's end; an asynchronous read
 * waits for the host's thread instead (isapi_extension_read_waiting), which reads the same
 * way without waiting for the client.
 *
 * Unloading (isapi__extensions_unload, from isapi_engine_destroy): waits until no
 * HttpExtensionProc runs, then TerminateExtension(HSE_TERM_MUST_UNLOAD) and FreeLibrary
 * per extension, before the filters are terminated (a module that is both is then
 * terminated as extension first, as IIS does).
 *
 * docs/extensions.md lists every member and request code with its support.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "internal.h"

#define ISAPI__ECB_MAGIC 0x45434231u   /* "ECB1" */
#define ISAPI__ECB_TEXT 512             /* the strings and data of most requests fit here */

struct isapi_extension {
    char *path;
    char desc[HSE_MAX_EXT_DLL_NAME_LEN];
    HMODULE module;
    PFN_GETEXTENSIONVERSION get_version;
    PFN_HTTPEXTENSIONPROC proc;
    PFN_TERMINATEEXTENSION terminate;
    struct isapi_extension *next;
};

struct isapi__extensions {
    CRITICAL_SECTION lock;
    /* load order reversed; the list only grows while requests are served, each entry
     * whole before it is published here (release), so lookups walk it without the lock */
    isapi_extension *_Atomic head;
    size_t count;
    volatile LONG inflight;     /* HttpExtensionProc calls running */
};

/* The control block and what the engine keeps beside it for one request. */
typedef struct isapi__ecb {
    EXTENSION_CONTROL_BLOCK ecb;
    DWORD magic;
    volatile LONG running;      /* callbacks are accepted */

    /* asynchronous operation (under lock): one operation at a time, its completion
     * delivered on a thread of the host that serves the request alone, after the
     * initiating call returned */
    int detached;               /* the host let the pending request go: the next
                                   completion or DONE_WITH_SESSION wakes it (ext_wake) */
    int abandoned;              /* the host gave up on the session (no DONE in time) */
    PFN_HSE_IO_COMPLETION io_fn;
    void *io_ctx;
    int op_outstanding;         /* an async operation whose completion is not delivered */
    int completion_ready;
    PFN_HSE_IO_COMPLETION comp_fn;
    void *comp_ctx;
    DWORD comp_bytes, comp_error;
    int done;                   /* HSE_REQ_DONE_WITH_SESSION was called */
    DWORD done_status;
    /* an asynchronous write whose bytes wait in the host's output queue (or, written from
     * a thread the host does not serve the request on, in `deferred`): its completion is
     * queued when the host reports them sent (isapi_extension_write_done) */
    int write_waiting;
    PFN_HSE_IO_COMPLETION write_fn;
    void *write_ctx;
    DWORD write_bytes;          /* the count the extension handed, which cbIO reports */
    DWORD write_error;          /* the error that failed such a write (or an asynchronous
                                   read), for the log */
    char *deferred;             /* body bytes for the host's thread to send, malloc'ed */
    size_t deferred_len, deferred_cap;
    /* what an asynchronous TRANSMIT_FILE or VECTOR_SEND has left to send from its files
     * (and the buffers after them), which the host's thread produces into the output queue
     * a piece at a time as the queue drains (isapi_extension_write_more) */
    struct isapi__stream_item *stream_items;   /* malloc'ed; NULL: no stream */
    size_t stream_count, stream_next;
    char *stream_buf;           /* one piece of a file, malloc'ed */
    HANDLE stream_event;        /* for read_at */
    DWORD stream_error;         /* a read of a file failed: the write completes with it */
    /* an asynchronous read (HSE_REQ_ASYNC_READ_CLIENT) the host performs on the request's
     * thread as the body's bytes arrive, holding no thread meanwhile
     * (isapi_extension_read_waiting); its completion follows isapi_extension_read_done */
    int read_waiting;
    void *read_buf;             /* the extension's buffer, valid until the completion */
    DWORD read_size;
    PFN_HSE_IO_COMPLETION read_fn;
    void *read_ctx;

    /* HSE_REQ_EXEC_URL (under lock): the child request asked for, then run by the host
     * on the request's thread; the session's own callbacks wait for its end */
    int exec_asked;             /* asked, not yet taken by the host (resume) */
    volatile LONG exec_running; /* the host runs the child: the request model is its */
    int exec_finished;          /* a child ended: exec_status is valid */
    HSE_EXEC_URL_STATUS exec_status;
    isapi_exec_request exec;
    PFN_HSE_IO_COMPLETION exec_fn;  /* the callback and context when it was asked for */
    void *exec_ctx;
    char *exec_strings[3];      /* url, method, headers: owned copies */
    unsigned char *exec_entity;
    unsigned depth;             /* 0 for a client's request, n for a child at depth n */
    struct isapi__ecb *outer;   /* the session this child's request interrupted */

    isapi_conn *c;
    isapi_extension *x;
    const isapi_ext_request *rq;    /* &rq_copy */
    isapi_ext_result *res;          /* &result: filled while the session runs */
    isapi_ext_request rq_copy;      /* its strings are the host's, valid for the request */
    DWORD proc_last;                /* GetLastError() after HttpExtensionProc */
    char *text_heap;                /* the strings and the data when text_local is short */

    /* Kept as they are when a thread's spare record serves its next request (ecb_get):
     * everything above is cleared then. */
    CRITICAL_SECTION lock;
    isapi_ext_result result;        /* cleared by result_clear(): its texts are 1 KiB */
    char text_local[ISAPI__ECB_TEXT];   /* lpbData, then the five strings of the block */
} isapi__ecb;

/* ---- loading ----------------------------------------------------------------------- */

static struct isapi__extensions *extensions_of(isapi_engine *e)
{
    struct isapi__extensions *set = e->exts;
    if (set)
        return set;
    set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    InitializeCriticalSection(&set->lock);
    if (InterlockedCompareExchangePointer((void *volatile *)&e->exts, set, NULL) != NULL) {
        DeleteCriticalSection(&set->lock);
        free(set);
    }
    return e->exts;
}

/* Undecorated name first, as IIS resolves it; then the stdcall spellings a 32-bit DLL
 * linked without a .def exports (the filter loader accepts them the same way). */
static FARPROC resolve_entry(HMODULE m, const char *name, int arg_bytes)
{
    FARPROC p = GetProcAddress(m, name);
    if (p || sizeof(void *) != 4)
        return p;
    char decorated[80];
    snprintf(decorated, sizeof decorated, "_%s@%d", name, arg_bytes);
    p = GetProcAddress(m, decorated);
    if (!p)
        p = GetProcAddress(m, decorated + 1);
    return p;
}

typedef struct ext_call {
    isapi_extension *x;
    int kind;                   /* 0 GetExtensionVersion, 1 HttpExtensionProc, 2 Terminate */
    void *arg;
    DWORD r;
    DWORD last;
} ext_call;

static void call_extension(void *p)
{
    ext_call *a = p;
    switch (a->kind) {
    case 0:
        a->r = (DWORD)a->x->get_version((HSE_VERSION_INFO *)a->arg);
        a->last = GetLastError();
        break;
    case 1:
        a->r = a->x->proc((EXTENSION_CONTROL_BLOCK *)a->arg);
        a->last = GetLastError();
        break;
    default:
        a->r = (DWORD)a->x->terminate(HSE_TERM_MUST_UNLOAD);
        break;
    }
}

/* Calls into the extension under the guard; *fault_text (may be NULL) receives the
 * description of a contained crash. Returns 1 when it crashed. */
static int guarded(ext_call *a, char *fault_text, size_t len)
{
    static const char *const entry[] = { "GetExtensionVersion", "HttpExtensionProc",
                                         "TerminateExtension" };
    isapi__fault fault;
    const char *saved_dll, *saved_what;
    /* so that a crash report on POSIX (where the process ends) names the extension */
    isapi__current_call_swap(a->x->path, entry[a->kind], &saved_dll, &saved_what);
    int crashed = isapi__guard_call(call_extension, a, &fault);
    isapi__current_call_swap(saved_dll, saved_what, &saved_dll, &saved_what);
    if (!crashed)
        return 0;
    if (fault_text)
        isapi__guard_describe(&fault, fault_text, len);
    return 1;
}

static HMODULE load_module(const char *path)
{
    int full = path[0] == '/' || path[0] == '\\'
               || (path[0] && path[1] == ':' && (path[2] == '\\' || path[2] == '/'));
    return LoadLibraryExA(path, NULL, full ? LOAD_WITH_ALTERED_SEARCH_PATH : 0);
}

/* Loads path under set->lock. Returns the record or NULL with err filled. */
static isapi_extension *load_locked(isapi_engine *e, struct isapi__extensions *set,
                                    const char *path, char *err, size_t errlen)
{
    char why[512];
    HMODULE m = load_module(path);
    if (!m) {
        isapi__error_text(GetLastError(), why, sizeof why);
        snprintf(err, errlen, "extension %s: cannot load the library (%s)", path, why);
        return NULL;
    }
    isapi_extension *x = calloc(1, sizeof *x);
    if (!x || !(x->path = isapi__strndup(path, strlen(path)))) {
        free(x);
        FreeLibrary(m);
        snprintf(err, errlen, "extension %s: out of memory", path);
        return NULL;
    }
    x->module = m;
    x->get_version = (PFN_GETEXTENSIONVERSION)(void (*)(void))
        resolve_entry(m, "GetExtensionVersion", 4);
    x->proc = (PFN_HTTPEXTENSIONPROC)(void (*)(void))resolve_entry(m, "HttpExtensionProc", 4);
    x->terminate = (PFN_TERMINATEEXTENSION)(void (*)(void))
        resolve_entry(m, "TerminateExtension", 4);
    if (!x->get_version || !x->proc) {
        isapi__error_text(ERROR_PROC_NOT_FOUND, why, sizeof why);
        snprintf(err, errlen, "extension %s: not an ISAPI extension: %s is not exported (%s)",
                 path, x->get_version ? "HttpExtensionProc" : "GetExtensionVersion", why);
        goto fail;
    }
    /* Why zeroed: extensions strcpy into lpszExtensionDesc and may leave it unterminated;
     * it is read back with a bound. */
    HSE_VERSION_INFO ver;
    memset(&ver, 0, sizeof ver);
    ext_call a = { x, 0, &ver, 0, 0 };
    char fault[400];
    SetLastError(0);
    if (guarded(&a, fault, sizeof fault)) {
        /* Why no FreeLibrary: the DLL's state is unknown after the crash. */
        snprintf(err, errlen, "extension %s: crashed while loading: %s in GetExtensionVersion",
                 path, fault);
        free(x->path);
        free(x);
        return NULL;
    }
    if (!a.r) {
        isapi__error_text(a.last, why, sizeof why);
        snprintf(err, errlen, "extension %s: GetExtensionVersion returned FALSE (%s)", path,
                 a.last ? why : "no error given");
        goto fail;
    }
    memcpy(x->desc, ver.lpszExtensionDesc, sizeof x->desc);
    x->desc[sizeof x->desc - 1] = '\0';
    x->next = atomic_load_explicit(&set->head, memory_order_relaxed);
    atomic_store_explicit(&set->head, x, memory_order_release);
    set->count++;
    isapi__log(e, NULL, ISAPI_LOG_INFO, path, "extension loaded: \"%s\", version 0x%08lx",
               x->desc, (unsigned long)ver.dwExtensionVersion);
    return x;
fail:
    FreeLibrary(m);
    free(x->path);
    free(x);
    return NULL;
}

int isapi_engine_load_extension(isapi_engine *e, const char *path, isapi_extension **out,
                                char *err, size_t errlen)
{
    char dummy[1];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    struct isapi__extensions *set = extensions_of(e);
    if (!set) {
        snprintf(err, errlen, "extension %s: out of memory", path);
        return -1;
    }
    /* Why a first walk without the lock: every request looks its extension up, and only a
     * first use loads one. */
    isapi_extension *x = atomic_load_explicit(&set->head, memory_order_acquire);
    while (x && strcmp(x->path, path) != 0)
        x = x->next;
    if (!x) {
        EnterCriticalSection(&set->lock);
        x = atomic_load_explicit(&set->head, memory_order_relaxed);
        while (x && strcmp(x->path, path) != 0)
            x = x->next;
        if (!x)
            x = load_locked(e, set, path, err, errlen);
        LeaveCriticalSection(&set->lock);
    }
    *out = x;
    return x ? 0 : -1;
}

const char *isapi_extension_path(const isapi_extension *x) { return x->path; }
const char *isapi_extension_desc(const isapi_extension *x) { return x->desc; }
size_t isapi_engine_extension_count(const isapi_engine *e)
{
    return e->exts ? e->exts->count : 0;
}

void isapi__extensions_unload(isapi_engine *e)
{
    struct isapi__extensions *set = e->exts;
    if (!set)
        return;
    /* Why: IIS calls TerminateExtension only once every request in flight has finished
     * (TerminateExtension, IIS 6 SDK); the extension need not wait itself. */
    while (InterlockedCompareExchange(&set->inflight, 0, 0) != 0)
        Sleep(1);
    /* The list is newest first: terminating from its head unloads in reverse load order. */
    for (isapi_extension *x = atomic_load(&set->head), *next; x; x = next) {
        next = x->next;
        if (x->terminate) {
            ext_call a = { x, 2, NULL, 0, 0 };
            char fault[400];
            if (guarded(&a, fault, sizeof fault))
                isapi__log(e, NULL, ISAPI_LOG_ERROR, x->path, "%s in TerminateExtension", fault);
        }
        FreeLibrary(x->module);
        free(x->path);
        free(x);
    }
    DeleteCriticalSection(&set->lock);
    free(set);
    e->exts = NULL;
}

/* ---- callbacks ---------------------------------------------------------------------- */

static BOOL fail(DWORD code)
{
    SetLastError(code);
    return FALSE;
}

/* The record behind a ConnID, or NULL when it is not one of a running request. */
static isapi__ecb *from_conn_id(HCONN h)
{
    isapi__ecb *b = h;
    if (!b || b->magic != ISAPI__ECB_MAGIC || !b->running)
        return NULL;
    return b;
}

static BOOL WINAPI ext_get_server_variable(HCONN h, LPSTR name, LPVOID buf, LPDWORD size);

/* 1 while the host runs the session's child request (HSE_REQ_EXEC_URL): the request model
 * is the child's, so the session's own calls are refused. */
static int child_runs(isapi__ecb *b)
{
    return InterlockedCompareExchange(&b->exec_running, 0, 0) != 0;
}

/* The variable `name` (narrow) into a malloc'ed string, or NULL with the last error set. */
static char *narrow_variable(HCONN h, const char *name)
{
    DWORD size = 256;
    for (int tries = 0; tries < 4; tries++) {
        char *v = malloc(size);
        if (!v) {
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
            return NULL;
        }
        DWORD got = size;
        if (ext_get_server_variable(h, (LPSTR)name, v, &got))
            return v;
        free(v);
        if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
            return NULL;
        size = got;
    }
    return NULL;
}

/* UTF-8 text into a WCHAR buffer of *size bytes with the GetServerVariable protocol: the
 * size in bytes with the 2-byte terminator. */
static BOOL wide_result(const char *text, void *buf, DWORD *size)
{
    int units = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    if (units <= 0)
        return fail(ERROR_INVALID_DATA);
    DWORD need = (DWORD)units * (DWORD)sizeof(WCHAR);
    if (*size < need) {
        *size = need;
        return fail(ERROR_INSUFFICIENT_BUFFER);
    }
    if (!buf)
        return fail(ERROR_INVALID_PARAMETER);
    MultiByteToWideChar(CP_UTF8, 0, text, -1, buf, units);
    *size = need;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* Why these: IIS 6 defines UNICODE_<VAR> for the path-like and user variables and not for
 * headers (HTTP_*, HEADER_*); the size is in bytes. */
static int has_unicode_form(const char *var)
{
    static const char *const names[] = { "URL", "PATH_INFO", "PATH_TRANSLATED", "SCRIPT_NAME",
                                         "SCRIPT_TRANSLATED", "QUERY_STRING", "REMOTE_USER",
                                         "AUTH_USER", "LOGON_USER", "APPL_MD_PATH",
                                         "APPL_PHYSICAL_PATH" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (isapi__ieq(var, names[i]))
            return 1;
    return 0;
}

static BOOL WINAPI ext_get_server_variable(HCONN h, LPSTR name, LPVOID buf, LPDWORD size)
{
    isapi__ecb *b = from_conn_id(h);
    if (!b || child_runs(b) || !name || !size)
        return fail(ERROR_INVALID_PARAMETER);
    if (strlen(name) > 8 && isapi__ieqn(name, 8, "UNICODE_", 8)) {
        if (!has_unicode_form(name + 8))
            return fail(ERROR_INVALID_INDEX);
        char *v = narrow_variable(h, name + 8);
        if (!v)
            return FALSE;
        BOOL ok = wide_result(v, buf, size);
        free(v);
        return ok;
    }
    const isapi_ext_request *rq = b->rq;
    /* Variables only an extension request has; the rest are the filters' (servervars.c). */
    static const char *const names[] = { "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED",
                                         "SCRIPT_TRANSLATED", "APPL_MD_PATH",
                                         "APPL_PHYSICAL_PATH" };
    const char *values[] = { rq->script_name, rq->path_info, rq->path_translated,
                             rq->script_translated, rq->appl_md_path, rq->appl_physical_path };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!isapi__ieq(name, names[i]))
            continue;
        if (i >= 4 && !values[i])
            break;
        const char *v = values[i] ? values[i] : "";
        return isapi__size_result(v, strlen(v), buf, size);
    }
    return isapi_get_server_variable(b->c, name, buf, size);
}

/* The session the host serves on this thread (HttpExtensionProc, or the completions it
 * delivers), and the session whose asynchronous operation this thread is performing. */
static _Thread_local isapi__ecb *served_here;
static _Thread_local isapi__ecb *async_here;

int isapi_conn_writing_async(const isapi_conn *c)
{
    return async_here && async_here == served_here && async_here->c == c;
}

/* Keeps body bytes of an asynchronous operation started on a thread the host does not
 * serve the request on, for the host's thread to send (send_deferred): only that thread
 * touches the connection's output queue while it serves the request. */
static DWORD defer_body(isapi__ecb *b, const void *data, size_t n)
{
    if (n > b->deferred_cap - b->deferred_len) {
        size_t cap = b->deferred_cap ? b->deferred_cap : 16384;
        while (cap - b->deferred_len < n) {
            if (cap > SIZE_MAX / 2)
                return ERROR_NOT_ENOUGH_MEMORY;
            cap *= 2;
        }
        char *grown = realloc(b->deferred, cap);
        if (!grown)
            return ERROR_NOT_ENOUGH_MEMORY;
        b->deferred = grown;
        b->deferred_cap = cap;
    }
    memcpy(b->deferred + b->deferred_len, data, n);
    b->deferred_len += n;
    return 0;
}

/* 1 when an operation waits for the host's thread, which then owns the connection. */
static int waits_for_host(isapi__ecb *b);

/* Response body bytes from the extension (WriteClient, VECTOR_SEND, TRANSMIT_FILE): through
 * the SEND_RAW_DATA filters to the client, synchronously; the bytes of an asynchronous
 * operation join the host's output queue instead (isapi_conn_writing_async), or wait for
 * the host's thread (defer_body). Returns 0 or the Win32 error the extension sees; after a
 * failed write every later one fails the same way. */
static DWORD send_body(isapi__ecb *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (b->res->write_failed)
        return ERROR_NETNAME_DELETED;
    if (async_here != b && waits_for_host(b))
        return ERROR_INVALID_PARAMETER;
    b->res->child_framed_last = 0;
    if (async_here == b && served_here != b)
        return defer_body(b, data, n);
    if (isapi_send(b->c, isapi_origin_host(), data, n) != ISAPI_CONTINUE) {
        b->res->write_failed = 1;
        return ERROR_NETNAME_DELETED;
    }
    b->res->body_bytes += n;
    return 0;
}

/* ---- asynchronous operations --------------------------------------------------------- */

/* Why completed later: what ISAPI promises is that the call returns at once and the
 * completion callback runs exactly once, on another call stack than the initiating one
 * (IIS 6 SDK, "Asynchronous I/O processing"). The completion is queued and delivered by
 * the request's thread after the initiating call returned, never from inside it (so an
 * extension that starts the next read from its callback does not recurse). */
static BOOL start_async(isapi__ecb *b, PFN_HSE_IO_COMPLETION fn, void *ctx)
{
    EnterCriticalSection(&b->lock);
    int busy = b->op_outstanding || !fn;
    if (!busy)
        b->op_outstanding = 1;
    LeaveCriticalSection(&b->lock);
    if (busy)
        return fail(ERROR_INVALID_PARAMETER);   /* no callback, or one already outstanding */
    (void)ctx;
    return TRUE;
}

/* Gives back an operation start_async() admitted that failed before any byte went out: the
 * call then answers FALSE and no completion follows. */
static void cancel_async(isapi__ecb *b)
{
    async_here = NULL;
    b->deferred_len = 0;
    EnterCriticalSection(&b->lock);
    b->op_outstanding = 0;
    LeaveCriticalSection(&b->lock);
}

/* Called with b->lock held after the session got work: takes the request back from the
 * host when the host had let it go. The caller calls wake_host() after the lock when this
 * returned 1. */
static int claim_detached_locked(isapi__ecb *b)
{
    int was = b->detached;
    b->detached = 0;
    return was;
}

/* Why the host serves it: completions run on the request's own serialized context, a
 * thread of the server that serves nothing else of the connection meanwhile, as IIS runs
 * them on a thread of its pool; the extension's thread only asks. */
static void wake_host(isapi__ecb *b)
{
    b->c->ops->ext_wake(b->c->host);
}

static void queue_completion(isapi__ecb *b, PFN_HSE_IO_COMPLETION fn, void *ctx, DWORD bytes,
                             DWORD error)
{
    EnterCriticalSection(&b->lock);
    b->completion_ready = 1;
    b->comp_fn = fn;
    b->comp_ctx = ctx;
    b->comp_bytes = bytes;
    b->comp_error = error;
    int wake = claim_detached_locked(b);
    LeaveCriticalSection(&b->lock);
    if (wake)
        wake_host(b);
}

/* An asynchronous write (WriteClient, TRANSMIT_FILE, VECTOR_SEND with HSE_IO_ASYNC) is
 * produced between these two. Why its completion waits for the host: IIS completes the
 * operation when its bytes have left, and no thread waits for a client that does not read
 * meanwhile; the bytes wait in the connection's output queue, which the host sends while
 * the socket takes them and parks the connection otherwise (isapi_extension_write_done).
 * The bytes are copied (into the queue, or first into `deferred` when the call came from a
 * thread the host does not serve the request on, which then wakes the host), so the
 * extension's buffer is free again when the call returns. */
static void async_output_begin(isapi__ecb *b)
{
    async_here = b;
}

static void async_output_end(isapi__ecb *b, PFN_HSE_IO_COMPLETION fn, void *ctx, DWORD bytes,
                             DWORD error)
{
    async_here = NULL;
    if (error) {
        b->deferred_len = 0;
        queue_completion(b, fn, ctx, 0, error);
        return;
    }
    EnterCriticalSection(&b->lock);
    b->write_waiting = 1;
    b->write_fn = fn;
    b->write_ctx = ctx;
    b->write_bytes = bytes;
    int wake = claim_detached_locked(b);
    LeaveCriticalSection(&b->lock);
    if (wake)
        wake_host(b);
}

/* The asynchronous write waiting for the host is over (error 0: its bytes left): its
 * completion is queued with the count the extension handed, as IIS reports it. */
static void stream_end(isapi__ecb *b);

static void complete_write(isapi__ecb *b, DWORD error)
{
    stream_end(b);
    if (!error)
        error = b->stream_error;
    b->stream_error = 0;
    EnterCriticalSection(&b->lock);
    int was = b->write_waiting;
    b->write_waiting = 0;
    PFN_HSE_IO_COMPLETION fn = b->write_fn;
    void *ctx = b->write_ctx;
    DWORD bytes = b->write_bytes;
    if (was && error)
        b->write_error = error;
    if (was)
        b->deferred_len = 0;
    LeaveCriticalSection(&b->lock);
    if (!was)
        return;
    if (error)
        b->res->write_failed = 1;
    queue_completion(b, fn, ctx, error ? 0 : bytes, error);
}

/* On the host's thread: the bytes another thread's asynchronous write left in `deferred`
 * go through the SEND_RAW_DATA filters into the output queue. */
static void send_deferred(isapi__ecb *b)
{
    EnterCriticalSection(&b->lock);
    size_t n = b->write_waiting ? b->deferred_len : 0;
    LeaveCriticalSection(&b->lock);
    if (n == 0)
        return;
    async_here = b;
    DWORD error = send_body(b, b->deferred, n);
    async_here = NULL;
    b->deferred_len = 0;
    if (error)
        complete_write(b, error);
}

/* Why refused: while an asynchronous write's bytes wait in the output queue, the host's
 * thread sends from it, and a synchronous write from another thread would send at the same
 * time (IIS allows one operation at a time on a request). */
static int waits_for_host(isapi__ecb *b)
{
    if (served_here == b)
        return 0;
    EnterCriticalSection(&b->lock);
    int waiting = b->write_waiting || b->read_waiting;
    LeaveCriticalSection(&b->lock);
    return waiting;
}

/* Why refused: the host reads the body for an asynchronous read that waits, and a
 * synchronous ReadClient would take its bytes (one operation at a time on a request). */
static int read_waits(isapi__ecb *b)
{
    EnterCriticalSection(&b->lock);
    int waiting = b->read_waiting;
    LeaveCriticalSection(&b->lock);
    return waiting;
}

static BOOL async_write(isapi__ecb *b, const void *data, DWORD n)
{
    EnterCriticalSection(&b->lock);
    PFN_HSE_IO_COMPLETION fn = b->io_fn;
    void *ctx = b->io_ctx;
    LeaveCriticalSection(&b->lock);
    if (!start_async(b, fn, ctx))
        return FALSE;
    async_output_begin(b);
    DWORD error = send_body(b, data, n);
    async_output_end(b, fn, ctx, n, error);
    return TRUE;
}

/* HSE_REQ_ASYNC_READ_CLIENT. Why the host reads and no thread waits: a client that sends
 * its body slowly would otherwise hold the thread that started the read (a worker, when
 * the read starts in HttpExtensionProc or a completion callback), as IIS holds none. The
 * read is recorded and the host's thread that serves the request performs it: at once
 * from the bytes that have arrived, or once the socket has more (the connection waits on
 * its event loop meanwhile, at most body_timeout), and the completion is queued with the
 * count (0 at the end of the body) or the error (isapi_extension_read_done). A read
 * started on another thread of the extension wakes the host as a completion does. */
static BOOL async_read(isapi__ecb *b, void *buf, DWORD *size, DWORD *type)
{
    if (!buf || !size || !type || !(*type & HSE_IO_ASYNC))
        return fail(ERROR_INVALID_PARAMETER);
    EnterCriticalSection(&b->lock);
    PFN_HSE_IO_COMPLETION fn = b->io_fn;
    void *ctx = b->io_ctx;
    LeaveCriticalSection(&b->lock);
    if (!start_async(b, fn, ctx))
        return FALSE;
    if (*size == 0 || !b->c->ops->read_client) {
        queue_completion(b, fn, ctx, 0, 0);
        return TRUE;
    }
    EnterCriticalSection(&b->lock);
    b->read_waiting = 1;
    b->read_buf = buf;
    b->read_size = *size;
    b->read_fn = fn;
    b->read_ctx = ctx;
    int wake = claim_detached_locked(b);
    LeaveCriticalSection(&b->lock);
    if (wake)
        wake_host(b);
    return TRUE;
}

/* Takes the asynchronous read that waits for the host, if any: its buffer, size, callback
 * and context. Returns 1 when there was one; the caller queues its completion. */
static int take_read(isapi__ecb *b, void **buf, DWORD *size, PFN_HSE_IO_COMPLETION *fn,
                     void **ctx)
{
    EnterCriticalSection(&b->lock);
    int was = b->read_waiting;
    b->read_waiting = 0;
    *buf = b->read_buf;
    *size = b->read_size;
    *fn = b->read_fn;
    *ctx = b->read_ctx;
    LeaveCriticalSection(&b->lock);
    return was;
}

/* A request that ended without HSE_STATUS_PENDING while its asynchronous read waited: the
 * completion reports the read aborted. Why no byte goes to the buffer: HttpExtensionProc
 * has returned and the buffer may be gone with its stack (IIS asks for
 * HSE_STATUS_PENDING with asynchronous I/O). */
static void abort_read(isapi__ecb *b)
{
    void *buf;
    DWORD size;
    PFN_HSE_IO_COMPLETION fn;
    void *ctx;
    if (take_read(b, &buf, &size, &fn, &ctx))
        queue_completion(b, fn, ctx, 0, ERROR_OPERATION_ABORTED);
}

typedef struct completion_call {
    PFN_HSE_IO_COMPLETION fn;
    EXTENSION_CONTROL_BLOCK *ecb;
    void *ctx;
    DWORD bytes, error;
} completion_call;

static void call_completion(void *p)
{
    completion_call *a = p;
    a->fn(a->ecb, a->ctx, a->bytes, a->error);
}

/* Delivers a queued completion, if any, under the guard. Returns 1 when one ran, -1 when
 * it crashed, 0 when none was queued. */
static int deliver_completion(isapi__ecb *b)
{
    EnterCriticalSection(&b->lock);
    int ready = b->completion_ready;
    completion_call a = { b->comp_fn, &b->ecb, b->comp_ctx, b->comp_bytes, b->comp_error };
    b->completion_ready = 0;
    b->op_outstanding = 0;
    LeaveCriticalSection(&b->lock);
    if (!ready)
        return 0;
    isapi__fault fault;
    const char *saved_dll, *saved_what;
    isapi__current_call_swap(b->x->path, "an I/O completion callback", &saved_dll, &saved_what);
    int crashed = isapi__guard_call(call_completion, &a, &fault);
    isapi__current_call_swap(saved_dll, saved_what, &saved_dll, &saved_what);
    if (crashed) {
        char what[400];
        isapi__guard_describe(&fault, what, sizeof what);
        isapi__log(b->c->e, b->c, ISAPI_LOG_ERROR, b->x->path,
                   "%s in an I/O completion callback; the request failed", what);
        return -1;
    }
    return 1;
}

static BOOL WINAPI ext_write_client(HCONN h, LPVOID data, LPDWORD bytes, DWORD flags)
{
    isapi__ecb *b = from_conn_id(h);
    if (!b || child_runs(b) || !bytes || (!data && *bytes))
        return fail(ERROR_INVALID_PARAMETER);
    if (flags & HSE_IO_ASYNC)
        return async_write(b, data, *bytes);
    if (waits_for_host(b))
        return fail(ERROR_INVALID_PARAMETER);
    DWORD err = send_body(b, data, *bytes);
    return err ? fail(err) : TRUE;
}

static BOOL WINAPI ext_read_client(HCONN h, LPVOID buf, LPDWORD size)
{
    isapi__ecb *b = from_conn_id(h);
    if (!b || child_runs(b) || !size || (!buf && *size))
        return fail(ERROR_INVALID_PARAMETER);
    if (*size == 0)
        return TRUE;
    if (read_waits(b))
        return fail(ERROR_INVALID_PARAMETER);
    if (!b->c->ops->read_client) {
        *size = 0;
        return TRUE;
    }
    DWORD err = b->c->ops->read_client(b->c->host, buf, size);
    if (err) {
        *size = 0;
        return fail(err);
    }
    return TRUE;
}

/* "200 OK", "200", "HTTP/1.1 200 OK" -> the code and the reason (NULL when absent). */
static int parse_status_text(const char *s, DWORD *code, const char **reason)
{
    if (strncmp(s, "HTTP/", 5) == 0) {
        const char *sp = strchr(s, ' ');
        if (!sp)
            return -1;
        s = sp + 1;
    }
    while (*s == ' ')
        s++;
    if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9'
        || (s[3] != '\0' && s[3] != ' '))
        return -1;
    *code = (DWORD)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    s += 3;
    while (*s == ' ')
        s++;
    *reason = *s ? s : NULL;
    return 0;
}

/* Where the body starts in an extension's header text: after its blank line (IIS sends
 * what follows as the start of the body), or at its end. *block_len gets the size of the
 * header lines with each line end made CRLF. */
static const char *header_text_body(const char *text, size_t *block_len)
{
    size_t n = 0;
    const char *p = text;
    const char *body = text + strlen(text);
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol) {
            n += strlen(p) + 2;
            break;
        }
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            body = eol + 1;
            break;
        }
        n += len + 2;
        p = eol + 1;
    }
    *block_len = n;
    return body;
}

/* The extension's header text with LF-only line ends made CRLF (old extensions end their
 * lines with "\n"), split at its blank line: *lines gets the header lines (each ending in
 * CRLF), in `local` when they fit in `room` bytes, else malloc'ed; *body points at what
 * followed the blank line in `text`, or at its end. */
static int split_header_text(const char *text, char *local, size_t room, char **lines,
                             const char **body)
{
    size_t n;
    *body = header_text_body(text, &n);
    char *out = n + 1 <= room ? local : malloc(n + 1);
    if (!out)
        return -1;
    size_t at = 0;
    for (const char *p = text; *p && p < *body;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        memcpy(out + at, p, len);
        at += len;
        out[at++] = '\r';
        out[at++] = '\n';
        if (!eol)
            break;
        p = eol + 1;
    }
    out[at] = '\0';
    *lines = out;
    return 0;
}

/* One structured header block (codes 1, 2, 3, 1016, 1028, 1037): at most one per
 * request. `status` NULL means "200 OK"; `text` may carry body bytes after its blank line. */
static BOOL send_header(isapi__ecb *b, const char *status, const char *text, int keep_conn)
{
    isapi_conn *c = b->c;
    if (b->res->header_sent || isapi_conn_response_started(c) || waits_for_host(b))
        return fail(ERROR_INVALID_PARAMETER);
    if (!c->ops->ext_send_header)
        return fail(ERROR_NOT_SUPPORTED);
    DWORD code = 200;
    const char *reason = NULL;
    if (status && *status && parse_status_text(status, &code, &reason) != 0)
        return fail(ERROR_INVALID_PARAMETER);
    if (reason && isapi__header_input_fault(ISAPI__HIN_STATUS, reason, NULL))
        return fail(ERROR_INVALID_PARAMETER);
    /* Why the text itself when it passes the checks with nothing after its blank line
     * (the common case): the parser takes LF-only lines and a final blank line as they
     * are, so the copy split_header_text() makes would parse the same. */
    char *lines, local[1024];
    const char *body, *fault = NULL;
    size_t block_len;
    text = text ? text : "";
    if (*(body = header_text_body(text, &block_len)) != '\0'
        || isapi__header_input_fault(ISAPI__HIN_BLOCK, text, NULL) != NULL) {
        if (split_header_text(text, local, sizeof local, &lines, &body) != 0)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        fault = isapi__header_input_fault(ISAPI__HIN_BLOCK, lines, NULL);
    } else {
        lines = (char *)text;
    }
    if (fault) {
        isapi__log(c->e, c, ISAPI_LOG_WARN, b->x->path,
                   "header text refused (%s); the extension's call failed", fault);
        if (lines != local && lines != text)
            free(lines);
        return fail(ERROR_INVALID_PARAMETER);
    }
    isapi_request *req = &c->req;
    req->status = code;
    if (isapi_str_set(req, &req->reason, reason, reason ? strlen(reason) : 0) != 0) {
        if (lines != local && lines != text)
            free(lines);
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    DWORD err = c->ops->ext_send_header(c->host, c, lines, keep_conn);
    if (lines != local && lines != text)
        free(lines);
    b->res->header_sent = 1;
    b->res->keep_conn = keep_conn;
    b->res->status = req->status;
    b->ecb.dwHttpStatusCode = req->status;
    if (err) {
        b->res->write_failed = 1;
        return fail(err);
    }
    size_t blen = strlen(body);
    if (blen) {
        if (isapi_send(c, isapi_origin_host(), body, blen) != ISAPI_CONTINUE) {
            b->res->write_failed = 1;
            return fail(ERROR_NETNAME_DELETED);
        }
        b->res->body_bytes += blen;
    }
    return TRUE;
}

/* 302 to `url`, with a short body: codes 1 and 2 (identical since IIS 5). */
static BOOL redirect(isapi__ecb *b, const char *url)
{
    if (!url || !*url || isapi__header_input_fault(ISAPI__HIN_VALUE, url, NULL))
        return fail(ERROR_INVALID_PARAMETER);
    static const char page[] = "<head><title>Document Moved</title></head>\r\n"
                               "<body><h1>Object Moved</h1>This document may be found "
                               "elsewhere.</body>\r\n";
    size_t n = strlen(url) + 128;
    char *text = malloc(n + sizeof page);
    if (!text)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    snprintf(text, n + sizeof page, "Location: %s\r\nContent-Type: text/html\r\n"
             "Content-Length: %u\r\n\r\n%s", url, (unsigned)(sizeof page - 1), page);
    BOOL ok = send_header(b, "302 Object Moved", text, 1);
    free(text);
    return ok;
}

static void append_log(isapi_ext_result *res, const char *text, size_t len)
{
    size_t have = strlen(res->log_param);
    if (len > sizeof res->log_param - 1 - have)
        len = sizeof res->log_param - 1 - have;
    memcpy(res->log_param + have, text, len);
    res->log_param[have + len] = '\0';
}

/* Up to `limit` bytes of s, stopping at its NUL: for strings an extension hands in with a
 * length it may have got wrong. */
static size_t bounded_len(const char *s, size_t limit)
{
    const char *z = memchr(s, '\0', limit);
    return z ? (size_t)(z - s) : limit;
}

static BOOL map_url(isapi__ecb *b, char *url_buf, DWORD *size, HSE_URL_MAPEX_INFO *info_out,
                    int ex)
{
    isapi_conn *c = b->c;
    if (!c->ops->map_url)
        return fail(ERROR_NOT_SUPPORTED);
    HSE_URL_MAPEX_INFO info;
    memset(&info, 0, sizeof info);
    char url[MAX_PATH * 4];
    size_t ul = bounded_len(url_buf, sizeof url - 1);
    memcpy(url, url_buf, ul);
    url[ul] = '\0';
    DWORD err = c->ops->map_url(c->host, c, url, &info);
    if (ex) {
        memcpy(info_out, &info, sizeof info);
        return err ? fail(err) : TRUE;
    }
    if (err && err != ERROR_INSUFFICIENT_BUFFER)
        return fail(err);
    /* Why the size includes the NUL: IIS's in/out protocol for this code reports the
     * bytes of the result as GetServerVariable does. */
    size_t pl = strlen(info.lpszPath);
    if (err || *size < pl + 1) {
        *size = (DWORD)pl + 1;
        return fail(ERROR_INSUFFICIENT_BUFFER);
    }
    memcpy(url_buf, info.lpszPath, pl + 1);
    *size = (DWORD)pl + 1;
    return TRUE;
}

/* Codes 1023 and 1024: the URL and the path in UTF-16, otherwise as 1001 and 1012. */
static BOOL map_unicode_url(isapi__ecb *b, WCHAR *url, DWORD *size,
                            HSE_UNICODE_URL_MAPEX_INFO *ex)
{
    size_t units = 0;
    while (units < MAX_PATH * 4 && url[units])
        units++;
    char narrow[MAX_PATH * 4 * 3 + 1];
    int n = WideCharToMultiByte(CP_UTF8, 0, url, (int)units, narrow, (int)sizeof narrow - 1,
                                NULL, NULL);
    if (n < 0 || (units && n == 0))
        return fail(ERROR_INVALID_PARAMETER);
    narrow[n] = '\0';
    HSE_URL_MAPEX_INFO info;
    memset(&info, 0, sizeof info);
    DWORD dummy = sizeof narrow;
    if (!map_url(b, narrow, &dummy, &info, 1) && GetLastError() != ERROR_INSUFFICIENT_BUFFER)
        return FALSE;
    int need = MultiByteToWideChar(CP_UTF8, 0, info.lpszPath, -1, NULL, 0);
    if (need <= 0)
        return fail(ERROR_INVALID_DATA);
    if (ex) {
        if (need > MAX_PATH)
            return fail(ERROR_INSUFFICIENT_BUFFER);
        MultiByteToWideChar(CP_UTF8, 0, info.lpszPath, -1, ex->lpszPath, MAX_PATH);
        ex->dwFlags = info.dwFlags;
        ex->cchMatchingPath = info.cchMatchingPath;
        ex->cchMatchingURL = info.cchMatchingURL;
        return TRUE;
    }
    DWORD bytes = (DWORD)need * (DWORD)sizeof(WCHAR);
    if (*size < bytes) {
        *size = bytes;
        return fail(ERROR_INSUFFICIENT_BUFFER);
    }
    MultiByteToWideChar(CP_UTF8, 0, info.lpszPath, -1, url, need);
    *size = bytes;
    return TRUE;
}

/* ---- file handles: HSE_REQ_TRANSMIT_FILE and VECTOR_SEND file elements ----------------- */

/* Why this code: IIS 6 fails a TransmitFile whose offset lies past the end of the file with
 * WSAEINVAL (the Winsock TransmitFile error it passes on). */
#define ISAPI__WSAEINVAL 10022u
#define ISAPI__FILE_CHUNK 65536u

/* A slice of an extension's open file, checked before any byte of the call goes out. */
typedef struct file_slice {
    HANDLE file;
    ULONGLONG offset, length;
} file_slice;

/* `count` bytes from `offset`, 0 meaning to the end of the file, as TRANSMIT_FILE's
 * BytesToWrite and a vector element's cbSize say. Returns 0 or the error for the call. */
static DWORD file_slice_of(HANDLE file, ULONGLONG offset, ULONGLONG count, file_slice *out)
{
    LARGE_INTEGER size;
    if (!file || file == INVALID_HANDLE_VALUE)
        return ERROR_INVALID_HANDLE;
    if (!GetFileSizeEx(file, &size))
        return GetLastError();
    ULONGLONG end = (ULONGLONG)size.QuadPart;
    if (offset > end)
        return ISAPI__WSAEINVAL;
    out->file = file;
    out->offset = offset;
    out->length = count && count < end - offset ? count : end - offset;
    return 0;
}

/* Reads at an explicit offset through an OVERLAPPED and GetOverlappedResult, which serves
 * handles opened with FILE_FLAG_OVERLAPPED (as IIS asks extensions to open them) and without
 * it alike, whatever the handle's file pointer says. */
static DWORD read_at(HANDLE file, HANDLE event, void *buf, DWORD want, ULONGLONG at, DWORD *got)
{
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)at;
    ov.OffsetHigh = (DWORD)(at >> 32);
    ov.hEvent = event;
    *got = 0;
    DWORD err = 0;
    if (!ReadFile(file, buf, want, NULL, &ov) && (err = GetLastError()) != ERROR_IO_PENDING)
        return err == ERROR_HANDLE_EOF ? 0 : err;
    if (!GetOverlappedResult(file, &ov, got, TRUE)) {
        err = GetLastError();
        *got = 0;
        return err == ERROR_HANDLE_EOF ? 0 : err;
    }
    return 0;
}

/* Sends the slice through SEND_RAW_DATA in chunks, as WriteClient data (IIS raises
 * SEND_RAW_DATA over TransmitFile data too). A file that shrank ends the slice early.
 * Adds the bytes sent to *sent. */
static DWORD send_file_slice(isapi__ecb *b, const file_slice *f, ULONGLONG *sent)
{
    if (f->length == 0)
        return 0;
    DWORD chunk = f->length < ISAPI__FILE_CHUNK ? (DWORD)f->length : ISAPI__FILE_CHUNK;
    void *buf = malloc(chunk);
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD err = buf && event ? 0 : ERROR_NOT_ENOUGH_MEMORY;
    ULONGLONG at = f->offset, left = f->length;
    while (!err && left > 0) {
        DWORD want = left < chunk ? (DWORD)left : chunk, got;
        ResetEvent(event);
        err = read_at(f->file, event, buf, want, at, &got);
        if (err || got == 0)
            break;
        err = send_body(b, buf, got);
        at += got;
        left -= got;
        *sent += got;
    }
    if (event)
        CloseHandle(event);
    free(buf);
    return err;
}

/* Why an asynchronous TRANSMIT_FILE or VECTOR_SEND streams its files: read into the output
 * queue whole, a file of a gigabyte would take a gigabyte of memory. The call sends what
 * comes before the first file and records the rest (file slices, and copies of the buffers
 * among and after them); the host's thread that serves the request produces the next
 * pieces (through SEND_RAW_DATA, as send_file_slice does) each time the queue has drained
 * (isapi_extension_write_more), so at most ISAPI__STREAM_BOUND file bytes wait in it. */
#define ISAPI__STREAM_BOUND (4u * ISAPI__FILE_CHUNK)

typedef struct isapi__stream_item {
    file_slice file;            /* file.file NULL: a buffer */
    char *mem;                  /* a copy of the buffer, malloc'ed */
    DWORD mem_len;
} stream_item;

static void stream_end(isapi__ecb *b)
{
    for (size_t i = 0; i < b->stream_count; i++)
        free(b->stream_items[i].mem);
    free(b->stream_items);
    b->stream_items = NULL;
    b->stream_count = b->stream_next = 0;
    free(b->stream_buf);
    b->stream_buf = NULL;
    if (b->stream_event)
        CloseHandle(b->stream_event);
    b->stream_event = NULL;
}

/* Room for n items, and the piece buffer. Returns 0 or ERROR_NOT_ENOUGH_MEMORY. */
static DWORD stream_begin(isapi__ecb *b, size_t n)
{
    b->stream_items = calloc(n ? n : 1, sizeof *b->stream_items);
    b->stream_buf = malloc(ISAPI__FILE_CHUNK);
    b->stream_event = CreateEventA(NULL, TRUE, FALSE, NULL);
    b->stream_count = b->stream_next = 0;
    b->stream_error = 0;
    if (!b->stream_items || !b->stream_buf || !b->stream_event) {
        stream_end(b);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    return 0;
}

static void stream_add_file(isapi__ecb *b, const file_slice *f)
{
    stream_item *it = &b->stream_items[b->stream_count++];
    it->file = *f;
}

static DWORD stream_add_buffer(isapi__ecb *b, const void *data, DWORD len)
{
    if (len == 0)
        return 0;
    stream_item *it = &b->stream_items[b->stream_count];
    if (!(it->mem = malloc(len)))
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(it->mem, data, len);
    it->mem_len = len;
    b->stream_count++;
    return 0;
}

/* On the host's thread, the queue empty: the stream's next pieces into it, up to
 * ISAPI__STREAM_BOUND file bytes. Returns 1 when it queued bytes, 0 when the stream is over
 * (or failed: stream_error). */
static int stream_more(isapi__ecb *b)
{
    if (!b->stream_items)
        return 0;
    isapi__ecb *saved = async_here;
    async_here = b;
    ULONGLONG queued = 0, sent = 0;
    DWORD err = 0;
    while (!err && b->stream_next < b->stream_count && queued < ISAPI__STREAM_BOUND) {
        stream_item *it = &b->stream_items[b->stream_next];
        if (!it->file.file) {
            if ((err = send_body(b, it->mem, it->mem_len)) == 0)
                sent += it->mem_len;
            queued += it->mem_len;
            b->stream_next++;
            continue;
        }
        file_slice *f = &it->file;
        DWORD want = f->length < ISAPI__FILE_CHUNK ? (DWORD)f->length : ISAPI__FILE_CHUNK;
        DWORD got = 0;
        if (want) {
            ResetEvent(b->stream_event);
            err = read_at(f->file, b->stream_event, b->stream_buf, want, f->offset, &got);
        }
        if (!err && got)
            err = send_body(b, b->stream_buf, got);
        if (!err)
            sent += got;
        f->offset += got;
        f->length -= got;
        queued += got;
        if (got == 0)
            b->stream_next++;   /* its end, or the file shrank: the slice ends here */
    }
    async_here = saved;
    EnterCriticalSection(&b->lock);
    b->write_bytes += (DWORD)sent;
    LeaveCriticalSection(&b->lock);
    if (err || queued == 0) {
        b->stream_error = err;
        stream_end(b);
        return 0;
    }
    return 1;
}

/* The operation's callback: HSE_TF_INFO's own when it names one, else the request's. */
static void pick_callback(isapi__ecb *b, PFN_HSE_IO_COMPLETION own, void *own_ctx,
                          PFN_HSE_IO_COMPLETION *fn, void **ctx)
{
    EnterCriticalSection(&b->lock);
    *fn = own ? own : b->io_fn;
    *ctx = own ? own_ctx : b->io_ctx;
    LeaveCriticalSection(&b->lock);
}

/* HSE_REQ_TRANSMIT_FILE: the head, the file slice and the tail, synchronously, or with
 * HSE_IO_ASYNC performed at once and completed later like an asynchronous WriteClient
 * (cbIO: head, file and tail bytes sent). Why both: IIS requires HSE_IO_ASYNC, but
 * extensions written for other servers pass HSE_IO_SYNC or 0, and a synchronous send serves
 * them without harm. With HSE_IO_SEND_HEADERS, pszStatusCode and pHead (header text, NUL
 * terminated) make the response's one header block; without it pHead is body. */
static BOOL transmit_file(isapi__ecb *b, const HSE_TF_INFO *tf)
{
    if (!tf || (!tf->pHead && tf->HeadLength) || (!tf->pTail && tf->TailLength))
        return fail(ERROR_INVALID_PARAMETER);
    DWORD flags = tf->dwFlags;
    file_slice slice;
    DWORD err = file_slice_of(tf->hFile, tf->Offset, tf->BytesToWrite, &slice);
    if (err)
        return fail(err);
    char *header = NULL;
    if ((flags & HSE_IO_SEND_HEADERS) && tf->pHead) {
        /* bounded by HeadLength when the extension gave one */
        const char *head = tf->pHead;
        header = isapi__strndup(head, tf->HeadLength ? bounded_len(head, tf->HeadLength)
                                                     : strlen(head));
        if (!header)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    PFN_HSE_IO_COMPLETION fn = NULL;
    void *ctx = NULL;
    if (flags & HSE_IO_ASYNC) {
        pick_callback(b, tf->pfnHseIO, tf->pContext, &fn, &ctx);
        if (!start_async(b, fn, ctx)) {
            free(header);
            return FALSE;
        }
        async_output_begin(b);
    }
    ULONGLONG sent = 0;
    if (flags & HSE_IO_SEND_HEADERS) {
        int keep = !(flags & HSE_IO_DISCONNECT_AFTER_SEND);
        BOOL ok = send_header(b, tf->pszStatusCode, header, keep);
        free(header);
        if (!ok) {
            if (flags & HSE_IO_ASYNC)
                cancel_async(b);
            return FALSE;
        }
        sent += tf->HeadLength;
    } else {
        err = send_body(b, tf->pHead, tf->HeadLength);
        if (!err)
            sent += tf->HeadLength;
    }
    if (flags & HSE_IO_DISCONNECT_AFTER_SEND)
        b->res->close_requested = 1;
    if (flags & HSE_IO_ASYNC) {
        /* the file and the tail follow as the queue drains (stream_more) */
        if (!err && (err = stream_begin(b, 2)) == 0) {
            stream_add_file(b, &slice);
            if ((err = stream_add_buffer(b, tf->pTail, tf->TailLength)) != 0)
                stream_end(b);
        }
        async_output_end(b, fn, ctx, (DWORD)sent, err);
        return TRUE;
    }
    if (!err)
        err = send_file_slice(b, &slice, &sent);
    if (!err && (err = send_body(b, tf->pTail, tf->TailLength)) == 0)
        sent += tf->TailLength;
    return err ? fail(err) : TRUE;
}

/* HSE_REQ_VECTOR_SEND: memory and file-handle elements in order, as one logical write. */
static BOOL vector_send(isapi__ecb *b, HSE_RESPONSE_VECTOR *v)
{
    if (!v || (v->nElementCount && !v->lpElementArray))
        return fail(ERROR_INVALID_PARAMETER);
    file_slice *slices = calloc(v->nElementCount ? v->nElementCount : 1, sizeof *slices);
    if (!slices)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = 0;
    for (DWORD i = 0; i < v->nElementCount && !err; i++) {
        const HSE_VECTOR_ELEMENT *el = &v->lpElementArray[i];
        if (el->ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE)
            err = file_slice_of(el->pvContext, el->cbOffset, el->cbSize, &slices[i]);
        else if (el->ElementType != HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER
                 || (!el->pvContext && el->cbSize) || el->cbSize > 0xffffffffu)
            err = ERROR_INVALID_PARAMETER;
    }
    if (err) {
        free(slices);
        return fail(err);
    }
    PFN_HSE_IO_COMPLETION fn = NULL;
    void *ctx = NULL;
    if (v->dwFlags & HSE_IO_ASYNC) {
        pick_callback(b, NULL, NULL, &fn, &ctx);
        if (!start_async(b, fn, ctx)) {
            free(slices);
            return FALSE;
        }
        async_output_begin(b);
    }
    if (v->dwFlags & HSE_IO_SEND_HEADERS) {
        int keep = !(v->dwFlags & HSE_IO_DISCONNECT_AFTER_SEND);
        if (!send_header(b, v->pszStatus, v->pszHeaders, keep)) {
            if (v->dwFlags & HSE_IO_ASYNC)
                cancel_async(b);
            free(slices);
            return FALSE;
        }
    }
    ULONGLONG sent = 0;
    /* asynchronous: from the first file element on, the elements follow as the queue
     * drains (stream_more) */
    int streams = 0;
    for (DWORD i = 0; i < v->nElementCount && !err; i++) {
        const HSE_VECTOR_ELEMENT *el = &v->lpElementArray[i];
        const char *mem = (const char *)el->pvContext + el->cbOffset;
        if (!streams && (v->dwFlags & HSE_IO_ASYNC)
            && el->ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE) {
            streams = 1;
            err = stream_begin(b, v->nElementCount - i);
        }
        if (streams && !err) {
            if (el->ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE)
                stream_add_file(b, &slices[i]);
            else
                err = stream_add_buffer(b, mem, (DWORD)el->cbSize);
        } else if (el->ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE) {
            err = send_file_slice(b, &slices[i], &sent);
        } else if (!err && (err = send_body(b, mem, (size_t)el->cbSize)) == 0) {
            sent += el->cbSize;
        }
    }
    if (err)
        stream_end(b);
    free(slices);
    if (v->dwFlags & HSE_IO_DISCONNECT_AFTER_SEND)
        b->res->close_requested = 1;
    if (v->dwFlags & HSE_IO_ASYNC) {
        async_output_end(b, fn, ctx, (DWORD)sent, err);
        return TRUE;
    }
    return err ? fail(err) : TRUE;
}

/* ---- child requests: HSE_REQ_EXEC_URL ------------------------------------------------ */

/* Bounds of what an extension hands in for a child request: what does not fit is refused,
 * never cut. */
#define ISAPI__EXEC_URL_MAX 4096u
#define ISAPI__EXEC_METHOD_MAX 64u
#define ISAPI__EXEC_HEADERS_MAX 65536u

static void exec_clear(isapi__ecb *b)
{
    for (int i = 0; i < 3; i++) {
        free(b->exec_strings[i]);
        b->exec_strings[i] = NULL;
    }
    free(b->exec_entity);
    b->exec_entity = NULL;
    memset(&b->exec, 0, sizeof b->exec);
}

/* A bounded copy of an extension's string: NULL stays NULL (*ok 1); longer than max - 1
 * bytes, or failing `kind`'s check: *ok 0. */
static char *exec_copy(const char *s, size_t max, enum isapi__hin kind, int *ok)
{
    *ok = 1;
    if (!s)
        return NULL;
    size_t n = bounded_len(s, max);
    char *copy = n < max && n > 0 ? isapi__strndup(s, n) : NULL;
    if (!copy || isapi__header_input_fault(kind, copy, NULL)) {
        free(copy);
        *ok = 0;
        return NULL;
    }
    return copy;
}

/* The child's request headers: a complete block, LF-only lines accepted, that parses as
 * "Name: value" lines; NULL keeps the parent's. */
static int exec_headers(isapi__ecb *b, const char *text)
{
    if (!text)
        return 0;
    size_t n = bounded_len(text, ISAPI__EXEC_HEADERS_MAX);
    if (n >= ISAPI__EXEC_HEADERS_MAX)
        return -1;
    char *bounded = isapi__strndup(text, n), *lines = NULL;
    const char *rest;
    int bad = !bounded || split_header_text(bounded, NULL, 0, &lines, &rest) != 0
              || isapi__header_input_fault(ISAPI__HIN_BLOCK, lines, NULL) != NULL;
    free(bounded);
    if (!bad) {
        isapi_headers probe = { 0 };
        bad = isapi_headers_parse_block(&probe, lines) != 0;
        isapi_headers_clear(&probe);
    }
    if (bad) {
        free(lines);
        return -1;
    }
    b->exec_strings[2] = lines;
    return 0;
}

/* HSE_REQ_EXEC_URL and, with the URL made UTF-8, HSE_REQ_EXEC_UNICODE_URL. Why
 * asynchronous and through the IO_COMPLETION callback: IIS 6 runs the child request
 * asynchronously and asks for a callback ("Calling HSE_REQ_EXEC_URL", IIS 6 SDK); the
 * host runs it on the request's thread once the call returned (isapi_extension_resume()
 * hands it over), and the completion follows the child's end. */
static BOOL exec_url(isapi__ecb *b, const char *url, const char *method, const char *headers,
                     const void *user_info, const HSE_EXEC_URL_ENTITY_INFO *entity,
                     DWORD flags)
{
    if (user_info)
        return fail(ERROR_NOT_SUPPORTED);   /* no Windows token to run a child as */
    /* Why refused: SSI_CMD has the child run a shell command, for the #exec cmd directive
     * of IIS's server-side include engine (off by default there, as a security risk);
     * there is no such engine here, and a URL never becomes a command line. */
    if (flags & HSE_EXEC_URL_SSI_CMD)
        return fail(ERROR_NOT_SUPPORTED);
    if (b->depth >= ISAPI_EXEC_DEPTH_LIMIT)
        return fail(ERROR_INVALID_PARAMETER);
    /* Why refused: a child writes its own header block, and the response has one. With
     * NO_HEADERS the child adds only its body to what the parent sent. */
    if (!(flags & HSE_EXEC_URL_NO_HEADERS)
        && (b->res->header_sent || isapi_conn_response_started(b->c)))
        return fail(ERROR_INVALID_PARAMETER);
    if (entity && entity->cbAvailable && !entity->lpbData)
        return fail(ERROR_INVALID_PARAMETER);
    if (url && url[0] != '/')
        return fail(ERROR_INVALID_PARAMETER);
    EnterCriticalSection(&b->lock);
    PFN_HSE_IO_COMPLETION fn = b->io_fn;
    void *ctx = b->io_ctx;
    LeaveCriticalSection(&b->lock);
    if (!start_async(b, fn, ctx))
        return FALSE;
    exec_clear(b);
    int url_ok, method_ok;
    b->exec_strings[0] = exec_copy(url, ISAPI__EXEC_URL_MAX, ISAPI__HIN_TARGET, &url_ok);
    b->exec_strings[1] = exec_copy(method, ISAPI__EXEC_METHOD_MAX, ISAPI__HIN_TOKEN,
                                   &method_ok);
    DWORD err = url_ok && method_ok && exec_headers(b, headers) == 0 ? 0
                : ERROR_INVALID_PARAMETER;
    if (!err && entity) {
        b->exec_entity = malloc(entity->cbAvailable ? entity->cbAvailable : 1);
        if (!b->exec_entity)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else if (entity->cbAvailable)
            memcpy(b->exec_entity, entity->lpbData, entity->cbAvailable);
    }
    if (err) {
        exec_clear(b);
        cancel_async(b);
        return fail(err);
    }
    b->exec.url = b->exec_strings[0];
    b->exec.method = b->exec_strings[1];
    b->exec.headers = b->exec_strings[2];
    b->exec.entity = b->exec_entity;
    b->exec.entity_len = entity ? entity->cbAvailable : 0;
    b->exec.has_entity = entity != NULL;
    b->exec.flags = flags;
    b->exec.caller = b->x;
    EnterCriticalSection(&b->lock);
    b->exec_fn = fn;
    b->exec_ctx = ctx;
    b->exec_asked = 1;
    int wake = claim_detached_locked(b);
    LeaveCriticalSection(&b->lock);
    if (wake)
        wake_host(b);
    return TRUE;
}

static BOOL exec_unicode_url(isapi__ecb *b, const HSE_EXEC_UNICODE_URL_INFO *ui)
{
    char narrow[ISAPI__EXEC_URL_MAX * 3 + 1];
    const char *url = NULL;
    if (ui->pszUrl) {
        size_t units = 0;
        while (units < ISAPI__EXEC_URL_MAX && ui->pszUrl[units])
            units++;
        if (units == ISAPI__EXEC_URL_MAX)
            return fail(ERROR_INVALID_PARAMETER);
        int n = units ? WideCharToMultiByte(CP_UTF8, 0, ui->pszUrl, (int)units, narrow,
                                            (int)sizeof narrow - 1, NULL, NULL) : 0;
        if (n <= 0)
            return fail(ERROR_INVALID_PARAMETER);
        narrow[n] = '\0';
        url = narrow;
    }
    return exec_url(b, url, ui->pszMethod, ui->pszChildHeaders, ui->pUserInfo, ui->pEntity,
                    ui->dwExecUrlFlags);
}

static BOOL exec_url_status(isapi__ecb *b, HSE_EXEC_URL_STATUS *out)
{
    if (!out)
        return fail(ERROR_INVALID_PARAMETER);
    EnterCriticalSection(&b->lock);
    int finished = b->exec_finished;
    HSE_EXEC_URL_STATUS st = b->exec_status;
    LeaveCriticalSection(&b->lock);
    if (!finished)
        return fail(ERROR_INVALID_PARAMETER);   /* no child ended yet */
    *out = st;
    return TRUE;
}

const isapi_exec_request *isapi_extension_exec_request(isapi_conn *c)
{
    return &c->ext_session->exec;
}

void isapi_extension_exec_done(isapi_conn *c, DWORD status, DWORD win32, int framed)
{
    isapi__ecb *b = c->ext_session;
    exec_clear(b);
    b->res->child_framed_last = framed;
    EnterCriticalSection(&b->lock);
    PFN_HSE_IO_COMPLETION fn = b->exec_fn;
    void *ctx = b->exec_ctx;
    b->exec_finished = 1;
    b->exec_status.uHttpStatusCode = (USHORT)(status > 999 ? 999 : status);
    b->exec_status.uHttpSubStatus = 0;
    b->exec_status.dwWin32Error = win32;
    LeaveCriticalSection(&b->lock);
    InterlockedExchange(&b->exec_running, 0);
    queue_completion(b, fn, ctx, 0, win32);
}

static BOOL WINAPI ext_server_support(HCONN h, DWORD code, LPVOID buf, LPDWORD size,
                                      LPDWORD type)
{
    isapi__ecb *b = from_conn_id(h);
    if (!b)
        return fail(ERROR_INVALID_PARAMETER);
    if (child_runs(b) && code != HSE_REQ_DONE_WITH_SESSION && code != HSE_REQ_IO_COMPLETION)
        return fail(ERROR_INVALID_PARAMETER);   /* its child request runs */
    isapi_conn *c = b->c;
    switch (code) {
    case HSE_REQ_EXEC_URL: {
        HSE_EXEC_URL_INFO *ei = buf;
        if (!ei)
            return fail(ERROR_INVALID_PARAMETER);
        return exec_url(b, ei->pszUrl, ei->pszMethod, ei->pszChildHeaders, ei->pUserInfo,
                        ei->pEntity, ei->dwExecUrlFlags);
    }
    case HSE_REQ_EXEC_UNICODE_URL:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        return exec_unicode_url(b, buf);
    case HSE_REQ_GET_EXEC_URL_STATUS:
        return exec_url_status(b, buf);
    case HSE_REQ_SEND_URL_REDIRECT_RESP:
    case HSE_REQ_SEND_URL:
        return redirect(b, buf);
    case HSE_REQ_SEND_RESPONSE_HEADER:
        /* Why keep_conn 1: with the old form IIS keeps the connection when the headers let
         * it frame the response (the host checks that), and closes otherwise. */
        return send_header(b, buf, (const char *)type, 1);
    case HSE_REQ_SEND_RESPONSE_HEADER_EX: {
        HSE_SEND_HEADER_EX_INFO *hi = buf;
        if (!hi)
            return fail(ERROR_INVALID_PARAMETER);
        return send_header(b, hi->pszStatus, hi->pszHeader, hi->fKeepConn ? 1 : 0);
    }
    case HSE_REQ_DONE_WITH_SESSION:
        /* Accepted before HttpExtensionProc returned HSE_STATUS_PENDING too (an extension
         * that finishes on another thread fast does that); for a synchronous request it
         * changes nothing. */
        {
            EnterCriticalSection(&b->lock);
            b->done = 1;
            b->done_status = buf ? *(DWORD *)buf : HSE_STATUS_SUCCESS;
            int wake = claim_detached_locked(b);
            LeaveCriticalSection(&b->lock);
            if (wake)
                wake_host(b);
        }
        return TRUE;
    case HSE_REQ_IO_COMPLETION:
        /* A later call replaces the callback; NULL turns completions off. */
        EnterCriticalSection(&b->lock);
        b->io_fn = (PFN_HSE_IO_COMPLETION)(void (*)(void))buf;
        b->io_ctx = type;
        LeaveCriticalSection(&b->lock);
        return TRUE;
    case HSE_REQ_ASYNC_READ_CLIENT:
        return async_read(b, buf, size, type);
    case HSE_REQ_MAP_URL_TO_PATH:
        if (!buf || !size)
            return fail(ERROR_INVALID_PARAMETER);
        return map_url(b, buf, size, NULL, 0);
    case HSE_REQ_MAP_URL_TO_PATH_EX:
        if (!buf || !type)
            return fail(ERROR_INVALID_PARAMETER);
        return map_url(b, buf, size, (HSE_URL_MAPEX_INFO *)type, 1);
    case HSE_REQ_MAP_UNICODE_URL_TO_PATH:
    case HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX:
        if (!buf || (code == HSE_REQ_MAP_UNICODE_URL_TO_PATH ? !size : !type))
            return fail(ERROR_INVALID_PARAMETER);
        return map_unicode_url(b, buf, size, code == HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX
                                                 ? (HSE_UNICODE_URL_MAPEX_INFO *)type : NULL);
    case HSE_APPEND_LOG_PARAMETER:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        append_log(b->res, buf, bounded_len(buf, size && *size ? *size : 4096));
        return TRUE;
    case HSE_REQ_IS_KEEP_CONN:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        *(BOOL *)buf = b->rq->keep_alive && !b->res->close_requested
                       && !isapi_conn_must_close(c);
        return TRUE;
    case HSE_REQ_IS_CONNECTED:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        /* (while the host's thread reads or writes for a waiting operation, the socket is
         * its: the answer is what is known) */
        *(BOOL *)buf = !b->res->write_failed
                       && (!c->ops->is_connected || waits_for_host(b)
                           || c->ops->is_connected(c->host));
        return TRUE;
    case HSE_REQ_CLOSE_CONNECTION:
        b->res->close_requested = 1;
        return TRUE;
    case HSE_REQ_ABORTIVE_CLOSE:
        /* Why ignored: IIS 5.1 and later ignore it (HSE_REQ_ABORTIVE_CLOSE, IIS 6 SDK). */
        return TRUE;
    case HSE_REQ_IS_IN_PROCESS:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        *(DWORD *)buf = HSE_APP_FLAG_IN_PROCESS;
        return TRUE;
    case HSE_REQ_NORMALIZE_URL:
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        return isapi__normalize_url(buf) == 0 ? TRUE : fail(ERROR_INVALID_PARAMETER);
    case HSE_REQ_REPORT_UNHEALTHY: {
        char reason[256] = "no reason given";
        if (buf)
            snprintf(reason, sizeof reason, "%.*s", (int)bounded_len(buf, 255), (char *)buf);
        isapi__log(c->e, c, ISAPI_LOG_WARN, b->x->path, "reported itself unhealthy: %s",
                   reason);
        return TRUE;
    }
    case HSE_REQ_SEND_CUSTOM_ERROR: {
        HSE_CUSTOM_ERROR_INFO *ci = buf;
        if (!ci || !ci->pszStatus)
            return fail(ERROR_INVALID_PARAMETER);
        if (ci->fAsync)
            return fail(ERROR_NOT_SUPPORTED);
        DWORD st;
        const char *reason;
        if (parse_status_text(ci->pszStatus, &st, &reason) != 0 || st < 400)
            return fail(ERROR_INVALID_PARAMETER);
        char page[512], text[700];
        int n = snprintf(page, sizeof page,
                         "<html><head><title>%.3s</title></head><body><h1>%.200s</h1>"
                         "</body></html>\r\n", ci->pszStatus + (ci->pszStatus[0] == 'H' ? 9 : 0),
                         ci->pszStatus);
        if (n < 0 || (size_t)n >= sizeof page)
            return fail(ERROR_INVALID_PARAMETER);
        snprintf(text, sizeof text, "Content-Type: text/html\r\nContent-Length: %d\r\n\r\n%s",
                 n, page);
        return send_header(b, ci->pszStatus, text, 1);
    }
    case HSE_REQ_VECTOR_SEND:
        return vector_send(b, buf);
    case HSE_REQ_TRANSMIT_FILE:
        return transmit_file(b, buf);
    case HSE_REQ_GET_CERT_INFO_EX:
        /* Why TRUE with an empty certificate: IIS answers so when the client sent none,
         * and this server never has one (TLS is terminated in front of it). The layout is
         * CERT_CONTEXT_EX: a CERT_CONTEXT (encoding type, pbCertEncoded, cbCertEncoded,
         * pCertInfo, hCertStore), then cbAllocated and dwCertificateFlags; pbCertEncoded
         * and cbAllocated are the extension's buffer and stay as they are. */
        if (!buf)
            return fail(ERROR_INVALID_PARAMETER);
        {
            struct cert_context { DWORD enc; BYTE *pb; DWORD cb; void *info; void *store; };
            struct cert_context *cc = buf;
            cc->enc = 0;
            cc->cb = 0;
            cc->info = NULL;
            cc->store = NULL;
            DWORD *after = (DWORD *)((char *)buf + sizeof *cc);
            after[1] = 0;   /* dwCertificateFlags: no certificate */
        }
        return TRUE;
    case HSE_REQ_GET_IMPERSONATION_TOKEN:
    case HSE_REQ_GET_ANONYMOUS_TOKEN:
    case HSE_REQ_GET_UNICODE_ANONYMOUS_TOKEN:
    case HSE_REQ_GET_SSPI_INFO:
        /* No Windows token or SSPI context exists for a request here (docs/extensions.md). */
        return fail(ERROR_NOT_SUPPORTED);
    case HSE_REQ_REFRESH_ISAPI_ACL:
        return TRUE;
    case HSE_REQ_SET_FLUSH_FLAG:
        return TRUE;
    case HSE_REQ_GET_CACHE_INVALIDATION_CALLBACK:
    case HSE_REQ_GET_TRACE_INFO:
    case HSE_REQ_GET_TRACE_INFO_EX:
    case HSE_REQ_RAISE_TRACE_EVENT:
    case HSE_REQ_GET_CONFIG_OBJECT:
    case HSE_REQ_GET_WORKER_PROCESS_SETTINGS:
    case HSE_REQ_GET_PROTOCOL_MANAGER_CUSTOM_INTERFACE_CALLBACK:
    case HSE_REQ_CANCEL_IO:
    case HSE_REQ_GET_CHANNEL_BINDING_TOKEN:
    case 1020: /* HSE_REQ_EXTENSION_TRIGGER */
        return fail(ERROR_NOT_SUPPORTED);
    default:
        /* Why: IIS answers a code it does not know with ERROR_INVALID_PARAMETER. */
        return fail(ERROR_INVALID_PARAMETER);
    }
}

/* ---- a request ---------------------------------------------------------------------- */

/* A result is mostly its two log texts (1.1 KiB): clearing or copying it whole was a
 * tenth of a small request's cost, so the texts are cleared by their first byte and copied
 * by their length. */
static void result_clear(isapi_ext_result *r)
{
    memset(r, 0, offsetof(isapi_ext_result, log_data));
    r->log_data[0] = '\0';
    r->log_param[0] = '\0';
}

static void result_copy(isapi_ext_result *to, const isapi_ext_result *from)
{
    memcpy(to, from, offsetof(isapi_ext_result, log_data));
    memcpy(to->log_data, from->log_data, strlen(from->log_data) + 1);
    memcpy(to->log_param, from->log_param, strlen(from->log_param) + 1);
}

/* Why a spare record per thread: a request's record was a calloc, a critical section set
 * up and torn down, and six string copies, each malloc'ed. A record whose request ended
 * without going pending is no longer reachable by the extension (its ConnID is refused:
 * magic 0), so the thread keeps it, with its critical section, for the next request it
 * serves. A pending request's record is freed on its own: the extension's threads held it. */
static _Thread_local isapi__ecb *spare_ecb;

static isapi__ecb *ecb_get(void)
{
    isapi__ecb *b = spare_ecb;
    if (b) {
        spare_ecb = NULL;
    } else {
        b = malloc(sizeof *b);
        if (!b)
            return NULL;
        InitializeCriticalSection(&b->lock);
    }
    memset(b, 0, offsetof(isapi__ecb, lock));
    result_clear(&b->result);
    return b;
}

static void ecb_free(isapi__ecb *b)
{
    stream_end(b);
    free(b->deferred);
    free(b->text_heap);
    exec_clear(b);
    DeleteCriticalSection(&b->lock);
    free(b);
}

/* The end of a record: kept as the thread's spare when `reuse` and none is kept yet. */
static void ecb_release(isapi__ecb *b, int reuse)
{
    if (!reuse || spare_ecb) {
        ecb_free(b);
        return;
    }
    free(b->text_heap);
    b->text_heap = NULL;
    exec_clear(b);
    free(b->deferred);
    b->deferred = NULL;
    stream_end(b);
    b->magic = 0;
    spare_ecb = b;
}

void isapi_thread_cache_free(void)
{
    if (spare_ecb) {
        ecb_free(spare_ecb);
        spare_ecb = NULL;
    }
}

/* Copies len bytes of s and a NUL to *at, moves *at past them, and returns the copy. */
static char *place_text(char **at, const char *s, size_t len)
{
    char *p = *at;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    *at = p + len + 1;
    return p;
}

/* The end of a request: the result for the host from the status HttpExtensionProc (or
 * DONE_WITH_SESSION) gave, and the record freed unless the extension may still hold it. */
static int finish(isapi__ecb *b, DWORD status, int crashed, const char *fault,
                  isapi_ext_result *res)
{
    isapi_conn *c = b->c;
    EXTENSION_CONTROL_BLOCK *ecb = &b->ecb;
    int abandoned = b->abandoned;
    int was_pending = c->ext_session == b;
    c->ext_session = b->outer;
    InterlockedDecrement(&c->e->exts->inflight);
    InterlockedExchange(&b->running, 0);

    isapi_ext_result *r = b->res;
    r->status = r->header_sent ? r->status : ecb->dwHttpStatusCode;
    memcpy(r->log_data, ecb->lpszLogData, HSE_LOG_BUFFER_LEN);
    r->log_data[HSE_LOG_BUFFER_LEN] = '\0';
    if (crashed) {
        /* Why: a crash fails its own request, not the server; the log names the DLL. */
        isapi__log(c->e, c, ISAPI_LOG_ERROR, b->x->path,
                   "%s in HttpExtensionProc; the request failed", fault);
        r->crashed = 1;
        r->hse_status = HSE_STATUS_ERROR;
        r->win32_error = ERROR_UNHANDLED_EXCEPTION;
        c->must_close = 1;
    } else if (status == HSE_STATUS_SUCCESS || status == HSE_STATUS_SUCCESS_AND_KEEP_CONN
               || status == 0) {
        /* Why 0 is success: IIS accepts it (Apache mod_isapi notes "MS isapi accepts
         * this"). */
        r->hse_status = status == 0 ? HSE_STATUS_SUCCESS : status;
    } else {
        if (status != HSE_STATUS_ERROR)
            isapi__log(c->e, c, ISAPI_LOG_WARN, b->x->path,
                       "returned the undefined status %lu; taken as HSE_STATUS_ERROR",
                       (unsigned long)status);
        r->hse_status = HSE_STATUS_ERROR;
        r->win32_error = abandoned ? ERROR_TIMEOUT
                         : status == HSE_STATUS_ERROR && !was_pending ? b->proc_last
                         : b->write_error ? b->write_error : ERROR_INVALID_FUNCTION;
        if (abandoned)
            c->must_close = 1;
    }
    r->abandoned = abandoned;
    r->pending = 0;
    result_copy(res, r);
    if (!abandoned)
        ecb_release(b, !was_pending);
    return 0;
}

/* The session after HSE_STATUS_PENDING, on the thread that serves the request: the queued
 * completions are delivered until the extension called HSE_REQ_DONE_WITH_SESSION and no
 * operation is outstanding (the request ends), or nothing is left to do now
 * (res->pending: the host lets the request go until ext_wake). */
static int resume_session(isapi_conn *c, isapi_ext_result *res)
{
    isapi__ecb *b = c->ext_session;
    for (;;) {
        send_deferred(b);
        EnterCriticalSection(&b->lock);
        int abandoned = b->abandoned;
        LeaveCriticalSection(&b->lock);
        if (abandoned) {
            isapi__log(c->e, c, ISAPI_LOG_ERROR, b->x->path,
                       "returned HSE_STATUS_PENDING and did not call HSE_REQ_DONE_WITH_SESSION "
                       "within %u s; the request failed", ISAPI_EXT_PENDING_LIMIT_MS / 1000u);
            return finish(b, HSE_STATUS_ERROR, 0, NULL, res);
        }
        EnterCriticalSection(&b->lock);
        int exec = b->exec_asked;
        b->exec_asked = 0;
        LeaveCriticalSection(&b->lock);
        if (exec) {
            /* the host runs the child now; the session's callbacks wait for its end */
            InterlockedExchange(&b->exec_running, 1);
            result_clear(res);
            res->pending = 1;
            res->exec = 1;
            return 0;
        }
        int ran = deliver_completion(b);
        if (ran < 0)
            return finish(b, HSE_STATUS_ERROR, 0, NULL, res);
        EnterCriticalSection(&b->lock);
        int finished = b->done && !b->op_outstanding && !b->completion_ready;
        DWORD status = b->done_status;
        LeaveCriticalSection(&b->lock);
        if (finished)
            return finish(b, status, 0, NULL, res);
        if (!ran)
            break;
    }
    result_clear(res);
    res->pending = 1;
    return 0;
}

int isapi_extension_resume(isapi_conn *c, isapi_ext_result *res)
{
    isapi__ecb *outer = served_here;
    served_here = c->ext_session;
    int rc = resume_session(c, res);
    served_here = outer;
    return rc;
}

int isapi_extension_write_waiting(isapi_conn *c)
{
    isapi__ecb *b = c->ext_session;
    /* a write another thread started since the session was resumed: its bytes first */
    isapi__ecb *outer = served_here;
    served_here = b;
    send_deferred(b);
    served_here = outer;
    EnterCriticalSection(&b->lock);
    int waiting = b->write_waiting;
    LeaveCriticalSection(&b->lock);
    return waiting;
}

void isapi_extension_write_done(isapi_conn *c, DWORD error)
{
    complete_write(c->ext_session, error);
}

int isapi_extension_write_more(isapi_conn *c)
{
    isapi__ecb *b = c->ext_session;
    isapi__ecb *outer = served_here;
    served_here = b;
    int more = stream_more(b);
    served_here = outer;
    return more;
}

int isapi_extension_read_waiting(isapi_conn *c, void **buf, DWORD *size)
{
    isapi__ecb *b = c->ext_session;
    EnterCriticalSection(&b->lock);
    int waiting = b->read_waiting;
    *buf = b->read_buf;
    *size = b->read_size;
    LeaveCriticalSection(&b->lock);
    return waiting;
}

void isapi_extension_read_done(isapi_conn *c, DWORD bytes, DWORD error)
{
    isapi__ecb *b = c->ext_session;
    void *buf;
    DWORD size;
    PFN_HSE_IO_COMPLETION fn;
    void *ctx;
    if (!take_read(b, &buf, &size, &fn, &ctx))
        return;
    if (error) {
        EnterCriticalSection(&b->lock);
        b->write_error = error;
        LeaveCriticalSection(&b->lock);
    }
    queue_completion(b, fn, ctx, error ? 0 : bytes, error);
}

int isapi_extension_detach(isapi_conn *c)
{
    isapi__ecb *b = c->ext_session;
    EnterCriticalSection(&b->lock);
    int work = b->completion_ready || b->exec_asked || (b->done && !b->op_outstanding)
               || b->abandoned || b->write_waiting || b->read_waiting;
    if (!work)
        b->detached = 1;
    LeaveCriticalSection(&b->lock);
    return work;
}

int isapi_extension_abandon(isapi_conn *c)
{
    isapi__ecb *b = c->ext_session;
    EnterCriticalSection(&b->lock);
    int claimed = b->detached;
    if (claimed) {
        b->detached = 0;
        b->abandoned = 1;
        /* from now on every callback of the extension answers ERROR_INVALID_PARAMETER */
        InterlockedExchange(&b->running, 0);
    }
    LeaveCriticalSection(&b->lock);
    return claimed;
}

int isapi_extension_run(isapi_conn *c, isapi_extension *x, const isapi_ext_request *rq,
                        isapi_ext_result *res)
{
    result_clear(res);
    res->hse_status = HSE_STATUS_ERROR;
    isapi_request *req = &c->req;
    /* Why on the heap: after HSE_STATUS_PENDING the extension's own threads use the block
     * until DONE_WITH_SESSION while the host serves other requests, and one that never
     * calls it keeps it forever. */
    isapi__ecb *b = ecb_get();
    if (!b)
        return -1;
    const char *url = req->url ? req->url : "";
    const char *q = strchr(url, '?');
    /* the method, the query, PATH_INFO, PATH_TRANSLATED, the content type: private
     * copies, in one block after the data */
    const char *text[5] = { req->method, q ? q + 1 : "", rq->path_info, rq->path_translated,
                            isapi_headers_find(&req->headers, "Content-Type") };
    size_t len[5], total = rq->ahead_len + 1;
    for (int i = 0; i < 5; i++) {
        if (!text[i])
            text[i] = "";
        len[i] = strlen(text[i]);
        total += len[i] + 1;
    }
    char *at = b->text_local;
    if (total > sizeof b->text_local && !(at = b->text_heap = malloc(total))) {
        ecb_release(b, 1);
        return -1;
    }
    /* Why a NUL after the data: IIS puts one there, and extensions rely on it. */
    unsigned char *data = (unsigned char *)place_text(&at, (const char *)rq->ahead,
                                                      rq->ahead_len);

    EXTENSION_CONTROL_BLOCK *ecb = &b->ecb;
    ecb->cbSize = sizeof *ecb;
    ecb->dwVersion = HSE_VERSION;
    ecb->ConnID = b;
    ecb->dwHttpStatusCode = 200;
    ecb->lpszMethod = place_text(&at, text[0], len[0]);
    ecb->lpszQueryString = place_text(&at, text[1], len[1]);
    ecb->lpszPathInfo = place_text(&at, text[2], len[2]);
    ecb->lpszPathTranslated = place_text(&at, text[3], len[3]);
    /* Why 0xFFFFFFFF: "unknown or 4 GB and more", the extension reads until ReadClient
     * gives 0 bytes (EXTENSION_CONTROL_BLOCK, IIS 6 SDK). */
    ecb->cbTotalBytes = rq->total_bytes >= 0xffffffffu ? 0xffffffffu : (DWORD)rq->total_bytes;
    ecb->cbAvailable = (DWORD)rq->ahead_len;
    ecb->lpbData = data;
    ecb->lpszContentType = place_text(&at, text[4], len[4]);
    ecb->GetServerVariable = ext_get_server_variable;
    ecb->WriteClient = ext_write_client;
    ecb->ReadClient = ext_read_client;
    ecb->ServerSupportFunction = ext_server_support;
    b->magic = ISAPI__ECB_MAGIC;
    b->running = 1;
    b->c = c;
    b->x = x;
    b->rq_copy = *rq;
    b->rq_copy.ahead = NULL;   /* copied into lpbData; the host's buffer may go */
    b->rq = &b->rq_copy;
    b->result.hse_status = HSE_STATUS_ERROR;
    b->res = &b->result;
    b->depth = rq->exec_depth;
    b->outer = c->ext_session;

    InterlockedIncrement(&c->e->exts->inflight);
    ext_call a = { x, 1, ecb, 0, 0 };
    char fault[400];
    isapi__ecb *outer = served_here;
    served_here = b;
    int crashed = guarded(&a, fault, sizeof fault);
    b->proc_last = a.last;
    if (!crashed && a.r == HSE_STATUS_PENDING) {
        served_here = outer;
        c->ext_session = b;
        result_clear(res);
        res->pending = 1;
        return 0;
    }
    EnterCriticalSection(&b->lock);
    int exec_asked = b->exec_asked;
    b->exec_asked = 0;
    LeaveCriticalSection(&b->lock);
    if (!crashed && exec_asked) {
        /* Why no child: the request ends with this return, and the child would have no
         * parent to report to (IIS asks for HSE_STATUS_PENDING after HSE_REQ_EXEC_URL). */
        isapi__log(c->e, c, ISAPI_LOG_WARN, x->path,
                   "asked for a child request (HSE_REQ_EXEC_URL) and did not return "
                   "HSE_STATUS_PENDING; the child does not run");
        exec_clear(b);
        queue_completion(b, b->exec_fn, b->exec_ctx, 0, ERROR_OPERATION_ABORTED);
    }
    if (!crashed) {
        /* an operation started by a request that did not return PENDING still completes;
         * the bytes of a write are in the output queue, which the host sends after the
         * request */
        do {
            send_deferred(b);
            while (stream_more(b))
                ;   /* the host sends the queue after the request */
            complete_write(b, 0);
            abort_read(b);
        } while (deliver_completion(b) > 0);
    }
    served_here = outer;
    return finish(b, a.r, crashed, fault, res);
}
