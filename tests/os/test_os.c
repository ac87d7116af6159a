/*
 * test_os.c - the platform layer (host/os.h) against the real OS, on every target.
 *
 * One plain C program, no test framework, so the same source runs natively and as a
 * Windows .exe under Wine. Each check is an ok(cond, fmt, ...) line that prints the actual
 * values on failure; the last line is "os: N passed, M failed" and the exit status is
 * non-zero when anything failed. Network checks use 127.0.0.1 with an ephemeral port and
 * short, bounded timeouts; a client runs on its own thread where the check needs a peer.
 * Timing checks only assert generous bounds (a busy machine stretches every wait).
 */
#include "os.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void ok_(int cond, int line, const char *fmt, ...)
{
    if (cond) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_os.c:%d: FAIL: ", line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
#define ok(cond, ...) ok_((cond) ? 1 : 0, __LINE__, __VA_ARGS__)

static const char *err_text(int rc)
{
    static char buf[256];
    return plat_strerror(rc, buf, sizeof buf);
}

/* ---- a client thread ---------------------------------------------------------------- */

typedef struct client {
    uint16_t port;
    const char *send_data;    /* sent after connecting, may be NULL */
    size_t send_len;
    unsigned delay_ms;        /* before sending */
    int shutdown_after;       /* half-close after sending */
    size_t expect_len;        /* bytes to receive and keep */
    char *received;
    size_t got;
    int rc;                   /* first failing plat_ code, 0 if none */
    uint16_t local_port;
} client_t;

static void client_main(void *arg)
{
    client_t *c = arg;
    plat_socket_t s;
    c->rc = plat_connect("127.0.0.1", c->port, 5000, &s);
    if (c->rc != 0)
        return;
    if (c->delay_ms)
        plat_sleep_ms(c->delay_ms);
    if (c->send_data && (c->rc = plat_sock_send_all(s, c->send_data, c->send_len, 5000)) != 0)
        goto out;
    if (c->shutdown_after && (c->rc = plat_sock_shutdown_write(s)) != 0)
        goto out;
    while (c->got < c->expect_len) {
        ptrdiff_t n = plat_sock_recv(s, c->received + c->got, c->expect_len - c->got, 5000);
        if (n <= 0) {
            c->rc = n == 0 ? PLAT_ECONNRESET : (int)n;
            goto out;
        }
        c->got += (size_t)n;
    }
    if (c->expect_len) {
        char extra;
        ptrdiff_t n = plat_sock_recv(s, &extra, 1, 5000);   /* expect the server's close */
        if (n != 0)
            c->rc = n > 0 ? PLAT_EINVAL : (int)n;
    }
out:
    plat_sock_close(s);
}

static plat_thread_t *start_client(client_t *c)
{
    plat_thread_t *t = NULL;
    int rc = plat_thread_create(&t, client_main, c);
    ok(rc == 0, "thread_create: %d %s", rc, err_text(rc));
    return rc == 0 ? t : NULL;
}

/* ---- sockets ------------------------------------------------------------------------ */

static void test_sockets(void)
{
    plat_socket_t ls = PLAT_INVALID_SOCKET, s = PLAT_INVALID_SOCKET;
    uint16_t port = 0;
    int rc = plat_listen("127.0.0.1", 0, 16, &ls, &port);
    ok(rc == 0 && port != 0, "listen 127.0.0.1:0: rc %d (%s), port %u", rc, err_text(rc), port);
    if (rc != 0)
        return;

    /* A second listener on the same port must be refused. */
    plat_socket_t ls2 = PLAT_INVALID_SOCKET;
    rc = plat_listen("127.0.0.1", port, 16, &ls2, NULL);
    ok(rc == PLAT_EADDRINUSE || rc == PLAT_EACCES, "second listen on port %u: rc %d (%s)",
       port, rc, err_text(rc));
    if (rc == 0)
        plat_sock_close(ls2);

    ok(plat_listen("not-an-address", 0, 1, &ls2, NULL) == PLAT_EINVAL, "bad address text");

    /* Nobody connects: accept times out, and promptly. */
    uint64_t t0 = plat_time_mono_ms();
    rc = plat_accept(ls, 100, &s, NULL, NULL);
    uint64_t dt = plat_time_mono_ms() - t0;
    ok(rc == PLAT_ETIMEDOUT && dt >= 80 && dt < 3000, "accept timeout: rc %d after %u ms", rc,
       (unsigned)dt);

    /* Client sends "hello" after 150 ms, half-closes, and expects "world" then close. */
    char reply[8] = { 0 };
    client_t c = { port, "hello", 5, 150, 1, 5, reply, 0, 0, 0 };
    plat_thread_t *t = start_client(&c);
    plat_endpoint_t peer, local;
    rc = plat_accept(ls, 5000, &s, &peer, &local);
    ok(rc == 0, "accept: %d %s", rc, err_text(rc));
    if (rc == 0) {
        ok(strcmp(peer.addr, "127.0.0.1") == 0 && peer.port != 0, "peer %s:%u", peer.addr,
           peer.port);
        ok(strcmp(local.addr, "127.0.0.1") == 0 && local.port == port, "local %s:%u",
           local.addr, local.port);
        ok(plat_sock_set_nodelay(s, 1) == 0, "nodelay");

        /* Nothing pending yet (the client waits 150 ms): a zero-timeout receive says so. */
        char buf[16];
        ptrdiff_t none = plat_sock_recv(s, buf, sizeof buf, 0);
        ok(none == PLAT_ETIMEDOUT, "recv(0) before data: %d", (int)none);
        t0 = plat_time_mono_ms();
        ptrdiff_t n = plat_sock_recv(s, buf, sizeof buf, 30);
        dt = plat_time_mono_ms() - t0;
        ok(n == PLAT_ETIMEDOUT && dt >= 20 && dt < 3000, "recv timeout: %d after %u ms",
           (int)n, (unsigned)dt);

        size_t got = 0;
        while (got < 5) {
            n = plat_sock_recv(s, buf + got, sizeof buf - got, 5000);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        ok(got == 5 && memcmp(buf, "hello", 5) == 0, "recv hello: got %u bytes", (unsigned)got);
        n = plat_sock_recv(s, buf, sizeof buf, 5000);
        ok(n == 0, "orderly close seen as 0: %d", (int)n);
        rc = plat_sock_send_all(s, "world", 5, 5000);
        ok(rc == 0, "send after peer half-close: %d %s", rc, err_text(rc));
        plat_sock_close(s);
    }
    if (t)
        plat_thread_join(t);
    ok(c.rc == 0 && c.got == 5 && memcmp(reply, "world", 5) == 0,
       "client: rc %d, got %u bytes '%.5s'", c.rc, (unsigned)c.got, reply);

    /* A large transfer: send_all must cope with partial sends to a slow reader. */
    size_t big = 2u << 20;
    char *out = malloc(big), *in = malloc(big);
    for (size_t i = 0; i < big; i++)
        out[i] = (char)(i * 7 + (i >> 11));
    client_t c2 = { port, NULL, 0, 0, 0, big, in, 0, 0, 0 };
    t = start_client(&c2);
    rc = plat_accept(ls, 5000, &s, NULL, NULL);
    ok(rc == 0, "accept 2: %d %s", rc, err_text(rc));
    if (rc == 0) {
        rc = plat_sock_send_all(s, out, big, 5000);
        ok(rc == 0, "send_all 2 MiB: %d %s", rc, err_text(rc));
        plat_sock_close(s);
    }
    if (t)
        plat_thread_join(t);
    ok(c2.rc == 0 && c2.got == big && memcmp(in, out, big) == 0, "client got %u of %u bytes, rc %d",
       (unsigned)c2.got, (unsigned)big, c2.rc);
    free(out);
    free(in);

    /* Nobody listens any more: connect is refused, and the text says so. */
    plat_sock_close(ls);
    rc = plat_connect("127.0.0.1", port, 5000, &s);
    char text[256];
    plat_strerror(rc, text, sizeof text);
    ok(rc == PLAT_ECONNREFUSED && strcmp(text, "connection refused") == 0,
       "connect to closed port: %d (%s)", rc, text);
    if (rc == 0)
        plat_sock_close(s);

    /* An error the table does not name keeps its native value in the code itself, and its
     * text survives other failing calls made in between (no per-thread last error). */
    int native = plat__native_code(113);
    char before[256], after[256];
    plat_strerror(native, before, sizeof before);
    plat_connect("127.0.0.1", port, 5000, &s);
    plat_strerror(native, after, sizeof after);
    ok(native <= PLAT_ENATIVE && plat__native_of(native) == 113 && strcmp(before, after) == 0
       && strstr(before, "113") != NULL,
       "native code %d: \"%s\", then \"%s\"", native, before, after);
    ok(plat__native_of(PLAT_ECONNREFUSED) == 0 && plat__native_code(0) == PLAT_ERROR,
       "PLAT_E* codes carry no native value");
}

static void test_ipv6(void)
{
    plat_socket_t ls;
    uint16_t port = 0;
    int rc = plat_listen("[::1]", 0, 4, &ls, &port);
    if (rc != 0) {
        printf("skip: IPv6 loopback unavailable here (%s)\n", err_text(rc));
        return;
    }
    plat_socket_t cs, s;
    rc = plat_connect("::1", port, 5000, &cs);
    ok(rc == 0, "connect ::1: %d %s", rc, err_text(rc));
    if (rc == 0) {
        plat_endpoint_t peer;
        rc = plat_accept(ls, 5000, &s, &peer, NULL);
        ok(rc == 0 && strcmp(peer.addr, "::1") == 0, "accept ::1: %d peer %s", rc,
           rc == 0 ? peer.addr : "-");
        if (rc == 0)
            plat_sock_close(s);
        plat_sock_close(cs);
    }
    plat_sock_close(ls);
}

/* ---- poller ------------------------------------------------------------------------- */

typedef struct waker {
    plat_poller_t *p;
    unsigned delay_ms;
} waker_t;

static void waker_main(void *arg)
{
    waker_t *w = arg;
    plat_sleep_ms(w->delay_ms);
    plat_poller_wakeup(w->p);
}

static void test_poller(void)
{
    plat_poller_t *p = NULL;
    int rc = plat_poller_create(&p);
    ok(rc == 0, "poller_create: %d %s", rc, err_text(rc));
    if (rc != 0)
        return;
    plat_socket_t ls, cs, s;
    uint16_t port;
    if (plat_listen("127.0.0.1", 0, 4, &ls, &port) != 0
        || plat_connect("127.0.0.1", port, 5000, &cs) != 0
        || plat_accept(ls, 5000, &s, NULL, NULL) != 0) {
        ok(0, "poller setup: %s", err_text(PLAT_ERROR));
        plat_poller_destroy(p);
        return;
    }
    int tag = 42;
    plat_ready_t ready[4] = { { NULL, 0 } };
    ok(plat_poller_add(p, s, &tag) == 0, "poller_add");

    uint64_t t0 = plat_time_mono_ms();
    int n = plat_poller_wait(p, 50, ready, 4);
    uint64_t dt = plat_time_mono_ms() - t0;
    ok(n == 0 && dt >= 30 && dt < 3000, "idle wait: %d after %u ms", n, (unsigned)dt);

    plat_sock_send_all(cs, "x", 1, 1000);
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &tag, "readable reported: n %d, user %p", n, ready[0].user);

    /* One-shot: the byte is still unread, yet the socket is not reported again... */
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "one-shot, no second report: %d", n);
    /* ...until it is added again. */
    ok(plat_poller_add(p, s, &tag) == 0, "poller re-add");
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &tag, "re-added socket reported: %d", n);

    /* Re-arming a reported socket watches it once more, like adding it. */
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "one-shot again: %d", n);
    ok(plat_poller_rearm(p, s, &tag) == 0, "poller_rearm");
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &tag, "re-armed socket reported: %d", n);

    /* Timeout 0 means one attempt and no wait, even with nothing pending. */
    char one;
    ok(plat_sock_recv(s, &one, 1, 0) == 1 && one == 'x', "recv(0) takes the pending byte");
    t0 = plat_time_mono_ms();
    ptrdiff_t got = plat_sock_recv(s, &one, 1, 0);
    plat_socket_t none;
    int arc = plat_accept(ls, 0, &none, NULL, NULL);
    dt = plat_time_mono_ms() - t0;
    ok(got == PLAT_ETIMEDOUT && arc == PLAT_ETIMEDOUT && dt < 1000,
       "recv(0) and accept(0) with nothing pending: %d %d after %u ms", (int)got, arc,
       (unsigned)dt);
    plat_sock_send_all(cs, "x", 1, 1000);

    /* Removed sockets are not reported, and removing twice is fine. */
    ok(plat_poller_add(p, s, &tag) == 0, "poller add 3");
    ok(plat_poller_remove(p, s) == 0 && plat_poller_remove(p, s) == 0, "remove twice");
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "removed socket not reported: %d", n);

    /* A peer close wakes the poller too (the worker's recv then reads 0). */
    char b;
    ok(plat_sock_recv(s, &b, 1, 1000) == 1, "drain byte");
    ok(plat_poller_add(p, s, &tag) == 0, "poller add 4");
    plat_sock_close(cs);
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && plat_sock_recv(s, &b, 1, 1000) == 0, "peer close reported: %d", n);

    /* Wakeup from another thread ends a long wait early. */
    waker_t w = { p, 100 };
    plat_thread_t *t = NULL;
    plat_thread_create(&t, waker_main, &w);
    t0 = plat_time_mono_ms();
    n = plat_poller_wait(p, 10000, ready, 4);
    dt = plat_time_mono_ms() - t0;
    ok(n == 0 && dt < 5000, "wakeup ends wait: %d after %u ms", n, (unsigned)dt);
    if (t)
        plat_thread_join(t);

    /* A wakeup before the wait is not lost. */
    plat_poller_wakeup(p);
    t0 = plat_time_mono_ms();
    n = plat_poller_wait(p, 10000, ready, 4);
    dt = plat_time_mono_ms() - t0;
    ok(n == 0 && dt < 5000, "early wakeup kept: %d after %u ms", n, (unsigned)dt);

    /* A listener watched persistently is reported by every wait while a connection is
     * pending, and no more once it is accepted; its local address is the bound one. */
    plat_endpoint_t le;
    ok(plat_sock_local(ls, &le) == 0 && strcmp(le.addr, "127.0.0.1") == 0 && le.port == port,
       "sock_local: %s:%u", le.addr, (unsigned)le.port);
    int ltag = 7;
    ok(plat_poller_add_persistent(p, ls, &ltag) == 0, "poller_add_persistent");
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "idle listener not reported: %d", n);
    plat_socket_t c2 = PLAT_INVALID_SOCKET, a2 = PLAT_INVALID_SOCKET;
    ok(plat_connect("127.0.0.1", port, 5000, &c2) == 0, "connect to the watched listener");
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &ltag, "pending connection reported: %d", n);
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &ltag, "and reported again while still pending: %d", n);
    plat_endpoint_t peer2;
    ok(plat_accept(ls, 5000, &a2, &peer2, NULL) == 0, "accept it");
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "accepted: no longer reported: %d", n);
    ok(plat_poller_remove(p, ls) == 0, "remove the listener");
    plat_sock_close(a2);
    plat_sock_close(c2);

    /* A send that finds the buffer full returns 0 at once; a one-shot writability watch
     * reports the socket once the peer reads. */
    plat_socket_t wc, ws;
    plat_endpoint_t wpeer;
    ok(plat_connect("127.0.0.1", port, 5000, &wc) == 0
       && plat_accept(ls, 5000, &ws, &wpeer, NULL) == 0, "a pair for writing");
    static char chunk[65536];
    size_t queued = 0;
    ptrdiff_t sent;
    while ((sent = plat_sock_send_some(ws, chunk, sizeof chunk)) > 0 && queued < (256u << 20))
        queued += (size_t)sent;
    ok(sent == 0 && queued > 0, "send_some stops at a full buffer: %d after %lu bytes",
       (int)sent, (unsigned long)queued);
    int wtag = 9;
    ok(plat_poller_add_writable(p, ws, &wtag) == 0, "watch for writability");
    n = plat_poller_wait(p, 50, ready, 4);
    ok(n == 0, "full socket not writable: %d", n);
    size_t drained = 0;
    while (drained < queued) {
        ptrdiff_t r = plat_sock_recv(wc, chunk, sizeof chunk, 5000);
        if (r <= 0)
            break;
        drained += (size_t)r;
    }
    n = plat_poller_wait(p, 5000, ready, 4);
    ok(n == 1 && ready[0].user == &wtag && (ready[0].events & PLAT_EV_WRITE),
       "writable once the peer read: n %d, events %u", n, n > 0 ? ready[0].events : 0u);

    /* Bytes and the peer's close arriving before one receive: an edge-triggered watch
     * reports the close with them (PLAT_EV_HUP), so a short receive is not taken for "no
     * more"; the receive after the bytes returns 0. */
    plat_poller_remove(p, ws);
    if (plat_poller_add_edge(p, ws, &wtag) == PLAT_ENOTSUP) {
        printf("skip: edge-triggered watching needs epoll (this build: the portable poller)\n");
    } else {
        plat_sock_send_all(wc, "half", 4, 1000);
        plat_sock_close(wc);
        wc = PLAT_INVALID_SOCKET;
        unsigned seen = 0;
        uint64_t until = plat_time_mono_ms() + 5000;
        while (!(seen & PLAT_EV_HUP) && plat_time_mono_ms() < until) {
            n = plat_poller_wait(p, 1000, ready, 4);
            for (int i = 0; i < n; i++)
                if (ready[i].user == &wtag)
                    seen |= ready[i].events;
        }
        char hb[16];
        ptrdiff_t first = plat_sock_recv(ws, hb, sizeof hb, 1000);
        ptrdiff_t second = plat_sock_recv(ws, hb, sizeof hb, 1000);
        ok((seen & PLAT_EV_HUP) && first == 4 && second == 0,
           "edge watch reports the close with the bytes: events %u, recv %d then %d", seen,
           (int)first, (int)second);
        plat_poller_remove(p, ws);
    }
    plat_sock_close(wc);
    plat_sock_close(ws);

    plat_sock_close(s);
    plat_sock_close(ls);
    plat_poller_destroy(p);
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct shared {
    plat_mutex_t m;
    plat_cond_t c;
    long counter;
    int flag;
} shared_t;

