"""test_samples.py - every sample filter, on the wire (issue "Sample filters").

Each case starts a server with the sample (copied with its settings file, sometimes
edited) and checks what a client sees, plus the access log or the trace where the sample's
effect is only visible there. The expectations are the samples' README.md files.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Conn, Suite, ascii_upper, notifications  # noqa: E402

suite = Suite("integration_samples")
ALICE = "Basic YWxpY2U6d29uZGVybGFuZA=="          # alice:wonderland
ALICE_BAD = "Basic YWxpY2U6cmFiYml0"              # alice:rabbit


def access_for(s, stem, n=1):
    recs = s.wait_access(n)
    deadline = time.monotonic() + 5
    while not [a for a in recs if a.get("cs-uri-stem") == stem] and time.monotonic() < deadline:
        time.sleep(0.05)
        recs = s.access_log()
    return [a for a in recs if a.get("cs-uri-stem") == stem]


@suite.case
def upcase(t):
    s = t.server(filters=["upcase"])
    r = s.get("/upcase/page.html")
    t.eq(r.body, ascii_upper(SITE["upcase/page.html"]), "page under the prefix upper-cased")
    t.eq(r.header("Content-Length"), str(len(SITE["upcase/page.html"])), "length kept")
    r = s.get("/upcase/")
    t.eq(r.body, ascii_upper(SITE["upcase/default.htm"]), "folder's default document too")
    r = s.get("/upcase/plain.txt")
    t.eq(r.body, SITE["upcase/plain.txt"], "text/plain untouched")
    r = s.get("/index.html")
    t.eq(r.body, SITE["index.html"], "outside the prefix untouched")
    out = s.request(b"GET /upcase/page.html\r\n")
    t.eq(out, ascii_upper(SITE["upcase/page.html"]), "HTTP/0.9: all body, upper-cased")


@suite.case
def headers(t):
    s = t.server(filters=["headers"])
    r = s.get("/a.txt")
    t.eq(r.status, 200, "200")
    t.eq(r.header("Server"), None, "Server: removed")
    t.eq(r.header("X-Content-Type-Options"), "nosniff", "X-Content-Type-Options")
    t.eq(r.header("X-Frame-Options"), "DENY", "X-Frame-Options")
    t.eq(r.header("X-Served-By"), "isapihost headers sample", "X-Served-By on 2xx")
    t.eq(r.header("X-Request-Seen"), "1", "AddResponseHeaders from PREPROC_HEADERS")
    t.eq(r.header("Date") is not None, True, "other server headers kept")
    r = s.get("/missing")
    t.eq(r.status, 404, "404")
    t.eq(r.header("X-Served-By"), None, "no X-Served-By on an error")
    t.eq((r.header("X-Request-Seen"), r.header("X-Frame-Options"), r.header("Server")),
         ("1", "DENY", None), "error page edited too")
    out = s.request(b"GET /a.txt\r\n")
    t.eq(out, SITE["a.txt"], "HTTP/0.9: no header block, the filter carries on")
    r = s.get("/a.txt")
    t.eq(r.status if r else None, 200, "server still serving")


@suite.case
def rewrite(t):
    s = t.server(filters=["rewrite", "trace"])
    r = s.get("/app/page.htm")
    t.eq((r.status, r.body), (200, SITE["legacy/page.htm"]), "internal rewrite")
    r = s.get("/old/page.htm?x=1")
    t.eq((r.status, r.header("Location")), (301, "/legacy/page.htm?x=1"), "301 redirect")
    t.check(b"/legacy/page.htm?x=1" in r.body and r.header("Content-Length") == str(len(r.body)),
            "redirect body with its length", r.body)
    r = s.get("/home")
    t.eq((r.status, r.header("Location")), (302, "/"), "302 redirect")
    r = s.get("/old/x", method="HEAD")
    t.eq((r.status, r.body), (301, b""), "HEAD redirect: no body")
    out = s.request(b"HEAD /old/x HTTP/1.1\r\nHost: x\r\n\r\n")
    t.check(out.endswith(b"\r\n\r\n"), "HEAD redirect: nothing after the headers", out[-20:])
    mark = s.trace_mark()
    r = s.get("/archive/page.htm")
    t.eq((r.status, r.body), (200, SITE["legacy/page.htm"]), "URL_MAP physical path")
    recs = s.wait_closed_conns(mark)
    um = [x for c in recs for x in c if x["notify"] == "URL_MAP"]
    lg = [x for c in recs for x in c if x["notify"] == "LOG"]
    t.check(um and um[0].get("pszURL") == "/archive/page.htm"
            and um[0].get("pszPhysicalPath", "").replace("\\", "/").endswith("/site/legacy/page.htm"),
            "trace (after rewrite) sees the URL kept and the path edited", str(um))
    t.check(lg and lg[0].get("pszTarget") == "/archive/page.htm", "URL unchanged (LOG)", str(lg))
    r = s.get("/OLD/y")
    t.eq((r.status, r.header("Location")), (301, "/legacy/y"), "prefixes match case-insensitively")
    r = s.get("/old/%0d%0aX-Injected:%201")
    t.check(r is not None and r.header("X-Injected") is None, "no header injection", repr(r))


@suite.case
def basicauth(t):
    s = t.server(filters=["basicauth", "trace"])
    r = s.get("/private/")
    t.eq(r.status, 401, "no credentials: 401")
    t.eq(r.header_all("WWW-Authenticate"), ['Basic realm="isapihost sample"'], "its challenge")
    r = s.get("/private/", headers=[("Authorization", ALICE_BAD)])
    t.eq(r.status, 401, "wrong password: 401")
    mark = s.trace_mark()
    r = s.get("/private/", headers=[("Authorization", ALICE)])
    t.eq((r.status, r.body), (200, SITE["private/default.htm"]), "alice:wonderland: 200")
    recs = [x for c in s.wait_closed_conns(mark) for x in c]
    au = [x for x in recs if x["notify"] == "AUTHENTICATION"]
    t.check(au and au[0].get("pszUser") == "ALICE-MAPPED",
            "mapped user seen by the filters after it", str(au))
    lg = [x for x in recs if x["notify"] == "LOG"]
    t.check(lg and lg[0].get("pszClientUserName") == "ALICE-MAPPED", "LOG user", str(lg))
    acc = access_for(s, "/private/", 3)
    # A failed logon logs the name the client tried, as IIS does for a 401.1.
    t.eq([a.get("cs-username") for a in acc], ["-", "alice", "ALICE-MAPPED"], "W3C cs-username")
    t.eq([a.get("sc-status") for a in acc], ["401", "401", "200"], "W3C statuses")
    r = s.get("/a.txt")
    t.eq(r.status, 200, "public URL needs no credentials")
    # The filter failed the logon (SF_STATUS_REQ_ERROR): the server answers the 401 and
    # closes, as after any request a filter ended, and its answer must say so on a
    # keep-alive connection, or the client sends its next request into the close.
    with Conn(s.port) as c:
        c.send(f"GET /private/ HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE_BAD}\r\n\r\n"
               .encode())
        r = c.response()
        t.check(r is not None and r.status == 401, "keep-alive, wrong password: 401", repr(r))
        t.eq(r and r.header("Connection"), "close", "the 401 says Connection: close")
        t.check(c.closed_by_server(), "and the server closes the connection")
    curl = s.curl("-u", "alice:wonderland", "{base}/private/")
    t.eq(curl.stdout, SITE["private/default.htm"], "curl -u alice:wonderland")


@suite.case
def basicauth_header_downstream(t):
    """basicauth deletes a client's own X-Authenticated-User in AUTH_COMPLETE: logger, which
    logs that header for anonymous requests, then logs "anonymous" instead."""
    s = t.server(filters=["basicauth", "logger"])
    s.get("/a.txt", headers=[("X-Authenticated-User", "mallory")])
    s.get("/private/", headers=[("Authorization", ALICE)])
    acc = access_for(s, "/a.txt")
    t.check(acc and acc[-1].get("cs-username") == "anonymous", "forged header deleted", str(acc))
    acc = access_for(s, "/private/")
    t.check(acc and acc[-1].get("cs-username") == "ALICE-MAPPED", "mapped user logged", str(acc))


@suite.case
def logger(t):
    s = t.server(filters=["logger"], ini={"logger": "[logger]\ntrusted_proxies = 127.0.0.1, ::1\n"
                                          "user_header = X-Authenticated-User\n"
                                          "anonymous = anonymous\nfile = logger.log\n"})
    with s.conn() as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n\r\n")
        r1 = c.response()
        c.send(b"GET /b.txt HTTP/1.1\r\nHost: x\r\nX-Authenticated-User: bob\r\n\r\n")
        r2 = c.response()
        cport = c.sock.getsockname()[1]
        sent, received = c.sent, c.received
    t.eq((r1.status, r2.status), (200, 200), "responses")
    acc = access_for(s, "/a.txt") + access_for(s, "/b.txt")
    t.eq([(a.get("c-ip"), a.get("cs-username")) for a in acc],
         [("203.0.113.9", "anonymous"), ("127.0.0.1", "bob")],
         "X-Forwarded-For from a trusted peer; user from the header, else anonymous")
    path = os.path.join(s.fdir, "logger.log")
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline and "closed:" not in text:
        time.sleep(0.05)
        text = open(path).read() if os.path.exists(path) else ""
    m = re.search(r"logger: connection 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+) closed: "
                  r"(\d+) requests, (\d+) bytes sent, (\d+) bytes received", text)
    if t.check(m, "END_OF_NET_SESSION statistics line", text):
        t.eq(tuple(int(x) for x in m.groups()), (cport, s.port, 2, received, sent),
             "ports, requests and byte counts")

    s2 = t.server(filters=["logger"], ini={"logger": "[logger]\ntrusted_proxies = 192.0.2.1\n"})
    s2.get("/a.txt", headers=[("X-Forwarded-For", "203.0.113.9")])
    acc = access_for(s2, "/a.txt")
    t.check(acc and acc[-1].get("c-ip") == "127.0.0.1", "untrusted peer: address kept", str(acc))


@suite.case
def rawguard(t):
    s = t.server(filters=["rawguard", "trace"])

    def rejected(out, reason, what):
        head, _, body = out.partition(b"\r\n\r\n")
        t.check(head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), f"{what}: 400", head[:40])
        t.eq(body, reason.encode() + b"\r\n", f"{what}: the filter's own body")
        t.check(b"Server:" not in head, f"{what}: nothing added by the server", head)

    rejected(s.request(b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"), "method not allowed here",
             "TRACE")
    rejected(s.request(b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n"),
             "NUL byte in the request line", "NUL in the line")
    rejected(s.request(b"GET /a.txt HTTP/1.1\r\nHost: x\x00y\r\n\r\n"),
             "NUL byte in the request headers", "NUL in a header")
    rejected(s.request(b"GET /" + b"a" * 2100 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
             "request line too long", "overlong line")
    r = s.curl("-i", "-X", "TRACE", "{base}/")
    t.check(r.stdout.startswith(b"HTTP/1.1 400") and r.stdout.endswith(b"method not allowed here\r\n"),
            "curl -X TRACE", r.stdout[:60])
    recs = s.wait_access(5)
    t.eq([x.get("sc-status") for x in recs[:5]], ["400"] * 5,
         "the W3C log records the status line the filter wrote itself")

    mark = s.trace_mark()
    first, second = b"GET /a.t", b"xt HTTP/1.1\r\nHost: x\r\n\r\n"
    with s.conn() as c:
        c.send(first)
        time.sleep(0.4)
        c.send(second)
        r = c.response()
    t.eq((r.status, r.body) if r else None, (200, SITE["a.txt"]),
         "request line split over two writes: READ_NEXT, then served")
    recs = [x for cn in s.wait_closed_conns(mark) for x in cn]
    reads = [x for x in recs if x["notify"] == "READ_RAW_DATA"]
    t.eq([x.get("cbInData") for x in reads], [str(len(first + second))],
         "the filter after rawguard sees the whole request once")
    r = s.get("/b.txt")
    t.eq(r.status if r else None, 200, "server still serving")


@suite.case
def trace(t):
    s = t.server(filters=["trace", "trace:trace2"],
                 ini={"trace2": "[trace]\npriority = high\nnotifications = PREPROC_HEADERS, LOG\n"})
    mark = s.trace_mark()
    s.get("/a.txt")
    recs = [x for cn in s.wait_closed_conns(mark) for x in cn]
    t2 = [x for x in recs if x.get("filter") == "trace2"]
    t1 = [x for x in recs if x.get("filter") == "trace"]
    t.eq(notifications(t2), ["PREPROC_HEADERS", "LOG"], "trace2: only the notifications asked for")
    t.eq(notifications(t1)[0], "READ_RAW_DATA", "trace: all notifications")
    t.check(len(t1) >= 11, "trace: the full sequence", str(notifications(t1)))
    both = [x["filter"] for x in recs if x["notify"] == "PREPROC_HEADERS"]
    t.eq(both, ["trace2", "trace"], "high priority copy called first")

    bad = t.server(filters=["trace"], env={"ISAPI_TRACE_FILE": s.env.spath("/nonexistent/dir/t.log")})
    r = bad.get("/a.txt")
    t.eq(r.status if r else None, 200, "trace that cannot open its file: server runs without it")
    log = bad.error_log()
    t.check(re.search(r"trace\.(so|dll)", log) and "GetFilterVersion" in log,
            "a warning names the filter", log)


if __name__ == "__main__":
    suite.run()
