/*
 * config.c - defaults, INI file and command line (see config.h).
 *
 * One table, host_settings[], describes every setting once: its INI key in [server], its
 * command-line option, its kind and where it lives in host_config_t. The INI reader and the
 * argument parser both go through set_value(), so a setting behaves the same wherever it is
 * given and every error names the setting the same way. [filters] lists filters in load
 * order, like IIS's FilterLoadOrder: "name = path". Paths read from an INI file are made
 * relative to that file's folder; paths on the command line stay as given. [admin] holds
 * the settings of the metrics and health listener (the table's entries marked admin).
 */
#include "config.h"
#include "mime.h"
#include "log.h"
#include "os.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_LISTEN, K_PATH, K_STRING, K_UINT, K_SIZE, K_U64, K_MS, K_HTTP09, K_DOCS,
               K_FILTER, K_HEX32, K_FLAG, K_SYMLINKS, K_ACCESS, K_PERIOD,
               K_ADMIN_LISTEN } kind_t;

typedef struct {
    const char *key;      /* INI key in [server] */
    const char *option;   /* command-line option, or NULL */
    kind_t kind;
    size_t offset;
    size_t size;          /* for strings: buffer size */
    const char *help;
} setting_t;

#define F(field) offsetof(host_config_t, field), sizeof(((host_config_t *)0)->field)

static const setting_t host_settings[] = {
    { "listen", "--listen", K_LISTEN, 0, 0,
      "ADDR:PORT[,secure]  listener (repeatable); [::1]:8080 for IPv6; secure = TLS terminated in front" },
    { "root", "--root", K_PATH, F(root), "DIR  site root (static files)" },
    { "filter", "--filter", K_FILTER, 0, 0, "PATH  load a filter (repeatable, in load order)" },
    { "workers", "--workers", K_UINT, F(workers),
      "N  worker threads (requests served at once, counting ones blocked in filters)" },
    { "concurrency", "--concurrency", K_UINT, F(concurrency),
      "N  workers running at once when none is blocked (0: one per processor)" },
    { "log", "--log", K_PATH, F(access_log), "FILE  W3C extended log (- for stdout)" },
    { "log_dir", "--log-dir", K_PATH, F(log_dir),
      "DIR  W3C log files named as IIS names them (u_exYYMMDD.log), rolled over" },
    { "log_period", "--log-period", K_PERIOD, 0, 0,
      "daily|hourly|weekly|monthly|size|none  when log_dir starts a new file (default daily)" },
    { "log_truncate_size", NULL, K_U64, F(log_truncate_size), NULL },
    { "log_local_time", NULL, K_FLAG, F(log_local_time), NULL },
    { "user", "--user", K_STRING, F(user),
      "NAME  serve as this account once the listeners are bound (POSIX, started as root)" },
    { "group", "--group", K_STRING, F(group), "NAME  serve with this group (default: the user's)" },
    { "run_as_root", "--run-as-root", K_FLAG, F(run_as_root),
      "  keep serving as root with no user set (filters then run as root)" },
    { "error_log", "--error-log", K_PATH, F(error_log), "FILE  server messages (default stderr)" },
    { "http09", "--http09", K_HTTP09, 0, 0,
      "strict|http10  answer simple requests with the body only (strict) or with HTTP/1.0 headers" },
    { "default_documents", "--default-documents", K_DOCS, 0, 0, "LIST  comma-separated, in order" },
    { "follow_symlinks", "--follow-symlinks", K_SYMLINKS, 0, 0,
      "inside_root|always|never  symbolic links static files may pass (default inside_root)" },
    { "serve_dotfiles", "--serve-dotfiles", K_FLAG, F(serve_dotfiles),
      "  serve names starting with '.' (.git, .htpasswd); default no: 404" },
    { "root_access", NULL, K_ACCESS, F(root_access), NULL },
    { "upload_read_ahead", NULL, K_U64, F(upload_read_ahead), NULL },
    { "registry", "--registry", K_PATH, F(registry), "FILE  .reg file of registry values filters read" },
    { "port_file", "--port-file", K_PATH, F(port_file), "FILE  write the bound ports there" },
    { "server_software", NULL, K_STRING, F(server_software), NULL },
    { "server_filter_version", NULL, K_HEX32, F(server_filter_version), NULL },
    { "instance_id", NULL, K_UINT, F(instance_id), NULL },
    { "max_connections", NULL, K_UINT, F(max_connections), NULL },
    { "max_requests_per_connection", NULL, K_UINT, F(max_requests_per_connection), NULL },
    { "max_request_line", NULL, K_SIZE, F(max_request_line), NULL },
    { "max_header_bytes", NULL, K_SIZE, F(max_header_bytes), NULL },
    { "max_headers", NULL, K_UINT, F(max_headers), NULL },
    { "max_body", NULL, K_U64, F(max_body), NULL },
    { "allocmem_per_connection", NULL, K_SIZE, F(allocmem_per_connection), NULL },
    { "header_timeout", NULL, K_MS, F(header_timeout_ms), NULL },
    { "body_timeout", NULL, K_MS, F(body_timeout_ms), NULL },
    { "keepalive_timeout", NULL, K_MS, F(keepalive_timeout_ms), NULL },
    { "send_timeout", NULL, K_MS, F(send_timeout_ms), NULL },
    { "min_bytes_per_second", NULL, K_UINT, F(min_bytes_per_second), NULL },
    { "shutdown_timeout", NULL, K_MS, F(shutdown_timeout_ms), NULL },
    { "rapid_fail_max", NULL, K_UINT, F(rapid_fail_max), NULL },
    { "rapid_fail_window", NULL, K_MS, F(rapid_fail_window_ms), NULL },
    { "hung_call_timeout", NULL, K_MS, F(hung_call_timeout_ms), NULL },
    { "hung_workers_floor", NULL, K_UINT, F(hung_workers_floor), NULL },
    { "verbose", "--verbose", K_FLAG, F(verbose), "  also log debug messages" },
    { "check", "--check", K_FLAG, F(check_only),
      "  validate the configuration and load the filters, then exit" },

    /* Periodic recycling (docs/configuration.md): 0 = off. */
    { "recycle_after_requests", NULL, K_UINT, F(recycle_after_requests), NULL },
    { "recycle_after_seconds", NULL, K_UINT, F(recycle_after_seconds), NULL },
};

