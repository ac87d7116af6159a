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
 *
 * Blocks are handed out zeroed. Why: filters read fields of an AllocMem'd structure before
 * setting them (a widely used URL-rewriting filter does), and a reused chunk would hand them
 * whatever the previous connection left there, another client's data included.
 *
 * Each block records where its user part starts and how long it is, so the engine can
 * prove how many bytes a pointer into a block may reach (isapi__arena_room: the bound on a
 * SEND/READ_RAW_DATA buffer a filter swapped in, docs/semantics.md).
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

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
