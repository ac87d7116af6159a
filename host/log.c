/*
 * log.c - error log and W3C extended access log (see log.h).
 *
 * Each log is a FILE* behind its own mutex or a file opened for appending; a line is
 * formatted into a stack buffer first and written with one append, so lines from different
 * threads never interleave and a test or an administrator reading the file sees every line
 * at once. Every line is built with the bounded writer of host/fmt.h: no length a client or
 * a filter controls can make a formatter write past its buffer.
 *
 * W3C fields follow IIS: "-" for an empty field, and spaces inside a field written as "+"
 * (IIS does that for cs(User-Agent)) so every line splits on spaces. A line longer than
 * HOST_W3C_LINE_MAX is cut text field by text field (the longest ones first), never in
 * its numbers: it always has every field, ends with all its numeric fields and a newline.
 *
 * Rollover and reopening (docs/configuration.md, "Logs"). The access log may start a new
 * IIS-named file each hour, day, week or month, or once it holds log_truncate_size bytes;
 * SIGUSR1 (plat_reopen_generation) asks both logs to reopen their paths, for logrotate.
 * Neither takes a lock on the hot path: a writer compares the time with the next period's
 * start (one atomic load) and the count of reopen requests with the one its file was
 * opened at; the first writer that sees a change takes the log's lock, opens the new file,
 * writes its directives there, and swaps it in place behind the same descriptor
 * (plat_file_reopen_append), so a line another thread is appending at that moment lands
 * whole in the old file or the new one.
 *
 * The error log folds repeats (docs/robustness.md): a message with the same level and the
 * same text (the filter's name included) as one of the last 16 different messages, written
 * less than the repeat window ago, is counted, not written. A count is written in one line
 * ("last message repeated N times: TEXT") before the next message that is written, when
 * its window ends (seen when any message arrives), and at close.
 */
#include "log.h"
#include "config.h"
#include "fmt.h"
#include "os.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct {
    FILE *f;                /* standard output or error, written under the lock */
    plat_file_t file;       /* a log file: lines appended without a lock */
    int owned;
    plat_mutex_t lock;      /* stdout/stderr writes; the file's switches and reopens */
    int ready;
    char path[HOST_PATH_MAX];        /* the file now written (reopened at that path) */
    _Atomic unsigned reopened_at;    /* plat_reopen_generation() when it was last opened */
} host_logfile_t;

static host_logfile_t error_log, access_log;
static int error_max_level = HOST_LOG_INFO;

static int w3c_start_file(const char *path, int first);

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
    if (strlen(path) >= sizeof l->path) {
        snprintf(err, errlen, "%.300s...: the path is too long", path);
        return -1;
    }
    int rc = plat_file_open_append(path, &l->file);
    if (rc != 0) {
        char why[256];
        snprintf(err, errlen, "%s: cannot open for appending: %s", path,
                 plat_strerror(rc, why, sizeof why));
        return -1;
    }
    strcpy(l->path, path);
    atomic_store(&l->reopened_at, plat_reopen_generation());
    l->f = NULL;
    l->owned = 1;
    return 0;
}

/* After SIGUSR1: the file at l->path again (logrotate moved the old one away). Called by
 * the writer that noticed the request, never in the signal handler. A failure keeps the
 * old file. */
static void logfile_reopen_if_asked(host_logfile_t *l)
{
    unsigned gen = plat_reopen_generation();
    if (atomic_load_explicit(&l->reopened_at, memory_order_relaxed) == gen)
        return;
    plat_mutex_lock(&l->lock);
    if (atomic_load(&l->reopened_at) != gen) {
        atomic_store(&l->reopened_at, gen);
        if (l == &access_log)
            w3c_start_file(l->path, 0);
        else
            plat_file_reopen_append(&l->file, l->path, NULL, 0);
    }
    plat_mutex_unlock(&l->lock);
}

static void logfile_close(host_logfile_t *l)
{
    if (l->owned)
        plat_file_close(l->file);
    l->owned = 0;
    l->f = NULL;
}

/* Why no lock here for files: each line is one plat_file_append, which keeps it whole
 * (O_APPEND on POSIX; on Windows the platform layer serialises appends, as Wine does not);
 * a lock around fwrite+fflush was the busiest lock of the server. */
