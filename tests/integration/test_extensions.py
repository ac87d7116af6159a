"""test_extensions.py - ISAPI extensions beside the filters, and the MIME rule of the
static handler.

The test extension (tests/filters/extprobe) answers by its query string: "ecb" echoes the
control block and a few server variables, "echo" reads the whole body (read-ahead plus
ReadClient) and answers its length and a checksum, "ssf=<code>" calls one
ServerSupportFunction code and reports its result, "exec=<url>" runs a child request
(HSE_REQ_EXEC_URL) and reports its completion to the DLL's log, "crash" faults. Each
server writes its own [extensions], [script_maps] and [virtual_directories] sections
(ExtServer below).
docs/extensions.md lists which case holds which ECB member and HSE_REQ_* code.
"""
import os
import re
import shutil
import signal
import socket
import struct
import time

import harness

suite = harness.Suite("integration_extensions")


class ExtServer(harness.Server):
    """A server whose INI file also carries extension sections: `sections` maps a section
    name to a list of "key = value" lines ({ext} is replaced by the extension's path as the
    server sees it)."""

    def __init__(self, suite, sections=None, **kw):
        self.sections = sections or {}
        start = kw.pop("start", True)
        super().__init__(suite, start=False, **kw)
        src = suite.env.filter_file("extprobe")
        self.ext_path = os.path.join(self.fdir, "extprobe" + suite.env.ext)
        if os.path.exists(src):
            shutil.copy(src, self.ext_path)
        if start:
            self.start()

    def probe_log(self):
        """What every copy of extprobe reported ("<dll>.log" beside it)."""
        text = ""
        for folder, _, names in os.walk(self.dir):
            for n in names:
                if n.endswith(".dll.log") or n.endswith(".so.log"):
                    with open(os.path.join(folder, n), "r", errors="replace") as f:
                        text += f.read()
        return text

    def release_holds(self):
        """Creates "<dll>.release" beside every copy of extprobe that reported (its module
        name, as the extension sees it, is the report's name less ".log"): the pending
        "hold" requests go on."""
        for folder, _, names in os.walk(self.dir):
            for n in names:
                if n.endswith(".dll.log") or n.endswith(".so.log"):
                    with open(os.path.join(folder, n[:-len(".log")] + ".release"), "w") as f:
                        f.write("go\n")

    def wait_probe(self, text, timeout=10.0):
        """Waits until extprobe reported `text`; returns its whole report."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.probe_log()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.02)

    def write_ini(self):
        path = super().write_ini()
        with open(path, "a") as f:
            for name, lines in self.sections.items():
                f.write(f"[{name}]\n")
                for line in lines:
                    f.write(line.replace("{ext}", self.env.spath(self.ext_path)) + "\n")
        return path


def ext_server(s, sections, **kw):
    srv = ExtServer(s, sections=sections, **kw)
    s.servers.append(srv)
    return srv


@suite.case
def static_serves_only_mime_types(s):
    site = dict(harness.SITE)
    site.update({"tool.dll": b"MZ not to be sent\n", "app.ini": b"[secret]\npassword=x\n",
                 "lib.so": b"\x7fELF not to be sent\n", "noext": b"no extension\n",
                 "data.custom": b"custom type\n", "page.htm": b"<p>page</p>\n"})
    srv = ext_server(s, {"mime": [".custom = text/x-custom", ".htm ="]}, site=site)
    # A DLL in a folder without Execute access is 404 as well: no answer tells an
    # existing DLL from a missing one.
    for p in ("/tool.dll", "/app.ini", "/lib.so", "/noext", "/TOOL.DLL", "/nosuch.dll"):
        r = srv.get(p)
        want = (404,)
        s.check(r is not None and r.status in want and b"not to be sent" not in r.body
                and b"password" not in r.body, f"{p}: {want}, never sent as a file", repr(r))
    r = srv.get("/data.custom")
    s.check(r is not None and r.status == 200 and r.header("Content-Type") == "text/x-custom",
            "[mime] adds a type", repr(r))
    r = srv.get("/page.htm")
    s.check(r is not None and r.status == 404, "[mime] .htm = (empty) removes a type", repr(r))
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200 and r.header("Content-Type") == "text/plain",
            "a mapped type is served", repr(r))


@suite.case
def bad_configuration_stops_the_server(s):
    for sections, names in (({"mime": [".c/x = text/plain"]}, [".c/x"]),
                            ({"script_maps": [".x = {ext},9"]}, [".x", "flags"]),
                            ({"virtual_directories": ["/v = /no/such/folder, execute"]},
                             ["/v", "not a folder"]),
                            ({"extensions": ["gone = /no/such/ext.dll"]}, ["/no/such/ext.dll"]),
                            ({"script_maps": [".y = /no/such/map.dll"]}, ["/no/such/map.dll"])):
        srv = ExtServer(s, sections=sections, start=False)
        s.servers.append(srv)
        try:
            srv.start()
            # the listeners may be open before the DLLs are loaded: wait for the exit
            try:
                srv.proc.wait(timeout=30)
            except Exception:
                pass
            if srv.proc.poll() is None:
                s.check(False, f"{sections}: stops the server")
                continue
            raise RuntimeError(srv.stderr_text() + srv.error_log())
        except RuntimeError as e:
            text = str(e)
            s.check(all(n in text for n in names) and ("isapihost.ini" in text
                                                       or "extension" in text),
                    f"{sections}: one line naming the setting and the reason", text[-500:])
        srv.proc = None


MAPS = {"script_maps": [".probe = {ext},1"]}


def fields(body):
    out = {}
    for line in body.decode("latin-1").split("\n"):
        k, sep, v = line.partition("=")
        if sep:
            out.setdefault(k, v)
    return out


@suite.case
def ecb_members_and_variables(s):
    srv = ext_server(s, MAPS, filters=["extprobe"])
    r = srv.get("/app/page.probe/extra/x?ecb&a=1", method="POST", body=b"name=value&x=y",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    if not s.check(r is not None and r.status == 200, "POST to a script map: 200", repr(r)):
        return
    f = fields(r.body)
    bits32 = s.env.flavour in ("wine32", "winelib32")   # the 32-bit control block
    s.eq(f.get("cbSize"), "144" if bits32 else "192", "cbSize is sizeof the ECB")
    s.eq(f.get("dwVersion"), "0x00060000", "dwVersion HSE_VERSION (6.0)")
    s.eq(f.get("ConnID"), "set", "ConnID set")
    s.eq(f.get("dwHttpStatusCode"), "200", "dwHttpStatusCode starts at 200")
    s.eq(f.get("lpszLogData"), "[]", "lpszLogData starts empty")
    s.eq(f.get("lpszMethod"), "POST", "lpszMethod")
    s.eq(f.get("lpszQueryString"), "ecb&a=1", "lpszQueryString: the query without '?'")
    s.eq(f.get("lpszPathInfo"), "/app/page.probe/extra/x",
         "lpszPathInfo of a script map: the full URL path (IIS default)")
    s.check(f.get("lpszPathTranslated", "").replace("\\", "/").endswith("/app/page.probe/extra/x"),
            "lpszPathTranslated: PATH_INFO mapped", f.get("lpszPathTranslated"))
    s.eq(f.get("cbTotalBytes"), "14", "cbTotalBytes = Content-Length")
    s.eq(f.get("cbAvailable"), "14", "cbAvailable: the whole small body read ahead")
    s.eq(f.get("lpbData"), "name=value&x=y", "lpbData holds the body")
    s.eq(f.get("lpbData_nul"), "1", "a NUL after lpbData")
    s.eq(f.get("lpszContentType"), "application/x-www-form-urlencoded", "lpszContentType")
    s.eq(f.get("SCRIPT_NAME"), "/app/page.probe", "SCRIPT_NAME ends at the mapped segment")
    s.eq(f.get("PATH_INFO"), "/app/page.probe/extra/x", "PATH_INFO agrees with lpszPathInfo")
    s.eq(f.get("PATH_TRANSLATED"), f.get("lpszPathTranslated"), "PATH_TRANSLATED agrees")
    s.check(f.get("SCRIPT_TRANSLATED", "").replace("\\", "/").endswith("/app/page.probe"),
            "SCRIPT_TRANSLATED", f.get("SCRIPT_TRANSLATED"))
    s.eq(f.get("APPL_MD_PATH"), "/LM/W3SVC/1/ROOT", "APPL_MD_PATH of the root")
    s.check(f.get("APPL_PHYSICAL_PATH", "")[-1:] in ("/", "\\"),
            "APPL_PHYSICAL_PATH ends with a separator", f.get("APPL_PHYSICAL_PATH"))
    s.eq(f.get("QUERY_STRING"), "ecb&a=1", "QUERY_STRING")
    s.eq(f.get("REQUEST_METHOD"), "POST", "REQUEST_METHOD")
    s.eq(f.get("CONTENT_LENGTH"), "14", "CONTENT_LENGTH agrees with cbTotalBytes")
    s.eq(f.get("HTTP_X_SET_BY_FILTER"), "yes", "a header a filter set is what the extension reads")
    s.eq(f.get("HTTP_X_FILTER_MODULE"), f.get("own_module"),
         "filter and extension halves are one module (same handle)")
    s.eq(f.get("attach_count"), "1", "DllMain attached once for both roles")
    s.eq(f.get("NO_SUCH_VARIABLE"), "<error 1413>", "unknown variable: ERROR_INVALID_INDEX")
    s.eq(f.get("HTTP_NO_SUCH_HEADER"), "<error 1413>", "absent header: ERROR_INVALID_INDEX")
    s.eq(f.get("small_buffer"), "0/122/16", "a short buffer: ERROR_INSUFFICIENT_BUFFER, size")
    r = srv.get("/app/page.probe?ecb")
    f = fields(r.body) if r is not None else {}
    s.check(f.get("lpszPathTranslated", "").replace("\\", "/").endswith("/app/page.probe")
            and f.get("lpszPathTranslated") == f.get("SCRIPT_TRANSLATED"),
            "no path after the script: PATH_TRANSLATED is SCRIPT_TRANSLATED",
            (f.get("lpszPathTranslated"), f.get("SCRIPT_TRANSLATED")))
    log = srv.probe_log()
    s.check("extprobe: GetFilterVersion" in log and "extprobe: GetExtensionVersion" in log,
            "both halves initialised", log[-800:])
    s.eq(srv.stop(), 0, "graceful stop")
    log = srv.probe_log()
    te, tf = log.find("extprobe: TerminateExtension 2"), log.find("extprobe: TerminateFilter 2")
    s.check(te >= 0 and tf > te, "TerminateExtension(HSE_TERM_MUST_UNLOAD) before TerminateFilter",
            log[-800:])


def fnv(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def post(conn, path, body, extra=b"", chunked=False):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode()
    if chunked:
        pieces = [body[i:i + 9000] for i in range(0, len(body), 9000)]
        data = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        conn.send(head + b"Transfer-Encoding: chunked\r\n" + extra + b"\r\n" + data)
    else:
        conn.send(head + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body)


def check_stopped_cleanly(s, srv):
    """After a stop signal: the server ends by itself (within 30 s) with status 0."""
    try:
        srv.proc.wait(timeout=30)
    except Exception:
        pass
    s.eq(srv.stop(timeout=30), 0, "then the server exits 0")


@suite.case
def filters_around_extensions(s):
    srv = ext_server(s, MAPS, filters=["trace"])
    body = b"field=" + b"v" * 70000
    with srv.conn(timeout=30) as c:
        c.send(b"GET /t.probe?log HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == b"logged\n",
                "the extension answered", repr(r))
        post(c, "/t.probe?echo", body)
        r = c.response(timeout=30)
        s.check(r is not None and fields(r.body).get("len") == str(len(body)),
                "the body arrived whole", repr(r))
    recs = srv.wait_trace(0, lambda rs: sum(x.get("notify") == "LOG" for x in rs) >= 2,
                          timeout=15)
    first = [x for x in recs if x.get("req") == "1"]
    order = [x.get("notify") for x in first if x.get("notify") != "READ_RAW_DATA"]
    want = ["PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION", "AUTH_COMPLETE", "SEND_RESPONSE",
            "SEND_RAW_DATA", "SEND_RAW_DATA", "END_OF_REQUEST", "LOG"]
    s.eq(order, want, "IIS order around HttpExtensionProc")
    sr = [x for x in first if x.get("notify") == "SEND_RESPONSE"]
    s.check(sr and sr[0].get("HttpStatus") == "200" and sr[0].get("content_length") == "7",
            "SEND_RESPONSE on the extension's header block", repr(sr))
    sd = [x for x in first if x.get("notify") == "SEND_RAW_DATA"]
    s.check(len(sd) == 2 and sd[0].get("data", "").startswith("HTTP/1.1 200")
            and sd[1].get("data") == "logged\n",
            "SEND_RAW_DATA: the header block, then the WriteClient bytes", repr(sd))
    lg = [x for x in first if x.get("notify") == "LOG"]
    s.check(lg and lg[0].get("pszParameters") == "log&extparam=1&logdata=2"
            and lg[0].get("dwHttpStatus") == "200",
            "LOG: the query with HSE_APPEND_LOG_PARAMETER and lpszLogData", repr(lg))
    second = [x for x in recs if x.get("req") == "2"]
    raw_in = sum(int(x.get("cbInData", 0)) for x in second if x.get("notify") == "READ_RAW_DATA")
    s.check(raw_in >= len(body),
            "READ_RAW_DATA saw the whole body as it was read (read-ahead and ReadClient)",
            f"{raw_in} bytes")


@suite.case
def uploads_read_ahead_and_readclient(s):
    srv = ext_server(s, MAPS)
    big = bytes((i * 31 + i // 7) & 0xff for i in range(1_000_000))
    with srv.conn(timeout=30) as c:
        for body, chunked, what in ((b"", False, "no body"), (b"small", False, "small body"),
                                    (big, False, "1 MB body (read-ahead + ReadClient)"),
                                    (big[:200_000], True, "chunked 200 kB body"),
                                    (b"tiny chunked", True, "chunked body within the read-ahead")):
            post(c, "/u.probe?echo", body, chunked=chunked)
            r = c.response(timeout=30)
            if not s.check(r is not None and r.status == 200, f"{what}: 200", repr(r)):
                return
            f = fields(r.body)
            s.eq(f.get("len"), str(len(body)), f"{what}: every byte arrived")
            s.eq(f.get("hash"), fnv(body), f"{what}: in order, unchanged")
            s.eq(f.get("available"), str(min(len(body), 49152)),
                 f"{what}: cbAvailable = the read-ahead (49152 at most)")
            if chunked and len(body) > 49152:
                s.eq(f.get("total"), "4294967295", f"{what}: cbTotalBytes unknown (0xFFFFFFFF)")
            else:
                s.eq(f.get("total"), str(len(body)), f"{what}: cbTotalBytes")
            s.eq(f.get("after"), "1/0", f"{what}: ReadClient after the end: TRUE, 0 bytes")
            s.eq(r.header("Connection"), None, f"{what}: keep-alive (HTTP/1.1, no Connection)")
        # the same connection served all of them: keep-alive across extension responses
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        s.check(r is not None and r.status == 200 and r.body == b"first file\n",
                "a static request after five extension responses on one connection", repr(r))
    srv2 = ext_server(s, MAPS, settings={"upload_read_ahead": "0"})
    with srv2.conn(timeout=30) as c:
        post(c, "/u.probe?echo", big[:100_000])
        f = fields(c.response(timeout=30).body)
        s.eq((f.get("available"), f.get("len"), f.get("hash")), ("0", "100000", fnv(big[:100_000])),
             "upload_read_ahead = 0: nothing in lpbData, all through ReadClient")


@suite.case
def expect_continue_before_read_ahead(s):
    srv = ext_server(s, MAPS)
    with srv.conn() as c:
        c.send(b"POST /u.probe?echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.response()
        s.check(r is not None and r.status == 100, "100 Continue before the read-ahead", repr(r))
        c.send(b"hello")
        r = c.response()
        s.check(r is not None and fields(r.body).get("len") == "5", "then the answer", repr(r))


@suite.case
def header_block_before_read_client(s):
    # The server holds an extension's header block back until its first body bytes, to
    # send both at once; a ReadClient that must wait for the client sends it first: this
    # client sends the rest of its body only once it has seen the response's head.
    srv = ext_server(s, MAPS, settings={"upload_read_ahead": "0"})
    with srv.conn(timeout=30) as c:
        c.send(b"POST /u.probe?headfirst HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
        try:
            head = c.response(head_only=True, timeout=10)
        except TimeoutError:
            head = None
        s.check(head is not None and head.status == 200,
                "the header block arrives while the extension waits in ReadClient", repr(head))
        if head is None:
            return
        c.send(b"cde")
        deadline = time.monotonic() + 10
        while len(c.buf) < 8 and not c.eof and time.monotonic() < deadline:
            c._recv(deadline)
        s.eq(bytes(c.buf[:8]), b"read ok\n", "then the body, once the whole request body was read")


def conn_outcome(srv, path, version="1.1", extra=""):
    """Sends one request; returns (response, closed_by_server)."""
    with srv.conn() as c:
        c.send(f"GET {path} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode())
        r = c.response(timeout=10)
        return r, c.closed_by_server(timeout=3.0)


@suite.case
def keep_alive_as_iis(s):
    srv = ext_server(s, MAPS)
    r, closed = conn_outcome(srv, "/k.probe?ecb")
    s.check(r is not None and r.status == 200 and not closed and r.header("Connection") is None,
            "Content-Length + fKeepConn TRUE on HTTP/1.1: kept", repr(r))
    r, closed = conn_outcome(srv, "/k.probe?ecb", "1.0", "Connection: keep-alive\r\n")
    s.check(r is not None and not closed and r.header("Connection") == "keep-alive",
            "HTTP/1.0 keep-alive: kept and said so", repr(r))
    r, closed = conn_outcome(srv, "/k.probe?nolen")
    s.check(r is not None and r.status == 200 and closed and r.header("Connection") == "close"
            and r.body == b"no length\r\n",
            "no Content-Length on HTTP/1.1: Connection: close, closed, never hangs", repr(r))
    r, closed = conn_outcome(srv, "/k.probe?keepfalse")
    s.check(r is not None and closed and r.header("Connection") == "close",
            "fKeepConn FALSE: closed", repr(r))
    r, closed = conn_outcome(srv, "/k.probe?lie")
    s.check(r is not None and closed and r.header("Connection") == "close",
            "a Connection: keep-alive the server will not honour is corrected", repr(r))
    with srv.conn() as c:
        c.send(b"GET /k.probe?short HTTP/1.1\r\nHost: x\r\n\r\n")
        data = c.read_until_close(timeout=10)
        s.check(data.endswith(b"0123456789"),
                "a Content-Length the extension did not honour: the connection closes", data[-200:])
    with srv.conn() as c:
        c.send(b"GET /k.probe?raw HTTP/1.1\r\nHost: x\r\n\r\n")
        data = c.read_until_close(timeout=10)
        s.eq(data, b"HTTP/1.1 203 Raw\r\nContent-Length: 4\r\n\r\nraw\n",
             "raw WriteClient output passes untouched, then the connection closes")
    r, closed = conn_outcome(srv, "/k.probe?close")
    s.check(r is not None and closed, "HSE_REQ_CLOSE_CONNECTION: closed after the response",
            repr(r))
    r, closed = conn_outcome(srv, "/k.probe?empty")
    s.check(r is not None and r.status == 202 and r.header("Content-Length") == "0"
            and not closed, "success with nothing sent: an empty response, dwHttpStatusCode",
            repr(r))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(
            x.get("cs-uri-query") == "raw" for x in srv.access_log()):
        time.sleep(0.02)
    raw = [x for x in srv.access_log() if x.get("cs-uri-query") == "raw"]
    s.check(raw and raw[0].get("sc-status") == "203", "raw output: its status line is logged",
            repr(raw))


HEADER_TEXTS = 16   # extprobe's header_texts


def normal_dates(data):
    """The server's own Date values made equal (an extension's own Date is kept)."""
    return re.sub(rb"\r\nDate: (?!Mon, 01 Jan 2001)[^\r]*", b"\r\nDate: *", data)


@suite.case
def header_block_direct_and_through_filters(s):
    """With no filter to read or change it, an extension's header block is written straight
    from its text; a server with a SEND_RESPONSE filter (modes, which changes nothing
    without "modes=" in the query) builds it through the response list. Both must put the
    same bytes on the wire and keep or close the connection alike: each request is followed
    by a second one on the same connection, answered only when the first kept it."""
    direct = ext_server(s, MAPS)
    listed = ext_server(s, MAPS, filters=["modes"])
    variants = [("1.1", ""), ("1.1", "Connection: close\r\n"), ("1.0", ""),
                ("1.0", "Connection: keep-alive\r\n")]
    differ = []
    seen = 0
    for i in range(HEADER_TEXTS):
        for nokeep in ("", "&nokeep"):
            for version, extra in variants:
                got = []
                for srv in (direct, listed):
                    with srv.conn() as c:
                        c.send(f"GET /h.probe?headers={i}{nokeep} HTTP/{version}\r\n"
                               f"Host: x\r\n{extra}\r\n".encode()
                               + b"GET /h.probe?headers=0 HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
                        got.append(normal_dates(c.read_until_close(timeout=15)))
                seen += got[0].startswith(b"HTTP/1.")
                if got[0] != got[1]:
                    differ.append((i, nokeep, version, extra, got[0], got[1]))
    s.eq(seen, HEADER_TEXTS * 2 * len(variants), "every header text was answered")
    s.eq(differ[:3], [], "the direct block and the listed block are the same bytes")
    r, closed = conn_outcome(direct, "/h.probe?headers=2", "1.0", "Connection: keep-alive\r\n")
    s.check(r is not None and not closed and r.header("Connection") == "keep-alive"
            and r.raw_head.count(b"Connection:") == 1,
            "HTTP/1.0 keep-alive: one Connection header, in place of the extension's two",
            repr(r))


@suite.case
def return_codes_and_errors(s):
    srv = ext_server(s, MAPS)
    r, closed = conn_outcome(srv, "/e.probe?error")
    s.check(r is not None and r.status == 500 and closed,
            "HSE_STATUS_ERROR with nothing sent: 500, closed", repr(r))
    r, closed = conn_outcome(srv, "/e.probe?error_after")
    s.check(r is not None and r.status == 200 and r.body == b"partial\n" and closed,
            "HSE_STATUS_ERROR after a response: no second response, closed", repr(r))
    r, closed = conn_outcome(srv, "/e.probe?twice")
    s.check(r is not None and r.body == b"one\n" and not closed,
            "a second header block is refused, the first response stands", repr(r))
    recs = srv.wait_access(3, timeout=15)
    st = [(x.get("cs-uri-query"), x.get("sc-status"), x.get("sc-win32-status")) for x in recs]
    s.check(("error", "500", "5") in st and ("error_after", "500", "13") in st,
            "HSE_STATUS_ERROR is logged 500 with the extension's last error", repr(st))
    log = srv.wait_probe("extprobe: second header error")
    s.check("extprobe: second header 0" in log and "extprobe: second header error 87" in log,
            "the second SEND_RESPONSE_HEADER: FALSE, ERROR_INVALID_PARAMETER", log[-1500:])


@suite.case
def server_support_functions(s):
    srv = ext_server(s, MAPS)

    def get(q):
        r = srv.get("/s.probe?" + q)
        return r, (fields(r.body) if r is not None else {})

    r, _ = get("redirect")
    s.check(r is not None and r.status == 302 and r.header("Location") == "/target?x=1"
            and r.header("Content-Length") == str(len(r.body)),
            "SEND_URL_REDIRECT_RESP: 302, Location, a framed body", repr(r))
    r, _ = get("sendurl")
    s.check(r is not None and r.status == 302 and r.header("Location") == "/target?x=1",
            "SEND_URL: the same 302 (IIS 5 and later)", repr(r))
    r, _ = get("custom")
    s.check(r is not None and r.status == 404 and b"404 Not Found" in r.body,
            "SEND_CUSTOM_ERROR: the status and a page", repr(r))
    r, _ = get("vector")
    s.check(r is not None and r.status == 200 and r.body == b"first,second\n",
            "VECTOR_SEND: headers and buffers (with offsets)", repr(r))
    _, f = get("keepconn")
    s.eq(f.get("keep"), "1/0 connected=1/1 inproc=1/0 done=1 abortive=1",
         "IS_KEEP_CONN (Connection: close sent), IS_CONNECTED, IS_IN_PROCESS, "
         "DONE_WITH_SESSION, ABORTIVE_CLOSE")
    _, f = get("cert")
    s.eq(f.get("ok"), "1 cb=0 flags=0 alloc=64", "GET_CERT_INFO_EX: no certificate")
    _, f = get("token")
    s.eq(f.get("ok"), "0 err=50", "GET_IMPERSONATION_TOKEN: ERROR_NOT_SUPPORTED")
    _, f = get("unhealthy")
    s.eq(f.get("ok"), "1", "REPORT_UNHEALTHY: TRUE")
    s.check("reported itself unhealthy: disk full" in srv.error_log(),
            "REPORT_UNHEALTHY: the reason is logged", srv.error_log()[-500:])
    _, f = get("normalize=/a/./b/../c%41")
    s.eq(f.get("ok"), "1 url=/a/cA", "NORMALIZE_URL")
    _, f = get("normalize=/../x")
    s.eq(f.get("ok"), "0 url=", "NORMALIZE_URL above the root: FALSE")
    _, f = get("map=/sub/file.txt")
    ok = f.get("ok", "")
    s.check(ok.startswith("1 size=") and ok.replace("\\", "/").endswith("/site/sub/file.txt"),
            "MAP_URL_TO_PATH: the physical path, size with its NUL", ok)
    s.check(f.get("small", "").startswith("0/122/"), "MAP_URL_TO_PATH: a short buffer",
            f.get("small"))
    r = srv.get("/s%C3%A9.probe?unicode")
    f = fields(r.body) if r is not None else {}
    s.eq(f.get("script"), f"1/{2 * (len('/sé.probe') + 1)}//sé.probe".encode().decode("latin-1"),
         "UNICODE_SCRIPT_NAME: UTF-16, size in bytes with the terminator")
    s.eq(f.get("small"), "0/122/20", "UNICODE_URL in a short buffer: the size in bytes")
    s.eq(f.get("header"), "0/1413", "no UNICODE_ form of a header: ERROR_INVALID_INDEX")
    um = f.get("umap", "").replace("\\", "/")
    s.check(um.startswith("1/") and um.endswith("/site/sub/x.txt"),
            "MAP_UNICODE_URL_TO_PATH", um)
    umx = f.get("umapex", "").replace("\\", "/")
    s.check(umx.startswith("1/") and "/site/sub/x.txt/0x201" in umx,
            "MAP_UNICODE_URL_TO_PATH_EX", umx)
    _, f = get("mapex=/sub/file.txt")
    s.check(f.get("ok", "").startswith("1 path=") and "flags=0x201" in f.get("ok", ""),
            "MAP_URL_TO_PATH_EX: path and the folder's access flags", f.get("ok"))
    for code, want in ((1005, "1 err=0"), (1010, "0 err=87"), (1027, "0 err=87"), (1006, "0 err=6"),
                       (1007, "1 err=0"), (9999, "0 err=87"), (1002, "0 err=50")):
        _, f = get(f"ssf={code}")
        s.eq(f.get("code"), f"{code} ok={want}", f"ServerSupportFunction {code}")
    r = srv.get("/s.probe?log")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(
            x.get("cs-uri-query", "").startswith("log") for x in srv.access_log()):
        time.sleep(0.02)
    q = [x.get("cs-uri-query") for x in srv.access_log()]
    s.check("log&extparam=1&logdata=2" in q,
            "APPEND_LOG_PARAMETER and lpszLogData go to the query field", repr(q))


def exec_report(srv, tag, timeout=15.0):
    """The line extprobe's exec completion wrote for `tag` ("status=... err=..."), or ""."""
    log = srv.wait_probe(f"extprobe: exec {tag}: status=", timeout=timeout)
    for line in log.splitlines():
        if line.startswith(f"extprobe: exec {tag}: status="):
            return line.split(": ", 2)[2]
    return ""


