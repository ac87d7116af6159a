/*
 * os.h - the platform layer: every OS service the host uses, behind one small interface.
 *
 * Core code (the .c files in host/ and isapi/) includes this header and nothing
 * OS-specific. The implementation is chosen by the build, one folder per OS (as libuv
 * has src/unix and src/win): host/posix/ (os_posix.c; the epoll poller in
 * poller_epoll.c) and win32/ (os_win32.c); host/os_poll.c is the portable poll()/WSAPoll
 * poller both can use, and host/os_common.c holds the parts that need no OS (HTTP dates,
 * calendar arithmetic, path joining). The build puts the platform's folder on the include
 * path; its os_config.h supplies the handle types and the capability macros (PLAT_HAVE_*).
 * Shared code tests capabilities, never OS names.
 *
 * Conventions. Functions return 0 (or a count / byte count) on success and a negative
 * PLAT_E* code on failure. The error travels in the returned value and nowhere else: a
 * native error (errno, WSAGetLastError, GetLastError) that no PLAT_E* code names is
 * returned inside the code (plat__native_code), and plat_strerror() gives its text.
 * Timeouts are in milliseconds: -1 waits forever, 0 does not wait. All functions are
 * thread-safe unless their comment says otherwise. Strings (paths, addresses) are UTF-8.
 */
#ifndef ISAPIHOST_OS_H
#define ISAPIHOST_OS_H

#include <stddef.h>
#include <stdint.h>

#if !defined(PLAT_CONFIG_WIN32) && !defined(PLAT_CONFIG_POSIX)
#error "host/os.h: the build must define PLAT_CONFIG_POSIX or PLAT_CONFIG_WIN32"
#endif
#include "os_config.h"   /* host/posix/ or win32/, from the include path */

/* The config header must provide these; a build that lacks one does not compile. */
#if !defined(PLAT_PATH_SEP) || !defined(PLAT_INVALID_SOCKET) || !defined(PLAT_INVALID_FILE) \
    || !defined(PLAT_HAVE_ZEROCOPY_SEND) || !defined(PLAT_WIN32_NAME_RULES)
#error "host/os.h: incomplete platform config header"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes ------------------------------------------------------------------- */

enum {
    PLAT_OK = 0,
    PLAT_ERROR = -1,          /* any other failure */
    PLAT_ETIMEDOUT = -2,      /* the timeout expired before the operation could complete */
    PLAT_ECONNRESET = -3,     /* the peer reset or aborted the connection (also EPIPE) */
    PLAT_ECONNREFUSED = -4,
    PLAT_EADDRINUSE = -5,     /* the address or port is taken (or reserved exclusively) */
    PLAT_EADDRNOTAVAIL = -6,  /* no such local address */
    PLAT_EINVAL = -7,         /* a bad argument: address text, path, size */
    PLAT_ENOENT = -8,         /* no such file or folder */
    PLAT_EACCES = -9,
    PLAT_EISDIR = -10,        /* a folder where a file was expected */
    PLAT_ENOMEM = -11,        /* out of memory or buffers */
    PLAT_EMFILE = -12,        /* out of descriptors/handles: back off, then retry */
    PLAT_ENAMETOOLONG = -13,  /* a result does not fit the caller's buffer */
    PLAT_EIO = -14,           /* a file read failed or the file ended early */
    PLAT_ENOTSUP = -15,
    PLAT_EOUTSIDE = -16       /* the file opened lies outside the allowed folder, or was
                                 reached through a link where links are refused */
};

/* Native errors that no code above names come back as PLAT_ENATIVE - native (at most
 * PLAT_ENATIVE); plat_strerror() turns them into the OS's text. */
#define PLAT_ENATIVE (-1000)

/* Writes a one-line description of `code` into buf (always NUL-terminated, truncated to
 * len) and returns buf: for a native error the OS's own message (strerror / FormatMessage)
 * and its number, e.g. "Host is unreachable (errno 113)"; otherwise a fixed description
 * of the code ("connection refused"). */
