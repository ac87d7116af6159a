"""harness.py - runs the real isapihost binary on 127.0.0.1 for the integration tests.

One test script = one Suite. The suite reads its command line (written by
tests/integration/CMakeLists.txt): the flavour (native, wine32, wine64, winelib32,
winelib64), the server binary,
the folders holding the sample filters and the test filters, the source tree, and for the
Windows flavours the Wine runner and the build tree's prefix. Cases are plain functions
registered with @suite.case; each check is counted, and the script ends with one line
"<name>: N passed, M failed" and a non-zero exit status on failure.

A Server writes an INI file into its own temporary folder (site, logs, port file, trace
file and copies of the filters with their settings files all live there), starts the
server, waits for the port file, and always stops it: gracefully first (SIGTERM natively;
SIGINT under Wine, which Wine turns into the console's Ctrl+C event, so the server's
console handler runs its graceful shutdown - SIGTERM would end the Wine process at once),
then by killing its process group when the graceful stop does not finish in time.
Under Wine every path the server sees is written in its Z:\\ form. The Winelib server
(winelib32/64) is a Linux program that loads the DLLs through Wine: it takes Linux paths
and stops on SIGTERM like the native one, runs under its launcher (win32/isapihost-wine,
given as --wine-run), and its filters see Z:\\ paths (fpath).

Filters are copied into the server's folder because a filter finds its .ini beside its own
DLL: a copy lets a test give it other settings without touching the build tree.

Clients: raw sockets (Conn: send bytes, read one parsed response, read until close) and
curl. Logs: the error log as text, the W3C access log as dicts keyed by #Fields names, and
the trace sample's lines as dicts (values percent-decoded). The [admin] listener: its port,
one request to it, and /metrics read as {series: value}; wait_for polls a condition.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

WINE = ("wine32", "wine64")
WINELIB = ("winelib32", "winelib64")


# ---- configuration of the run ---------------------------------------------------------

class Env:
    """What the CMake test line told us about the build tree under test."""

    def __init__(self, argv=None):
        ap = argparse.ArgumentParser()
        ap.add_argument("--flavour", choices=("native",) + WINE + WINELIB, required=True)
        ap.add_argument("--server", required=True, help="isapihost or isapihost.exe")
        ap.add_argument("--samples", required=True, help="folder of the sample filters")
        ap.add_argument("--test-filter", action="append", default=[],
                        help="path of a test filter (repeatable)")
        ap.add_argument("--source", required=True, help="the source tree")
        ap.add_argument("--wine-run", default="", help="win32/wine-run.sh")
        ap.add_argument("--prefix", default="", help="the build tree's Wine prefix")
        ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
        ap.add_argument("-k", dest="only", default="", help="run only cases matching this")
        a = ap.parse_args(argv)
        self.flavour = a.flavour
        self.wine = a.flavour in WINE
        self.winelib = a.flavour in WINELIB
        self.server = os.path.abspath(a.server)
        self.samples = os.path.abspath(a.samples)
        self.test_filters = {os.path.splitext(os.path.basename(p))[0]: os.path.abspath(p)
                             for p in a.test_filter}
        self.source = os.path.abspath(a.source)
        self.wine_run = a.wine_run
        self.prefix = a.prefix
        self.keep = a.keep
        self.only = a.only
        self.ext = ".dll" if self.wine or self.winelib else ".so"
        # Generous: the first start of a Wine prefix creates it (20 s and more).
        self.start_timeout = 120.0 if self.wine or self.winelib else 15.0

    def spath(self, path):
        """A path as the server sees it: Z:\\... under Wine."""
        path = os.path.abspath(path)
        if self.wine:
            return "Z:" + path.replace("/", "\\")
        return path

    def fpath(self, path):
        """A path as the filters see it: Z:\\... whenever they are Windows DLLs."""
        if self.winelib:
            return "Z:" + os.path.abspath(path).replace("/", "\\")
        return self.spath(path)

    def filter_file(self, name):
        """The built filter `name`: a sample or a test filter."""
        if name in self.test_filters:
            return self.test_filters[name]
        return os.path.join(self.samples, name + self.ext)

    def server_command(self, args):
        if self.winelib:
            bits = self.flavour[-2:]
            return ["env", f"WINEPREFIX={self.prefix}", f"ISAPIHOST_WINELIB{bits}={self.server}",
                    self.wine_run] + args
        if self.wine:
            return [self.wine_run, "--prefix", self.prefix, "--timeout", "900",
                    self.server] + args
        return [self.server] + args


# ---- the suite ------------------------------------------------------------------------

class Suite:
    def __init__(self, name):
        self.name = name
        self.env = Env()
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.cases = []
        self.current = ""
        self.servers = []

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def check(self, cond, what, detail=""):
        """One counted assertion; returns cond so a case can stop early."""
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            msg = f"FAIL [{self.current}] {what}"
            if detail:
                msg += f": {detail}"
            print(msg, flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")

    def skip(self, what, why):
        self.skipped += 1
        print(f"SKIP [{self.current}] {what}: {why}", flush=True)

    def server(self, **kw):
        s = Server(self, **kw)
        self.servers.append(s)
        return s

    def run(self):
        t0 = time.monotonic()
        for fn in self.cases:
            if self.env.only and self.env.only not in fn.__name__:
                continue
            self.current = fn.__name__
            t = time.monotonic()
            try:
                fn(self)
            except Exception:
                self.failed += 1
                print(f"FAIL [{self.current}] exception:\n{traceback.format_exc()}", flush=True)
            finally:
                # Every server must stop gracefully with exit status 0: a crash, a hang in
                # shutdown or a sanitizer report fails the case that ran it.
                for s in self.servers:
                    if s.proc is None:
                        continue
                    rc = s.stop()
                    self.check(rc == 0, "server stopped gracefully with exit status 0",
                               f"exit {rc}; stderr: {s.stderr_text()[-3000:]}")
                for s in self.servers:
                    s.cleanup()
                self.servers = []
            print(f"  {fn.__name__}: {time.monotonic() - t:.1f}s", flush=True)
        print(f"  ({self.env.flavour}, {time.monotonic() - t0:.1f}s, {self.skipped} skipped)")
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        # A suite whose every case skipped (each printed why) is reported to ctest as
        # skipped (SKIP_RETURN_CODE 77, HarnessTests.cmake), never as passed; a suite that
        # ran and checked nothing fails.
        if self.failed:
            sys.exit(1)
        if not self.passed and self.skipped:
            sys.exit(77)
        sys.exit(0 if self.passed else 1)


# ---- the site every server serves ------------------------------------------------------

SITE = {
    "index.html": b"<!DOCTYPE html>\n<html><head><title>index</title></head>\n"
                  b"<body><p>The quick brown fox jumps over the lazy dog.</p></body></html>\n",
    "a.txt": b"first file\n",
    "b.txt": b"second file, a little longer\n",
    "c.txt": b"third\n",
    "bytes.bin": bytes(range(256)) * 4,
    # larger than a send buffer: served zero-copy when no SEND_RAW_DATA filter is loaded
    "big.bin": bytes((i * 7 + i // 251) & 0xff for i in range(300000)),
    "upcase/page.html": b"<html><body><p>The quick brown fox jumps over the lazy dog.</p>"
                        b"</body></html>\n",
    "upcase/default.htm": b"<html><body>upcase default document</body></html>\n",
    "upcase/plain.txt": b"not html, stays lower case\n",
    "legacy/page.htm": b"<html><body>legacy page</body></html>\n",
    "legacy/default.htm": b"<html><body>legacy default</body></html>\n",
    "private/default.htm": b"<html><body>private page</body></html>\n",
    "writer/index.html": b"writer body\n",
    "slow/index.html": b"slow body\n",
}


# ---- responses ------------------------------------------------------------------------

class Response:
    def __init__(self, raw_head, status_line, headers, body):
        self.raw_head = raw_head          # bytes of the status line and headers, blank line included
        self.status_line = status_line
        parts = status_line.split(" ", 2)
        self.version = parts[0]
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = headers            # list of (name, value) in wire order
        self.body = body

    def header(self, name, default=None):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return f"<Response {self.status_line!r} {self.headers!r} body={self.body[:60]!r}>"


def parse_head(data):
    """(Response without body, head length) from bytes that hold a whole head, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end + 4]
    lines = head[:-4].decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return Response(head, lines[0], headers, b""), end + 4


