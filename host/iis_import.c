/*
 * iis_import.c - an IIS configuration turned into an isapihost INI (see iis_import.h).
 *
 * libxml2 parses the file (no network, no external entities or DTDs: an IIS file needs
 * none). Both dialects are read into one model, a list of sites plus the global filters,
 * default documents and handler mappings, then one site is written out:
 *
 *   IIS 7+ applicationHost.config  <system.applicationHost><sites><site> with <bindings>,
 *       <application path="/"><virtualDirectory>, <logFile> (else <siteDefaults><logFile>);
 *       <system.webServer> at the top level for the global <isapiFilters>,
 *       <defaultDocument> and <handlers>, and inside <location path="SITE"> for the site's
 *       own (a <clear/> in a site's list drops what it inherited, as IIS does).
 *   IIS 6 MetaBase.xml  elements named by their Location: IIsFilters at /LM/W3SVC/Filters
 *       (FilterLoadOrder) and /LM/W3SVC/N/Filters, IIsFilter (FilterPath, FilterEnabled),
 *       IIsWebServer /LM/W3SVC/N (ServerBindings, SecureBindings, ServerComment, LogFile*),
 *       IIsWebVirtualDir /LM/W3SVC/N/ROOT[/...] (Path, DefaultDoc, ScriptMaps), and
 *       IIsWebService /LM/W3SVC for the inherited DefaultDoc and ScriptMaps.
 *
 * Windows paths are expanded (%SystemDrive%, %windir%) and translated by the --map
 * prefixes; natively a filter's ".dll" becomes ".so", the same source built against the
 * shim (docs/writing-filters.md). What cannot be carried is written as a comment.
 */
#define _POSIX_C_SOURCE 200809L   /* strtok_r */
#include "iis_import.h"
#include "config.h"
#include "os.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growing text buffer ---------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} text_t;

