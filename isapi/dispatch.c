/*
 * dispatch.c - raising notifications: the per-notification call lists, walking them in IIS
 * order, the one function every filter call goes through (isapi__invoke, with its crash
 * accounting), and each notification's entry point (isapi_notify_*, isapi_send): build the
 * structure the filters see, walk, read back what they changed.
 *
 * The connection and request life cycle around these calls is conn.c; what filters call
 * back is callbacks.c. The two call each other by nature: a filter's WriteClient
 * (callbacks.c) raises SEND_RAW_DATA here, which calls filters again.
 *
 * Ordering rule (docs/isapi-reference.md, "Order between filters"), fixed when filters
 * are loaded: every filter gets a rank,
 * HIGH before MEDIUM before LOW, load order within a priority. For each notification and
 * each port type (secure / non-secure) one array holds the filters registered for it in
 * rank order, except SF_NOTIFY_SEND_RAW_DATA, whose array is reversed: for outgoing bytes
 * "high priority" means "closest to the network", so LOW filters see them first. A
 * notification walks its array in a plain loop; the only per-call test is the calling
 * filter's DISABLE_NOTIFICATIONS mask for the current request.
 *
 * Layered output (docs/isapi-reference.md, "Notifications raised from callbacks"): bytes
 * enter the SEND_RAW_DATA array at an origin,
 * expressed as a rank limit: only filters with rank < limit see them. The host's own
 * output sees everybody; a filter's WriteClient from SEND_RAW_DATA is seen by the filters
 * after it in send order (rank < caller's rank), from any other notification by the caller
 * too (rank <= caller's rank). The limit strictly shrinks on every nested WriteClient, so
 * a filter never receives its own bytes back and the recursion is bounded.
 *
 * Call statistics (for the host's /metrics): when enabled, the walk times each call and
 * counts it per filter and notification in per-thread blocks ("call statistics" below).
 *
 * Every filter call goes through isapi__invoke(), which counts calls in flight (unloading
 * waits for zero), records the current notification and caller for the callbacks (saved
 * and restored around nested calls), and reads the filter's last error after an
 * SF_STATUS_REQ_ERROR before anything else can overwrite it. The call runs under
 * isapi__guard_call() (guard.h): where the platform can contain a crash (Windows), an
 * exception leaving the filter is logged with the filter, the exception and the
 * notification, and the call counts as SF_STATUS_REQ_ERROR with last error
 * ERROR_UNHANDLED_EXCEPTION on a connection that will not be reused.
 *
 * RAW_DATA lengths are not trusted (docs/semantics.md, "RAW_DATA buffers"): after every
 * READ_RAW_DATA or SEND_RAW_DATA filter, cbInData (and cbInBuffer) are clamped to what the
 * buffer pvInData points into can be proven to hold: the engine's own buffer by its real
 * size, an AllocMem block by its recorded size, any other memory by the filter's own
 * cbInBuffer. Why: a filter that set cbInData past its buffer made the engine read other
 * connections' heap memory onto the wire; IIS documents cbInBuffer as the buffer's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "internal.h"

#include <stdatomic.h>

static const DWORD notif_bits[ISAPI__N_COUNT] = {
    SF_NOTIFY_READ_RAW_DATA, SF_NOTIFY_PREPROC_HEADERS, SF_NOTIFY_URL_MAP,
    SF_NOTIFY_AUTHENTICATION, SF_NOTIFY_AUTH_COMPLETE, SF_NOTIFY_ACCESS_DENIED,
    SF_NOTIFY_SEND_RESPONSE, SF_NOTIFY_SEND_RAW_DATA, SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_LOG, SF_NOTIFY_END_OF_NET_SESSION,
};

const char *isapi__notif_name(DWORD bit)
{
    switch (bit) {
    case SF_NOTIFY_READ_RAW_DATA:      return "SF_NOTIFY_READ_RAW_DATA";
    case SF_NOTIFY_PREPROC_HEADERS:    return "SF_NOTIFY_PREPROC_HEADERS";
    case SF_NOTIFY_URL_MAP:            return "SF_NOTIFY_URL_MAP";
    case SF_NOTIFY_AUTHENTICATION:     return "SF_NOTIFY_AUTHENTICATION";
    case SF_NOTIFY_AUTH_COMPLETE:      return "SF_NOTIFY_AUTH_COMPLETE";
    case SF_NOTIFY_ACCESS_DENIED:      return "SF_NOTIFY_ACCESS_DENIED";
    case SF_NOTIFY_SEND_RESPONSE:      return "SF_NOTIFY_SEND_RESPONSE";
    case SF_NOTIFY_SEND_RAW_DATA:      return "SF_NOTIFY_SEND_RAW_DATA";
    case SF_NOTIFY_END_OF_REQUEST:     return "SF_NOTIFY_END_OF_REQUEST";
    case SF_NOTIFY_LOG:                return "SF_NOTIFY_LOG";
    case SF_NOTIFY_END_OF_NET_SESSION: return "SF_NOTIFY_END_OF_NET_SESSION";
    default:                           return "an unknown notification";
    }
}

/* The filter call in progress on this thread, for isapi_describe_current_call() and for
 * a watchdog on another thread (isapi_thread_call_record). Atomic pointers, set and
 * restored around each call: lock-free, so a signal handler can read them too. */
struct isapi_call_record {
    _Atomic(const char *) filter;
    _Atomic(const char *) notification;
};
static _Thread_local isapi_call_record current_call;

isapi_call_record *isapi_thread_call_record(void)
{
    return &current_call;
}

static size_t append_text(char *buf, size_t len, size_t at, const char *text)
{
    while (*text && at + 1 < len)
        buf[at++] = *text++;
    return at;
}

size_t isapi_describe_current_call(char *buf, size_t len)
{
    return isapi_describe_call(&current_call, buf, len);
}

