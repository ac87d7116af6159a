/*
 * arena.c - the engine's two arenas: the AllocMem arena of a connection, and the request
 * arena every string of a request comes from.
 *
 * ---- AllocMem ----
 *
 * Every AllocMem block is its own malloc'ed chunk, linked into the connection's list and
 * freed all at once by isapi_conn_close() after END_OF_NET_SESSION was delivered.
 * Why: "the lifespan of AllocMem memory blocks is associated with the connection to the
 * client, not with a particular request" (IIS 6 SDK, AllocMem), and filters read their
 * AllocMem'd state in END_OF_NET_SESSION itself.
 *
 * Blocks are 16-byte aligned (filters place structures in them; 16 is what x64 malloc
 * guarantees): each chunk is [list link][padding][user block], the user block rounded up
 * to the next 16-byte boundary by hand, so it does not depend on what the C library's
 * malloc guarantees (8 on 32-bit Windows).
 *
 * The total a connection may hold is capped (isapi_config.alloc_cap). Why: blocks cannot
 * be freed before the connection ends, and filters allocate per request (pubcookie, IIRF),
 * so a long keep-alive connection would grow without bound. Over the cap AllocMem returns
 * NULL with ERROR_NOT_ENOUGH_MEMORY, what filters already handle for a failed allocation.
 *
 * Blocks are handed out zeroed. Why: filters read fields of an AllocMem'd structure before
 * setting them (a widely used URL-rewriting filter does), and a reused chunk would hand them
 * whatever the previous connection left there, another client's data included.
 *
 * Each block records where its user part starts and how long it is, so the engine can
 * prove how many bytes a pointer into a block may reach (isapi__arena_room: the bound on a
 * SEND/READ_RAW_DATA buffer a filter swapped in, docs/semantics.md).
 *
 * ---- The request arena ("freed once") ----
 *
 * A request sets a few dozen strings (the request line, the headers, the path, the
 * credentials, the response headers, what filters set, the LOG copies) and drops them all
 * when it ends. They are bumped off a chunk and never freed one by one: isapi_request_end()
 * empties the arena in one go. The first chunk is small enough for the C library's
 * per-thread fast path (glibc's tcache takes blocks up to 1032 bytes) and holds a whole
 * ordinary request; it is kept for the connection's next request and given back when the
 * connection goes idle (isapi_conn_trim), so idle connections hold none. A request that
 * needs more (long cookies) takes chunks of twice the size, up to 64 KiB, or of its
 * string's size, freed when it ends. A failed allocation sets the arena's flag, the
 * request's out-of-memory flag the host checks after each step.
 *
 * Under AddressSanitizer the bytes of a kept chunk are poisoned when the request ends, so
 * a string used after its request is reported as it would be after free().
 *
 * Test builds (ISAPI_FAULT_INJECTION) can make chosen allocations fail: the environment
 * variable ISAPIHOST_TEST_FAIL_ALLOC=N fails the N-th allocation of every request, and
 * ISAPIHOST_TEST_FAIL_ALLOC=sweep fails the k-th allocation of the k-th request the process
 * begins, so k sequential requests each fail at another point
 * (tests/integration/test_memory.py).
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISAPI__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ISAPI__ASAN 1
#endif
#ifdef ISAPI__ASAN
#include <sanitizer/asan_interface.h>
#define ISAPI__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ISAPI__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ISAPI__POISON(p, n) ((void)(p), (void)(n))
#define ISAPI__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ISAPI__ALIGN 16u

void *isapi__arena_alloc(isapi_conn *c, DWORD cb)
{
    size_t want = cb ? cb : 1;
    if (want > c->e->alloc_cap || c->alloc_used > c->e->alloc_cap - want) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    size_t hdr = sizeof(isapi__block);
    unsigned char *raw = malloc(hdr + ISAPI__ALIGN + want);
    if (!raw) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    uintptr_t user = ((uintptr_t)raw + hdr + ISAPI__ALIGN - 1) & ~(uintptr_t)(ISAPI__ALIGN - 1);
    memset((void *)user, 0, want);
    isapi__block *b = (isapi__block *)raw;
    b->user = user;
    b->size = want;
    b->next = c->blocks;
    c->blocks = b;
    c->alloc_used += want;
    return (void *)user;
}

void isapi__arena_free(isapi_conn *c)
{
    isapi__block *b = c->blocks;
    while (b) {
        isapi__block *next = b->next;
        free(b);
        b = next;
    }
    c->blocks = NULL;
    c->alloc_used = 0;
}

int isapi__arena_room(const isapi_conn *c, const void *p, size_t *room)
{
    uintptr_t at = (uintptr_t)p;
    /* Newest first: a filter swapping in a buffer has usually just allocated it. */
    for (const isapi__block *b = c->blocks; b; b = b->next)
        if (at >= b->user && at - b->user < b->size) {
            *room = b->size - (size_t)(at - b->user);
            return 1;
        }
    return 0;
}