#define NSETTINGS (sizeof host_settings / sizeof host_settings[0])

/* [admin]: the metrics and health listener (host/metrics.h). */
static const setting_t admin_settings[] = {
    { "listen", "--admin-listen", K_ADMIN_LISTEN, 0, 0,
      "ADDR:PORT  listener for /metrics and /healthz ([admin] listen; none by default)" },
    { "drain_delay", "--drain-delay", K_MS, F(drain_delay_ms),
      "SECONDS  on a stop, serve this long more with /healthz at 503 ([admin])" },
    { "filter_timing", NULL, K_FLAG, F(filter_timing), NULL },
};

#define NADMIN_SETTINGS (sizeof admin_settings / sizeof admin_settings[0])

void host_config_defaults(host_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->server_software, "Microsoft-IIS/6.0 (isapihost)");
    cfg->http09 = HOST_HTTP09_STRICT;
    cfg->server_filter_version = 0x00060000u;
    cfg->instance_id = 1;
    cfg->workers = 16;
    cfg->max_connections = 20000;
    cfg->max_requests_per_connection = 10000;
    cfg->max_request_line = 8192;
    cfg->max_header_bytes = 65536;
    cfg->max_headers = 100;
    cfg->max_body = 30000000;   /* IIS 7's maxAllowedContentLength default */
    cfg->allocmem_per_connection = 16u << 20;
    cfg->header_timeout_ms = 30000;
    cfg->body_timeout_ms = 60000;
    cfg->keepalive_timeout_ms = 120000;  /* IIS connectionTimeout default */
    cfg->send_timeout_ms = 60000;
    cfg->min_bytes_per_second = 240;     /* IIS minBytesPerSecond default */
    cfg->shutdown_timeout_ms = 10000;
    cfg->log_period = HOST_LOG_PERIOD_DAILY;        /* IIS's default period */
    cfg->log_truncate_size = 20971520;              /* IIS's default truncateSize, 20 MB */
    cfg->rapid_fail_max = 5;             /* IIS rapidFailProtectionMaxCrashes */
    cfg->rapid_fail_window_ms = 300000;  /* IIS rapidFailProtectionInterval, 5 minutes */
    cfg->hung_call_timeout_ms = 90000;   /* IIS pingResponseTime */
    cfg->hung_workers_floor = 2;
    cfg->filter_timing = 1;
    strcpy(cfg->default_docs[0], "default.htm");
    strcpy(cfg->default_docs[1], "index.html");
    cfg->ndefault_docs = 2;
    /* Why: IIS's site root has Read and Scripts access by default, not Execute. */
    cfg->root_access = HOST_ACCESS_READ | HOST_ACCESS_SCRIPT;
    cfg->upload_read_ahead = 49152;      /* IIS UploadReadAheadSize default */
    host_mime_reset();
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

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end != '\0' || n > max)
        return -1;
    *out = n;
    return 0;
}

