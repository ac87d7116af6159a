"""test_hostile.py - hostile client input: every case gets its status (or a clean close)
within the configured limits, and the server still serves a normal request afterwards.

Cases (docs/robustness.md lists each with what the server does): oversized request line,
header line, header block and header count; a body over max_body; invalid methods and
versions; NUL and control bytes; bad chunk sizes; request smuggling (Content-Length with
Transfer-Encoding, differing duplicate Content-Length); path tricks that must never reach a
file outside the root (a secret file sits beside it); slow headers (slowloris) against a
header_timeout while other clients are served among the open slow connections; a flood of
idle connections, among which a normal request is served, closed at keepalive_timeout.
"""
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

suite = harness.Suite("robustness_hostile")

SECRET = b"TOPSECRET-beside-the-root\n"
LIMITS = {
    "max_request_line": "2048",
    "max_header_bytes": "4096",
    "max_headers": "20",
    "max_body": "100000",
    "header_timeout": "2",
    "keepalive_timeout": "3",
    "workers": "4",
}


def start(s, **extra):
    settings = dict(LIMITS)
    settings.update(extra)
    srv = s.server(settings=settings)
    # the secret lives beside the root, where "../" would lead
    with open(os.path.join(srv.dir, "secret.txt"), "wb") as f:
        f.write(SECRET)
    return srv


def raw(srv, data, timeout=8.0):
    """Sends data, reads until the server closes (or timeout); returns the bytes."""
    with srv.conn(timeout=timeout) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return c.read_until_close(timeout)
        except (TimeoutError, socket.timeout):
            return c.buf + b"<no close>"


def status_of(data):
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def still_serving(s, srv, what):
    r = srv.get("/a.txt", timeout=10.0)
    s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
            f"normal request served after {what}", repr(r))


def expect(s, srv, what, data, statuses):
    t = time.monotonic()
    got = raw(srv, data)
    st = status_of(got)
    s.check(st in statuses, f"{what}: status in {statuses}", f"got {got[:80]!r}")
    s.check(not got.endswith(b"<no close>"), f"{what}: connection closed", f"{got[-40:]!r}")
    s.check(time.monotonic() - t < 6.0, f"{what}: answered promptly")
    still_serving(s, srv, what)


@suite.case
def limits(s):
    srv = start(s)
    h = b"Host: 127.0.0.1\r\n"
    expect(s, srv, "request line over max_request_line",
           b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n" + h + b"\r\n", (414,))
    expect(s, srv, "header line over max_header_bytes",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-Big: " + b"b" * 5000 + b"\r\n\r\n", (431,))
    expect(s, srv, "header block over max_header_bytes",
           b"GET /a.txt HTTP/1.1\r\n" + h
           + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 300) for i in range(15)) + b"\r\n", (431,))
    expect(s, srv, "header count over max_headers",
           b"GET /a.txt HTTP/1.1\r\n" + h
           + b"".join(b"X-%d: 1\r\n" % i for i in range(25)) + b"\r\n", (431,))
    expect(s, srv, "Content-Length over max_body",
           b"POST /a.txt HTTP/1.1\r\n" + h + b"Content-Length: 200000\r\n\r\n", (413,))
    expect(s, srv, "chunked body over max_body",
           b"POST /a.txt HTTP/1.1\r\n" + h + b"Transfer-Encoding: chunked\r\n\r\n"
           + b"20000\r\n" + b"x" * 0x20000 + b"\r\n0\r\n\r\n", (413,))
    # just inside the limits: served
    r = srv.get("/a.txt", headers=[(f"X-{i}", "1") for i in range(18)])
    s.check(r is not None and r.status == 200, "20 headers (the limit) served", repr(r))


