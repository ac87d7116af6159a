/*
 * memory.c - Heap*, Local* and Global* over malloc.
 *
 * A heap is a `struct shim_heap`: a lock and a doubly linked list of its blocks, so
 * HeapDestroy can free every block still allocated, as Windows does. Each block carries a
 * header (owning heap, exact requested size, a magic number) placed before the pointer
 * handed out, so HeapSize returns exactly the size asked for and HeapFree/HeapSize can
 * reject pointers that are not heap blocks. GetProcessHeap() is a heap that is never
 * destroyed. HEAP_NO_SERIALIZE is accepted; the shim always locks.
 *
 * LocalAlloc/GlobalAlloc allocate from the process heap. LMEM_MOVEABLE/GMEM_MOVEABLE
 * memory is allocated fixed (the shim has no Lock/Unlock functions, so the difference
 * cannot be observed), and the Free functions return NULL on success and the handle on
 * failure, as Windows does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "shim_private.h"

#define SHIM_HEAP_MAGIC  0x48454150u   /* "HEAP" */
#define SHIM_BLOCK_MAGIC 0x424c4b21u   /* "BLK!" */

struct shim_block {
    struct shim_heap *heap;
    struct shim_block *prev, *next;
    size_t size;
    uint32_t magic;
};

/* Header size rounded up so the user pointer keeps malloc's alignment. */
#define SHIM_HDR (((sizeof(struct shim_block) + alignof(max_align_t) - 1) / alignof(max_align_t)) * alignof(max_align_t))

struct shim_heap {
    uint32_t magic;
    pthread_mutex_t lock;
    struct shim_block *blocks;
};

static struct shim_heap shim_process_heap = { SHIM_HEAP_MAGIC, PTHREAD_MUTEX_INITIALIZER, NULL };

static struct shim_block *shim__block(LPCVOID mem)
{
    struct shim_block *b = (struct shim_block *)((char *)(uintptr_t)mem - SHIM_HDR);
    return b->magic == SHIM_BLOCK_MAGIC ? b : NULL;
}

static BOOL shim__heap_valid(HANDLE h)
{
    return h && ((struct shim_heap *)h)->magic == SHIM_HEAP_MAGIC;
}

static void *shim__heap_alloc(struct shim_heap *heap, DWORD flags, size_t size)
{
    struct shim_block *b;

    if (size > (size_t)-1 - SHIM_HDR)
        return NULL;
    b = (flags & HEAP_ZERO_MEMORY) ? calloc(1, SHIM_HDR + size) : malloc(SHIM_HDR + size);
    if (!b)
        return NULL;
    b->heap = heap;
    b->size = size;
    b->magic = SHIM_BLOCK_MAGIC;
    b->prev = NULL;
    pthread_mutex_lock(&heap->lock);
    b->next = heap->blocks;
    if (heap->blocks)
        heap->blocks->prev = b;
    heap->blocks = b;
    pthread_mutex_unlock(&heap->lock);
    return (char *)b + SHIM_HDR;
}

/* Caller holds heap->lock. */
static void shim__block_unlink(struct shim_heap *heap, struct shim_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        heap->blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

void *shim__local_alloc(size_t size)
{
    return shim__heap_alloc(&shim_process_heap, 0, size);
}

/*** GetProcessHeap (shim kernel32) ***/
HANDLE WINAPI GetProcessHeap(void)
{
    return &shim_process_heap;
}

/*** HeapCreate (shim kernel32) ***/
HANDLE WINAPI HeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize)
{
    struct shim_heap *heap = calloc(1, sizeof *heap);
    int err;

    if (dwMaximumSize)
        SHIM_FIXME("fixed-size heaps grow without limit");
    if (!heap)
        return shim_set_errno(ENOMEM), NULL;
    err = pthread_mutex_init(&heap->lock, NULL);
    if (err) {
        free(heap);
        return shim_set_errno(err), NULL;
    }
    heap->magic = SHIM_HEAP_MAGIC;
    return heap;
}