/* "127.0.0.1:8080", "[::1]:8080", "*:80", "8080"; ",secure" may follow. */
static int parse_listen(const char *v, host_listen_t *l, const char **why)
{
    char buf[128];
    if (strlen(v) >= sizeof buf) {
        *why = "too long";
        return -1;
    }
    strcpy(buf, v);
    memset(l, 0, sizeof *l);
    char *comma = strchr(buf, ',');
    if (comma) {
        *comma = '\0';
        char *flag = trim(comma + 1);
        if (strcmp(flag, "secure") != 0) {
            *why = "only \",secure\" may follow the address";
            return -1;
        }
        l->secure = 1;
    }
    char *spec = trim(buf), *port;
    if (spec[0] == '[') {
        char *close = strchr(spec, ']');
        if (!close || close[1] != ':') {
            *why = "IPv6 addresses are written [addr]:port";
            return -1;
        }
        *close = '\0';
        snprintf(l->address, sizeof l->address, "%s", spec + 1);
        port = close + 2;
    } else {
        char *colon = strrchr(spec, ':');
        if (colon) {
            *colon = '\0';
            snprintf(l->address, sizeof l->address, "%s", strcmp(spec, "*") ? spec : "0.0.0.0");
            port = colon + 1;
        } else {
            strcpy(l->address, "127.0.0.1");
            port = spec;
        }
    }
    uint64_t p;
    if (parse_u64(port, 65535, &p) != 0) {
        *why = "the port must be a number from 0 to 65535";
        return -1;
    }
    if (l->address[0] == '\0') {
        *why = "the address is empty";
        return -1;
    }
    l->port = (unsigned)p;
    return 0;
}

/* Joins base_dir and a relative path; absolute paths (and all paths when base_dir is
 * NULL) are kept as given. */
static int resolve_path(char *out, size_t outlen, const char *base_dir, const char *v)
{
    int n;
    if (!base_dir || plat_path_is_absolute(v))
        n = snprintf(out, outlen, "%s", v);
    else
        n = snprintf(out, outlen, "%s%c%s", base_dir, PLAT_PATH_SEP, v);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static void filter_name_from_path(char *name, size_t len, const char *path)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    snprintf(name, len, "%s", base);
    char *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
}

static int add_filter(host_config_t *cfg, const char *name, const char *base_dir,
                      const char *v, const char **why)
{
    if (cfg->nfilters == HOST_MAX_FILTERS) {
        *why = "too many filters";
        return -1;
    }
    host_filter_conf_t *f = &cfg->filters[cfg->nfilters];
    if (*v == '\0') {
        *why = "the path is empty";
        return -1;
    }
    if (resolve_path(f->path, sizeof f->path, base_dir, v) != 0) {
        *why = "the path is too long";
        return -1;
    }
    if (name)
        snprintf(f->name, sizeof f->name, "%s", name);
    else
        filter_name_from_path(f->name, sizeof f->name, f->path);
    cfg->nfilters++;
    return 0;
}

/* "read,script,execute" (any order, "none" for nothing) into HOST_ACCESS_* bits. */
static int parse_access(const char *v, unsigned *out, const char **why)
{
    char buf[128];
    if (strlen(v) >= sizeof buf) {
        *why = "too long";
        return -1;
    }
    strcpy(buf, v);
    unsigned a = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        tok = trim(tok);
        if (strcmp(tok, "read") == 0)
            a |= HOST_ACCESS_READ;
        else if (strcmp(tok, "script") == 0)
            a |= HOST_ACCESS_SCRIPT;
        else if (strcmp(tok, "execute") == 0)
            a |= HOST_ACCESS_EXECUTE | HOST_ACCESS_SCRIPT;
        else if (strcmp(tok, "none") != 0) {
            *why = "expected access words read, script, execute or none";
            return -1;
        }
    }
    *out = a;
    return 0;
}