@suite.case
def exec_url_child_requests(s):
    srv = ext_server(s, MAPS)
    ok200 = "status=200 sub=0 win32=0 cb=0 err=0 ok=1"
    with srv.conn(timeout=30) as c:
        # a static file: its status and body reach the client, the connection serves on
        c.send(b"GET /p.probe?exec=/a.txt&tag=static HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"]
                and r.header("Content-Length") == str(len(harness.SITE["a.txt"])),
                "EXEC_URL to a static file: the file's response reaches the client", repr(r))
        s.eq(exec_report(srv, "static"), ok200,
             "the completion: cbIO 0, dwError 0; GET_EXEC_URL_STATUS 200, 0, 0")
        c.send(b"GET /p.probe?exec=/missing.txt&tag=missing HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 404, "a missing file: the child's 404", repr(r))
        s.eq(exec_report(srv, "missing"), "status=404 sub=0 win32=0 cb=0 err=0 ok=1",
             "GET_EXEC_URL_STATUS reports the child's 404")
        # replacement method, headers and body reach a child extension
        c.send(b"GET /p.probe?exec=/c.probe?ecb&method=PUT&hdr&entity=hello&tag=repl HTTP/1.1\r\n"
               b"Host: x\r\nContent-Type: text/parent\r\n\r\n")
        r = c.response(timeout=15)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("lpszMethod"), f.get("lpszQueryString"), f.get("lpszContentType"),
              f.get("HTTP_X_SET_BY_FILTER"), f.get("cbTotalBytes"), f.get("cbAvailable"),
              f.get("lpbData"), f.get("SCRIPT_NAME")),
             ("PUT", "ecb", "text/x-child", "child", "5", "5", "hello", "/c.probe"),
             "the child extension sees the method, the header block and the body it was given")
        s.eq(exec_report(srv, "repl"), ok200, "a child extension's status")
        # the unicode form
        c.send(b"GET /p.probe?exec=/b.txt&unicode&tag=uni HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["b.txt"],
                "EXEC_UNICODE_URL to a static file", repr(r))
        s.eq(exec_report(srv, "uni"), ok200, "EXEC_UNICODE_URL's completion")
        # the call from the extension's own thread, after HttpExtensionProc returned
        c.send(b"GET /p.probe?exec=/c.txt&thread&tag=thread HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["c.txt"],
                "EXEC_URL from another thread after the return", repr(r))
        s.eq(exec_report(srv, "thread"), ok200, "its completion")
        # the parent's unread body stays for the child
        body = bytes((i * 13) & 0xff for i in range(100_000))
        post(c, "/p.probe?exec=/c.probe?echo&tag=body", body)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        rest = body[49152:]
        s.eq((f.get("len"), f.get("hash")), (str(len(rest)), fnv(rest)),
             "without pEntity the child reads what the parent left of the body")
        s.eq(exec_report(srv, "body"), ok200, "its completion")
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        s.check(r is not None and r.status == 200,
                "keep-alive after child requests whose responses were framed", repr(r))
    # NULL url: the same request, by the next handler (the static one), never the caller again
    r = srv.get("/n.probe?exec&tag=null")
    s.check(r is not None and r.status == 404, "NULL pszUrl: not routed back to the caller",
            repr(r))
    s.eq(exec_report(srv, "null"), "status=404 sub=0 win32=0 cb=0 err=0 ok=1",
         "NULL pszUrl: the static handler's 404 (no MIME type for .probe)")
    s.eq(srv.probe_log().count("extprobe: exec null: started"), 1, "the caller ran once")
    # IGNORE_CURRENT_INTERCEPTOR: another URL of the same DLL goes past it
    r = srv.get("/i.probe?exec=/j.probe?ecb&ignore&tag=ignore")
    s.check(r is not None and r.status == 404, "IGNORE_CURRENT_INTERCEPTOR: not the caller",
            repr(r))
    # NO_HEADERS: the parent's header block, then the child's body alone; then close
    with srv.conn() as c:
        c.send(b"GET /p.probe?exec=/a.txt&noheaders&tag=nohdr HTTP/1.1\r\nHost: x\r\n\r\n")
        data = c.read_until_close(timeout=15)
        s.check(data.count(b"HTTP/1.1 ") == 1 and data.endswith(b"\r\n\r\n" + harness.SITE["a.txt"])
                and b"Content-Length" not in data,
                "NO_HEADERS: the child's body after the parent's header block, no second one",
                data)
    s.eq(exec_report(srv, "nohdr"), ok200, "NO_HEADERS: the completion")
    # nesting to the limit: the request at depth 8 is refused, every parent completes
    r = srv.get("/d0.probe?exec&deep&tag=deep0")
    s.check(r is not None and r.status == 200 and r.body == b"exec failed err=87\n",
            "a child's child ... : the 9th level is refused (ERROR_INVALID_PARAMETER)", repr(r))
    for depth in range(0, 8):
        s.eq(exec_report(srv, f"deep{depth}"), ok200, f"depth {depth}: its child completed")
    # refusals: FALSE, the error, no callback, the extension answers itself
    for opts, want in (("null", "87"), ("nocb", "87"), ("user", "50")):
        r = srv.get(f"/p.probe?exec=/a.txt&{opts}&tag={opts}")
        s.check(r is not None and r.body == f"exec failed err={want}\n".encode(),
                f"EXEC_URL refused ({opts}): FALSE, {want}", repr(r))
    r = srv.get("/p.probe?exec=/a.txt&sent&tag=sent")
    s.check(r is not None and r.body == b"sent first\n", "after a header block: refused, the "
            "parent's response stands", repr(r))
    log = srv.wait_probe("extprobe: exec sent: refused")
    s.check("extprobe: exec sent: refused err=87" in log
            and "extprobe: exec sent: status before any child 0 err=87" in log,
            "EXEC_URL after a header block: ERROR_INVALID_PARAMETER; GET_EXEC_URL_STATUS "
            "before any child: ERROR_INVALID_PARAMETER", log[-800:])
    r = srv.get("/p.probe?exec=/a.txt&noreturn&tag=noreturn")
    s.check(r is not None and r.body == b"no pending\n",
            "no HSE_STATUS_PENDING after EXEC_URL: the extension's own answer, no child", repr(r))
    s.check(exec_report(srv, "noreturn").endswith("cb=0 err=995 ok=0"),
            "... and the callback gets ERROR_OPERATION_ABORTED, no status",
            exec_report(srv, "noreturn"))
    s.check("did not return HSE_STATUS_PENDING; the child does not run" in srv.error_log(),
            "... with a warning", srv.error_log()[-600:])
    r = srv.get("/p.probe?exec=/a.txt&twice&tag=twice")
    s.check(r is not None and r.body == harness.SITE["a.txt"], "the first call's child ran",
            repr(r))
    log = srv.wait_probe("extprobe: exec twice: second call")
    s.check("extprobe: exec twice: second call 0 err=87" in log,
            "a second EXEC_URL while one is outstanding: ERROR_INVALID_PARAMETER", log[-800:])


