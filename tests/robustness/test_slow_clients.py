"""test_slow_clients.py - slow and hostile clients never hold a worker.

Each case opens many more hostile connections than the server has workers (the harness
gives it 4), keeps them going, and meanwhile checks that a fresh client is answered within
a second, again and again:

  slow_bodies            POSTs that announce a large body and send a byte now and then;
  expect_without_body    Expect: 100-continue, and then no body at all;
  non_reading_clients    clients that ask for a large file and never read;
  half_requests_closed   a flood of half requests whose clients close at once: every
                         descriptor is released promptly (natively: counted in /proc);
  slow_body_rate         a body slower than min_bytes_per_second is cut off after its
                         grace time, however often a byte arrives.

Natively the serving process's descriptors are counted before and after: none is left a
second after the clients are gone. Under Wine the counts are smaller (Wine is slower) and
descriptors are not counted (they live in the wineserver; a Winelib process also holds
Wine's own, which come and go by themselves). docs/robustness.md records the
full-size measurements with nginx beside them.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

suite = harness.Suite("robustness_slow_clients")
A = harness.SITE["a.txt"]
BIG = b"x" * (8 << 20)


def hostile_count(s):
    return 12 if s.env.wine else 48


def fd_count(srv):
    try:
        return len(os.listdir(f"/proc/{srv.serving_pid()}/fd"))
    except OSError:
        return None


def baseline_fds(s, srv):
    """The serving process's descriptors once it serves. Why a request first: the port file
    is written by the supervisor before it starts the serving process, which may not exist
    yet when the port is known."""
    if s.env.wine or s.env.winelib:
        # Wine: the descriptors live in the wineserver. Winelib: the process also holds
        # Wine's own (wineserver requests, thread pipes), which come and go by themselves.
        return None
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "the server serves before the attack")
    return fd_count(srv)


def fresh_client_answered(s, srv, what, rounds=5):
    """A new client gets /a.txt within a second, `rounds` times."""
    worst = 0.0
    for i in range(rounds):
        t0 = time.monotonic()
        r = srv.get("/a.txt", timeout=5)
        dt = time.monotonic() - t0
        worst = max(worst, dt)
        if not s.check(r is not None and r.status == 200 and r.body == A,
                       f"{what}: a fresh client is answered (round {i})", repr(r)):
            return
    s.check(worst < 1.0, f"{what}: every fresh client answered within 1 s "
            f"(worst {worst * 1000:.0f} ms)")


def descriptors_released(s, srv, baseline, what):
    """Natively: the serving process is back to its descriptors of before within 1 s."""
    if baseline is None:
        return
    deadline = time.monotonic() + 1.0
    n = fd_count(srv)
    while n is not None and n > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
        n = fd_count(srv)
    s.check(n is not None and n <= baseline,
            f"{what}: no descriptor left 1 s after the clients are gone "
            f"({n} open, {baseline} before)")


def open_many(srv, n, first_bytes):
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        if first_bytes:
            c.sendall(first_bytes)
        conns.append(c)
    return conns


def close_all(conns):
    for c in conns:
        try:
            c.close()
        except OSError:
            pass


@suite.case
def slow_bodies(s):
    srv = s.server()
    base = baseline_fds(s, srv)
    head = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    conns = open_many(srv, hostile_count(s), head)
    try:
        for c in conns:
            c.sendall(b"a")
        fresh_client_answered(s, srv, "slow bodies")
        for c in conns:
            c.sendall(b"b")
        fresh_client_answered(s, srv, "slow bodies, a byte later")
    finally:
        close_all(conns)
    descriptors_released(s, srv, base, "slow bodies")


@suite.case
def expect_without_body(s):
    srv = s.server()
    head = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            b"Expect: 100-continue\r\n\r\n")
    conns = open_many(srv, hostile_count(s), head)
    try:
        got = 0
        for c in conns:
            c.settimeout(5)
            try:
                got += c.recv(64).startswith(b"HTTP/1.1 100 Continue")
            except socket.timeout:
                pass
        s.eq(got, len(conns), "every client got its 100 Continue")
        fresh_client_answered(s, srv, "Expect with no body")
    finally:
        close_all(conns)


@suite.case
def non_reading_clients(s):
    site = dict(harness.SITE)
    site["big.bin"] = BIG
    srv = s.server(site=site)
    base = baseline_fds(s, srv)
    conns = []
    try:
        for _ in range(hostile_count(s)):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            conns.append(c)
        # Each has its response under way once its first bytes arrive.
        for c in conns:
            c.settimeout(10)
            s.check(c.recv(16).startswith(b"HTTP/1.1 200"), "a large response started")
        fresh_client_answered(s, srv, "clients that do not read")
    finally:
        close_all(conns)
    descriptors_released(s, srv, base, "clients that do not read")


@suite.case
def half_requests_closed(s):
    srv = s.server()
    base = baseline_fds(s, srv)
    n = 300 if s.env.wine else 3000
    t_end = time.monotonic() + (3.0 if not s.env.wine else 2.0)
    sent = 0
    checked = 0
    while time.monotonic() < t_end or sent < n // 10:
        for _ in range(50):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.sendall(b"GET /a.txt HTTP/1.1\r\nHo")
            c.close()
            sent += 1
        if sent % 500 == 0:
            fresh_client_answered(s, srv, f"half requests ({sent} so far)", rounds=1)
            checked += 1
        if sent >= n:
            break
    fresh_client_answered(s, srv, f"after {sent} half requests")
    s.check(sent >= 50, f"{sent} half requests sent")
    descriptors_released(s, srv, base, "half requests")


@suite.case
def slow_body_rate(s):
    """body_timeout 1 s of grace and 1000 bytes/s: a client sending 10 bytes every 0.2 s
    (50 bytes/s) is cut off a little after 1 s, though a byte arrives all the time."""
    srv = s.server(settings={"body_timeout": "1", "min_bytes_per_second": "1000"})
    with srv.conn() as c:
        c.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                c.send(b"0123456789")
            except OSError:
                closed = True
                break
            if c.closed_by_server(0.2):
                closed = True
                break
        dt = time.monotonic() - t0
        s.check(closed and dt < 6, f"a trickling body is cut off ({dt:.1f} s)")
    fresh_client_answered(s, srv, "after the trickle", rounds=1)


if __name__ == "__main__":
    suite.run()