@suite.case
def methods_and_versions(s):
    srv = start(s)
    h = b"Host: 127.0.0.1\r\n\r\n"
    expect(s, srv, "HTTP/2.0", b"GET /a.txt HTTP/2.0\r\n" + h, (505,))
    expect(s, srv, "HTTP/1.10", b"GET /a.txt HTTP/1.10\r\n" + h, (400,))
    expect(s, srv, "lower-case version", b"GET /a.txt http/1.1\r\n" + h, (400,))
    expect(s, srv, "version garbage", b"GET /a.txt HTTP/x.y\r\n" + h, (400,))
    # Why 501: methods are case-sensitive tokens (RFC 9110 9.1); "get" is an unknown method
    expect(s, srv, "lower-case method", b"get /a.txt HTTP/1.1\r\n" + h, (501,))
    expect(s, srv, "unknown method", b"FOO /a.txt HTTP/1.1\r\n" + h, (501,))
    expect(s, srv, "HTTP/1.1 without Host",
           b"GET /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n", (400,))
    expect(s, srv, "empty request line", b"\r\n\r\n\r\n\r\n \r\n", (400,))


@suite.case
def control_bytes(s):
    srv = start(s)
    h = b"Host: 127.0.0.1\r\n"
    expect(s, srv, "NUL in the target", b"GET /a\x00.txt HTTP/1.1\r\n" + h + b"\r\n", (400,))
    expect(s, srv, "control byte in the target", b"GET /a\x01.txt HTTP/1.1\r\n" + h + b"\r\n",
           (400,))
    expect(s, srv, "NUL in a header value",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-A: b\x00c\r\n\r\n", (400,))
    expect(s, srv, "control byte in a header value",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-A: b\x07c\r\n\r\n", (400,))
    expect(s, srv, "NUL in a header name",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X\x00A: b\r\n\r\n", (400,))
    expect(s, srv, "bare CR in a header",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-A: b\rc\r\n\r\n", (400,))
    expect(s, srv, "space before the colon",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-A : b\r\n\r\n", (400,))
    expect(s, srv, "obsolete line folding",
           b"GET /a.txt HTTP/1.1\r\n" + h + b"X-A: b\r\n c\r\n\r\n", (400,))


@suite.case
def bad_chunks(s):
    srv = start(s)
    head = b"POST /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    expect(s, srv, "chunk size not hex", head + b"zz\r\nabc\r\n0\r\n\r\n", (400,))
    expect(s, srv, "negative chunk size", head + b"-5\r\nabcde\r\n0\r\n\r\n", (400,))
    expect(s, srv, "empty chunk size", head + b"\r\nabc\r\n0\r\n\r\n", (400,))
    expect(s, srv, "chunk size overflowing 64 bits", head + b"ffffffffffffffffff\r\nabc\r\n",
           (400, 413))
    expect(s, srv, "chunk data longer than its size", head + b"3\r\nabcdef\r\n0\r\n\r\n", (400,))
    expect(s, srv, "unknown transfer coding",
           b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", (400, 501))


@suite.case
def smuggling(s):
    srv = start(s)
    hidden = b"GET /b.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for what, data in (
        ("Content-Length with Transfer-Encoding",
         b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden),
        ("Transfer-Encoding with Content-Length",
         b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"Content-Length: 5\r\n\r\n0\r\n\r\n" + hidden),
        ("duplicate differing Content-Length",
         b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"
         b"abcd" + hidden),
        ("Content-Length list with differing values",
         b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd" + hidden),
        ("Content-Length not a number",
         b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc" + hidden),
    ):
        got = raw(srv, data)
        rs, _ = harness.parse_responses(got)
        s.check(status_of(got) == 400, f"{what}: 400", repr(got[:60]))
        # the bytes after the refused head must never be served as a second request
        s.check(len(rs) == 1 and b"second file" not in got, f"{what}: nothing smuggled",
                f"{len(rs)} responses")
    still_serving(s, srv, "smuggling attempts")


@suite.case
def path_tricks(s):
    srv = start(s)
    tricks = [
        "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
        "/..%2Fsecret.txt", "/..\\secret.txt", "/..%5csecret.txt", "/a.txt/../../secret.txt",
        "/%2e%2e%2fsecret.txt", "/.%2e/secret.txt", "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
        "/%252e%252e/secret.txt", "/a.txt%00.html", "/..%00/secret.txt", "/secret.txt%00",
        "//../secret.txt", "/./../secret.txt", "/...//secret.txt", "/..;/secret.txt",
        "http://127.0.0.1/../secret.txt", "/%u002e%u002e/secret.txt",
    ]
    for t in tricks:
        data = raw(srv, b"GET " + t.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Connection: close\r\n\r\n")
        s.check(status_of(data) in (400, 404), f"{t}: 400 or 404", repr(data[:60]))
        s.check(b"TOPSECRET" not in data, f"{t}: the secret never leaves")
        # the same as an HTTP/0.9 simple request (body only, strict policy)
        data09 = raw(srv, b"GET " + t.encode() + b"\r\n")
        s.check(b"TOPSECRET" not in data09, f"{t} (0.9): the secret never leaves")
        s.check(not data09.startswith(b"HTTP/"), f"{t} (0.9): body only")
    still_serving(s, srv, "path tricks")


def still_open(socks):
    """How many of the connections the server has not closed (nothing to read on them)."""
    poller = select.poll()
    for c in socks:
        poller.register(c.sock, select.POLLIN)
    return len(socks) - len(poller.poll(0))


@suite.case
def slowloris(s):
    # Why 6 s and not the suite's 2: a normal request must be seen served while every slow
    # connection is still open, on a busy machine and under the sanitizers too.
    header_timeout = 6
    srv = start(s, header_timeout=str(header_timeout))
    n = 10 if s.env.wine else 30
    socks = []
    for _ in range(n):
        c = srv.conn(timeout=15.0)
        c.send(b"GET /a.txt HTTP/1.1\r\n")
        socks.append(c)
    t0 = time.monotonic()
    slow_ok = True
    served = 0
    served_among_slow = 0
    # trickle one header byte per connection every 200 ms until the server closed them all
    header = b"X-Slow: " + b"s" * 200
    i = 0
    while time.monotonic() - t0 < header_timeout + 20.0 and any(not c.eof for c in socks):
        for c in socks:
            if c.eof:
                continue
            try:
                c.send(header[i % len(header):i % len(header) + 1])
            except (BrokenPipeError, ConnectionResetError):
                c.eof = True
        i += 1
        if i % 5 == 0:
            r = srv.get("/a.txt", timeout=30.0)
            ok = r is not None and r.status == 200
            served += ok
            slow_ok = slow_ok and ok
            if ok and all(not c.eof for c in socks) and still_open(socks) == n:
                served_among_slow += 1
        time.sleep(0.2)
        for c in socks:
            if not c.eof:
                c.sock.setblocking(False)
                try:
                    chunk = c.sock.recv(65536)
                    if not chunk:
                        c.eof = True
                    c.buf += chunk
                except (BlockingIOError, ConnectionResetError):
                    pass
                finally:
                    c.sock.setblocking(True)
    elapsed = time.monotonic() - t0
    closed = sum(c.eof for c in socks)
    s.check(closed == n, f"all {n} trickling connections closed by the server",
            f"{closed} closed after {elapsed:.1f}s")
    s.check(all(status_of(c.buf) in (408, None) for c in socks), "408 or a bare close",
            repr([c.buf[:30] for c in socks if status_of(c.buf) not in (408, None)][:3]))
    s.check(slow_ok and served, "other clients served during the trickle")
    s.check(served_among_slow > 0,
            "another client served while every trickling connection was still open",
            f"{served} served, {served_among_slow} of them among the open slow ones")
    for c in socks:
        c.close()
    still_serving(s, srv, "slowloris")


@suite.case
def idle_flood(s):
    n = 150 if s.env.wine else 500
    # First a server whose idle connections stay for a minute: a normal request is served
    # while all of them are open, so it did not wait for any of them to end.
    srv = start(s, keepalive_timeout="60")
    socks = []
    try:
        for _ in range(n):
            socks.append(srv.conn(timeout=15.0))
    except OSError as e:
        s.check(False, f"open {n} idle connections", repr(e))
    r = srv.get("/a.txt", timeout=30.0)
    s.check(r is not None and r.status == 200, "normal request served among idle ones",
            repr(r))
    s.eq(still_open(socks), len(socks), "every idle connection still open when it was served")
    for c in socks:
        c.close()
    # Then the suite's keepalive_timeout (3 s): each idle one is closed then.
    srv = start(s)
    socks = []
    try:
        for _ in range(n):
            socks.append(srv.conn(timeout=15.0))
    except OSError as e:
        s.check(False, f"open {n} idle connections", repr(e))
    t_open = time.monotonic()
    deadline = t_open + 3.0 + 20.0
    for c in socks:
        left = max(0.1, deadline - time.monotonic())
        if not c.closed_by_server(left):
            break
    closed = sum(c.eof for c in socks)
    s.check(closed == len(socks), f"idle connections closed at keepalive_timeout",
            f"{closed}/{len(socks)} closed {time.monotonic() - t_open:.1f}s after opening")
    for c in socks:
        c.close()
    still_serving(s, srv, "idle flood")


@suite.case
def invalid_host(s):
    """RFC 9112 section 3.2: a Host field with an invalid value is a 400, in HTTP/1.0 too."""
    srv = start(s)
    bad = ["", "a b", "a/../b", "a/b", "a@b", "[::1", "::1", "a:99999", "a:8o",
           "\xc3\xa9xample", "[::1%25eth0]", ":80"]
    for v in bad:
        for version in (b"HTTP/1.1", b"HTTP/1.0"):
            expect(s, srv, f"{version.decode()} Host: {v!r}",
                   b"GET /a.txt " + version + b"\r\nHost: " + v.encode("latin-1")
                   + b"\r\nConnection: close\r\n\r\n", (400,))
    expect(s, srv, "HTTP/1.0 with two Host fields",
           b"GET /a.txt HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", (400,))
    for v in ["127.0.0.1", "127.0.0.1:8080", "[::1]:80", "example.com.", "ex%41mple:"]:
        data = raw(srv, b"GET /a.txt HTTP/1.1\r\nHost: " + v.encode()
                   + b"\r\nConnection: close\r\n\r\n")
        s.check(status_of(data) == 200, f"Host: {v!r}: 200", repr(data[:60]))


@suite.case
def long_names(s):
    """A name longer than the file system allows cannot exist: 404, never a 500. A URL too
    long for the server's path buffer is a 414."""
    srv = start(s, max_request_line="16384", max_header_bytes="32768")
    for what, path in [
        ("a 300-byte file name", "/" + "a" * 300 + ".txt"),
        ("a 300-byte folder name", "/" + "b" * 300 + "/a.txt"),
        ("a 1000-byte name", "/" + "%41" * 1000),
        ("a 4050-byte path of 200-byte names", ("/" + "c" * 200) * 20 + "/" + "d" * 40),
    ]:
        expect(s, srv, what, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n"
               b"Connection: close\r\n\r\n", (404,))
    expect(s, srv, "a 6000-byte path", b"GET /" + b"e/" * 3000 + b" HTTP/1.1\r\nHost: a\r\n"
           b"Connection: close\r\n\r\n", (414,))


# ---- long W3C log fields (docs/robustness.md, "Logs") ----------------------------------

# The query fills the 4096-byte W3C line before s-port; the User-Agent is three times the
# line. This overflowed the line's stack buffer and crashed the serving process.
LONG_LOG_REQUEST = (b"GET /?" + b"a" * 4000 + b" HTTP/1.0\r\nUser-Agent: " + b"B" * 12000
                    + b"\r\n\r\n")
W3C_LINE_MAX = 4096
LONG_LOG_SETTINGS = {"max_request_line": "16384", "max_header_bytes": "65536", "workers": "4"}


def w3c_lines(srv):
    try:
        with open(srv.path("access.log"), "rb") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [l for l in text.replace(b"\r\n", b"\n").split(b"\n") if l and not l.startswith(b"#")]


def wait_w3c_lines(srv, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        lines = w3c_lines(srv)
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def check_w3c_line(s, srv, line, what):
    """Bounded, 15 columns, every numeric column a number, s-port the server's port."""
    cols = line.split(b" ")
    s.check(len(line) + 1 <= W3C_LINE_MAX, f"{what}: the W3C line is at most {W3C_LINE_MAX} bytes",
            f"{len(line) + 1} bytes")
    if not s.check(len(cols) == 15, f"{what}: the W3C line has the 15 columns of #Fields",
                   f"{len(cols)} columns: {line[:120]!r}...{line[-120:]!r}"):
        return None
    s.check(all(c.isdigit() for c in (cols[6],) + tuple(cols[10:15])),
            f"{what}: s-port and the five last columns are numbers", repr(line[-80:]))
    s.eq(cols[6], str(srv.port).encode(), f"{what}: s-port")
    return cols


def no_crash(s, srv, what, pid):
    text = srv.error_log() + srv.stderr_text()
    s.check("AddressSanitizer" not in text and "died from signal" not in text,
            f"{what}: the serving process did not crash",
            "\n".join(l for l in text.splitlines() if "Sanitizer" in l or "signal" in l)[:400])
    if not s.env.wine:
        s.eq(srv.serving_pid(), pid, f"{what}: the same serving process answers")


@suite.case
def long_log_fields(s):
    # no filter at all: the outage case (each request killed the serving process; the
    # supervisor gave up after 20 crashes in a minute)
    srv = s.server(settings=dict(LONG_LOG_SETTINGS))
    still_serving(s, srv, "start")   # the serving process exists once it has answered
    pid = srv.serving_pid()
    n = 25
    for i in range(n):
        got = raw(srv, LONG_LOG_REQUEST)
        if not s.check(status_of(got) is not None, f"long query and User-Agent #{i + 1}: answered",
                       repr(got[:80])):
            break
    still_serving(s, srv, f"{n} requests with a long query and User-Agent")
    no_crash(s, srv, "long fields, no filter", pid)
    lines = wait_w3c_lines(srv, n + 2)
    long_ones = [l for l in lines if b"aaaa" in l]
    s.eq(len(long_ones), n, "one W3C line per long request")
    for l in long_ones[:3]:
        cols = check_w3c_line(s, srv, l, "long fields, no filter")
        if cols:
            s.check(cols[5].startswith(b"aaaa") and cols[9].startswith(b"BBBB"),
                    "the query and the User-Agent are there, cut", repr((cols[5][:8], cols[9][:8])))
            s.check(cols[8] == b"127.0.0.1", "c-ip is whole", repr(cols[8]))


@suite.case
def long_log_fields_behind_rawguard(s):
    # rawguard refuses the long request line when it starts a read; behind another request
    # in the same read it is not checked, and reaches the log
    srv = s.server(filters=["rawguard"], settings=dict(LONG_LOG_SETTINGS))
    still_serving(s, srv, "start")
    pid = srv.serving_pid()
    got = raw(srv, LONG_LOG_REQUEST)
    s.eq(status_of(got), 400, "plain: rawguard refuses the long request line")
    still_serving(s, srv, "the long request, plain")
    no_crash(s, srv, "plain, behind rawguard", pid)

    first = b"GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for i in range(3):
        got = raw(srv, first + LONG_LOG_REQUEST)
        rs, _ = harness.parse_responses(got)
        s.check(len(rs) == 2 and rs[0].status == 200 and rs[0].body == harness.SITE["a.txt"],
                f"pipelined #{i + 1}: both requests answered",
                repr([(r.status, r.body[:20]) for r in rs]) + repr(got[-60:]))
    still_serving(s, srv, "the long request, pipelined")
    no_crash(s, srv, "pipelined, behind rawguard", pid)
    # start, plain, its check, three pairs, the last check
    lines = wait_w3c_lines(srv, 1 + 1 + 1 + 3 * 2 + 1)
    for l in lines:
        check_w3c_line(s, srv, l, "behind rawguard")
    long_ones = [l for l in lines if b"aaaa" in l]
    s.eq(len(lines), 10, "every request logged")
    s.eq(len(long_ones), 3, "the pipelined long requests are logged with their query")


# ---- a flood of one warning (docs/robustness.md, "Logs") -------------------------------

@suite.case
def warning_flood_folded(s):
    # misbehave's /mb/error-denied fails its request with SF_STATUS_REQ_ERROR and
    # ERROR_ACCESS_DENIED, as a filter refusing anonymous requests does: the engine warns
    # once per request, with the same text each time
    srv = s.server(filters=["misbehave"], settings={"workers": "4"})
    n = 100 if s.env.wine else 400
    t0 = time.monotonic()
    denied = 0
    for _ in range(n):
        # a failed request closes its connection: one connection each
        r = srv.get("/mb/error-denied", timeout=30.0)
        denied += r is not None and r.status == 401
    elapsed = time.monotonic() - t0
    s.eq(denied, n, "every request refused with 401")
    marker = "returned SF_STATUS_REQ_ERROR"
    during = [l for l in srv.error_log().splitlines() if marker in l]
    # one line, plus at most one count per 10-second window the flood lasted
    s.check(1 <= len(during) <= 1 + int(elapsed / 10) + 1,
            f"{n} identical warnings: the first one written, the rest counted",
            f"{len(during)} lines in {elapsed:.1f}s: {during[:3]!r}")
    still_serving(s, srv, "the warning flood")
    srv.stop()
    lines = [l for l in srv.error_log().splitlines() if marker in l]
    counts = [l for l in lines if "last message repeated" in l]
    s.check(counts and len(lines) == len(counts) + 1,
            "the count is written (before the next message, or at the stop)", repr(lines[-3:]))
    total = 0
    for l in counts:
        total += int(l.split("last message repeated ", 1)[1].split(" ", 1)[0])
    s.eq(total + 1, n, "the counts add up to every warning but the first")


# ---- concurrent appends to the access log (docs/robustness.md, "Logs") -----------------

@suite.case
def concurrent_access_log(s):
    # several worker threads append W3C lines at once: every record must be there, whole
    import threading
    srv = s.server(settings={"workers": "8"})
    nthreads, per = 16, 250
    errors = []

    def client(t):
        try:
            with srv.conn(timeout=60.0) as c:
                for i in range(per):
                    c.send(f"GET /a.txt?c{t}-{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    r = c.response(timeout=60.0)
                    if r is None or r.status != 200:
                        errors.append((t, i, r))
                        return
        except OSError as e:
            errors.append((t, repr(e)))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    n = nthreads * per
    s.check(not errors, f"{n} requests on {nthreads} connections answered", repr(errors[:3]))
    lines = wait_w3c_lines(srv, n, timeout=30.0)
    torn = [l for l in lines if len(l.split(b" ")) != 15 or not l.split(b" ")[-1].isdigit()]
    s.check(not torn, "no torn W3C line", f"{len(torn)} torn, e.g. {torn[:2]!r}")
    queries = [l.split(b" ")[5] for l in lines if len(l.split(b" ")) == 15]
    want = {f"c{t}-{i}".encode() for t in range(nthreads) for i in range(per)}
    got = [q for q in queries if q in want]
    s.eq(len(lines), n, "one W3C line per request")
    s.check(set(got) == want and len(got) == n, "every request's record, once",
            f"{len(set(got))} of {n} distinct, {len(got)} in all")


suite.run()
