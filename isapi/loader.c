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
 * decoration); those are accepted with a warning (docs/isapi-reference.md, "Export
 * names"). The check is on the
 * pointer size, not on an OS macro: the libshim build never decorates, so the fallback
 * only ever fires for real 32-bit DLLs.
 *
 * When LoadLibraryA fails, the Win32 code alone rarely tells a filter's owner what to do
 * (ERROR_BAD_EXE_FORMAT for a DLL of the other bitness, ERROR_MOD_NOT_FOUND both for a
 * missing file and for a missing dependency), so the loader reads the file's header itself
 * and compares it with the server's own executable: PE or ELF, which machine, which
 * bitness, and for a PE whose file exists, which of the DLLs in its import table cannot be
 * found. This is plain file parsing, the same on every platform.
 *
 * Unloading waits until no filter call is in flight (isapi_engine.inflight, counted by
 * isapi__invoke), then calls TerminateFilter(HSE_TERM_MUST_UNLOAD) and FreeLibrary in
 * reverse load order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <httpext.h>

#include "guard.h"
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
    /* Why: the system text of some codes has an insert for the file name ("%1 is not a
     * valid Win32 application."); the line names the file already. */
    char *ins = n > 0 ? strstr(text, "%1") : NULL;
    if (ins && ins < text + n && n + 8 < sizeof text) {
        memmove(ins + 8, ins + 2, (size_t)(text + n - (ins + 2)));
        memcpy(ins, "the file", 8);
        n += 6;
    }
    if (n == 0)
        snprintf(buf, len, "Win32 error %lu", (unsigned long)code);
    else
        snprintf(buf, len, "error %lu: %.*s", (unsigned long)code, (int)n, text);
}

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
    const char *sw = cfg->server_software ? cfg->server_software : "isapihost/0.1";
    const char *ap = cfg->appl_physical_path ? cfg->appl_physical_path : "";
    e->server_software = isapi__strndup(sw, strlen(sw));
    e->appl_physical_path = appl_path_with_separator(ap);
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

/* ---- why a library did not load ------------------------------------------------------ */

enum { IMG_NONE, IMG_PE, IMG_ELF };

typedef struct image_info {
    int format;             /* IMG_NONE: neither PE nor ELF */
    int bits;               /* 32 or 64, 0 when unknown */
    unsigned machine;       /* PE Machine or ELF e_machine */
    int is_library;         /* PE IMAGE_FILE_DLL / ELF ET_DYN */
    char imports[1024];     /* PE: imported DLL names, each NUL-terminated, "" ends */
} image_info;

#define IMG_MAX_READ ((size_t)64 * 1024 * 1024)

static unsigned rd16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t rd32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a whole file (up to IMG_MAX_READ bytes). Returns a malloc'ed buffer or NULL with
 * errno set. */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n < cap || cap >= IMG_MAX_READ)
            break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(fp);
    *len = n;
    return buf;
}

/* File offset of a PE relative virtual address, or 0 when no section holds it. */
static size_t pe_offset(const unsigned char *b, size_t n, size_t sect, unsigned nsect,
                        uint32_t rva)
{
    for (unsigned i = 0; i < nsect && sect + 40 * (size_t)(i + 1) <= n; i++) {
        const unsigned char *h = b + sect + 40 * (size_t)i;
        uint32_t vsize = rd32(h + 8), va = rd32(h + 12), raw = rd32(h + 16), ptr = rd32(h + 20);
        uint32_t span = vsize > raw ? vsize : raw;
        if (rva >= va && rva - va < span && (size_t)ptr + (rva - va) < n)
            return (size_t)ptr + (rva - va);
    }
    return 0;
}