static void logfile_write(host_logfile_t *l, const char *line, size_t n)
{
    if (!l->ready)
        return;
    if (l->owned) {
        logfile_reopen_if_asked(l);
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

/* ---- repeated error-log messages ------------------------------------------------------ */

/* A message seen recently: its level and text, when its window started and how many
 * times it came again since (not written). */
typedef struct {
    int used;
    int level;
    size_t len;
    uint64_t window_start_ms;
    uint64_t repeats;
    char text[HOST_LOG_LINE_MAX];
} log_repeat_t;

enum { LOG_REPEAT_SLOTS = 16 };
static log_repeat_t repeat_slots[LOG_REPEAT_SLOTS];
static uint32_t repeat_window_ms = HOST_LOG_REPEAT_WINDOW_MS;
static plat_mutex_t repeat_lock;
static int repeat_lock_ready;
static const char *const level_names[] = { "error", "warning", "info", "debug" };

static const char *level_name(int level)
{
    return level_names[level < 0 ? 0 : level > 3 ? 3 : level];
}

static void error_log_ready(void)
{
    if (!error_log.ready) {
        plat_mutex_init(&error_log.lock);
        error_log.f = stderr;
        error_log.ready = 1;
    }
}

/* "YYYY-MM-DD HH:MM:SS isapihost <level>: " */
static void put_error_prefix(host_out_t *o, int level)
{
    plat_tm_t tm;
    plat_time_utc_now(&tm);
    host_out_padded(o, (unsigned)tm.year, 4);
    host_out_char(o, '-');
    host_out_padded(o, (unsigned)tm.month, 2);
    host_out_char(o, '-');
    host_out_padded(o, (unsigned)tm.day, 2);
    host_out_char(o, ' ');
    host_out_padded(o, (unsigned)tm.hour, 2);
    host_out_char(o, ':');
    host_out_padded(o, (unsigned)tm.min, 2);
    host_out_char(o, ':');
    host_out_padded(o, (unsigned)tm.sec, 2);
    host_out_str(o, " isapihost ");
    host_out_str(o, level_name(level));
    host_out_str(o, ": ");
}

/* Writes one error-log line: the prefix, then text (already one line). */
static void write_error_line(int level, const char *text, size_t len)
{
    char line[HOST_LOG_LINE_MAX + 64];
    host_out_t o = host_out_make(line, sizeof line - 1);   /* the last byte: the newline */
    put_error_prefix(&o, level);
    host_out_bytes(&o, text, len);
    *o.p++ = '\n';
    logfile_write(&error_log, line, host_out_len(&o, line));
}

/* Writes the count of a slot's repeats, if any, and starts its window again. */
static void flush_repeats(log_repeat_t *r, uint64_t now_ms)
{
    if (r->repeats > 0) {
        char text[HOST_LOG_LINE_MAX + 64];
        host_out_t o = host_out_make(text, sizeof text);
        host_out_str(&o, "last message repeated ");
        host_out_u64(&o, r->repeats);
        host_out_str(&o, r->repeats == 1 ? " time: " : " times: ");
        host_out_bytes(&o, r->text, r->len);
        write_error_line(r->level, text, host_out_len(&o, text));
    }
    r->repeats = 0;
    r->window_start_ms = now_ms;
}

/* True when the message was counted as a repeat (and must not be written). Writes the
 * counts of windows that ended. Called under repeat_lock. */
static bool count_repeat(int level, const char *text, size_t len, uint64_t now_ms)
{
    log_repeat_t *same = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < LOG_REPEAT_SLOTS; i++) {
        log_repeat_t *r = &repeat_slots[i];
        if (r->used && now_ms - r->window_start_ms >= repeat_window_ms) {
            /* the window ended: its count goes out; a quiet slot is freed, a busy one
             * counts the next window */
            int busy = r->repeats > 0;
            flush_repeats(r, now_ms);
            if (!busy)
                r->used = 0;
        }
        if (!r->used) {
            if (!free_slot)
                free_slot = r;
            continue;
        }
        if (r->level == level && r->len == len && memcmp(r->text, text, len) == 0)
            same = r;
        else if (!oldest || r->window_start_ms < oldest->window_start_ms)
            oldest = r;
    }
    if (same) {
        same->repeats++;
        return true;
    }
    /* A different message is written: the counts so far go out before it, so the file
     * reads in order (as syslog's "last message repeated"); their windows start again. */
    for (size_t i = 0; i < LOG_REPEAT_SLOTS; i++)
        if (repeat_slots[i].used && repeat_slots[i].repeats > 0)
            flush_repeats(&repeat_slots[i], now_ms);
    log_repeat_t *slot = free_slot;
    if (!slot) {
        /* every slot busy: the oldest window ends early, its count written first */
        slot = oldest;
        flush_repeats(slot, now_ms);
    }
    slot->used = 1;
    slot->level = level;
    slot->len = len < sizeof slot->text ? len : sizeof slot->text;
    memcpy(slot->text, text, slot->len);
    slot->repeats = 0;
    slot->window_start_ms = now_ms;
    return false;
}

static void repeat_lock_init(void)
{
    /* the first message and the opening come from main() before any thread starts */
    if (!repeat_lock_ready) {
        plat_mutex_init(&repeat_lock);
        repeat_lock_ready = 1;
    }
}

int host_log_open(const char *path, int max_level, char *err, size_t errlen)
{
    error_max_level = max_level;
    repeat_lock_init();
    return logfile_open(&error_log, path, stderr, err, errlen);
}

void host_log_set_repeat_window(uint32_t ms)
{
    repeat_lock_init();
    plat_mutex_lock(&repeat_lock);
    repeat_window_ms = ms;
    plat_mutex_unlock(&repeat_lock);
}

void host_log_flush_repeats(void)
{
    if (!repeat_lock_ready)
        return;
    plat_mutex_lock(&repeat_lock);
    uint64_t now = plat_time_mono_ms();
    for (size_t i = 0; i < LOG_REPEAT_SLOTS; i++) {
        if (repeat_slots[i].used)
            flush_repeats(&repeat_slots[i], now);
        repeat_slots[i].used = 0;
    }
    plat_mutex_unlock(&repeat_lock);
}

void host_log_close(void)
{
    host_log_flush_repeats();
    logfile_close(&error_log);
}

/* Formats "[filter NAME: ]message" as one line (control bytes inside it become spaces, so
 * a filter's text cannot forge a line of its own), then writes it unless it repeats. */
static void log_line(int level, const char *filter, const char *fmt, va_list ap)
{
    if (level > error_max_level)
        return;
    error_log_ready();
    char text[HOST_LOG_LINE_MAX];
    host_out_t o = host_out_make(text, sizeof text);
    if (filter) {
        host_out_str(&o, "filter ");
        host_out_str(&o, filter);
        host_out_str(&o, ": ");
    }
    host_out_vprintf(&o, fmt, ap);
    size_t len = host_out_len(&o, text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < ' ' && text[i] != '\t')
            text[i] = ' ';

    repeat_lock_init();
    plat_mutex_lock(&repeat_lock);
    if (repeat_window_ms == 0 || !count_repeat(level, text, len, plat_time_mono_ms()))
        write_error_line(level, text, len);
    plat_mutex_unlock(&repeat_lock);
}

void host_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, NULL, fmt, ap);
    va_end(ap);
}

