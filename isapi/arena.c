/*
 * arena.c - the AllocMem arena of one connection.
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
 */
#include <stdlib.h>
#include <stdint.h>

#include "internal.h"

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
    isapi__block *b = (isapi__block *)raw;
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
