/*
 * os_shared.c - the code the POSIX and Windows platform layers share (os_shared.h). Built
 * on every platform beside its layer; the platform's os_private.h brings its socket headers
 * (BSD sockets, or Winsock with ws2tcpip.h), whose getaddrinfo() and address structures
 * are the same here.
 */
#define _POSIX_C_SOURCE 200809L   /* getaddrinfo() in the POSIX headers; Winsock has it anyway */
#include "os_shared.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

uint64_t plat__deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : plat_time_mono_ms() + (uint64_t)timeout_ms;
}

int plat__time_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = plat_time_mono_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

int plat__parse_addr(const char *text, uint16_t port, int passive,
                     struct sockaddr_storage *ss, plat__socklen_t *len)
{
    char host[PLAT_ADDRSTRLEN];
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof host)
        return PLAT_EINVAL;
    memcpy(host, text, n);
    host[n] = '\0';
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
    if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
        return PLAT_EINVAL;
    if (ai->ai_addrlen > sizeof *ss) {
        freeaddrinfo(ai);
        return PLAT_EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (plat__socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        return PLAT_EINVAL;
    return 0;
}

int plat_sock_bound_to(plat_socket_t s, const char *addr, uint16_t port)
{
    plat_endpoint_t ep;
    struct sockaddr_storage want, have;
    plat__socklen_t want_len, have_len;
    /* Why both through the parser: "::" and "0::0" name one address in two spellings. */
    if (plat_sock_local(s, &ep) != 0 || (port != 0 && ep.port != port)
        || plat__parse_addr(addr, 0, 1, &want, &want_len) != 0
        || plat__parse_addr(ep.addr, 0, 1, &have, &have_len) != 0)
        return 0;
    return want_len == have_len && memcmp(&want, &have, (size_t)want_len) == 0;
}

int plat__send_file_copy(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                         int timeout_ms)
{
    char buf[16384];
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ptrdiff_t n = plat_file_pread(f, buf, want, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return PLAT_EIO;
        int rc = plat_sock_send_all(s, buf, (size_t)n, timeout_ms);
        if (rc != 0)
            return rc;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

void plat__supervise_say(const host_supervise_opts_t *opts, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (opts && opts->log)
        opts->log(level, line);
}