@suite.case
def exec_url_children_hold_no_worker(s):
    # Two workers, one event loop, three children sending a large file to clients that read
    # their first bytes and then nothing: a child that held its worker while the client is
    # slow would leave none for the request to a.txt.
    site = dict(harness.SITE)
    site["large.bin"] = bytes(range(256)) * (1 << 16)   # 16 MiB
    srv = ext_server(s, MAPS, site=site, settings={"workers": "2", "concurrency": "1"})
    slow = []
    try:
        for i in range(3):
            sock = socket.create_connection(("127.0.0.1", srv.ports[0]), timeout=15)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            busy = b"&busy" if i == 0 else b""
            sock.sendall(b"GET /p.probe?exec=/large.bin%s&tag=slow%d HTTP/1.1\r\nHost: x\r\n\r\n"
                         % (busy, i))
            s.check(sock.recv(12).startswith(b"HTTP/1.1 200"), f"child {i}: its response began")
            slow.append(sock)
        r = srv.get("/a.txt", timeout=15)
        log = srv.probe_log()
        s.check(r is not None and r.status == 200 and "exec slow0: status=" not in log
                and "exec slow2: status=" not in log,
                "another request is answered while three children wait for their clients",
                repr(r))
        # the parent's own calls while its child runs: refused
        for folder, _, names in os.walk(srv.dir):
            for n in names:
                if n.endswith(".dll.log") or n.endswith(".so.log"):
                    with open(os.path.join(folder, n[:-len(".log")] + ".busy"), "w") as f:
                        f.write("go\n")
        log = srv.wait_probe("extprobe: exec slow0: during the child", timeout=30)
        s.check("extprobe: exec slow0: during the child gsv 0/87 write 0/87" in log,
                "while its child runs, the parent's GetServerVariable and WriteClient answer "
                "FALSE, ERROR_INVALID_PARAMETER", log[-600:])
    finally:
        for sock in slow:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
    for i in range(3):
        report = exec_report(srv, f"slow{i}", timeout=30)
        s.check(report.startswith("status=200 sub=0 win32=64 cb=0 err=64"),
                f"child {i}: the client went away: ERROR_NETNAME_DELETED", report)