static void adder_main(void *arg)
{
    shared_t *sh = arg;
    for (int i = 0; i < 20000; i++) {
        plat_mutex_lock(&sh->m);
        sh->counter++;
        plat_mutex_unlock(&sh->m);
    }
}

static void signaller_main(void *arg)
{
    shared_t *sh = arg;
    plat_sleep_ms(50);
    plat_mutex_lock(&sh->m);
    sh->flag = 1;
    plat_cond_signal(&sh->c);
    plat_mutex_unlock(&sh->m);
}

static void test_threads(void)
{
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    ok(plat_mutex_init(&sh.m) == 0 && plat_cond_init(&sh.c) == 0, "mutex/cond init");
    plat_thread_t *t[4] = { NULL };
    int started = 0;
    for (int i = 0; i < 4; i++)
        started += plat_thread_create(&t[i], adder_main, &sh) == 0;
    for (int i = 0; i < 4; i++)
        if (t[i])
            ok(plat_thread_join(t[i]) == 0, "join %d", i);
    ok(started == 4 && sh.counter == 4 * 20000, "mutex counts: %ld of %d", sh.counter, 4 * 20000);

    plat_mutex_lock(&sh.m);
    uint64_t t0 = plat_time_mono_ms();
    int rc = plat_cond_wait(&sh.c, &sh.m, 60);
    uint64_t dt = plat_time_mono_ms() - t0;
    plat_mutex_unlock(&sh.m);
    ok(rc == PLAT_ETIMEDOUT && dt >= 40 && dt < 3000, "cond timed out: %d after %u ms", rc,
       (unsigned)dt);

    plat_thread_t *st = NULL;
    plat_thread_create(&st, signaller_main, &sh);
    plat_mutex_lock(&sh.m);
    t0 = plat_time_mono_ms();
    rc = 0;
    while (!sh.flag && rc == 0)
        rc = plat_cond_wait(&sh.c, &sh.m, 5000);
    dt = plat_time_mono_ms() - t0;
    plat_mutex_unlock(&sh.m);
    ok(rc == 0 && sh.flag == 1 && dt < 4000, "cond signalled: %d flag %d after %u ms", rc,
       sh.flag, (unsigned)dt);
    if (st)
        plat_thread_join(st);
    plat_cond_destroy(&sh.c);
    plat_mutex_destroy(&sh.m);
}