static void pe_read_imports(const unsigned char *b, size_t n, size_t opt, image_info *img)
{
    size_t used = 0;
    unsigned magic = rd16(b + opt);
    size_t dirs = opt + (magic == 0x20b ? 112 : 96);
    size_t ndirs_at = opt + (magic == 0x20b ? 108 : 92);
    size_t coff = opt - 20;
    size_t sect = opt + rd16(b + coff + 16);
    unsigned nsect = rd16(b + coff + 2);
    if (dirs + 16 > n || rd32(b + ndirs_at) < 2)
        return;
    uint32_t rva = rd32(b + dirs + 8);
    size_t off = rva ? pe_offset(b, n, sect, nsect, rva) : 0;
    for (; off && off + 20 <= n; off += 20) {
        uint32_t name_rva = rd32(b + off + 12);
        if (name_rva == 0)
            break;
        size_t name = pe_offset(b, n, sect, nsect, name_rva);
        if (!name)
            continue;
        size_t len = 0;
        while (name + len < n && b[name + len] && len < 255)
            len++;
        if (used + len + 2 > sizeof img->imports)
            break;
        memcpy(img->imports + used, b + name, len);
        used += len;
        img->imports[used++] = '\0';
    }
    img->imports[used] = '\0';
}

/* Fills *img from the file's header. Returns 0, or -1 when the file cannot be read
 * (errno tells why). */
static int read_image(const char *path, image_info *img)
{
    memset(img, 0, sizeof *img);
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    if (!b)
        return -1;
    if (n >= 64 && b[0] == 'M' && b[1] == 'Z') {
        size_t pe = rd32(b + 0x3c);
        if (pe + 24 + 2 <= n && memcmp(b + pe, "PE\0\0", 4) == 0) {
            img->format = IMG_PE;
            img->machine = rd16(b + pe + 4);
            img->is_library = (rd16(b + pe + 22) & 0x2000) != 0;   /* IMAGE_FILE_DLL */
            unsigned magic = rd16(b + pe + 24);
            img->bits = magic == 0x20b ? 64 : magic == 0x10b ? 32 : 0;
            if (img->bits)
                pe_read_imports(b, n, pe + 24, img);
        }
    } else if (n >= 20 && memcmp(b, "\177ELF", 4) == 0) {
        img->format = IMG_ELF;
        img->bits = b[4] == 1 ? 32 : b[4] == 2 ? 64 : 0;
        int big = b[5] == 2;
        img->machine = big ? (unsigned)b[18] << 8 | b[19] : rd16(b + 18);
        unsigned type = big ? (unsigned)b[16] << 8 | b[17] : rd16(b + 16);
        img->is_library = type == 3;                                /* ET_DYN */
    }
    free(b);
    return 0;
}

static const char *machine_name(const image_info *img)
{
    if (img->format == IMG_PE)
        switch (img->machine) {
        case 0x014c: return "i386";
        case 0x8664: return "x86-64";
        case 0xaa64: return "ARM64";
        case 0x01c4: return "ARM";
        default:     return "an unknown machine";
        }
    switch (img->machine) {
    case 3:   return "i386";
    case 62:  return "x86-64";
    case 183: return "AArch64";
    case 40:  return "ARM";
    default:  return "an unknown machine";
    }
}

static const char *base_name(const char *path)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            base = p + 1;
    return base;
}

/* Whether a DLL named in an import table can be found: beside the filter (the loader
 * searches there first, see isapi_engine_load), already loaded, or on the system's own
 * search path. */
