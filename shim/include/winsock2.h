/*
 * winsock2.h (shim) - the few Winsock names a filter or extension needs to talk TCP to a
 * back end (a connector), over the BSD socket API. Header only: Winsock's calls are BSD
 * sockets' with Windows names, so each maps to the POSIX call it mirrors and libshim
 * exports nothing for it (shim/README.md, "Winsock").
 *
 * Differences a source must respect to build both ways: SOCKET is an int here; the error
 * of a failed call is WSAGetLastError(), which returns the POSIX errno (compare it with the
 * WSAE* names below, which are defined to the errno values); socket options take the
 * POSIX types (SO_RCVTIMEO takes a struct timeval here, a DWORD on Windows: use select()
 * for time limits, which both accept). Not provided: WSAAsync*, overlapped I/O, WSAPoll,
 * getaddrinfo's wide variants.
 */
#ifndef SHIM_WINSOCK2_H
#define SHIM_WINSOCK2_H

#include <windows.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int SOCKET;
#define INVALID_SOCKET (-1)
#define SOCKET_ERROR   (-1)
#define SD_RECEIVE SHUT_RD
#define SD_SEND    SHUT_WR
#define SD_BOTH    SHUT_RDWR

#define WSAEINTR        EINTR
#define WSAEWOULDBLOCK  EWOULDBLOCK
#define WSAECONNREFUSED ECONNREFUSED
#define WSAECONNRESET   ECONNRESET
#define WSAETIMEDOUT    ETIMEDOUT

#define WSADESCRIPTION_LEN 256
#define WSASYS_STATUS_LEN  128

typedef struct WSAData {
    WORD wVersion;
    WORD wHighVersion;
    char szDescription[WSADESCRIPTION_LEN + 1];
    char szSystemStatus[WSASYS_STATUS_LEN + 1];
    unsigned short iMaxSockets;
    unsigned short iMaxUdpDg;
    char *lpVendorInfo;
} WSADATA, *LPWSADATA;

/* Nothing to start: the socket API is always there. Reports the version asked for. */
static inline int WSAStartup(WORD wVersionRequested, LPWSADATA lpWSAData)
{
    if (lpWSAData) {
        memset(lpWSAData, 0, sizeof *lpWSAData);
        lpWSAData->wVersion = wVersionRequested;
        lpWSAData->wHighVersion = MAKEWORD(2, 2);
    }
    return 0;
}

static inline int WSACleanup(void) { return 0; }
static inline int closesocket(SOCKET s) { return close(s); }
static inline int WSAGetLastError(void) { return errno; }

#ifdef __cplusplus
}
#endif

#endif /* SHIM_WINSOCK2_H */
