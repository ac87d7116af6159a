"""test_limits.py - the server's limits, each configured small and reached on purpose.

max_connections (the next connection gets a 503 and is closed; a slot freed is usable
again), max_requests_per_connection (the last response says Connection: close and the
connection ends), allocmem_per_connection (AllocMem returns NULL past the cap, the filter
fails that request, a new connection starts from zero) and body_timeout (a body that stops
arriving ends the connection). Header and body sizes, header_timeout and
keepalive_timeout are held by test_hostile.py.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

suite = harness.Suite("robustness_limits")
A = harness.SITE["a.txt"]


@suite.case
def max_connections(s):
    """At the limit with no idle connection to reclaim (each of the three is in the middle
    of a request body), a fourth connection gets 503; once they close, clients are served
    again."""
    srv = s.server(settings={"max_connections": "3", "workers": "2"})
    held = []
    try:
        for _ in range(3):
            c = srv.conn()
            c.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            held.append(c)
        for i, c in enumerate(held):
            interim = c.response(head_only=True)
            s.check(interim is not None and interim.status == 100,
                    f"connection {i} is in its request body (100 Continue)", repr(interim))
        data = srv.request(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        s.check(data.startswith(b"HTTP/1.1 503 "), "a fourth connection gets 503", data[:40])
    finally:
        for c in held:
            c.close()
    deadline = time.monotonic() + 5
    r = None
    while time.monotonic() < deadline:
        r = srv.get("/a.txt")
        if r is not None and r.status == 200:
            break
    s.check(r is not None and r.status == 200 and r.body == A,
            "served again once connections closed", repr(r))


@suite.case
def idle_connections_reclaimed(s):
    """At the limit, the oldest idle keep-alive connection is closed to make room for a new
    client (as nginx reuses idle connections) instead of refusing it."""
    srv = s.server(settings={"max_connections": "3", "workers": "2", "concurrency": "1"})
    held = []
    try:
        for _ in range(3):
            c = srv.conn()
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.response()
            s.check(r is not None and r.status == 200, "a keep-alive request answered")
            held.append(c)
        r = srv.get("/a.txt")
        s.check(r is not None and r.status == 200 and r.body == A,
                "a fourth client is served at the limit", repr(r))
        s.check(held[0].closed_by_server(5.0), "the oldest idle connection was closed for it")
        held[2].send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = held[2].response()
        s.check(r is not None and r.status == 200, "the newest idle connection still serves")
    finally:
        for c in held:
            c.close()


@suite.case
def max_requests_per_connection(s):
    srv = s.server(settings={"max_requests_per_connection": "3"})
    with srv.conn() as c:
        got = []
        for i in range(3):
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.response()
            got.append((r.status, (r.header("connection") or "").lower()) if r else None)
        s.eq(got, [(200, ""), (200, ""), (200, "close")],
             "the third response on the connection says Connection: close")
        s.check(c.closed_by_server(), "the connection ends after the third request", "")


@suite.case
def allocmem_per_connection(s):
    srv = s.server(filters=["misbehave"], settings={"allocmem_per_connection": "65536"})
    with srv.conn() as c:
        statuses = []
        for i in range(4):
            c.send(b"GET /mb/alloc?20 HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.response()
            statuses.append(r.status if r else None)
            if r is None or r.status != 200:
                break
        s.eq(statuses, [200, 200, 200, 500],
             "20 KiB AllocMem per request: the fourth passes the 64 KiB cap and fails")
    r = srv.get("/mb/alloc?20")
    s.check(r is not None and r.status == 200, "a new connection starts with an empty arena",
            repr(r))
    s.check("ERROR_NOT_ENOUGH_MEMORY" in srv.error_log() or "last error 8 " in srv.error_log(),
            "the error log names the failure", srv.error_log()[-800:])


@suite.case
def body_timeout(s):
    srv = s.server(settings={"body_timeout": "1"})
    with srv.conn() as c:
        c.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12")
        t0 = time.monotonic()
        closed = c.closed_by_server(timeout=6.0)
        took = time.monotonic() - t0
    s.check(closed, "a body that stops arriving ends the connection", "")
    s.check(took < 5.0, "within a few seconds of body_timeout", f"{took:.1f}s")
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "still serving", repr(r))


if __name__ == "__main__":
    sys.exit(suite.run())
