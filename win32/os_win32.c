/*
 * os_win32.c - host/os.h for Windows (Vista and later; also runs under Wine), built by
 * mingw-w64 for i686 and x86_64. Winsock 2 for sockets, Win32 threads, SRW locks and
 * condition variables, and wide-character file APIs fed from UTF-8 paths.
 *
 * Sockets are non-blocking (FIONBIO). A call that may wait first tries the operation and,
 * on WSAEWOULDBLOCK, waits with select() on that one socket for the time left, so a worker
 * blocks exactly as long as its timeout. select() rather than WSAPoll for single-socket
 * waits because WSAPoll fails to report a refused connect on Windows before 10 2004.
 *
 * The poller is the portable one (host/os_poll.c) over WSAPoll; this file gives it its
 * wakeup, a connected loopback TCP pair (Windows has no pipe that WSAPoll can watch).
 *
 * Errors: map_win() is the one table for WSAGetLastError() and GetLastError() values (the
 * two ranges do not overlap); a value it does not name is returned inside the code
 * (plat__native_code) for plat_strerror()'s FormatMessage text, with no per-thread state.
 * TransmitFile is not used (it wants blocking or overlapped sockets), so
 * PLAT_HAVE_ZEROCOPY_SEND is 0 and files go out through a small buffer.
 */
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0600   /* SRW locks, condition variables, WSAPoll */
#define WIN32_LEAN_AND_MEAN

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <process.h>

#include "os.h"
#include "os_private.h"
#include "os_shared.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest real path handle_real_path() returns (UTF-8, with its NUL): NT paths reach 32767
 * UTF-16 units, up to three bytes each. */
#define PLAT_REAL_PATH_MAX (32768 * 3)

_Static_assert(sizeof(plat_socket_t) == sizeof(SOCKET), "plat_socket_t is a SOCKET");
_Static_assert(PLAT_INVALID_SOCKET == INVALID_SOCKET, "PLAT_INVALID_SOCKET");
_Static_assert(sizeof(plat_file_t) == sizeof(HANDLE), "plat_file_t is a HANDLE");
_Static_assert(sizeof(plat_mutex_t) == sizeof(SRWLOCK)
               && _Alignof(plat_mutex_t) >= _Alignof(SRWLOCK), "plat_mutex_t is an SRWLOCK");
_Static_assert(sizeof(plat_cond_t) == sizeof(CONDITION_VARIABLE)
               && _Alignof(plat_cond_t) >= _Alignof(CONDITION_VARIABLE),
               "plat_cond_t is a CONDITION_VARIABLE");

/* ---- errors ------------------------------------------------------------------------- */

static int map_win(int e)
{
    switch (e) {
    case WSAETIMEDOUT: case WAIT_TIMEOUT: case ERROR_TIMEOUT: return PLAT_ETIMEDOUT;
    case WSAECONNRESET: case WSAECONNABORTED: case WSAENOTCONN: case WSAESHUTDOWN:
    case WSAENETRESET: case ERROR_NETNAME_DELETED:
        return PLAT_ECONNRESET;
    case WSAECONNREFUSED: return PLAT_ECONNREFUSED;
    case WSAEADDRINUSE: return PLAT_EADDRINUSE;
    case WSAEADDRNOTAVAIL: return PLAT_EADDRNOTAVAIL;
    case WSAEINVAL: case WSAENOTSOCK: case WSAEFAULT: case WSAEAFNOSUPPORT:
    case ERROR_INVALID_PARAMETER: case ERROR_INVALID_HANDLE: case ERROR_INVALID_NAME:
    case ERROR_NO_UNICODE_TRANSLATION:
        return PLAT_EINVAL;
    case ERROR_FILE_NOT_FOUND: case ERROR_PATH_NOT_FOUND: case ERROR_BAD_NETPATH:
    case ERROR_INVALID_DRIVE: case ERROR_BAD_NET_NAME:
    case ERROR_CANT_RESOLVE_FILENAME:   /* a cycle of links */
        return PLAT_ENOENT;
    case ERROR_ACCESS_DENIED: case ERROR_SHARING_VIOLATION: case WSAEACCES:
        return PLAT_EACCES;
    case ERROR_DIRECTORY: return PLAT_EISDIR;
    case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case WSAENOBUFS: return PLAT_ENOMEM;
    case ERROR_TOO_MANY_OPEN_FILES: case WSAEMFILE: return PLAT_EMFILE;
    case ERROR_FILENAME_EXCED_RANGE: case ERROR_BUFFER_OVERFLOW: return PLAT_ENAMETOOLONG;
    case ERROR_HANDLE_EOF: case ERROR_READ_FAULT: return PLAT_EIO;
    case ERROR_NOT_SUPPORTED: case WSAEOPNOTSUPP: return PLAT_ENOTSUP;
    default: return plat__native_code(e);
    }
}