static void log_filter(int level, const char *filter, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, filter, fmt, ap);
    va_end(ap);
}

void host_log_from_engine(void *ctx, int level, const char *filter, const char *msg)
{
    (void)ctx;
    log_filter(level, filter, "%s", msg ? msg : "");
}

/* ---- the W3C access log ------------------------------------------------------------- */

/* The access log's rollover state. period, local_time, truncate_size and dir are set at
 * open, before any thread; the rest changes under access_log.lock. */
static struct {
    host_log_period_t period;
    int local_time;
    uint64_t truncate_size;
    char dir[HOST_PATH_MAX];
    char software[128];
    _Atomic int64_t next_switch_ms;   /* the next period's start; INT64_MAX: none */
    _Atomic uint64_t size;            /* bytes in the current file (size periods) */
    _Atomic uint64_t directives_len;  /* the directives' share of it */
    unsigned seq;                     /* u_extendN */
} w3c;

static int64_t (*w3c_clock)(void) = plat_time_unix_ms;

void host_w3c_set_clock(int64_t (*now_ms)(void))
{
    w3c_clock = now_ms ? now_ms : plat_time_unix_ms;
}

/* "YYYY-MM-DD HH:MM:SS" */
static void put_datetime(host_out_t *o, const plat_tm_t *tm)
{
    host_out_padded(o, (unsigned)tm->year, 4);
    host_out_char(o, '-');
    host_out_padded(o, (unsigned)tm->month, 2);
    host_out_char(o, '-');
    host_out_padded(o, (unsigned)tm->day, 2);
    host_out_char(o, ' ');
    host_out_padded(o, (unsigned)tm->hour, 2);
    host_out_char(o, ':');
    host_out_padded(o, (unsigned)tm->min, 2);
    host_out_char(o, ':');
    host_out_padded(o, (unsigned)tm->sec, 2);
}

