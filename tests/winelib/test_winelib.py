"""test_winelib.py - what only the Winelib build has, against the real server.

The server is a Linux program (POSIX sockets, Linux paths in its configuration) and the
filters are Windows DLLs in the same process. Cases:
  windows_paths   URL_MAP's physical path, APPL_PHYSICAL_PATH and PATH_TRANSLATED are in
                  Windows form on Wine's Z: drive; GetModuleFileNameA names the DLL the same
                  way and the .ini beside it is read; a physical path a filter rewrites in
                  Windows form is served (the server maps it back)
  wine_threads    filter calls on many workers at once: thread-local storage and the last
                  error of each call's own thread (every worker is a Wine thread)
  restart         a fault on a thread of the filter's own (no filter call to contain it)
                  reaches the last-chance handler, which logs it and ends the process; the
                  launcher, a plain Linux parent, starts it again and it serves again
  wineserver_cpu  under load the wineserver's CPU time stays below 1 % of the server's
                  (both read from /proc): the networking does not go through Wine
  reload_when_sighup_was_ignored
                  started with SIGHUP ignored (as under nohup), the launcher still reloads on
                  SIGHUP, and its server processes ignore SIGHUP themselves
  detached_session  the launcher that starts a Wine session (wineserver, services.exe and
                  the rest) leaves none of its caller's descriptors in those processes: once
                  it exited, no process holds its stdout and stderr (a pipe reader gets EOF
                  at once instead of when the session ends, 30 s later)
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

suite = harness.Suite("winelib")
A = harness.SITE["a.txt"]


@suite.case
def windows_paths(s):
    srv = s.server(filters=["winview"])
    r = srv.get("/a.txt")
    if not s.check(r is not None and r.status == 200, "GET /a.txt served", repr(r)):
        return
    site = s.env.fpath(srv.site)
    page = site + "\\a.txt"
    s.check(site.startswith("Z:\\") and "/" not in site, "the site root in Windows form", site)
    s.eq(r.header("X-Phys"), page, "URL_MAP pszPhysicalPath")
    s.eq(r.header("X-Appl"), site + "\\", "APPL_PHYSICAL_PATH, with IIS's trailing separator")
    s.eq(r.header("X-Translated"), page, "PATH_TRANSLATED")
    s.eq(r.header("X-Module"), s.env.fpath(os.path.join(srv.fdir, "winview.dll")),
         "GetModuleFileNameA of the filter")
    s.eq(r.header("X-Ini"), "hello from beside the DLL", "the .ini beside the DLL is read")
    r = srv.get("/remap/a.txt")
    s.check(r is not None and r.status == 200 and r.body == A,
            "a physical path rewritten in Windows form is served", repr(r))


def one_request(c, f):
    """One keep-alive GET /a.txt; returns (status line, headers, body)."""
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    head = {}
    status = f.readline()
    while status:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        head[k.strip().lower()] = v.strip()
    return status, head, f.read(int(head.get("content-length", "0")))


def keepalive_requests(port, n, out, errors, stop=None):
    """n requests on one keep-alive connection, or (n None) requests until stop is set, on
    a new connection whenever the server ends one after its per-connection limit."""
    done = 0
    while (n is None and not stop.is_set()) or (n is not None and done < n):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
                f = c.makefile("rb")
                while (n is None and not stop.is_set()) or (n is not None and done < n):
                    status, head, body = one_request(c, f)
                    if status == b"" and n is None:
                        break
                    if not status.startswith(b"HTTP/1.1 200") or body != A:
                        errors.append(status)
                        return
                    done += 1
                    out.append(head.get("x-thread", ""))
        except (ConnectionResetError, BrokenPipeError) as e:
            if n is not None:
                errors.append(repr(e))
                return
        except OSError as e:
            errors.append(repr(e))
            return


@suite.case
def wine_threads(s):
    srv = s.server(filters=["winview"], settings={"workers": "8"})
    results, errors = [], []
    threads = [threading.Thread(target=keepalive_requests, args=(srv.port, 50, results, errors))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    s.eq(errors, [], "every request answered 200")
    s.eq(len(results), 16 * 50, "every response seen")
    broken = [x for x in results if not x.startswith("ok ")]
    s.eq(broken, [], "TLS and the last error belong to the calling thread in every call")
    tids = {x.split()[1] for x in results if x.startswith("ok ")}
    print(f"filter calls ran on {len(tids)} thread(s)", flush=True)
    s.check(len(tids) >= 1, "filter calls ran on Wine threads", repr(tids))


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


@suite.case
def restart(s):
    # A fixed port: the new process listens where the old one did.
    srv = s.server(filters=["winview"], listen=(f"127.0.0.1:{free_port()}",))
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "served before the crash", repr(r))
    first = srv.serving_pid()
    try:
        r = srv.get("/thread-crash", timeout=20)
    except OSError:
        r = None
    s.check(r is None or r.status >= 500, "the request whose filter crashed the process failed",
            repr(r))
    deadline = time.monotonic() + 60
    served = None
    while time.monotonic() < deadline:
        try:
            served = srv.get("/a.txt", timeout=5)
        except OSError:
            served = None
        if served is not None and served.status == 200:
            break
        time.sleep(0.1)
    s.check(served is not None and served.status == 200 and served.body == A,
            "served again after the restart", repr(served))
    s.check(srv.serving_pid() != first, "a new serving process", str(first))
    log = srv.stderr_text() + srv.error_log()
    s.check("isapihost error: unhandled exception 0xc0000005" in log
            and "outside any filter call" in log, "the last-chance handler logged it",
            log[-2000:])
    s.check("restarting (1 crash(es) in the last minute)" in log, "the launcher restarted it",
            log[-2000:])


def cpu_ns(pid):
    """CPU time of a process, all its threads, in nanoseconds (schedstat: no 10 ms ticks;
    a thread that ended is not counted, so measure processes whose threads stay)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def wineservers(prefix):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if not f.read().startswith("wineserver"):
                    continue
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if ("WINEPREFIX=" + prefix).encode() in env:
            out.append(int(d))
    return out