static int fail_wsa(void)
{
    return map_win(WSAGetLastError());
}

static int fail_win(void)
{
    return map_win((int)GetLastError());
}

char *plat_strerror(int code, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    int native = plat__native_of(code);
    char text[256];
    DWORD n = 0;
    if (native)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                           (DWORD)native, 0, text, sizeof text, NULL);
    /* FormatMessage ends its text with ".\r\n"; a log line wants neither. */
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == '.'
                     || text[n - 1] == ' '))
        n--;
    if (n > 0) {
        text[n] = '\0';
        snprintf(buf, len, "%s (error %d)", text, native);
    } else if (native) {
        snprintf(buf, len, "%s (error %d)", plat__code_text(PLAT_ERROR), native);
    } else {
        snprintf(buf, len, "%s", plat__code_text(code));
    }
    return buf;
}

/* ---- time --------------------------------------------------------------------------- */

uint64_t plat_time_mono_ms(void)
{
    static LARGE_INTEGER freq;   /* fixed at boot; a benign race writes the same value */
    LARGE_INTEGER c;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    uint64_t f = (uint64_t)freq.QuadPart, v = (uint64_t)c.QuadPart;
    return v / f * 1000u + v % f * 1000u / f;
}

/* The performance counter: Windows picks its source (the TSC where it is invariant). */
uint64_t plat_ticks_calibrate(void)
{
    LARGE_INTEGER freq;
    return QueryPerformanceFrequency(&freq) && freq.QuadPart > 0 ? (uint64_t)freq.QuadPart
                                                                  : 1;
}

uint64_t plat_ticks(void)
{
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    return (uint64_t)c.QuadPart;
}

const char *plat_ticks_source(void)
{
    return "QueryPerformanceCounter";
}

int64_t plat_time_unix_ms(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    int64_t t = (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
    return (t - 116444736000000000LL) / 10000;   /* 100 ns ticks since 1601 -> ms since 1970 */
}

static int64_t unix_sec_from_filetime(FILETIME ft)
{
    int64_t t = (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
    return (t - 116444736000000000LL) / 10000000;
}

void plat_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

/* ---- process ------------------------------------------------------------------------ */

typedef void (*shutdown_fn_t)(void *);
static shutdown_fn_t volatile shutdown_fn;
static void *volatile shutdown_arg;
static volatile LONG shutdown_flag;

int plat_init(void)
{
    WSADATA wsa;
    int e = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (e != 0)
        return map_win(e);
    return 0;
}

void plat_cleanup(void)
{
    WSACleanup();
}

/* Why no effect: on Windows OutputDebugStringA is kernel32's, which hands the text to an
 * attached debugger (or DebugView), as it does for filters under IIS. */
void plat_debug_output_set(void (*sink)(const char *text, size_t len))
{
    (void)sink;
}

uint32_t plat_process_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

unsigned plat_cpu_count(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (unsigned)si.dwNumberOfProcessors : 1u;
}

static BOOL WINAPI console_handler(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        InterlockedExchange(&shutdown_flag, 1);
        if (shutdown_fn)
            shutdown_fn(shutdown_arg);
        return TRUE;
    default:
        /* Why not CTRL_LOGOFF_EVENT: a server run as a service receives it whenever any
         * user logs off, and must keep running. */
        return FALSE;
    }
}

int plat_shutdown_handler_set(void (*fn)(void *arg), void *arg)
{
    shutdown_arg = arg;
    shutdown_fn = fn;
    if (!SetConsoleCtrlHandler(console_handler, TRUE))
        return fail_win();
    return 0;
}

int plat_shutdown_requested(void)
{
    return InterlockedCompareExchange(&shutdown_flag, 0, 0) != 0;
}

static unsigned __stdcall raise_thread(void *arg)
{
    (void)arg;
    console_handler(CTRL_BREAK_EVENT);
    return 0;
}

int plat_request_recycle(void)
{
    return PLAT_ENOTSUP;   /* one process: no supervisor to start another */
}

int plat_shutdown_raise(void)
{
    uintptr_t h = _beginthreadex(NULL, 0, raise_thread, NULL, 0, NULL);
    if (h == 0)
        return fail_win();
    CloseHandle((HANDLE)h);
    return 0;
}

/* ---- sockets ------------------------------------------------------------------------ */

/* Non-blocking, and not inherited by processes a filter might start: an inherited
 * listening socket would keep the port open after the server exits. */
static int setup_socket(SOCKET s)
{
    u_long on = 1;
    if (ioctlsocket(s, FIONBIO, &on) != 0)
        return fail_wsa();
    if (!SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0))
        return fail_win();
    return 0;
}

