/*
 * fmt.h - decimal numbers without printf, and the bounded writer every formatter of a log
 * line or a response head uses.
 *
 * A response's status line and Content-Length and its W3C log line are formatted on
 * every request; glibc's snprintf cost more instructions there than the rest of the
 * request's user-space work together (callgrind, docs/performance.md). These write the
 * digits directly.
 *
 * host_out_t is a cursor over a buffer [p, end): every host_out_* append takes the end
 * from the cursor and never writes past it, whatever the lengths it is given; what does
 * not fit is dropped and `truncated` is set. A formatter that appends client bytes, a
 * filter's text or a setting with these cannot overflow its buffer by construction; a
 * wrong size estimate costs a cut line, never memory. Internal to host/.
 */
#ifndef HOST_FMT_H
#define HOST_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The most digits host_fmt_u64 writes (UINT64_MAX). */
#define HOST_FMT_U64_MAX 20

/* Writes v in decimal (no terminator) and returns the number of digits (1 to 20). out
 * must have room for HOST_FMT_U64_MAX bytes. Two digits per division, from a table of the
 * pairs "00" to "99" (most numbers in a log line have three digits or fewer). */
static inline size_t host_fmt_u64(char *out, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char tmp[HOST_FMT_U64_MAX];
    size_t at = sizeof tmp;
    while (v >= 100) {
        unsigned two = (unsigned)(v % 100);
        v /= 100;
        tmp[--at] = pairs[two * 2 + 1];
        tmp[--at] = pairs[two * 2];
    }
    if (v >= 10) {
        tmp[--at] = pairs[v * 2 + 1];
        tmp[--at] = pairs[v * 2];
    } else {
        tmp[--at] = (char)('0' + v);
    }
    size_t n = sizeof tmp - at;
    memcpy(out, tmp + at, n);
    return n;
}

/* Writes v in exactly `width` digits, zero-padded (higher digits are dropped). */
static inline size_t host_fmt_padded(char *out, unsigned v, size_t width)
{
    for (size_t i = width; i > 0; i--) {
        out[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    return width;
}

/* A write cursor: the next byte goes to p, and nothing is ever written at or past end. */
typedef struct host_out {
    char *p;
    char *end;
    int truncated;   /* set once an append did not fit whole */
} host_out_t;

/* A cursor over buf[0, cap). */
static inline host_out_t host_out_make(char *buf, size_t cap)
{
    host_out_t o = { buf, buf + cap, 0 };
    return o;
}

/* Bytes still free. */
static inline size_t host_out_room(const host_out_t *o)
{
    return o->p < o->end ? (size_t)(o->end - o->p) : 0;
}

/* Appends the first n bytes of s, or as many as fit. */
static inline void host_out_bytes(host_out_t *o, const void *s, size_t n)
{
    size_t room = host_out_room(o);
    if (n > room) {
        n = room;
        o->truncated = 1;
    }
    if (n) {
        memcpy(o->p, s, n);
        o->p += n;
    }
}

/* Appends a NUL-terminated string (NULL appends nothing), or as much as fits. */
static inline void host_out_str(host_out_t *o, const char *s)
{
    if (s)
        host_out_bytes(o, s, strlen(s));
}

static inline void host_out_char(host_out_t *o, char ch)
{
    if (o->p < o->end)
        *o->p++ = ch;
    else
        o->truncated = 1;
}

/* Appends v in decimal, all its digits or none: a cut number would be a wrong number. */
static inline void host_out_u64(host_out_t *o, uint64_t v)
{
    char digits[HOST_FMT_U64_MAX];
    size_t n = host_fmt_u64(digits, v);
    if (n > host_out_room(o)) {
        o->truncated = 1;
        return;
    }
    host_out_bytes(o, digits, n);
}

/* Appends v in exactly `width` digits (at most 20), zero-padded; all or none. */
static inline void host_out_padded(host_out_t *o, unsigned v, size_t width)
{
    char digits[HOST_FMT_U64_MAX];
    if (width > sizeof digits || width > host_out_room(o)) {
        o->truncated = 1;
        return;
    }
    host_out_bytes(o, digits, host_fmt_padded(digits, v, width));
}

/* Appends printf-style text, cut at the end of the buffer. For the cold paths only (the
 * error log, a refusal): the per-request paths use the appends above. */
static inline void host_out_vprintf(host_out_t *o, const char *fmt, va_list ap)
{
    size_t room = host_out_room(o);
    if (room == 0) {
        o->truncated = 1;
        return;
    }
    /* vsnprintf writes a terminator: it may use the last free byte for it, which stays
     * free (p never moves onto it unless the text fills it). */
    int n = vsnprintf(o->p, room, fmt, ap);
    if (n < 0) {
        o->truncated = 1;
        return;
    }
    if ((size_t)n >= room) {
        /* the text filled every byte but the terminator's; the last byte is cut */
        o->p += room - 1;
        o->truncated = 1;
        return;
    }
    o->p += n;
}

static inline void host_out_printf(host_out_t *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline void host_out_printf(host_out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_out_vprintf(o, fmt, ap);
    va_end(ap);
}

/* Bytes written since start (the buffer the cursor was made over). */
static inline size_t host_out_len(const host_out_t *o, const char *start)
{
    return (size_t)(o->p - start);
}

#endif