@suite.case
def exec_url_child_to_a_client_that_stops_reading(s):
    # The child sends a 16 MiB file to a client that reads nothing: after send_timeout the
    # child fails with ERROR_TIMEOUT, the parent's completion reports it (cbIO 0, dwError
    # 1460, GET_EXEC_URL_STATUS the child's 200 and 1460), the connection closes and the
    # server serves on. (The minimum rate is set so high that the bytes the socket buffers
    # took earn no time: the limit is send_timeout.)
    site = dict(harness.SITE)
    site["large.bin"] = bytes(range(256)) * (1 << 16)   # 16 MiB
    srv = ext_server(s, MAPS, site=site,
                     settings={"workers": "1", "concurrency": "1", "send_timeout": "2",
                               "min_bytes_per_second": "100000000"})
    slow = unread_conn(srv)
    try:
        slow.send(b"GET /p.probe?exec=/large.bin&tag=tmo HTTP/1.1\r\nHost: x\r\n\r\n")
        report = exec_report(srv, "tmo", timeout=30)
        s.check(report.startswith("status=200 sub=0 win32=1460 cb=0 err=1460 ok=1"),
                "the child's client did not read within send_timeout: the completion and "
                "GET_EXEC_URL_STATUS report ERROR_TIMEOUT", report)
        r = srv.get("/a.txt", timeout=10)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
                "the server serves on", repr(r))
        data = slow.read_until_close(timeout=30)
        s.check(data.startswith(b"HTTP/1.1 200") and len(data) < len(site["large.bin"]),
                "the timed-out connection is closed, its response cut short",
                f"{len(data)} bytes")
    finally:
        slow.close()
    logged = [x for x in srv.wait_access(2, timeout=15) if x.get("cs-uri-stem") == "/p.probe"]
    s.check(len(logged) == 1, "the client's request is logged once", repr(logged))


@suite.case
def exec_url_child_reads_a_chunked_parent_body(s):
    # The parent's body comes chunked: the child reads it decoded, without pEntity the part
    # the parent's read-ahead left (cbTotalBytes unknown while the body is not all in),
    # with pEntity the bytes given and nothing of the connection's.
    srv = ext_server(s, MAPS)
    body = bytes((i * 29 + i // 5) & 0xff for i in range(150_000))
    with srv.conn(timeout=30) as c:
        post(c, "/p.probe?exec=/c.probe?echo&tag=chunked", body, chunked=True)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        rest = body[49152:]
        s.eq((f.get("len"), f.get("hash"), f.get("available"), f.get("total"),
              f.get("after")),
             (str(len(rest)), fnv(rest), "0", "4294967295", "1/0"),
             "without pEntity the child reads the chunked body the parent left, decoded")
        s.eq(exec_report(srv, "chunked"), "status=200 sub=0 win32=0 cb=0 err=0 ok=1",
             "its completion")
        small = b"all within the read-ahead"
        post(c, "/p.probe?exec=/c.probe?echo&tag=chunkedall", small, chunked=True)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("len"), f.get("available"), f.get("total"), f.get("after")),
             ("0", "0", "0", "1/0"),
             "a chunked body the parent's read-ahead took whole: nothing left for the child")
        post(c, "/p.probe?exec=/c.probe?echo&entity=given&tag=chunkedent", small,
             chunked=True)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("len"), f.get("hash"), f.get("available"), f.get("total"),
              f.get("after")),
             ("5", fnv(b"given"), "5", "5", "1/0"),
             "with pEntity the child reads the bytes given, not the chunked body")
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
                "keep-alive after chunked bodies read by children", repr(r))
    # pEntity while most of the chunked body is still on its way: the child never reads
    # it, so the request cannot be delimited and the connection closes after the answer
    with srv.conn(timeout=30) as c:
        post(c, "/p.probe?exec=/c.probe?echo&entity=given&tag=chunkedrest", body,
             chunked=True)
        data = c.read_until_close(timeout=30)
        s.check(data.startswith(b"HTTP/1.1 200") and b"len=5\n" in data
                and data.count(b"HTTP/1.1 ") == 1,
                "pEntity with the chunked body unread: the child's answer, then the close",
                data[:300])
    s.eq(exec_report(srv, "chunkedrest"), "status=200 sub=0 win32=0 cb=0 err=0 ok=1",
         "its completion")
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "the server serves on", repr(r))


@suite.case
def exec_url_flags(s):
    srv = ext_server(s, MAPS)
    future = "Sun, 06 Nov 2044 08:49:37 GMT"
    ok200 = "status=200 sub=0 win32=0 cb=0 err=0 ok=1"
    file = harness.SITE["bytes.bin"]
    with srv.conn(timeout=30) as c:
        # without the flag the child honours the client's Range and If-Modified-Since ...
        c.send(b"GET /p.probe?exec=/bytes.bin&tag=range HTTP/1.1\r\nHost: x\r\n"
               b"Range: bytes=0-3\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 206 and r.body == file[:4],
                "a static child honours Range", repr(r))
        c.send(b"GET /p.probe?exec=/bytes.bin&tag=ims HTTP/1.1\r\nHost: x\r\n"
               b"If-Modified-Since: %s\r\n\r\n" % future.encode())
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 304, "... and If-Modified-Since", repr(r))
        # ... with IGNORE_VALIDATION_AND_RANGE it answers 200 with the whole file
        c.send(b"GET /p.probe?exec=/bytes.bin&novalidate&tag=norange HTTP/1.1\r\nHost: x\r\n"
               b"Range: bytes=0-3\r\nIf-Modified-Since: %s\r\n\r\n" % future.encode())
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == file
                and r.header("Content-Range") is None,
                "IGNORE_VALIDATION_AND_RANGE: 200 and the whole file", repr(r)[:300])
        s.eq(exec_report(srv, "norange"), ok200, "its completion")
        # an extension child: the headers are gone from its server variables
        for opts, want in ((b"", ("bytes=0-3", future)), (b"&novalidate", (None, None))):
            c.send(b"GET /p.probe?exec=/c.probe?ecb%s&tag=extchild HTTP/1.1\r\nHost: x\r\n"
                   b"Range: bytes=0-3\r\nIf-Modified-Since: %s\r\n\r\n"
                   % (opts, future.encode()))
            r = c.response(timeout=15)
            f = fields(r.body) if r is not None else {}
            got = tuple(None if v is None or v.startswith("<error") else v
                        for v in (f.get("HTTP_RANGE"), f.get("HTTP_IF_MODIFIED_SINCE")))
            s.eq(got, want, f"an extension child's HTTP_RANGE, HTTP_IF_MODIFIED_SINCE "
                            f"({opts.decode() or 'no flag'})")
        # HTTP_CACHE_ELIGIBLE (no response cache here) and DISABLE_CUSTOM_ERROR (no custom
        # error pages here): accepted, nothing changes
        c.send(b"GET /p.probe?exec=/a.txt&cacheok&tag=cacheok HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
                "HTTP_CACHE_ELIGIBLE: the child runs as without it", repr(r))
        s.eq(exec_report(srv, "cacheok"), ok200, "its completion")
        c.send(b"GET /p.probe?exec=/missing.txt&nocustom&tag=nocustom HTTP/1.1\r\n"
               b"Host: x\r\n\r\n")
        r = c.response(timeout=15)
        plain = srv.get("/missing.txt")
        s.check(r is not None and plain is not None and r.status == 404
                and r.body == plain.body,
                "DISABLE_CUSTOM_ERROR: the server's own 404 page, as without it", repr(r))
        s.eq(exec_report(srv, "nocustom"), "status=404 sub=0 win32=0 cb=0 err=0 ok=1",
             "its completion")
    # SSI_CMD asks for a shell command for SSI's #exec cmd: refused, no callback
    r = srv.get("/p.probe?exec=/a.txt&ssicmd&tag=ssicmd")
    s.check(r is not None and r.body == b"exec failed err=50\n",
            "SSI_CMD: FALSE, ERROR_NOT_SUPPORTED", repr(r))


