/*
 * fixture.h - a fake host for the engine's unit tests.
 *
 * The fake host keeps everything the engine hands it: the bytes written to the "wire",
 * the SF_REQ_SEND_RESPONSE_HEADER requests (it answers them like the real host: build the
 * header list, raise SEND_RESPONSE, serialise, push the block through isapi_send from the
 * origin it was given), and the log lines. Filters are real: the probe filter built three
 * times (tests/filters/probe), loaded by path with LoadLibraryA, configured through its
 * exported ProbeSetup, recording into one journal shared by all probes.
 */
#ifndef ISAPI_TEST_FIXTURE_H
#define ISAPI_TEST_FIXTURE_H

#include <check.h>
#include "isapi.h"
#include "../../filters/probe/probe.h"

#define FX_ALL_NOTIFS (SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | \
    SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED | \
    SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST | \
    SF_NOTIFY_LOG | SF_NOTIFY_END_OF_NET_SESSION)

typedef struct fx {
    isapi_engine *e;
    isapi_config cfg;
    HMODULE mods[3];
    probe_journal journal;
    char wire[1 << 16];
    size_t wlen;
    int ssrh_calls;
    char ssrh_status[256], ssrh_added[2048], ssrh_extra[2048];
    char logs[1 << 14];
    isapi_ops ops;
    isapi_conn *c;
    int write_error;
} fx;

extern fx F;
extern const char *const fx_probe_paths[3];

void fx_setup(void);      /* fresh engine, empty journal */
void fx_teardown(void);   /* closes the connection, destroys the engine */
/* Loads probe i (0..2) with this registration and script; returns isapi_engine_load. */
int fx_probe(int i, const char *name, DWORD flags, const char *script);
int fx_probe_version(int i, const char *name, DWORD flags, BOOL result, DWORD err);
isapi_conn *fx_open(int secure);
/* Begins a request with a request line and "Name: value" headers (NULL-terminated). */
isapi_request *fx_request(const char *method, const char *url, const char *version, ...);
/* The host's normal response: AddResponseHeaders merged, SEND_RESPONSE, header block,
 * then the body, each through isapi_send from the host origin. */
isapi_rc fx_respond(const char *body);
/* Ends the request like the host: END_OF_REQUEST, LOG, isapi_request_end. */
void fx_finish(void);

int fx_has(const char *needle);                 /* in the journal */
int fx_before(const char *a, const char *b);    /* first a before first b in the journal */
int fx_count(const char *needle);
#define FX_J F.journal.text

#endif
