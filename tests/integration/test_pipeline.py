"""test_pipeline.py - the notification pipeline seen by the trace sample on real requests.

Each case sends real requests (raw sockets) and checks, from the trace filter's lines, the
whole sequence of notifications of the connection, its order and the values the filters
were given, against docs/semantics.md ("The server's pipeline", "HTTP/0.9") and the order
IIS documents (docs/isapi-reference.md, "Notification order").

Filters of the main server, in load order: rewrite (medium), basicauth (high), writer
(medium), upcase (low), trace (low). Calling order is therefore basicauth, rewrite,
writer, upcase, trace, and SEND_RAW_DATA runs reversed: trace, upcase, writer, rewrite,
basicauth. So trace sees the server's own output before upcase changes it, and does not
see what writer, rewrite or basicauth write themselves (layered output, docs/semantics.md
"Ordering").
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Suite, ascii_upper, by_conn, notifications  # noqa: E402

suite = Suite("integration_pipeline")
MAIN_FILTERS = ["rewrite", "basicauth", "writer", "upcase", "trace"]
FULL = ["READ_RAW_DATA", "PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION", "AUTH_COMPLETE",
        "SEND_RESPONSE", "SEND_RAW_DATA", "SEND_RAW_DATA", "END_OF_REQUEST", "LOG"]



def main_server(t):
    """A fresh server for each case: the trace then holds that case's connections only."""
    return t.server(filters=MAIN_FILTERS)


def one_conn(t, s, mark, what):
    conns = s.wait_closed_conns(mark, 1)
    if not t.eq(len(conns), 1, f"{what}: one new connection in the trace"):
        return []
    return conns[0]


def rec(recs, notify, n=0):
    found = [r for r in recs if r.get("notify") == notify]
    return found[n] if len(found) > n else {}


def check_common(t, recs, what, nreq=1):
    t.eq(recs[0].get("ctx"), "new", f"{what}: pFilterContext NULL on the first notification")
    t.check(all(r.get("ctx") == "same" for r in recs[1:]),
            f"{what}: pFilterContext kept for the connection",
            str([r.get("ctx") for r in recs]))
    t.eq([int(r["seq"]) for r in recs], list(range(1, len(recs) + 1)), f"{what}: seq numbers")
    eons = [r for r in recs if r.get("notify") == "END_OF_NET_SESSION"]
    t.eq(len(eons), 1, f"{what}: END_OF_NET_SESSION exactly once")
    t.eq(recs[-1].get("notify"), "END_OF_NET_SESSION", f"{what}: END_OF_NET_SESSION last")
    if eons:
        t.eq(eons[0].get("requests"), str(nreq), f"{what}: requests= on END_OF_NET_SESSION")
    t.eq(sum(r.get("notify") == "LOG" for r in recs), nreq, f"{what}: one LOG per request")


# ---- cases ------------------------------------------------------------------------------

@suite.case
def large_file(t):
    """A 300 KB file, whole and as a range: zero-copy without SEND_RAW_DATA filters, through
    the filters (in pieces) with trace loaded; the same bytes either way, and sc-bytes counts
    everything sent."""
    big = SITE["big.bin"]
    for filters in ([], ["trace"]):
        s = t.server(filters=filters)
        what = "with trace" if filters else "no filters"
        r = s.get("/big.bin")
        t.check(r is not None and r.status == 200 and r.body == big,
                f"{what}: whole file", repr(r)[:200])
        r2 = s.get("/big.bin", headers=[("Range", "bytes=100000-250000")])
        t.check(r2 is not None and r2.status == 206 and r2.body == big[100000:250001],
                f"{what}: a range from the middle", repr(r2)[:200])
        recs = s.wait_access(2)
        if r is not None and len(recs) >= 2:
            t.eq(int(recs[0]["sc-bytes"]), len(r.raw_head) + len(big),
                 f"{what}: sc-bytes is the header block plus the body")
        if filters:
            mark_recs = [x for cn in by_conn(s.trace()).values() for x in cn
                         if x["notify"] == "SEND_RAW_DATA"]
            t.check(len(mark_recs) > 2, f"{what}: the body passed SEND_RAW_DATA in pieces",
                    str(len(mark_recs)))
        s.stop()


