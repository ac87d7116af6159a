"""test_server.py - the server's own behaviour (issue "The server").

--check with good and bad configurations (exit codes, the one-line messages naming the
file, the setting and the reason), a filter file that does not exist, a filter that
declines in GetFilterVersion, malformed requests (each refused with its status while the
server keeps serving), an IPv6 listener on [::1], and a ",secure" listener as the filters
see it through server variables.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Conn, Suite, run_server_once  # noqa: E402

suite = Suite("integration_server")


def check_run(t, s, extra_lines, what):
    """Writes s's INI plus extra [server] lines, runs --check; returns (rc, out, err, ini as
    the server names it, line number of the first extra line)."""
    ini = s.write_ini()
    with open(ini) as f:
        text = f.read()
    head, _, tail = text.partition("[filters]")
    with open(ini, "w") as f:
        f.write(head + "".join(l + "\n" for l in extra_lines) + "[filters]" + tail)
    rc, out, err = run_server_once(s.env, ["--config", s.env.spath(ini), "--check"])
    return rc, out, err, s.env.spath(ini), head.count("\n") + 1


def one_line(t, err, what):
    lines = [l for l in err.replace("\r\n", "\n").split("\n") if l]
    t.check(len(lines) == 1, f"{what}: one line",
            f"got {len(lines)} line(s) on stderr: {err[-2000:]!r}")
    return lines[0] if lines else ""


@suite.case
def check_good(t):
    s = t.server(filters=["trace", "writer"], start=False)
    rc, out, err, _, _ = check_run(t, s, [], "good")
    t.eq(rc, 0, "--check of a good configuration: exit 0")
    t.check("configuration OK: 1 listener(s), 2 filter(s) loaded" in out, "says so", out + err)


@suite.case
def check_bad_settings(t):
    cases = [
        (["bogus = 1"], "bogus", "unknown setting"),
        (["workers = many"], "workers", "expected a whole number"),
        (["listen = 127.0.0.1:http"], "listen", "the port must be a number"),
        (["http09 = maybe"], "http09", "expected strict or http10"),
        (["keepalive_timeout = 0"], "keepalive_timeout", "from 1 to 86400"),
    ]
    for extra, setting, reason in cases:
        s = t.server(start=False)
        rc, out, err, ini, nline = check_run(t, s, extra, setting)
        t.eq(rc, 1, f"{setting}: exit 1")
        line = one_line(t, err, setting)
        if not line:
            print(f"  {setting}: exit {rc}, stdout {out[-2000:]!r}", flush=True)
        t.check(line.startswith(f"isapihost: {ini}:{nline}: {setting}: ") and reason in line,
                f"{setting}: file:line: setting: reason", line)


@suite.case
def check_bad_root(t):
    s = t.server(start=False, settings={"root": t.env.spath("/nonexistent/site")})
    rc, out, err, ini, _ = check_run(t, s, [], "root")
    t.eq(rc, 1, "missing root: exit 1")
    line = one_line(t, err, "root")
    t.check(line.startswith(f"isapihost: {ini}") and "root" in line and "does not exist" in line,
            "names the file, the setting and the reason", line)


@suite.case
def missing_filter_file(t):
    s = t.server(start=False)
    ghost = t.env.spath(os.path.join(s.dir, "filters", "ghost" + t.env.ext))
    ini = s.write_ini()
    with open(ini, "a") as f:
        f.write(f"ghost = {ghost}\n")
    rc, out, err = run_server_once(t.env, ["--config", t.env.spath(ini), "--check"])
    t.eq(rc, 1, "missing filter: exit 1")
    line = one_line(t, err, "missing filter")
    t.check(ghost in line, "names the file", line)
    t.check(len(line) > len(ghost) + 20, "and carries the error text", line)


@suite.case
def declining_filter(t):
    s = t.server(filters=["trace", "writer"], start=False,
                 env={"ISAPI_TRACE_FILE": t.env.spath("/nonexistent/dir/t.log")})
    ini = s.write_ini()
    rc, out, err = run_server_once(t.env, ["--config", t.env.spath(ini), "--check"],
                                   extra_env=s.extra_env)
    t.eq(rc, 0, "a filter that declines does not stop the server")
    t.check("1 filter(s) loaded" in out, "runs without it", out)
    t.check("trace" in err + s.error_log(), "a warning names it", err + s.error_log())


@suite.case
def port_in_use(t):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        s = t.server(start=False, listen=[f"127.0.0.1:{port}"])
        rc, out, err, ini, _ = check_run(t, s, [], "listen")
        t.eq(rc, 1, "port in use: exit 1")
        line = one_line(t, err, "port in use")
        t.check(f"listen: 127.0.0.1:{port}: " in line and ini in line, "names the listener", line)
    finally:
        busy.close()


MALFORMED = [
    (400, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", "header without colon"),
    (405, b"DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "DELETE on a static file"),
    (411, b"POST /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "POST without a length"),
    (413, b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", "body over max_body"),
    (414, b"GET /" + b"u" * 1100 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "request line over the limit"),
    (431, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 3000 + b"\r\n\r\n", "header too big"),
    (501, b"BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "unknown method"),
    (505, b"GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/2.0 request line"),
]


@suite.case
def malformed_requests(t):
    s = t.server(settings={"max_body": "1000", "max_request_line": "1024",
                           "max_header_bytes": "2048"})
    for status, data, what in MALFORMED:
        with s.conn() as c:
            c.send(data)
            r = c.response(timeout=5)
            t.eq(r.status if r else None, status, what)
            # Refused while parsing: answered with Connection: close, as HTTP.sys does.
            if status in (400, 411, 413, 414, 431, 505):
                t.check(c.closed_by_server(3), f"{what}: connection closed")
        r = s.get("/a.txt")
        t.eq((r.status, r.body) if r else None, (200, SITE["a.txt"]), f"serving after {status}")
    statuses = [a.get("sc-status") for a in s.wait_access(2 * len(MALFORMED))]
    t.eq(sorted(x for x in statuses if x != "200"), sorted(str(m[0]) for m in MALFORMED),
         "each refusal has its W3C line")


@suite.case
def ipv6_listener(t):
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError as e:
        t.skip("IPv6 listener", f"::1 is not available here ({e})")
        return
    s = t.server(filters=["trace"], listen=["127.0.0.1:0", "[::1]:0"])
    t.eq(len(s.ports), 2, "two ports in the port file")
    with Conn(s.ports[1], host="::1", family=socket.AF_INET6) as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
        r = c.response()
    t.eq((r.status, r.body) if r else None, (200, SITE["a.txt"]), "served over IPv6")
    recs = s.wait_closed_conns(0)
    t.check(recs and recs[0][0].get("sv.REMOTE_ADDR") == "::1", "REMOTE_ADDR ::1",
            str(recs[0][0] if recs else None))
    acc = s.wait_access(1)
    t.check(acc and acc[-1].get("c-ip") == "::1", "W3C c-ip ::1", str(acc))


@suite.case
def secure_listener(t):
    s = t.server(filters=["writer", "trace"], listen=["127.0.0.1:0", "127.0.0.1:0,secure"])
    plain = s.get("/writer/index.html?v", port=s.ports[0])
    sec = s.get("/writer/index.html?v", port=s.ports[1])
    t.eq((plain.header("X-Sv-HTTPS"), plain.header("X-Sv-Server-Port-Secure")), ("off", "0"),
         "plain listener: HTTPS=off, SERVER_PORT_SECURE=0")
    t.eq((sec.header("X-Sv-HTTPS"), sec.header("X-Sv-Server-Port-Secure")), ("on", "1"),
         "secure listener: HTTPS=on, SERVER_PORT_SECURE=1")
    conns = s.wait_closed_conns(0, 2)
    t.eq(sorted({r["secure"] for r in c} == {"1"} for c in conns), [False, True],
         "fIsSecurePort in every notification of the secure connection only")


if __name__ == "__main__":
    suite.run()
