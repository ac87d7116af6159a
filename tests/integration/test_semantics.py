"""test_semantics.py - IIS decisions of docs/semantics.md, held against the real server.

Each case loads real filters into the real server and looks at what a client receives,
what the W3C log records and what the filters were told:

  - the modes test filter (tests/filters/modes) does, per request, what the query string
    asks: return FINISHED or ERROR from SEND_RESPONSE, change HttpStatus or the "status"
    header, edit headers, edit "version", deny;
  - the trace sample records every notification it receives (the order, the LOG fields);
  - the allcalls test filter calls every callback in every notification, checks each
    answer, and at unload reports per notification how often it ran, how often for an
    HTTP/0.9 request and how often SF_REQ_GET_PROPERTY answered with the instance number.

The decisions (docs/semantics.md): FINISHED or ERROR from SEND_RESPONSE sends nothing and
closes, while END_OF_REQUEST and LOG still fire; HttpStatus in SEND_RESPONSE is
informative and SetHeader("status") is what changes the status; GET_PROPERTY answers in
every notification; the response header order; an edited "version" is what
SERVER_PROTOCOL reports but never changes the response's framing; an HTTP/0.9 request
passes through every notification with valid structures under both 0.9 policies.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Suite, notifications  # noqa: E402

suite = Suite("integration_semantics")
A = SITE["a.txt"]
BEFORE_RESPONSE = ["READ_RAW_DATA", "PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION",
                   "AUTH_COMPLETE"]
EVERY_NOTIFICATION = ["READ_RAW_DATA", "PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION",
                      "AUTH_COMPLETE", "ACCESS_DENIED", "SEND_RESPONSE", "SEND_RAW_DATA",
                      "END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"]


def trace_of_one_conn(t, s, mark, what):
    conns = s.wait_closed_conns(mark, 1)
    if not t.eq(len(conns), 1, f"{what}: one new connection in the trace"):
        return []
    return conns[0]


def rec(recs, notify):
    found = [r for r in recs if r.get("notify") == notify]
    return found[0] if found else {}


def access_for(s, query, timeout=5.0):
    """The W3C record of the request whose query was query, once it is written."""
    deadline = time.monotonic() + timeout
    while True:
        recs = [a for a in s.access_log() if a.get("cs-uri-query") == query]
        if recs or time.monotonic() > deadline:
            return recs[-1] if recs else {}
        time.sleep(0.02)


# ---- FINISHED and ERROR from SEND_RESPONSE ---------------------------------------------

@suite.case
def send_response_finished_and_error(t):
    """Neither the header block nor the body goes out, the connection closes even though
    the request asked to keep it, END_OF_REQUEST and LOG still fire, and the W3C log
    records the request with no byte sent (and the filter's error for ERROR)."""
    s = t.server(filters=["modes", "trace"])
    for mode, win32 in (("resp_finished", "0"), ("resp_error", "13")):
        mark = s.trace_mark()
        with s.conn(timeout=10) as c:
            c.send(f"GET /a.txt?modes={mode} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            try:
                out = c.read_until_close(10)
            except (TimeoutError, OSError) as e:
                out = repr(e).encode()
        t.eq(out, b"", f"{mode}: the client receives no byte and the connection closes")
        recs = trace_of_one_conn(t, s, mark, mode)
        if recs:
            # modes runs first (high priority) and stopped the SEND_RESPONSE walk, so the
            # trace sample never sees SEND_RESPONSE; no byte means no SEND_RAW_DATA.
            t.eq(notifications(recs),
                 BEFORE_RESPONSE + ["END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"],
                 f"{mode}: END_OF_REQUEST and LOG fire, nothing is sent")
            log = rec(recs, "LOG")
            t.eq((log.get("dwHttpStatus"), log.get("dwWin32Status"), log.get("dwBytesSent")),
                 ("200", win32, "0"), f"{mode}: LOG status, filter error, bytes sent")
        w3c = access_for(s, f"modes={mode}")
        t.eq((w3c.get("sc-status"), w3c.get("sc-win32-status"), w3c.get("sc-bytes")),
             ("200", win32, "0"), f"{mode}: W3C record")
        r = s.get("/a.txt")
        t.eq((r.status, r.body) if r else None, (200, A), f"{mode}: the next request is served")
    named = [line for line in s.error_log().splitlines()
             if "modes" in line and "SF_STATUS_REQ_ERROR" in line
             and "SF_NOTIFY_SEND_RESPONSE" in line]
    t.eq(len(named), 1, "the error log names the filter that returned ERROR, once")


# ---- HttpStatus and "status" in SEND_RESPONSE -------------------------------------------

@suite.case
def send_response_status_changes(t):
    """A filter that writes HttpStatus changes nothing: the status line, LOG and the W3C
    log keep the real status. SetHeader("status") changes all three."""
    s = t.server(filters=["modes", "trace"])
    for mode, line, status in (("httpstatus", "HTTP/1.1 200 OK", "200"),
                               ("status", "HTTP/1.1 299 Changed", "299")):
        mark = s.trace_mark()
        r = s.get(f"/a.txt?modes={mode}")
        t.eq((r.status_line, r.body) if r else None, (line, A), f"{mode}: status line and body")
        recs = trace_of_one_conn(t, s, mark, mode)
        if recs:
            t.eq(rec(recs, "LOG").get("dwHttpStatus"), status, f"{mode}: LOG dwHttpStatus")
        t.eq(access_for(s, f"modes={mode}").get("sc-status"), status, f"{mode}: W3C sc-status")


# ---- SF_REQ_GET_PROPERTY in every notification ------------------------------------------

def allcalls_server(t, settings=None, policy09=None):
    s = t.server(filters=["modes", "allcalls"], settings=settings, start=False)
    report = s.path("allcalls.report")
    s.extra_env["ALLCALLS_REPORT"] = s.env.spath(report)
    if policy09:
        s.extra_env["ALLCALLS_HTTP09"] = policy09
    s.start()
    return s, report


def allcalls_report(t, s, report):
    """Stops the server (TerminateFilter writes the tallies) and parses the report:
    ({notification: {calls, http09, get_property}}, total violations, violation lines)."""
    t.eq(s.stop(), 0, "server stopped gracefully")
    try:
        with open(report) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    tally, violations = {}, None
    for line in lines:
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if line.startswith("allcalls: notify="):
            tally[fields["notify"]] = {k: int(v) for k, v in fields.items() if k != "notify"}
        elif line.startswith("allcalls: calls="):
            violations = int(fields["violations"])
    bad = [line for line in lines if line.startswith("VIOLATION")]
    return tally, violations, bad


@suite.case
def get_property_in_every_notification(t):
    """SF_REQ_GET_PROPERTY(SF_PROPERTY_INSTANCE_NUM_ID) answers in every notification,
    READ_RAW_DATA and END_OF_NET_SESSION included, with the number INSTANCE_ID gives."""
    s, report = allcalls_server(t)
    with s.conn() as c:   # keep-alive: two requests, then the client closes
        for path in ("/a.txt", "/b.txt"):
            c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            r = c.response()
            t.eq(r.status if r else None, 200, f"{path} on a kept connection")
    r = s.get("/a.txt?modes=deny")   # ACCESS_DENIED
    t.eq(r.status if r else None, 401, "a request a filter denies")
    r = s.get("/missing.html", method="POST", body=b"0123456789")
    t.check(r is not None and r.status >= 400, "a POST with a body", repr(r))
    tally, violations, bad = allcalls_report(t, s, report)
    for name in EVERY_NOTIFICATION:
        n = tally.get(name, {})
        t.check(n.get("calls", 0) >= 1, f"{name} reached the allcalls filter", str(tally))
        t.eq(n.get("get_property"), n.get("calls"),
             f"{name}: GET_PROPERTY gave the instance number in every call")
    t.check(violations == 0, "no contract violation in any notification",
            f"violations={violations}\n" + "\n".join(bad[:20]))


# ---- HTTP/0.9 through every notification, both policies ---------------------------------

@suite.case
def http09_every_notification_strict(t):
    http09_every_notification(t, "strict")


@suite.case
def http09_every_notification_http10(t):
    http09_every_notification(t, "http10")


def http09_every_notification(t, policy):
    """A simple request passes through every request notification, each with valid
    structures and callbacks (checked by allcalls, which knows the policy: under strict,
    SetHeader on the response must fail with ERROR_NOT_SUPPORTED; under http10 it must
    work), and the wire carries the body alone (strict) or a 1.0 response (http10)."""
    s, report = allcalls_server(t, settings={"http09": policy}, policy09=policy)
    out = s.request(b"GET /a.txt\r\n")
    if policy == "strict":
        t.eq(out, A, "strict: the body alone, then close")
    else:
        head, _, body = out.partition(b"\r\n\r\n")
        t.check(head.startswith(b"HTTP/1.0 200 OK\r\n") and body == A,
                "http10: a 1.0 response with headers", out[:200])
        t.check(b"\r\nX-Allcalls-Violations: 0" in head, "http10: the filter's header, "
                "set in SEND_RESPONSE, reached the wire", head)
    out = s.request(b"GET /missing.html\r\n")
    t.check(b"404" in out and out.startswith(b"HTTP/1.0 404" if policy == "http10" else b"<"),
            "0.9 error page", out[:60])
    out = s.request(b"GET /a.txt?modes=deny\r\n")
    t.check(b"401" in out and out.startswith(b"HTTP/1.0 401" if policy == "http10" else b"<"),
            "0.9 denial", out[:60])
    tally, violations, bad = allcalls_report(t, s, report)
    for name in EVERY_NOTIFICATION:
        n = tally.get(name, {})
        if name in ("READ_RAW_DATA", "END_OF_NET_SESSION"):
            # before parsing and after the request there is no SERVER_PROTOCOL to read
            t.check(n.get("calls", 0) >= 3, f"{name} fired for the 0.9 connections", str(n))
        else:
            t.check(n.get("http09", 0) >= 1, f"{name} fired for a 0.9 request", str(n))
        t.eq(n.get("get_property"), n.get("calls"), f"{name}: GET_PROPERTY answered")
    t.check(violations == 0, f"{policy}: no contract violation",
            f"violations={violations}\n" + "\n".join(bad[:20]))


# ---- response header order ---------------------------------------------------------------

ORDERED = ["Content-Type", "Content-Length", "Server", "Date", "X-Modes-Added", "Connection",
           "X-Modes-Saw"]


@suite.case
def response_header_order(t):
    """On the wire: the content headers, then Server and Date, then what AddResponseHeaders
    gave, then Connection, then what SEND_RESPONSE filters added with AddHeader. In
    SEND_RESPONSE a filter sees every one of them (GetHeader) and SetHeader edits a header
    where it stands."""
    s = t.server(filters=["modes"])
    r = s.get("/a.txt")
    names = [n for n, _ in r.headers] if r else []
    t.eq([n for n in names if n in ORDERED], ["Content-Type", "Content-Length", "Server", "Date",
                                              "Connection"], "no filter: header order")
    r = s.get("/a.txt?modes=headers")
    names = [n for n, _ in r.headers] if r else []
    t.eq([n for n in names if n in ORDERED], ORDERED, "with the filter: header order",)
    if r:
        t.eq(r.header("X-Modes-Saw"), "Content-Type,Content-Length,Server,Date,X-Modes-Added",
             "SEND_RESPONSE saw every header, the added one too")
        t.eq((r.header("Server"), r.header("X-Modes-Added")), ("modes-edited", "edited"),
             "SetHeader in SEND_RESPONSE replaced the values")
        t.eq((len(r.header_all("Server")), len(r.header_all("X-Modes-Added"))), (1, 1),
             "each header once")
        t.eq(r.body, A, "body")


# ---- edits of "version" ------------------------------------------------------------------

@suite.case
def version_edits_keep_framing(t):
    """SetHeader("version") in PREPROC_HEADERS changes what SERVER_PROTOCOL reports, never
    how the response is framed: the protocol of the status line, keep-alive and HTTP/0.9's
    body-only answer follow the request line the client sent."""
    s = t.server(filters=["modes"])
    with s.conn() as c:
        c.send(b"GET /a.txt?modes=version10+protocol HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        t.eq((r.status_line, r.header("X-Modes-Protocol"), r.header("Connection"), r.body)
             if r else None, ("HTTP/1.1 200 OK", "HTTP/1.0", None, A),
             "1.1 request edited to 1.0: a 1.1 response, kept open; SERVER_PROTOCOL edited")
        c.send(b"GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        t.eq((r.status, r.body) if r else None, (200, SITE["b.txt"]),
             "the connection stayed open for the next request")
    with s.conn() as c:
        c.send(b"GET /a.txt?modes=version11+protocol HTTP/1.0\r\nHost: x\r\n\r\n")
        out = c.read_until_close()
    head, _, body = out.partition(b"\r\n\r\n")
    t.check(head.startswith(b"HTTP/1.0 200 OK\r\n") and b"\r\nX-Modes-Protocol: HTTP/1.1" in head
            and body == A, "1.0 request edited to 1.1: a 1.0 response, then close", out[:300])
    out = s.request(b"GET /a.txt?modes=version11\r\n")
    t.eq(out, A, "0.9 request edited to 1.1: still the body alone")


if __name__ == "__main__":
    suite.run()
