/*
 * log.h - the server's two logs.
 *
 * The error log (host_log*) takes server and filter messages, one line each, prefixed with
 * the UTC time and the level; it goes to stderr unless the configuration names a file.
 * The access log (host_w3c_*) is the W3C extended log IIS writes, built from the
 * HTTP_FILTER_LOG record as the LOG filters left it. Both are safe to call from any
 * thread; each line is written whole, and bounded: HOST_LOG_LINE_MAX and HOST_W3C_LINE_MAX
 * bytes at most, whatever the lengths of the texts they carry.
 */
#ifndef HOST_LOG_H
#define HOST_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { HOST_LOG_ERROR = 0, HOST_LOG_WARN = 1, HOST_LOG_INFO = 2, HOST_LOG_DEBUG = 3 };

/* The longest message text of an error-log line (longer ones are cut), and the longest
 * W3C line, newline included. */
#define HOST_LOG_LINE_MAX 2048
#define HOST_W3C_LINE_MAX 4096
/* The default repeat window of the error log (host_log_set_repeat_window). */
#define HOST_LOG_REPEAT_WINDOW_MS 10000

/* Opens the error log ("" or "-" = stderr) at the given verbosity (messages above it are
 * dropped). Returns 0 or -1 with errno-style text in err. */
int host_log_open(const char *path, int max_level, char *err, size_t errlen);
/* Writes the pending repeat counts, then closes the error log. */
void host_log_close(void);
/* Repeated messages: a message with the same level and the same text (after the time and
 * level, the "filter NAME: " prefix included) as one of the last 16 different messages,
 * written less than `ms` ago, is not written but counted. The count goes out as one line
 * "last message repeated N times: TEXT" (at the message's level) before the next message
 * that is written, when the window ends (seen when any message arrives after it), and at
 * host_log_flush_repeats/host_log_close; the window then starts again for that text.
 * 0 writes every message. Default HOST_LOG_REPEAT_WINDOW_MS. */
void host_log_set_repeat_window(uint32_t ms);
/* Writes every pending repeat count now and forgets the recent messages. */
void host_log_flush_repeats(void);
/* Logs one message (printf format) at a level; control bytes in it become spaces, so it is
 * one line. */
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
 * #Version, #Date and #Fields directives. No rollover. Returns 0 or -1 with the reason in
 * err. */
int host_w3c_open(const char *path, const char *software, char *err, size_t errlen);

/* When a new access-log file starts (IIS's logFile period). */
typedef enum {
    HOST_LOG_PERIOD_NONE,      /* one file, rotated from outside (logrotate + SIGUSR1) */
    HOST_LOG_PERIOD_HOURLY,    /* u_exYYMMDDHH.log */
    HOST_LOG_PERIOD_DAILY,     /* u_exYYMMDD.log */
    HOST_LOG_PERIOD_WEEKLY,    /* u_exYYMMWW.log, WW the week of the month from 01 */
    HOST_LOG_PERIOD_MONTHLY,   /* u_exYYMM.log */
    HOST_LOG_PERIOD_SIZE       /* u_extendN.log, a new N once the file holds truncate_size */
} host_log_period_t;

typedef struct host_w3c_options {
    const char *dir;            /* the folder of the IIS-named files; "" = use file */
    const char *file;           /* the one file when dir is "" ("-" = stdout) */
    host_log_period_t period;   /* with dir only */
    int local_time;             /* names and switches by local time (IIS localTimeRollover);
                                   the records' date and time stay UTC, as in IIS */
    uint64_t truncate_size;     /* HOST_LOG_PERIOD_SIZE: bytes per file */
    const char *software;       /* #Software */
} host_w3c_options_t;

/* Opens the access log as the options say and writes the directives. Every later record
 * goes to the file of its period: the first record at or after a period's start opens
 * the new file (with its own directives at the top) and the others follow it; records
 * written by other threads during the switch land whole in one file or the other, never
 * lost or torn. Returns 0 or -1 with the reason in err. */
int host_w3c_open_rolling(const host_w3c_options_t *o, char *err, size_t errlen);

/* The IIS file name of the period holding unix_ms ("u_ex26120219.log"); seq numbers the
 * size-rolled files. Writes at most cap bytes with the NUL; returns the length. */
size_t host_w3c_file_name(host_log_period_t period, int local_time, int64_t unix_ms,
                          unsigned seq, char *out, size_t cap);

/* Tests: the clock the access log reads (milliseconds since 1970, UTC); NULL restores the
 * real one. Set it before opening. */
void host_w3c_set_clock(int64_t (*now_ms)(void));
/* Formats one record as a W3C line into line[0, cap) and returns its length; stamp is the
 * 20-byte "YYYY-MM-DD HH:MM:SS " prefix. The line always ends with every numeric field
 * and a newline: with cap >= HOST_W3C_LINE_MAX, text fields that do not fit together are
 * cut, the longest first (each keeps at least one byte, an empty one is "-"). */
size_t host_w3c_format(const host_w3c_record_t *r, const char *stamp, char *line, size_t cap);
/* Appends the record's line to the access log (nothing when none is open). */
void host_w3c_write(const host_w3c_record_t *r);
/* Records handed to host_w3c_write in this process, a log file open or not: the requests
 * it finished (recycle_after_requests). Any thread. */
uint64_t host_w3c_count(void);
void host_w3c_close(void);

#endif