def parse_one(data, head_only=False, eof=False):
    """(Response, bytes used) for the first complete response in data, else None. A
    response without framing takes everything, and only once the server closed (eof)."""
    p = parse_head(data)
    if not p:
        return None
    r, n = p
    rest = data[n:]
    if head_only or r.status in (204, 304) or 100 <= r.status < 200:
        return r, n
    if r.header("Content-Length") is not None:
        cl = int(r.header("Content-Length"))
        if len(rest) < cl:
            return None
        r.body = rest[:cl]
        return r, n + cl
    if (r.header("Transfer-Encoding") or "").lower() == "chunked":
        body, used = dechunk(rest)
        if used is None:
            return None
        r.body = body
        return r, n + used
    if not eof:
        return None
    r.body = rest
    return r, len(data)


def parse_responses(data, head_only=False):
    """Every complete response in data (the connection has closed). Returns (responses,
    leftover bytes)."""
    out = []
    while data:
        p = parse_one(data, head_only, eof=True)
        if not p:
            break
        out.append(p[0])
        data = data[p[1]:]
    return out, data


def dechunk(data):
    body, pos = b"", 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return body, None
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return (body, end + 4) if end >= 0 else (body, None)
        if len(data) < pos + size + 2:
            return body, None
        body += data[pos:pos + size]
        pos += size + 2


