/*
 * fmt.h - decimal numbers without printf, for the per-request path.
 *
 * A response's status line and Content-Length and its W3C log line are formatted on
 * every request; glibc's snprintf cost more instructions there than the rest of the
 * request's user-space work together (callgrind, docs/performance.md). These write the
 * digits directly. Internal to host/.
 */
#ifndef HOST_FMT_H
#define HOST_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal (no terminator) and returns the number of digits (1 to 20). */
static inline size_t host_fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
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

#endif