static void text_printf(text_t *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void text_printf(text_t *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->p && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

/* ---- the model ---------------------------------------------------------------------- */

enum { MAX_ITEMS = 64, MAX_SITES = 64, TEXT_MAX = 1024 };

typedef struct {
    char name[128];
    char path[TEXT_MAX];
    int enabled;
} imp_filter_t;

typedef struct {
    imp_filter_t f[MAX_ITEMS];
    size_t n;
} imp_filters_t;

/* Default documents: a list, and whether a site's list replaced what it inherited. */
typedef struct {
    char doc[MAX_ITEMS][128];
    size_t n;
    int cleared;     /* <clear/> seen (IIS 7), or the site sets its own DefaultDoc (IIS 6) */
    int disabled;    /* <defaultDocument enabled="false"> */
    int seen;
} imp_docs_t;

typedef struct {
    char id[32];
    char name[256];
    char root[TEXT_MAX];
    text_t listen;       /* "listen = ..." lines */
    text_t notes;        /* "; not carried: ..." lines of this site */
    imp_filters_t filters;
    imp_docs_t docs;
    char log_dir[TEXT_MAX];
    char log_period[32];
    char log_truncate[32];
    int log_local_time;
    int log_seen;
    char log_format[32];
} imp_site_t;

typedef struct {
    const host_iis_import_options_t *opt;
    imp_site_t *sites;
    size_t nsites;
    imp_filters_t filters;       /* global filters, in load order */
    imp_docs_t docs;             /* global default documents */
    text_t notes;                /* global "; not carried:" lines */
    imp_site_t defaults;         /* <siteDefaults> (log settings) */
    char err[512];
} import_t;

/* ---- small helpers ------------------------------------------------------------------ */

static int is_element(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && (!name || xmlStrcmp(n->name, BAD_CAST name) == 0);
}

/* Copies attribute `name` into buf (cap bytes). Returns 1 when present, 0 when absent,
 * -1 (and sets imp->err) when longer than buf. */
static int attr(import_t *imp, xmlNode *n, const char *name, char *buf, size_t cap)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v) {
        buf[0] = '\0';
        return 0;
    }
    size_t len = strlen((const char *)v);
    if (len >= cap) {
        snprintf(imp->err, sizeof imp->err, "line %ld: %s: the value is longer than %lu bytes",
                 (long)xmlGetLineNo(n), name, (unsigned long)cap - 1);
        xmlFree(v);
        return -1;
    }
    memcpy(buf, v, len + 1);
    xmlFree(v);
    return 1;
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* INI values are one line: newlines and the comment characters at a start are blanked. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int starts_with_path(const char *path, const char *prefix, size_t *matched)
{
    size_t i = 0;
    for (; prefix[i]; i++) {
        char a = path[i], b = prefix[i];
        if (a == '\0')
            return 0;
        if ((a == '\\' || a == '/') && (b == '\\' || b == '/'))
            continue;
        if (tolower((unsigned char)a) != tolower((unsigned char)b))
            return 0;
    }
    /* whole segments only: "C:\inet" does not match "C:\inetpub" */
    if (i > 0 && path[i] && path[i] != '\\' && path[i] != '/' && prefix[i - 1] != '\\'
        && prefix[i - 1] != '/')
        return 0;
    *matched = i;
    return 1;
}

/* Expands the environment variables IIS writes (%SystemDrive%, %windir%, %SystemRoot%)
 * and applies the --map prefixes. Returns 1 when a map applied (out is a path here), 0
 * when out is still a Windows path, -1 when it does not fit. */
static int map_path(const import_t *imp, const char *in, char *out, size_t cap)
{
    char expanded[TEXT_MAX * 2];
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < sizeof expanded;) {
        static const struct { const char *var, *value; } vars[] = {
            { "%SystemDrive%", "C:" }, { "%windir%", "C:\\Windows" },
            { "%SystemRoot%", "C:\\Windows" },
        };
        int done = 0;
        for (size_t v = 0; v < sizeof vars / sizeof vars[0] && !done; v++) {
            size_t n = strlen(vars[v].var);
            char head[32];
            snprintf(head, sizeof head, "%.*s", (int)n, p);
            if (strlen(head) == n && ieq(head, vars[v].var)) {
                int w = snprintf(expanded + o, sizeof expanded - o, "%s", vars[v].value);
                if (w < 0 || (size_t)w >= sizeof expanded - o)
                    return -1;
                o += (size_t)w;
                p += n;
                done = 1;
            }
        }
        if (!done)
            expanded[o++] = *p++;
    }
    expanded[o] = '\0';
    for (size_t i = 0; i < imp->opt->nmaps; i++) {
        size_t m;
        if (!starts_with_path(expanded, imp->opt->map_from[i], &m))
            continue;
        const char *rest = expanded + m;
        const char *to = imp->opt->map_to[i];
        size_t tl = strlen(to);
        int need_sep = tl > 0 && to[tl - 1] != '/' && to[tl - 1] != '\\' && *rest
                       && *rest != '\\' && *rest != '/';
        int w = snprintf(out, cap, "%s%s%s", to, need_sep ? "/" : "", rest);
        if (w < 0 || (size_t)w >= cap)
            return -1;
        if (PLAT_PATH_SEP == '/')
            for (char *q = out + tl; *q; q++)
                if (*q == '\\')
                    *q = '/';
        return 1;
    }
    int w = snprintf(out, cap, "%s", expanded);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* A path for the INI, with a note when it still names a Windows place on this system. */
static int carry_path(import_t *imp, text_t *notes, const char *what, const char *in,
                      char *out, size_t cap)
{
    int mapped = map_path(imp, in, out, cap);
    if (mapped < 0) {
        snprintf(imp->err, sizeof imp->err, "%.64s: the path '%.300s...' is too long", what, in);
        return -1;
    }
    if (!mapped && PLAT_PATH_SEP == '/' && (strchr(out, '\\') || strchr(out, ':')))
        text_printf(notes, "; check: %s '%s' is a Windows path; give --map '%.2s\\=/some/dir' "
                    "or edit the line below\n", what, out, out);
    return 0;
}

/* ".dll" -> ".so" where filters are shared objects. */
static void native_filter_name(char *path)
{
    if (PLAT_PATH_SEP != '/')
        return;
    size_t n = strlen(path);
    if (n > 4 && ieq(path + n - 4, ".dll"))
        strcpy(path + n - 4, ".so");
}

static imp_site_t *new_site(import_t *imp)
{
    if (imp->nsites == MAX_SITES) {
        snprintf(imp->err, sizeof imp->err, "more than %d sites", MAX_SITES);
        return NULL;
    }
    imp_site_t *s = &imp->sites[imp->nsites++];
    memset(s, 0, sizeof *s);
    return s;
}

static int add_filter(import_t *imp, imp_filters_t *list, const char *name, const char *path,
                      int enabled)
{
    if (list->n == MAX_ITEMS) {
        snprintf(imp->err, sizeof imp->err, "more than %d filters in one list", MAX_ITEMS);
        return -1;
    }
    imp_filter_t *f = &list->f[list->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->enabled = enabled;
    return 0;
}

static void add_doc(imp_docs_t *d, const char *doc)
{
    for (size_t i = 0; i < d->n; i++)
        if (ieq(d->doc[i], doc))
            return;
    if (d->n < MAX_ITEMS)
        snprintf(d->doc[d->n++], sizeof d->doc[0], "%s", doc);
}

/* ---- IIS 7+: applicationHost.config ------------------------------------------------- */

/* <isapiFilters>: <filter name path enabled>, <clear/> and <remove name>. */
static int read_isapi_filters(import_t *imp, xmlNode *list, imp_filters_t *out)
{
    for (xmlNode *n = list->children; n; n = n->next) {
        char name[128], path[TEXT_MAX], enabled[16];
        if (is_element(n, "clear")) {
            out->n = 0;
            continue;
        }
        if (!is_element(n, "filter"))
            continue;
        if (attr(imp, n, "name", name, sizeof name) < 0 || attr(imp, n, "path", path, sizeof path) < 0
            || attr(imp, n, "enabled", enabled, sizeof enabled) < 0)
            return -1;
        if (add_filter(imp, out, name, path, !ieq(enabled, "false")) != 0)
            return -1;
    }
    return 0;
}

/* <defaultDocument enabled><files><clear/><add value/><remove value/></files>. */
static int read_default_document(import_t *imp, xmlNode *dd, imp_docs_t *out)
{
    char enabled[16];
    if (attr(imp, dd, "enabled", enabled, sizeof enabled) < 0)
        return -1;
    out->seen = 1;
    if (ieq(enabled, "false"))
        out->disabled = 1;
    for (xmlNode *files = dd->children; files; files = files->next) {
        if (!is_element(files, "files"))
            continue;
        for (xmlNode *n = files->children; n; n = n->next) {
            char value[128];
            if (is_element(n, "clear")) {
                out->n = 0;
                out->cleared = 1;
            } else if (is_element(n, "add")) {
                if (attr(imp, n, "value", value, sizeof value) < 0)
                    return -1;
                add_doc(out, value);
            } else if (is_element(n, "remove")) {
                if (attr(imp, n, "value", value, sizeof value) < 0)
                    return -1;
                for (size_t i = 0; i < out->n; i++)
                    if (ieq(out->doc[i], value)) {
                        memmove(out->doc[i], out->doc[i + 1], (out->n - i - 1) * sizeof out->doc[0]);
                        out->n--;
                        break;
                    }
            }
        }
    }
    return 0;
}

/* <handlers>: the ISAPI mappings are named one by one; the rest are counted. */
static int read_handlers(import_t *imp, xmlNode *h, text_t *notes, const char *where)
{
    unsigned others = 0;
    for (xmlNode *n = h->children; n; n = n->next) {
        if (!is_element(n, "add"))
            continue;
        char name[256], path[256], modules[256], processor[TEXT_MAX], verb[128];
        if (attr(imp, n, "name", name, sizeof name) < 0 || attr(imp, n, "path", path, sizeof path) < 0
            || attr(imp, n, "modules", modules, sizeof modules) < 0
            || attr(imp, n, "scriptProcessor", processor, sizeof processor) < 0
            || attr(imp, n, "verb", verb, sizeof verb) < 0)
            return -1;
        if (strstr(modules, "IsapiModule")) {
            one_line(processor);
            text_printf(notes, "; not carried: %s handler mapping '%s' (path=%s verb=%s "
                        "modules=IsapiModule scriptProcessor=%s): isapihost runs ISAPI filters, "
                        "not ISAPI extensions\n", where, name, path, verb[0] ? verb : "*",
                        processor[0] ? processor : "-");
        } else {
            others++;
        }
    }
    if (others)
        text_printf(notes, "; not carried: %u other %s handler mapping(s) (static files are "
                    "served from root; modules such as ASP.NET or CGI have no equivalent)\n",
                    others, where);
    return 0;
}

static int read_log_file(import_t *imp, xmlNode *n, imp_site_t *s)
{
    char local[16];
    if (attr(imp, n, "directory", s->log_dir, sizeof s->log_dir) < 0
        || attr(imp, n, "period", s->log_period, sizeof s->log_period) < 0
        || attr(imp, n, "truncateSize", s->log_truncate, sizeof s->log_truncate) < 0
        || attr(imp, n, "localTimeRollover", local, sizeof local) < 0
        || attr(imp, n, "logFormat", s->log_format, sizeof s->log_format) < 0)
        return -1;
    s->log_local_time = ieq(local, "true");
    s->log_seen = 1;
    return 0;
}

/* "IP:PORT:HOST" ("*" for every address; "[::1]:80:" for IPv6). */
static void carry_binding(imp_site_t *s, const char *protocol, const char *info_in)
{
    char info[512];
    snprintf(info, sizeof info, "%s", info_in);
    one_line(info);
    char *host = strrchr(info, ':');
    char *port = NULL;
    if (host) {
        *host++ = '\0';
        port = strrchr(info, ':');
        if (port && (!strchr(info, ']') || port > strchr(info, ']')))
            *port++ = '\0';
        else
            port = NULL;
    }
    if (!port || !*port) {
        text_printf(&s->notes, "; not carried: %s binding '%s': not IP:port:host\n", protocol,
                    info_in);
        return;
    }
    const char *ip = (info[0] == '\0' || strcmp(info, "*") == 0) ? "0.0.0.0" : info;
    if (ieq(protocol, "https")) {
        text_printf(&s->notes, "; not carried: https binding %s:%s%s%s: isapihost does not "
                    "terminate TLS; terminate it in front (nginx, haproxy) and add "
                    "\"listen = %s:%s,secure\" for the decrypted side\n", ip, port,
                    *host ? " host " : "", host, ip, port);
        return;
    }
    if (!ieq(protocol, "http")) {
        text_printf(&s->notes, "; not carried: %s binding '%s': not HTTP\n", protocol, info_in);
        return;
    }
    text_printf(&s->listen, "listen = %s:%s\n", ip, port);
    if (*host)
        text_printf(&s->notes, "; not carried: host name '%s' of binding %s:%s: a listener "
                    "here answers every host name\n", host, ip, port);
}

static int read_site7(import_t *imp, xmlNode *sn)
{
    imp_site_t *s = new_site(imp);
    if (!s || attr(imp, sn, "name", s->name, sizeof s->name) < 0
        || attr(imp, sn, "id", s->id, sizeof s->id) < 0)
        return -1;
    one_line(s->name);
    for (xmlNode *c = sn->children; c; c = c->next) {
        if (is_element(c, "bindings")) {
            for (xmlNode *b = c->children; b; b = b->next) {
                char protocol[32], info[512];
                if (!is_element(b, "binding"))
                    continue;
                if (attr(imp, b, "protocol", protocol, sizeof protocol) < 0
                    || attr(imp, b, "bindingInformation", info, sizeof info) < 0)
                    return -1;
                carry_binding(s, protocol, info);
            }
        } else if (is_element(c, "application")) {
            char app[512];
            if (attr(imp, c, "path", app, sizeof app) < 0)
                return -1;
            for (xmlNode *v = c->children; v; v = v->next) {
                char vpath[512], phys[TEXT_MAX];
                if (!is_element(v, "virtualDirectory"))
                    continue;
                if (attr(imp, v, "path", vpath, sizeof vpath) < 0
                    || attr(imp, v, "physicalPath", phys, sizeof phys) < 0)
                    return -1;
                if (strcmp(app, "/") == 0 && strcmp(vpath, "/") == 0) {
                    snprintf(s->root, sizeof s->root, "%s", phys);
                } else {
                    one_line(phys);
                    text_printf(&s->notes, "; not carried: virtual directory %s%s -> %s: one "
                                "root per site here; link or copy it under root\n",
                                strcmp(app, "/") ? app : "", vpath, phys);
                }
            }
        } else if (is_element(c, "logFile")) {
            if (read_log_file(imp, c, s) != 0)
                return -1;
        }
    }
    return 0;
}

/* <system.webServer> at the top level (site == NULL) or in a site's <location>. */
static int read_web_server(import_t *imp, xmlNode *ws, imp_site_t *site)
{
    text_t *notes = site ? &site->notes : &imp->notes;
    for (xmlNode *c = ws->children; c; c = c->next) {
        if (is_element(c, "isapiFilters")) {
            if (read_isapi_filters(imp, c, site ? &site->filters : &imp->filters) != 0)
                return -1;
        } else if (is_element(c, "defaultDocument")) {
            if (read_default_document(imp, c, site ? &site->docs : &imp->docs) != 0)
                return -1;
        } else if (is_element(c, "handlers")) {
            if (read_handlers(imp, c, notes, site ? "site" : "global") != 0)
                return -1;
        }
    }
    return 0;
}

static imp_site_t *site_named(import_t *imp, const char *name)
{
    for (size_t i = 0; i < imp->nsites; i++)
        if (ieq(imp->sites[i].name, name))
            return &imp->sites[i];
    return NULL;
}

static int read_application_host(import_t *imp, xmlNode *root)
{
    /* the sites first: <location> elements refer to them by name */
    for (xmlNode *c = root->children; c; c = c->next) {
        if (!is_element(c, "system.applicationHost"))
            continue;
        for (xmlNode *g = c->children; g; g = g->next) {
            if (!is_element(g, "sites"))
                continue;
            for (xmlNode *sn = g->children; sn; sn = sn->next) {
                if (is_element(sn, "site")) {
                    if (read_site7(imp, sn) != 0)
                        return -1;
                } else if (is_element(sn, "siteDefaults")) {
                    for (xmlNode *l = sn->children; l; l = l->next)
                        if (is_element(l, "logFile") && read_log_file(imp, l, &imp->defaults) != 0)
                            return -1;
                }
            }
        }
    }
    for (xmlNode *c = root->children; c; c = c->next) {
        if (is_element(c, "system.webServer")) {
            if (read_web_server(imp, c, NULL) != 0)
                return -1;
        } else if (is_element(c, "location")) {
            char path[512];
            if (attr(imp, c, "path", path, sizeof path) < 0)
                return -1;
            imp_site_t *site = path[0] ? site_named(imp, path) : NULL;
            if (path[0] && !site) {
                one_line(path);
                text_printf(&imp->notes, "; not carried: <location path=\"%s\">: settings of an "
                            "application or folder below a site\n", path);
                continue;
            }
            for (xmlNode *w = c->children; w; w = w->next)
                if (is_element(w, "system.webServer") && read_web_server(imp, w, site) != 0)
                    return -1;
        }
    }
    return 0;
}

/* ---- IIS 6: MetaBase.xml ------------------------------------------------------------ */

/* "/LM/W3SVC/<n>..." -> the site id n in id (or "" for /LM/W3SVC itself), the rest. */
static const char *metabase_site(const char *location, char *id, size_t cap)
{
    id[0] = '\0';
    size_t pre = strlen("/LM/W3SVC");
    if (strncmp(location, "/LM/W3SVC", pre) != 0)
        return NULL;
    const char *p = location + pre;
    if (*p == '\0')
        return p;
    if (*p != '/')
        return NULL;
    p++;
    size_t n = 0;
    while (isdigit((unsigned char)p[n]))
        n++;
    if (n == 0 || n >= cap)
        return p - 1;   /* /LM/W3SVC/Filters and friends: service level */
    memcpy(id, p, n);
    id[n] = '\0';
    return p + n;
}

static imp_site_t *site_by_id(import_t *imp, const char *id)
{
    for (size_t i = 0; i < imp->nsites; i++)
        if (strcmp(imp->sites[i].id, id) == 0)
            return &imp->sites[i];
    imp_site_t *s = new_site(imp);
    if (s)
        snprintf(s->id, sizeof s->id, "%s", id);
    return s;
}

/* Walks the metabase twice: the filter definitions first, then the load orders. */
typedef struct {
    char location[512];
    char path[TEXT_MAX];
    int enabled;
} mb_filter_t;

static int mb_collect(import_t *imp, xmlNode *n, mb_filter_t *defs, size_t *ndefs)
{
    for (; n; n = n->next) {
        if (!is_element(n, NULL))
            continue;
        if (is_element(n, "IIsFilter")) {
            char enabled[16];
            if (*ndefs == MAX_ITEMS * 2) {
                snprintf(imp->err, sizeof imp->err, "more than %d filters", MAX_ITEMS * 2);
                return -1;
            }
            mb_filter_t *d = &defs[*ndefs];
            if (attr(imp, n, "Location", d->location, sizeof d->location) < 0
                || attr(imp, n, "FilterPath", d->path, sizeof d->path) < 0
                || attr(imp, n, "FilterEnabled", enabled, sizeof enabled) < 0)
                return -1;
            d->enabled = !ieq(enabled, "FALSE") && strcmp(enabled, "0") != 0;
            (*ndefs)++;
        }
        if (mb_collect(imp, n->children, defs, ndefs) != 0)
            return -1;
    }
    return 0;
}

/* ScriptMaps: one ".ext,processor,flags,verbs" per line. Why split at blanks before '.'
 * or '*': XML attribute-value normalisation turns the metabase's line breaks into spaces,
 * and a processor path may itself hold spaces ("C:\Program Files\..."). */
static void mb_script_maps(char *maps, text_t *notes, const char *where)
{
    char *p = maps;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char *end = p + 1;
        while (*end && !(isspace((unsigned char)end[-1]) && (*end == '.' || *end == '*')))
            end++;
        char save = *end;
        *end = '\0';
        char *entry = trim(p);
        char *comma = strchr(entry, ',');
        const char *processor = "-";
        if (comma) {
            *comma = '\0';
            processor = comma + 1;
            char *comma2 = strchr(comma + 1, ',');
            if (comma2)
                *comma2 = '\0';
        }
        text_printf(notes, "; not carried: %s script map '%s' -> %s: isapihost runs ISAPI "
                    "filters, not ISAPI extensions\n", where, entry, processor);
        *end = save;
        p = end;
    }
}

static void mb_docs(imp_docs_t *d, const char *list)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list);
    d->n = 0;
    d->cleared = 1;
    d->seen = 1;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (*tok)
            add_doc(d, tok);
    }
}

