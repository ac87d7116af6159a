/*
 * route.c - virtual directories, script maps and the wildcard map (route.h).
 *
 * host_route_select() walks the URL path's segments from the left, as IIS does: the first
 * segment that names a DLL in a folder with Execute access, or whose extension has a
 * script map, ends SCRIPT_NAME; what follows is the path info. The wildcard map ("*") is
 * checked first: IIS 6 hands every request of the application to its wildcard DLLs before
 * any other handler.
 *
 * Why PATH_INFO differs between the two: for a script map, IIS's default
 * (AllowPathInfoForScriptMappings = FALSE, IIS 6 metabase) gives the full URL path, which
 * ASP-style engines rely on to find their script through PATH_TRANSLATED; for a DLL named
 * in the URL it gives the part after the DLL.
 */
#include "route.h"
#include "fmt.h"
#include "os.h"

#include <ctype.h>
#include <string.h>

void host_route_vdir(const host_config_t *cfg, const char *path, host_vdir_match_t *m)
{
    m->url = "";
    m->url_len = 0;
    m->folder = cfg->root;
    m->access = cfg->root_access;
    for (size_t i = 0; i < cfg->nvdirs; i++) {
        const host_vdir_t *d = &cfg->vdirs[i];
        size_t n = strlen(d->url);
        if (n <= m->url_len || strncmp(path, d->url, n) != 0
            || (path[n] != '\0' && path[n] != '/'))
            continue;
        m->url = d->url;
        m->url_len = n;
        m->folder = d->path;
        m->access = d->access;
    }
}

int host_route_map_path(const host_config_t *cfg, const char *path, char *out, size_t outlen,
                        host_vdir_match_t *m)
{
    host_vdir_match_t local;
    if (!m)
        m = &local;
    host_route_vdir(cfg, path, m);
    const char *rel = path + m->url_len;
    while (*rel == '/')
        rel++;
    return plat_path_join(out, outlen, m->folder, rel);
}

static int ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return b[n] == '\0';
}

static const host_script_map_t *find_map(const host_config_t *cfg, const char *ext, size_t n)
{
    for (size_t i = 0; i < cfg->nscript_maps; i++)
        if (ieq(ext, cfg->script_maps[i].ext, n))
            return &cfg->script_maps[i];
    return NULL;
}

/* 1 when `method` is in the comma-separated list (case-sensitive: methods are). */
static int verb_allowed(const char *verbs, const char *method)
{
    if (!*verbs)
        return 1;
    size_t ml = strlen(method);
    for (const char *p = verbs; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == ml && strncmp(p, method, n) == 0)
            return 1;
        p += n + (e ? 1 : 0);
    }
    return 0;
}

/* Writes s[0, n) into dst[0, cap) and terminates it, cut to the buffer: URL text is the
 * client's, so its length is never trusted. Runs for each extension request, where
 * snprintf cost more than the rest of the routing (docs/performance.md). */
static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
    host_out_t o = host_out_make(dst, cap - 1);
    host_out_bytes(&o, s, n);
    *o.p = '\0';
}

static void fill_application(const host_config_t *cfg, const host_vdir_match_t *m,
                             host_route_t *out)
{
    host_out_t o = host_out_make(out->appl_md_path, sizeof out->appl_md_path - 1);
    host_out_str(&o, "/LM/W3SVC/");
    host_out_u64(&o, cfg->instance_id);
    host_out_str(&o, "/ROOT");
    host_out_str(&o, m->url);
    *o.p = '\0';
    size_t n = strlen(m->folder);
    /* Why the separator: IIS's APPL_PHYSICAL_PATH always ends with one. */
    int sep = n > 0 && (m->folder[n - 1] == '/' || m->folder[n - 1] == PLAT_PATH_SEP);
    o = host_out_make(out->appl_physical_path, sizeof out->appl_physical_path - 1);
    host_out_bytes(&o, m->folder, n);
    if (!sep)
        host_out_char(&o, PLAT_PATH_SEP);
    *o.p = '\0';
}

static int is_file(const char *physical)
{
    plat_file_info_t info;
    return plat_file_stat(physical, &info) == 0 && info.exists && !info.is_directory;
}

/* The script map `map` matched with SCRIPT_NAME = path[0..end). */
static void select_map(const host_config_t *cfg, const host_script_map_t *map,
                       const char *method, const char *path, size_t end,
                       const host_vdir_match_t *vd, host_route_t *out)
{
    unsigned need = (map->flags & HOST_SCRIPTMAP_SCRIPT) ? HOST_ACCESS_SCRIPT
                                                         : HOST_ACCESS_EXECUTE;
    copy_text(out->script_name, sizeof out->script_name, path, end);
    if (host_route_map_path(cfg, out->script_name, out->script_translated,
                            sizeof out->script_translated, NULL) < 0)
        out->script_translated[0] = '\0';
    if (!(vd->access & need)) {
        /* Why 403: IIS answers 403.1 ("execute access forbidden") when the folder's
         * access does not let the map run. */
        out->handler = HOST_HANDLER_REFUSE;
        out->status = 403;
        return;
    }
    if (!verb_allowed(map->verbs, method)) {
        out->handler = HOST_HANDLER_REFUSE;
        out->status = 405;
        out->allow = map->verbs;
        return;
    }
    if ((map->flags & HOST_SCRIPTMAP_CHECK_FILE) && !is_file(out->script_translated)) {
        out->handler = HOST_HANDLER_REFUSE;
        out->status = 404;
        return;
    }
    out->handler = HOST_HANDLER_EXTENSION;
    out->dll = map->dll;
    copy_text(out->path_info, sizeof out->path_info, path, strlen(path));
    /* A URL without a path after the script maps to the script's own path: mapped once. */
    if (strcmp(out->script_name, path) == 0)
        memcpy(out->path_translated, out->script_translated,
               strlen(out->script_translated) + 1);
    else if (host_route_map_path(cfg, path, out->path_translated, sizeof out->path_translated,
                                 NULL) < 0)
        out->path_translated[0] = '\0';
}