enum { WAIT_READ = 1, WAIT_WRITE = 2 };

/* Waits until s is readable or writable (or in error) until deadline: 1 ready, 0 timed
 * out, or an error. */
static int wait_sock(SOCKET s, int what, uint64_t deadline)
{
    fd_set rs, ws, es;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    if (what == WAIT_READ)
        FD_SET(s, &rs);
    else
        FD_SET(s, &ws);
    FD_SET(s, &es);
    int left = plat__time_left(deadline);
    struct timeval tv = { left / 1000, left % 1000 * 1000 };
    int r = select(0, &rs, &ws, &es, left < 0 ? NULL : &tv);
    if (r < 0)
        return fail_wsa();
    return r > 0 ? 1 : 0;
}

static void endpoint_from(const struct sockaddr_storage *ss, int len, plat_endpoint_t *ep)
{
    ep->addr[0] = '\0';
    ep->port = 0;
    if (getnameinfo((const struct sockaddr *)ss, len, ep->addr, sizeof ep->addr, NULL, 0,
                    NI_NUMERICHOST) != 0)
        ep->addr[0] = '\0';
    if (ss->ss_family == AF_INET)
        ep->port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    else if (ss->ss_family == AF_INET6)
        ep->port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int local_endpoint(SOCKET s, plat_endpoint_t *ep)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        return fail_wsa();
    endpoint_from(&ss, len, ep);
    return 0;
}

int plat_listen(const char *addr, uint16_t port, int backlog, plat_socket_t *out,
                uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    int len, rc = plat__parse_addr(addr, port, 1, &ss, &len);
    if (rc != 0)
        return rc;
    SOCKET s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return fail_wsa();
    BOOL one = TRUE;
    if ((rc = setup_socket(s)) != 0)
        goto err;
    /* Why SO_EXCLUSIVEADDRUSE and not SO_REUSEADDR: on Windows SO_REUSEADDR lets a second
     * socket bind the very same address and port and take over connections. */
    if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one) != 0)
        goto err_wsa;
    if (ss.ss_family == AF_INET6
        && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&one, sizeof one) != 0)
        goto err_wsa;
    if (bind(s, (struct sockaddr *)&ss, len) != 0
        || listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0)
        goto err_wsa;
    if (bound_port) {
        plat_endpoint_t ep;
        if ((rc = local_endpoint(s, &ep)) != 0)
            goto err;
        *bound_port = ep.port;
    }
    *out = s;
    return 0;
err_wsa:
    rc = fail_wsa();
err:
    closesocket(s);
    return rc;
}

int plat_accept(plat_socket_t ls, int timeout_ms, plat_socket_t *out, plat_endpoint_t *peer,
                plat_endpoint_t *local)
{
    uint64_t deadline = plat__deadline_of(timeout_ms);
    for (;;) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        SOCKET s = accept(ls, (struct sockaddr *)&ss, &len);
        if (s != INVALID_SOCKET) {
            int rc = setup_socket(s);
            if (rc == 0 && local)
                rc = local_endpoint(s, local);
            if (rc != 0) {
                closesocket(s);
                return rc;
            }
            if (peer)
                endpoint_from(&ss, len, peer);
            *out = s;
            return 0;
        }
        int e = WSAGetLastError();
        if (e == WSAEWOULDBLOCK) {
            if (timeout_ms == 0)
                return PLAT_ETIMEDOUT;
            int r = wait_sock(ls, WAIT_READ, deadline);
            if (r < 0)
                return r;
            if (r == 0)
                return PLAT_ETIMEDOUT;
            continue;
        }
        return map_win(e);
    }
}

