/*
 * main.c - isapihost: configuration, filters, serving, shutdown.
 *
 * `isapihost --import-iis FILE [--out INI] [--site S] [--map WIN=PATH]` only converts an
 * IIS configuration (iis_import.h) and exits.
 *
 * Order of work, each step ending the process with one clear line on failure:
 *   1. configuration: defaults, then isapihost.ini beside the build (no arguments) or the
 *      INI file and options given, then validation;
 *   2. the listeners, while the process may be root; then the serving account (user,
 *      group: setgroups, setgid, setuid), or a refusal to go on as root unless
 *      run_as_root = yes says so;
 *   3. the logs, created by that account (filters' OutputDebugStringA text goes to the
 *      error log at debug level; the access log rolls over by period or size, SIGUSR1
 *      reopens both) and the registry values filters read;
 *   4. the filters, in load order (a filter whose GetFilterVersion declines is skipped
 *      with a warning, as IIS does; one that cannot be loaded stops the start); --check
 *      loads them and stops here, successfully;
 *   5. serving, in a supervised process on POSIX (supervise.h: a filter that crashes it
 *      is logged and a new serving process takes over the same listening sockets), until
 *      SIGINT/SIGTERM (or the console's Ctrl+C), then graceful shutdown, TerminateFilter
 *      and FreeLibrary in reverse load order, exit 0.
 * A reload (SIGHUP to the supervisor, POSIX) repeats step 1 in the supervisor with the same
 * command line; a configuration that reads and checks well is served by a new serving
 * process that loads every filter from its file again (step 4), while the old one finishes
 * its requests and retires. In the Winelib build the launcher starts the new process,
 * which reads the configuration itself and takes the listeners over from the old one
 * (step 2, host_listeners_adopt).
 */
#include "config.h"
#include "iis_import.h"
#include "isapi.h"
#include "log.h"
#include "os.h"
#include "registry.h"
#include "server.h"
#include "supervise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ISAPIHOST_DEFAULT_CONFIG
#define ISAPIHOST_DEFAULT_CONFIG ""
#endif
#ifndef ISAPIHOST_VERSION
#define ISAPIHOST_VERSION "0"
#endif

static host_server_t *running_server;

static void on_shutdown(void *arg)
{
    (void)arg;
    if (running_server)
        host_server_wake(running_server);
}

/* The supervisor's word that a new serving process took over (a signal handler). */
static void on_retire(void *arg)
{
    (void)arg;
    if (running_server)
        host_server_retire(running_server);
}

/* Filters' OutputDebugStringA text: one debug-level line of the error log each. */
static void debug_output_to_log(const char *text, size_t len)
{
    host_log(HOST_LOG_DEBUG, "OutputDebugString: %.*s", (int)len, text);
}

/* Set once the error log is open: a serving process started by a reload then leaves
 * the reason it could not start there too, beside the supervisor's line. */
static int error_log_open;

static int fail(const char *msg)
{
    fprintf(stderr, "isapihost: %s\n", msg);
    if (error_log_open)
        host_log(HOST_LOG_ERROR, "%s", msg);
    return 1;
}

/* Creates the engine and loads every filter in order. Returns NULL after printing the
 * one-line reason. */
