/*
 * config.h - the server's configuration: defaults, the command line and the INI file.
 *
 * host_config_load() fills a host_config_t from defaults, then the INI file (when --config
 * names one, or isapihost.ini beside the executable when there are no arguments), then the
 * command line, which wins. Any error is one line naming the file (or "command line"),
 * the setting and the reason, written into the caller's buffer; the caller prints it and
 * exits non-zero. Paths in an INI file are relative to the file's folder.
 */
#ifndef HOST_CONFIG_H
#define HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define HOST_MAX_LISTENERS 16
#define HOST_MAX_FILTERS 64
#define HOST_MAX_DEFAULT_DOCS 8
#define HOST_PATH_MAX 1024
#define HOST_MAX_EXTENSIONS 64
#define HOST_MAX_SCRIPT_MAPS 64
#define HOST_MAX_VDIRS 64

/* Access flags of a virtual directory, with IIS's values (HSE_URL_FLAGS_*, httpext.h). */
#define HOST_ACCESS_READ    0x001u
#define HOST_ACCESS_EXECUTE 0x004u
#define HOST_ACCESS_SCRIPT  0x200u

/* Script map flags, IIS's MD_SCRIPTMAPFLAG_* values (the ScriptMaps metabase entry). */
#define HOST_SCRIPTMAP_SCRIPT     0x1u   /* runs with Script access (else Execute needed) */
#define HOST_SCRIPTMAP_CHECK_FILE 0x4u   /* "verify that file exists": 404 before the DLL */

typedef enum { HOST_HTTP09_STRICT, HOST_HTTP09_HTTP10 } host_http09_policy_t;

/* follow_symlinks: which symbolic links (and Windows junctions) static files may pass. */
typedef enum {
    HOST_SYMLINKS_INSIDE_ROOT,   /* followed while the file reached stays inside the root */
    HOST_SYMLINKS_ALWAYS,        /* followed anywhere the server's account can read */
    HOST_SYMLINKS_NEVER          /* none below the root */
} host_symlinks_t;

typedef struct {
    char address[64];   /* "127.0.0.1", "::1", "0.0.0.0" */
    unsigned port;      /* 0 asks the OS for a free port (tests) */
    int secure;         /* TLS is terminated in front of this listener */
} host_listen_t;

typedef struct {
    char name[64];               /* from the [filters] key, or the file's base name */
    char path[HOST_PATH_MAX];
} host_filter_conf_t;

/* [extensions]: an extension DLL loaded at start. */
typedef struct {
    char name[64];
    char path[HOST_PATH_MAX];
} host_extension_conf_t;

/* [script_maps]: ".ext = dll[,flags[,verb,verb...]]", IIS's ScriptMaps entry; "*" is the
 * wildcard map (every request). */
typedef struct {
    char ext[32];                /* without the dot; "*" for the wildcard map */
    char dll[HOST_PATH_MAX];
    unsigned flags;              /* HOST_SCRIPTMAP_* */
    char verbs[256];             /* "GET,POST"; "" = every verb */
} host_script_map_t;

/* [virtual_directories]: "/url = folder[,access...]". */
typedef struct {
    char url[256];               /* "/scripts": no trailing slash */
    char path[HOST_PATH_MAX];
    char path_real[HOST_PATH_MAX];   /* path with every link resolved (validate fills it) */
    unsigned access;             /* HOST_ACCESS_* */
} host_vdir_t;