size_t isapi_describe_call(isapi_call_record *rec, char *buf, size_t len)
{
    const char *filter = atomic_load_explicit(&rec->filter, memory_order_relaxed);
    const char *what = atomic_load_explicit(&rec->notification, memory_order_relaxed);
    if (!filter || len == 0)
        return 0;
    size_t n = append_text(buf, len, 0, "filter ");
    n = append_text(buf, len, n, filter);
    n = append_text(buf, len, n, " in ");
    n = append_text(buf, len, n, what ? what : "a call");
    buf[n] = '\0';
    return n;
}

void isapi__current_call_swap(const char *dll, const char *what, const char **saved_dll,
                              const char **saved_what)
{
    *saved_dll = atomic_load_explicit(&current_call.filter, memory_order_relaxed);
    *saved_what = atomic_load_explicit(&current_call.notification, memory_order_relaxed);
    atomic_store_explicit(&current_call.notification, what, memory_order_relaxed);
    atomic_store_explicit(&current_call.filter, dll, memory_order_relaxed);
}

/* ---- call statistics ---------------------------------------------------------------
 *
 * Off until isapi_engine_stats_enable(). Then every HttpFilterProc call is counted, and
 * with timing on, timed with the clock the host gave (host/os.h's plat_ticks: the TSC where
 * it is a clock) into one cell per (filter, notification): a histogram of call times in
 * clock ticks, and their sum. The walk knows the filter's index and the notification's
 * slot, so recording costs no lookup.
 *
 * Clock reads: a walk reads the clock once before its first call and once after each
 * call; that read both ends this call and starts the next filter's, so a notification
 * with n filters costs n + 1 reads, not 2n. A call's time is the filter's own plus the
 * engine's bookkeeping since the previous call of the walk (the RAW_DATA length check,
 * the return code's switch). A negative difference (two processors' TSCs a few ticks
 * apart, the thread moved between them) counts as 0.
 *
 * Cells: each thread draws a number on its first call (process-wide, so it holds across
 * engines after a reload); the first ISAPI__STATS_THREADS threads each get a block of
 * cells of their own, allocated on the thread's first call in this engine, aligned to
 * and filling whole cache lines. Only its thread writes a block, so an add is a plain
 * load and store (relaxed atomics: a scrape on another thread reads them whole) with no
 * locked instruction and no line shared with another thread. Threads past that number
 * (or whose block could not be allocated) share one block with atomic adds. A reader
 * sums the blocks. The count of calls is the sum of the buckets, so a histogram read
 * while calls run is still cumulative and its +Inf bucket equals its count. Counts are
 * exact: every call is recorded, none is sampled. */

#define ISAPI__STATS_THREADS 1024
#define ISAPI__CACHE_LINE 64

const unsigned isapi_stats_bucket_us[ISAPI_STATS_BUCKETS] = {
    1, 2, 5, 10, 25, 50, 100, 250, 1000, 10000, 100000, 1000000,
};

typedef struct isapi__stat_cell {
    _Atomic uint64_t ticks;                              /* time in the filter */
    _Atomic uint64_t bucket[ISAPI_STATS_BUCKETS + 1];    /* calls per bucket, last: +Inf */
} isapi__stat_cell;

struct isapi__stats {
    uint64_t generation;        /* 1, 2, ... for every statistics enabled in the process */
    int timed;                  /* calls are timed; else all land in the +Inf bucket */
    size_t nfilters;
    size_t block_bytes;         /* one block's allocation: its cells, whole lines, slack */
    uint64_t (*clock)(void);
    uint64_t per_second;        /* clock ticks per second */
    uint64_t bound_ticks[ISAPI_STATS_BUCKETS];
    _Atomic uint64_t *crashes;  /* per filter */
    void *shared;               /* the block threads without one of their own add to */
    _Atomic(void *) own[ISAPI__STATS_THREADS];   /* per thread number; NULL until used */
};

static atomic_uint stats_next_thread;
static _Atomic uint64_t stats_next_generation;
static _Thread_local unsigned stats_thread_plus1;   /* 0: not drawn yet */

/* The calling thread's cells in the statistics of generation `generation` (a number no
 * other statistics ever had, so a new engine at a freed one's address does not match). */
static _Thread_local struct {
    uint64_t generation;
    struct isapi__stat_cell *cells;
} stats_mine;

/* A block's cells: [filter * ISAPI__N_COUNT + notification], from its first whole line. */
static isapi__stat_cell *block_cells(void *block)
{
    uintptr_t at = ((uintptr_t)block + ISAPI__CACHE_LINE - 1)
                   & ~(uintptr_t)(ISAPI__CACHE_LINE - 1);
    return (isapi__stat_cell *)at;
}

static uint64_t performance_counter(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (uint64_t)t.QuadPart;
}

int isapi_engine_stats_enable(isapi_engine *e, int timed, uint64_t (*clock)(void),
                              uint64_t clock_per_second)
{
    if (e->stats)
        return 0;
    if (!clock) {
        LARGE_INTEGER freq;
        if (!QueryPerformanceFrequency(&freq) || freq.QuadPart <= 0)
            return -1;
        clock = performance_counter;
        clock_per_second = (uint64_t)freq.QuadPart;
    }
    if (clock_per_second == 0)
        return -1;
    size_t cells_bytes = (e->nfilters ? e->nfilters : 1) * ISAPI__N_COUNT
                         * sizeof(isapi__stat_cell);
    size_t block_bytes = (cells_bytes + ISAPI__CACHE_LINE - 1)
                         / ISAPI__CACHE_LINE * ISAPI__CACHE_LINE + ISAPI__CACHE_LINE;
    struct isapi__stats *st = calloc(1, sizeof *st);
    _Atomic uint64_t *crashes = calloc(e->nfilters ? e->nfilters : 1, sizeof *crashes);
    void *shared = calloc(1, block_bytes);
    if (!st || !crashes || !shared) {
        free(st);
        free(crashes);
        free(shared);
        return -1;
    }
    st->generation = atomic_fetch_add_explicit(&stats_next_generation, 1,
                                               memory_order_relaxed) + 1;
    st->timed = timed != 0;
    st->nfilters = e->nfilters;
    st->block_bytes = block_bytes;
    st->clock = clock;
    st->per_second = clock_per_second;
    for (int b = 0; b < ISAPI_STATS_BUCKETS; b++)
        st->bound_ticks[b] = (uint64_t)((double)isapi_stats_bucket_us[b]
                                        * (double)clock_per_second / 1e6);
    st->crashes = crashes;
    st->shared = shared;
    e->stats = st;
    return 0;
}