/* ---- time --------------------------------------------------------------------------- */

static void test_time(void)
{
    char buf[PLAT_HTTP_DATE_LEN + 1];
    /* RFC 7231's own example: 784111777 is Sun, 06 Nov 1994 08:49:37 GMT. */
    plat_http_date_format(784111777, buf);
    ok(strcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT") == 0, "format: '%s'", buf);
    int64_t t = 0;
    int rc = plat_http_date_parse(" Sun, 06 Nov 1994 08:49:37 GMT ", 31, &t);
    ok(rc == 0 && t == 784111777, "parse: %d, %lld", rc, (long long)t);

    /* Round trips across leap days, the epoch, and before it. */
    static const int64_t samples[] = { 0, 951782400, 951868799, 4107542399LL, -86400,
                                       1700000000 };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = -1;
        plat_http_date_format(samples[i], buf);
        rc = plat_http_date_parse(buf, strlen(buf), &back);
        ok(rc == 0 && back == samples[i], "round trip %lld -> '%s' -> %lld",
           (long long)samples[i], buf, (long long)back);
    }
    plat_http_date_format(951782400, buf);
    ok(strcmp(buf, "Tue, 29 Feb 2000 00:00:00 GMT") == 0, "leap day: '%s'", buf);
    plat_http_date_format(INT64_MAX, buf);
    ok(strcmp(buf, "Fri, 31 Dec 9999 23:59:59 GMT") == 0, "clamped far future: '%s'", buf);
    plat_http_date_format(INT64_MIN, buf);
    ok(strcmp(buf, "Sat, 01 Jan 0000 00:00:00 GMT") == 0, "clamped far past: '%s'", buf);

    static const char *bad[] = {
        "Sunday, 06-Nov-94 08:49:37 GMT",   /* RFC 850: obsolete, refused */
        "Sun Nov  6 08:49:37 1994",         /* asctime: obsolete, refused */
        "Mon, 06 Nov 1994 08:49:37 GMT",    /* wrong day name */
        "Sun, 31 Nov 1994 08:49:37 GMT",    /* no such day */
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(plat_http_date_parse(bad[i], strlen(bad[i]), &t) == PLAT_EINVAL, "refused '%s'",
           bad[i]);

    plat_tm_t tm;
    plat_time_utc_from_ms(784111777123LL, &tm);
    ok(tm.year == 1994 && tm.month == 11 && tm.day == 6 && tm.hour == 8 && tm.min == 49
           && tm.sec == 37 && tm.msec == 123 && tm.wday == 0,
       "breakdown: %d-%d-%d %d:%d:%d.%d wday %d", tm.year, tm.month, tm.day, tm.hour, tm.min,
       tm.sec, tm.msec, tm.wday);
    plat_time_utc_from_ms(-1, &tm);
    ok(tm.year == 1969 && tm.month == 12 && tm.day == 31 && tm.hour == 23 && tm.msec == 999
           && tm.wday == 3,
       "before epoch: %d-%d-%d %d h %d ms wday %d", tm.year, tm.month, tm.day, tm.hour,
       tm.msec, tm.wday);

    /* The wall clock agrees with itself and is after this code was written (2023). */
    int64_t now_ms = plat_time_unix_ms();
    plat_time_utc_now(&tm);
    int64_t now_s = 0;
    rc = plat_time_utc_to_unix(&tm, &now_s);
    ok(rc == 0 && tm.year >= 2023 && now_s >= now_ms / 1000 - 5 && now_s <= now_ms / 1000 + 5,
       "now: %d-%02d-%02d, %lld vs %lld", tm.year, tm.month, tm.day, (long long)now_s,
       (long long)(now_ms / 1000));

    uint64_t m0 = plat_time_mono_ms();
    plat_sleep_ms(50);
    uint64_t m1 = plat_time_mono_ms();
    ok(m1 - m0 >= 40 && m1 - m0 < 3000, "sleep 50 ms took %u ms", (unsigned)(m1 - m0));

    /* The tick counter, converted with the rate plat_ticks_calibrate() gives, agrees with
     * the monotonic clock over a sleep (to 10 % and 10 ms: the machine may be busy). */
    uint64_t per_second = plat_ticks_calibrate();
    ok(per_second >= 1000000u, "%s ticks at %llu per second", plat_ticks_source(),
       (unsigned long long)per_second);
    uint64_t k0 = plat_ticks();
    m0 = plat_time_mono_ms();
    plat_sleep_ms(200);
    uint64_t k1 = plat_ticks();
    m1 = plat_time_mono_ms();
    double ticks_ms = per_second ? (double)(k1 - k0) * 1000.0 / (double)per_second : 0;
    double mono_ms = (double)(m1 - m0);
    ok(k1 > k0 && ticks_ms >= mono_ms * 0.9 - 10 && ticks_ms <= mono_ms * 1.1 + 10,
       "a sleep of %.0f ms on the monotonic clock took %.1f ms in %s ticks", mono_ms,
       ticks_ms, plat_ticks_source());
}

/* ---- files and paths ---------------------------------------------------------------- */

static void test_files(void)
{
    char name[64];
    snprintf(name, sizeof name, "os-test-%u.tmp", (unsigned)plat_process_id());
    FILE *fp = fopen(name, "wb");
    ok(fp != NULL, "create %s", name);
    if (!fp)
        return;
    char content[10000];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (char)('a' + i % 26);
    fwrite(content, 1, sizeof content, fp);
    fclose(fp);

    plat_file_info_t info;
    int rc = plat_file_stat(name, &info);
    int64_t now = plat_time_unix_ms() / 1000;
    ok(rc == 0 && info.exists && !info.is_directory && info.size == sizeof content,
       "stat file: rc %d exists %d dir %d size %llu", rc, info.exists, info.is_directory,
       (unsigned long long)info.size);
    ok(info.mtime > now - 300 && info.mtime <= now + 300, "mtime %lld near now %lld",
       (long long)info.mtime, (long long)now);

    plat_file_t f = PLAT_INVALID_FILE;
    rc = plat_file_open(name, &f, NULL);
    ok(rc == 0, "open: %d %s", rc, err_text(rc));
    if (rc == 0) {
        plat_file_info_t fi;
        ok(plat_file_info(f, &fi) == 0 && fi.size == sizeof content && fi.mtime == info.mtime,
           "file_info size %llu", (unsigned long long)fi.size);
        plat_file_t f2 = PLAT_INVALID_FILE;
        plat_file_info_t oi = { 0, 1, 0, 0 };
        rc = plat_file_open(name, &f2, &oi);
        ok(rc == 0 && oi.exists && !oi.is_directory && oi.size == sizeof content
               && oi.mtime == info.mtime,
           "open with info: rc %d exists %d dir %d size %llu", rc, oi.exists, oi.is_directory,
           (unsigned long long)oi.size);
        if (rc == 0)
            plat_file_close(f2);
        char buf[100];
        ptrdiff_t n = plat_file_pread(f, buf, 100, 9950);
        ok(n == 50 && memcmp(buf, content + 9950, 50) == 0, "pread at 9950: %d", (int)n);
        n = plat_file_pread(f, buf, 10, 3);
        ok(n == 10 && memcmp(buf, content + 3, 10) == 0, "pread at 3: %d", (int)n);
        n = plat_file_pread(f, buf, 10, sizeof content);
        ok(n == 0, "pread at end: %d", (int)n);

        /* send_file: the client receives exactly the requested ranges; a range past the
         * end sends what exists and then fails. */
        plat_socket_t ls, s;
        uint16_t port;
        char got[7000];
        client_t c = { 0, NULL, 0, 0, 0, 7000, got, 0, 0, 0 };
        if (plat_listen("127.0.0.1", 0, 4, &ls, &port) == 0) {
            c.port = port;
            plat_thread_t *t = start_client(&c);
            rc = plat_accept(ls, 5000, &s, NULL, NULL);
            if (rc == 0) {
                rc = plat_sock_send_file(s, f, 1234, 6000, 5000);
                ok(rc == 0, "send_file: %d %s", rc, err_text(rc));
                int rc2 = plat_sock_send_file(s, f, 9000, 2000, 5000);
                ok(rc2 == PLAT_EIO, "send_file past the end: %d", rc2);
                plat_sock_close(s);
            }
            if (t)
                plat_thread_join(t);
            plat_sock_close(ls);
            ok(c.rc == 0 && c.got == 7000 && memcmp(got, content + 1234, 6000) == 0
                   && memcmp(got + 6000, content + 9000, 1000) == 0,
               "send_file bytes: rc %d got %u", c.rc, (unsigned)c.got);
        }
        plat_file_close(f);
    }
    remove(name);

    rc = plat_file_stat(name, &info);
    ok(rc == 0 && !info.exists, "stat missing: rc %d exists %d", rc, info.exists);
    rc = plat_file_open(name, &f, NULL);
    ok(rc == PLAT_ENOENT, "open missing: %d", rc);
    rc = plat_file_stat(".", &info);
    ok(rc == 0 && info.exists && info.is_directory, "stat '.': rc %d dir %d", rc,
       info.is_directory);
    rc = plat_file_open(".", &f, NULL);
    ok(rc == PLAT_EISDIR, "open folder: %d", rc);
}

static void test_paths(void)
{
    char out[64], want[64];
    const char sep = PLAT_PATH_SEP;

    int n = plat_path_join(out, sizeof out, "www", "/docs/a.html");
    snprintf(want, sizeof want, "www%cdocs%ca.html", sep, sep);
    ok(n == (int)strlen(want) && strcmp(out, want) == 0, "join: %d '%s'", n, out);
    n = plat_path_join(out, sizeof out, "www/", "//x//y");
    snprintf(want, sizeof want, "www%cx%cy", sep, sep);
    ok(n > 0 && strcmp(out, want) == 0, "join, doubled separators: '%s'", out);
    n = plat_path_join(out, sizeof out, "www", "/");
    ok(n == 3 && strcmp(out, "www") == 0, "join root only: '%s'", out);
    ok(plat_path_join(out, sizeof out, "www", "/a/../b") == PLAT_EINVAL, "join refuses ..");
    ok(plat_path_join(out, sizeof out, "", "/a") == PLAT_EINVAL, "join refuses empty root");
    ok(plat_path_join(out, 8, "www", "/abcdef") == PLAT_ENAMETOOLONG, "join too long");
    n = plat_path_join(out, sizeof out, "www", "/a..b/.x");
    ok(n > 0, "join allows dots inside names: %d", n);

    /* Segments that name another file (or a device) under Win32 name rules; elsewhere they
     * are ordinary, if odd, file names. */
    static const char *win32_tricks[] = { "/a.asp::$DATA", "/a.asp.", "/a.asp ", "/con",
                                          "/sub/NUL.txt", "/lpt1", "/a\\b", "/c:x" };
    for (size_t i = 0; i < sizeof win32_tricks / sizeof win32_tricks[0]; i++) {
        n = plat_path_join(out, sizeof out, "www", win32_tricks[i]);
        ok(PLAT_WIN32_NAME_RULES ? n == PLAT_EINVAL : n > 0, "join '%s': %d (Win32 rules %d)",
           win32_tricks[i], n, PLAT_WIN32_NAME_RULES);
    }
    n = plat_path_join(out, sizeof out, "www", "/./console.txt/com10/a.b");
    ok(n > 0, "join allows names that only resemble devices: %d", n);

    n = plat_path_dirname("conf/site.ini", out, sizeof out);
    ok(n == 4 && strcmp(out, "conf") == 0, "dirname: '%s'", out);
    n = plat_path_dirname("site.ini", out, sizeof out);
    ok(n == 1 && strcmp(out, ".") == 0, "dirname of bare name: '%s'", out);
    ok(plat_path_is_absolute("conf/site.ini") == 0, "relative path");
    snprintf(want, sizeof want, "%cetc%csite.ini", sep, sep);
    ok(plat_path_is_absolute(want) == 1, "absolute path '%s'", want);
    ok(plat_path_is_absolute("C:\\site\\x.ini") == PLAT_WIN32_NAME_RULES, "drive path");
    n = plat_path_dirname("C:\\x.ini", out, sizeof out);
    ok(PLAT_WIN32_NAME_RULES ? strcmp(out, "C:\\") == 0 : strcmp(out, ".") == 0,
       "dirname of a drive path: '%s'", out);
    n = plat_path_dirname("/x.ini", out, sizeof out);
    ok(n == 1 && strcmp(out, "/") == 0, "dirname of a root file: '%s'", out);
    ok(plat_path_dirname("abc/def.ini", out, 3) == PLAT_ENAMETOOLONG, "dirname too long");
}

/* ---- process ------------------------------------------------------------------------ */

static atomic_int stop_calls;

static void on_stop(void *arg)
{
    atomic_fetch_add(&stop_calls, 1);
    plat_poller_wakeup(arg);
}

static void test_process(void)
{
    ok(plat_process_id() != 0, "pid %u", (unsigned)plat_process_id());
    ok(plat_cpu_count() >= 1, "cpus %u", plat_cpu_count());

    plat_poller_t *p = NULL;
    if (plat_poller_create(&p) != 0) {
        ok(0, "poller for shutdown test");
        return;
    }
    ok(plat_shutdown_requested() == 0, "no stop requested yet");
    int rc = plat_shutdown_handler_set(on_stop, p);
    ok(rc == 0, "shutdown_handler_set: %d %s", rc, err_text(rc));
    rc = plat_shutdown_raise();
    ok(rc == 0, "shutdown_raise: %d %s", rc, err_text(rc));
    /* The handler runs asynchronously; the poller wakeup tells us it ran. */
    plat_ready_t ready[1];
    uint64_t t0 = plat_time_mono_ms();
    while (atomic_load(&stop_calls) == 0 && plat_time_mono_ms() - t0 < 5000)
        plat_poller_wait(p, 1000, ready, 1);
    ok(atomic_load(&stop_calls) == 1 && plat_shutdown_requested() == 1,
       "stop handler ran: calls %d, requested %d", atomic_load(&stop_calls),
       plat_shutdown_requested());
    plat_poller_destroy(p);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int rc = plat_init();
    ok(rc == 0, "plat_init: %d", rc);
    if (rc != 0) {
        printf("os: %d passed, %d failed\n", passed, failed);
        return 1;
    }
    test_sockets();
    test_ipv6();
    test_poller();
    test_threads();
    test_time();
    test_files();
    test_paths();
    test_process();
    plat_cleanup();
    printf("os: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