static int mb_walk(import_t *imp, xmlNode *n, const mb_filter_t *defs, size_t ndefs)
{
    for (; n; n = n->next) {
        if (!is_element(n, NULL))
            continue;
        char location[512], id[32];
        if (attr(imp, n, "Location", location, sizeof location) < 0)
            return -1;
        trim(location);
        const char *rest = metabase_site(location, id, sizeof id);
        imp_site_t *site = NULL;
        if (rest && id[0] && !(site = site_by_id(imp, id)))
            return -1;
        text_t *notes = site ? &site->notes : &imp->notes;
        const char *where = site ? "site" : "global";

        if (rest && is_element(n, "IIsFilters") && strcmp(rest, "/Filters") == 0) {
            char order[4096];
            if (attr(imp, n, "FilterLoadOrder", order, sizeof order) < 0)
                return -1;
            char *save = NULL;
            for (char *name = strtok_r(order, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
                name = trim(name);
                if (!*name)
                    continue;
                char want[600];
                snprintf(want, sizeof want, "%s/%s", location, name);
                const mb_filter_t *def = NULL;
                for (size_t i = 0; i < ndefs && !def; i++)
                    if (ieq(defs[i].location, want))
                        def = &defs[i];
                if (!def) {
                    text_printf(notes, "; not carried: filter '%s' is in FilterLoadOrder but "
                                "has no IIsFilter with a FilterPath\n", name);
                    continue;
                }
                if (add_filter(imp, site ? &site->filters : &imp->filters, name, def->path,
                               def->enabled) != 0)
                    return -1;
            }
        } else if (site && is_element(n, "IIsWebServer") && *rest == '\0') {
            char bindings[4096], secure[4096], period[16], local[16];
            if (attr(imp, n, "ServerComment", site->name, sizeof site->name) < 0
                || attr(imp, n, "ServerBindings", bindings, sizeof bindings) < 0
                || attr(imp, n, "SecureBindings", secure, sizeof secure) < 0
                || attr(imp, n, "LogFileDirectory", site->log_dir, sizeof site->log_dir) < 0
                || attr(imp, n, "LogFilePeriod", period, sizeof period) < 0
                || attr(imp, n, "LogFileTruncateSize", site->log_truncate, sizeof site->log_truncate) < 0
                || attr(imp, n, "LogFileLocaltimeRollover", local, sizeof local) < 0)
                return -1;
            one_line(site->name);
            /* one binding per line; the XML parser turned the line breaks into spaces */
            char *save = NULL;
            for (char *b = strtok_r(bindings, " \t\r\n", &save); b;
                 b = strtok_r(NULL, " \t\r\n", &save))
                carry_binding(site, "http", b);
            for (char *b = strtok_r(secure, " \t\r\n", &save); b;
                 b = strtok_r(NULL, " \t\r\n", &save))
                carry_binding(site, "https", b);
            /* Why these numbers: MD_LOGFILE_PERIOD_NONE (size) 0, DAILY 1, WEEKLY 2,
             * MONTHLY 3, HOURLY 4 (the IIS 6 metabase property LogFilePeriod). */
            static const char *const periods[] = { "MaxSize", "Daily", "Weekly", "Monthly",
                                                   "Hourly" };
            if (period[0]) {
                int p = atoi(period);
                snprintf(site->log_period, sizeof site->log_period, "%s",
                         p >= 0 && p <= 4 ? periods[p] : "Daily");
            }
            site->log_local_time = ieq(local, "TRUE") || strcmp(local, "1") == 0;
            site->log_seen = site->log_dir[0] || period[0];
        } else if (is_element(n, "IIsWebVirtualDir") || is_element(n, "IIsWebService")
                   || is_element(n, "IIsWebDirectory")) {
            char path[TEXT_MAX], docs[2048], maps[8192];
            if (attr(imp, n, "Path", path, sizeof path) < 0
                || attr(imp, n, "DefaultDoc", docs, sizeof docs) < 0
                || attr(imp, n, "ScriptMaps", maps, sizeof maps) < 0)
                return -1;
            int is_root = site && ieq(rest, "/ROOT");
            if (site && path[0]) {
                if (is_root) {
                    snprintf(site->root, sizeof site->root, "%s", path);
                } else {
                    one_line(path);
                    text_printf(notes, "; not carried: virtual directory %s -> %s: one root "
                                "per site here; link or copy it under root\n", rest + 5, path);
                }
            }
            if (docs[0] && (is_root || (!site && rest && *rest == '\0')))
                mb_docs(site ? &site->docs : &imp->docs, docs);
            if (maps[0])
                mb_script_maps(maps, notes, where);
        }
        if (mb_walk(imp, n->children, defs, ndefs) != 0)
            return -1;
    }
    return 0;
}

static int read_metabase(import_t *imp, xmlNode *root)
{
    mb_filter_t *defs = calloc(MAX_ITEMS * 2, sizeof *defs);
    if (!defs) {
        snprintf(imp->err, sizeof imp->err, "out of memory");
        return -1;
    }
    size_t ndefs = 0;
    int rc = mb_collect(imp, root->children, defs, &ndefs);
    if (rc == 0)
        rc = mb_walk(imp, root->children, defs, ndefs);
    free(defs);
    return rc;
}

/* ---- writing the INI ---------------------------------------------------------------- */

static void write_filter_list(import_t *imp, text_t *out, text_t *notes, const imp_filters_t *l,
                              const char *where)
{
    for (size_t i = 0; i < l->n; i++) {
        const imp_filter_t *f = &l->f[i];
        char name[128], path[TEXT_MAX];
        snprintf(name, sizeof name, "%s", f->name);
        one_line(name);
        for (char *q = name; *q; q++)
            if (*q == '=' || *q == '[' || *q == ';' || *q == '#')
                *q = '_';
        if (carry_path(imp, out, "filter", f->path, path, sizeof path) != 0) {
            imp->err[0] = '\0';
            text_printf(notes, "; not carried: %s filter '%s': its path is too long\n", where,
                        name);
            continue;
        }
        native_filter_name(path);
        one_line(path);
        if (!f->enabled) {
            text_printf(out, "; not carried: %s filter %s = %s: disabled in IIS "
                        "(enabled=\"false\"); remove the \"; not carried: ... filter\" "
                        "prefix to load it\n", where, name, path);
            continue;
        }
        text_printf(out, "%s = %s\n", *trim(name) ? trim(name) : "filter", path);
    }
}

static int write_ini(import_t *imp, imp_site_t *s, text_t *out)
{
    const char *input = imp->opt->input;
    text_printf(out, "; isapihost configuration imported from %s\n; by isapihost --import-iis: "
                "site \"%s\" (id %s). Lines \"; not carried:\" name IIS settings\n; that have no "
                "equivalent here, \"; check:\" what needs a look. See docs/configuration.md,\n"
                "; \"Moving from IIS\".\n", input, s->name, s->id[0] ? s->id : "-");
    text_printf(out, "[server]\n");
    if (s->listen.len)
        text_printf(out, "%s", s->listen.p);
    else
        text_printf(out, "; check: the site has no http binding; isapihost listens on "
                    "127.0.0.1:8080\n");
    char path[TEXT_MAX];
    if (s->root[0]) {
        if (carry_path(imp, out, "root", s->root, path, sizeof path) != 0)
            return -1;
        one_line(path);
        text_printf(out, "root = %s\n", path);
    } else {
        text_printf(out, "; check: the site has no physical path for \"/\"; set root\n");
    }
    text_printf(out, "; check: IIS ran the site as its application pool's identity; started "
                "as root, isapihost needs user = ACCOUNT (docs/configuration.md)\n");
    if (s->id[0] && strspn(s->id, "0123456789") == strlen(s->id))
        text_printf(out, "instance_id = %s\n", s->id);

    /* default documents: the site's list, or the global one with the site's additions */
    imp_docs_t docs = imp->docs;
    if (s->docs.cleared)
        docs = s->docs;
    else
        for (size_t i = 0; i < s->docs.n; i++)
            add_doc(&docs, s->docs.doc[i]);
    docs.disabled = imp->docs.disabled || s->docs.disabled;
    if (docs.disabled)
        text_printf(out, "; not carried: defaultDocument enabled=\"false\": isapihost always "
                    "tries default_documents for a folder URL\n");
    if (docs.n) {
        text_printf(out, "default_documents = ");
        size_t written = 0;
        for (size_t i = 0; i < docs.n; i++) {
            if (written == HOST_MAX_DEFAULT_DOCS || strlen(docs.doc[i]) >= 64
                || strpbrk(docs.doc[i], "/\\,")) {
                continue;
            }
            one_line(docs.doc[i]);
            text_printf(out, "%s%s", written ? ", " : "", docs.doc[i]);
            written++;
        }
        text_printf(out, "\n");
        if (written < docs.n)
            text_printf(out, "; not carried: %lu default document(s) beyond the first %d, or "
                        "with a path or a comma in the name\n", (unsigned long)(docs.n - written),
                        HOST_MAX_DEFAULT_DOCS);
    }

    /* the W3C log: the site's <logFile>, else <siteDefaults>'s */
    const imp_site_t *log = s->log_seen ? s : imp->defaults.log_seen ? &imp->defaults : NULL;
    if (log) {
        if (log->log_format[0] && !ieq(log->log_format, "W3C"))
            text_printf(out, "; not carried: logFormat=\"%s\": isapihost writes W3C extended "
                        "logs only\n", log->log_format);
        /* Why W3SVC<id>: IIS writes each site's files into a folder of that name under the
         * configured directory (learn.microsoft.com, "Log Files <logFile>"). */
        char dir[TEXT_MAX + 64];
        const char *base = log->log_dir[0] ? log->log_dir : "%SystemDrive%\\inetpub\\logs\\LogFiles";
        snprintf(dir, sizeof dir, "%s\\W3SVC%s", base, s->id[0] ? s->id : "1");
        if (carry_path(imp, out, "log_dir", dir, path, sizeof path) != 0)
            return -1;
        one_line(path);
        text_printf(out, "; the folder must exist and be writable by the serving account\n");
        text_printf(out, "log_dir = %s\n", path);
        const char *period = log->log_period[0] ? log->log_period : "Daily";
        const char *ours = ieq(period, "Hourly") ? "hourly" : ieq(period, "Weekly") ? "weekly"
                         : ieq(period, "Monthly") ? "monthly" : ieq(period, "MaxSize") ? "size"
                         : "daily";
        text_printf(out, "log_period = %s\n", ours);
        if (strcmp(ours, "size") == 0) {
            unsigned long long size = strtoull(log->log_truncate[0] ? log->log_truncate : "20971520",
                                               NULL, 10);
            if (size == 0 || size >= 0xffffffffull)
                text_printf(out, "; not carried: an unlimited log file: isapihost caps it at "
                            "the largest size below\n");
            text_printf(out, "log_truncate_size = %llu\n",
                        size < 4096 ? 4096ull : size >= 0xffffffffull ? 0xfffffffeull : size);
        }
        if (log->log_local_time)
            text_printf(out, "log_local_time = yes\n");
    }
    if (imp->notes.len)
        text_printf(out, "%s", imp->notes.p);
    if (s->notes.len)
        text_printf(out, "%s", s->notes.p);
    for (size_t i = 0; i < imp->nsites; i++)
        if (&imp->sites[i] != s)
            text_printf(out, "; not carried: site \"%s\" (id %s): one site per isapihost "
                        "configuration; import it with --site %s into a file of its own\n",
                        imp->sites[i].name, imp->sites[i].id[0] ? imp->sites[i].id : "-",
                        imp->sites[i].id[0] ? imp->sites[i].id : "NAME");

    /* Why global first: IIS loads the filters of <isapiFilters> at the server level (IIS 6:
     * /LM/W3SVC/Filters) before the site's own, each list in its order. */
    text_printf(out, "\n[filters]\n");
    if (PLAT_PATH_SEP == '/' && (imp->filters.n || s->filters.n))
        text_printf(out, "; each filter is its Windows source built as a shared object "
                    "(docs/writing-filters.md): .dll became .so\n");
    write_filter_list(imp, out, &s->notes, &imp->filters, "global");
    write_filter_list(imp, out, &s->notes, &s->filters, "site");
    return out->failed ? -1 : 0;
}

/* ---- entry points ------------------------------------------------------------------- */

static void free_import(import_t *imp)
{
    for (size_t i = 0; i < imp->nsites; i++) {
        free(imp->sites[i].listen.p);
        free(imp->sites[i].notes.p);
    }
    free(imp->sites);
    free(imp->notes.p);
    free(imp->defaults.listen.p);
    free(imp->defaults.notes.p);
}

int host_iis_import(const host_iis_import_options_t *o, char *err, size_t errlen)
{
    import_t *imp = calloc(1, sizeof *imp);
    if (!imp) {
        snprintf(err, errlen, "%s: out of memory", o->input);
        return -1;
    }
    imp->opt = o;
    imp->sites = calloc(MAX_SITES, sizeof *imp->sites);
    int rc = -1;
    text_t out = { 0 };
    /* No network, no entity expansion, no DTD loading: an IIS file needs none, and a
     * hostile one must not reach other files through them. */
    xmlDocPtr doc = imp->sites ? xmlReadFile(o->input, NULL, XML_PARSE_NONET | XML_PARSE_NOWARNING
                                             | XML_PARSE_NOERROR)
                               : NULL;
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        if (e && e->message) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", e->message);
            one_line(msg);
            snprintf(err, errlen, "%s:%d: not a readable XML file: %s", o->input, e->line,
                     trim(msg));
        } else {
            snprintf(err, errlen, "%s: cannot read the file", o->input);
        }
        goto done;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    int is_metabase = 0;
    if (root && is_element(root, "configuration")) {
        for (xmlNode *c = root->children; c; c = c->next)
            if (is_element(c, "MBProperty") || (c->type == XML_ELEMENT_NODE
                                                && xmlStrncmp(c->name, BAD_CAST "IIs", 3) == 0))
                is_metabase = 1;
        if (root->ns && root->ns->href
            && xmlStrstr(root->ns->href, BAD_CAST "XML_Metabase") != NULL)
            is_metabase = 1;
    }
    if (!root || !is_element(root, "configuration")) {
        snprintf(err, errlen, "%s: not an IIS configuration (applicationHost.config or "
                 "MetaBase.xml start with <configuration>)", o->input);
        goto done;
    }
    if ((is_metabase ? read_metabase(imp, root) : read_application_host(imp, root)) != 0) {
        snprintf(err, errlen, "%s: %s", o->input, imp->err);
        goto done;
    }
    if (imp->nsites == 0) {
        snprintf(err, errlen, "%s: no site found", o->input);
        goto done;
    }
    imp_site_t *site = &imp->sites[0];
    if (o->site) {
        site = NULL;
        for (size_t i = 0; i < imp->nsites && !site; i++)
            if (ieq(imp->sites[i].name, o->site) || strcmp(imp->sites[i].id, o->site) == 0)
                site = &imp->sites[i];
        if (!site) {
            snprintf(err, errlen, "%s: --site: no site named or numbered '%s'", o->input, o->site);
            goto done;
        }
    }
    if (write_ini(imp, site, &out) != 0) {
        snprintf(err, errlen, "%s: %s", o->input, imp->err[0] ? imp->err : "out of memory");
        goto done;
    }
    int to_stdout = !o->output || strcmp(o->output, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(o->output, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create the file", o->output);
        goto done;
    }
    size_t wrote = fwrite(out.p, 1, out.len, f);
    int closed = to_stdout ? fflush(f) : fclose(f);
    if (wrote != out.len || closed != 0) {
        snprintf(err, errlen, "%s: cannot write the file", to_stdout ? "standard output" : o->output);
        goto done;
    }
    rc = 0;
done:
    if (doc)
        xmlFreeDoc(doc);
    free(out.p);
    free_import(imp);
    free(imp);
    return rc;
}

int host_iis_import_args(int argc, char **argv, host_iis_import_options_t *o, char *err,
                         size_t errlen)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc) {
            snprintf(err, errlen, "command line: %s: needs a value", opt);
            return -1;
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--import-iis") == 0) {
            o->input = val;
        } else if (strcmp(opt, "--out") == 0) {
            o->output = val;
        } else if (strcmp(opt, "--site") == 0) {
            o->site = val;
        } else if (strcmp(opt, "--map") == 0) {
            const char *eq = strchr(val, '=');
            if (!eq || eq == val) {
                snprintf(err, errlen, "command line: --map: '%s': expected WINPATH=PATH", val);
                return -1;
            }
            if (o->nmaps == HOST_IIS_MAX_MAPS) {
                snprintf(err, errlen, "command line: --map: more than %d", HOST_IIS_MAX_MAPS);
                return -1;
            }
            static char keys[HOST_IIS_MAX_MAPS][HOST_PATH_MAX];
            if ((size_t)(eq - val) >= sizeof keys[0]) {
                snprintf(err, errlen, "command line: --map: the Windows path is too long");
                return -1;
            }
            memcpy(keys[o->nmaps], val, (size_t)(eq - val));
            keys[o->nmaps][eq - val] = '\0';
            o->map_from[o->nmaps] = keys[o->nmaps];
            o->map_to[o->nmaps] = eq + 1;
            o->nmaps++;
        } else {
            snprintf(err, errlen, "command line: %s: unknown option with --import-iis (--out, "
                     "--site, --map)", opt);
            return -1;
        }
    }
    if (!o->input) {
        snprintf(err, errlen, "command line: --import-iis: needs a file");
        return -1;
    }
    return 0;
}