@suite.case
def plain_get(t):
    s = main_server(t)
    mark = s.trace_mark()
    req = b"GET /index.html?a=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: integ\r\n\r\n"
    with s.conn() as c:
        c.send(req)
        r = c.response()
    body = SITE["index.html"]
    t.eq(r.status, 200, "status")
    t.eq(r.body, body, "body")
    recs = one_conn(t, s, mark, "GET")
    if not recs:
        return
    t.eq(notifications(recs), FULL + ["END_OF_NET_SESSION"], "notification sequence")
    check_common(t, recs, "GET")
    t.check(all(r.get("req") == "1" for r in recs), "req=1 throughout")
    tids = {r.get("tid") for r in recs[1:-1]}
    t.eq(len(tids), 1, "PREPROC_HEADERS..LOG on one thread")
    t.check(all(r.get("secure") == "0" for r in recs), "fIsSecurePort 0")
    raw = rec(recs, "READ_RAW_DATA")
    t.eq(raw.get("sv.URL"), "!232", "URL before parsing: ERROR_NO_DATA")
    t.eq(raw.get("cbInData"), str(len(req)), "READ_RAW_DATA cbInData = bytes sent")
    t.eq(raw.get("data"), req[:64].decode(), "READ_RAW_DATA data")
    pre = rec(recs, "PREPROC_HEADERS")
    t.eq((pre.get("method"), pre.get("url"), pre.get("version"), pre.get("host")),
         ("GET", "/index.html?a=1", "HTTP/1.1", "127.0.0.1"), "PREPROC_HEADERS request line")
    t.eq(pre.get("sv.URL"), "/index.html", "sv.URL without query")
    t.eq(pre.get("sv.SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL")
    t.eq(pre.get("sv.REMOTE_ADDR"), "127.0.0.1", "REMOTE_ADDR")
    um = rec(recs, "URL_MAP")
    t.eq(um.get("pszURL"), "/index.html", "URL_MAP pszURL")
    t.check(um.get("pszPhysicalPath", "").replace("\\", "/").endswith("/site/index.html"),
            "URL_MAP physical path", um.get("pszPhysicalPath"))
    au = rec(recs, "AUTHENTICATION")
    t.eq((au.get("pszUser"), au.get("passlen")), ("", "0"), "anonymous AUTHENTICATION")
    sr = rec(recs, "SEND_RESPONSE")
    t.eq((sr.get("status"), sr.get("HttpStatus"), sr.get("content_length")),
         ("200 OK", "200", str(len(body))), "SEND_RESPONSE values")
    h, b = rec(recs, "SEND_RAW_DATA", 0), rec(recs, "SEND_RAW_DATA", 1)
    t.eq(h.get("cbInData"), str(len(r.raw_head)), "header block is its own first chunk")
    t.check(h.get("data", "").startswith("HTTP/1.1 200 OK\r\n"), "header chunk data", h.get("data"))
    t.eq(b.get("cbInData"), str(len(body)), "body chunk length")
    lg = rec(recs, "LOG")
    t.eq((lg.get("pszOperation"), lg.get("pszTarget"), lg.get("pszParameters"),
          lg.get("dwHttpStatus")), ("GET", "/index.html", "a=1", "200"), "LOG fields")
    t.eq(lg.get("dwBytesSent"), str(len(r.raw_head) + len(body)), "LOG dwBytesSent")
    t.eq(lg.get("dwBytesRecvd"), str(len(req)), "LOG dwBytesRecvd")
    eons = rec(recs, "END_OF_NET_SESSION")
    t.eq(eons.get("sv.URL"), "!232", "no request variables in END_OF_NET_SESSION")
    acc = s.wait_access(1)
    mine = [a for a in acc if a.get("cs-uri-stem") == "/index.html" and a.get("cs-uri-query") == "a=1"]
    if t.check(mine, "W3C line written", str(acc)):
        a = mine[-1]
        t.eq((a.get("sc-status"), a.get("cs-method"), a.get("sc-bytes"), a.get("cs(User-Agent)")),
             ("200", "GET", str(len(r.raw_head) + len(body)), "integ"), "W3C fields")


@suite.case
def keep_alive_two_requests(t):
    s = main_server(t)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r1 = c.response()
        c.send(b"GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.response()
    t.eq((r1.status, r1.body), (200, SITE["a.txt"]), "first response")
    t.eq((r2.status, r2.body), (200, SITE["b.txt"]), "second response")
    t.eq(r1.header("Connection"), None, "HTTP/1.1 keep-alive needs no Connection header")
    recs = one_conn(t, s, mark, "keep-alive")
    if not recs:
        return
    check_common(t, recs, "keep-alive", nreq=2)
    t.eq(notifications(recs), FULL + FULL + ["END_OF_NET_SESSION"], "two full sequences")
    t.eq([r["req"] for r in recs if r["notify"] == "PREPROC_HEADERS"], ["1", "2"], "req numbers")


@suite.case
def keep_alive_http10(t):
    s = main_server(t)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r1 = c.response()
        c.send(b"GET /b.txt HTTP/1.0\r\n\r\n")
        r2 = c.response()
        closed = c.closed_by_server()
    t.eq((r1.version, r1.status, r1.header("Connection")), ("HTTP/1.0", 200, "keep-alive"),
         "HTTP/1.0 keep-alive answered with Connection: keep-alive")
    t.eq((r2.status, r2.body, r2.header("Connection")), (200, SITE["b.txt"], "close"),
         "then a plain HTTP/1.0 request: Connection: close")
    t.check(closed, "server closed after it")
    recs = one_conn(t, s, mark, "1.0 keep-alive")
    if recs:
        check_common(t, recs, "1.0 keep-alive", nreq=2)


@suite.case
def expect_continue(t):
    s = main_server(t)
    mark = s.trace_mark()
    head = (b"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n")
    with s.conn() as c:
        c.send(head)
        interim = c.response()
        c.send(b"hello")
        r = c.response()
    t.eq((interim.status, interim.body) if interim else None, (100, b""), "100 Continue first")
    t.eq(r.status if r else None, 405, "then the final response")
    recs = one_conn(t, s, mark, "expect")
    if recs:
        t.eq(rec(recs, "LOG").get("dwBytesRecvd"), str(len(head) + 5), "body counted")
        t.eq(sum(x["notify"] == "SEND_RAW_DATA" for x in recs), 2,
             "the interim 100 is not a response of the filters")


@suite.case
def pipelined(t):
    s = main_server(t)
    mark = s.trace_mark()
    names = ["a.txt", "b.txt", "c.txt"]
    data = b"".join(f"GET /{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in names)
    with s.conn() as c:
        c.send(data)
        rs = [c.response() for _ in names]
    t.eq([(r.status, r.body) for r in rs], [(200, SITE[n]) for n in names],
         "three responses in order")
    recs = one_conn(t, s, mark, "pipelined")
    if not recs:
        return
    check_common(t, recs, "pipelined", nreq=3)
    t.eq([r.get("url") for r in recs if r["notify"] == "PREPROC_HEADERS"],
         ["/" + n for n in names], "PREPROC_HEADERS in request order")
    t.eq(sum(int(r["cbInData"]) for r in recs if r["notify"] == "READ_RAW_DATA"), len(data),
         "READ_RAW_DATA saw every byte once")


@suite.case
def http09_strict(t):
    s = main_server(t)
    mark = s.trace_mark()
    out = s.request(b"GET /a.txt\r\n")
    t.eq(out, SITE["a.txt"], "body only, no status line, connection closed")
    recs = one_conn(t, s, mark, "0.9")
    if not recs:
        return
    check_common(t, recs, "0.9")
    t.eq(notifications(recs), ["READ_RAW_DATA", "PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION",
                               "AUTH_COMPLETE", "SEND_RESPONSE", "SEND_RAW_DATA",
                               "END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"],
         "every notification fires; SEND_RAW_DATA only for the body")
    pre = rec(recs, "PREPROC_HEADERS")
    t.eq((pre.get("version"), pre.get("sv.SERVER_PROTOCOL"), pre.get("host")),
         ("HTTP/0.9", "HTTP/0.9", "!1413"), "0.9 request: version, SERVER_PROTOCOL, no headers")
    sr = rec(recs, "SEND_RESPONSE")
    t.eq((sr.get("status"), sr.get("HttpStatus")), ("200 OK", "200"), "status readable")
    raw = rec(recs, "SEND_RAW_DATA")
    t.eq(raw.get("data"), SITE["a.txt"].decode(), "SEND_RAW_DATA sees the body bytes only")
    t.eq(rec(recs, "LOG").get("dwHttpStatus"), "200", "LOG status")

    out = s.request(b"GET /missing.html\r\n")
    t.check(out.startswith(b"<") and b"404" in out, "0.9 error page: body only", out[:40])
    out = s.request(b"GET /writer/index.html?f\r\n")
    t.eq(out, b"finished by writer\n", "0.9: SF_REQ_SEND_RESPONSE_HEADER emits no bytes")
    out = s.request(b"GET /old/x\r\n")
    t.check(not out.startswith(b"HTTP/") and b"/legacy/x" in out,
            "0.9: rewrite's redirect sends its body only", out[:60])
    acc = [a for a in s.wait_access(4) if a.get("cs-uri-stem") in ("/missing.html", "/old/x")]
    t.eq(sorted(a.get("sc-status") for a in acc), ["301", "404"], "0.9: statuses logged")


@suite.case
def http09_http10_and_idle_timeout(t):
    s = t.server(filters=["trace"], settings={"http09": "http10", "keepalive_timeout": "1"})
    mark = s.trace_mark()
    out = s.request(b"GET /a.txt\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    t.check(head.startswith(b"HTTP/1.0 200 OK\r\n"), "HTTP/1.0 status line", head[:40])
    t.check(b"\r\nContent-Length: %d" % len(SITE["a.txt"]) in head, "headers", head)
    t.eq(body, SITE["a.txt"], "body after the headers; connection closed")
    recs = one_conn(t, s, mark, "0.9 http10")
    if recs:
        check_common(t, recs, "0.9 http10")
        pre = rec(recs, "PREPROC_HEADERS")
        t.eq(pre.get("sv.SERVER_PROTOCOL"), "HTTP/0.9", "SERVER_PROTOCOL still HTTP/0.9")
        t.eq(sum(r["notify"] == "SEND_RAW_DATA" for r in recs), 2, "header block and body")

    # END_OF_NET_SESSION on the idle timeout (keepalive_timeout = 1)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        t0 = time.monotonic()
        t.eq(r.status, 200, "keep-alive response")
        closed = c.closed_by_server(timeout=8)
        took = time.monotonic() - t0
    t.check(closed, "idle connection closed by the server")
    t.check(0.8 <= took <= 6, "closed after about keepalive_timeout", f"{took:.2f}s")
    recs = one_conn(t, s, mark, "idle")
    if recs:
        check_common(t, recs, "idle timeout")


@suite.case
def not_found(t):
    s = main_server(t)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"GET /missing.html HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.response()
    t.eq(r.status, 404, "404")
    t.eq(r2.status if r2 else None, 200, "connection kept after a 404")
    recs = one_conn(t, s, mark, "404")
    if recs:
        check_common(t, recs, "404", nreq=2)
        t.eq(rec(recs, "SEND_RESPONSE").get("HttpStatus"), "404", "SEND_RESPONSE HttpStatus")
        t.check(rec(recs, "SEND_RESPONSE").get("status", "").startswith("404 "), "status 404")
        t.eq(rec(recs, "LOG").get("dwHttpStatus"), "404", "LOG status")
    acc = [a for a in s.wait_access(1) if a.get("cs-uri-stem") == "/missing.html"]
    t.check(acc and acc[-1].get("sc-status") == "404", "W3C line with 404", str(acc))


@suite.case
def filter_finishes_redirect(t):
    s = main_server(t)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"GET /old/page.htm?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        closed = c.closed_by_server()
    t.eq(r.status, 301, "rewrite's redirect")
    t.eq(r.header("Location"), "/legacy/page.htm?x=1", "Location")
    t.check(closed, "connection closed after a filter finished the request")
    recs = one_conn(t, s, mark, "redirect")
    if not recs:
        return
    check_common(t, recs, "redirect")
    n = notifications(recs)
    t.eq(n, ["READ_RAW_DATA", "SEND_RESPONSE", "END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"],
         "FINISHED in PREPROC_HEADERS: the chain stops, cleanup notifications still fire; "
         "rewrite's bytes pass only the filters after it in send order")
    t.eq(rec(recs, "SEND_RESPONSE").get("HttpStatus"), "301", "SEND_RESPONSE for the filter's header")
    t.eq(rec(recs, "LOG").get("dwHttpStatus"), "301", "LOG status")


@suite.case
def filter_finishes_writer(t):
    s = main_server(t)
    out = s.request(b"GET /writer/index.html?f HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    t.check(head.startswith(b"HTTP/1.1 200 OK\r\n"), "status line from SEND_RESPONSE_HEADER", head)
    t.check(b"Content-Length: 19" in head, "filter's Content-Length", head)
    t.eq(body, b"finished by writer\n", "filter's body only")


@suite.case
def access_denied(t):
    s = main_server(t)
    mark = s.trace_mark()
    r = s.get("/private/")
    t.eq(r.status, 401, "401")
    t.eq(r.header_all("WWW-Authenticate"), ['Basic realm="isapihost sample"'],
         "the filter's challenge replaces the server's")
    recs = one_conn(t, s, mark, "401")
    if not recs:
        return
    n = notifications(recs)
    t.check("ACCESS_DENIED" in n and "SEND_RESPONSE" in n
            and n.index("ACCESS_DENIED") < n.index("SEND_RESPONSE"),
            "ACCESS_DENIED before SEND_RESPONSE", str(n))
    t.check("AUTHENTICATION" not in n, "basicauth (high) ended AUTHENTICATION before trace", str(n))
    ad = rec(recs, "ACCESS_DENIED")
    t.eq(ad.get("pszURL"), "/private/", "ACCESS_DENIED pszURL")
    t.check(int(ad.get("dwReason", "0"), 16) & 0x4, "dwReason has SF_DENIED_FILTER",
            ad.get("dwReason"))
    t.eq(rec(recs, "LOG").get("dwHttpStatus"), "401", "LOG status")


@suite.case
def url_rewrite(t):
    s = main_server(t)
    mark = s.trace_mark()
    r = s.get("/app/page.htm")
    t.eq((r.status, r.body), (200, SITE["legacy/page.htm"]), "rewritten target served")
    recs = one_conn(t, s, mark, "rewrite")
    if not recs:
        return
    pre = rec(recs, "PREPROC_HEADERS")
    t.eq(pre.get("url"), "/legacy/page.htm", "trace (after rewrite) sees the new url")
    t.eq(pre.get("sv.URL"), "/app/page.htm", "URL variable: the old one until the chain ends")
    um = rec(recs, "URL_MAP")
    t.eq((um.get("pszURL"), um.get("sv.URL")), ("/legacy/page.htm", "/legacy/page.htm"),
         "routed on the rewritten url")
    t.check(um.get("pszPhysicalPath", "").replace("\\", "/").endswith("/legacy/page.htm"),
            "physical path of the new target", um.get("pszPhysicalPath"))


@suite.case
def auth_complete_rewrite(t):
    """AUTH_COMPLETE rewrites the url (writer ?r / ?R): the request goes back to the
    routing step (URL_MAP again) and, with fResetAuth (?R), is authenticated again after
    the new URL_MAP, before it is served; AUTH_COMPLETE fires once."""
    s = main_server(t)
    for letter, nauth in (("r", 1), ("R", 2)):
        mark = s.trace_mark()
        r = s.get(f"/writer/gone.txt?{letter}")
        t.eq((r.status, r.body) if r else None, (200, SITE["a.txt"]),
             f"?{letter}: the url AUTH_COMPLETE set is served")
        recs = one_conn(t, s, mark, f"?{letter}")
        names = notifications(recs)
        t.eq(names.count("URL_MAP"), 2, f"?{letter}: URL_MAP again for the rewritten url")
        t.eq(names.count("AUTHENTICATION"), nauth,
             f"?{letter}: AUTHENTICATION {'again, as fResetAuth asked' if nauth == 2 else 'once'}")
        t.eq(names.count("AUTH_COMPLETE"), 1, f"?{letter}: AUTH_COMPLETE once")
        if nauth == 2 and "AUTHENTICATION" in names:
            second = [i for i, n in enumerate(names) if n == "AUTHENTICATION"][-1]
            second_map = len(names) - 1 - names[::-1].index("URL_MAP")
            t.check(names.index("AUTH_COMPLETE") < second_map < second,
                    "the new URL_MAP comes after AUTH_COMPLETE, the second AUTHENTICATION "
                    "after it", str(names))


@suite.case
def send_raw_transform(t):
    s = main_server(t)
    mark = s.trace_mark()
    r = s.get("/upcase/page.html")
    orig = SITE["upcase/page.html"]
    t.eq(r.status, 200, "status")
    t.eq(r.body, ascii_upper(orig), "body upper-cased on the wire")
    t.eq(r.header("Content-Length"), str(len(orig)), "length unchanged")
    recs = one_conn(t, s, mark, "upcase")
    if recs:
        body = rec(recs, "SEND_RAW_DATA", 1)
        t.eq(body.get("data"), orig[:64].decode(),
             "trace (first in send order) sees the body before upcase")


@suite.case
def write_client_points(t):
    s = main_server(t)
    mark = s.trace_mark()
    out = s.request(b"GET /writer/index.html?puse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = SITE["writer/index.html"]
    t.check(out.startswith(b"[P][U][S]HTTP/1.1 200 OK\r\n"),
            "PREPROC_HEADERS, URL_MAP, SEND_RESPONSE writes before the header block", out[:40])
    t.check(out.endswith(b"\r\n\r\n" + body + b"[E]"), "END_OF_REQUEST write after the body",
            out[-40:])
    recs = one_conn(t, s, mark, "writer")
    if recs:
        datas = [r.get("data", "") for r in recs if r["notify"] == "SEND_RAW_DATA"]
        t.eq(len(datas), 2, "trace (before writer in send order) sees only the server's output")
        t.check(not any(d.startswith("[") for d in datas), "no writer bytes in trace", str(datas))
    for q, want in (("p", b"[P]HTTP/1.1 200"), ("u", b"[U]HTTP/1.1 200"),
                    ("s", b"[S]HTTP/1.1 200")):
        out = s.request(f"GET /writer/index.html?{q} HTTP/1.1\r\nHost: x\r\nConnection: close"
                        "\r\n\r\n".encode())
        t.check(out.startswith(want) and out.endswith(body), f"only {q}", out[:20])


@suite.case
def post_bodies(t):
    s = main_server(t)
    mark = s.trace_mark()
    payload = b"x" * 1000
    head = b"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    with s.conn() as c:
        c.send(head + payload)
        r = c.response()
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.response()
    t.eq(r.status, 405, "POST to a static file: 405")
    t.eq(r.header("Allow"), "GET, HEAD", "Allow")
    t.eq((r2.status, r2.body) if r2 else None, (200, SITE["a.txt"]),
         "the body was consumed: next request on the connection works")
    recs = one_conn(t, s, mark, "POST length")
    if recs:
        first = [x for x in recs if x["req"] == "1"]
        t.eq(sum(int(x["cbInData"]) for x in first if x["notify"] == "READ_RAW_DATA"),
             len(head) + len(payload), "READ_RAW_DATA saw head and body")
        t.eq(rec(first, "LOG").get("dwBytesRecvd"), str(len(head) + len(payload)), "dwBytesRecvd")

    mark = s.trace_mark()
    parts = [b"POST /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
             b"5\r\nhello\r\n", b"6\r\n world\r\n0\r\n\r\n"]
    with s.conn() as c:
        for p in parts:
            c.send(p)
            time.sleep(0.15)
        r = c.response()
        c.send(b"GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.response()
    t.eq(r.status, 405, "chunked POST: 405")
    t.eq((r2.status, r2.body) if r2 else None, (200, SITE["b.txt"]), "chunked body consumed")
    recs = one_conn(t, s, mark, "POST chunked")
    if recs:
        first = [x for x in recs if x["req"] == "1"]
        reads = [x for x in first if x["notify"] == "READ_RAW_DATA"]
        t.eq(sum(int(x["cbInData"]) for x in reads), sum(len(p) for p in parts),
             "READ_RAW_DATA saw every chunked byte")
        t.check(any(x.get("data") == "5\r\nhello\r\n" for x in reads),
                "a READ_RAW_DATA with the first chunk", str([x.get("data") for x in reads]))


@suite.case
def head_request(t):
    s = main_server(t)
    mark = s.trace_mark()
    with s.conn() as c:
        c.send(b"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(head_only=True)
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.response()
    t.eq(r.status, 200, "HEAD 200")
    t.eq(r.header("Content-Length"), str(len(SITE["index.html"])), "Content-Length of the GET")
    t.eq((r2.status, r2.body) if r2 else None, (200, SITE["a.txt"]),
         "no body bytes after the HEAD response")
    recs = one_conn(t, s, mark, "HEAD")
    if recs:
        first = [x for x in recs if x["req"] == "1"]
        t.eq(sum(x["notify"] == "SEND_RAW_DATA" for x in first), 1, "only the header block sent")
        t.eq(rec(first, "PREPROC_HEADERS").get("method"), "HEAD", "method")


@suite.case
def conditional_and_ranges(t):
    s = main_server(t)
    r = s.get("/bytes.bin")
    lm = r.header("Last-Modified")
    t.check(lm, "Last-Modified present")
    mark = s.trace_mark()
    r = s.get("/bytes.bin", headers=[("If-Modified-Since", lm or "")])
    t.eq((r.status, r.body), (304, b""), "304 without body")
    recs = one_conn(t, s, mark, "304")
    if recs:
        t.eq(rec(recs, "SEND_RESPONSE").get("HttpStatus"), "304", "SEND_RESPONSE 304")
    data = SITE["bytes.bin"]
    r = s.get("/bytes.bin", headers=[("Range", "bytes=10-19")])
    t.eq((r.status, r.body), (206, data[10:20]), "206 with the range")
    t.eq(r.header("Content-Range"), f"bytes 10-19/{len(data)}", "Content-Range")
    r = s.get("/bytes.bin", headers=[("Range", f"bytes={len(data) + 10}-")])
    t.eq(r.status, 416, "unsatisfiable range: 416")
    t.eq(r.header("Content-Range"), f"bytes */{len(data)}", "416 Content-Range")


@suite.case
def curl_clients(t):
    s = main_server(t)
    mark = s.trace_mark()
    r = s.curl("--http1.0", "-D", "-", "{base}/a.txt")
    out = r.stdout.replace(b"\r\n", b"\n")
    t.check(out.startswith(b"HTTP/1.0 200 OK\n"), "curl --http1.0: HTTP/1.0 status line", out[:30])
    t.check(b"\nConnection: close\n" in out, "HTTP/1.0 without keep-alive: Connection: close", out)
    t.check(out.endswith(b"\n\n" + SITE["a.txt"]), "body", out[-20:])
    r = s.curl("--http1.1", "{base}/a.txt", "{base}/b.txt")
    t.eq(r.stdout, SITE["a.txt"] + SITE["b.txt"], "curl --http1.1, two URLs")
    conns = s.wait_closed_conns(mark, 2)
    t.eq(len(conns), 2, "two connections in the trace")
    if len(conns) == 2:
        t.eq(conns[0][0].get("sv.SERVER_PROTOCOL"), "!232", "no request variables before parsing")
        t.eq(rec(conns[0], "PREPROC_HEADERS").get("sv.SERVER_PROTOCOL"), "HTTP/1.0", "HTTP/1.0")
        check_common(t, conns[0], "curl 1.0")
        check_common(t, conns[1], "curl 1.1 reusing its connection", nreq=2)


@suite.case
def eons_on_shutdown(t):
    s = main_server(t)
    mark = s.trace_mark()
    c = s.conn()
    try:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        t.eq(r.status, 200, "keep-alive response")
        s.wait_trace(mark, lambda rs: any(x.get("notify") == "LOG" for x in rs))
        rc = s.stop()
        t.eq(rc, 0, "graceful stop, exit 0")
        t.check(c.closed_by_server(timeout=5), "connection closed by the shutdown")
    finally:
        c.close()
    recs = [v for v in by_conn(s.trace()[mark:]).values() if v and v[0].get("ctx") == "new"]
    if t.eq(len(recs), 1, "one connection"):
        check_common(t, recs[0], "shutdown")
    t.check("stopped" in s.error_log(), "error log says stopped", s.error_log()[-300:])


@suite.case
def second_header_block(t):
    """A filter that sends its own header block and body in PREPROC_HEADERS, URL_MAP,
    AUTHENTICATION or AUTH_COMPLETE and then returns NEXT_NOTIFICATION (writer ?1 to ?4)
    has answered the request: exactly one response on the wire, SEND_RESPONSE raised once,
    END_OF_REQUEST and LOG still fire, the connection closes. An HTTP/0.9 request gets the
    filter's body only."""
    s = main_server(t)
    points = {"1": "PREPROC_HEADERS", "2": "URL_MAP", "3": "AUTHENTICATION",
              "4": "AUTH_COMPLETE"}
    for digit, where in points.items():
        mark = s.trace_mark()
        out = s.request(f"GET /writer/index.html?{digit} HTTP/1.1\r\nHost: x\r\n"
                        "\r\n".encode())
        t.eq(out.count(b"HTTP/1.1 "), 1, f"{where}: one status line on the wire {out[:300]!r}")
        head, _, body = out.partition(b"\r\n\r\n")
        t.check(head.startswith(b"HTTP/1.1 200 OK\r\n"), f"{where}: the filter's status line",
                head)
        t.eq(body, b"answered by writer\n", f"{where}: the filter's body and nothing after it")
        t.check(b"Connection: close" in head, f"{where}: the filter's answer closes", head)
        recs = one_conn(t, s, mark, where)
        names = notifications(recs)
        t.eq(names.count("SEND_RESPONSE"), 1, f"{where}: SEND_RESPONSE once {names}")
        t.check(names[-3:] == ["END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"],
                f"{where}: cleanup notifications fire", str(names))
        # the trace records a notification when its chain returns, so the nested
        # SEND_RESPONSE comes just before the notification that answered
        t.check(where in names and names.index(where) + 1 == names.index("END_OF_REQUEST")
                and names.index("SEND_RESPONSE") + 1 == names.index(where),
                f"{where}: the answer comes from that notification, no step runs after it",
                str(names))
    out = s.request(b"GET /writer/index.html?1\r\n")
    t.eq(out, b"answered by writer\n", "0.9: the filter's body only, no second response")


@suite.case
def connection_header_corrected(t):
    """A "Connection: keep-alive" that a filter wrote never survives when the server is
    going to close: in its own SF_REQ_SEND_RESPONSE_HEADER text with FINISHED_KEEP_CONN
    (writer ?k), or set in SEND_RESPONSE on a response without a length (writer ?K)."""
    s = main_server(t)
    for q, what in (("k", "filter's own header"), ("K", "SEND_RESPONSE edit")):
        with s.conn() as c:
            c.send(f"GET /writer/index.html?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            r = c.response()
            t.check(r is not None, f"{what}: a response")
            if r is None:
                continue
            t.eq(r.header("Connection"), "close", f"{what}: Connection says close")
            t.check(c.closed_by_server(), f"{what}: and the server closes")


@suite.case
def rejection_has_no_server_header(t):
    """The headers sample removes Server from every response it sees; the server's own
    refusals, which no filter sees, carry no Server header either."""
    s = t.server(filters=["headers"])
    r = s.get("/")
    t.check(r is not None and r.header("Server") is None, "a page: Server removed by the filter")
    for raw, want in ((b"GET / HTTP/1.1\r\n\r\n", 400),           # no Host
                      (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
                      (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)):
        out = s.request(raw)
        head = out.partition(b"\r\n\r\n")[0]
        t.check(head.startswith(f"HTTP/1.1 {want} ".encode()), f"refused with {want}", head[:60])
        t.check(b"\r\nServer:" not in head, f"{want}: no Server header", head)


if __name__ == "__main__":
    suite.run()
