/*
 * os_config.h - platform config for host/os.h on Windows (included by os.h when the build
 * defines PLAT_CONFIG_WIN32). It deliberately includes no Windows header, so core code is
 * not exposed to <windows.h> macros: the types below have the size and alignment of
 * SOCKET, HANDLE, SRWLOCK and CONDITION_VARIABLE, which win32/os_win32.c checks with
 * static assertions and casts to.
 */
#ifndef ISAPIHOST_OS_CONFIG_WIN32_H
#define ISAPIHOST_OS_CONFIG_WIN32_H

#include <stdint.h>

typedef uintptr_t plat_socket_t;                        /* SOCKET */
#define PLAT_INVALID_SOCKET (~(plat_socket_t)0)         /* INVALID_SOCKET */

typedef void *plat_file_t;                              /* HANDLE */
#define PLAT_INVALID_FILE ((plat_file_t)(intptr_t)-1)   /* INVALID_HANDLE_VALUE */

#define PLAT_PATH_SEP '\\'

typedef struct plat_mutex { void *opaque_; } plat_mutex_t;  /* SRWLOCK */
typedef struct plat_cond { void *opaque_; } plat_cond_t;    /* CONDITION_VARIABLE */

#define PLAT_HAVE_EPOLL 0
/* TransmitFile needs a blocking or overlapped socket; ours are non-blocking. */
#define PLAT_HAVE_ZEROCOPY_SEND 0

/* File names follow Win32 rules (device names such as CON and NUL, trailing dots and
 * spaces dropped, ':' for streams); plat_path_join refuses such URL segments when 1. */
#define PLAT_WIN32_NAME_RULES 1

#endif