@suite.case
def exec_url_from_a_wildcard_map(s):
    srv = ext_server(s, {"script_maps": ["* = {ext},1"]}, filters=["trace"])
    with srv.conn(timeout=30) as c:
        c.send(b"GET /b.txt?exec&tag=wild HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["b.txt"],
                "a wildcard extension hands the request on: the file it names", repr(r))
        c.send(b"GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200, "keep-alive after", repr(r))
    s.eq(exec_report(srv, "wild"), "status=200 sub=0 win32=0 cb=0 err=0 ok=1",
         "the completion")
    recs = srv.wait_trace(0, lambda rs: sum(x.get("notify") == "LOG" for x in rs) >= 2,
                          timeout=15)
    first = [x.get("notify") for x in recs if x.get("req") == "1"
             and x.get("notify") != "READ_RAW_DATA"]
    s.eq(first, ["PREPROC_HEADERS", "URL_MAP", "AUTHENTICATION", "AUTH_COMPLETE", "URL_MAP",
                 "SEND_RESPONSE", "SEND_RAW_DATA", "SEND_RAW_DATA", "END_OF_REQUEST", "LOG"],
         "the child: URL_MAP and its response's notifications; one END_OF_REQUEST and LOG")
    logged = [x for x in srv.wait_access(2, timeout=15) if x.get("cs-uri-stem") == "/b.txt"]
    s.check(len(logged) == 1 and logged[0].get("sc-status") == "200",
            "one log line for the request, with the child's status", repr(logged))


@suite.case
def virtual_directories_and_direct_dlls(s):
    srv = ext_server(s, {"virtual_directories": ["/scripts = {bin}, execute", "/noexec = {bin}, read"]},
                     start=False)
    bindir = srv.path("bin")
    os.makedirs(bindir)
    # named .dll on every build: the URL names it so (an .so loads under any name)
    shutil.copy(srv.ext_path, os.path.join(bindir, "probe.dll"))
    with open(os.path.join(bindir, "note.txt"), "wb") as f:
        f.write(b"a file of the directory\n")
    outside = srv.path("outside.txt")
    with open(outside, "wb") as f:
        f.write(b"not for clients\n")
    os.symlink(outside, os.path.join(bindir, "link.txt"))
    srv.sections["virtual_directories"] = [line.replace("{bin}", s.env.spath(bindir))
                                           for line in srv.sections["virtual_directories"]]
    srv.start()
    r = srv.get("/scripts/probe.dll/tail/x?ecb")
    if not s.check(r is not None and r.status == 200, "a DLL in a folder with Execute access runs",
                   repr(r)):
        return
    f = fields(r.body)
    s.eq(f.get("SCRIPT_NAME"), "/scripts/probe.dll", "SCRIPT_NAME: the DLL's URL")
    s.eq(f.get("lpszPathInfo"), "/tail/x", "lpszPathInfo: the part after the DLL")
    s.eq(f.get("PATH_INFO"), "/tail/x", "PATH_INFO agrees")
    s.check(f.get("lpszPathTranslated", "").replace("\\", "/").endswith("/site/tail/x"),
            "lpszPathTranslated: the path info mapped", f.get("lpszPathTranslated"))
    s.eq(f.get("APPL_MD_PATH"), "/LM/W3SVC/1/ROOT/scripts", "APPL_MD_PATH of the directory")
    app = f.get("APPL_PHYSICAL_PATH", "").replace("\\", "/")
    s.check(app.endswith("/bin/"), "APPL_PHYSICAL_PATH: its folder, with a separator", app)
    r = srv.get("/scripts/probe.dll?ecb")
    f = fields(r.body) if r is not None else {}
    s.eq((f.get("lpszPathInfo"), f.get("lpszPathTranslated")), ("", ""),
         "no path info: both empty, never NULL")
    r = srv.get("/noexec/probe.dll?ecb")
    s.check(r is not None and r.status == 404 and b"cbSize" not in r.body,
            "the same DLL in a folder without Execute: 404, not run, not sent", repr(r))
    r = srv.get("/scripts/missing.dll")
    s.check(r is not None and r.status == 404, "a DLL that does not exist: 404", repr(r))
    r = srv.get("/noexec/note.txt")
    s.check(r is not None and r.status == 200 and r.body == b"a file of the directory\n",
            "a static file of a directory with Read access, its folder outside the root",
            repr(r))
    r = srv.get("/noexec/link.txt")
    s.check(r is not None and r.status == 404 and b"not for clients" not in r.body,
            "a link out of the directory's folder: 404 (follow_symlinks inside)", repr(r))
    r = srv.get("/scripts/note.txt")
    s.check(r is not None and r.status == 403, "the file in a directory without Read: 403",
            repr(r))
    log = srv.probe_log()
    s.eq(log.count("extprobe: GetExtensionVersion"), 1, "loaded on first use, once")


@suite.case
def script_map_rules(s):
    site = dict(harness.SITE)
    site["exists.chk"] = b"script file\n"
    srv = ext_server(s, {"script_maps": [".chk = {ext},5,GET,POST", ".exe1 = {ext},0"]},
                     site=site)
    r = srv.get("/exists.chk?ecb")
    s.check(r is not None and r.status == 200, "verify-file map, file present: runs", repr(r))
    r = srv.get("/missing.chk?ecb")
    s.check(r is not None and r.status == 404 and b"cbSize" not in r.body,
            "verify-file map, file missing: 404 without calling the DLL", repr(r))
    r = srv.get("/exists.chk?ecb", method="PUT", body=b"x")
    s.check(r is not None and r.status == 405 and r.header("Allow") == "GET,POST",
            "a verb the map does not list: 405 with Allow", repr(r))
    r = srv.get("/x.exe1?ecb")
    s.check(r is not None and r.status == 403,
            "a map without the Script flag in a folder without Execute: 403", repr(r))


@suite.case
def wildcard_map_and_http09(s):
    srv = ext_server(s, {"script_maps": ["* = {ext},1"]})
    r = srv.get("/any/thing.txt?ecb")
    f = fields(r.body) if r is not None else {}
    s.check(r is not None and r.status == 200 and f.get("SCRIPT_NAME") == "/any/thing.txt",
            "the wildcard map takes every request", repr(r))
    with srv.conn() as c:
        c.send(b"GET /x?keepconn\r\n")
        data = c.read_until_close(timeout=10)
        s.check(data.startswith(b"keep=1/0") and b"HTTP/1." not in data,
                "HTTP/0.9 to an extension: the body alone (strict policy), no keep-alive", data)


@suite.case
def client_disconnects_in_the_middle(s):
    srv = ext_server(s, MAPS)
    with srv.conn() as c:
        c.send(b"POST /w.probe?wait HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
               + b"x" * 60000)
        # the read-ahead is taken, the extension waits in ReadClient for the rest
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and srv.access_log() == []:
            time.sleep(0.02)
    recs = srv.wait_access(1, timeout=15)
    s.check(len(recs) == 1, "the request ends (logged) when the client goes away", repr(recs))
    log = srv.wait_probe("wait ended, connected")
    s.check("extprobe: wait ended, ReadClient 1" in log,
            "ReadClient gives TRUE with 0 bytes when the client closed", log[-800:])
    s.check("extprobe: wait ended, connected 0" in log,
            "HSE_REQ_IS_CONNECTED says FALSE once the client closed", log[-800:])
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "the server serves on", repr(r))


@suite.case
def crash_fails_its_request_only(s):
    sanitizers = os.environ.get("ISAPIHOST_SANITIZE", "")
    if sanitizers:
        s.skip("crash containment", f"sanitizer build ({sanitizers}) handles faults itself")
        return
    srv = ext_server(s, MAPS)
    r = srv.get("/c.probe?crash", timeout=15)
    s.check(r is None or r.status == 500, "no successful response from the crashed request",
            repr(r))
    t0 = time.monotonic()
    ok = None
    while time.monotonic() - t0 < 15:
        ok = srv.get("/c.probe?keepconn", timeout=3)
        if ok is not None and ok.status == 200:
            break
        time.sleep(0.02)
    s.check(ok is not None and ok.status == 200, "the next request is served", repr(ok))
    log = srv.error_log() + srv.stderr_text()
    named = [l for l in log.splitlines() if "extprobe" in l and "HttpExtensionProc" in l]
    s.check(named, "the log names the extension and HttpExtensionProc", log[-1500:])


@suite.case
def pending_and_async_io(s):
    srv = ext_server(s, MAPS)
    body = bytes((i * 29) & 0xff for i in range(300_000))
    with srv.conn(timeout=30) as c:
        # DONE_WITH_SESSION from another thread, before and after HttpExtensionProc returned
        # HSE_STATUS_PENDING (extprobe orders the two by events, not by time)
        for order in ("before", "after"):
            c.send(b"GET /p.probe?pending=%s HTTP/1.1\r\nHost: x\r\n\r\n" % order.encode())
            r = c.response(timeout=15)
            s.check(r is not None and r.status == 200
                    and r.body == b"answered from another thread\n",
                    f"HSE_STATUS_PENDING, DONE_WITH_SESSION {order} the return: another thread "
                    "answers and ends the request", repr(r))
        c.send(b"GET /p.probe?asyncwrite HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=15)
        s.check(r is not None and r.status == 200 and r.body == b"async body\r\n",
                "WriteClient HSE_IO_ASYNC: the bytes go out, the callback ends the session",
                repr(r))
        post(c, "/p.probe?asyncread", body)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("len"), f.get("hash")), ("300000", fnv(body)),
             "HSE_REQ_ASYNC_READ_CLIENT from the callbacks reads the whole body")
        s.check(int(f.get("completions", "0")) > 2, "one completion per read",
                f.get("completions"))
        s.eq(f.get("reentered"), "0", "no completion runs inside the call that started it")
        s.eq(f.get("err"), "0", "the end of the body: a completion with 0 bytes, no error")
        # all three on one connection: keep-alive after PENDING requests
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        s.check(r is not None and r.status == 200, "the connection serves on", repr(r))
    log = srv.wait_probe("async write completed, reentered")
    before_done = log.find("pending before: session done, write 1")
    before_ret = log.find("pending before: returning HSE_STATUS_PENDING")
    s.check(0 <= before_done < before_ret, "before: the session ended, then PENDING was returned",
            log[-800:])
    s.check("pending after: session done, write 1" in log and "no completion came" not in log,
            "after: the thread ended the session once the request's thread was back", log[-800:])
    s.check("async write completed, 12 bytes" in log and "completed, error 0" in log
            and "reentered 0" in log, "the write completion: bytes, no error, not re-entered",
            log[-600:])
    s.check("async write without a callback 0" in log,
            "an async write without HSE_REQ_IO_COMPLETION fails", log[-600:])
    s.check("second async write while one is outstanding 0" in log,
            "a second async operation while one is outstanding fails", log[-600:])