int plat_sock_local(plat_socket_t s, plat_endpoint_t *out)
{
    return local_endpoint(s, out);
}

int plat_connect(const char *addr, uint16_t port, int timeout_ms, plat_socket_t *out)
{
    struct sockaddr_storage ss;
    int len, rc = plat__parse_addr(addr, port, 0, &ss, &len);
    if (rc != 0)
        return rc;
    SOCKET s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return fail_wsa();
    if ((rc = setup_socket(s)) != 0)
        goto err;
    if (connect(s, (struct sockaddr *)&ss, len) != 0) {
        if (WSAGetLastError() != WSAEWOULDBLOCK) {
            rc = fail_wsa();
            goto err;
        }
        rc = wait_sock(s, WAIT_WRITE, plat__deadline_of(timeout_ms));
        if (rc == 0)
            rc = PLAT_ETIMEDOUT;
        if (rc < 0)
            goto err;
        int soerr = 0, sl = sizeof soerr;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &sl) != 0) {
            rc = fail_wsa();
            goto err;
        }
        if (soerr != 0) {
            rc = map_win(soerr);
            goto err;
        }
    }
    *out = s;
    return 0;
err:
    closesocket(s);
    return rc;
}

ptrdiff_t plat_sock_recv(plat_socket_t s, void *buf, size_t len, int timeout_ms)
{
    uint64_t deadline = plat__deadline_of(timeout_ms);
    int want = len > INT_MAX ? INT_MAX : (int)len;
    for (;;) {
        int n = recv(s, buf, want, 0);
        if (n >= 0)
            return n;
        int e = WSAGetLastError();
        if (e != WSAEWOULDBLOCK)
            return map_win(e);
        if (timeout_ms == 0)
            return PLAT_ETIMEDOUT;
        int r = wait_sock(s, WAIT_READ, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return PLAT_ETIMEDOUT;
    }
}

int plat_sock_send_all(plat_socket_t s, const void *buf, size_t len, int timeout_ms)
{
    const char *p = buf;
    while (len > 0) {
        int want = len > INT_MAX ? INT_MAX : (int)len;
        int n = send(s, p, want, 0);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = WSAGetLastError();
        if (e != WSAEWOULDBLOCK)
            return map_win(e);
        int r = wait_sock(s, WAIT_WRITE, plat__deadline_of(timeout_ms));
        if (r < 0)
            return r;
        if (r == 0)
            return PLAT_ETIMEDOUT;
    }
    return 0;
}

ptrdiff_t plat_sock_send_some(plat_socket_t s, const void *buf, size_t len)
{
    int want = len > INT_MAX ? INT_MAX : (int)len;
    int n = send(s, buf, want, 0);
    if (n >= 0)
        return n;
    int e = WSAGetLastError();
    return e == WSAEWOULDBLOCK ? 0 : map_win(e);
}

ptrdiff_t plat_sock_send_file_some(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len)
{
    (void)s;
    (void)f;
    (void)off;
    (void)len;
    return PLAT_ENOTSUP;   /* PLAT_HAVE_ZEROCOPY_SEND is 0: the caller copies */
}

int plat_sock_send_file(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                        int timeout_ms)
{
    return plat__send_file_copy(s, f, off, len, timeout_ms);
}

int plat_sock_shutdown_write(plat_socket_t s)
{
    if (shutdown(s, SD_SEND) != 0)
        return fail_wsa();
    return 0;
}

int plat_sock_set_nodelay(plat_socket_t s, int on)
{
    BOOL v = on ? TRUE : FALSE;
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&v, sizeof v) != 0)
        return fail_wsa();
    return 0;
}

void plat_sock_close(plat_socket_t s)
{
    if (s != PLAT_INVALID_SOCKET)
        closesocket(s);
}

/* ---- the poller's wakeup (host/os_poll.c runs the poller over WSAPoll) --------------- */

/* A connected loopback pair. Why check the peer's port: any local process could connect
 * to our listener between listen() and accept(). */
