/*
 * main.c - isapihost: configuration, filters, serving, shutdown.
 *
 * Order of work, each step ending the process with one clear line on failure:
 *   1. configuration: defaults, then isapihost.ini beside the build (no arguments) or the
 *      INI file and options given, then validation;
 *   2. the logs (filters' OutputDebugStringA text goes to the error log at debug level)
 *      and the registry values filters read;
 *   3. the filters, in load order (a filter whose GetFilterVersion declines is skipped
 *      with a warning, as IIS does; one that cannot be loaded stops the start);
 *   4. the listeners; --check loads the filters and stops here, successfully;
 *   5. serving, in a supervised process on POSIX (supervise.h: a filter that crashes it
 *      is logged and a new serving process takes over the same listening sockets), until
 *      SIGINT/SIGTERM (or the console's Ctrl+C), then graceful shutdown, TerminateFilter
 *      and FreeLibrary in reverse load order, exit 0.
 */
#include "config.h"
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

/* Filters' OutputDebugStringA text: one debug-level line of the error log each. */
static void debug_output_to_log(const char *text, size_t len)
{
    host_log(HOST_LOG_DEBUG, "OutputDebugString: %.*s", (int)len, text);
}

static int fail(const char *msg)
{
    fprintf(stderr, "isapihost: %s\n", msg);
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
    const host_config_t *cfg;
    const host_listeners_t *listeners;
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
    int rc = host_server_run(server);
    running_server = NULL;
    if (rc != 0)
        return 1;   /* filters still running: do not unload them under their feet */
    host_server_destroy(server);
    isapi_engine_destroy(engine);
    host_log(HOST_LOG_INFO, "stopped");
    return 0;
}

static void supervisor_log(int level, const char *line)
{
    host_log(level, "%s", line);
}

int main(int argc, char **argv)
{
    static host_config_t cfg;
    char err[1024];

    if (plat_init() != 0)
        return fail("cannot initialise the platform layer (sockets)");
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
    if (host_log_open(cfg.error_log, cfg.verbose ? HOST_LOG_DEBUG : HOST_LOG_INFO, err,
                      sizeof err) != 0)
        return fail(err);
    plat_debug_output_set(debug_output_to_log);
    if (host_w3c_open(cfg.access_log, cfg.server_software, err, sizeof err) != 0)
        return fail(err);
    if (cfg.registry[0] && host_registry_load(cfg.registry, err, sizeof err) != 0)
        return fail(err);

    host_listeners_t listeners;
    if (host_listeners_open(&cfg, &listeners, err, sizeof err) != 0)
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

    serve_ctx_t ctx = { &cfg, &listeners };
    host_supervise_opts_t sup = {
        .crash_log = cfg.error_log,
        .rapid_fail_max = cfg.rapid_fail_max,
        .rapid_fail_window_ms = cfg.rapid_fail_window_ms,
        .listeners = listeners.sock,
        .nlisteners = listeners.n,
        .log = supervisor_log,
        .describe_call = isapi_describe_current_call,
    };
    int rc = host_supervise(serve, &ctx, &sup);
    host_listeners_close(&listeners);
    host_w3c_close();
    host_log_close();
    plat_cleanup();
    return rc;
}
