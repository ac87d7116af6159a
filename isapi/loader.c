/*
 * loader.c - engine lifecycle: loading filter DLLs, GetFilterVersion, flag normalisation,
 * TerminateFilter and unloading.
 *
 * isapi_engine_load() walks one DLL through an owned lifetime: LoadLibraryA -> resolve
 * GetFilterVersion / HttpFilterProc / optional TerminateFilter -> GetFilterVersion with a
 * zeroed HTTP_FILTER_VERSION -> normalise dwFlags -> append to the load order and rebuild
 * the per-notification call lists (notify.c). Every failure after LoadLibraryA ends in
 * FreeLibrary, and every failure message names the file and gives the Win32 error text
 * from FormatMessageA.
 *
 * Entry points are resolved by their undecorated names, as IIS does. On 32-bit builds a
 * DLL linked without a .def or --kill-at exports `_Name@N` / `Name@N` (stdcall
 * decoration); those are accepted with a warning (reference 1.2). The check is on the
 * pointer size, not on an OS macro: the libshim build never decorates, so the fallback
 * only ever fires for real 32-bit DLLs.
 *
 * Unloading waits until no filter call is in flight (isapi_engine.inflight, counted by
 * isapi__invoke), then calls TerminateFilter(HSE_TERM_MUST_UNLOAD) and FreeLibrary in
 * reverse load order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <httpext.h>

#include "internal.h"

#define ISAPI__DEFAULT_ALLOC_CAP ((size_t)16 * 1024 * 1024)

void isapi__log(isapi_engine *e, const isapi_conn *c, int level, const char *filter,
                const char *fmt, ...)
{
    isapi_log_fn fn = e->log;
    void *ctx = e->log_ctx;
    if (c && c->ops && c->ops->log) {
        fn = c->ops->log;
        ctx = c->ops->log_ctx;
    }
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(ctx, level, filter, msg);
}

void isapi__error_text(DWORD code, char *buf, size_t len)
{
    char text[512];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, code, 0, text, (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    if (n == 0)
        snprintf(buf, len, "Win32 error %lu", (unsigned long)code);
    else
        snprintf(buf, len, "error %lu: %.*s", (unsigned long)code, (int)n, text);
}

isapi_engine *isapi_engine_create(const isapi_config *cfg)
{
    isapi_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    isapi_config def = {0};
    if (!cfg)
        cfg = &def;
    e->server_filter_version = cfg->server_filter_version ? cfg->server_filter_version
                                                          : (DWORD)MAKELONG(0, 6);
    e->alloc_cap = cfg->alloc_cap ? cfg->alloc_cap : ISAPI__DEFAULT_ALLOC_CAP;
    e->log = cfg->log;
    e->log_ctx = cfg->log_ctx;
    const char *sw = cfg->server_software ? cfg->server_software : "isapihost/0.1";
    const char *ap = cfg->appl_physical_path ? cfg->appl_physical_path : "";
    e->server_software = isapi__strndup(sw, strlen(sw));
    e->appl_physical_path = isapi__strndup(ap, strlen(ap));
    if (!e->server_software || !e->appl_physical_path) {
        isapi_engine_destroy(e);
        return NULL;
    }
    return e;
}

/* Resolves an entry point; `args` is its x86 argument-stack size for the decorated form. */
static FARPROC resolve(isapi_engine *e, HMODULE m, const char *path, const char *name, int args)
{
    FARPROC p = GetProcAddress(m, name);
    if (p || sizeof(void *) != 4)
        return p;
    char decorated[64];
    for (int under = 1; under >= 0; under--) {
        snprintf(decorated, sizeof decorated, "%s%s@%d", under ? "_" : "", name, args);
        p = GetProcAddress(m, decorated);
        if (p) {
            isapi__log(e, NULL, ISAPI_LOG_WARN, path,
                       "exports %s instead of %s (stdcall decoration); link the filter with "
                       "a .def file or -Wl,--kill-at, IIS would not load it", decorated, name);
            return p;
        }
    }
    SetLastError(ERROR_PROC_NOT_FOUND);
    return NULL;
}

/* Why: a filter without port bits wants both (PHP's filter registers none, reference
 * 1.4); without an order bit it gets SF_NOTIFY_ORDER_DEFAULT, which is LOW in every
 * header; several order bits mean the highest; unknown bits (WebKnight's TMG flag) are
 * dropped. */
static DWORD normalise_flags(DWORD in)
{
    DWORD out = in & ISAPI__NOTIFY_ALL;
    DWORD ports = in & ISAPI__PORTS;
    out |= ports ? ports : ISAPI__PORTS;
    if (in & SF_NOTIFY_ORDER_HIGH)
        out |= SF_NOTIFY_ORDER_HIGH;
    else if (in & SF_NOTIFY_ORDER_MEDIUM)
        out |= SF_NOTIFY_ORDER_MEDIUM;
    else
        out |= SF_NOTIFY_ORDER_LOW;
    return out;
}