static int make_wake_pair(SOCKET *r, SOCKET *w)
{
    plat_socket_t ls, cs, as = PLAT_INVALID_SOCKET;
    uint16_t port;
    int rc = plat_listen("127.0.0.1", 0, 1, &ls, &port);
    if (rc != 0)
        return rc;
    rc = plat_connect("127.0.0.1", port, 5000, &cs);
    if (rc != 0) {
        closesocket(ls);
        return rc;
    }
    plat_endpoint_t mine, peer;
    rc = local_endpoint(cs, &mine);
    while (rc == 0) {
        rc = plat_accept(ls, 5000, &as, &peer, NULL);
        if (rc == 0 && peer.port == mine.port)
            break;
        if (rc == 0)
            closesocket(as);
    }
    closesocket(ls);
    if (rc != 0) {
        closesocket(cs);
        return rc;
    }
    plat_sock_set_nodelay(cs, 1);
    *r = as;
    *w = cs;
    return 0;
}

int plat__wake_open(plat__wake_t *wk)
{
    return make_wake_pair(&wk->r, &wk->w);
}

void plat__wake_close(plat__wake_t *wk)
{
    closesocket(wk->r);
    closesocket(wk->w);
}

void plat__wake_drain(plat__wake_t *wk)
{
    char buf[64];
    while (recv(wk->r, buf, sizeof buf, 0) > 0)
        ;
}

int plat__wake_signal(plat__wake_t *wk)
{
    if (send(wk->w, "w", 1, 0) == 1 || WSAGetLastError() == WSAEWOULDBLOCK)
        return 0;
    return fail_wsa();
}

int plat__poll_failure(void)
{
    return fail_wsa();
}

/* ---- threads ------------------------------------------------------------------------ */

struct plat_thread {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};

/* _beginthreadex rather than CreateThread: the C runtime sets up its per-thread state. */
static unsigned __stdcall thread_main(void *a)
{
    plat_thread_t *t = a;
    t->fn(t->arg);
    return 0;
}

int plat_thread_create(plat_thread_t **out, void (*fn)(void *arg), void *arg)
{
    plat_thread_t *t = malloc(sizeof *t);
    if (!t)
        return PLAT_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        int rc = fail_win();
        free(t);
        return rc;
    }
    t->h = (HANDLE)h;
    *out = t;
    return 0;
}

int plat_thread_join(plat_thread_t *t)
{
    DWORD r = WaitForSingleObject(t->h, INFINITE);
    int rc = r == WAIT_OBJECT_0 ? 0 : fail_win();
    CloseHandle(t->h);
    free(t);
    return rc;
}

int plat_mutex_init(plat_mutex_t *m)
{
    InitializeSRWLock((PSRWLOCK)m);
    return 0;
}

void plat_mutex_destroy(plat_mutex_t *m)
{
    (void)m;   /* SRW locks own no resources */
}

void plat_mutex_lock(plat_mutex_t *m)
{
    AcquireSRWLockExclusive((PSRWLOCK)m);
}

void plat_mutex_unlock(plat_mutex_t *m)
{
    ReleaseSRWLockExclusive((PSRWLOCK)m);
}

int plat_cond_init(plat_cond_t *c)
{
    InitializeConditionVariable((PCONDITION_VARIABLE)c);
    return 0;
}

void plat_cond_destroy(plat_cond_t *c)
{
    (void)c;
}

void plat_cond_signal(plat_cond_t *c)
{
    WakeConditionVariable((PCONDITION_VARIABLE)c);
}

void plat_cond_broadcast(plat_cond_t *c)
{
    WakeAllConditionVariable((PCONDITION_VARIABLE)c);
}

int plat_cond_wait(plat_cond_t *c, plat_mutex_t *m, int timeout_ms)
{
    DWORD ms = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    if (SleepConditionVariableSRW((PCONDITION_VARIABLE)c, (PSRWLOCK)m, ms, 0))
        return 0;
    if (GetLastError() == ERROR_TIMEOUT)
        return PLAT_ETIMEDOUT;
    abort();
}

/* ---- files and paths ---------------------------------------------------------------- */

/* UTF-8 -> a malloc'ed wide string, or NULL with the error recorded. */
static wchar_t *to_wide(const char *s, int *rc)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        *rc = fail_win();
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        *rc = PLAT_ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