static isapi_engine *load_filters(const host_config_t *cfg)
{
    char err[1024];
    /* Filters see paths in their own OS's form (os.h: Windows form in the Winelib build). */
    static char root[4096];
    if (plat_path_to_filter(cfg->root, root, sizeof root) < 0) {
        fail("the site root is too long");
        return NULL;
    }
    isapi_config icfg = {
        .server_filter_version = cfg->server_filter_version,
        .alloc_cap = cfg->allocmem_per_connection,
        .log = host_log_from_engine,
        .log_ctx = NULL,
        .server_software = cfg->server_software,
        .appl_physical_path = root,
        .loader_path = plat_path_to_filter,
    };
    isapi_engine *engine = isapi_engine_create(&icfg);
    if (!engine) {
        fail("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->nfilters; i++) {
        if (isapi_engine_load(engine, cfg->filters[i].path, err, sizeof err) < 0) {
            isapi_engine_destroy(engine);
            fail(err);
            return NULL;
        }
    }
    /* Extensions after the filters: a DLL that is both is then one module already, and
     * its GetExtensionVersion runs on the module GetFilterVersion initialised. */
    for (size_t i = 0; i < cfg->nextensions + cfg->nscript_maps; i++) {
        const char *path = i < cfg->nextensions ? cfg->extensions[i].path
                                                : cfg->script_maps[i - cfg->nextensions].dll;
        isapi_extension *x;
        if (isapi_engine_load_extension(engine, path, &x, err, sizeof err) != 0) {
            isapi_engine_destroy(engine);
            fail(err);
            return NULL;
        }
    }
    return engine;
}

typedef struct serve_ctx {
    host_config_t *cfg;
    const host_listeners_t *listeners;
    int argc;                    /* the command line, read again on a reload */
    char **argv;
} serve_ctx_t;

/* One serving process: filters, worker threads, serving until asked to stop. Under the
 * POSIX supervisor this runs in a child process; a crash there starts a new one. */
static int serve(void *arg)
{
    serve_ctx_t *ctx = arg;
    char err[1024];
    isapi_engine *engine = load_filters(ctx->cfg);
    if (!engine)
        return 1;
    host_server_t *server;
    if (host_server_start(ctx->cfg, engine, ctx->listeners, &server, err, sizeof err) != 0) {
        isapi_engine_destroy(engine);
        return fail(err);
    }
    running_server = server;
    plat_shutdown_handler_set(on_shutdown, NULL);
    host_server_on_ready(server, host_supervise_ready);
    host_supervise_on_retire(on_retire, NULL);
    int rc = host_server_run(server);
    running_server = NULL;
    if (rc != 0)
        return 1;   /* filters still running: do not unload them under their feet */
    host_server_destroy(server);
    isapi_engine_destroy(engine);
    host_log(HOST_LOG_INFO, "stopped");
    return 0;
}

/* Gives root up before any filter is loaded: the configured user (and group), or, as
 * root with no user, a refusal unless run_as_root says so. *as_root tells the caller to
 * warn once the error log is open. Returns 0, or -1 with "FILE: setting: reason". */
static int become_serving_account(const host_config_t *cfg, int *as_root, char *err,
                                  size_t errlen)
{
    const char *where = cfg->config_file[0] ? cfg->config_file : "command line";
    char why[512];
    *as_root = 0;
    if (cfg->user[0]) {
        if (plat_identity_drop(cfg->user, cfg->group, why, sizeof why) != 0) {
            snprintf(err, errlen, "%.400s: user: '%.64s': %.400s", where, cfg->user, why);
            return -1;
        }
        return 0;
    }
    if (plat_identity_is_root()) {
        if (!cfg->run_as_root) {
            snprintf(err, errlen, "%.400s: user: running as root with no user: filters would "
                     "run as root; set user = ACCOUNT (or run_as_root = yes)", where);
            return -1;
        }
        *as_root = 1;
    }
    return 0;
}

static void supervisor_log(int level, const char *line)
{
    host_log(level, "%s", line);
}

/* Step 1 of the start, from the same command line: defaults, the default INI file when
 * there are no arguments, the options (and the INI file they name), validation. Returns 0,
 * or -1 with the one-line reason in err. */
static int read_configuration(host_config_t *cfg, int argc, char **argv, char *err,
                              size_t errlen)
{
    host_config_defaults(cfg);
    if (argc == 1 && ISAPIHOST_DEFAULT_CONFIG[0]) {
        plat_file_info_t info;
        if (plat_file_stat(ISAPIHOST_DEFAULT_CONFIG, &info) == 0 && info.exists
            && host_config_read_ini(cfg, ISAPIHOST_DEFAULT_CONFIG, err, errlen) != 0)
            return -1;
    }
    if (host_config_parse_args(cfg, argc, argv, err, errlen) != 0)
        return -1;
    return host_config_validate(cfg, err, errlen);
}

/* The configuration a reload replaced, for reload_revert. */
static host_config_t config_before_reload;

/* Settings a reload cannot change: the listening sockets are the supervisor's, opened
 * before it gave root up, and the account and the logs were set up once, by it. */
static const char *restart_only_change(const host_config_t *now, const host_config_t *next)
{
    if (now->nlisten != next->nlisten)
        return "listen";
    for (size_t i = 0; i < now->nlisten; i++)
        if (strcmp(now->listen[i].address, next->listen[i].address) != 0
            || now->listen[i].port != next->listen[i].port
            || now->listen[i].secure != next->listen[i].secure)
            return "listen";
    if (strcmp(now->user, next->user) != 0)
        return "user";
    if (strcmp(now->group, next->group) != 0)
        return "group";
    if (strcmp(now->error_log, next->error_log) != 0)
        return "error_log";
    if (strcmp(now->access_log, next->access_log) != 0)
        return "log";
    if (strcmp(now->log_dir, next->log_dir) != 0)
        return "log_dir";
    if (strcmp(now->registry, next->registry) != 0)
        return "registry";
    return NULL;
}

/* opts.reload: the supervisor reads the configuration again, and the next serving process
 * serves it. A reload changes nothing when the file does not read, does not check, or
 * changes a setting only a restart can change; the reason is one line. */
static int reload_configuration(void *arg, char *err, size_t errlen)
{
    serve_ctx_t *ctx = arg;
    static host_config_t next;
    char why[900];
    if (read_configuration(&next, ctx->argc, ctx->argv, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    const char *fixed = restart_only_change(ctx->cfg, &next);
    if (fixed) {
        const char *where = next.config_file[0] ? next.config_file : "command line";
        snprintf(err, errlen, "%.400s: %s: changed; a restart applies it, a reload cannot",
                 where, fixed);
        return -1;
    }
    config_before_reload = *ctx->cfg;
    *ctx->cfg = next;
    return 0;
}

static void reload_revert(void *arg)
{
    serve_ctx_t *ctx = arg;
    *ctx->cfg = config_before_reload;
}

int main(int argc, char **argv)
{
    static host_config_t cfg;
    char err[1024];

    if (plat_init() != 0)
        return fail("cannot initialise the platform layer (sockets)");
    if (argc >= 2 && strcmp(argv[1], "--import-iis") == 0) {
        host_iis_import_options_t io;
        if (host_iis_import_args(argc, argv, &io, err, sizeof err) != 0
            || host_iis_import(&io, err, sizeof err) != 0)
            return fail(err);
        return 0;
    }
    host_config_defaults(&cfg);
    if (argc == 1 && ISAPIHOST_DEFAULT_CONFIG[0]) {
        plat_file_info_t info;
        if (plat_file_stat(ISAPIHOST_DEFAULT_CONFIG, &info) == 0 && info.exists
            && host_config_read_ini(&cfg, ISAPIHOST_DEFAULT_CONFIG, err, sizeof err) != 0)
            return fail(err);
    }
    if (host_config_parse_args(&cfg, argc, argv, err, sizeof err) != 0)
        return fail(err);
    if (cfg.show_help) {
        fputs(host_config_usage(), stdout);
        return 0;
    }
    if (cfg.show_version) {
        printf("isapihost %s\n", ISAPIHOST_VERSION);
        return 0;
    }
    if (host_config_validate(&cfg, err, sizeof err) != 0)
        return fail(err);

    /* The listeners first, while the process may still be root (ports below 1024); or,
     * in a Winelib process started by a reload, those of the process it replaces. */
    host_listeners_t listeners;
    plat_socket_t inherited[HOST_MAX_LISTENERS + 1];
    int ninherited = host_supervise_inherited_listeners(
        inherited, sizeof inherited / sizeof inherited[0], err, sizeof err);
    if (ninherited < 0)
        return fail(err);
    if (ninherited > 0 ? host_listeners_adopt(&cfg, inherited, (size_t)ninherited, &listeners,
                                              err, sizeof err)
                       : host_listeners_open(&cfg, &listeners, err, sizeof err))
        return fail(err);
    int as_root = 0;
    if (become_serving_account(&cfg, &as_root, err, sizeof err) != 0) {
        host_listeners_close(&listeners);
        return fail(err);
    }

    /* The logs now, as the serving account: it owns the files it creates (mode 0640) and
     * can reopen them after logrotate. */
    if (host_log_open(cfg.error_log, cfg.verbose ? HOST_LOG_DEBUG : HOST_LOG_INFO, err,
                      sizeof err) != 0)
        return fail(err);
    error_log_open = cfg.error_log[0] && strcmp(cfg.error_log, "-") != 0;
    plat_debug_output_set(debug_output_to_log);
    host_w3c_options_t logopt = {
        .dir = cfg.log_dir, .file = cfg.access_log, .period = (host_log_period_t)cfg.log_period,
        .local_time = cfg.log_local_time, .truncate_size = cfg.log_truncate_size,
        .software = cfg.server_software,
    };
    if (host_w3c_open_rolling(&logopt, err, sizeof err) != 0)
        return fail(err);
    /* SIGUSR1 reopens both logs (logrotate); installed before the supervisor forks so
     * the signal reaches the serving process whichever process it is sent to. */
    if (plat_reopen_signal_install() != 0)
        host_log(HOST_LOG_WARN, "cannot install the log reopen signal (SIGUSR1)");
    if (as_root)
        host_log(HOST_LOG_WARN, "serving as root (run_as_root = yes): every filter runs with "
                 "root's privileges");
    if (cfg.registry[0] && host_registry_load(cfg.registry, err, sizeof err) != 0)
        return fail(err);

    if (cfg.check_only) {
        isapi_engine *engine = load_filters(&cfg);
        host_listeners_close(&listeners);
        if (!engine)
            return 1;
        printf("isapihost: configuration OK: %lu listener(s), %lu filter(s) loaded\n",
               (unsigned long)cfg.nlisten, (unsigned long)isapi_engine_filter_count(engine));
        isapi_engine_destroy(engine);
        return 0;
    }

    serve_ctx_t ctx = { &cfg, &listeners, argc, argv };
    host_supervise_opts_t sup = {
        .crash_log = cfg.error_log,
        .rapid_fail_max = cfg.rapid_fail_max,
        .rapid_fail_window_ms = cfg.rapid_fail_window_ms,
        .listeners = listeners.sock,
        .nlisteners = listeners.n,
        .has_admin_listener = listeners.has_admin,
        .admin_listener = listeners.has_admin ? listeners.admin_sock : PLAT_INVALID_SOCKET,
        .log = supervisor_log,
        .describe_call = isapi_describe_current_call,
        .reload = reload_configuration,
        .reload_revert = reload_revert,
    };
    int rc = host_supervise(serve, &ctx, &sup);
    host_listeners_close(&listeners);
    host_w3c_close();
    host_log_close();
    plat_cleanup();
    return rc;
}
