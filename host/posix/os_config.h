/*
 * os_config.h - platform config for host/os.h on POSIX (included by os.h when the
 * build defines PLAT_CONFIG_POSIX). Handle types and capability macros; a capability may
 * be preset to 0 by the build (-DPLAT_HAVE_EPOLL=0) to test the portable fallback.
 */
#ifndef ISAPIHOST_OS_CONFIG_POSIX_H
#define ISAPIHOST_OS_CONFIG_POSIX_H

#include <pthread.h>

typedef int plat_socket_t;
#define PLAT_INVALID_SOCKET (-1)

typedef int plat_file_t;
#define PLAT_INVALID_FILE (-1)

#define PLAT_PATH_SEP '/'

typedef pthread_mutex_t plat_mutex_t;
typedef pthread_cond_t plat_cond_t;

#if !defined(PLAT_HAVE_EPOLL)
#if defined(__linux__)
#define PLAT_HAVE_EPOLL 1
#else
#define PLAT_HAVE_EPOLL 0
#endif
#endif

/* sendfile(2) from a file to a socket, Linux signature. */
#if !defined(PLAT_HAVE_SENDFILE)
#if defined(__linux__)
#define PLAT_HAVE_SENDFILE 1
#else
#define PLAT_HAVE_SENDFILE 0
#endif
#endif
#define PLAT_HAVE_ZEROCOPY_SEND PLAT_HAVE_SENDFILE

/* accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (Linux, the BSDs). */
#if !defined(PLAT_HAVE_ACCEPT4)
#if defined(__linux__)
#define PLAT_HAVE_ACCEPT4 1
#else
#define PLAT_HAVE_ACCEPT4 0
#endif
#endif

/* openat2(2) with RESOLVE_NO_SYMLINKS (Linux 5.6; the call is made through syscall(2),
 * and a kernel without it answers ENOSYS, which the code takes in its stride). */
#if !defined(PLAT_HAVE_OPENAT2)
#if defined(__linux__)
#define PLAT_HAVE_OPENAT2 1
#else
#define PLAT_HAVE_OPENAT2 0
#endif
#endif

/* glibc's malloc, whose per-thread arena count mallopt(M_ARENA_MAX) sets. */
#if !defined(PLAT_HAVE_MALLOC_ARENA_MAX)
#if defined(__GLIBC__)
#define PLAT_HAVE_MALLOC_ARENA_MAX 1
#else
#define PLAT_HAVE_MALLOC_ARENA_MAX 0
#endif
#endif

/* pthread_condattr_setclock(CLOCK_MONOTONIC); macOS lacks it. */
#if !defined(PLAT_HAVE_CONDATTR_SETCLOCK)
#if defined(__APPLE__)
#define PLAT_HAVE_CONDATTR_SETCLOCK 0
#else
#define PLAT_HAVE_CONDATTR_SETCLOCK 1
#endif
#endif

/* Threads are started with CreateThread instead of pthread_create (the Winelib build sets
 * it: host/posix/os_winelib.c). */
#if !defined(PLAT_WIN32_THREADS)
#define PLAT_WIN32_THREADS 0
#endif

/* File names follow Win32 rules (device names such as CON and NUL, trailing dots and
 * spaces dropped, ':' for streams); plat_path_join refuses such URL segments when 1. */
#define PLAT_WIN32_NAME_RULES 0

#endif