class Conn:
    """A raw client connection, bounded in time."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        # bytearray: appending is amortised, so a response of tens of megabytes arriving
        # in 64 KiB pieces is not copied once per piece
        self.buf = bytearray()
        self.need = 0   # bytes needed before parsing again (a known Content-Length)
        self.sent = 0
        self.received = 0
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no response in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.received += len(chunk)
        self.buf += chunk
        return chunk

    def response(self, head_only=False, timeout=None):
        """Reads until one whole response is in and returns it; None when the server closed
        the connection first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if len(self.buf) >= self.need or self.eof:
                p = parse_one(bytes(self.buf), head_only, self.eof)
                if p:
                    del self.buf[:p[1]]
                    self.need = 0
                    return p[0]
                self.need = len(self.buf) + 1
                h = parse_head(bytes(self.buf))
                if h and not head_only and h[0].header("Content-Length") is not None:
                    self.need = max(self.need, h[1] + int(h[0].header("Content-Length")))
            if self.eof:
                return None
            self._recv(deadline)

    def read_until_close(self, timeout=None):
        """Everything until the server closes; raises TimeoutError if it does not."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            self._recv(deadline)
        data, self.buf = bytes(self.buf), bytearray()
        return data

    def closed_by_server(self, timeout=3.0):
        """True when the server closes the connection within timeout (no bytes expected)."""
        try:
            extra = self.read_until_close(timeout)
            return extra == b""
        except (TimeoutError, socket.timeout):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---- trace lines ----------------------------------------------------------------------

def decode_value(v):
    if v.startswith("!"):
        return v    # an error (!<digits>) or !NULL: not data
    return urllib.parse.unquote_to_bytes(v).decode("latin-1")


def parse_trace_line(line):
    rec = {}
    for field in line.rstrip("\n").split(" "):
        k, sep, v = field.partition("=")
        if sep:
            rec[k] = decode_value(v)
    return rec


def by_conn(records):
    """{conn number: [records in order]}"""
    out = {}
    for r in records:
        out.setdefault(r.get("conn"), []).append(r)
    return out


# ---- the server -----------------------------------------------------------------------

class Server:
    """One isapihost process with its own folder. Use as a context manager or call stop()."""

    def __init__(self, suite, filters=(), settings=None, listen=("127.0.0.1:0",), ini=None,
                 files=None, env=None, trace=None, site=None, start=True, admin=None):
        self.suite = suite
        # {"listen": "127.0.0.1:0"}: an [admin] section, written after [server]
        self.admin = dict(admin or {})
        self.env = suite.env
        self.dir = tempfile.mkdtemp(prefix="isapihost-integ-")
        self.proc = None
        self.ports = []
        self.returncode = None
        self.graceful = None
        self.listen = list(listen)
        self.settings = dict(settings or {})
        self.filters = list(filters)
        self.extra_env = dict(env or {})
        self.trace_path = os.path.join(self.dir, "trace.log")
        self.use_trace = trace if trace is not None else any(
            f.startswith("trace") for f in self.filters)
        self.site = os.path.join(self.dir, "site")
        for rel, data in (site or SITE).items():
            p = os.path.join(self.site, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        self.fdir = os.path.join(self.dir, "filters")
        os.makedirs(self.fdir)
        ini = ini or {}
        # "trace:trace2" installs the trace filter under the name trace2 (it then reads
        # trace2.ini and tags its lines filter=trace2).
        self.filter_paths = []
        for i, spec in enumerate(self.filters):
            name, _, as_name = spec.partition(":")
            self.filters[i] = as_name or name
            self.filter_paths.append(self.install_filter(name, ini.get(as_name or name),
                                                         as_name or None))
        for rel, text in (files or {}).items():
            with open(os.path.join(self.fdir, rel), "w") as f:
                f.write(text)
        if start:
            self.start()

    def path(self, *rel):
        return os.path.join(self.dir, *rel)

    def install_filter(self, name, ini_text=None, as_name=None):
        """Copies a built filter (and its settings) into the server's folder."""
        src = self.env.filter_file(name)
        base = as_name or name
        dst = os.path.join(self.fdir, base + self.env.ext)
        shutil.copy(src, dst)
        src_ini = os.path.splitext(src)[0] + ".ini"
        dst_ini = os.path.join(self.fdir, base + ".ini")
        if ini_text is not None:
            with open(dst_ini, "w") as f:
                f.write(ini_text)
        elif os.path.exists(src_ini):
            shutil.copy(src_ini, dst_ini)
        if name == "basicauth":
            shutil.copy(os.path.join(os.path.dirname(src), "users.txt"), self.fdir)
        return dst

    def write_ini(self):
        s = {
            "root": self.env.spath(self.site),
            "port_file": self.env.spath(self.path("port")),
            "log": self.env.spath(self.path("access.log")),
            "error_log": self.env.spath(self.path("error.log")),
            "workers": "4",
            "shutdown_timeout": "5",
        }
        # Tests run as root in CI, where the server refuses to run filters as root unless
        # told so (docs/configuration.md, "user"); a test of user = ... overrides it.
        if not self.env.wine and os.geteuid() == 0:
            s["run_as_root"] = "yes"
        s.update(self.settings)
        lines = ["[server]"]
        for addr in self.listen:
            lines.append(f"listen = {addr}")
        for k, v in s.items():
            if v is not None:
                lines.append(f"{k} = {v}")
        if self.admin:
            lines.append("[admin]")
            lines.extend(f"{k} = {v}" for k, v in self.admin.items())
        lines.append("[filters]")
        for name, p in zip(self.filters, self.filter_paths):
            lines.append(f"{name} = {self.env.spath(p)}")
        path = self.path("isapihost.ini")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def process_env(self):
        e = dict(os.environ)
        if self.use_trace:
            e["ISAPI_TRACE_FILE"] = self.env.fpath(self.trace_path)
        e.update(self.extra_env)
        return e

    def start(self):
        ini = self.write_ini()
        for f in ("port",):
            if os.path.exists(self.path(f)):
                os.remove(self.path(f))
        cmd = self.env.server_command(["--config", self.env.spath(ini)])
        self.stdout = open(self.path("stdout.txt"), "wb")
        self.stderr = open(self.path("stderr.txt"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stdout,
                                     stderr=self.stderr, env=self.process_env(),
                                     cwd=self.dir, start_new_session=True)
        deadline = time.monotonic() + self.env.start_timeout
        want = len(self.listen)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"isapihost exited with {self.proc.returncode} at start:\n"
                                   + self.stderr_text() + self.error_log())
            try:
                with open(self.path("port"), "rb") as f:
                    lines = f.read().decode().split("\n")
                done = [l.strip() for l in lines[:-1] if l.strip()]
                if len(done) >= want:
                    self.ports = [int(p) for p in done[:want]]
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("isapihost did not write its port file in time:\n"
                           + self.stderr_text() + self.error_log())

    @property
    def port(self):
        return self.ports[0]

    def stop(self, timeout=15.0):
        """Graceful stop, bounded; kills the process group if it does not end in time.
        Returns the exit status (None when it had to be killed)."""
        if not self.proc or self.returncode is not None or self.graceful is False:
            return self.returncode
        if self.proc.poll() is None:
            # Why SIGINT under Wine: Wine delivers it to the process as CTRL_C_EVENT, so the
            # console handler runs; SIGTERM makes Wine end the process without it.
            # wine-run.sh execs `timeout`, which passes the signal on to Wine.
            sig = signal.SIGINT if self.env.wine else signal.SIGTERM
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.graceful = False
                print(f"NOTE [{self.suite.current}] server did not stop within {timeout}s: "
                      "killed", flush=True)
                return None
        self.returncode = self.proc.returncode
        self.graceful = self.returncode == 0
        self.stdout.close()
        self.stderr.close()
        return self.returncode

    def serving_pid(self):
        """The process that serves: natively the server runs under a supervisor
        (host/supervise.h), whose one child does the work; memory and descriptor checks
        must look at that child. Falls back to the started process."""
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        return pid

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self.kill()
        if not self.env.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()

    # -- clients

    def conn(self, **kw):
        return Conn(self.port, **kw)

    def request(self, data, timeout=10.0, port=None):
        """Sends data on a new connection and reads until the server closes it."""
        with Conn(port or self.port, timeout=timeout) as c:
            c.send(data)
            return c.read_until_close()

    def get(self, path, headers=(), method="GET", body=b"", port=None, timeout=10.0):
        """One request with Connection: close; returns the parsed Response (or None)."""
        h = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for name, value in headers:
            h += f"{name}: {value}\r\n"
        if body:
            h += f"Content-Length: {len(body)}\r\n"
        raw = self.request(h.encode("latin-1") + b"\r\n" + body, timeout=timeout, port=port)
        rs, _ = parse_responses(raw, head_only=(method == "HEAD"))
        return rs[0] if rs else None

    def curl(self, *args, timeout=15):
        """Runs curl -sS with args (URLs may use {port} and {base}); returns CompletedProcess
        with stdout as bytes."""
        base = f"http://127.0.0.1:{self.port}"
        a = [x.replace("{base}", base).replace("{port}", str(self.port)) for x in args]
        return subprocess.run(["curl", "-sS", "--max-time", str(timeout)] + a,
                              capture_output=True, timeout=timeout + 5)

    # -- logs

    def stderr_text(self):
        try:
            with open(self.path("stderr.txt"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def error_log(self):
        try:
            with open(self.path("error.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def access_log(self):
        """W3C records as dicts keyed by the #Fields names."""
        try:
            with open(self.path("access.log"), "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        fields, out = [], []
        for line in text.replace("\r\n", "\n").split("\n"):
            if line.startswith("#Fields:"):
                fields = line.split()[1:]
            elif line and not line.startswith("#"):
                out.append(dict(zip(fields, line.split(" "))))
        return out

    def wait_access(self, n, timeout=5.0):
        """Waits until the access log has at least n records; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.access_log()
            if len(recs) >= n or time.monotonic() > deadline:
                return recs
            time.sleep(0.02)

    def trace(self):
        try:
            with open(self.trace_path, "rb") as f:
                text = f.read().decode("latin-1")
        except FileNotFoundError:
            return []
        return [parse_trace_line(l) for l in text.replace("\r\n", "\n").split("\n") if l]

    def trace_mark(self):
        return len(self.trace())

    def wait_trace(self, mark, pred, timeout=5.0):
        """Waits until pred(records after mark) is true; returns those records."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.trace()[mark:]
            if pred(recs) or time.monotonic() > deadline:
                return recs
            time.sleep(0.02)

    def admin_port(self, timeout=10.0):
        """The [admin] listener's port: the port file's line after the listeners'."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.path("port")) as f:
                lines = [l for l in f.read().split("\n") if l.strip()]
            if len(lines) > len(self.listen):
                return int(lines[len(self.listen)])
            time.sleep(0.02)
        raise RuntimeError("no admin port in the port file")

    def scrape_metrics(self):
        """/metrics from the admin listener as {series text: value}: each sample line's
        name with its labels as written, comments left out (test_metrics.py parses the
        format strictly; this is for reading a few series)."""
        r = admin_get(self.admin_port(), "/metrics")
        out = {}
        for line in (r.body.decode() if r else "").split("\n"):
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def wait_closed_conns(self, mark, n=1, timeout=5.0):
        """Records after mark once n connections have had END_OF_NET_SESSION, grouped by
        connection (only connections that started after mark)."""
        recs = self.wait_trace(
            mark, lambda rs: sum(r.get("notify") == "END_OF_NET_SESSION" for r in rs) >= n,
            timeout)
        return [v for v in by_conn(recs).values() if v and v[0].get("ctx") == "new"]


def admin_get(port, path, method="GET"):
    """One request to the [admin] listener on its own connection; its response or None."""
    with Conn(port) as c:
        c.send(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        raw = c.read_until_close()
    rs, _ = parse_responses(raw, head_only=(method == "HEAD"))
    return rs[0] if rs else None


def wait_for(pred, timeout, interval=0.02):
    """Calls pred until it returns a true value or timeout seconds have passed; returns
    its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def run_server_once(env, args, timeout=None, extra_env=None):
    """Runs the server with args to completion (--check, bad configurations); returns
    (exit status, stdout, stderr)."""
    e = dict(os.environ)
    e.update(extra_env or {})
    t = timeout or (120 if env.wine else 20)
    # Files, not pipes, and read back through their names: under Wine a process that
    # outlives the server may hold the descriptors (with the file offset they share), and
    # a pipe would stay open as long as it does.
    with tempfile.TemporaryDirectory(prefix="isapihost-run-") as d:
        out_path, err_path = os.path.join(d, "stdout"), os.path.join(d, "stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.run(env.server_command(args), stdout=out, stderr=err, timeout=t,
                               env=e, stdin=subprocess.DEVNULL)
        with open(out_path, "rb") as out, open(err_path, "rb") as err:
            return (p.returncode, out.read().decode("utf-8", "replace"),
                    err.read().decode("utf-8", "replace"))


def notifications(recs):
    return [r.get("notify") for r in recs]


def ascii_upper(b):
    return bytes(c - 32 if 97 <= c <= 122 else c for c in b)
