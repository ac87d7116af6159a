/*
 * strings.c - the small string helpers the engine shares: ASCII case-insensitive
 * comparison, copies, appending, the exact-size protocol of the callbacks that copy a
 * string into a filter's buffer, and the request strings (isapi_str_set) with the
 * per-thread block cache they and header entries come from.
 *
 * The case-insensitive comparisons are ASCII only on purpose: header and variable names
 * are tokens, and locale-dependent folding would make matching differ between hosts.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

int isapi__ieqn(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

int isapi__ieq(const char *a, const char *b)
{
    return isapi__ieqn(a, strlen(a), b, strlen(b));
}

char *isapi__strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int isapi__append_n(char **dst, const char *text, size_t add)
{
    size_t old = *dst ? strlen(*dst) : 0;
    char *p = realloc(*dst, old + add + 1);
    if (!p)
        return -1;
    memcpy(p + old, text, add);
    p[old + add] = '\0';
    *dst = p;
    return 0;
}

/* The size protocol of GetServerVariable, GetHeader and the like: copies value and its NUL
 * into buf when *size allows, else fails with ERROR_INSUFFICIENT_BUFFER; either way *size
 * receives the size needed. A TRUE return clears the last error. */
BOOL isapi__size_result(const char *value, size_t len, void *buf, DWORD *size)
{
    DWORD need = (DWORD)len + 1;
    if (*size < need) {
        *size = need;
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    if (!buf) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    memcpy(buf, value, len);
    ((char *)buf)[len] = '\0';
    *size = need;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* ---- request strings ----------------------------------------------------------------
 *
 * A request sets a dozen strings and headers and drops them all when it ends, and the next
 * request on the thread wants the same sizes again. glibc's per-thread cache keeps only 7
 * blocks per size, so most of those frees took its slower, locked path (callgrind: its
 * _int_free was a tenth of a request's instructions). Request strings therefore come in
 * two block sizes, and each thread keeps up to STR_KEEP blocks of each for reuse; longer
 * strings are plain allocations. Every block carries its size class in front. Threads
 * hand their blocks back with isapi_thread_cache_release() before they exit. */

#define STR_CLASSES 2
#define STR_KEEP 64
static const size_t str_class_size[STR_CLASSES] = { 64, 256 };

typedef union str_head {
    size_t cls;                 /* index into str_class_size, or STR_CLASSES: plain */
    max_align_t align;
} str_head;

static _Thread_local str_head *str_cache[STR_CLASSES];   /* linked through the block */
static _Thread_local unsigned str_cached[STR_CLASSES];

char *isapi__str_alloc(size_t n)
{
    size_t cls = 0;
    while (cls < STR_CLASSES && n > str_class_size[cls])
        cls++;
    str_head *h;
    if (cls < STR_CLASSES && (h = str_cache[cls]) != NULL) {
        memcpy(&str_cache[cls], h + 1, sizeof(str_head *));
        str_cached[cls]--;
        return (char *)(h + 1);
    }
    h = malloc(sizeof *h + (cls < STR_CLASSES ? str_class_size[cls] : n));
    if (!h)
        return NULL;
    h->cls = cls;
    return (char *)(h + 1);
}

void isapi__str_release(char *p)
{
    if (!p)
        return;
    str_head *h = (str_head *)p - 1;
    size_t cls = h->cls;
    if (cls < STR_CLASSES && str_cached[cls] < STR_KEEP) {
        memcpy(p, &str_cache[cls], sizeof(str_head *));
        str_cache[cls] = h;
        str_cached[cls]++;
        return;
    }
    free(h);
}

void isapi_thread_cache_release(void)
{
    for (size_t cls = 0; cls < STR_CLASSES; cls++) {
        while (str_cache[cls]) {
            str_head *h = str_cache[cls];
            memcpy(&str_cache[cls], h + 1, sizeof(str_head *));
            free(h);
        }
        str_cached[cls] = 0;
    }
}

/* Why one shared empty string: every request sets several fields to "" (anonymous
 * authentication, no password, no query), and pointing them all at this one byte saves a
 * block each. It is writable so that a caller storing '\0' at [0] is harmless. */
char isapi__empty_str[1];

void isapi__str_free(char *p)
{
    if (p != isapi__empty_str)
        isapi__str_release(p);
}

int isapi_str_set(char **field, const char *s, size_t n)
{
    char *p = NULL;
    if (s) {
        if (n == (size_t)-1)
            n = strlen(s);
        p = n == 0 ? isapi__empty_str : isapi__str_alloc(n + 1);
        if (!p)
            return -1;
        if (n) {
            memcpy(p, s, n);
            p[n] = '\0';
        }
    }
    isapi__str_free(*field);
    *field = p;
    return 0;
}