@suite.case
def pending_requests_hold_no_worker(s):
    # Two workers and one event loop. A pending request that held its worker until
    # DONE_WITH_SESSION would leave none after the second: the third HttpExtensionProc,
    # the static file and the other extension request below would never be served.
    srv = ext_server(s, MAPS, filters=["trace"], settings={"workers": "2", "concurrency": "1"})
    held = 4
    conns = [srv.conn(timeout=30) for _ in range(held)]
    gone = srv.conn(timeout=30)   # a client that goes away while its request is pending
    try:
        for i, c in enumerate(conns):
            c.send(b"GET /h.probe?hold=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        gone.send(b"GET /h.probe?hold=9 HTTP/1.1\r\nHost: x\r\n\r\n")
        log = ""
        for i in list(range(held)) + [9]:
            log = srv.wait_probe(f"extprobe: hold {i}: returning HSE_STATUS_PENDING", timeout=15)
        s.check(all(f"hold {i}: returning HSE_STATUS_PENDING" in log for i in range(held))
                and "hold 9: returning" in log,
                f"{held + 1} requests pending at once on 2 workers", log[-800:])
        gone.close()
        r = srv.get("/a.txt", timeout=10)
        s.check(r is not None and r.status == 200, "a static file is served meanwhile", repr(r))
        r = srv.get("/k.probe?keepconn", timeout=10)
        s.check(r is not None and r.status == 200 and r.body.startswith(b"keep="),
                "another extension request is served meanwhile", repr(r))
        # each extension thread now writes synchronously, then asynchronously; the
        # completion (delivered on a server thread) calls DONE_WITH_SESSION
        srv.release_holds()
        for i, c in enumerate(conns):
            r = c.response(timeout=30)
            s.check(r is not None and r.status == 200
                    and r.body == b"held %d sync\nheld %d async\n" % (i, i),
                    f"pending request {i} ends with its whole body", repr(r))
        conns[0].send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = conns[0].response(timeout=10)
        s.check(r is not None and r.status == 200, "its connection serves on (keep-alive)",
                repr(r))
    finally:
        for c in conns:
            c.close()
        gone.close()
    recs = srv.wait_access(held + 4, timeout=15)
    held_recs = [x for x in recs if x.get("cs-uri-query", "").startswith("hold=")]
    s.eq(sorted(x.get("cs-uri-query") for x in held_recs),
         sorted([f"hold={i}" for i in range(held)] + ["hold=9"]),
         "every pending request is logged once")
    s.check(all(x.get("sc-status") == "200" for x in held_recs
                if x.get("cs-uri-query") != "hold=9"), "with 200", repr(held_recs))
    # the request of the client that went away ends after DONE_WITH_SESSION, then its
    # connection: END_OF_REQUEST, LOG, END_OF_NET_SESSION once
    closes = held + 3
    trace = srv.wait_trace(0, lambda rs: sum(x.get("notify") == "END_OF_NET_SESSION"
                                             for x in rs) >= closes, timeout=15)
    mine = [v for v in harness.by_conn(trace).values()
            if any(x.get("notify") == "LOG" and x.get("pszParameters") == "hold=9" for x in v)]
    order = [x.get("notify") for x in mine[0]] if len(mine) == 1 else []
    s.check(order[-3:] == ["END_OF_REQUEST", "LOG", "END_OF_NET_SESSION"]
            and order.count("END_OF_NET_SESSION") == 1,
            "a client gone while pending: the request still ends, then END_OF_NET_SESSION once",
            repr(order))


STREAM_SIZE = 8 << 20
STREAM_DATA = bytes(i % 251 for i in range(251)) * (STREAM_SIZE // 251) \
    + bytes(i % 251 for i in range(STREAM_SIZE % 251))


def unread_conn(srv):
    """A client connection that reads nothing until told: its receive buffer does not grow
    while it does not read, and the socket buffers hold less than STREAM_SIZE (the check
    that the stream is still going when the other client is answered shows it)."""
    return srv.conn(timeout=60)


@suite.case
def async_writes_to_a_slow_client_hold_no_worker(s):
    # One worker. The extension streams 8 MiB in asynchronous writes, each started from
    # the previous one's completion (or from its own thread) while the client reads
    # nothing. A worker that waited for the client inside a write would serve nobody else.
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1"})
    for mode, query in (("completion callbacks", "stream=%d" % STREAM_SIZE),
                        ("the extension's thread", "stream=%d&thread" % STREAM_SIZE)):
        before = srv.probe_log().count("extprobe: stream done")
        slow = unread_conn(srv)
        try:
            slow.send(b"GET /s.probe?%s HTTP/1.1\r\nHost: x\r\n\r\n" % query.encode())
            r = srv.get("/k.probe?keepconn", timeout=20)
            still = srv.probe_log().count("extprobe: stream done") == before
            s.check(r is not None and r.status == 200 and r.body.startswith(b"keep=") and still,
                    f"{mode}: another client is answered while the slow one reads nothing",
                    repr(r)[:200] + " still streaming=%s" % still)
            r = slow.response(timeout=60)
            s.check(r is not None and r.status == 200 and len(r.body) == STREAM_SIZE
                    and r.body == STREAM_DATA,
                    f"{mode}: then the slow client reads every byte, in order",
                    repr(r)[:200])
            # (the first mode's line is there already: wait for this one's)
            done = "extprobe: stream done, %d bytes" % STREAM_SIZE
            deadline = time.monotonic() + 15
            while srv.probe_log().count(done) < before + 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            s.eq(srv.probe_log().count(done), before + 1,
                 f"{mode}: the completions report every byte")
            slow.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = slow.response(timeout=10)
            s.check(r is not None and r.status == 200, f"{mode}: the connection serves on",
                    repr(r))
        finally:
            slow.close()


@suite.case
def async_write_to_a_client_that_never_reads(s):
    # The client never reads: after send_timeout the parked write completes with
    # ERROR_TIMEOUT, the extension ends its session with HSE_STATUS_ERROR, the log says
    # why, and the server serves on. (The minimum rate is set so high that the bytes the
    # socket buffers took earn no time: the limit is send_timeout.)
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1",
                                        "send_timeout": "2",
                                        "min_bytes_per_second": "100000000"})
    slow = unread_conn(srv)
    try:
        slow.send(b"GET /s.probe?stream=%d HTTP/1.1\r\nHost: x\r\n\r\n" % STREAM_SIZE)
        log = srv.wait_probe("extprobe: stream failed, error", timeout=30)
        s.check("extprobe: stream failed, error 1460" in log,
                "the completion reports ERROR_TIMEOUT", log[-400:])
        s.check("asynchronous write" in srv.error_log()
                and "send_timeout" in srv.error_log(),
                "the server's log says why", srv.error_log()[-400:])
        r = srv.get("/a.txt", timeout=10)
        s.check(r is not None and r.status == 200, "the server serves on", repr(r))
        recs = srv.wait_access(2, timeout=15)
        mine = [x for x in recs if x.get("cs-uri-query", "").startswith("stream=")]
        s.check(len(mine) == 1 and mine[0].get("sc-status") == "500"
                and mine[0].get("sc-win32-status") == "1460",
                "the request is logged as failed with ERROR_TIMEOUT", repr(mine))
    finally:
        slow.close()


@suite.case
def stop_while_an_async_write_waits(s):
    # A stop while an asynchronous write waits for a client that reads nothing: the write
    # fails (the extension holds the request, so the connection is not simply closed), the
    # extension ends its session, and the server exits 0.
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1",
                                        "shutdown_timeout": "30"})
    slow = unread_conn(srv)
    try:
        slow.send(b"GET /s.probe?stream=%d HTTP/1.1\r\nHost: x\r\n\r\n" % STREAM_SIZE)
        r = srv.get("/k.probe?keepconn", timeout=20)   # served once the stream is parked
        s.check(r is not None and r.status == 200, "the stream waits for its client", repr(r))
        srv.proc.send_signal(signal.SIGINT if s.env.wine else signal.SIGTERM)
        log = srv.wait_probe("extprobe: stream failed, error", timeout=30)
        s.check("extprobe: stream failed, error 1460" in log,
                "the waiting write fails during the stop", log[-400:])
    finally:
        slow.close()
    check_stopped_cleanly(s, srv)


def wait_probe_count(srv, text, count, timeout=30.0):
    """Waits until extprobe reported the line `text` `count` times; returns the count."""
    deadline = time.monotonic() + timeout
    while srv.probe_log().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv.probe_log().count(text)


def chunk_frame(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


@suite.case
def async_reads_from_a_slow_client_hold_no_worker(s):
    # One worker, no read-ahead. The client sends its body in three pieces and sends the
    # next only once the extension reported the last one read (events, not time). While
    # it sends nothing, another client is answered: a worker that waited for the body
    # inside HSE_REQ_ASYNC_READ_CLIENT would serve nobody else.
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1",
                                        "upload_read_ahead": "0"})
    piece = 10000
    body = bytes((i * 7 + i // 13) & 0xff for i in range(3 * piece))
    pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
    for mode, query, chunked in (("completion callbacks, Content-Length", "asyncread&tell",
                                  False),
                                 ("the extension's thread, chunked", "asyncread&tell&thread",
                                  True)):
        slow = srv.conn(timeout=60)
        try:
            head = b"POST /r.probe?%s HTTP/1.1\r\nHost: x\r\n" % query.encode()
            head += (b"Transfer-Encoding: chunked\r\n\r\n" if chunked
                     else b"Content-Length: %d\r\n\r\n" % len(body))
            lines = ["extprobe: asyncread total %d" % ((i + 1) * piece) for i in range(3)]
            log = srv.probe_log()
            before = [log.count(line) for line in lines]
            slow.send(head)
            for i, p in enumerate(pieces):
                slow.send(chunk_frame(p) if chunked else p)
                got = wait_probe_count(srv, lines[i], before[i] + 1)
                if not s.eq(got, before[i] + 1, f"{mode}: piece {i + 1} read"):
                    return
                if i == len(pieces) - 1:
                    break
                r = srv.get("/k.probe?keepconn", timeout=20)
                s.check(r is not None and r.status == 200 and r.body.startswith(b"keep="),
                        f"{mode}: another client is answered while the body waits "
                        f"(after piece {i + 1})", repr(r)[:200])
            if chunked:
                slow.send(b"0\r\n\r\n")
            r = slow.response(timeout=30)
            f = fields(r.body) if r is not None else {}
            s.eq((f.get("len"), f.get("hash"), f.get("err")), (str(len(body)), fnv(body), "0"),
                 f"{mode}: every byte in order, then the end of the body (0 bytes, no error)")
            s.eq(f.get("reentered"), "0", f"{mode}: no completion inside the call")
            slow.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = slow.response(timeout=10)
            s.check(r is not None and r.status == 200, f"{mode}: the connection serves on",
                    repr(r))
        finally:
            slow.close()


@suite.case
def async_read_from_a_client_that_goes_away(s):
    # The client closes in the middle of its body while an asynchronous read waits: the
    # read completes with ERROR_NETNAME_DELETED (64), the extension ends its session, and
    # the only worker serves on. Then one that stops sending: ERROR_TIMEOUT (1460) after
    # body_timeout (the minimum rate is set so high that the bytes read earn no time).
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1",
                                        "upload_read_ahead": "0", "body_timeout": "2",
                                        "min_bytes_per_second": "100000000"})
    for what, error in (("closes", "64"), ("stops sending", "1460")):
        ended = "extprobe: asyncread ended, error %s" % error
        first = "extprobe: asyncread total 7000"
        log = srv.probe_log()
        before, before_first = log.count(ended), log.count(first)
        c = srv.conn(timeout=30)
        try:
            c.send(b"POST /r.probe?asyncread&tell HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 100000\r\n\r\n" + b"x" * 7000)
            s.eq(wait_probe_count(srv, first, before_first + 1), before_first + 1,
                 f"a client that {what}: its first bytes are read")
            if error == "64":
                c.close()
            s.eq(wait_probe_count(srv, ended, before + 1), before + 1,
                 f"a client that {what}: the waiting read completes with error {error}")
            if error == "1460":
                try:
                    c.read_until_close(10)
                    closed = True
                except (TimeoutError, socket.timeout):
                    closed = False
                s.check(closed, "... and the connection closes", "")
        finally:
            c.close()
        r = srv.get("/a.txt", timeout=10)
        s.check(r is not None and r.status == 200, f"a client that {what}: the server serves on",
                repr(r))
    s.check("asynchronous read" in srv.error_log() and "body_timeout" in srv.error_log()
            and "closed before the end of the body" in srv.error_log(),
            "the server's log says why each read failed", srv.error_log()[-400:])
    recs = srv.wait_access(4, timeout=15)
    mine = [x for x in recs if x.get("cs-uri-query", "").startswith("asyncread")]
    s.check(len(mine) == 2 and mine[1].get("sc-win32-status") == "1460",
            "the timed-out request is logged with ERROR_TIMEOUT", repr(mine))