static int add_extension(host_config_t *cfg, const char *name, const char *base_dir,
                         const char *v, const char **why)
{
    if (cfg->nextensions == HOST_MAX_EXTENSIONS) {
        *why = "too many extensions";
        return -1;
    }
    host_extension_conf_t *x = &cfg->extensions[cfg->nextensions];
    if (*v == '\0' || resolve_path(x->path, sizeof x->path, base_dir, v) != 0) {
        *why = *v ? "the path is too long" : "the path is empty";
        return -1;
    }
    snprintf(x->name, sizeof x->name, "%s", name);
    cfg->nextensions++;
    return 0;
}

/* ".ext = dll[,flags[,verbs]]" or "* = dll[,flags[,verbs]]". */
static int add_script_map(host_config_t *cfg, const char *key, const char *base_dir,
                          const char *v, const char **why)
{
    if (cfg->nscript_maps == HOST_MAX_SCRIPT_MAPS) {
        *why = "too many script maps";
        return -1;
    }
    host_script_map_t *m = &cfg->script_maps[cfg->nscript_maps];
    memset(m, 0, sizeof *m);
    const char *ext = key[0] == '.' ? key + 1 : key;
    if (*ext == '\0' || strlen(ext) >= sizeof m->ext
        || (strcmp(ext, "*") != 0 && strpbrk(ext, "*./\\ \t"))) {
        *why = "expected .ext or * (the wildcard map)";
        return -1;
    }
    strcpy(m->ext, ext);
    char buf[HOST_PATH_MAX + 300];
    if (strlen(v) >= sizeof buf) {
        *why = "the value is too long";
        return -1;
    }
    strcpy(buf, v);
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = '\0';
    char *dll = trim(buf);
    if (*dll == '\0' || resolve_path(m->dll, sizeof m->dll, base_dir, dll) != 0) {
        *why = *dll ? "the path is too long" : "the DLL path is empty";
        return -1;
    }
    m->flags = HOST_SCRIPTMAP_SCRIPT;
    if (comma) {
        char *flags = comma + 1, *verbs = strchr(flags, ',');
        if (verbs)
            *verbs++ = '\0';
        uint64_t f;
        if (parse_u64(trim(flags), 0xff, &f) != 0
            || (f & ~(uint64_t)(HOST_SCRIPTMAP_SCRIPT | HOST_SCRIPTMAP_CHECK_FILE))) {
            *why = "flags: expected 0, 1, 4 or 5 (1 script, 4 verify that the file exists)";
            return -1;
        }
        m->flags = (unsigned)f;
        if (verbs) {
            size_t n = 0;
            for (char *tok = strtok(verbs, ","); tok; tok = strtok(NULL, ",")) {
                tok = trim(tok);
                size_t tl = strlen(tok);
                if (tl == 0)
                    continue;
                if (n + tl + 2 >= sizeof m->verbs || strpbrk(tok, " \t")) {
                    *why = "the verb list is too long or malformed";
                    return -1;
                }
                if (n)
                    m->verbs[n++] = ',';
                memcpy(m->verbs + n, tok, tl + 1);
                n += tl;
            }
        }
    }
    cfg->nscript_maps++;
    return 0;
}