int isapi_engine_stats_timed(const isapi_engine *e)
{
    return e->stats && e->stats->timed;
}

void isapi__stats_free(isapi_engine *e)
{
    if (!e->stats)
        return;
    for (size_t t = 0; t < ISAPI__STATS_THREADS; t++)
        free(atomic_load_explicit(&e->stats->own[t], memory_order_relaxed));
    free(e->stats->shared);
    free(e->stats->crashes);
    free(e->stats);
    e->stats = NULL;
}

/* The calling thread's own block in st, found the first time: the thread draws its number
 * (once per process) and allocates its block (once per engine). NULL: the shared block. */
static isapi__stat_cell *own_cells(struct isapi__stats *st)
{
    unsigned t = stats_thread_plus1;
    if (t == 0) {
        unsigned drawn = atomic_fetch_add_explicit(&stats_next_thread, 1, memory_order_relaxed);
        t = drawn < ISAPI__STATS_THREADS ? drawn + 1 : ISAPI__STATS_THREADS + 1;
        stats_thread_plus1 = t;
    }
    if (t > ISAPI__STATS_THREADS)
        return NULL;
    void *block = atomic_load_explicit(&st->own[t - 1], memory_order_relaxed);
    if (!block) {
        block = calloc(1, st->block_bytes);
        if (!block)
            return NULL;
        atomic_store_explicit(&st->own[t - 1], block, memory_order_release);
    }
    stats_mine.generation = st->generation;
    stats_mine.cells = block_cells(block);
    return stats_mine.cells;
}