static int dependency_found(const char *filter_path, const char *dll)
{
    char beside[1024];
    const char *base = base_name(filter_path);
    int n = snprintf(beside, sizeof beside, "%.*s%s", (int)(base - filter_path), filter_path,
                     dll);
    FILE *fp = n > 0 && (size_t)n < sizeof beside ? fopen(beside, "rb") : NULL;
    if (fp) {
        fclose(fp);
        return 1;
    }
    if (GetModuleHandleA(dll))
        return 1;
    HMODULE m = LoadLibraryExA(dll, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (m) {
        FreeLibrary(m);
        return 1;
    }
    return 0;
}

/* Puts into `out` the reason, in words, why LoadLibrary failed with `code` for `path`. */
/* A message into out, cut to fit: a long path may shorten a message, never overflow it. */
static void say(char *out, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void say(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

static void explain_load_failure(const char *path, DWORD code, char *out, size_t len)
{
    image_info img, self;
    char self_path[1024];
    const char *self_name = "this server";
    int have_self = 0;
    DWORD sn = GetModuleFileNameA(NULL, self_path, sizeof self_path);
    if (sn > 0 && sn < sizeof self_path && read_image(self_path, &self) == 0
        && self.format != IMG_NONE) {
        have_self = 1;
        self_name = base_name(self_path);
    }

    if (read_image(path, &img) != 0) {
        if (errno == ENOENT)
            say(out, len, "the file does not exist");
        else
            say(out, len, "the file cannot be read (%s)", strerror(errno));
        return;
    }
    const char *kind = img.format == IMG_PE ? "Windows DLL" : "ELF shared object";
    if (img.format == IMG_NONE) {
        say(out, len, "it is not a DLL: the file has neither a PE nor an ELF header");
    } else if (have_self && img.format != self.format) {
        if (self.format == IMG_ELF)
            say(out, len, "it is a %d-bit Windows DLL (%s); this native %s loads filters "
                     "compiled from source against the shim (.so), or run the DLL with "
                     "isapihost.exe (docs/windows.md)", img.bits, machine_name(&img),
                     self_name);
        else
            say(out, len, "it is an ELF shared object, not a Windows DLL; %s loads "
                     "Windows DLLs", self_name);
    } else if (have_self && (img.machine != self.machine || img.bits != self.bits)) {
        say(out, len, "it is a %d-bit %s (%s); %s is %d-bit (%s): use a build of the "
                 "filter and of isapihost of the same bitness", img.bits, kind,
                 machine_name(&img), self_name, self.bits, machine_name(&self));
    } else if (!img.is_library) {
        say(out, len, "it is a program, not a %s", kind);
    } else if (code == ERROR_MOD_NOT_FOUND) {
        size_t used = (size_t)snprintf(out, len, "%s it depends on could not be found",
                                       img.format == IMG_PE ? "a DLL" : "a shared library");
        int named = 0;
        for (const char *d = img.imports; *d && used < len; d += strlen(d) + 1) {
            if (isapi__ieqn(d, 7, "api-ms-", 7) || isapi__ieqn(d, 7, "ext-ms-", 7)
                || dependency_found(path, d))
                continue;
            used += (size_t)snprintf(out + used, len - used, "%s%s", named ? ", " : ": ", d);
            named = 1;
        }
        if (!named && used < len)
            snprintf(out + used, len - used, img.format == IMG_PE
                     ? " (not one it imports directly: one of theirs)"
                     : " (ldd on the file lists them)");
    } else if (code == ERROR_PROC_NOT_FOUND) {
        say(out, len, "a function it imports is missing from the %s that should provide "
                 "it", img.format == IMG_PE ? "DLL" : "library");
    } else if (code == ERROR_DLL_INIT_FAILED) {
        say(out, len, "its DllMain failed DLL_PROCESS_ATTACH");
    } else {
        say(out, len, "the system refused it");
    }
}

/* Why LOAD_WITH_ALTERED_SEARCH_PATH: filters ship the DLLs they depend on beside them
 * (mod_jk, Shibboleth); with a full path, Windows then searches the filter's own folder for
 * them first, as Apache's mod_isapi (apr_dso_load) loads them. The flag is undefined for
 * relative paths, so it is used only for full ones. */
static HMODULE load_library(const char *path)
{
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

    HMODULE m = load_library(path);
    if (!m) {
        DWORD code = GetLastError();
        char reason[600];
        isapi__error_text(code, why, sizeof why);
        explain_load_failure(path, code, reason, sizeof reason);
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
    free(e->filters);
    free(e->server_software);
    free(e->appl_physical_path);
    free(e);
}