char *plat_strerror(int code, char *buf, size_t len);

/* For the platform files: the code that carries `native` (PLAT_ERROR when it cannot), and
 * the native error a code carries (0 for the PLAT_E* codes). */
int plat__native_code(int native);
int plat__native_of(int code);

/* ---- process ------------------------------------------------------------------------ */

/* Call once before anything else, from the main thread. POSIX: ignores SIGPIPE (a peer that
 * closes early must not kill the server). Windows: WSAStartup 2.2. */
int plat_init(void);
void plat_cleanup(void);

uint32_t plat_process_id(void);

/* Routes the text filters pass to OutputDebugStringA to sink, one call per line (at most
 * 1 KiB plus "...", no newline, NUL-terminated). POSIX: libshim's ShimSetDebugSink, in
 * host/posix/os_debugout_posix.c (apart from os_posix.c, which tests/os builds without libshim);
 * Windows: no effect, the text goes to an attached debugger as under IIS. Call before the
 * filters load. */
void plat_debug_output_set(void (*sink)(const char *text, size_t len));

/* Number of processors available to this process (at least 1). */
unsigned plat_cpu_count(void);

/* Registers fn(arg) to run when the process is asked to stop: SIGINT and SIGTERM on POSIX,
 * the console control events (Ctrl+C, Ctrl+Break, console closed, system shutdown) on
 * Windows.
 * Before calling fn, the handler sets the flag read by plat_shutdown_requested().
 * On POSIX fn runs inside the signal handler: it may only do async-signal-safe things
 * (store to a lock-free atomic, plat_poller_wakeup()). On Windows it runs on a thread the
 * system creates. Call once, before starting threads; fn may be NULL (flag only). */
int plat_shutdown_handler_set(void (*fn)(void *arg), void *arg);

/* 1 once a stop was requested (see above), else 0. Async-signal-safe. */
int plat_shutdown_requested(void);

/* Asks this process to stop through the same path a user's request takes: POSIX sends
 * SIGTERM to the process; Windows runs the registered handler on a new thread, as the
 * console does (a real console event would reach every process on the console). */
int plat_shutdown_raise(void);

/* ---- sockets ------------------------------------------------------------------------ */

/* plat_socket_t is an int descriptor on POSIX and a SOCKET on Windows (from the config
 * header); PLAT_INVALID_SOCKET marks "none". Sockets made here are not inherited by child
 * processes and are non-blocking at the OS level: every wait below is a poll with the
 * given timeout, so one blocked call never outlives its timeout. */

#define PLAT_ADDRSTRLEN 64

typedef struct plat_endpoint {
    char addr[PLAT_ADDRSTRLEN];  /* numeric text: "127.0.0.1", "::1" (no brackets) */
    uint16_t port;
} plat_endpoint_t;

/* Listens on a numeric IPv4 or IPv6 address ("0.0.0.0", "127.0.0.1", "::", "::1" or
 * "[::1]") and port. Port 0 picks a free port; *bound_port (may be NULL) receives the port
 * actually bound. IPv6 listeners are IPv6-only. POSIX sets SO_REUSEADDR (restart while old
 * connections sit in TIME_WAIT); Windows sets SO_EXCLUSIVEADDRUSE instead, because there
 * SO_REUSEADDR would let another process bind the same port and steal connections.
 * Returns 0, PLAT_EINVAL (not a numeric address), PLAT_EADDRINUSE, PLAT_EADDRNOTAVAIL,
 * PLAT_EACCES, ... The caller owns *out and closes it with plat_sock_close(). */
int plat_listen(const char *addr, uint16_t port, int backlog, plat_socket_t *out,
                uint16_t *bound_port);