typedef struct {
    host_listen_t listen[HOST_MAX_LISTENERS];
    size_t nlisten;
    host_filter_conf_t filters[HOST_MAX_FILTERS];
    size_t nfilters;
    host_extension_conf_t extensions[HOST_MAX_EXTENSIONS];
    size_t nextensions;
    host_script_map_t script_maps[HOST_MAX_SCRIPT_MAPS];
    size_t nscript_maps;
    host_vdir_t vdirs[HOST_MAX_VDIRS];
    size_t nvdirs;
    unsigned root_access;             /* HOST_ACCESS_* of the site root ("/") */
    uint64_t upload_read_ahead;       /* body bytes read before HttpExtensionProc */
    char root[HOST_PATH_MAX];
    char root_real[HOST_PATH_MAX];    /* root with every link resolved (validate fills it) */
    host_symlinks_t follow_symlinks;
    int serve_dotfiles;               /* serve paths with a segment starting with '.' */
    char default_docs[HOST_MAX_DEFAULT_DOCS][64];
    size_t ndefault_docs;
    char access_log[HOST_PATH_MAX];   /* W3C log; "" = none, "-" = stdout */
    char log_dir[HOST_PATH_MAX];      /* W3C log files with IIS names, rolled over */
    int log_period;                   /* host_log_period_t (log.h) */
    int log_period_set;               /* given in the file or on the command line */
    uint64_t log_truncate_size;       /* log_period = size: bytes per file */
    int log_local_time;               /* IIS localTimeRollover */
    char user[64];                    /* POSIX: the account to serve as (after binding) */
    char group[64];                   /* its group ("" = the user's own) */
    int run_as_root;                  /* serve (and run filters) as root, knowingly */
    char error_log[HOST_PATH_MAX];    /* "" or "-" = stderr */
    char registry[HOST_PATH_MAX];     /* registry values presented to filters (.reg) */
    char port_file[HOST_PATH_MAX];    /* write "port\n" per listener once listening (tests) */
    char server_software[128];
    host_http09_policy_t http09;
    uint32_t server_filter_version;
    unsigned instance_id;
    unsigned workers;
    unsigned concurrency;       /* 0: one per processor */
    unsigned max_connections;
    unsigned max_requests_per_connection;
    size_t max_request_line;
    size_t max_header_bytes;
    unsigned max_headers;
    uint64_t max_body;
    size_t allocmem_per_connection;
    unsigned header_timeout_ms;
    unsigned body_timeout_ms;
    unsigned keepalive_timeout_ms;
    unsigned send_timeout_ms;
    unsigned min_bytes_per_second;  /* a body or response slower than this after its grace
                                       time (body_timeout, send_timeout) is cut off */
    unsigned shutdown_timeout_ms;
    unsigned rapid_fail_max;        /* crashes within the window that stop restarts; 0 off */
    unsigned rapid_fail_window_ms;
    unsigned hung_call_timeout_ms;  /* a call in filter code longer than this is hung */
    unsigned hung_workers_floor;    /* fewer workers not hung: a new serving process */
    /* [admin]: the listener answering /metrics and /healthz (host/metrics.h) */
    host_listen_t admin_listen;
    int admin_enabled;                /* admin_listen was given */
    unsigned drain_delay_ms;          /* on a stop: health says 503, serving goes on */
    int filter_timing;                /* time every filter call (plat_ticks) */
    int verbose;
    int check_only;
    int show_help;
    int show_version;
    char config_file[HOST_PATH_MAX];  /* the INI file that was read, or "" */

    /* Periodic recycling, IIS's periodicRestart (requests, time); 0 = off. */
    unsigned recycle_after_requests;
    unsigned recycle_after_seconds;
} host_config_t;

/* Sets every default: 127.0.0.1:8080, workers 16, strict HTTP/0.9, limits. */
void host_config_defaults(host_config_t *cfg);

/* Reads an INI file into cfg. Returns 0, or -1 with "file:line: setting: reason" in err. */
int host_config_read_ini(host_config_t *cfg, const char *path, char *err, size_t errlen);

/* Applies the command line (argv[1..]); --config FILE is read where it appears, so later
 * options override it. Returns 0, or -1 with "command line: option: reason" in err. */
int host_config_parse_args(host_config_t *cfg, int argc, char **argv, char *err, size_t errlen);

/* Checks values that depend on each other (a root that exists, at least one listener) and
 * fills cfg->root_real, the root's real path, once for the whole run. Returns 0 or -1
 * with the message in err. */
int host_config_validate(host_config_t *cfg, char *err, size_t errlen);

/* The --help text. */
const char *host_config_usage(void);

#endif
