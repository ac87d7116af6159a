/*
 * log.h - the server's two logs.
 *
 * The error log (host_log*) takes server and filter messages, one line each, prefixed with
 * the UTC time and the level; it goes to stderr unless the configuration names a file.
 * The access log (host_w3c_*) is the W3C extended log IIS writes, built from the
 * HTTP_FILTER_LOG record as the LOG filters left it. Both are safe to call from any
 * thread; each line is written whole.
 */
#ifndef HOST_LOG_H
#define HOST_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { HOST_LOG_ERROR = 0, HOST_LOG_WARN = 1, HOST_LOG_INFO = 2, HOST_LOG_DEBUG = 3 };

/* Opens the error log ("" or "-" = stderr) at the given verbosity (messages above it are
 * dropped). Returns 0 or -1 with errno-style text in err. */
int host_log_open(const char *path, int max_level, char *err, size_t errlen);
void host_log_close(void);
void host_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The engine's log callback (isapi_log_fn): names the filter in every line. */
void host_log_from_engine(void *ctx, int level, const char *filter, const char *msg);

/* One W3C extended log record: the fields IIS writes by default, plus time-taken. */
typedef struct host_w3c_record {
    const char *server_ip;     /* s-ip */
    const char *method;        /* cs-method */
    const char *uri_stem;      /* cs-uri-stem */
    const char *uri_query;     /* cs-uri-query */
    unsigned server_port;      /* s-port */
    const char *username;      /* cs-username */
    const char *client_ip;     /* c-ip */
    const char *user_agent;    /* cs(User-Agent) */
    uint32_t status;           /* sc-status */
    uint32_t win32_status;     /* sc-win32-status */
    uint64_t bytes_sent;       /* sc-bytes */
    uint64_t bytes_received;   /* cs-bytes */
    uint32_t time_taken_ms;    /* time-taken */
} host_w3c_record_t;

/* Opens the access log ("" = none, "-" = stdout), appending, and writes the #Software,
 * #Version, #Date and #Fields directives. Returns 0 or -1 with the reason in err. */
int host_w3c_open(const char *path, const char *software, char *err, size_t errlen);
void host_w3c_write(const host_w3c_record_t *r);
void host_w3c_close(void);

#endif
