/*
 * metrics.c - per-thread request counters, the Prometheus exposition and the admin
 * listener (see metrics.h).
 *
 * Counters: the first HOST_METRICS_THREADS threads that finish a request each get a
 * block of counters of their own (allocated then, aligned to and filling whole cache
 * lines); only its thread writes a block, so an add is a plain load and store (relaxed
 * atomics, so a scrape on another thread reads whole values) with no locked instruction
 * and no line shared with another thread. Threads past that number share one block with
 * atomic adds. A scrape sums the blocks. The filter call statistics live in the engine
 * (isapi_engine_call_stats), which keeps them the same way.
 *
 * Exposition (Prometheus text format 0.0.4): one "# HELP" and one "# TYPE" line per metric
 * family, counters named *_total, the histogram as *_bucket{le="..."} lines (cumulative,
 * ending with le="+Inf", equal to *_count) and *_sum. Label values are escaped (\\, \",
 * \n) as the format requires.
 *
 * The admin thread accepts one connection at a time, reads one request head (bounded,
 * with a deadline), answers it with Connection: close and closes. It runs no filter and
 * takes no worker, so /healthz answers while every worker is blocked in a filter.
 */
#include "metrics.h"
#include "conn.h"
#include "fmt.h"
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_METRICS_THREADS 1024   /* threads with a block of their own */
#define HOST_CACHE_LINE 64
#define HOST_STATUS_SLOTS 1000   /* statuses 0..999; IIS's dwHttpStatus is any DWORD */
#define HOST_ADMIN_HEAD_MAX 4096
#define HOST_ADMIN_TIMEOUT_MS 2000

typedef struct metrics_block {
    /* slot 0: statuses past 999 */
    _Alignas(HOST_CACHE_LINE) _Atomic uint64_t status[HOST_STATUS_SLOTS];
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t bytes_received;
} metrics_block_t;

/* A block with the room to start it on a line of its own (malloc does not align to 64). */
#define HOST_BLOCK_ALLOC (sizeof(metrics_block_t) + HOST_CACHE_LINE)

static int counting;                                   /* 0: counting is off */
static void *shared_block;                             /* threads past the own blocks */
static _Atomic(void *) own_blocks[HOST_METRICS_THREADS];
static atomic_uint next_thread;
static _Thread_local unsigned thread_plus1;            /* 0: not drawn yet */
static uint64_t restarts;

static metrics_block_t *block_of(void *allocation)
{
    uintptr_t at = ((uintptr_t)allocation + HOST_CACHE_LINE - 1)
                   & ~(uintptr_t)(HOST_CACHE_LINE - 1);
    return (metrics_block_t *)at;
}

void host_metrics_enable(void)
{
    if (!shared_block)
        shared_block = calloc(1, HOST_BLOCK_ALLOC);
    counting = shared_block != NULL;
    if (!counting)
        host_log(HOST_LOG_WARN, "metrics: out of memory; requests are not counted");
}

void host_metrics_set_restarts(uint64_t n)
{
    restarts = n;
}

static _Thread_local metrics_block_t *my_block;        /* NULL: not found yet */

/* The calling thread's own block, allocated on its first request; NULL: the shared one. */
static metrics_block_t *own_block(void)
{
    unsigned t = thread_plus1;
    if (t == 0) {
        unsigned drawn = atomic_fetch_add_explicit(&next_thread, 1, memory_order_relaxed);
        t = drawn < HOST_METRICS_THREADS ? drawn + 1 : HOST_METRICS_THREADS + 1;
        thread_plus1 = t;
    }
    if (t > HOST_METRICS_THREADS)
        return NULL;
    void *allocation = calloc(1, HOST_BLOCK_ALLOC);
    if (!allocation)
        return NULL;
    atomic_store_explicit(&own_blocks[t - 1], allocation, memory_order_release);
    my_block = block_of(allocation);
    return my_block;
}

