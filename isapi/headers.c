/*
 * headers.c - ordered header lists, and the check every header text a filter hands in
 * passes (isapi__header_input_fault).
 *
 * A list is an array of {name, value} pairs in arrival order; names keep their original
 * case and carry no colon. Every lookup compares the full name case-insensitively after
 * dropping one trailing colon from the lookup key, so "Custom:" never matches "Custom1"
 * (Why: IIS 6 matched by prefix and overwrote the wrong header, KB 872953). "Set" replaces
 * all instances in place of the first one, so a header keeps its position; "get joined"
 * concatenates repeated headers with ", " (the list form HTTP defines for them).
 *
 * The entries of a request's lists come from its arena (arena.c): removing or replacing
 * one frees nothing, the request's end frees them all at once; a failed allocation sets
 * the request's out-of-memory flag as well as returning -1. A list of one's own (no
 * arena) allocates and frees each entry. The case-insensitive comparisons are
 * strings.c's, ASCII only.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A header is one allocation: the name, its NUL, the value, its NUL. The value pointer
 * points into the name's block, so only the name is ever freed (in a list of one's own). */
static char *header_block(isapi_headers *h, const char *name, size_t nlen, const char *value,
                          size_t vlen, char **value_out)
{
    char *b = h->arena ? isapi__strings_alloc(h->arena, nlen + vlen + 2)
                       : malloc(nlen + vlen + 2);
    if (!b)
        return NULL;
    memcpy(b, name, nlen);
    b[nlen] = '\0';
    memcpy(b + nlen + 1, value, vlen);
    b[nlen + 1 + vlen] = '\0';
    *value_out = b + nlen + 1;
    return b;
}

/* ---- header text a filter hands in ---------------------------------------------------
 *
 * Every header byte a filter gives the engine passes isapi__header_input_fault(), so one
 * rule set decides what reaches the wire (docs/semantics.md, "Header text from filters"):
 * a name is an RFC 9110 token (section 5.1), a value is field-value (section 5.5: VCHAR,
 * obs-text, SP, HTAB; no control byte), and a block of lines is "Name: value" lines each
 * ending in CRLF or a bare LF, the last line end optional, one blank line allowed at the
 * very end. A lone CR is refused. Why strict about CR: a filter's text is spliced into a
 * header block shared with the host and the other filters, and a lone CR read as a line end
 * let one filter's text end the block and drop every header added after it. Why a bare LF
 * is a line end: filters written with "\n" alone work under IIS (RFC 9112 section 2.2 lets
 * a recipient take LF as the line terminator), and the host re-serialises every header
 * with CRLF, so no bare LF reaches the wire. */

/* What each byte may be in header text: BYTE_TCHAR, an RFC 9110 tchar (section 5.6.2:
 * ALPHA, DIGIT and "!#$%&'*+-.^_`|~"); BYTE_VALUE, a field-value byte (section 5.5:
 * VCHAR, obs-text, SP, HTAB; no other control byte, no DEL). Why a table: every byte of
 * every header a filter or extension hands in is checked, one lookup each. */
enum { BYTE_TCHAR = 1, BYTE_VALUE = 2 };
static const unsigned char header_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,  /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x10 */
    2, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,  /* 0x20 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,  /* 0x30 */
    2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x40 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,  /* 0x50 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,  /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xf0 */
};

static int is_tchar(unsigned char ch)
{
    return header_byte[ch] & BYTE_TCHAR;
}

static int is_value_char(unsigned char ch)
{
    return header_byte[ch] & BYTE_VALUE;
}

/* The length of the line end at p: 2 for CRLF, 1 for a bare LF, 0 for none. */
static size_t line_end(const char *p)
{
    return p[0] == '\r' && p[1] == '\n' ? 2 : p[0] == '\n' ? 1 : 0;
}