int isapi_engine_load(isapi_engine *e, const char *path, char *err, size_t errlen)
{
    char why[600];
    char dummy[1];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    for (size_t i = 0; i < e->nfilters; i++)
        if (strcmp(e->filters[i].path, path) == 0) {
            isapi__log(e, NULL, ISAPI_LOG_WARN, path,
                       "filter listed twice; loaded once, the second entry is ignored");
            return 0;
        }

    HMODULE m = LoadLibraryA(path);
    if (!m) {
        isapi__error_text(GetLastError(), why, sizeof why);
        snprintf(err, errlen, "filter %s: cannot load the library (%s)", path, why);
        return -1;
    }
    isapi__filter f;
    memset(&f, 0, sizeof f);
    f.module = m;
    f.get_filter_version = (isapi__gfv_fn)(void (*)(void))resolve(e, m, path, "GetFilterVersion", 4);
    f.proc = (isapi__hfp_fn)(void (*)(void))resolve(e, m, path, "HttpFilterProc", 12);
    f.terminate = (isapi__term_fn)(void (*)(void))resolve(e, m, path, "TerminateFilter", 4);
    if (!f.get_filter_version || !f.proc) {
        isapi__error_text(ERROR_PROC_NOT_FOUND, why, sizeof why);
        snprintf(err, errlen, "filter %s: %s is not exported (%s)", path,
                 f.get_filter_version ? "HttpFilterProc" : "GetFilterVersion", why);
        FreeLibrary(m);
        return -1;
    }

    /* Why zeroed: filters strcpy into lpszFilterDesc and leave fields alone (reference
     * 1.3, pitfall 15); the description is read back with a bound. */
    HTTP_FILTER_VERSION ver;
    memset(&ver, 0, sizeof ver);
    ver.dwServerFilterVersion = e->server_filter_version;
    SetLastError(0);
    BOOL ok = (BOOL)isapi__invoke(e, &f, NULL, ISAPI__CALL_VERSION, 0, &ver);
    if (!ok) {
        DWORD code = GetLastError();
        /* Why silent on 0: "a filter that fails but does not want an event-log entry
         * calls SetLastError(0)" (IIS 6 SDK, GetFilterVersion). */
        if (code != 0) {
            isapi__error_text(code, why, sizeof why);
            isapi__log(e, NULL, ISAPI_LOG_WARN, path,
                       "GetFilterVersion returned FALSE, filter not used (%s)", why);
        }
        FreeLibrary(m);
        return 1;
    }

    isapi__filter *v = realloc(e->filters, (e->nfilters + 1) * sizeof *v);
    f.path = isapi__strndup(path, strlen(path));
    if (!v || !f.path) {
        if (v)
            e->filters = v;
        free(f.path);
        if (f.terminate)
            isapi__invoke(e, &f, NULL, ISAPI__CALL_TERMINATE, HSE_TERM_MUST_UNLOAD, NULL);
        FreeLibrary(m);
        snprintf(err, errlen, "filter %s: out of memory", path);
        return -1;
    }
    e->filters = v;
    memcpy(f.desc, ver.lpszFilterDesc, sizeof f.desc);
    f.desc[sizeof f.desc - 1] = '\0';
    f.flags = normalise_flags(ver.dwFlags);
    e->filters[e->nfilters++] = f;
    if (isapi__build_lists(e) != 0) {
        e->nfilters--;
        free(f.path);
        FreeLibrary(m);
        snprintf(err, errlen, "filter %s: out of memory", path);
        return -1;
    }
    isapi__log(e, NULL, ISAPI_LOG_INFO, path,
               "loaded \"%s\", filter version 0x%08lx, flags 0x%08lx (registered 0x%08lx)",
               f.desc, (unsigned long)ver.dwFilterVersion, (unsigned long)f.flags,
               (unsigned long)ver.dwFlags);
    return 0;
}

size_t isapi_engine_filter_count(const isapi_engine *e) { return e->nfilters; }
const char *isapi_engine_filter_path(const isapi_engine *e, size_t i) { return e->filters[i].path; }
const char *isapi_engine_filter_desc(const isapi_engine *e, size_t i) { return e->filters[i].desc; }
DWORD isapi_engine_filter_flags(const isapi_engine *e, size_t i) { return e->filters[i].flags; }

void isapi_engine_destroy(isapi_engine *e)
{
    if (!e)
        return;
    /* Why: "guarantee no HttpFilterProc call is in flight or will start after
     * TerminateFilter" (reference 1.7). */
    while (InterlockedCompareExchange(&e->inflight, 0, 0) != 0)
        Sleep(1);
    for (size_t i = e->nfilters; i-- > 0;) {
        isapi__filter *f = &e->filters[i];
        if (f->terminate)
            isapi__invoke(e, f, NULL, ISAPI__CALL_TERMINATE, HSE_TERM_MUST_UNLOAD, NULL);
        FreeLibrary(f->module);
        free(f->path);
    }
    for (int s = 0; s < 2; s++)
        for (int n = 0; n < ISAPI__N_COUNT; n++)
            free(e->lists[s][n]);
    free(e->filters);
    free(e->server_software);
    free(e->appl_physical_path);
    free(e);
}