/* The directives that start every access-log file (and, as IIS does, appear again where
 * the server reopened an existing one). Returns their length in head[0, cap). */
static size_t w3c_directives(char *head, size_t cap)
{
    host_out_t o = host_out_make(head, cap);
    plat_tm_t tm;
    plat_time_utc_from_ms(w3c_clock(), &tm);
    host_out_str(&o, "#Software: ");
    host_out_str(&o, w3c.software);
    host_out_str(&o, "\n#Version: 1.0\n#Date: ");
    put_datetime(&o, &tm);
    host_out_str(&o, "\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port "
                     "cs-username c-ip cs(User-Agent) sc-status sc-win32-status sc-bytes "
                     "cs-bytes time-taken\n");
    return host_out_len(&o, head);
}

/* Opens path in place of the access log's file (at start, at a switch, after SIGUSR1) with
 * the directives already at its end, so no other thread's line can come before them.
 * first: the file was just opened by logfile_open (nothing to swap). Under access_log.lock
 * or before any thread. Returns 0 or an error. */
static int w3c_start_file(const char *path, int first)
{
    char head[512];
    size_t n = w3c_directives(head, sizeof head);
    if (!access_log.owned) {
        if (access_log.f) {
            fwrite(head, 1, n, access_log.f);
            fflush(access_log.f);
        }
        return 0;
    }
    int rc = first ? plat_file_append(access_log.file, head, n)
                   : plat_file_reopen_append(&access_log.file, path, head, n);
    if (rc != 0)
        return rc;
    atomic_store(&w3c.directives_len, n);
    atomic_store(&w3c.size, n);
    return 0;
}

/* The calendar fields a period is named after: UTC, or local time with localTimeRollover.
 * Why localtime() and mktime() under access_log.lock: they are the C library's, on every
 * OS, and only the switch (one thread at a time) calls them. */
static void period_fields(int local_time, int64_t unix_ms, plat_tm_t *out)
{
    if (!local_time) {
        plat_time_utc_from_ms(unix_ms, out);
        return;
    }
    time_t t = (time_t)(unix_ms / 1000);
    struct tm *lt = localtime(&t);
    if (!lt) {
        plat_time_utc_from_ms(unix_ms, out);
        return;
    }
    out->year = lt->tm_year + 1900;
    out->month = lt->tm_mon + 1;
    out->day = lt->tm_mday;
    out->hour = lt->tm_hour;
    out->min = lt->tm_min;
    out->sec = lt->tm_sec;
    out->msec = 0;
    out->wday = lt->tm_wday;
}

/* The start of the period after the one holding unix_ms, in Unix milliseconds. Weeks
 * start on Sunday, as IIS's weekly files do. */
static int64_t period_next_ms(host_log_period_t period, int local_time, int64_t unix_ms)
{
    if (period == HOST_LOG_PERIOD_NONE || period == HOST_LOG_PERIOD_SIZE)
        return INT64_MAX;
    plat_tm_t tm;
    period_fields(local_time, unix_ms, &tm);
    if (local_time) {
        struct tm n;
        memset(&n, 0, sizeof n);
        n.tm_year = tm.year - 1900;
        n.tm_mon = tm.month - 1;
        n.tm_mday = tm.day;
        n.tm_hour = tm.hour;
        n.tm_isdst = -1;   /* across a daylight-saving change: mktime decides */
        switch (period) {
        case HOST_LOG_PERIOD_HOURLY: n.tm_hour++; break;
        case HOST_LOG_PERIOD_DAILY: n.tm_hour = 0; n.tm_mday++; break;
        case HOST_LOG_PERIOD_WEEKLY: n.tm_hour = 0; n.tm_mday += 7 - tm.wday; break;
        default: n.tm_hour = 0; n.tm_mday = 1; n.tm_mon++; break;
        }
        time_t t = mktime(&n);
        int64_t next = (int64_t)t * 1000;
        /* an hour repeated when the clocks go back: never a start in the past */
        return t == (time_t)-1 || next <= unix_ms ? (unix_ms / 3600000 + 1) * 3600000 : next;
    }
    const int64_t hour = 3600000, day = 24 * hour;
    int64_t days = unix_ms >= 0 ? unix_ms / day : (unix_ms - day + 1) / day;
    switch (period) {
    case HOST_LOG_PERIOD_HOURLY:
        return (unix_ms >= 0 ? unix_ms / hour : (unix_ms - hour + 1) / hour) * hour + hour;
    case HOST_LOG_PERIOD_DAILY: return (days + 1) * day;
    case HOST_LOG_PERIOD_WEEKLY: return (days + 7 - tm.wday) * day;
    default: {
        plat_tm_t first = { .year = tm.month == 12 ? tm.year + 1 : tm.year,
                            .month = tm.month == 12 ? 1 : tm.month + 1, .day = 1 };
        int64_t sec;
        return plat_time_utc_to_unix(&first, &sec) == 0 ? sec * 1000 : INT64_MAX;
    }
    }
}

