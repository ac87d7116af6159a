/*
 * fuzz_pipeline.c - libFuzzer target for the whole request pipeline: bytes in, every
 * notification (the trace filter is loaded), bytes out.
 *
 * Set up once: a site folder with one file, the default configuration (HTTP/0.9 strict),
 * an engine with the trace sample loaded through isapi_engine_load (its lines go to
 * /dev/null; the path comes from FUZZ_TRACE_FILTER, else the one compiled in), and a
 * host_server_t built by hand from host/conn.h with no listener, poller or workers.
 *
 * Each input: one connection served inline on a socketpair (fuzz_serve.h), the input then
 * end of stream from the client.
 * Findings: any sanitizer report or crash, and one invariant checked cheaply: when the
 * input's first request parses as an HTTP/0.9 simple request, there is output and it does
 * not start with "HTTP/" (strict policy: the body alone).
 */
#define _POSIX_C_SOURCE 200809L   /* setenv */
#include "fuzz_serve.h"
#include "log.h"
#include "parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_TRACE_FILTER_PATH
#define FUZZ_TRACE_FILTER_PATH ""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fuzz_site_t site;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    fuzz_site_create(&site, "fuzz-pipeline");
    isapi_config icfg = { .server_software = site.cfg.server_software,
                          .appl_physical_path = site.cfg.root };
    isapi_engine *engine = isapi_engine_create(&icfg);
    if (!engine)
        abort();
    const char *trace = getenv("FUZZ_TRACE_FILTER");
    if (!trace || !*trace)
        trace = FUZZ_TRACE_FILTER_PATH;
    setenv("ISAPI_TRACE_FILE", "/dev/null", 1);
    if (!*trace || isapi_engine_load(engine, trace, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_pipeline: cannot load the trace filter (%s): %s\n", trace,
                *trace ? err : "set FUZZ_TRACE_FILTER");
        abort();
    }
    fuzz_site_ready(&site, engine);
    return 0;
}

/* True when the input's first request is a complete HTTP/0.9 simple request. */
static int first_is_09(const uint8_t *data, size_t size)
{
    host_request_line_t rl;
    host_header_t hdrs[64];
    size_t nh = 64;
    int status = 0;
    int r = host_parse_request((const char *)data, size, &rl, hdrs, &nh, 0, &site.srv.limits,
                               &status);
    return r > 0 && rl.version == HOST_HTTP_09;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_output_t out;
    size = fuzz_serve_bytes(&site, data, size, &out);

    /* Why: KB Q323064 - a simple request under the strict policy has no header block; and
     * it is answered (a file or an error page), so the server did read the input. */
    if (first_is_09(data, size)
        && (out.got == 0 || (out.got >= 5 && memcmp(out.head, "HTTP/", 5) == 0)))
        __builtin_trap();
    return 0;
}