/* Adds v to a counter only the calling thread writes: no locked instruction. */
static void add_own(_Atomic uint64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* stats_record() for a thread whose block in st is not known yet, or that has none. Not
 * static, so that the compiler keeps it out of stats_record's path, which then saves no
 * register and calls nothing. */
void isapi__stats_record_first(struct isapi__stats *st, size_t at, int b, uint64_t ticks);
void isapi__stats_record_first(struct isapi__stats *st, size_t at, int b, uint64_t ticks)
{
    isapi__stat_cell *own = own_cells(st);
    if (own) {
        add_own(&own[at].bucket[b], 1);
        add_own(&own[at].ticks, ticks);
        return;
    }
    isapi__stat_cell *cell = &block_cells(st->shared)[at];
    atomic_fetch_add_explicit(&cell->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&cell->ticks, ticks, memory_order_relaxed);
}

/* Called by the walk, which knows the filter's index and the notification's slot. */
static void stats_record(struct isapi__stats *st, size_t filter, int ni, uint64_t ticks)
{
    if (filter >= st->nfilters)
        return;
    int b = st->timed ? 0 : ISAPI_STATS_BUCKETS;
    while (b < ISAPI_STATS_BUCKETS && ticks > st->bound_ticks[b])
        b++;
    size_t at = filter * ISAPI__N_COUNT + (size_t)ni;
    if (stats_mine.generation != st->generation) {
        isapi__stats_record_first(st, at, b, ticks);
        return;
    }
    isapi__stat_cell *own = stats_mine.cells;
    add_own(&own[at].bucket[b], 1);
    add_own(&own[at].ticks, ticks);
}

size_t isapi_notification_count(void)
{
    return ISAPI__N_COUNT;
}

DWORD isapi_notification_bit(size_t i)
{
    return i < ISAPI__N_COUNT ? notif_bits[i] : 0;
}

const char *isapi_notification_name(size_t i)
{
    return isapi__notif_name(isapi_notification_bit(i));
}

int isapi_engine_call_stats(const isapi_engine *e, size_t i, size_t n, isapi_call_stats *out)
{
    struct isapi__stats *st = e->stats;
    memset(out, 0, sizeof *out);
    if (!st || i >= st->nfilters || n >= ISAPI__N_COUNT)
        return -1;
    uint64_t per_bucket[ISAPI_STATS_BUCKETS + 1] = {0}, ticks = 0;
    size_t at = i * ISAPI__N_COUNT + n;
    unsigned drawn = atomic_load_explicit(&stats_next_thread, memory_order_relaxed);
    size_t nblocks = drawn < ISAPI__STATS_THREADS ? drawn : ISAPI__STATS_THREADS;
    for (size_t t = 0; t <= nblocks; t++) {
        void *block = t < nblocks ? atomic_load_explicit(&st->own[t], memory_order_acquire)
                                  : st->shared;
        if (!block)
            continue;
        const isapi__stat_cell *cell = &block_cells(block)[at];
        for (int b = 0; b <= ISAPI_STATS_BUCKETS; b++)
            per_bucket[b] += atomic_load_explicit(&cell->bucket[b], memory_order_relaxed);
        ticks += atomic_load_explicit(&cell->ticks, memory_order_relaxed);
    }
    uint64_t running = 0;
    for (int b = 0; b < ISAPI_STATS_BUCKETS; b++) {
        running += per_bucket[b];
        out->le[b] = running;
    }
    out->calls = running + per_bucket[ISAPI_STATS_BUCKETS];
    out->seconds = (double)ticks / (double)st->per_second;
    return 0;
}

uint64_t isapi_engine_filter_crashes(const isapi_engine *e, size_t i)
{
    if (!e->stats || i >= e->stats->nfilters)
        return 0;
    return atomic_load_explicit(&e->stats->crashes[i], memory_order_relaxed);
}

/* One filter call, run under isapi__guard_call(). */
typedef struct invoke_call {
    isapi__filter *f;
    isapi__slot *s;
    int kind;
    DWORD notif;
    void *pv;
    DWORD r;
    DWORD last;     /* GetLastError() right after the call, where the caller needs it */
} invoke_call;

static void call_filter(void *arg)
{
    invoke_call *a = arg;
    switch (a->kind) {
    case ISAPI__CALL_VERSION:
        a->r = (DWORD)a->f->get_filter_version((HTTP_FILTER_VERSION *)a->pv);
        a->last = GetLastError();
        break;
    case ISAPI__CALL_TERMINATE:
        a->r = (DWORD)a->f->terminate(a->notif);
        break;
    default:
        a->r = a->f->proc(&a->s->fc, a->notif, a->pv);
        if (a->r == SF_STATUS_REQ_ERROR)
            a->last = GetLastError();
        break;
    }
}

DWORD isapi__invoke(isapi_engine *e, isapi__filter *f, isapi__slot *s, int kind,
                    DWORD notif, void *pv)
{
    invoke_call a = { f, s, kind, notif, pv, 0, 0 };
    isapi__fault fault;
    char what[400];
    isapi_conn *c = kind == ISAPI__CALL_PROC ? s->conn : NULL;
    DWORD saved_notif = 0;
    isapi__slot *saved_slot = NULL;

    InterlockedIncrement(&e->inflight);
    if (c) {
        saved_notif = c->cur_notif;
        saved_slot = c->cur_slot;
        c->cur_notif = notif;
        c->cur_slot = s;
    }
    const char *outer_filter = atomic_load_explicit(&current_call.filter, memory_order_relaxed);
    const char *outer_notification =
        atomic_load_explicit(&current_call.notification, memory_order_relaxed);
    atomic_store_explicit(&current_call.notification,
                          kind == ISAPI__CALL_VERSION ? "GetFilterVersion"
                          : kind == ISAPI__CALL_TERMINATE ? "TerminateFilter"
                          : isapi__notif_name(notif), memory_order_relaxed);
    atomic_store_explicit(&current_call.filter, f->path, memory_order_relaxed);
    int crashed = isapi__guard_call(call_filter, &a, &fault);
    if (crashed && kind == ISAPI__CALL_PROC && e->stats
        && (size_t)(f - e->filters) < e->stats->nfilters)
        atomic_fetch_add_explicit(&e->stats->crashes[f - e->filters], 1, memory_order_relaxed);
    atomic_store_explicit(&current_call.filter, outer_filter, memory_order_relaxed);
    atomic_store_explicit(&current_call.notification, outer_notification, memory_order_relaxed);
    if (c) {
        c->cur_notif = saved_notif;
        c->cur_slot = saved_slot;
    }
    InterlockedDecrement(&e->inflight);

    if (crashed) {
        isapi__guard_describe(&fault, what, sizeof what);
        if (kind == ISAPI__CALL_VERSION) {
            snprintf(e->load_fault, sizeof e->load_fault, "%s in GetFilterVersion", what);
            a.r = FALSE;
            a.last = ERROR_UNHANDLED_EXCEPTION;
        } else if (kind == ISAPI__CALL_TERMINATE) {
            isapi__log(e, NULL, ISAPI_LOG_ERROR, f->path, "%s in TerminateFilter", what);
        } else {
            /* Why: a crash fails the request, not the server, and the connection is not
             * reused: Windows CE's httpd does this (docs/isapi-reference.md, "Crashes in
             * filters"). */
            isapi__log(e, c, ISAPI_LOG_ERROR, f->path, "%s in %s; the request failed", what,
                       isapi__notif_name(notif));
            a.r = SF_STATUS_REQ_ERROR;
            a.last = ERROR_UNHANDLED_EXCEPTION;
            c->must_close = 1;
        }
    }
    if (kind == ISAPI__CALL_VERSION) {
        SetLastError(a.last);   /* the loader reads it after a FALSE return */
    } else if (kind == ISAPI__CALL_PROC && a.r == SF_STATUS_REQ_ERROR) {
        c->filter_error = a.last;
        if (!crashed) {
            char text[256];
            isapi__error_text(a.last, text, sizeof text);
            isapi__log(e, c, ISAPI_LOG_WARN, f->path,
                       "returned SF_STATUS_REQ_ERROR in %s with last error %lu (%s); the "
                       "request failed", isapi__notif_name(notif), (unsigned long)a.last, text);
        }
    } else if (kind == ISAPI__CALL_PROC
               && (a.r < SF_STATUS_REQ_FINISHED || a.r > SF_STATUS_REQ_READ_NEXT)) {
        isapi__log(e, c, ISAPI_LOG_WARN, f->path,
                   "returned the undefined status 0x%08lx in %s; taken as "
                   "SF_STATUS_REQ_NEXT_NOTIFICATION", (unsigned long)a.r, isapi__notif_name(notif));
    }
    return a.r;
}

static int rank_cmp(const void *a, const void *b, const isapi_engine *e)
{
    return e->filters[*(const size_t *)a].rank - e->filters[*(const size_t *)b].rank;
}

static DWORD priority_of(DWORD flags)
{
    return flags & SF_NOTIFY_ORDER_HIGH ? 0 : flags & SF_NOTIFY_ORDER_MEDIUM ? 1 : 2;
}

int isapi__build_lists(isapi_engine *e)
{
    size_t *lists[2][ISAPI__N_COUNT];
    size_t nlist[2][ISAPI__N_COUNT];
    size_t n = e->nfilters;

    /* ranks: priority first, then load order (a stable ordering by construction) */
    int rank = 0;
    for (DWORD p = 0; p < 3; p++)
        for (size_t i = 0; i < n; i++)
            if (priority_of(e->filters[i].flags) == p)
                e->filters[i].rank = rank++;

    for (int s = 0; s < 2; s++) {
        DWORD port = s ? SF_NOTIFY_SECURE_PORT : SF_NOTIFY_NONSECURE_PORT;
        for (int ni = 0; ni < ISAPI__N_COUNT; ni++) {
            size_t *v = malloc((n ? n : 1) * sizeof *v), k = 0;
            if (!v) {
                for (int s2 = 0; s2 <= s; s2++)
                    for (int n2 = 0; n2 < (s2 < s ? ISAPI__N_COUNT : ni); n2++)
                        free(lists[s2][n2]);
                return -1;
            }
            for (size_t i = 0; i < n; i++)
                if ((e->filters[i].flags & notif_bits[ni]) && (e->filters[i].flags & port))
                    v[k++] = i;
            /* insertion sort by rank: n is small and the sort must be stable */
            for (size_t a = 1; a < k; a++)
                for (size_t b = a; b > 0 && rank_cmp(&v[b - 1], &v[b], e) > 0; b--) {
                    size_t t = v[b];
                    v[b] = v[b - 1];
                    v[b - 1] = t;
                }
            if (ni == ISAPI__N_SEND_RAW)
                for (size_t a = 0; a < k / 2; a++) {
                    size_t t = v[a];
                    v[a] = v[k - 1 - a];
                    v[k - 1 - a] = t;
                }
            lists[s][ni] = v;
            nlist[s][ni] = k;
        }
    }
    for (int s = 0; s < 2; s++)
        for (int ni = 0; ni < ISAPI__N_COUNT; ni++) {
            free(e->lists[s][ni]);
            e->lists[s][ni] = lists[s][ni];
            e->nlist[s][ni] = nlist[s][ni];
        }
    return 0;
}

static isapi_rc map_status(DWORD r)
{
    switch (r) {
    case SF_STATUS_REQ_FINISHED:           return ISAPI_FINISHED;
    case SF_STATUS_REQ_FINISHED_KEEP_CONN: return ISAPI_FINISHED_KEEP_CONN;
    case SF_STATUS_REQ_ERROR:              return ISAPI_ERROR;
    case SF_STATUS_REQ_READ_NEXT:          return ISAPI_READ_NEXT;
    default:                               return ISAPI_CONTINUE;
    }
}

/* A READ/SEND_RAW_DATA walk: the structure the filters see (first, so the walk's pv is
 * both) and the engine's own buffer behind it. */
typedef struct raw_walk {
    HTTP_FILTER_RAW_DATA raw;
    const unsigned char *own;
    size_t own_cap;
} raw_walk;

/* Clamps what filter f left in w->raw to what its buffer can be proven to hold, logging
 * the first time a filter overstated it. */
static void contain_raw(isapi_conn *c, isapi__filter *f, DWORD bit, raw_walk *w)
{
    HTTP_FILTER_RAW_DATA *raw = &w->raw;
    uintptr_t at = (uintptr_t)raw->pvInData, own = (uintptr_t)w->own;
    uint64_t room;      /* 64-bit: it is capped to a DWORD below on every platform */
    size_t block_room;
    int proven = 1;
    const char *whose;
    if (!raw->pvInData) {
        room = 0;
        whose = "a NULL pvInData";
    } else if (at >= own && at - own < w->own_cap) {
        room = w->own_cap - (size_t)(at - own);
        whose = "the engine's buffer";
    } else if (isapi__arena_room(c, raw->pvInData, &block_room)) {
        room = block_room;
        whose = "its AllocMem block";
    } else {
        room = raw->cbInBuffer;
        proven = 0;
        whose = "its own buffer (cbInBuffer)";
    }
    if (room > 0xffffffffu)
        room = 0xffffffffu;
    int data_over = raw->cbInData > room, buffer_over = proven && raw->cbInBuffer > room;
    if (!data_over && !buffer_over)
        return;
    if (InterlockedExchange(&f->raw_overrun_logged[bit == SF_NOTIFY_SEND_RAW_DATA], 1) == 0)
        isapi__log(c->e, c, ISAPI_LOG_ERROR, f->path,
                   "set cbInData %lu / cbInBuffer %lu in %s, beyond the %lu bytes %s holds; "
                   "clamped to %lu (logged once for this filter and notification)",
                   (unsigned long)raw->cbInData, (unsigned long)raw->cbInBuffer,
                   isapi__notif_name(bit), (unsigned long)room, whose, (unsigned long)room);
    if (data_over)
        raw->cbInData = (DWORD)room;
    if (buffer_over)
        raw->cbInBuffer = (DWORD)room;
}

/* One filter call of a walk, counted and (with timing) timed; *mark carries the clock
 * from one call of the walk to the next (see "call statistics"). Apart from the walk, so
 * that a walk without statistics pays one test per call for them. */
static DWORD invoke_counted(isapi_engine *e, struct isapi__stats *st, isapi__filter *f,
                            isapi__slot *s, DWORD bit, void *pv, size_t filter, int ni,
                            uint64_t *mark)
{
    if (!st->timed) {
        DWORD r = isapi__invoke(e, f, s, ISAPI__CALL_PROC, bit, pv);
        stats_record(st, filter, ni, 0);
        return r;
    }
    uint64_t start = *mark ? *mark : st->clock();
    DWORD r = isapi__invoke(e, f, s, ISAPI__CALL_PROC, bit, pv);
    uint64_t now = st->clock();
    *mark = now;
    stats_record(st, filter, ni, now > start ? now - start : 0);
    return r;
}

/* Walks list positions [from, to) of notification `ni`. */
static isapi_rc walk_range(isapi_conn *c, int ni, void *pv, size_t from, size_t to,
                           int limit, size_t *stopped_at)
{
    isapi_engine *e = c->e;
    const size_t *list = e->lists[c->secure][ni];
    size_t n = e->nlist[c->secure][ni];
    if (to < n)
        n = to;
    DWORD bit = notif_bits[ni];
    struct isapi__stats *stats = e->stats;
    uint64_t mark = 0;   /* the clock at the end of the walk's previous call; 0: none yet */
    for (size_t i = from; i < n; i++) {
        isapi__filter *f = &e->filters[list[i]];
        isapi__slot *s = &c->slots[list[i]];
        if (f->rank >= limit || (s->disabled & bit))
            continue;
        DWORD r = stats ? invoke_counted(e, stats, f, s, bit, pv, list[i], ni, &mark)
                        : isapi__invoke(e, f, s, ISAPI__CALL_PROC, bit, pv);
        if (ni == ISAPI__N_READ_RAW || ni == ISAPI__N_SEND_RAW)
            contain_raw(c, f, bit, pv);
        switch (r) {
        case SF_STATUS_REQ_HANDLED_NOTIFICATION:
            /* Why: stops the walk for this notification only (docs/isapi-reference.md,
             * "Order between filters"). */
            return ISAPI_CONTINUE;
        case SF_STATUS_REQ_FINISHED:
        case SF_STATUS_REQ_FINISHED_KEEP_CONN:
        case SF_STATUS_REQ_ERROR:
            if (stopped_at)
                *stopped_at = i;
            return map_status(r);
        case SF_STATUS_REQ_READ_NEXT:
            /* Why: only meaningful in READ_RAW_DATA, NEXT elsewhere
             * (docs/isapi-reference.md, "Return codes"). */
            if (ni == ISAPI__N_READ_RAW) {
                if (stopped_at)
                    *stopped_at = i;
                return ISAPI_READ_NEXT;
            }
            break;
        default:
            /* NEXT_NOTIFICATION, and unknown values treated as NEXT (CE httpd) */
            break;
        }
    }
    return ISAPI_CONTINUE;
}

isapi_rc isapi__walk(isapi_conn *c, int ni, void *pv, size_t from, int limit,
                     size_t *stopped_at)
{
    return walk_range(c, ni, pv, from, (size_t)-1, limit, stopped_at);
}

/* ---- notifications ---------------------------------------------------------------- */

isapi_send_origin isapi_origin_host(void)
{
    isapi_send_origin o = { 0x7fffffff };
    return o;
}

static int ensure_rbuf(isapi_conn *c, size_t need)
{
    if (need <= c->rcap)
        return 0;
    size_t cap = c->rcap ? c->rcap : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(c->rbuf, cap);
    if (!p)
        return -1;
    /* Why zeroed: a READ_RAW_DATA filter may expand data in place up to cbInBuffer, and
     * bytes it did not write must never be another connection's freed memory. */
    memset(p + c->rcap, 0, cap - c->rcap);
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

/* Leaves the chain's result in c->rbuf (copied there if a filter replaced the buffer). */
static int take_raw_result(isapi_conn *c, HTTP_FILTER_RAW_DATA *raw, size_t *len)
{
    size_t n = raw->pvInData ? raw->cbInData : 0;
    if (n && raw->pvInData != c->rbuf) {
        unsigned char *copy = malloc(n);
        if (!copy)
            return -1;
        memcpy(copy, raw->pvInData, n);
        if (ensure_rbuf(c, n) != 0) {
            free(copy);
            return -1;
        }
        memcpy(c->rbuf, copy, n);
        free(copy);
    }
    *len = n;
    return 0;
}

isapi_rc isapi__raise_read_raw(isapi_conn *c, const void *data, size_t len,
                               const void **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    c->next_read_size = 0;
    /* No READ_RAW_DATA filter on this port and none waiting for more bytes: the bytes
     * are the result as they are. No copy, and no read buffer kept per connection. */
    if (c->e->nlist[c->secure][ISAPI__N_READ_RAW] == 0 && c->read_next_at == (size_t)-1) {
        *out = data;
        *out_len = len;
        return ISAPI_CONTINUE;
    }
    if (ensure_rbuf(c, len ? len : 1) != 0)
        return ISAPI_ERROR;
    if (len)
        memcpy(c->rbuf, data, len);
    raw_walk w = { { c->rbuf, (DWORD)len, (DWORD)c->rcap, 0 }, c->rbuf, c->rcap };
    HTTP_FILTER_RAW_DATA *raw = &w.raw;
    size_t from = 0, at = 0, n;
    isapi_rc rc;

    if (c->read_next_at != (size_t)-1) {
        /* Why: READ_NEXT (KB 239439) - the new bytes pass the filters before the one that
         * asked, then that filter gets its kept buffer with them appended. */
        size_t asked = c->read_next_at;
        c->read_next_at = (size_t)-1;
        rc = walk_range(c, ISAPI__N_READ_RAW, raw, 0, asked, 0x7fffffff, &at);
        if (rc == ISAPI_FINISHED || rc == ISAPI_FINISHED_KEEP_CONN || rc == ISAPI_ERROR) {
            free(c->pending);
            c->pending = NULL;
            c->npending = 0;
            return rc;
        }
        /* A READ_NEXT from a filter before the waiting one is not honoured: its bytes go
         * on to the waiting filter. One filter waits for data at a time (two waiting
         * filters deadlock on IIS too, KB 239439). */
        if (take_raw_result(c, raw, &n) != 0 || ensure_rbuf(c, c->npending + n) != 0)
            return ISAPI_ERROR;
        memmove(c->rbuf + c->npending, c->rbuf, n);
        if (c->npending)
            memcpy(c->rbuf, c->pending, c->npending);
        raw->pvInData = c->rbuf;
        raw->cbInData = (DWORD)(c->npending + n);
        raw->cbInBuffer = (DWORD)c->rcap;
        w.own = c->rbuf;
        w.own_cap = c->rcap;
        free(c->pending);
        c->pending = NULL;
        c->npending = 0;
        from = asked;
    }
    rc = isapi__walk(c, ISAPI__N_READ_RAW, raw, from, 0x7fffffff, &at);
    if (rc == ISAPI_READ_NEXT) {
        size_t keep = raw->pvInData ? raw->cbInData : 0;
        c->pending = malloc(keep ? keep : 1);
        if (!c->pending)
            return ISAPI_ERROR;
        if (keep)
            memcpy(c->pending, raw->pvInData, keep);
        c->npending = keep;
        c->read_next_at = at;
        return ISAPI_READ_NEXT;
    }
    if (take_raw_result(c, raw, &n) != 0)
        return ISAPI_ERROR;
    *out = c->rbuf;
    *out_len = n;
    return rc;
}

isapi_rc isapi_notify_preproc_headers(isapi_conn *c)
{
    if (!c->have_req)
        return ISAPI_ERROR;
    c->req_parsed = 1;
    /* Why: the URL variable reflects a SetHeader("url") only after the chain (IIRF had
     * to stash the URL itself for this reason; docs/isapi-reference.md, "Server
     * variables"). */
    const char *u = c->req.url ? c->req.url : "";
    if (isapi_str_set(&c->req, &c->url_before_preproc, u, (size_t)-1) != 0)
        return ISAPI_ERROR;
    HTTP_FILTER_PREPROC_HEADERS p;
    isapi__fill_preproc(&p);
    c->in_preproc = 1;
    isapi_rc rc = isapi__walk(c, ISAPI__N_PREPROC, &p, 0, 0x7fffffff, NULL);
    c->in_preproc = 0;
    return rc;
}

isapi_rc isapi_notify_url_map(isapi_conn *c, HTTP_FILTER_URL_MAP_EX *map)
{
    if (!c->have_req || !map || !map->pszPhysicalPath || !map->cbPathBuff)
        return ISAPI_ERROR;
    isapi_rc rc = isapi__walk(c, ISAPI__N_URL_MAP, map, 0, 0x7fffffff, NULL);
    map->pszPhysicalPath[map->cbPathBuff - 1] = '\0';
    if (isapi_str_set(&c->req, &c->req.physical_path, map->pszPhysicalPath, (size_t)-1) != 0)
        return ISAPI_ERROR;
    return rc;
}

isapi_rc isapi_notify_authentication(isapi_conn *c)
{
    if (!c->have_req)
        return ISAPI_ERROR;
    /* No filter sees AUTHENTICATION: the logon is the client's credentials as they are,
     * which the walk below would give after copying them through two 257-byte buffers
     * (and cutting them to 256 bytes: longer ones take that path). */
    const char *au = c->req.auth_user ? c->req.auth_user : "";
    const char *ap = c->req.auth_password ? c->req.auth_password : "";
    if (c->e->nlist[c->secure][ISAPI__N_AUTHENT] == 0 && strlen(au) < SF_MAX_USERNAME
        && strlen(ap) < SF_MAX_PASSWORD) {
        if (c->req.auth_user && c->req.auth_password) {
            c->req.logon_user = c->req.auth_user;
            c->req.logon_password = c->req.auth_password;
            return ISAPI_CONTINUE;
        }
        if (isapi_str_set(&c->req, &c->req.logon_user, au, (size_t)-1) != 0
            || isapi_str_set(&c->req, &c->req.logon_password, ap, (size_t)-1) != 0)
            return ISAPI_ERROR;
        return ISAPI_CONTINUE;
    }
    char user[SF_MAX_USERNAME], pass[SF_MAX_PASSWORD];
    memset(user, 0, sizeof user);
    memset(pass, 0, sizeof pass);
    if (c->req.auth_user)
        strncpy(user, c->req.auth_user, sizeof user - 1);
    if (c->req.auth_password)
        strncpy(pass, c->req.auth_password, sizeof pass - 1);
    HTTP_FILTER_AUTHENT a = { user, (DWORD)sizeof user, pass, (DWORD)sizeof pass };
    isapi_rc rc = isapi__walk(c, ISAPI__N_AUTHENT, &a, 0, 0x7fffffff, NULL);
    /* Why both: filters edit the buffers in place (IIS docs) or replace the pointers
     * (CE httpd accepts both; docs/isapi-reference.md, "The other notification
     * structures"). */
    user[sizeof user - 1] = '\0';
    pass[sizeof pass - 1] = '\0';
    if (isapi_str_set(&c->req, &c->req.logon_user, a.pszUser ? a.pszUser : "", (size_t)-1) != 0 ||
        isapi_str_set(&c->req, &c->req.logon_password, a.pszPassword ? a.pszPassword : "", (size_t)-1) != 0)
        return ISAPI_ERROR;
    return rc;
}

isapi_rc isapi_notify_auth_complete(isapi_conn *c, BOOL *reset_auth)
{
    if (!c->have_req)
        return ISAPI_ERROR;
    HTTP_FILTER_AUTH_COMPLETE_INFO a;
    isapi__fill_auth_complete(&a);
    isapi_rc rc = isapi__walk(c, ISAPI__N_AUTH_COMPLETE, &a, 0, 0x7fffffff, NULL);
    if (reset_auth)
        *reset_auth = a.fResetAuth;
    return rc;
}

isapi_rc isapi_notify_access_denied(isapi_conn *c, const char *url, const char *phys,
                                    DWORD reason)
{
    if (!c->have_req)
        return ISAPI_ERROR;
    HTTP_FILTER_ACCESS_DENIED d = { url ? url : "", phys ? phys : "", reason };
    return isapi__walk(c, ISAPI__N_ACCESS_DENIED, &d, 0, 0x7fffffff, NULL);
}

isapi_rc isapi_notify_send_response(isapi_conn *c)
{
    if (!c->have_req)
        return ISAPI_ERROR;
    c->resp_sent = 1;
    HTTP_FILTER_SEND_RESPONSE p;
    isapi__fill_send_response(&p);
    p.HttpStatus = c->req.status;
    isapi_rc rc = isapi__walk(c, ISAPI__N_SEND_RESPONSE, &p, 0, 0x7fffffff, NULL);
    if (rc == ISAPI_FINISHED || rc == ISAPI_FINISHED_KEEP_CONN || rc == ISAPI_ERROR) {
        /* Why: FINISHED/ERROR here means "send neither this block nor the body"
         * (docs/isapi-reference.md, "Return codes"); later isapi_send calls drop their
         * bytes. */
        c->output_dead = 1;
        c->dead_rc = rc == ISAPI_ERROR ? ISAPI_ERROR : ISAPI_FINISHED;
        c->must_close = 1;
    }
    return rc;
}

int isapi_conn_sees_send_raw(const isapi_conn *c)
{
    return c->e->nlist[c->secure][ISAPI__N_SEND_RAW] != 0;
}

int isapi_conn_sees_send_response(const isapi_conn *c)
{
    return c->e->nlist[c->secure][ISAPI__N_SEND_RESPONSE] != 0;
}

/* Hands bytes that passed the SEND_RAW_DATA chain to the host. */
static isapi_rc write_out(isapi_conn *c, const void *data, size_t len)
{
    DWORD err = c->ops->write(c->host, data, len);
    if (err) {
        c->output_dead = 1;
        c->dead_rc = ISAPI_ERROR;
        c->must_close = 1;
        c->send_error = err;
        return ISAPI_ERROR;
    }
    if (c->have_req)
        c->req.bytes_sent += len;
    return ISAPI_CONTINUE;
}

isapi_rc isapi_send(isapi_conn *c, isapi_send_origin origin, const void *data, size_t len)
{
    if (len == 0)
        return ISAPI_CONTINUE;
    if (c->output_dead)
        return c->dead_rc;
    /* No SEND_RAW_DATA filter on this port: nobody can see or edit the bytes, so they go
     * out without the private copy. */
    if (c->e->nlist[c->secure][ISAPI__N_SEND_RAW] == 0)
        return write_out(c, data, len);
    /* Why a private copy: filters edit SEND_RAW_DATA buffers in place, and the host's
     * buffer may be shared (a cached file); IIS docs warn about exactly that (ref. 9). */
    unsigned char *copy = malloc(len);
    if (!copy)
        return ISAPI_ERROR;
    memcpy(copy, data, len);
    raw_walk w = { { copy, (DWORD)len, (DWORD)len, 0 }, copy, len };
    HTTP_FILTER_RAW_DATA *raw = &w.raw;
    isapi_rc rc = isapi__walk(c, ISAPI__N_SEND_RAW, raw, 0, origin.limit, NULL);
    if (rc == ISAPI_FINISHED || rc == ISAPI_FINISHED_KEEP_CONN || rc == ISAPI_ERROR) {
        /* Why: drop this chunk and everything after it, then close
         * (docs/isapi-reference.md, "Return codes"). */
        free(copy);
        c->output_dead = 1;
        c->dead_rc = rc == ISAPI_ERROR ? ISAPI_ERROR : ISAPI_FINISHED;
        c->must_close = 1;
        c->send_error = ERROR_OPERATION_ABORTED;
        return c->dead_rc;
    }
    if (c->output_dead) {
        /* a nested WriteClient's chain stopped the output meanwhile */
        free(copy);
        return c->dead_rc;
    }
    rc = ISAPI_CONTINUE;
    if (raw->pvInData && raw->cbInData)
        rc = write_out(c, raw->pvInData, raw->cbInData);
    free(copy);
    return rc;
}

isapi_rc isapi_notify_end_of_request(isapi_conn *c)
{
    return isapi__walk(c, ISAPI__N_END_OF_REQUEST, NULL, 0, 0x7fffffff, NULL);
}

isapi_rc isapi_notify_log(isapi_conn *c, HTTP_FILTER_LOG *log)
{
    const char **fields[6] = { &log->pszClientHostName, &log->pszClientUserName,
                               &log->pszServerName, &log->pszOperation, &log->pszTarget,
                               &log->pszParameters };
    /* Why "" and never NULL: filters strcmp/strlen the fields without checking (CE httpd
     * passes empty strings; docs/isapi-reference.md, "The other notification
     * structures"). */
    const char *given[6];
    for (int i = 0; i < 6; i++) {
        if (!*fields[i])
            *fields[i] = "";
        given[i] = *fields[i];
    }
    isapi_rc rc = isapi__walk(c, ISAPI__N_LOG, log, 0, 0x7fffffff, NULL);
    /* Why copies: a replaced pointer may be filter memory that is gone after the next
     * notification; the host never frees what it did not allocate (docs/isapi-reference.md,
     * "The other notification structures"). A
     * field no filter replaced still points at the caller's own string: no copy. The
     * copies are request strings, freed when the request ends. */
    for (int i = 0; i < 6; i++) {
        if (*fields[i] == given[i])
            continue;
        const char *s = *fields[i] ? *fields[i] : "";
        char *copy = isapi__strings_dup(&c->strings, s, strlen(s));
        if (!copy) {
            for (int j = 0; j < 6; j++)
                *fields[j] = "";
            return ISAPI_ERROR;
        }
        *fields[i] = copy;
    }
    return rc;
}