size_t host_w3c_file_name(host_log_period_t period, int local_time, int64_t unix_ms,
                          unsigned seq, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    host_out_t o = host_out_make(out, cap - 1);
    plat_tm_t tm;
    period_fields(local_time, unix_ms, &tm);
    /* Why "u_": IIS 7 and later write UTF-8 logs and mark them so in the name
     * (learn.microsoft.com, "Log Files <logFile>"); the rest is HTTP_LOGGING_ROLLOVER_TYPE's
     * table (exyymmddhh, exyymmdd, exyymmww, exyymm, extendnn). */
    host_out_str(&o, "u_ex");
    if (period == HOST_LOG_PERIOD_SIZE) {
        host_out_str(&o, "tend");
        host_out_u64(&o, seq);
    } else if (period != HOST_LOG_PERIOD_NONE) {
        host_out_padded(&o, (unsigned)(tm.year % 100), 2);
        host_out_padded(&o, (unsigned)tm.month, 2);
        if (period == HOST_LOG_PERIOD_WEEKLY) {
            /* the week of the month, from 01; a week starts on Sunday */
            unsigned first_wday = (unsigned)((tm.wday - (tm.day - 1) % 7 + 7) % 7);
            host_out_padded(&o, (unsigned)(tm.day - 1 + (int)first_wday) / 7 + 1, 2);
        } else if (period != HOST_LOG_PERIOD_MONTHLY) {
            host_out_padded(&o, (unsigned)tm.day, 2);
            if (period == HOST_LOG_PERIOD_HOURLY)
                host_out_padded(&o, (unsigned)tm.hour, 2);
        }
    }
    host_out_str(&o, ".log");
    size_t n = host_out_len(&o, out);
    out[n] = '\0';
    return n;
}