@suite.case
def stop_while_an_async_read_waits(s):
    # A stop while an asynchronous read waits for a body that does not come: the read
    # fails with ERROR_TIMEOUT (the extension holds the request, so the connection is not
    # simply closed), the extension ends its session, and the server exits 0.
    srv = ext_server(s, MAPS, settings={"workers": "1", "concurrency": "1",
                                        "upload_read_ahead": "0", "shutdown_timeout": "30"})
    c = srv.conn(timeout=30)
    try:
        c.send(b"POST /r.probe?asyncread&tell HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 100000\r\n\r\n" + b"x" * 7000)
        s.eq(wait_probe_count(srv, "extprobe: asyncread total 7000", 1), 1,
             "the first bytes are read, the read waits for more")
        srv.proc.send_signal(signal.SIGINT if s.env.wine else signal.SIGTERM)
        log = srv.wait_probe("extprobe: asyncread ended, error", timeout=30)
        s.check("extprobe: asyncread ended, error 1460" in log,
                "the waiting read fails during the stop", log[-400:])
    finally:
        c.close()
    check_stopped_cleanly(s, srv)


@suite.case
def async_read_left_waiting_by_a_synchronous_return(s):
    # HttpExtensionProc starts an asynchronous read and returns HSE_STATUS_SUCCESS: the
    # request ends, and the read completes with ERROR_OPERATION_ABORTED (995) before the
    # control block goes, without a byte written to a buffer that may be gone.
    srv = ext_server(s, MAPS, settings={"upload_read_ahead": "0"})
    with srv.conn(timeout=30) as c:
        post(c, "/r.probe?asyncread&nopending", b"y" * 20000)
        r = c.response(timeout=30)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("len"), f.get("err")), ("0", "995"),
             "the completion: 0 bytes, ERROR_OPERATION_ABORTED")
    s.check("extprobe: asyncread ended, error 995" in srv.wait_probe("asyncread ended"),
            "the callback ran once the request ended", srv.probe_log()[-300:])
    r = srv.get("/a.txt", timeout=10)
    s.check(r is not None and r.status == 200, "the server serves on", repr(r))