/* Waits up to timeout_ms for a connection on listening socket ls and accepts it (timeout
 * 0: one non-blocking attempt, no wait). peer and local may be NULL. Returns 0 with *out
 * set (caller owns it), PLAT_ETIMEDOUT, PLAT_ECONNRESET (a client gave up before it was
 * accepted: just call again), PLAT_EMFILE (out of descriptors: back off, then call again),
 * or another error. Several threads may accept on one listener. */
int plat_accept(plat_socket_t ls, int timeout_ms, plat_socket_t *out, plat_endpoint_t *peer,
                plat_endpoint_t *local);

/* The address and port s is bound to (getsockname). Returns 0 or an error. */
int plat_sock_local(plat_socket_t s, plat_endpoint_t *out);

/* 1 when s is bound to the numeric address addr (as plat_listen takes it) and to port
 * (0: any port), else 0: a listening socket received from another process is matched to
 * the configuration with it. */
int plat_sock_bound_to(plat_socket_t s, const char *addr, uint16_t port);

/* Connects to a numeric address and port within timeout_ms (client side: tests, tools).
 * Returns 0 with *out set, PLAT_ECONNREFUSED, PLAT_ETIMEDOUT, PLAT_EINVAL, ... */
int plat_connect(const char *addr, uint16_t port, int timeout_ms, plat_socket_t *out);

/* Receives up to len bytes, waiting up to timeout_ms for the first byte. Returns the number
 * of bytes (> 0), 0 when the peer closed its sending side (orderly close), PLAT_ETIMEDOUT,
 * PLAT_ECONNRESET, or another error. With timeout 0 it is one non-blocking receive:
 * PLAT_ETIMEDOUT says nothing was pending, and no wait is made. */
ptrdiff_t plat_sock_recv(plat_socket_t s, void *buf, size_t len, int timeout_ms);

/* Sends all len bytes. timeout_ms bounds each wait for buffer space, so a slow but moving
 * peer never times out and a stalled one does. Returns 0, PLAT_ETIMEDOUT, PLAT_ECONNRESET,
 * ...; after a failure, how much was sent is unknown and the connection should be closed. */
int plat_sock_send_all(plat_socket_t s, const void *buf, size_t len, int timeout_ms);

/* Sends what the socket takes now, without waiting. Returns the bytes sent (0 when its
 * buffer is full: watch it for writability and call again), PLAT_ECONNRESET, or another
 * error. */
ptrdiff_t plat_sock_send_some(plat_socket_t s, const void *buf, size_t len);

/* Sends up to len bytes of file f from offset off without waiting and without a copy.
 * Returns the bytes sent (0: the socket is full), PLAT_EIO when the file ends early, a
 * socket error, or PLAT_ENOTSUP where PLAT_HAVE_ZEROCOPY_SEND is 0. */
ptrdiff_t plat_sock_send_file_some(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len);

/* Sends len bytes of file f from offset off, like plat_sock_send_all. Without a copy when
 * PLAT_HAVE_ZEROCOPY_SEND is 1 (sendfile), else through a small buffer. Returns 0,
 * PLAT_EIO if the file ends before off + len or cannot be read, or a socket error. */
int plat_sock_send_file(plat_socket_t s, plat_file_t f, uint64_t off, uint64_t len,
                        int timeout_ms);

/* Half-closes: no more sends; the peer reads end-of-stream after the pending data. */
int plat_sock_shutdown_write(plat_socket_t s);

/* Disables Nagle's algorithm when on is non-zero. */
int plat_sock_set_nodelay(plat_socket_t s, int on);

/* Closes s. Ignores PLAT_INVALID_SOCKET. Remove s from any poller first. */
void plat_sock_close(plat_socket_t s);

/* ---- poller: many idle sockets, one waiting thread ----------------------------------- */

