/*
 * log.c - error log and W3C extended access log (see log.h).
 *
 * Each log is a FILE* behind its own mutex; a line is formatted into a stack buffer first
 * and written with one fwrite, then flushed, so lines from different threads never
 * interleave and a test or an administrator reading the file sees every line at once.
 * W3C fields follow IIS: "-" for an empty field, and spaces inside a field written as "+"
 * (IIS does that for cs(User-Agent)) so every line splits on spaces.
 */
#include "log.h"
#include "fmt.h"
#include "os.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    FILE *f;                /* standard output or error, written under the lock */
    plat_file_t file;       /* a log file: lines appended without a lock */
    int owned;
    plat_mutex_t lock;
    int ready;
} host_logfile_t;

static host_logfile_t error_log, access_log;
static int error_max_level = HOST_LOG_INFO;

static int logfile_open(host_logfile_t *l, const char *path, FILE *dflt, char *err, size_t errlen)
{
    if (!l->ready) {
        plat_mutex_init(&l->lock);
        l->ready = 1;
    }
    if (path[0] == '\0' || strcmp(path, "-") == 0) {
        l->f = dflt;
        l->owned = 0;
        return 0;
    }
    int rc = plat_file_open_append(path, &l->file);
    if (rc != 0) {
        char why[256];
        snprintf(err, errlen, "%s: cannot open for appending: %s", path,
                 plat_strerror(rc, why, sizeof why));
        return -1;
    }
    l->f = NULL;
    l->owned = 1;
    return 0;
}

static void logfile_close(host_logfile_t *l)
{
    if (l->owned)
        plat_file_close(l->file);
    l->owned = 0;
    l->f = NULL;
}

/* Why no lock for files: each line is one append (O_APPEND), which the OS keeps whole;
 * a lock around fwrite+fflush was the busiest lock of the server. */
static void logfile_write(host_logfile_t *l, const char *line, size_t n)
{
    if (!l->ready)
        return;
    if (l->owned) {
        plat_file_append(l->file, line, n);
        return;
    }
    if (!l->f)
        return;
    plat_mutex_lock(&l->lock);
    fwrite(line, 1, n, l->f);
    fflush(l->f);
    plat_mutex_unlock(&l->lock);
}

int host_log_open(const char *path, int max_level, char *err, size_t errlen)
{
    error_max_level = max_level;
    return logfile_open(&error_log, path, stderr, err, errlen);
}

void host_log_close(void)
{
    logfile_close(&error_log);
}

static void log_line(int level, const char *prefix, const char *fmt, va_list ap)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if (level > error_max_level)
        return;
    if (!error_log.ready) {
        plat_mutex_init(&error_log.lock);
        error_log.f = stderr;
        error_log.ready = 1;
    }
    char line[2048];
    plat_tm_t tm;
    plat_time_utc_now(&tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d isapihost %s: %s",
                     tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec,
                     names[level < 0 ? 0 : level > 3 ? 3 : level], prefix);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
    if (m > 0)
        len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    line[len++] = '\n';
    logfile_write(&error_log, line, len);
}

void host_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, "", fmt, ap);
    va_end(ap);
}

static void log_prefixed(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, prefix, fmt, ap);
    va_end(ap);
}

void host_log_from_engine(void *ctx, int level, const char *filter, const char *msg)
{
    (void)ctx;
    if (filter) {
        char prefix[600];
        snprintf(prefix, sizeof prefix, "filter %s: ", filter);
        log_prefixed(level, prefix, "%s", msg);
    } else {
        log_prefixed(level, "", "%s", msg);
    }
}

int host_w3c_open(const char *path, const char *software, char *err, size_t errlen)
{
    if (path[0] == '\0')
        return 0;
    if (logfile_open(&access_log, path, stdout, err, errlen) != 0)
        return -1;
    char head[512];
    plat_tm_t tm;
    plat_time_utc_now(&tm);
    int n = snprintf(head, sizeof head,
                     "#Software: %s\n#Version: 1.0\n#Date: %04d-%02d-%02d %02d:%02d:%02d\n"
                     "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port "
                     "cs-username c-ip cs(User-Agent) sc-status sc-win32-status sc-bytes "
                     "cs-bytes time-taken\n",
                     software, tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec);
    if (n > 0)
        logfile_write(&access_log, head, (size_t)n < sizeof head ? (size_t)n : sizeof head - 1);
    return 0;
}

void host_w3c_close(void)
{
    logfile_close(&access_log);
}

/* Appends one field: "-" when empty, spaces and control bytes as "+". */
static size_t put_field(char *out, size_t room, const char *s)
{
    if (room < 2)
        return 0;
    size_t n = s ? strlen(s) : 0;
    if (n == 0) {
        out[0] = '-';
        n = 1;
    } else {
        if (n > room - 1)
            n = room - 1;
        memcpy(out, s, n);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] <= ' ' || out[i] == 0x7f)
                out[i] = '+';
    }
    out[n++] = ' ';
    return n;
}

void host_w3c_write(const host_w3c_record_t *r)
{
    if (!access_log.ready || (!access_log.f && !access_log.owned))
        return;
    /* The numbers take at most 2 x 20 + 3 x 10 digits and 6 separators: the text fields
     * are cut short first. */
    enum { NUMBERS = 96 };
    char line[4096];
    const size_t text_end = sizeof line - NUMBERS;
    /* "YYYY-MM-DD HH:MM:SS ", formatted once per second per thread. */
    static _Thread_local int64_t stamp_sec = -1;
    static _Thread_local char stamp[20];
    int64_t sec = plat_time_unix_ms() / 1000;
    if (sec != stamp_sec) {
        plat_tm_t tm;
        plat_time_utc_from_ms(sec * 1000, &tm);
        char *q = stamp;
        q += host_fmt_padded(q, (unsigned)tm.year, 4);
        *q++ = '-';
        q += host_fmt_padded(q, (unsigned)tm.month, 2);
        *q++ = '-';
        q += host_fmt_padded(q, (unsigned)tm.day, 2);
        *q++ = ' ';
        q += host_fmt_padded(q, (unsigned)tm.hour, 2);
        *q++ = ':';
        q += host_fmt_padded(q, (unsigned)tm.min, 2);
        *q++ = ':';
        q += host_fmt_padded(q, (unsigned)tm.sec, 2);
        *q = ' ';
        stamp_sec = sec;
    }
    memcpy(line, stamp, sizeof stamp);
    size_t n = sizeof stamp;
    n += put_field(line + n, text_end - n, r->server_ip);
    n += put_field(line + n, text_end - n, r->method);
    n += put_field(line + n, text_end - n, r->uri_stem);
    n += put_field(line + n, text_end - n, r->uri_query);
    n += host_fmt_u64(line + n, r->server_port);
    line[n++] = ' ';
    n += put_field(line + n, text_end - n, r->username);
    n += put_field(line + n, text_end - n, r->client_ip);
    n += put_field(line + n, text_end - n, r->user_agent);
    n += host_fmt_u64(line + n, r->status);
    line[n++] = ' ';
    n += host_fmt_u64(line + n, r->win32_status);
    line[n++] = ' ';
    n += host_fmt_u64(line + n, r->bytes_sent);
    line[n++] = ' ';
    n += host_fmt_u64(line + n, r->bytes_received);
    line[n++] = ' ';
    n += host_fmt_u64(line + n, r->time_taken_ms);
    line[n++] = '\n';
    logfile_write(&access_log, line, n);
}