/* ---- the request arena ------------------------------------------------------------- */

/* 1024 bytes with the chunk's header: glibc's tcache serves it (up to 1032). */
#define ISAPI__FIRST_CHUNK (1024 - sizeof(isapi__chunk))
#define ISAPI__CHUNK_MAX ((size_t)64 * 1024)

static char *chunk_bytes(isapi__chunk *k)
{
    return (char *)(k + 1);
}

static char *grow(isapi_arena *a, size_t n)
{
    size_t size = ISAPI__FIRST_CHUNK;
    if (a->chunks)
        size = a->chunks->size < ISAPI__CHUNK_MAX / 2 ? a->chunks->size * 2 : ISAPI__CHUNK_MAX;
    if (size < n)
        size = n;
    isapi__chunk *k = size <= SIZE_MAX - sizeof *k ? malloc(sizeof *k + size) : NULL;
    if (!k) {
        a->failed = 1;
        return NULL;
    }
    k->older = a->chunks;
    k->size = size;
    a->chunks = k;
    a->at = chunk_bytes(k) + n;
    a->end = chunk_bytes(k) + size;
    ISAPI__POISON(a->at, size - n);
    return chunk_bytes(k);
}

#ifdef ISAPI_FAULT_INJECTION
/* 0 off, -1 sweep, else N; read once. */
static long fault_mode(void)
{
    static volatile LONG mode = -2;
    LONG m = mode;
    if (m == -2) {
        const char *v = getenv("ISAPIHOST_TEST_FAIL_ALLOC");
        m = !v ? 0 : strcmp(v, "sweep") == 0 ? -1 : (LONG)strtol(v, NULL, 10);
        if (m < -1)
            m = 0;
        mode = m;
    }
    return m;
}

const char *isapi__fault_injection(void)
{
    return fault_mode() ? getenv("ISAPIHOST_TEST_FAIL_ALLOC") : NULL;
}

static int fault_hit(isapi_arena *a)
{
    if (a->fail_countdown == 0 || --a->fail_countdown != 0)
        return 0;
    a->failed = 1;
    return 1;
}
#else
const char *isapi__fault_injection(void)
{
    return NULL;
}

#define fault_hit(a) 0
#endif

void isapi__strings_begin(isapi_arena *a)
{
#ifdef ISAPI_FAULT_INJECTION
    static volatile LONG begun;
    long mode = fault_mode();
    a->fail_countdown = mode == -1 ? (unsigned long)InterlockedIncrement(&begun)
                                   : (unsigned long)mode;
#else
    (void)a;
#endif
}

char *isapi__strings_alloc(isapi_arena *a, size_t n)
{
    if (fault_hit(a))
        return NULL;
    if (!a->at || (size_t)(a->end - a->at) < n)
        return grow(a, n);
    char *p = a->at;
    a->at += n;
    ISAPI__UNPOISON(p, n);
    return p;
}

char *isapi__strings_dup(isapi_arena *a, const char *s, size_t n)
{
    char *p = n < SIZE_MAX ? isapi__strings_alloc(a, n + 1) : NULL;
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void isapi__strings_reset(isapi_arena *a)
{
    isapi__chunk *k = a->chunks;
    while (k && k->older) {
        isapi__chunk *older = k->older;
        ISAPI__UNPOISON(chunk_bytes(k), k->size);
        free(k);
        k = older;
    }
    a->chunks = k;
    a->at = k ? chunk_bytes(k) : NULL;
    a->end = k ? chunk_bytes(k) + k->size : NULL;
    if (k)
        ISAPI__POISON(chunk_bytes(k), k->size);
    a->failed = 0;
    a->fail_countdown = 0;
}

void isapi__strings_free(isapi_arena *a)
{
    isapi__chunk *k = a->chunks;
    while (k) {
        isapi__chunk *older = k->older;
        ISAPI__UNPOISON(chunk_bytes(k), k->size);
        free(k);
        k = older;
    }
    a->chunks = NULL;
    a->at = a->end = NULL;
}

/* ---- the request model's view of its arena ---------------------------------------- */

char *isapi_request_alloc(isapi_request *r, size_t n)
{
    return isapi__strings_alloc(r->arena, n ? n : 1);
}

int isapi_request_out_of_memory(const isapi_request *r)
{
    return r->arena->failed;
}

void isapi_request_clear_out_of_memory(isapi_request *r)
{
    r->arena->failed = 0;
}
