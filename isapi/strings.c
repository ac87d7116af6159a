/*
 * strings.c - the small string helpers the engine shares: ASCII case-insensitive
 * comparison, copies, appending, the exact-size protocol of the callbacks that copy a
 * string into a filter's buffer, and the request strings (isapi_str_set), which come from
 * the request's arena (arena.c) and are freed once, when the request ends.
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
    /* Why first: a name is nearly always spelled the way it is looked up. */
    if (memcmp(a, b, alen) == 0)
        return 1;
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
 * Every string of a request comes from its arena and is freed once, with the request
 * (isapi.h, "freed once"); setting a field never frees the string it held. */

int isapi_str_set(isapi_request *r, char **field, const char *s, size_t n)
{
    char *p = NULL;
    if (s) {
        p = isapi__strings_dup(r->arena, s, n == (size_t)-1 ? strlen(s) : n);
        if (!p)
            return -1;
    }
    *field = p;
    return 0;
}