/* A poller watches sockets on behalf of one thread at a time (its owner), which calls
 * plat_poller_wait() and plat_poller_remove(). Ownership may pass from thread to thread when
 * the threads hand it over under a lock of their own (server.c does). One-shot interest
 * (plat_poller_add, plat_poller_add_writable): once wait reports a socket, the poller stops
 * watching it; call again to watch it again. Edge-triggered interest (plat_poller_add_edge,
 * epoll only) stays until removed. A listening socket is watched with
 * plat_poller_add_persistent(): reported by every wait while a connection is pending. Any
 * thread may add and call plat_poller_wakeup(); both make a blocked wait notice promptly. A
 * watched socket costs a few bytes here and no thread. Backends: host/posix/poller_epoll.c
 * (epoll), host/os_poll.c (poll() on POSIX, WSAPoll on Windows), with the wakeup delivered
 * through a pipe or a loopback socket pair. */
typedef struct plat_poller plat_poller_t;

/* What a wait reports for one socket. */
enum {
    PLAT_EV_READ = 1,         /* readable (or a pending connection) */
    PLAT_EV_WRITE = 2,        /* writable */
    PLAT_EV_HUP = 4           /* the peer closed its side (or the socket failed): a receive
                                 that comes back short is not the end, read until 0 */
};
typedef struct plat_ready {
    void *user;
    unsigned events;          /* PLAT_EV_* */
} plat_ready_t;

/* Returns 0 with *out set (caller owns it), PLAT_ENOMEM, PLAT_EMFILE, ... */
int plat_poller_create(plat_poller_t **out);

/* Frees the poller. Sockets still watched are not closed. Owner thread only. */
void plat_poller_destroy(plat_poller_t *p);

/* Watches s (once) for readability; wait() will return `user` for it. user must not be
 * NULL. s must not be watched already. Any thread. Returns 0, PLAT_ENOMEM, ... */
int plat_poller_add(plat_poller_t *p, plat_socket_t s, void *user);

/* Watches s once for writability (a response waiting for the client to read). The same
 * rules as plat_poller_add(). */
int plat_poller_add_writable(plat_poller_t *p, plat_socket_t s, void *user);

/* Watches s until plat_poller_remove() or its close, edge-triggered, for reading, writing
 * and the peer's close: wait reports it each time new bytes or the peer's close arrive
 * (PLAT_EV_READ, PLAT_EV_HUP) and when a full send buffer has room again (PLAT_EV_WRITE),
 * so a socket watched again after it was served costs no call at all. The caller must
 * receive until a receive comes back short (the socket is then drained; with PLAT_EV_HUP,
 * until it returns 0) before it relies on the next report. Returns PLAT_ENOTSUP where the
 * backend cannot (poll(), WSAPoll): use plat_poller_add() there. Any thread. */
int plat_poller_add_edge(plat_poller_t *p, plat_socket_t s, void *user);

/* Watches s again, once, after this poller reported it (and it was not removed since). The
 * same as plat_poller_add(), but cheaper with epoll: one EPOLL_CTL_MOD. Any thread. */
int plat_poller_rearm(plat_poller_t *p, plat_socket_t s, void *user);

/* Watches s for readability until plat_poller_remove(): every wait reports it while it is
 * readable (level-triggered), so a listener needs no re-arming after each accept. */
int plat_poller_add_persistent(plat_poller_t *p, plat_socket_t s, void *user);

/* Stops watching s. Returns 0 also when s was not watched (e.g. already reported).
 * Owner thread only; call it before closing a socket that is still watched. */
int plat_poller_remove(plat_poller_t *p, plat_socket_t s);

/* Waits up to timeout_ms for watched sockets to become ready and stores up to max of them
 * (user pointer and PLAT_EV_* events) in ready[]. Returns how many (0 after a timeout or a wakeup: the caller
 * then checks its own queues and flags) or an error. Ready sockets beyond max stay watched
 * and are returned by the next call. Owner thread only. */
int plat_poller_wait(plat_poller_t *p, int timeout_ms, plat_ready_t *ready, int max);