static const char *block_fault(const char *text, size_t *keep)
{
    const char *p = text;
    *keep = 0;
    while (*p) {
        size_t blank = line_end(p);
        if (blank) {
            if (p[blank] != '\0')
                return "text after a blank line (the blank line ends a header block)";
            break;
        }
        const char *name = p;
        while (is_tchar((unsigned char)*p))
            p++;
        if (p == name)
            return *p == ' ' || *p == '\t' ? "a line starting with white space (folding)"
                   : *p == '\r' ? "a CR not followed by LF"
                   : "a header name that is not a token";
        if (*p != ':')
            return *p == '\r' || *p == '\n' ? "a line without a colon"
                   : "a byte in a header name that is not a token character";
        p++;
        /* NUL, CR and LF are not value bytes: the scan stops at the line's end too */
        while (is_value_char((unsigned char)*p))
            p++;
        if (*p && *p != '\r' && *p != '\n')
            return "a control byte in a header value";
        if (*p == '\0') {
            *keep = (size_t)(p - text);
            break;
        }
        size_t end = line_end(p);
        if (!end)
            return "a CR not followed by LF";
        p += end;
        *keep = (size_t)(p - text);
    }
    return NULL;
}

const char *isapi__header_input_fault(enum isapi__hin kind, const char *text, size_t *keep)
{
    size_t unused;
    const unsigned char *p = (const unsigned char *)text;
    switch (kind) {
    case ISAPI__HIN_BLOCK:
        return block_fault(text, keep ? keep : &unused);
    case ISAPI__HIN_NAME:
        while (is_tchar(*p))
            p++;
        if (p == (const unsigned char *)text || p[0] != ':' || p[1] != '\0')
            return "a header name that is not a token followed by its colon";
        return NULL;
    case ISAPI__HIN_VALUE:
    case ISAPI__HIN_STATUS:
        for (; *p; p++)
            if (!is_value_char(*p))
                return kind == ISAPI__HIN_VALUE ? "a control byte in a header value"
                                                : "a control byte in the status line";
        return NULL;
    case ISAPI__HIN_TOKEN:
        while (is_tchar(*p))
            p++;
        return p == (const unsigned char *)text || *p ? "a method that is not a token" : NULL;
    case ISAPI__HIN_TARGET:
        for (; *p; p++)
            if (*p <= 0x20 || *p == 0x7f)
                return "a space or control byte in the request line";
        return NULL;
    }
    return "an unknown kind of header text";
}

static void release_entry(const isapi_headers *h, isapi_header *e)
{
    if (!h->arena)
        free(e->name);
}

static size_t key_len(const char *name)
{
    size_t n = strlen(name);
    return n && name[n - 1] == ':' ? n - 1 : n;
}

static int matches(const isapi_header *h, const char *name, size_t nlen)
{
    return isapi__ieqn(h->name, isapi_header_name_len(h), name, nlen);
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
        if (!v) {
            if (h->arena)
                h->arena->failed = 1;
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    char *val;
    char *n = header_block(h, name, nlen, value, vlen, &val);
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
            release_entry(h, &h->v[i]);
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
        char *n = header_block(h, h->v[i].name, isapi_header_name_len(&h->v[i]), value,
                               strlen(value), &v);
        if (!n)
            return -1;
        release_entry(h, &h->v[i]);
        h->v[i].name = n;
        h->v[i].value = v;
        /* drop the later instances */
        size_t out = i + 1;
        for (size_t j = i + 1; j < h->n; j++) {
            if (matches(&h->v[j], name, nlen)) {
                release_entry(h, &h->v[j]);
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

void isapi_headers_find_each(const isapi_headers *h, size_t from, const char *const *names,
                             size_t count, const char **values)
{
    size_t lens[8], left = count < 8 ? count : 8;
    for (size_t k = 0; k < left; k++) {
        lens[k] = key_len(names[k]);
        values[k] = NULL;
    }
    for (size_t i = from; i < h->n && left; i++) {
        size_t n = isapi_header_name_len(&h->v[i]);
        for (size_t k = 0; k < count && k < 8; k++) {
            if (!values[k] && lens[k] == n && matches(&h->v[i], names[k], n)) {
                values[k] = h->v[i].value;
                left--;
                break;
            }
        }
    }
}

void isapi_headers_remove_at(isapi_headers *h, size_t i)
{
    release_entry(h, &h->v[i]);
    memmove(&h->v[i], &h->v[i + 1], (h->n - i - 1) * sizeof h->v[0]);
    h->n--;
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
    if (!h->arena)
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