static int w3c_path(int64_t now_ms, char *out, size_t cap)
{
    char name[64];
    host_w3c_file_name(w3c.period, w3c.local_time, now_ms, w3c.seq, name, sizeof name);
    int n = snprintf(out, cap, "%s%c%s", w3c.dir, PLAT_PATH_SEP, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Starts the file for now_ms (a new period, or the next size-rolled file). Under
 * access_log.lock. A file that cannot be opened is reported once per attempt and the
 * records keep going to the current one. */
static void w3c_switch(int64_t now_ms)
{
    char path[HOST_PATH_MAX];
    if (w3c_path(now_ms, path, sizeof path) != 0)
        return;
    int rc = w3c_start_file(path, 0);
    if (rc != 0) {
        char why[256];
        host_log(HOST_LOG_ERROR, "access log: %s: cannot open for appending: %s; records go "
                 "on to %s", path, plat_strerror(rc, why, sizeof why), access_log.path);
        return;
    }
    strcpy(access_log.path, path);
}

int host_w3c_open_rolling(const host_w3c_options_t *o, char *err, size_t errlen)
{
    memset(&w3c, 0, sizeof w3c);
    snprintf(w3c.software, sizeof w3c.software, "%s", o->software ? o->software : "");
    w3c.period = o->period;
    w3c.local_time = o->local_time;
    w3c.truncate_size = o->truncate_size;
    atomic_store(&w3c.next_switch_ms, INT64_MAX);
    const char *dir = o->dir ? o->dir : "";
    if (dir[0] == '\0') {
        if (!o->file || o->file[0] == '\0')
            return 0;
        w3c.period = HOST_LOG_PERIOD_NONE;
        if (logfile_open(&access_log, o->file, stdout, err, errlen) != 0)
            return -1;
        w3c_start_file(o->file, 1);
        return 0;
    }
    if (strlen(dir) >= sizeof w3c.dir) {
        snprintf(err, errlen, "%.300s...: the path is too long", dir);
        return -1;
    }
    strcpy(w3c.dir, dir);
    int64_t now = w3c_clock();
    char path[HOST_PATH_MAX];
    if (w3c.period == HOST_LOG_PERIOD_SIZE) {
        /* Go on with the last file written before (it rolls over at once when full). */
        w3c.seq = 1;
        for (;;) {
            w3c.seq++;
            plat_file_info_t info;
            if (w3c_path(now, path, sizeof path) != 0 || plat_file_stat(path, &info) != 0
                || !info.exists || w3c.seq > 1000000) {
                w3c.seq--;
                break;
            }
        }
    }
    if (w3c_path(now, path, sizeof path) != 0) {
        snprintf(err, errlen, "%.300s...: the path is too long", dir);
        return -1;
    }
    plat_file_info_t info;
    uint64_t existing = plat_file_stat(path, &info) == 0 && info.exists ? info.size : 0;
    if (logfile_open(&access_log, path, stdout, err, errlen) != 0)
        return -1;
    w3c_start_file(path, 1);
    atomic_fetch_add(&w3c.size, existing);
    atomic_store(&w3c.next_switch_ms, period_next_ms(w3c.period, w3c.local_time, now));
    return 0;
}

int host_w3c_open(const char *path, const char *software, char *err, size_t errlen)
{
    host_w3c_options_t o = { .dir = "", .file = path, .software = software };
    return host_w3c_open_rolling(&o, err, errlen);
}

void host_w3c_close(void)
{
    logfile_close(&access_log);
    atomic_store(&w3c.next_switch_ms, INT64_MAX);
}

/* The text fields of a line, in their order, and the room their contents share. */
enum { W3C_TEXT_FIELDS = 7, W3C_STAMP_LEN = 20 };
/* s-port, sc-status, sc-win32-status and time-taken (at most 10 digits each), sc-bytes and
 * cs-bytes (at most 20), each followed by its separator or the newline. */
#define W3C_NUMBERS_MAX (4 * (10 + 1) + 2 * (HOST_FMT_U64_MAX + 1))

/* The longest a text field may be so that all of them fit in budget: unbounded
 * (SIZE_MAX) when they fit as they are; else the largest cap for which the fields, each
 * cut to it, fit. Short fields stay whole and the long ones share the rest evenly. len[i]
 * is at least 1 (an empty field is written "-"), so the cap is at least 1 when budget >= n. */
static size_t w3c_field_cap(const size_t *len, size_t n, size_t budget)
{
    size_t sorted[W3C_TEXT_FIELDS], total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t v = len[i], j = i;
        total += v;
        while (j > 0 && sorted[j - 1] > v) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = v;
    }
    if (total <= budget)
        return SIZE_MAX;
    size_t left = budget;
    for (size_t i = 0; i < n; i++) {
        size_t share = left / (n - i);
        if (sorted[i] > share)
            return share;
        left -= sorted[i];
    }
    return SIZE_MAX;
}

/* Appends one field and its separator: "-" when empty, spaces and control bytes as "+",
 * at most cap bytes of it (cut before a UTF-8 continuation byte when it can be). */
static void w3c_put_field(host_out_t *o, const char *s, size_t len, size_t cap)
{
    if (len == 0) {
        host_out_str(o, "- ");
        return;
    }
    if (len > cap) {
        size_t cut = cap;
        while (cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        len = cut;
    }
    size_t room = host_out_room(o);
    if (len > room) {
        len = room;
        o->truncated = 1;
    }
    /* copied and made safe in one pass */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        o->p[i] = ch <= ' ' || ch == 0x7f ? '+' : (char)ch;
    }
    o->p += len;
    host_out_char(o, ' ');
}

size_t host_w3c_format(const host_w3c_record_t *r, const char *stamp, char *line, size_t cap)
{
    if (cap == 0)
        return 0;
    host_out_t o = host_out_make(line, cap - 1);   /* the last byte: the newline */
    const char *text[W3C_TEXT_FIELDS] = { r->server_ip, r->method,   r->uri_stem,  r->uri_query,
                                          r->username,  r->client_ip, r->user_agent };
    size_t len[W3C_TEXT_FIELDS], shown[W3C_TEXT_FIELDS], total = 0;
    for (size_t i = 0; i < W3C_TEXT_FIELDS; i++) {
        len[i] = text[i] ? strlen(text[i]) : 0;
        shown[i] = len[i] ? len[i] : 1;
        total += shown[i];
    }
    size_t budget = cap - 1 > W3C_STAMP_LEN + W3C_NUMBERS_MAX + W3C_TEXT_FIELDS
                        ? cap - 1 - (W3C_STAMP_LEN + W3C_NUMBERS_MAX + W3C_TEXT_FIELDS)
                        : W3C_TEXT_FIELDS;
    /* the common case, everything fits: no cap to work out */
    size_t field_cap = total <= budget ? SIZE_MAX : w3c_field_cap(shown, W3C_TEXT_FIELDS, budget);

    host_out_bytes(&o, stamp, W3C_STAMP_LEN);
    for (size_t i = 0; i < 4; i++)
        w3c_put_field(&o, text[i], len[i], field_cap);
    host_out_u64(&o, r->server_port);
    host_out_char(&o, ' ');
    for (size_t i = 4; i < W3C_TEXT_FIELDS; i++)
        w3c_put_field(&o, text[i], len[i], field_cap);
    host_out_u64(&o, r->status);
    host_out_char(&o, ' ');
    host_out_u64(&o, r->win32_status);
    host_out_char(&o, ' ');
    host_out_u64(&o, r->bytes_sent);
    host_out_char(&o, ' ');
    host_out_u64(&o, r->bytes_received);
    host_out_char(&o, ' ');
    host_out_u64(&o, r->time_taken_ms);
    *o.p++ = '\n';
    return host_out_len(&o, line);
}

static _Atomic uint64_t w3c_records;

uint64_t host_w3c_count(void)
{
    return atomic_load_explicit(&w3c_records, memory_order_relaxed);
}

void host_w3c_write(const host_w3c_record_t *r)
{
    atomic_fetch_add_explicit(&w3c_records, 1, memory_order_relaxed);
    if (!access_log.ready || (!access_log.f && !access_log.owned))
        return;
    int64_t now_ms = w3c_clock();
    if (now_ms >= atomic_load_explicit(&w3c.next_switch_ms, memory_order_acquire)) {
        plat_mutex_lock(&access_log.lock);
        if (now_ms >= atomic_load(&w3c.next_switch_ms)) {
            w3c_switch(now_ms);
            atomic_store(&w3c.next_switch_ms, period_next_ms(w3c.period, w3c.local_time, now_ms));
        }
        plat_mutex_unlock(&access_log.lock);
    }
    /* "YYYY-MM-DD HH:MM:SS ", formatted once per second per thread. */
    static _Thread_local int64_t stamp_sec = INT64_MIN;
    static _Thread_local char stamp[W3C_STAMP_LEN + 1];
    int64_t sec = now_ms / 1000;
    if (sec != stamp_sec) {
        plat_tm_t tm;
        plat_time_utc_from_ms(sec * 1000, &tm);
        host_out_t o = host_out_make(stamp, sizeof stamp);
        put_datetime(&o, &tm);
        host_out_char(&o, ' ');
        stamp_sec = sec;
    }
    char line[HOST_W3C_LINE_MAX];
    size_t n = host_w3c_format(r, stamp, line, sizeof line);
    if (w3c.period == HOST_LOG_PERIOD_SIZE && access_log.owned) {
        /* The line that would pass the size starts the next file; a file holding only its
         * directives takes any line, however small the size. */
        uint64_t held = atomic_load(&w3c.size);
        if (held + n > w3c.truncate_size && held > w3c.directives_len) {
            plat_mutex_lock(&access_log.lock);
            held = atomic_load(&w3c.size);
            if (held + n > w3c.truncate_size && held > w3c.directives_len) {
                w3c.seq++;
                w3c_switch(now_ms);
            }
            plat_mutex_unlock(&access_log.lock);
        }
        atomic_fetch_add(&w3c.size, n);
    }
    logfile_write(&access_log, line, n);
}
