/*
 * headers.c - ordered header lists and the small string helpers the engine shares.
 *
 * A list is an array of {name, value} pairs in arrival order; names keep their original
 * case and carry no colon. Every lookup compares the full name case-insensitively after
 * dropping one trailing colon from the lookup key, so "Custom:" never matches "Custom1"
 * (Why: IIS 6 matched by prefix and overwrote the wrong header, KB 872953). "Set" replaces
 * all instances in place of the first one, so a header keeps its position; "get joined"
 * concatenates repeated headers with ", " (the list form HTTP defines for them).
 *
 * The case-insensitive comparisons here are ASCII only on purpose: header names are
 * tokens, and locale-dependent folding would make matching differ between hosts.
 */
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

/* Why one shared empty string: every request sets several fields to "" (anonymous
 * authentication, no password, no query), and pointing them all at this one byte saves a
 * malloc and a free each. It is writable so that a caller storing '\0' at [0] is harmless. */
char isapi__empty_str[1];

void isapi__str_free(char *p)
{
    if (p != isapi__empty_str)
        free(p);
}

int isapi_str_set(char **field, const char *s, size_t n)
{
    char *p = NULL;
    if (s) {
        if (n == (size_t)-1)
            n = strlen(s);
        p = n == 0 ? isapi__empty_str : isapi__strndup(s, n);
        if (!p)
            return -1;
    }
    isapi__str_free(*field);
    *field = p;
    return 0;
}

/* A header is one allocation: the name, its NUL, the value, its NUL. The value pointer
 * points into the name's block, so only the name is ever freed. */
static char *header_block(const char *name, size_t nlen, const char *value, size_t vlen,
                          char **value_out)
{
    char *b = malloc(nlen + vlen + 2);
    if (!b)
        return NULL;
    memcpy(b, name, nlen);
    b[nlen] = '\0';
    memcpy(b + nlen + 1, value, vlen);
    b[nlen + 1 + vlen] = '\0';
    *value_out = b + nlen + 1;
    return b;
}

int isapi__append(char **dst, const char *text)
{
    size_t old = *dst ? strlen(*dst) : 0, add = strlen(text);
    char *p = realloc(*dst, old + add + 1);
    if (!p)
        return -1;
    memcpy(p + old, text, add + 1);
    *dst = p;
    return 0;
}

/* Checks header text ("Name: value\r\n..."): every non-empty line has a colon after a
 * non-empty name. Returns 1 when valid. */
int isapi__check_header_text(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *eol = p + strcspn(p, "\r\n");
        if (eol > p) {
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (!colon || colon == p)
                return 0;
        }
        p = eol;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    return 1;
}

static size_t key_len(const char *name)
{
    size_t n = strlen(name);
    return n && name[n - 1] == ':' ? n - 1 : n;
}

static int matches(const isapi_header *h, const char *name, size_t nlen)
{
    return isapi__ieqn(h->name, strlen(h->name), name, nlen);
}

int isapi_headers_add(isapi_headers *h, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    if (nlen == (size_t)-1)
        nlen = strlen(name);
    if (vlen == (size_t)-1)
        vlen = strlen(value);
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        isapi_header *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    char *val;
    char *n = header_block(name, nlen, value, vlen, &val);
    if (!n)
        return -1;
    h->v[h->n].name = n;
    h->v[h->n].value = val;
    h->n++;
    return 0;
}

size_t isapi_headers_del(isapi_headers *h, const char *name)
{
    size_t nlen = key_len(name), out = 0, removed = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (matches(&h->v[i], name, nlen)) {
            free(h->v[i].name);
            removed++;
        } else {
            h->v[out++] = h->v[i];
        }
    }
    h->n = out;
    return removed;
}

int isapi_headers_set(isapi_headers *h, const char *name, const char *value)
{
    size_t nlen = key_len(name);
    for (size_t i = 0; i < h->n; i++) {
        if (!matches(&h->v[i], name, nlen))
            continue;
        char *v;
        char *n = header_block(h->v[i].name, strlen(h->v[i].name), value, strlen(value), &v);
        if (!n)
            return -1;
        free(h->v[i].name);
        h->v[i].name = n;
        h->v[i].value = v;
        /* drop the later instances */
        size_t out = i + 1;
        for (size_t j = i + 1; j < h->n; j++) {
            if (matches(&h->v[j], name, nlen)) {
                free(h->v[j].name);
            } else {
                h->v[out++] = h->v[j];
            }
        }
        h->n = out;
        return 0;
    }
    return isapi_headers_add(h, name, nlen, value, (size_t)-1);
}

const char *isapi_headers_find(const isapi_headers *h, const char *name)
{
    size_t nlen = key_len(name);
    for (size_t i = 0; i < h->n; i++)
        if (matches(&h->v[i], name, nlen))
            return h->v[i].value;
    return NULL;
}

char *isapi_headers_get_joined(const isapi_headers *h, const char *name, int *oom)
{
    size_t nlen = key_len(name), total = 0, count = 0;
    if (oom)
        *oom = 0;
    for (size_t i = 0; i < h->n; i++)
        if (matches(&h->v[i], name, nlen)) {
            total += strlen(h->v[i].value) + 2;
            count++;
        }
    if (!count)
        return NULL;
    char *out = malloc(total + 1), *p = out;
    if (!out) {
        if (oom)
            *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (!matches(&h->v[i], name, nlen))
            continue;
        if (p != out) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        size_t l = strlen(h->v[i].value);
        memcpy(p, h->v[i].value, l);
        p += l;
    }
    *p = '\0';
    return out;
}

int isapi_headers_parse_block(isapi_headers *h, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        if (len == 0)
            break;                       /* empty line: end of the block */
        const char *colon = memchr(p, ':', len);
        if (!colon || colon == p)
            return -2;
        const char *v = colon + 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (isapi_headers_add(h, p, (size_t)(colon - p), v, (size_t)(end - v)) != 0)
            return -1;
        p += len;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    return 0;
}

void isapi_headers_reset(isapi_headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].name);
    h->n = 0;
}

void isapi_headers_clear(isapi_headers *h)
{
    isapi_headers_reset(h);
    free(h->v);
    h->v = NULL;
    h->cap = 0;
}