int plat_file_open(const char *path, plat_file_t *out, plat_file_info_t *info)
{
    int rc = 0;
    wchar_t *w = to_wide(path, &rc);
    if (!w)
        return rc;
    /* Why share write and delete: a site's files may be replaced while they are served. */
    HANDLE h = CreateFileW(w, GENERIC_READ,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        DWORD attr = GetFileAttributesW(w);
        free(w);
        /* Opening a folder without FILE_FLAG_BACKUP_SEMANTICS fails as "access denied". */
        if (e == ERROR_ACCESS_DENIED && attr != INVALID_FILE_ATTRIBUTES
            && (attr & FILE_ATTRIBUTE_DIRECTORY))
            return PLAT_EISDIR;
        return map_win((int)e);
    }
    free(w);
    /* Why: names such as "con" or "nul" open devices, not files, in any folder. */
    if (GetFileType(h) != FILE_TYPE_DISK) {
        CloseHandle(h);
        return PLAT_EACCES;
    }
    if (info && (rc = plat_file_info(h, info)) != 0) {
        CloseHandle(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* The real path of the open handle h in UTF-8, from GetFinalPathNameByHandleW, whose
 * "\\?\C:\x" and "\\?\UNC\server\share" forms become "C:\x" and "\\server\share". */
static int handle_real_path(HANDLE h, char *out, size_t outlen)
{
    DWORD flags = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
    DWORD need = GetFinalPathNameByHandleW(h, NULL, 0, flags);
    if (need == 0)
        return fail_win();
    wchar_t *w = malloc(((size_t)need + 1) * sizeof *w);
    if (!w)
        return PLAT_ENOMEM;
    DWORD got = GetFinalPathNameByHandleW(h, w, need + 1, flags);
    if (got == 0 || got > need) {
        int rc = got == 0 ? fail_win() : PLAT_ERROR;
        free(w);
        return rc;
    }
    const wchar_t *name = w;
    if (wcsncmp(w, L"\\\\?\\UNC\\", 8) == 0) {
        w[6] = L'\\';   /* "\\?\UNC\server" -> "\\server" */
        name = w + 6;
    } else if (wcsncmp(w, L"\\\\?\\", 4) == 0) {
        name = w + 4;
    }
    int cap = outlen > INT_MAX ? INT_MAX : (int)outlen;
    int n = WideCharToMultiByte(CP_UTF8, 0, name, -1, out, cap, NULL, NULL);
    int e = n > 0 ? 0 : (int)GetLastError();
    free(w);
    if (n <= 0)
        return e == ERROR_INSUFFICIENT_BUFFER ? PLAT_ENAMETOOLONG : map_win(e);
    return n - 1;
}

/* Opens path for FILE_READ_ATTRIBUTES only, with FILE_FLAG_BACKUP_SEMANTICS, which a
 * folder needs to be opened at all. Why attributes only: with the backup privilege enabled
 * the flag also bypasses the file's security, so it never opens anything for reading. */
static HANDLE open_attributes(const char *path, int *rc)
{
    wchar_t *w = to_wide(path, rc);
    if (!w)
        return INVALID_HANDLE_VALUE;
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
        *rc = fail_win();
    free(w);
    return h;
}

int plat_path_real(const char *path, char *out, size_t outlen)
{
    int rc = 0;
    HANDLE h = open_attributes(path, &rc);
    if (h == INVALID_HANDLE_VALUE)
        return rc;
    rc = handle_real_path(h, out, outlen);
    CloseHandle(h);
    return rc;
}

/* 0 when the file open as h lies where plat_file_open_within() allows, else an error. */
static int check_within(HANDLE h, const char *path, size_t root_len, const char *within,
                        plat_links_t links)
{
    char *real = malloc(PLAT_REAL_PATH_MAX);
    if (!real)
        return PLAT_ENOMEM;
    int rc = handle_real_path(h, real, PLAT_REAL_PATH_MAX);
    if (rc >= 0)
        rc = plat__path_within(real, within,
                               links == PLAT_LINKS_NEVER && root_len ? path + root_len : NULL)
                 ? 0 : PLAT_EOUTSIDE;
    free(real);
    return rc;
}

int plat_file_open_within(const char *path, size_t root_len, const char *within,
                          plat_links_t links, plat_file_t *out, plat_file_info_t *info)
{
    if (links == PLAT_LINKS_ALWAYS)
        return plat_file_open(path, out, info);
    plat_file_t h;
    plat_file_info_t fi;
    int rc = plat_file_open(path, &h, &fi);
    if (rc == PLAT_EISDIR) {
        /* A folder: checked like a file before the caller hears it is one. */
        HANDLE d = open_attributes(path, &rc);
        if (d == INVALID_HANDLE_VALUE)
            return rc;
        rc = check_within(d, path, root_len, within, links);
        CloseHandle(d);
        return rc == 0 ? PLAT_EISDIR : rc;
    }
    if (rc != 0)
        return rc;
    rc = check_within(h, path, root_len, within, links);
    if (rc != 0) {
        CloseHandle(h);
        return rc;
    }
    if (info)
        *info = fi;
    *out = h;
    return 0;
}

int plat_file_open_append(const char *path, plat_file_t *out)
{
    int rc = 0;
    wchar_t *w = to_wide(path, &rc);
    if (!w)
        return rc;
    /* FILE_APPEND_DATA without FILE_WRITE_DATA: every WriteFile lands at the end of the
     * file (the appends themselves are serialised by plat_file_append). */
    HANDLE h = CreateFileW(w, FILE_APPEND_DATA | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return map_win((int)e);
    }
    *out = h;
    return 0;
}

/* Appends to one file are serialised by a lock chosen from the handle's value (static SRW
 * locks need no initialisation; two files sharing a lock only wait for each other).
 * Why: Windows makes each WriteFile on a FILE_APPEND_DATA handle one atomic append, but
 * Wine finds the end of the file and writes there as two steps, so concurrent appends from
 * several threads overwrite each other: 3,950 of 4,002 access-log records kept, some torn
 * (docs/robustness.md). A line is also more than one WriteFile when it is cut in chunks. */
enum { APPEND_LOCKS = 16 };
static SRWLOCK append_locks[APPEND_LOCKS];

static SRWLOCK *append_lock_for(plat_file_t f)
{
    uintptr_t v = (uintptr_t)f;
    return &append_locks[(v >> 2) % APPEND_LOCKS];   /* handles are multiples of 4 */
}

int plat_file_append(plat_file_t f, const void *buf, size_t len)
{
    const char *p = buf;
    int rc = 0;
    SRWLOCK *lock = append_lock_for(f);
    AcquireSRWLockExclusive(lock);
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len, done = 0;
        if (!WriteFile(f, p, chunk, &done, NULL)) {
            DWORD e = GetLastError();
            rc = map_win((int)e);
            break;
        }
        p += done;
        len -= done;
    }
    ReleaseSRWLockExclusive(lock);
    return rc;
}

/* The handle value changes on Windows, so a writer that read the old one just before the
 * swap may still append through it: the old handle stays open until the swap after next
 * (retired[] keeps it), and its appends take the same lock as before. */
enum { RETIRED_HANDLES = 2 };
static HANDLE retired_handles[RETIRED_HANDLES];
static SRWLOCK retired_lock = SRWLOCK_INIT;

int plat_file_reopen_append(plat_file_t *f, const char *path, const void *head,
                            size_t head_len)
{
    plat_file_t fresh;
    int rc = plat_file_open_append(path, &fresh);
    if (rc != 0)
        return rc;
    if (head_len > 0 && (rc = plat_file_append(fresh, head, head_len)) != 0) {
        CloseHandle(fresh);
        return rc;
    }
    AcquireSRWLockExclusive(&retired_lock);
    HANDLE oldest = retired_handles[0];
    retired_handles[0] = retired_handles[1];
    retired_handles[1] = *f;
    *f = fresh;
    ReleaseSRWLockExclusive(&retired_lock);
    if (oldest) {
        SRWLOCK *lock = append_lock_for(oldest);
        AcquireSRWLockExclusive(lock);
        CloseHandle(oldest);
        ReleaseSRWLockExclusive(lock);
    }
    return 0;
}

/* No signals on Windows: logs are reopened by rollover only. */
int plat_reopen_signal_install(void)
{
    return 0;
}

unsigned plat_reopen_generation(void)
{
    return 0;
}

int plat_file_info(plat_file_t f, plat_file_info_t *info)
{
    BY_HANDLE_FILE_INFORMATION bh;
    if (!GetFileInformationByHandle(f, &bh))
        return fail_win();
    info->exists = 1;
    info->is_directory = (bh.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? 1 : 0;
    info->size = info->is_directory ? 0 : ((uint64_t)bh.nFileSizeHigh << 32) | bh.nFileSizeLow;
    info->mtime = unix_sec_from_filetime(bh.ftLastWriteTime);
    return 0;
}

int plat_file_stat(const char *path, plat_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    int rc = 0;
    wchar_t *w = to_wide(path, &rc);
    if (!w)
        return rc;
    WIN32_FILE_ATTRIBUTE_DATA d;
    BOOL okay = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
    DWORD e = okay ? 0 : GetLastError();
    free(w);
    if (!okay)
        return (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
                   ? 0 : map_win((int)e);
    info->exists = 1;
    info->is_directory = (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? 1 : 0;
    info->size = info->is_directory ? 0 : ((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow;
    info->mtime = unix_sec_from_filetime(d.ftLastWriteTime);
    return 0;
}

ptrdiff_t plat_file_pread(plat_file_t f, void *buf, size_t len, uint64_t off)
{
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)off;
    ov.OffsetHigh = (DWORD)(off >> 32);
    DWORD want = len > (1u << 30) ? (1u << 30) : (DWORD)len, got = 0;
    if (!ReadFile(f, buf, want, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        return fail_win();
    }
    return (ptrdiff_t)got;
}

void plat_file_close(plat_file_t f)
{
    if (f != PLAT_INVALID_FILE)
        CloseHandle(f);
}

static int ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = a[i] >= 'a' && a[i] <= 'z' ? (char)(a[i] - 32) : a[i];
        if (c != b[i])
            return 0;
    }
    return 1;
}

int plat__path_segment_ok(const char *seg, size_t n)
{
    if (n == 1 && seg[0] == '.')
        return 1;
    if (n == 2 && seg[0] == '.' && seg[1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)seg[i];
        /* ':' names drives and alternate data streams ("a.asp::$DATA" is the file's source);
         * '\\' is a separator here; <>"|?* are invalid in names (and wildcards to the NT
         * layer); control characters are invalid too. */
        if (c < 32 || strchr(":\\<>\"|?*", c))
            return 0;
    }
    /* Windows drops trailing dots and spaces, so "a.asp." would open "a.asp". */
    if (seg[n - 1] == '.' || seg[n - 1] == ' ')
        return 0;
    /* Device names open devices in every folder, with any extension ("con.txt"). */
    size_t base = 0;
    while (base < n && seg[base] != '.')
        base++;
    static const char *const dev3[] = { "CON", "PRN", "AUX", "NUL" };
    if (base == 3)
        for (size_t i = 0; i < 4; i++)
            if (ieq(seg, dev3[i], 3))
                return 0;
    if (base == 4 && (ieq(seg, "COM", 3) || ieq(seg, "LPT", 3)) && seg[3] >= '1'
        && seg[3] <= '9')
        return 0;
    return 1;
}

static int is_sep(char c)
{
    return c == '\\' || c == '/';
}

int plat_path_is_absolute(const char *path)
{
    if (is_sep(path[0]))
        return 1;   /* "\x" (current drive) and "\\server\share" */
    return ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z'))
           && path[1] == ':' && is_sep(path[2]);
}

int plat_path_dirname(const char *path, char *out, size_t outlen)
{
    size_t len = strlen(path), cut = len, drive = 0;
    if (len >= 2 && path[1] == ':')
        drive = 2;
    while (cut > drive && !is_sep(path[cut - 1]))
        cut--;
    const char *dir = path;
    size_t n;
    if (cut == drive) {
        /* No separator: "x.ini" -> ".", "C:x.ini" -> "C:". */
        if (drive == 0)
            dir = ".", n = 1;
        else
            n = drive;
    } else {
        n = cut - 1;
        while (n > drive && is_sep(path[n - 1]))
            n--;
        if (n == drive)
            n = drive + 1;   /* keep the root separator: "\x" -> "\", "C:\x" -> "C:\" */
    }
    if (n + 1 > outlen)
        return PLAT_ENAMETOOLONG;
    memcpy(out, dir, n);
    out[n] = '\0';
    return (int)n;
}