/* Makes the current or next plat_poller_wait() return promptly. Any thread; also
 * async-signal-safe on POSIX (one write to a pipe). Wakeups coalesce. */
int plat_poller_wakeup(plat_poller_t *p);

/* Asks the supervisor for a new serving process beside this one (which then stops
 * gracefully): the hung-call watchdog's way out. POSIX: SIGUSR2 to the supervisor (the
 * parent). Returns 0, or PLAT_ENOTSUP where no supervisor runs (Windows). */
int plat_request_recycle(void);

/* ---- threads ------------------------------------------------------------------------ */

typedef struct plat_thread plat_thread_t;

/* Starts fn(arg) on a new thread. Returns 0 with *out set, or an error. Every thread of
 * the server is made here: in the Winelib build (PLAT_WIN32_THREADS) it is a Wine thread
 * made with CreateThread (host/posix/os_winelib.c), because filter code run on a plain pthread
 * crashes the process. */
int plat_thread_create(plat_thread_t **out, void (*fn)(void *arg), void *arg);

/* Waits for the thread to finish and frees *t. Returns 0 or an error. */
int plat_thread_join(plat_thread_t *t);

void plat_sleep_ms(unsigned ms);

/* plat_mutex_t and plat_cond_t come from the config header; they are plain structures that
 * may be embedded anywhere and must be initialised before use. The mutex is not recursive.
 * Thread-local storage: use C11 _Thread_local. Atomics: use C11 <stdatomic.h>. */
int plat_mutex_init(plat_mutex_t *m);
void plat_mutex_destroy(plat_mutex_t *m);
void plat_mutex_lock(plat_mutex_t *m);
void plat_mutex_unlock(plat_mutex_t *m);

int plat_cond_init(plat_cond_t *c);
void plat_cond_destroy(plat_cond_t *c);
void plat_cond_signal(plat_cond_t *c);
void plat_cond_broadcast(plat_cond_t *c);

/* Atomically unlocks m and waits for a signal, at most timeout_ms (-1: forever), then
 * locks m again. Returns 0 when woken (possibly spuriously: re-check the predicate) or
 * PLAT_ETIMEDOUT. The timeout runs on the monotonic clock. */
int plat_cond_wait(plat_cond_t *c, plat_mutex_t *m, int timeout_ms);

/* ---- time --------------------------------------------------------------------------- */

/* Milliseconds on a clock that never goes backwards (arbitrary origin). */
uint64_t plat_time_mono_ms(void);

/* Wall clock: milliseconds since 1970-01-01 00:00:00 UTC. */
int64_t plat_time_unix_ms(void);

/* A cheap tick counter for timing short calls (the filter call histogram): never goes
 * backwards on one thread, though two threads' reads may differ by a few ticks where the
 * counter is a processor's (the caller treats a negative difference as 0).
 * plat_ticks_calibrate() picks the counter and returns its ticks per second; call it once
 * at start-up, before any thread reads plat_ticks(), and use only its frequency with it.
 * POSIX on x86 with an invariant TSC (constant_tsc and nonstop_tsc in /proc/cpuinfo, and
 * the kernel's clocksource the TSC where it says): the TSC, measured against
 * CLOCK_MONOTONIC; anywhere else CLOCK_MONOTONIC in nanoseconds. Windows: the performance
 * counter. plat_ticks_source() names the choice ("tsc", "clock_gettime",
 * "QueryPerformanceCounter") for the start-up log. */
uint64_t plat_ticks_calibrate(void);
uint64_t plat_ticks(void);
const char *plat_ticks_source(void);

/* A UTC calendar time. */
typedef struct plat_tm {
    int year;    /* e.g. 1994 */
    int month;   /* 1..12 */
    int day;     /* 1..31 */
    int hour;    /* 0..23 */
    int min;     /* 0..59 */
    int sec;     /* 0..59 */
    int msec;    /* 0..999 */
    int wday;    /* 0 = Sunday .. 6 */
} plat_tm_t;