@suite.case
def wineserver_cpu(s):
    srv = s.server(filters=["winview"], settings={"workers": "4"})
    pid = srv.serving_pid()
    servers = wineservers(s.env.prefix)
    if not servers:
        s.skip("wineserver CPU", "no wineserver process of this prefix found in /proc")
        return
    results, errors = [], []
    # Warm-up first: the process's own start (and the prefix's services) is not load.
    keepalive_requests(srv.port, 200, results, errors)
    # The wineserver also serves the prefix's own processes (services, timers): their
    # rate, measured while the server is idle, is subtracted from the loaded window.
    ws_ns = lambda: sum(cpu_ns(p) for p in servers)
    i0, t_idle = ws_ns(), time.monotonic()
    time.sleep(2.0)   # a measuring window, not a wait for an event
    idle_rate = (ws_ns() - i0) / (time.monotonic() - t_idle)
    # Up to three loaded windows; the check holds when one of them is below 1 %. Why not
    # all: the prefix's own processes wake the wineserver now and then (a few ms), which a
    # window can catch; work the server itself caused would be in every window, in
    # proportion to the requests.
    shares = []
    for _ in range(3):
        ws0, sv0 = ws_ns(), cpu_ns(pid)
        stop = threading.Event()
        t0 = time.monotonic()
        threads = [threading.Thread(target=keepalive_requests,
                                    args=(srv.port, None, results, errors, stop))
                   for _ in range(8)]
        for t in threads:
            t.start()
        # Load until the server has used 2 s of CPU, or 30 s have passed.
        while cpu_ns(pid) - sv0 < 2e9 and time.monotonic() - t0 < 30 and not errors:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(60)
        dt = time.monotonic() - t0
        ws, sv = ws_ns() - ws0, cpu_ns(pid) - sv0
        share = 100 * (ws - idle_rate * dt) / max(sv, 1)
        shares.append(share)
        print(f"{len(results)} requests so far; window {dt:.1f} s: server CPU {sv / 1e6:.0f} ms, "
              f"wineserver {ws / 1e6:.1f} ms ({idle_rate * dt / 1e6:.1f} ms at the idle "
              f"rate): {share:.3f} % of the server's", flush=True)
        if errors or share < 1.0:
            break
    s.eq(errors, [], "every request answered 200")
    s.check(min(shares) < 1.0, "wineserver CPU below 1 % of the server's",
            ", ".join(f"{x:.3f} %" for x in shares))

def sig_ignored(pid, signo):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signo - 1)))
    return False


@suite.case
def reload_when_sighup_was_ignored(s):
    srv = s.server(filters=["winview"], start=False)
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)   # inherited by the launcher
    try:
        srv.start()
    finally:
        signal.signal(signal.SIGHUP, before)
    first = srv.serving_pid()
    s.check(sig_ignored(first, signal.SIGHUP), "the server process ignores SIGHUP")
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "takes over" not in srv.stderr_text() + srv.error_log():
        time.sleep(0.05)
    log = srv.stderr_text() + srv.error_log()
    s.check("reload: serving process" in log and "takes over" in log,
            "SIGHUP reloaded although the launcher was started with it ignored", log[-1500:])
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200 and r.body == A, "served after the reload", repr(r))
    s.eq(srv.stop(), 0, "stops cleanly")


def pipe_holders(ino):
    """The processes other than this one with a descriptor on pipe inode ino."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{d}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{d}/fd/{fd}") == f"pipe:[{ino}]":
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        out.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
                    break
            except OSError:
                pass
    return out


@suite.case
def detached_session(s):
    # This suite runs alone (RUN_SERIAL), so ending the prefix's session disturbs nothing;
    # the launcher below then starts a new one.
    wineserver = "/usr/lib/wine/wineserver"
    env = dict(os.environ, WINEPREFIX=s.env.prefix)
    subprocess.run([wineserver, "-k"], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    subprocess.run([wineserver, "-w"], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    with tempfile.TemporaryDirectory(prefix="isapihost-detach-") as d:
        ini = os.path.join(d, "bad.ini")
        with open(ini, "w") as f:
            f.write("[server]\nhttp09 = maybe\n")
        r, w = os.pipe()
        ino = os.fstat(r).st_ino
        p = subprocess.Popen(s.env.server_command(["--config", ini, "--check"]), stdout=w,
                             stderr=w, stdin=subprocess.DEVNULL)
        os.close(w)
        try:
            p.wait(timeout=120)
            holders = pipe_holders(ino)
            s.check(not holders, "no process holds the caller's stdout/stderr after the "
                    "launcher exited", repr(holders))
            os.set_blocking(r, False)
            text = b""
            try:
                while True:
                    chunk = os.read(r, 65536)
                    if not chunk:
                        break
                    text += chunk
            except BlockingIOError:
                pass
            s.check(b"http09" in text, "the start-up error reached the caller", repr(text))
        finally:
            if p.poll() is None:
                p.kill()
            os.close(r)


if __name__ == "__main__":
    sys.exit(suite.run())