/* "/url = folder[,access words]". */
static int add_vdir(host_config_t *cfg, const char *key, const char *base_dir, const char *v,
                    const char **why)
{
    if (cfg->nvdirs == HOST_MAX_VDIRS) {
        *why = "too many virtual directories";
        return -1;
    }
    host_vdir_t *d = &cfg->vdirs[cfg->nvdirs];
    memset(d, 0, sizeof *d);
    size_t kl = strlen(key);
    while (kl > 1 && key[kl - 1] == '/')
        kl--;
    if (key[0] != '/' || kl < 2 || kl >= sizeof d->url || strpbrk(key, "\\?#%")) {
        *why = "expected a URL path such as /scripts";
        return -1;
    }
    memcpy(d->url, key, kl);
    d->url[kl] = '\0';
    char buf[HOST_PATH_MAX + 128];
    if (strlen(v) >= sizeof buf) {
        *why = "the value is too long";
        return -1;
    }
    strcpy(buf, v);
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = '\0';
    char *folder = trim(buf);
    if (*folder == '\0' || resolve_path(d->path, sizeof d->path, base_dir, folder) != 0) {
        *why = *folder ? "the path is too long" : "the folder is empty";
        return -1;
    }
    d->access = HOST_ACCESS_READ;
    if (comma && parse_access(comma + 1, &d->access, why) != 0)
        return -1;
    cfg->nvdirs++;
    return 0;
}

static int set_value(host_config_t *cfg, const setting_t *s, const char *v,
                     const char *base_dir, const char **why)
{
    char *field = (char *)cfg + s->offset;
    uint64_t n;
    switch (s->kind) {
    case K_LISTEN:
        if (cfg->nlisten == HOST_MAX_LISTENERS) {
            *why = "too many listeners";
            return -1;
        }
        if (parse_listen(v, &cfg->listen[cfg->nlisten], why) != 0)
            return -1;
        cfg->nlisten++;
        return 0;
    case K_ADMIN_LISTEN:
        if (parse_listen(v, &cfg->admin_listen, why) != 0)
            return -1;
        if (cfg->admin_listen.secure) {
            *why = "the admin listener takes no \",secure\"";
            return -1;
        }
        cfg->admin_enabled = 1;
        return 0;
    case K_FILTER:
        return add_filter(cfg, NULL, base_dir, v, why);
    case K_PATH:
        if (*v == '\0' || strcmp(v, "-") == 0) {
            snprintf(field, s->size, "%s", v);
            return 0;
        }
        if (resolve_path(field, s->size, base_dir, v) != 0) {
            *why = "the path is too long";
            return -1;
        }
        return 0;
    case K_STRING:
        if (strlen(v) >= s->size) {
            *why = "the value is too long";
            return -1;
        }
        strcpy(field, v);
        return 0;
    case K_UINT:
        if (parse_u64(v, 1000000000u, &n) != 0) {
            *why = "expected a whole number";
            return -1;
        }
        if (n == 0 && s->offset != offsetof(host_config_t, instance_id)
            && s->offset != offsetof(host_config_t, concurrency)
            && s->offset != offsetof(host_config_t, recycle_after_requests)
            && s->offset != offsetof(host_config_t, recycle_after_seconds)) {
            *why = "must be at least 1";
            return -1;
        }
        *(unsigned *)field = (unsigned)n;
        return 0;
    case K_SIZE:
        if (parse_u64(v, SIZE_MAX, &n) != 0 || n == 0) {
            *why = "expected a whole number of bytes, at least 1";
            return -1;
        }
        *(size_t *)field = (size_t)n;
        return 0;
    case K_U64:
        if (parse_u64(v, UINT64_MAX, &n) != 0) {
            *why = "expected a whole number of bytes";
            return -1;
        }
        *(uint64_t *)field = n;
        return 0;
    case K_MS:
        if (parse_u64(v, 86400, &n) != 0 || n == 0) {
            *why = "expected a whole number of seconds from 1 to 86400";
            return -1;
        }
        *(unsigned *)field = (unsigned)n * 1000u;
        return 0;
    case K_HEX32: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 0);
        if (errno || *end != '\0' || end == v || x > 0xffffffffull) {
            *why = "expected a 32-bit number such as 0x00060000";
            return -1;
        }
        *(uint32_t *)field = (uint32_t)x;
        return 0;
    }
    case K_HTTP09:
        if (strcmp(v, "strict") == 0)
            cfg->http09 = HOST_HTTP09_STRICT;
        else if (strcmp(v, "http10") == 0)
            cfg->http09 = HOST_HTTP09_HTTP10;
        else {
            *why = "expected strict or http10";
            return -1;
        }
        return 0;
    case K_SYMLINKS:
        if (strcmp(v, "inside_root") == 0)
            cfg->follow_symlinks = HOST_SYMLINKS_INSIDE_ROOT;
        else if (strcmp(v, "always") == 0)
            cfg->follow_symlinks = HOST_SYMLINKS_ALWAYS;
        else if (strcmp(v, "never") == 0)
            cfg->follow_symlinks = HOST_SYMLINKS_NEVER;
        else {
            *why = "expected inside_root, always or never";
            return -1;
        }
        return 0;
    case K_DOCS: {
        char buf[HOST_MAX_DEFAULT_DOCS * 64];
        if (strlen(v) >= sizeof buf) {
            *why = "the list is too long";
            return -1;
        }
        strcpy(buf, v);
        cfg->ndefault_docs = 0;
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            tok = trim(tok);
            if (*tok == '\0')
                continue;
            if (cfg->ndefault_docs == HOST_MAX_DEFAULT_DOCS || strlen(tok) >= 64
                || strpbrk(tok, "/\\")) {
                *why = "at most 8 plain file names, each shorter than 64 characters";
                return -1;
            }
            strcpy(cfg->default_docs[cfg->ndefault_docs++], tok);
        }
        return 0;
    }
    case K_ACCESS:
        return parse_access(v, (unsigned *)field, why);
    case K_PERIOD: {
        static const char *const names[] = { "none", "hourly", "daily", "weekly", "monthly",
                                             "size" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(v, names[i]) == 0) {
                cfg->log_period = (int)i;   /* the order of host_log_period_t */
                cfg->log_period_set = 1;
                return 0;
            }
        *why = "expected hourly, daily, weekly, monthly, size or none";
        return -1;
    }
    case K_FLAG:
        if (*v == '\0' || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
            *(int *)field = 1;
        else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
            *(int *)field = 0;
        else {
            *why = "expected yes or no";
            return -1;
        }
        return 0;
    }
    *why = "unknown kind";
    return -1;
}