/* The handler of `method` on `path`, whose folder is `vd` (host_route_select's walk). */
static void choose_handler(const host_config_t *cfg, const char *method, const char *path,
                           const host_vdir_match_t *vd, host_route_t *out)
{
    const host_script_map_t *wild = find_map(cfg, "*", 1);
    if (wild) {
        select_map(cfg, wild, method, path, strlen(path), vd, out);
        return;
    }
    for (size_t start = 1; path[start - 1];) {
        size_t end = start;
        while (path[end] && path[end] != '/')
            end++;
        const char *dot = NULL;
        for (size_t i = start; i < end; i++)
            if (path[i] == '.')
                dot = path + i;
        const char *ext = dot ? dot + 1 : NULL;
        size_t el = dot ? (size_t)(path + end - ext) : 0;
        int is_dll = dot && el == 3 && ieq(ext, "dll", 3);
        const host_script_map_t *map = dot && !is_dll ? find_map(cfg, ext, el) : NULL;
        /* Why look further only for a DLL or a mapped extension: every other segment is
         * part of a static path, and this runs for every request. */
        if (is_dll || map) {
            host_vdir_match_t seg_vd;
            char seg[HOST_ROUTE_PATH];
            copy_text(seg, sizeof seg, path, end);
            host_route_vdir(cfg, seg, &seg_vd);
            if (is_dll) {
                char phys[HOST_ROUTE_PATH];
                if (host_route_map_path(cfg, seg, phys, sizeof phys, NULL) >= 0
                    && is_file(phys)) {
                    copy_text(out->script_name, sizeof out->script_name, seg, strlen(seg));
                    copy_text(out->script_translated, sizeof out->script_translated, phys,
                              strlen(phys));
                    if (!(seg_vd.access & HOST_ACCESS_EXECUTE)) {
                        /* Why: a DLL runs only from a folder with Execute access; it is
                         * never sent as a file either (mime.h). Why 404 where IIS says
                         * 403.1: the answer for a DLL that exists must be the answer for
                         * one that does not (docs/robustness.md, "Static files"). */
                        out->handler = HOST_HANDLER_REFUSE;
                        out->status = 404;
                        return;
                    }
                    out->handler = HOST_HANDLER_EXTENSION;
                    out->direct = 1;
                    copy_text(out->dll_buf, sizeof out->dll_buf, phys, strlen(phys));
                    out->dll = out->dll_buf;
                    copy_text(out->path_info, sizeof out->path_info, path + end,
                              strlen(path + end));
                    if (path[end] && host_route_map_path(cfg, path + end, out->path_translated,
                                                         sizeof out->path_translated, NULL) < 0)
                        out->path_translated[0] = '\0';
                    return;
                }
                if (seg_vd.access & HOST_ACCESS_EXECUTE) {
                    /* a DLL URL in an executable folder names a program, never a folder */
                    out->handler = HOST_HANDLER_REFUSE;
                    out->status = 404;
                    return;
                }
            } else {
                select_map(cfg, map, method, path, end, &seg_vd, out);
                return;
            }
        }
        if (!path[end])
            break;
        start = end + 1;
    }
}

void host_route_select(const host_config_t *cfg, const char *method, const char *path,
                       host_route_t *out)
{
    /* Why not memset: the route holds seven path buffers (about 28 KiB), and clearing them
     * all for every request evicted the first-level cache on the static path; each buffer
     * is written before it is read, so an empty string is enough. */
    out->handler = HOST_HANDLER_STATIC;
    out->status = 0;
    out->allow = NULL;
    out->dll = NULL;
    out->direct = 0;
    out->dll_buf[0] = out->script_name[0] = out->path_info[0] = '\0';
    out->path_translated[0] = out->script_translated[0] = '\0';
    out->appl_md_path[0] = out->appl_physical_path[0] = '\0';
    host_vdir_match_t vd;
    host_route_vdir(cfg, path, &vd);
    out->access = vd.access;
    choose_handler(cfg, method, path, &vd, out);
    /* APPL_MD_PATH and APPL_PHYSICAL_PATH are read only by extensions (the ECB's server
     * variables); the static handler never needs them. */
    if (out->handler == HOST_HANDLER_EXTENSION)
        fill_application(cfg, &vd, out);
}
