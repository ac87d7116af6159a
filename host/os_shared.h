/*
 * os_shared.h - what the two platform layers (host/posix/os_posix.c, win32/os_win32.c)
 * share, written once in host/os_shared.c: deadline arithmetic, the numeric address parser
 * and the read-and-send loop for files; and the supervisors' (host/posix/os_supervise_*.c)
 * formatted error-log line. Socket types come from the platform's os_private.h
 * (plat__socklen_t and the address structures). Not for core code.
 */
#ifndef ISAPIHOST_OS_SHARED_H
#define ISAPIHOST_OS_SHARED_H

#include "os.h"
#include "os_private.h"
#include "supervise.h"

#include <stdint.h>

/* The monotonic time at which timeout_ms runs out; UINT64_MAX for -1 (never). */
uint64_t plat__deadline_of(int timeout_ms);

/* Milliseconds left before `deadline` (0 when past), as a poll() timeout: -1 for never. */
int plat__time_left(uint64_t deadline);

/* Numeric address text ("::1", "[::1]", "127.0.0.1") and a port into a socket address;
 * `passive` for a listener's wildcard. Returns 0 or PLAT_EINVAL. */
int plat__parse_addr(const char *text, uint16_t port, int passive,
                     struct sockaddr_storage *ss, plat__socklen_t *len);

/* Sends len bytes of f from off by reading them into a buffer: where the OS has no
 * zero-copy send, or it refused this file. Returns 0 or a PLAT_E* code. */
int plat__send_file_copy(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                         int timeout_ms);

/* One error-log line through the supervisor's callback (host_supervise_opts_t's log), cut
 * at 511 bytes; nothing when opts or its callback is NULL. */
void plat__supervise_say(const host_supervise_opts_t *opts, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