/* Breaks a Unix time in milliseconds down into UTC (any int64 value; negative is before
 * 1970). */
void plat_time_utc_from_ms(int64_t unix_ms, plat_tm_t *out);

/* The current UTC time broken down (for the W3C log's date and time fields). */
void plat_time_utc_now(plat_tm_t *out);

/* Unix seconds for a UTC calendar time (msec and wday are ignored). Fields outside their
 * ranges give PLAT_EINVAL; otherwise 0 with *out set. */
int plat_time_utc_to_unix(const plat_tm_t *tm, int64_t *out);

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", without the NUL. */
#define PLAT_HTTP_DATE_LEN 29

/* Formats unix_sec as an RFC 7231 IMF-fixdate into buf (at least PLAT_HTTP_DATE_LEN + 1
 * bytes). Returns buf. */
char *plat_http_date_format(int64_t unix_sec, char *buf);

/* Parses an RFC 7231 IMF-fixdate (len bytes, no NUL needed; surrounding spaces and tabs
 * allowed), as sent in If-Modified-Since. The obsolete RFC 850 and asctime forms are
 * refused with PLAT_EINVAL (a server that does not understand a date ignores the header).
 * Returns 0 with *unix_sec set, or PLAT_EINVAL. */
int plat_http_date_parse(const char *s, size_t len, int64_t *unix_sec);

/* ---- files and paths ---------------------------------------------------------------- */

/* plat_file_t is an int descriptor on POSIX and a HANDLE on Windows (from the config
 * header); PLAT_INVALID_FILE marks "none". */

typedef struct plat_file_info {
    int exists;         /* 0: nothing at that path (other fields 0) */
    int is_directory;
    uint64_t size;      /* bytes (files) */
    int64_t mtime;      /* last write, Unix seconds UTC */
} plat_file_info_t;

/* Opens a file for reading. Others may keep reading, writing, renaming and deleting it
 * meanwhile. When info is not NULL it receives what plat_file_info() would, from the same
 * look at the file the open made (no second system call on POSIX). Returns 0 with *out set
 * (caller owns it), PLAT_ENOENT, PLAT_EACCES, PLAT_EISDIR (a folder), PLAT_EMFILE, ... */
int plat_file_open(const char *path, plat_file_t *out, plat_file_info_t *info);

/* Information about an open file. Returns 0 or an error. */
int plat_file_info(plat_file_t f, plat_file_info_t *info);

/* Information about a path without opening it. Returns 0 (with info->exists = 0 when
 * nothing is there) or an error such as PLAT_EACCES. */
int plat_file_stat(const char *path, plat_file_info_t *info);

/* Reads up to len bytes at offset off without moving any shared file position, so threads
 * may share f. Returns the number of bytes read (0 at or past the end) or an error. */
ptrdiff_t plat_file_pread(plat_file_t f, void *buf, size_t len, uint64_t off);

/* Closes f. Ignores PLAT_INVALID_FILE. */
void plat_file_close(plat_file_t f);

/* Opens (creating it if needed) a file for appending. Each plat_file_append() is one
 * append at the end of the file (O_APPEND; FILE_APPEND_DATA on Windows), so threads may
 * append lines to the same file without a lock. Returns 0 or an error. */
int plat_file_open_append(const char *path, plat_file_t *out);
/* Appends len bytes. Returns 0 or an error. */
int plat_file_append(plat_file_t f, const void *buf, size_t len);

/* Replaces the file behind *f, in place, by `path` opened for appending (created if
 * needed; POSIX mode 0640), after appending head[0, head_len) to it (a log's directives,
 * which must come before any line another thread appends to the new file). Threads appending to *f meanwhile lose nothing and tear
 * nothing: each append lands whole in the old file or in the new one. POSIX: the new file
 * is dup2()ed over the same descriptor, so *f keeps its value. Windows: the appends and the
 * swap share the append lock, and the old handle is closed by the next swap but one (an
 * append that read the old value before the swap finishes on it first). Returns 0 or an
 * error (then *f is unchanged). */