/*** HeapDestroy (shim kernel32) ***/
BOOL WINAPI HeapDestroy(HANDLE hHeap)
{
    struct shim_heap *heap = hHeap;

    if (!shim__heap_valid(hHeap) || heap == &shim_process_heap)
        return shim_set_errno(SHIM_E_INVALID_HANDLE);
    while (heap->blocks) {
        struct shim_block *b = heap->blocks;
        heap->blocks = b->next;
        b->magic = 0;
        free(b);
    }
    heap->magic = 0;
    pthread_mutex_destroy(&heap->lock);
    free(heap);
    return TRUE;
}

/*** HeapAlloc (shim kernel32) ***/
LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    /* Why: HeapAlloc does not set the last error on failure (MS docs); it returns NULL
     * (or raises, with HEAP_GENERATE_EXCEPTIONS, which the shim does not model). */
    if (!shim__heap_valid(hHeap))
        return NULL;
    return shim__heap_alloc(hHeap, dwFlags, dwBytes);
}

/*** HeapReAlloc (shim kernel32) ***/
LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes)
{
    struct shim_heap *heap = hHeap;
    struct shim_block *b, *nb;
    size_t old;

    if (!shim__heap_valid(hHeap) || !lpMem || !(b = shim__block(lpMem)) || b->heap != heap) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    old = b->size;
    if (dwBytes > (size_t)-1 - SHIM_HDR)
        return NULL;
    if ((dwFlags & HEAP_REALLOC_IN_PLACE_ONLY) && dwBytes > old) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    pthread_mutex_lock(&heap->lock);
    if (dwFlags & HEAP_REALLOC_IN_PLACE_ONLY) {
        b->size = dwBytes;   /* shrinking keeps the block where it is */
        pthread_mutex_unlock(&heap->lock);
        return lpMem;
    }
    shim__block_unlink(heap, b);
    nb = realloc(b, SHIM_HDR + dwBytes);
    if (!nb)
        nb = b;   /* the old block is still valid: put it back */
    else
        nb->size = dwBytes;
    nb->prev = NULL;
    nb->next = heap->blocks;
    if (heap->blocks)
        heap->blocks->prev = nb;
    heap->blocks = nb;
    pthread_mutex_unlock(&heap->lock);
    if (nb->size != dwBytes) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    if ((dwFlags & HEAP_ZERO_MEMORY) && dwBytes > old)
        memset((char *)nb + SHIM_HDR + old, 0, dwBytes - old);
    return (char *)nb + SHIM_HDR;
}

/*** HeapFree (shim kernel32) ***/
BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    struct shim_heap *heap = hHeap;
    struct shim_block *b;

    if (!lpMem)
        return TRUE;   /* Why: freeing NULL succeeds on Windows */
    if (!shim__heap_valid(hHeap) || !(b = shim__block(lpMem)) || b->heap != heap)
        return shim_set_errno(EINVAL);
    pthread_mutex_lock(&heap->lock);
    shim__block_unlink(heap, b);
    pthread_mutex_unlock(&heap->lock);
    b->magic = 0;
    free(b);
    return TRUE;
}

/*** HeapSize (shim kernel32) ***/
SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem)
{
    struct shim_block *b;

    if (!shim__heap_valid(hHeap) || !lpMem || !(b = shim__block(lpMem)) || b->heap != hHeap) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return (SIZE_T)-1;
    }
    return b->size;
}

/*** LocalAlloc (shim kernel32) ***/
HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes)
{
    void *p = shim__heap_alloc(&shim_process_heap, (uFlags & LMEM_ZEROINIT) ? HEAP_ZERO_MEMORY : 0, uBytes);
    if (!p)
        shim_set_errno(ENOMEM);
    return p;
}

/*** LocalFree (shim kernel32) ***/
HLOCAL WINAPI LocalFree(HLOCAL hMem)
{
    if (!hMem)
        return NULL;
    if (!HeapFree(&shim_process_heap, 0, hMem)) {
        SetLastError(ERROR_INVALID_HANDLE);
        return hMem;
    }
    return NULL;
}

/*** GlobalAlloc (shim kernel32) ***/
HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes)
{
    return LocalAlloc(uFlags, dwBytes);
}

/*** GlobalFree (shim kernel32) ***/
HGLOBAL WINAPI GlobalFree(HGLOBAL hMem)
{
    return LocalFree(hMem);
}