/* By option (any section), or by INI key within [server] (admin 0) or [admin] (admin 1). */
static const setting_t *find_setting(const char *key, int by_option, int admin)
{
    for (int table = 0; table < 2; table++) {
        if (!by_option && table != admin)
            continue;
        const setting_t *v = table ? admin_settings : host_settings;
        size_t n = table ? NADMIN_SETTINGS : NSETTINGS;
        for (size_t i = 0; i < n; i++) {
            const char *name = by_option ? v[i].option : v[i].key;
            if (name && strcmp(name, key) == 0)
                return &v[i];
        }
    }
    return NULL;
}

int host_config_read_ini(host_config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return -1;
    }
    char dir[HOST_PATH_MAX];
    plat_path_dirname(path, dir, sizeof dir);
    snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);

    /* A listen or filter list in the file replaces the defaults rather than adding to them. */
    int listens_seen = 0;
    char line[4096];
    enum { NONE, SERVER, ADMIN, FILTERS, MIME, EXTENSIONS, SCRIPT_MAPS, VDIRS } section = NONE;
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%u: the line is longer than %lu characters", path, lineno,
                     (unsigned long)(sizeof line - 2));
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == ';' || *s == '#')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0') {
                snprintf(err, errlen, "%s:%u: malformed section header", path, lineno);
                rc = -1;
                break;
            }
            *close = '\0';
            if (strcmp(s + 1, "server") == 0)
                section = SERVER;
            else if (strcmp(s + 1, "admin") == 0)
                section = ADMIN;
            else if (strcmp(s + 1, "filters") == 0)
                section = FILTERS;
            else if (strcmp(s + 1, "mime") == 0)
                section = MIME;
            else if (strcmp(s + 1, "extensions") == 0)
                section = EXTENSIONS;
            else if (strcmp(s + 1, "script_maps") == 0)
                section = SCRIPT_MAPS;
            else if (strcmp(s + 1, "virtual_directories") == 0)
                section = VDIRS;
            else {
                snprintf(err, errlen, "%s:%u: [%s]: unknown section (expected [server], "
                         "[admin], [filters], [mime], [extensions], [script_maps] or "
                         "[virtual_directories])", path, lineno, s + 1);
                rc = -1;
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        const char *why = NULL;
        if (section == MIME || section == EXTENSIONS || section == SCRIPT_MAPS
            || section == VDIRS) {
            int bad = section == MIME ? host_mime_set(key, val, &why)
                      : section == EXTENSIONS ? add_extension(cfg, key, dir, val, &why)
                      : section == SCRIPT_MAPS ? add_script_map(cfg, key, dir, val, &why)
                                               : add_vdir(cfg, key, dir, val, &why);
            if (bad != 0) {
                snprintf(err, errlen, "%s:%u: %s: '%s': %s", path, lineno, key, val, why);
                rc = -1;
                break;
            }
            continue;
        }
        if (section == FILTERS) {
            if (add_filter(cfg, key, dir, val, &why) != 0) {
                snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, key, why);
                rc = -1;
                break;
            }
            continue;
        }
        if (section != SERVER && section != ADMIN) {
            snprintf(err, errlen, "%s:%u: %s: setting outside a section", path, lineno, key);
            rc = -1;
            break;
        }
        const setting_t *st = find_setting(key, 0, section == ADMIN);
        if (!st) {
            snprintf(err, errlen, "%s:%u: %s: unknown setting%s", path, lineno, key,
                     section == ADMIN ? " in [admin] (listen, drain_delay, filter_timing)" : "");
            rc = -1;
            break;
        }
        if (st->kind == K_LISTEN && !listens_seen) {
            cfg->nlisten = 0;
            listens_seen = 1;
        }
        if (set_value(cfg, st, val, dir, &why) != 0) {
            snprintf(err, errlen, "%s:%u: %s: '%s': %s", path, lineno, key, val, why);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int host_config_parse_args(host_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    int listens_seen = 0;
    for (int i = 1; i < argc; i++) {
        char opt[64];
        const char *val = NULL;
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        if (eq && strncmp(arg, "--", 2) == 0 && (size_t)(eq - arg) < sizeof opt) {
            memcpy(opt, arg, (size_t)(eq - arg));
            opt[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", arg);
        }
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            cfg->show_help = 1;
            continue;
        }
        if (strcmp(opt, "--version") == 0) {
            cfg->show_version = 1;
            continue;
        }
        int is_config = strcmp(opt, "--config") == 0 || strcmp(opt, "-c") == 0;
        const setting_t *st = is_config ? NULL : find_setting(opt, 1, 0);
        if (!is_config && !st) {
            snprintf(err, errlen, "command line: %s: unknown option (see --help)", opt);
            return -1;
        }
        if (!val && (is_config || st->kind != K_FLAG)) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "command line: %s: needs a value", opt);
                return -1;
            }
            val = argv[++i];
        }
        if (is_config) {
            if (host_config_read_ini(cfg, val, err, errlen) != 0)
                return -1;
            continue;
        }
        if (st->kind == K_LISTEN && !listens_seen) {
            cfg->nlisten = 0;
            listens_seen = 1;
        }
        const char *why = NULL;
        if (set_value(cfg, st, val ? val : "", NULL, &why) != 0) {
            snprintf(err, errlen, "command line: %s: '%s': %s", opt, val ? val : "", why);
            return -1;
        }
    }
    return 0;
}