int plat_file_reopen_append(plat_file_t *f, const char *path, const void *head,
                            size_t head_len);

/* ---- log reopening (logrotate) ------------------------------------------------------ */

/* Installs the "reopen the logs" request: POSIX SIGUSR1, as nginx. The handler only adds
 * one to a counter in memory shared with the processes forked afterwards (the supervisor
 * and its serving child see the same count, whichever of them the signal reached); the
 * log writer notices the change on its next line and reopens the files on its own
 * thread. Windows: no signal, no effect, returns 0. Call once, before forking and before
 * any thread starts. */
int plat_reopen_signal_install(void);
/* The number of reopen requests so far (0 when none or not installed). Any thread,
 * async-signal-safe. */
unsigned plat_reopen_generation(void);

/* Writes the real path of the existing folder `path` into out: absolute, every symbolic
 * link (and, on Windows, junction) resolved, as the OS names the folder once opened
 * (POSIX: realpath; Windows: GetFinalPathNameByHandleW on the opened folder, "\\?\" prefix
 * removed). Compute it once (at start) and pass it to plat_file_open_within(). Returns its
 * length, PLAT_ENOENT, PLAT_EACCES, PLAT_ENAMETOOLONG (does not fit outlen with its NUL),
 * ... */
int plat_path_real(const char *path, char *out, size_t outlen);

/* How plat_file_open_within() treats symbolic links (Windows: also junctions). */
typedef enum plat_links {
    PLAT_LINKS_INSIDE = 0,  /* followed, but the file opened must lie inside the folder */
    PLAT_LINKS_ALWAYS,      /* followed anywhere: no check (as plat_file_open) */
    PLAT_LINKS_NEVER        /* none below the folder: the file opened must be the folder's
                               real path followed by exactly the rest of `path` */
} plat_links_t;

/* Opens `path` for reading like plat_file_open(), then checks the file actually opened (not
 * the name, so a link swapped between a check and the open cannot escape): its real path,
 * taken from the open descriptor or handle (Linux: /proc/self/fd; other POSIX: realpath()
 * whose result must name the same device and inode; Windows: GetFinalPathNameByHandleW),
 * must lie inside `within`, the real path of the allowed folder from plat_path_real().
 * path[0..root_len) is that folder as the caller spelled it (path continues with a
 * separator or ends there); with PLAT_LINKS_NEVER the rest of path must equal the rest of
 * the real path (separators '/' and '\' alike; Windows: ASCII letters in any case), so a
 * link anywhere below the folder is refused. root_len 0: the rest is unknown, and only
 * the folder is checked. A folder is checked the same way before PLAT_EISDIR is returned.
 * Hard links cannot be told apart from the file itself and pass.
 * Returns 0 with *out set (caller owns it), PLAT_EOUTSIDE (nothing opened), or the
 * errors of plat_file_open(). */
int plat_file_open_within(const char *path, size_t root_len, const char *within,
                          plat_links_t links, plat_file_t *out, plat_file_info_t *info);

/* 1 when the real path `real` lies inside (or is) the folder whose real path is `within`,
 * and, when `rest` is not NULL, continues after it with exactly the segments of `rest`
 * (see plat_file_open_within). Where PLAT_WIN32_NAME_RULES is 1, '\\' separates like '/'
 * and ASCII letters compare in any case. Pure string work (os_common.c). */
int plat__path_within(const char *real, const char *within, const char *rest);