@suite.case
def async_read_uploads(s):
    # Large bodies through asynchronous reads only: Content-Length and chunked, the reads
    # from the completions and from the extension's thread; READ_RAW_DATA sees every byte.
    srv = ext_server(s, MAPS, filters=["trace"])
    body = bytes((i * 31 + i // 7) & 0xff for i in range(1_000_000))
    with srv.conn(timeout=60) as c:
        post(c, "/r.probe?asyncread", body)
        r = c.response(timeout=60)
        f = fields(r.body) if r is not None else {}
        s.eq((f.get("len"), f.get("hash"), f.get("err")), (str(len(body)), fnv(body), "0"),
             "1 MB body, Content-Length: every byte in order")
    recs = srv.wait_trace(0, lambda rs: sum(x.get("notify") == "LOG" for x in rs) >= 1,
                          timeout=15)
    raw_in = sum(int(x.get("cbInData", 0)) for x in recs if x.get("notify") == "READ_RAW_DATA")
    s.check(raw_in >= len(body), "READ_RAW_DATA saw the whole body as it was read",
            f"{raw_in} bytes")
    srv.stop()
    big = body * 8
    srv = ext_server(s, MAPS)
    with srv.conn(timeout=120) as c:
        for query, chunked, what in (("asyncread", False, "8 MB, Content-Length, completions"),
                                     ("asyncread&thread", True, "8 MB, chunked, thread")):
            post(c, "/r.probe?" + query, big, chunked=chunked)
            r = c.response(timeout=120)
            f = fields(r.body) if r is not None else {}
            s.eq((f.get("len"), f.get("hash"), f.get("err")), (str(len(big)), fnv(big), "0"),
                 f"{what}: every byte in order")
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=10)
        s.check(r is not None and r.status == 200, "the connection serves on", repr(r))


@suite.case
def stop_while_pending(s):
    # A stop waits for a pending request as for one in progress: the extension ends it
    # after the stop began, its client gets the whole body, and the server exits 0.
    srv = ext_server(s, MAPS, settings={"workers": "2", "concurrency": "1",
                                        "shutdown_timeout": "30"})
    with srv.conn(timeout=30) as c:
        c.send(b"GET /h.probe?hold=7 HTTP/1.1\r\nHost: x\r\n\r\n")
        log = srv.wait_probe("extprobe: hold 7: returning HSE_STATUS_PENDING", timeout=15)
        s.check("hold 7: returning" in log, "the request is pending", log[-400:])
        srv.proc.send_signal(signal.SIGINT if s.env.wine else signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "shutting down" not in srv.error_log():
            time.sleep(0.02)
        s.check("shutting down" in srv.error_log(), "the stop began", srv.error_log()[-400:])
        srv.release_holds()
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == b"held 7 sync\nheld 7 async\n",
                "the pending request ends with its whole body during the stop", repr(r))
    check_stopped_cleanly(s, srv)


FILE_DATA = bytes((i * 7 + (i >> 8)) & 0xff for i in range(300_000))


def tf_site():
    site = dict(harness.SITE)
    site["files/tf.bin"] = FILE_DATA
    return site


@suite.case
def transmit_file_and_vector_files(s):
    srv = ext_server(s, MAPS, site=tf_site())
    whole = len(FILE_DATA)
    with srv.conn(timeout=30) as c:
        # as IIS wants it: HSE_IO_ASYNC with HSE_IO_SEND_HEADERS, the whole file
        c.send(b"GET /f.probe?transmit=/files/tf.bin&hdr&async&own HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == FILE_DATA
                and r.header("Content-Type") == "application/octet-stream",
                "TRANSMIT_FILE, async, SEND_HEADERS: the header block from pszStatusCode and "
                "pHead, then the whole file", repr(r)[:300])
        # synchronous, head and tail buffers around a slice, the header block sent before
        c.send(b"GET /f.probe?transmit=/files/tf.bin&head&tail&off=1000&len=5000 HTTP/1.1\r\n"
               b"Host: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200
                and r.body == b"<head>" + FILE_DATA[1000:6000] + b"<tail>\n",
                "TRANSMIT_FILE, sync: pHead, Offset/BytesToWrite, pTail", repr(r)[:300])
        # the callback of HSE_REQ_IO_COMPLETION, BytesToWrite 0: to the end of the file
        c.send(b"GET /f.probe?transmit=/files/tf.bin&hdr&async&off=299990 HTTP/1.1\r\n"
               b"Host: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == FILE_DATA[299990:],
                "TRANSMIT_FILE: BytesToWrite 0 sends to the end; the request's callback",
                repr(r)[:300])
        # an offset past the end: refused before anything is sent (WSAEINVAL, as IIS 6)
        c.send(b"GET /f.probe?transmit=/files/tf.bin&hdr&async&off=400000 HTTP/1.1\r\n"
               b"Host: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and fields(r.body).get("failed") == "10022",
                "TRANSMIT_FILE past the end of the file: FALSE, WSAEINVAL", repr(r)[:300])
        # VECTOR_SEND with a file-handle element between memory elements, sync and async
        c.send(b"GET /f.probe?vectorfile=/files/tf.bin&off=10&len=20 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == b"[" + FILE_DATA[10:30] + b"]\n",
                "VECTOR_SEND: a file-handle element with cbOffset and cbSize", repr(r)[:300])
        c.send(b"GET /f.probe?vectorfile=/files/tf.bin&async HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200 and r.body == b"[" + FILE_DATA + b"]\n",
                "VECTOR_SEND, async: cbSize 0 sends the whole file", repr(r)[:300])
        # every response above was framed: one connection served them all
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        s.check(r is not None and r.status == 200, "keep-alive across file sends", repr(r))
    log = srv.wait_probe("file send completed, error")
    head = f"Content-Type: application/octet-stream\r\nContent-Length: {whole}\r\n\r\n"
    s.check(f"file send completed, {len(head) + whole} bytes" in log,
            "the completion's cbIO: the head and the file bytes sent", log[-800:])
    s.check("file send completed, error 0" in log and "error 10022" not in log,
            "completions without error; the refused call got none", log[-800:])
    # HSE_IO_DISCONNECT_AFTER_SEND: the response, then the server closes
    r, closed = conn_outcome(srv, "/f.probe?transmit=/files/tf.bin&hdr&async&disc&len=100")
    s.check(r is not None and r.body == FILE_DATA[:100]
            and (r.header("Connection") or "").lower() == "close" and closed,
            "HSE_IO_DISCONNECT_AFTER_SEND: Connection: close, and the connection closes",
            repr(r)[:300])
    # the bytes pass the SEND_RAW_DATA filters, as WriteClient data
    tsrv = ext_server(s, MAPS, filters=["trace"], site=tf_site())
    r = tsrv.get("/f.probe?transmit=/files/tf.bin&hdr&async&off=100&len=70000&tail")
    s.check(r is not None and r.body == FILE_DATA[100:70100] + b"<tail>\n",
            "TRANSMIT_FILE with a SEND_RAW_DATA filter", repr(r)[:300])
    recs = tsrv.wait_trace(0, lambda rs: any(x.get("notify") == "LOG" for x in rs), timeout=15)
    raw = [int(x.get("cbInData", 0)) for x in recs if x.get("notify") == "SEND_RAW_DATA"]
    s.check(len(raw) >= 2 and sum(raw[1:]) == 70000 + len(b"<tail>\n"),
            "SEND_RAW_DATA: the header block, then every file and tail byte", repr(raw))


def peak_rss_kib(pid):
    """VmHWM of a process (Linux), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@suite.case
def async_transmit_file_streams(s):
    # An asynchronous TRANSMIT_FILE, then a VECTOR_SEND with the file between two buffers,
    # of a 48 MiB file, far more than the output queue takes of it at once, to a client
    # that reads nothing at first: the only worker serves another client meanwhile, then
    # every byte arrives in order, the completion counts them, and (natively) the serving
    # process's peak memory grows by far less than the file.
    size = 48 << 20
    data = STREAM_DATA * (size // STREAM_SIZE)
    site = dict(harness.SITE)
    site["files/big.bin"] = data
    srv = ext_server(s, MAPS, site=site, settings={"workers": "1", "concurrency": "1"})
    pid = srv.serving_pid()
    measure = (not s.env.wine and not s.env.winelib
               and not os.environ.get("ISAPIHOST_SANITIZE") and peak_rss_kib(pid) is not None)
    before = peak_rss_kib(pid) if measure else None
    head = f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    for what, query, want, count in (
            ("TRANSMIT_FILE", "transmit=/files/big.bin&hdr&async", data, len(head) + size),
            ("VECTOR_SEND", "vectorfile=/files/big.bin&async", b"[" + data + b"]\n", size + 3)):
        done = "extprobe: file send completed, %d bytes" % count
        slow = unread_conn(srv)
        try:
            slow.send(b"GET /b.probe?%s HTTP/1.1\r\nHost: x\r\n\r\n" % query.encode())
            r = srv.get("/k.probe?keepconn", timeout=20)
            s.check(r is not None and r.status == 200, f"{what}: another client is answered "
                    "meanwhile", repr(r)[:200])
            r = slow.response(timeout=120)
            s.check(r is not None and r.status == 200 and len(r.body) == len(want)
                    and r.body == want, f"{what}: every byte, in order", repr(r)[:200])
            slow.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = slow.response(timeout=10)
            s.check(r is not None and r.status == 200, f"{what}: the connection serves on",
                    repr(r))
        finally:
            slow.close()
        s.eq(wait_probe_count(srv, done, 1, timeout=15), 1,
             f"{what}: the completion counts every byte")
    log = srv.probe_log()
    s.check(log.count("file send completed, error ") == log.count("file send completed, error 0")
            == 2, "completions without error", log[-400:])
    if not measure:
        s.skip("peak memory", "measured natively without sanitizers only (VmHWM of the "
               "serving process)")
        return
    grown = peak_rss_kib(pid) - before
    s.check(grown < 16 * 1024, "the server's peak memory grew by less than 16 MiB for two "
            "sends of a 48 MiB file", f"{grown} KiB")


class Backend:
    """A back end on 127.0.0.1 for the connector: answers every request with what it
    received (method, target, a header, the body's length and hash), with Content-Length;
    /backend/big answers 300,000 bytes."""

    def __init__(self):
        import http.server
        import threading
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append((self.command, self.path, dict(self.headers)))
                if self.path.startswith("/backend/big"):
                    out = bytes((i * 13) & 0xff for i in range(300_000))
                else:
                    hdrs = ",".join(sorted(k.lower() for k in self.headers.keys()))
                    out = (f"method={self.command}\npath={self.path}\nlen={len(body)}\n"
                           f"hash={fnv(body)}\nx-test={self.headers.get('X-Test')}\n"
                           f"headers={hdrs}\n").encode()
                self.send_response(200 if "missing" not in self.path else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("X-Backend", "yes")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_HEAD = answer

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def ecbshow_server(s, **kw):
    """A server with the ecbshow sample mapped to ".show"."""
    srv = ExtServer(s, sections={}, start=False, **kw)
    s.servers.append(srv)
    dst = os.path.join(srv.fdir, "ecbshow" + s.env.ext)
    shutil.copy(s.env.filter_file("ecbshow"), dst)
    srv.sections["script_maps"] = [f".show = {s.env.spath(dst)},1"]
    srv.start()
    return srv


def page_row(body, name):
    """The value of one row of ecbshow's tables."""
    m = re.search(rb"<tr><th>" + re.escape(name.encode()) + rb"</th><td>(.*?)</td></tr>", body)
    return m.group(1).decode("latin-1") if m else None


@suite.case
def ecbshow_sample(s):
    # The sample's README: a GET answered synchronously, a POST read with asynchronous
    # reads and answered with an asynchronous write, both keeping the connection.
    srv = ecbshow_server(s)
    body = bytes(0x41 + (i * 7) % 26 for i in range(300000))
    with srv.conn(timeout=60) as c:
        c.send(b"GET /anything.show/extra?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200, "GET: 200", repr(r)[:200])
        if r is None:
            return
        s.eq((page_row(r.body, "lpszMethod"), page_row(r.body, "lpszQueryString"),
              page_row(r.body, "lpszPathInfo"), page_row(r.body, "cbTotalBytes")),
             ("GET", "x=1", "/anything.show/extra", "0"), "GET: the control block shown")
        for mode, chunked in (("Content-Length", False), ("chunked", True)):
            post(c, "/upload.show", body, chunked=chunked)
            r = c.response(timeout=60)
            s.check(r is not None and r.status == 200,
                    f"POST of {len(body)} bytes, {mode}: 200", repr(r)[:200])
            if r is None:
                return
            s.eq(page_row(r.body, "bytes received"), str(len(body)),
                 f"POST, {mode}: every byte read (read-ahead, then asynchronous reads)")
            s.check(body[:4096] in r.body, f"POST, {mode}: the body's first 4 KiB shown",
                    r.body[-300:])
            s.eq(r.header("Content-Length"), str(len(r.body)),
                 f"POST, {mode}: the page framed by its Content-Length")
        c.send(b"GET /again.show HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(timeout=30)
        s.check(r is not None and r.status == 200,
                "the connection serves on after the asynchronous requests", repr(r)[:200])
    # A client that goes away in the middle of its upload ends that request only.
    with srv.conn(timeout=30) as c:
        c.send(b"POST /gone.show HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
               + body[:100000])
    r = srv.get("/after.show", timeout=30)
    s.check(r is not None and r.status == 200, "a client gone mid-upload: the next is served",
            repr(r)[:200])


@suite.case
def ecbshow_upload_holds_no_worker(s):
    # One worker, no read-ahead, the trace filter. The upload's head goes first; the first
    # half of its body only once READ_RAW_DATA shows the head read, and another client is
    # answered once the trace shows that half read too (the sample has it and waits for
    # the rest): a sample that read with a synchronous ReadClient would hold the only
    # worker until the rest came, and that client would not be answered.
    srv = ecbshow_server(s, filters=["trace"], settings={"workers": "1", "concurrency": "1",
                                                         "upload_read_ahead": "0"})
    half = 20000
    body = bytes(0x61 + (i * 5) % 26 for i in range(2 * half))
    head = b"POST /up.show HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)

    def raw_in(recs):
        return sum(int(x.get("cbInData", 0)) for x in recs if x.get("notify") == "READ_RAW_DATA")

    mark = len(srv.trace())
    slow = srv.conn(timeout=60)
    try:
        slow.send(head)
        recs = srv.wait_trace(mark, lambda rs: raw_in(rs) >= len(head), timeout=30)
        if not s.check(raw_in(recs) >= len(head), "the upload's head read", raw_in(recs)):
            return
        slow.send(body[:half])
        recs = srv.wait_trace(mark, lambda rs: raw_in(rs) >= len(head) + half, timeout=30)
        if not s.check(raw_in(recs) >= len(head) + half, "the first half read by the sample",
                       raw_in(recs)):
            return
        r = srv.get("/a.txt", timeout=20)
        s.check(r is not None and r.status == 200,
                "another client is answered while the upload waits for its second half",
                repr(r)[:200])
        slow.send(body[half:])
        r = slow.response(timeout=60)
        s.check(r is not None and page_row(r.body, "bytes received") == str(len(body))
                and body[:4096] in r.body, "then the whole upload is shown", repr(r)[:200])
    finally:
        slow.close()


def connector_server(s, port):
    # Under Wine the connector built with a plain mingw command line and its .def runs.
    name = "connector_plain" if s.env.wine else "connector"
    ini = (f"[connector]\nprefix = /backend/\ntarget = /connector.relay\n"
           f"host = 127.0.0.1\nport = {port}\n")
    srv = ExtServer(s, sections={}, filters=[name], ini={name: ini}, start=False)
    s.servers.append(srv)
    srv.sections["script_maps"] = [f".relay = {s.env.spath(srv.filter_paths[0])},1"]
    srv.start()
    return srv


@suite.case
def connector_relays_get_and_post(s):
    be = Backend()
    try:
        srv = connector_server(s, be.port)
        body = bytes((i * 7) & 0xff for i in range(200_000))
        with srv.conn(timeout=30) as c:
            c.send(b"GET /backend/hello?x=1 HTTP/1.1\r\nHost: x\r\nX-Test: passed\r\n\r\n")
            r = c.response(timeout=30)
            if not s.check(r is not None and r.status == 200, "GET relayed: 200", repr(r)):
                return
            f = fields(r.body)
            s.eq(f.get("method"), "GET", "the back end saw the method")
            s.eq(f.get("path"), "/backend/hello?x=1", "the back end saw the original URL")
            s.eq(f.get("x-test"), "passed", "client headers are forwarded")
            s.check("x-connector-uri" not in f.get("headers", "") and "connection" in f.get("headers", ""),
                    "the connector's own header is not forwarded", f.get("headers"))
            s.eq(r.header("X-Backend"), "yes", "the back end's headers come back")
            post(c, "/backend/upload", body)
            r = c.response(timeout=30)
            f = fields(r.body) if r is not None else {}
            s.eq((f.get("method"), f.get("len"), f.get("hash")), ("POST", "200000", fnv(body)),
                 "POST relayed with its whole body, on the same connection (keep-alive)")
            c.send(b"GET /backend/big HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.response(timeout=30)
            s.check(r is not None and len(r.body) == 300_000
                    and r.body == bytes((i * 13) & 0xff for i in range(300_000)),
                    "a 300 kB answer relayed whole", repr(r)[:300])
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.response()
            s.check(r is not None and r.body == b"first file\n",
                    "a URL outside the prefix is the server's own", repr(r))
        r = srv.get("/connector.relay")
        s.check(r is not None and r.status == 404, "the target URL itself relays nothing", repr(r))
        r = srv.get("/backend/missing")
        s.check(r is not None and r.status == 404 and r.header("X-Backend") == "yes",
                "the back end's status comes back", repr(r))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
                "relayed=1" in x.get("cs-uri-query", "") for x in srv.access_log()):
            time.sleep(0.02)
        s.check(any("relayed=1" in x.get("cs-uri-query", "") for x in srv.access_log()),
                "lpszLogData reaches the W3C log", repr(srv.access_log()[-2:]))
    finally:
        be.close()
    srv2 = connector_server(s, be.port)
    r = srv2.get("/backend/x")
    s.check(r is not None and r.status == 502, "the back end down: 502", repr(r))


if __name__ == "__main__":
    suite.run()