int host_config_validate(host_config_t *cfg, char *err, size_t errlen)
{
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    if (cfg->nlisten == 0) {
        snprintf(err, errlen, "%s: listen: no listener configured", where);
        return -1;
    }
    if (cfg->root[0] == '\0') {
        snprintf(err, errlen, "%s: root: no site root configured (--root DIR)", where);
        return -1;
    }
    plat_file_info_t info;
    if (plat_file_stat(cfg->root, &info) != 0 || !info.exists) {
        snprintf(err, errlen, "%s: root: '%s' does not exist", where, cfg->root);
        return -1;
    }
    if (!info.is_directory) {
        snprintf(err, errlen, "%s: root: '%s' is not a folder", where, cfg->root);
        return -1;
    }
    /* Once, at start: every static file is checked against this (follow_symlinks). */
    int rc = plat_path_real(cfg->root, cfg->root_real, sizeof cfg->root_real);
    if (rc < 0) {
        char why[256];
        snprintf(err, errlen, "%s: root: '%s': cannot resolve its real path: %s", where,
                 cfg->root, plat_strerror(rc, why, sizeof why));
        return -1;
    }
    if (cfg->access_log[0] && cfg->log_dir[0]) {
        snprintf(err, errlen, "%s: log_dir: set either log (one file) or log_dir (files named "
                 "by period), not both", where);
        return -1;
    }
    if (cfg->log_period_set && !cfg->log_dir[0]) {
        snprintf(err, errlen, "%s: log_period: needs log_dir (log names one fixed file; rotate "
                 "it with logrotate and SIGUSR1)", where);
        return -1;
    }
    /* Why 4096 and not IIS's 1 MiB minimum: small devices and tests roll small files; a
     * file below one line's room would roll on every record. */
    if (cfg->log_dir[0] && cfg->log_period == HOST_LOG_PERIOD_SIZE
        && cfg->log_truncate_size < 4096) {
        snprintf(err, errlen, "%s: log_truncate_size: %llu: must be at least 4096 bytes", where,
                 (unsigned long long)cfg->log_truncate_size);
        return -1;
    }
    if (cfg->log_dir[0]) {
        plat_file_info_t dinfo;
        if (plat_file_stat(cfg->log_dir, &dinfo) != 0 || !dinfo.exists || !dinfo.is_directory) {
            snprintf(err, errlen, "%s: log_dir: '%s' is not an existing folder", where,
                     cfg->log_dir);
            return -1;
        }
    }
    if (cfg->drain_delay_ms && !cfg->admin_enabled) {
        snprintf(err, errlen, "%s: drain_delay: needs [admin] listen (the health check a "
                 "load balancer reads)", where);
        return -1;
    }
    for (size_t i = 0; cfg->admin_enabled && i < cfg->nlisten; i++)
        if (cfg->listen[i].port != 0 && cfg->listen[i].port == cfg->admin_listen.port
            && strcmp(cfg->listen[i].address, cfg->admin_listen.address) == 0) {
            snprintf(err, errlen, "%s: listen: [admin] listen %s:%u is also a [server] "
                     "listener", where, cfg->admin_listen.address, cfg->admin_listen.port);
            return -1;
        }
    if (cfg->group[0] && !cfg->user[0]) {
        snprintf(err, errlen, "%s: group: needs user", where);
        return -1;
    }
    if (cfg->ndefault_docs == 0) {
        snprintf(err, errlen, "%s: default_documents: the list is empty", where);
        return -1;
    }
    for (size_t i = 0; i < cfg->nvdirs; i++) {
        host_vdir_t *d = &cfg->vdirs[i];
        if (plat_file_stat(d->path, &info) != 0 || !info.exists || !info.is_directory) {
            snprintf(err, errlen, "%s: virtual_directories: %s: '%s' is not a folder", where,
                     d->url, d->path);
            return -1;
        }
        /* The folder its static files are checked against, as the root's (follow_symlinks). */
        rc = plat_path_real(d->path, d->path_real, sizeof d->path_real);
        if (rc < 0) {
            char why[256];
            snprintf(err, errlen, "%s: virtual_directories: %s: '%s': cannot resolve its real "
                     "path: %s", where, d->url, d->path, plat_strerror(rc, why, sizeof why));
            return -1;
        }
    }
    return 0;
}