/* Joins a site root and a URL path ("/docs/a.html", '/'-separated, already decoded and
 * normalised by the caller) into a file path with PLAT_PATH_SEP between the parts, no
 * doubled separator, and the URL's '/' turned into PLAT_PATH_SEP. As a last line of
 * defence it refuses (PLAT_EINVAL) an empty root and any rel segment that could name a
 * file outside the root or a different file than it seems: ".." everywhere; where
 * PLAT_WIN32_NAME_RULES is 1 also ':' (drive letters, alternate data streams such as
 * "a.asp::$DATA"), '\\', a trailing dot or space (Windows drops them, so "a.asp." opens
 * "a.asp"), the characters <>"|?* and device names (CON, NUL, COM1, ...). Returns the
 * length of the result, or PLAT_ENAMETOOLONG if it does not fit outlen bytes with its
 * NUL. */
int plat_path_join(char *out, size_t outlen, const char *root, const char *rel);

/* 1 if path is absolute ("/x"; Windows: "C:\x", "C:/x", "\\server\share", "\x"), else 0. */
int plat_path_is_absolute(const char *path);

/* Writes the folder part of path into out: "a/b.ini" -> "a", "b.ini" -> ".", "/b" -> "/"
 * (Windows also splits at '\\' and keeps "C:\"). Returns its length, or
 * PLAT_ENAMETOOLONG if it does not fit outlen bytes with its NUL. */
int plat_path_dirname(const char *path, char *out, size_t outlen);

/* ---- identity ----------------------------------------------------------------------- */

/* 1 when the process has root's privileges (POSIX: effective uid 0), else 0. Windows: 0
 * (the account is the service's, chosen by the service manager). */
int plat_identity_is_root(void);

/* Serves from now on as account `user`, with `group` (NULL or "": the user's primary
 * group): POSIX setgroups() to that one group, setgid(), setuid(), in that order, each
 * checked, then checks that the ids took and that root cannot be regained. Call before
 * any thread starts (the ids are per process only when no thread runs). Returns 0, or -1
 * with the reason in err ("no such user", "setgid: Operation not permitted"). Windows:
 * -1, not supported. Implemented in host/posix/os_identity_posix.c and
 * win32/os_identity_win32.c. */
int plat_identity_drop(const char *user, const char *group, char *err, size_t errlen);

/* The account's name the process runs as now, into out (for messages). */
void plat_identity_name(char *out, size_t cap);

/* ---- paths as filters see them ------------------------------------------------------ */

/* PLAT_FILTER_PATHS_WIN32 is 1 in the Winelib build (set by the build): the host works with
 * Linux paths, while the filters are Windows DLLs that expect Windows paths. */
#ifndef PLAT_FILTER_PATHS_WIN32
#define PLAT_FILTER_PATHS_WIN32 0
#endif

/* Writes host_path as filters see it (the DLL path given to LoadLibraryA, URL_MAP's
 * pszPhysicalPath, APPL_PHYSICAL_PATH, PATH_TRANSLATED): unchanged natively and on
 * Windows; in the Winelib build the same file on Wine's Z: drive, which maps the Linux
 * root ("/srv/site/a.htm" -> "Z:\srv\site\a.htm"), a relative path made absolute
 * first. Returns the length, or PLAT_ENAMETOOLONG if it does not fit outlen bytes. */
int plat_path_to_filter(const char *host_path, char *out, size_t outlen);

/* The reverse, for a path a filter handed back (URL_MAP): "Z:\srv\a.htm" -> "/srv/a.htm",
 * another drive letter through Wine's own mapping, a host path unchanged. Returns the
 * length, PLAT_ENAMETOOLONG, or PLAT_EINVAL for a path with no Linux equivalent. */
int plat_path_from_filter(const char *filter_path, char *out, size_t outlen);

/* ---- internal: shared by os_common.c and the platform file ---------------------- */

/* The fixed description of a PLAT_E* code ("connection reset", ...). */
const char *plat__code_text(int code);

/* 1 if the URL path segment seg[0..n) may name a file under a site root on this OS. */
int plat__path_segment_ok(const char *seg, size_t n);

#ifdef __cplusplus
}
#endif

#endif
