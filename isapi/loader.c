/*
 * loader.c - the engine's life cycle: creating it, loading filter DLLs in load order
 * (LoadLibrary, GetFilterVersion, flag normalisation), TerminateFilter and unloading.
 *
 * isapi_engine_load() walks one DLL through an owned lifetime: LoadLibraryA -> resolve
 * GetFilterVersion / HttpFilterProc / optional TerminateFilter -> GetFilterVersion with a
 * zeroed HTTP_FILTER_VERSION -> normalise dwFlags -> append to the load order and rebuild
 * the per-notification call lists (dispatch.c). Every failure after LoadLibraryA ends in
 * FreeLibrary, and every failure message names the file and gives the Win32 error text
 * from FormatMessageA.
 *
 * Entry points are resolved by their undecorated names, as IIS does. On 32-bit builds a
 * DLL linked without a .def or --kill-at exports `_Name@N` / `Name@N` (stdcall
 * decoration); those are accepted with a warning (docs/isapi-reference.md, "Export
 * names"). The check is on the
 * pointer size, not on an OS macro: the libshim build never decorates, so the fallback
 * only ever fires for real 32-bit DLLs.
 *
 * When LoadLibraryA fails, the message says why in words (image.c reads the file's header).
 *
 * Unloading waits until no filter call is in flight (isapi_engine.inflight, counted by
 * isapi__invoke), then calls TerminateFilter(HSE_TERM_MUST_UNLOAD) and FreeLibrary in
 * reverse load order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <httpext.h>

#include "internal.h"

#define ISAPI__DEFAULT_ALLOC_CAP ((size_t)16 * 1024 * 1024)

/* A copy of the site root that ends in a separator, "" staying "". Why: IIS's
 * APPL_PHYSICAL_PATH always ends with '\' ("C:\inetpub\wwwroot\"), and filters append
 * a relative path to it without adding one. The
 * separator is the one the path itself uses: '\' for a path with a backslash or a drive
 * letter ("Z:\srv\site", "C:/srv"), '/' otherwise; the engine cannot ask the platform
 * (no platform test in isapi/), and the path's own spelling is what the filter joins to. */
static char *appl_path_with_separator(const char *ap)
{
    size_t n = strlen(ap);
    if (n == 0 || ap[n - 1] == '/' || ap[n - 1] == '\\')
        return isapi__strndup(ap, n);
    int drive = ((ap[0] >= 'A' && ap[0] <= 'Z') || (ap[0] >= 'a' && ap[0] <= 'z')) &&
                ap[1] == ':';
    char sep = drive || strchr(ap, '\\') ? '\\' : '/';
    char *p = malloc(n + 2);
    if (p) {
        memcpy(p, ap, n);
        p[n] = sep;
        p[n + 1] = '\0';
    }
    return p;
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
    e->loader_path = cfg->loader_path;
    const char *sw = cfg->server_software ? cfg->server_software : "isapihost/0.1";
    const char *ap = cfg->appl_physical_path ? cfg->appl_physical_path : "";
    e->server_software = isapi__strndup(sw, strlen(sw));
    e->appl_physical_path = appl_path_with_separator(ap);
    if (!e->server_software || !e->appl_physical_path) {
        isapi_engine_destroy(e);
        return NULL;
    }
    const char *fault = isapi__fault_injection();
    if (fault)
        isapi__log(e, NULL, ISAPI_LOG_WARN, NULL, "test build: request allocations fail on "
                   "purpose (ISAPIHOST_TEST_FAIL_ALLOC=%s)", fault);
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


/* Why LOAD_WITH_ALTERED_SEARCH_PATH: filters ship the DLLs they depend on beside them
 * (mod_jk, Shibboleth); with a full path, Windows then searches the filter's own folder for
 * them first, as Apache's mod_isapi (apr_dso_load) loads them. The flag is undefined for
 * relative paths, so it is used only for full ones. */
static HMODULE load_library(const isapi_engine *e, const char *configured)
{
    char converted[4096];
    const char *path = configured;
    if (e->loader_path) {
        if (e->loader_path(configured, converted, sizeof converted) < 0) {
            SetLastError(ERROR_FILENAME_EXCED_RANGE);
            return NULL;
        }
        path = converted;
    }
    int full = path[0] == '/' || path[0] == '\\'
               || (path[0] && path[1] == ':' && (path[2] == '\\' || path[2] == '/'));
    return LoadLibraryExA(path, NULL, full ? LOAD_WITH_ALTERED_SEARCH_PATH : 0);
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

    HMODULE m = load_library(e, path);
    if (!m) {
        DWORD code = GetLastError();
        char reason[600];
        isapi__error_text(code, why, sizeof why);
        isapi__explain_load_failure(path, code, reason, sizeof reason);
        snprintf(err, errlen, "filter %s: cannot load the library: %s (%s)", path, reason, why);
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
        const char *hint = "";
        if (!f.get_filter_version && GetProcAddress(m, "HttpExtensionProc"))
            hint = "; it exports HttpExtensionProc: it is an ISAPI extension, not a filter";
        snprintf(err, errlen, "filter %s: not an ISAPI filter: %s is not exported%s (%s)", path,
                 f.get_filter_version ? "HttpFilterProc" : "GetFilterVersion", hint, why);
        FreeLibrary(m);
        return -1;
    }

    /* Why zeroed: filters strcpy into lpszFilterDesc and leave fields alone (reference
     * 1.3, pitfall 15); the description is read back with a bound. */
    HTTP_FILTER_VERSION ver;
    memset(&ver, 0, sizeof ver);
    ver.dwServerFilterVersion = e->server_filter_version;
    e->load_fault[0] = '\0';
    SetLastError(0);
    BOOL ok = (BOOL)isapi__invoke(e, &f, NULL, ISAPI__CALL_VERSION, 0, &ver);
    if (!ok && e->load_fault[0]) {
        /* Why no FreeLibrary: the DLL's state is unknown after the crash, and its
         * DLL_PROCESS_DETACH would run outside any guard. */
        snprintf(err, errlen, "filter %s: crashed while loading: %s", path, e->load_fault);
        return -1;
    }
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
    /* Why: TerminateFilter is the filter's last call; no HttpFilterProc may still run or
     * start after it (docs/isapi-reference.md, "Entry points"). */
    while (InterlockedCompareExchange(&e->inflight, 0, 0) != 0)
        Sleep(1);
    isapi__extensions_unload(e);
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
    isapi__stats_free(e);
    free(e->filters);
    free(e->server_software);
    free(e->appl_physical_path);
    free(e);
}