/* Adds v to a counter only the calling thread writes: no locked instruction. */
static void add_own(_Atomic uint64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* host_metrics_request() for a thread whose block is not known yet, or that has none. Not
 * static, so that the compiler keeps it out of host_metrics_request's path. */
void host__metrics_request_first(unsigned slot, uint64_t bytes_sent, uint64_t bytes_received);
void host__metrics_request_first(unsigned slot, uint64_t bytes_sent, uint64_t bytes_received)
{
    metrics_block_t *m = own_block();
    if (m) {
        add_own(&m->status[slot], 1);
        add_own(&m->bytes_sent, bytes_sent);
        add_own(&m->bytes_received, bytes_received);
        return;
    }
    m = block_of(shared_block);
    atomic_fetch_add_explicit(&m->status[slot], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_sent, bytes_sent, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_received, bytes_received, memory_order_relaxed);
}

void host_metrics_request(unsigned status, uint64_t bytes_sent, uint64_t bytes_received)
{
    if (!counting)
        return;
    unsigned slot = status < HOST_STATUS_SLOTS ? status : 0;
    metrics_block_t *m = my_block;
    if (!m) {
        host__metrics_request_first(slot, bytes_sent, bytes_received);
        return;
    }
    add_own(&m->status[slot], 1);
    add_own(&m->bytes_sent, bytes_sent);
    add_own(&m->bytes_received, bytes_received);
}

/* ---- the exposition ---------------------------------------------------------------- */

/* A growing text buffer; after a failed allocation every append is dropped and `failed`
 * stays set. */
typedef struct text {
    char *p;
    size_t len, cap;
    int failed;
} text_t;

static void put_n(text_t *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 8192;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void put(text_t *t, const char *s)
{
    put_n(t, s, strlen(s));
}

static void put_u64(text_t *t, uint64_t v)
{
    char digits[24];
    put_n(t, digits, host_fmt_u64(digits, v));
}

static void put_double(text_t *t, double v)
{
    char num[40];
    int n = snprintf(num, sizeof num, "%.9g", v);
    put_n(t, num, n > 0 && (size_t)n < sizeof num ? (size_t)n : 0);
}

/* A label value, escaped as the text format says: backslash, double quote, line feed. */
static void put_label_value(text_t *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put_n(t, v, 1);
    }
}

static void put_family(text_t *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP ");
    put(t, name);
    put(t, " ");
    put(t, help);
    put(t, "\n# TYPE ");
    put(t, name);
    put(t, " ");
    put(t, type);
    put(t, "\n");
}

static void put_sample(text_t *t, const char *name, uint64_t v)
{
    put(t, name);
    put(t, " ");
    put_u64(t, v);
    put(t, "\n");
}

/* The filter's name for labels: its file's base name without the extension, as the
 * [filters] key usually is. */
static void filter_label(const char *path, char *out, size_t cap)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

static void put_filter_labels(text_t *t, const char *filter, const char *notification)
{
    put(t, "{filter=\"");
    put_label_value(t, filter);
    if (notification) {
        put(t, "\",notification=\"");
        put_label_value(t, notification);
    }
    put(t, "\"");
}

static void render_filters(text_t *t, const isapi_engine *e)
{
    size_t nf = isapi_engine_filter_count(e), nn = isapi_notification_count();
    char name[128];
    put_family(t, "isapihost_filter_calls_total", "counter",
               "HttpFilterProc calls, by filter and notification.");
    for (size_t i = 0; i < nf; i++) {
        filter_label(isapi_engine_filter_path(e, i), name, sizeof name);
        DWORD flags = isapi_engine_filter_flags(e, i);
        for (size_t n = 0; n < nn; n++) {
            isapi_call_stats cs;
            if (!(flags & isapi_notification_bit(n)) || isapi_engine_call_stats(e, i, n, &cs))
                continue;
            put(t, "isapihost_filter_calls_total");
            put_filter_labels(t, name, isapi_notification_name(n));
            put(t, "} ");
            put_u64(t, cs.calls);
            put(t, "\n");
        }
    }
    if (isapi_engine_stats_timed(e))
        put_family(t, "isapihost_filter_call_seconds", "histogram",
                   "Time spent in HttpFilterProc, by filter and notification.");
    for (size_t i = 0; i < nf && isapi_engine_stats_timed(e); i++) {
        filter_label(isapi_engine_filter_path(e, i), name, sizeof name);
        DWORD flags = isapi_engine_filter_flags(e, i);
        for (size_t n = 0; n < nn; n++) {
            isapi_call_stats cs;
            if (!(flags & isapi_notification_bit(n)) || isapi_engine_call_stats(e, i, n, &cs))
                continue;
            const char *what = isapi_notification_name(n);
            for (int b = 0; b <= ISAPI_STATS_BUCKETS; b++) {
                put(t, "isapihost_filter_call_seconds_bucket");
                put_filter_labels(t, name, what);
                put(t, ",le=\"");
                if (b < ISAPI_STATS_BUCKETS)
                    put_double(t, isapi_stats_bucket_us[b] / 1e6);
                else
                    put(t, "+Inf");
                put(t, "\"} ");
                put_u64(t, b < ISAPI_STATS_BUCKETS ? cs.le[b] : cs.calls);
                put(t, "\n");
            }
            put(t, "isapihost_filter_call_seconds_sum");
            put_filter_labels(t, name, what);
            put(t, "} ");
            put_double(t, cs.seconds);
            put(t, "\nisapihost_filter_call_seconds_count");
            put_filter_labels(t, name, what);
            put(t, "} ");
            put_u64(t, cs.calls);
            put(t, "\n");
        }
    }
    put_family(t, "isapihost_filter_crashes_total", "counter",
               "Crashes contained in a filter's calls (the request failed, the server went on).");
    for (size_t i = 0; i < nf; i++) {
        filter_label(isapi_engine_filter_path(e, i), name, sizeof name);
        put(t, "isapihost_filter_crashes_total");
        put_filter_labels(t, name, NULL);
        put(t, "} ");
        put_u64(t, isapi_engine_filter_crashes(e, i));
        put(t, "\n");
    }
}

long host_metrics_render(const struct host_server *s, char **out)
{
    text_t t = { NULL, 0, 0, 0 };
    uint64_t by_status[HOST_STATUS_SLOTS] = {0}, sent = 0, received = 0;
    unsigned drawn = atomic_load_explicit(&next_thread, memory_order_relaxed);
    size_t nown = drawn < HOST_METRICS_THREADS ? drawn : HOST_METRICS_THREADS;
    for (size_t i = 0; counting && i <= nown; i++) {
        void *allocation = i < nown ? atomic_load_explicit(&own_blocks[i], memory_order_acquire)
                                    : shared_block;
        if (!allocation)
            continue;
        const metrics_block_t *m = block_of(allocation);
        for (size_t k = 0; k < HOST_STATUS_SLOTS; k++)
            by_status[k] += atomic_load_explicit(&m->status[k], memory_order_relaxed);
        sent += atomic_load_explicit(&m->bytes_sent, memory_order_relaxed);
        received += atomic_load_explicit(&m->bytes_received, memory_order_relaxed);
    }
    put_family(&t, "isapihost_requests_total", "counter",
               "Requests answered, by HTTP status (code=\"other\": above 999).");
    for (size_t k = 1; k < HOST_STATUS_SLOTS; k++) {
        if (!by_status[k])
            continue;
        put(&t, "isapihost_requests_total{code=\"");
        put_u64(&t, k);
        put(&t, "\"} ");
        put_u64(&t, by_status[k]);
        put(&t, "\n");
    }
    if (by_status[0]) {
        put(&t, "isapihost_requests_total{code=\"other\"} ");
        put_u64(&t, by_status[0]);
        put(&t, "\n");
    }
    put_family(&t, "isapihost_sent_bytes_total", "counter",
               "Bytes sent to clients for finished requests (sc-bytes).");
    put_sample(&t, "isapihost_sent_bytes_total", sent);
    put_family(&t, "isapihost_received_bytes_total", "counter",
               "Bytes received from clients for finished requests (cs-bytes).");
    put_sample(&t, "isapihost_received_bytes_total", received);
    put_family(&t, "isapihost_connections_open", "gauge", "Client connections open.");
    int open = atomic_load(&((struct host_server *)s)->nconns);
    put_sample(&t, "isapihost_connections_open", open > 0 ? (uint64_t)open : 0);
    put_family(&t, "isapihost_draining", "gauge",
               "1 once the server was asked to stop (/healthz answers 503), else 0.");
    put_sample(&t, "isapihost_draining",
               atomic_load(&((struct host_server *)s)->health_down) ? 1 : 0);
    put_family(&t, "isapihost_serving_process_restarts_total", "counter",
               "Serving processes the supervisor started before this one (crashes, recycling).");
    put_sample(&t, "isapihost_serving_process_restarts_total", restarts);
    render_filters(&t, s->engine);
    if (t.failed || !t.p) {
        free(t.p);
        return -1;
    }
    *out = t.p;
    return (long)t.len;
}

/* ---- the admin listener ------------------------------------------------------------- */

static void admin_reply(plat_socket_t c, int head_only, const char *status,
                        const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %lu\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n", status, type, (unsigned long)len);
    if (n <= 0 || (size_t)n >= sizeof head)
        return;
    if (plat_sock_send_all(c, head, (size_t)n, HOST_ADMIN_TIMEOUT_MS) == 0 && !head_only)
        plat_sock_send_all(c, body, len, HOST_ADMIN_TIMEOUT_MS);
}

/* Reads one request head from c and answers it. */
static void admin_serve(struct host_server *s, plat_socket_t c)
{
    char head[HOST_ADMIN_HEAD_MAX + 1];
    size_t len = 0;
    uint64_t deadline = plat_time_mono_ms() + HOST_ADMIN_TIMEOUT_MS;
    for (;;) {
        uint64_t now = plat_time_mono_ms();
        if (now >= deadline || len == HOST_ADMIN_HEAD_MAX)
            return;
        ptrdiff_t n = plat_sock_recv(c, head + len, HOST_ADMIN_HEAD_MAX - len,
                                     (int)(deadline - now));
        if (n <= 0)
            return;
        len += (size_t)n;
        head[len] = '\0';
        if (strstr(head, "\r\n\r\n") || strstr(head, "\n\n"))
            break;
    }
    static const char plain[] = "text/plain; charset=utf-8";
    int head_only = strncmp(head, "HEAD ", 5) == 0;
    const char *target = head_only ? head + 5 : strncmp(head, "GET ", 4) == 0 ? head + 4 : NULL;
    if (!target) {
        static const char msg[] = "only GET and HEAD\n";
        admin_reply(c, 0, "405 Method Not Allowed", plain, msg, sizeof msg - 1);
        return;
    }
    size_t tlen = strcspn(target, " ?\r\n");
    if (tlen == 8 && memcmp(target, "/healthz", 8) == 0) {
        if (atomic_load(&s->health_down) || atomic_load(&s->stopping)) {
            static const char msg[] = "draining\n";
            admin_reply(c, head_only, "503 Service Unavailable", plain, msg, sizeof msg - 1);
        } else {
            static const char msg[] = "ok\n";
            admin_reply(c, head_only, "200 OK", plain, msg, sizeof msg - 1);
        }
        return;
    }
    if (tlen == 8 && memcmp(target, "/metrics", 8) == 0) {
        char *body;
        long n = host_metrics_render(s, &body);
        if (n < 0) {
            static const char msg[] = "out of memory\n";
            admin_reply(c, head_only, "500 Internal Server Error", plain, msg, sizeof msg - 1);
            return;
        }
        admin_reply(c, head_only, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body,
                    (size_t)n);
        free(body);
        return;
    }
    static const char msg[] = "not found: the admin listener serves /metrics and /healthz\n";
    admin_reply(c, head_only, "404 Not Found", plain, msg, sizeof msg - 1);
}

static void admin_main(void *arg)
{
    struct host_server *s = arg;
    while (!atomic_load(&s->admin_stop)) {
        plat_socket_t c;
        plat_endpoint_t peer;
        int rc = plat_accept(s->admin_sock, 250, &c, &peer, NULL);
        if (rc == PLAT_EMFILE || rc == PLAT_ENOMEM)
            plat_sleep_ms(100);
        if (rc != 0)
            continue;
        admin_serve(s, c);
        plat_sock_close(c);
    }
}

int host_admin_start(struct host_server *s, plat_socket_t sock)
{
    s->admin_sock = sock;
    if (plat_thread_create(&s->admin_thread, admin_main, s) != 0) {
        s->admin_thread = NULL;
        return -1;
    }
    return 0;
}

void host_admin_stop(struct host_server *s)
{
    if (!s->admin_thread)
        return;
    atomic_store(&s->admin_stop, 1);
    plat_thread_join(s->admin_thread);
    s->admin_thread = NULL;
}
