"""test_memory.py - running out of memory never drops a field or a header unnoticed.

Every string of a request (its fields, its header lists, the error page, a Location) comes
from the request's arena, and a failed allocation sets the request's out-of-memory flag,
which the pipeline checks after every step (host/http1.c, "Memory"; docs/semantics.md,
"Out of memory"). A test build of the server (Debug: ISAPI_FAULT_INJECTION) fails
allocations on purpose when ISAPIHOST_TEST_FAIL_ALLOC is set; with "sweep" the k-th
request of the serving process fails its k-th allocation, so requests 1, 2, 3, ... on new
connections each fail at the next allocation point of the same request, until a request
needs fewer allocations than its number and runs whole.

For every request of the sweep the answer must be one of: the complete response (every
header it carries without a fault, the right body), a 500 with its page, or no response
at all; and each 500 or missing response has its line in the error log. A response that
lacks a header, a 200 where the Range asked for 206 (a request header lost), a 501 (the
method lost) or a 301 without Location fails the test. The headers sample is loaded, so
the sweep also passes through what a filter adds (AddResponseHeaders in PREPROC_HEADERS,
SetHeader in SEND_RESPONSE), and for the ranged GET the logger sample (LOG).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Conn, Suite, parse_responses  # noqa: E402

suite = Suite("integration_memory")

MAX_REQUESTS = 120        # far more allocations than one request makes
RUN_WHOLE = 3             # the sweep is past the last allocation point after this many


def oom_lines(srv):
    return [l for l in srv.error_log().split("\n") if "out of memory" in l]


def start_sweep(t, filters):
    """The server with these filters and the sweep, or None (skipped) when the server
    under test was built without the fault hook."""
    srv = t.server(filters=filters, env={"ISAPIHOST_TEST_FAIL_ALLOC": "sweep"})
    deadline = time.monotonic() + 10
    while "ISAPIHOST_TEST_FAIL_ALLOC=sweep" not in srv.error_log():
        if time.monotonic() > deadline:
            t.skip("allocation failures", "the server under test is not a test build (no "
                   "ISAPI_FAULT_INJECTION: a Release build), so no allocation can be made "
                   "to fail")
            return None
        time.sleep(0.02)
    return srv


def sweep(t, srv, request, whole):
    """Sends `request` on a new connection again and again; `whole(response)` returns what
    a complete response lacks ("" when nothing). Returns (failures answered, failures
    after a complete response, requests run whole at the end) or None when a check
    failed. The server writes its log line before
    it closes the connection, so the log is complete for a request once it closed."""
    answered = late = 0
    whole_in_a_row = 0
    for k in range(1, MAX_REQUESTS + 1):
        before = len(oom_lines(srv))
        with Conn(srv.port) as c:
            c.send(request)
            raw = c.read_until_close()
        logged = len(oom_lines(srv)) > before
        responses, rest = parse_responses(raw)
        r = responses[0] if responses else None
        if not t.check(len(responses) <= 1 and not rest, f"request {k}: at most one whole "
                       "response", f"{len(responses)} responses, {len(rest)} bytes left: "
                       f"{raw[:300]!r}"):
            return None
        if r is not None and r.status != 500:
            lacks = whole(r)
            if not t.check(not lacks, f"request {k} (allocation {k} failed, or none): a "
                           "response other than 500 is complete", f"{lacks}: {r!r}"):
                return None
            # A failure after the response went out closes the connection and is logged;
            # a request run whole has no log line.
            late += 1 if logged else 0
            whole_in_a_row = 0 if logged else whole_in_a_row + 1
            if whole_in_a_row == RUN_WHOLE:
                break
            continue
        whole_in_a_row = 0
        if r is not None and not t.check(r.body and r.header("Content-Length")
                                         == str(len(r.body)),
                                         f"request {k}: the 500 carries its page", repr(r)):
            return None
        answered += 1
        if not t.check(logged, f"request {k}: the error log names the failed allocation",
                       f"no new 'out of memory' line; log:\n{srv.error_log()[-2000:]}"):
            return None
    return answered, late, whole_in_a_row


def lacks_headers(r, want):
    missing = [n for n in want if r.header(n) is None]
    return f"missing {', '.join(missing)}" if missing else ""


@suite.case
def range_request_sweep(t):
    """A ranged GET of a file: request headers (Range), the static handler's headers, the
    server's and the filter's. A lost Range header would give a 200, a lost method a 501.
    The logger sample replaces the user name in LOG: its copy is the request's last
    allocation, after the response went out (logged, and the connection closes)."""
    srv = start_sweep(t, ["headers", "logger"])
    if not srv:
        return
    data = SITE["bytes.bin"]
    request = (b"GET /bytes.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: memory-test\r\n"
               b"Range: bytes=2-5\r\nConnection: close\r\n\r\n")

    def whole(r):
        if r.status != 206:
            return f"status {r.status}, want 206"
        if r.body != data[2:6]:
            return f"body {r.body!r}, want {data[2:6]!r}"
        if r.header("Content-Range") != f"bytes 2-5/{len(data)}":
            return f"Content-Range {r.header('Content-Range')!r}"
        if r.header("Server") is not None:
            return "a Server header the filter deleted"
        return lacks_headers(r, ["Content-Type", "Content-Length", "Last-Modified",
                                 "Accept-Ranges", "Date", "Connection", "X-Request-Seen",
                                 "X-Content-Type-Options", "X-Frame-Options",
                                 "X-Served-By"])

    got = sweep(t, srv, request, whole)
    if got is None:
        return
    answered, late, run_whole = got
    t.check(answered >= 20, "allocations failed at many points of the request",
            f"{answered} requests answered a failure")
    t.check(late >= 1, "an allocation failed after the response (the LOG copy), logged",
            f"{late} such requests")
    t.eq(run_whole, RUN_WHOLE, "the sweep went past the request's last allocation")


@suite.case
def redirect_sweep(t):
    """A folder without its slash: the 301's Location is made from request memory."""
    srv = start_sweep(t, ["headers"])
    if not srv:
        return
    request = (b"GET /upcase?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

    def whole(r):
        if r.status != 301:
            return f"status {r.status}, want 301"
        if r.header("Location") != "/upcase/?x=1":
            return f"Location {r.header('Location')!r}, want '/upcase/?x=1'"
        if not r.body:
            return "no page"
        return lacks_headers(r, ["Content-Type", "Content-Length", "Date", "Connection",
                                 "X-Request-Seen", "X-Frame-Options"])

    got = sweep(t, srv, request, whole)
    if got is None:
        return
    answered, _, run_whole = got
    t.check(answered >= 15, "allocations failed at many points of the request",
            f"{answered} requests answered a failure")
    t.eq(run_whole, RUN_WHOLE, "the sweep went past the request's last allocation")


if __name__ == "__main__":
    suite.run()