const char *host_config_usage(void)
{
    static char text[4096];
    if (text[0])
        return text;
    size_t n = (size_t)snprintf(text, sizeof text,
        "usage: isapihost [options]\n"
        "Serves a site and runs ISAPI filters with IIS semantics.\n"
        "With no options it reads the isapihost.ini that CMake generated in its build tree:\n"
        "the bundled sample site and filters on 127.0.0.1:8080.\n\n"
        "  --config FILE  read an INI file ([server] settings, [filters] in load order)\n"
        "  --import-iis FILE [--out INI] [--site NAME|ID] [--map WINPATH=PATH]...\n"
        "                 write an INI from IIS's applicationHost.config or MetaBase.xml\n");
    for (size_t i = 0; i < NSETTINGS + NADMIN_SETTINGS && n < sizeof text; i++) {
        const setting_t *st = i < NSETTINGS ? &host_settings[i] : &admin_settings[i - NSETTINGS];
        if (!st->option || !st->help)
            continue;
        n += (size_t)snprintf(text + n, sizeof text - n, "  %s %s\n", st->option, st->help);
    }
    if (n < sizeof text)
        snprintf(text + n, sizeof text - n,
                 "  --help         this text\n  --version      the version\n"
                 "Every INI setting is described in docs/configuration.md.\n");
    return text;
}
