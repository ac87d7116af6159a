"""test_reload.py - overlapped recycling, as IIS recycles an application pool: a reload
(SIGHUP to the supervisor) or a recycle limit starts a new serving process on the same
listening sockets, and the old one retires only once the new one serves.

The reloadmark filter (tests/filters/reloadmark) is built twice, as reloadmark_a and
reloadmark_b; each puts "X-Reload-Build: a" or "b" into every response, and its
TerminateFilter appends "terminate build=... pid=... connections=N ended=M" to a report
file (M counts END_OF_NET_SESSION). The server loads it as filters/reloadmark.so.

  reload_under_load   client threads (keep-alive and a new connection per request) run
                      while the test renames build b over the filter's file and sends
                      SIGHUP, then build a and SIGHUP again: every request gets a whole 200
                      (no error, no reset), requests sent after the old process ended carry
                      the new build, and each old process ran TerminateFilter with every
                      connection it saw ended, then exited with status 0.
  retiring_process_accepts_nothing
                      while an idle keep-alive connection keeps the old process alive,
                      every new connection is served by the new one; the idle one's next
                      request gets Connection: close from the old one, which then ends.
  bad_reload_keeps_serving
                      a configuration that does not read, and one that reads but whose
                      filter does not load, and one that changes a listen address (only a
                      restart opens another socket), each leave the old process serving,
                      with one line saying why.
  recycle_after_requests
                      recycle_after_requests = 40, clients opening a connection per request:
                      after 40 requests the serving process asks for a new one, which
                      takes over; no request fails.
  recycle_after_seconds
                      recycle_after_seconds = 1: the same after a second of serving. This
                      case also runs on the Windows build, which has no supervisor: the
                      server says so and serves on.

Every case also runs on the Winelib build, where the supervisor is the launcher
(win32/isapihost-wine): SIGHUP goes to it (and SIGUSR2 from a serving process that asks to
be recycled), it starts the new serving process, which takes the listening sockets over
from the old one (host/posix/os_supervise_winelib.c); the launcher's lines are on its
standard error, the reason a new process did not start on the new process's. Windows has
no supervisor (docs/configuration.md, "Reload").
"""
import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

suite = harness.Suite("robustness_reload")
A = harness.SITE["a.txt"]


def report_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def terminate_record(path, pid):
    """The TerminateFilter line of process pid (as the filter sees it) as a dict, or None."""
    for line in report_lines(path):
        if line.startswith("terminate ") and f" pid={pid} " in line + " ":
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def filter_pid(s, report, pid, nth):
    """The process id the filter reports for serving process pid, the nth (from 0) to load
    it: under Wine a DLL sees Windows's process ids, not Linux's, so the nth "load" line,
    in the order the processes started, names it."""
    if not s.env.winelib:
        return pid
    loads = [ln.split("pid=")[1] for ln in report_lines(report) if ln.startswith("load ")]
    return loads[nth] if nth < len(loads) else None


def swap_filter(srv, build):
    """Puts build's file in place of the loaded one the way an installer should: a new file
    renamed over the old name, so the running process keeps the file it mapped."""
    dst = os.path.join(srv.fdir, "reloadmark" + srv.env.ext)
    tmp = dst + ".new"
    shutil.copy(srv.env.filter_file("reloadmark_" + build), tmp)
    os.replace(tmp, dst)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


class Load:
    """Client threads sending GET /a.txt: some keep their connection alive (a new one
    only when the server says Connection: close), some open one per request. Every
    request is recorded as (time sent, build) or as an error."""

    def __init__(self, srv, keepalive=3, fresh=2):
        self.srv = srv
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results = []      # (thread, t_sent, build)
        self.errors = []       # (thread, t_sent, what)
        self.told_close = [0] * (keepalive + fresh)   # keep-alive answered Connection: close
        self.threads = [threading.Thread(target=self.run, args=(i, i < keepalive), daemon=True)
                        for i in range(keepalive + fresh)]

    def start(self):
        for t in self.threads:
            t.start()

    def count(self, since=0.0, build=None):
        with self.lock:
            return sum(1 for _, t, b in self.results if t >= since and (build is None or b == build))

    def per_thread(self, since=0.0, build=None):
        with self.lock:
            n = [0] * len(self.threads)
            for i, t, b in self.results:
                if t >= since and (build is None or b == build):
                    n[i] += 1
            return n

    def record(self, i, t, build=None, error=None):
        with self.lock:
            if error is None:
                self.results.append((i, t, build))
            else:
                self.errors.append((i, t, error))

    def run(self, i, keepalive):
        conn = None
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                if conn is None:
                    conn = self.srv.conn(timeout=10.0)
                how = "keep-alive" if keepalive else "close"
                conn.send(f"GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {how}\r\n\r\n"
                          .encode())
                r = conn.response()
                if r is None:
                    self.record(i, t, error="connection closed before a response")
                elif r.status != 200 or r.body != A:
                    self.record(i, t, error=f"status {r.status}, body {r.body[:40]!r}")
                else:
                    self.record(i, t, build=r.header("X-Reload-Build"))
                told = r is not None and "close" in (r.header("Connection") or "").lower()
                if keepalive and told:
                    with self.lock:
                        self.told_close[i] += 1
                if r is None or not keepalive or told:
                    conn.close()
                    conn = None
            except Exception as e:   # a reset, a refused connection, a timeout
                self.record(i, t, error=f"{type(e).__name__}: {e}")
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def supervised(s):
    if s.env.wine:
        s.skip("recycling", "no supervisor starts a process the serving one asks for in "
               "this build: Windows runs in one process (docs/configuration.md, \"Reload\")")
        return False
    return True


def reload_supported(s):
    if s.env.wine:
        s.skip("overlapped reload", "no supervisor in this build: Windows runs in one "
               "process (docs/configuration.md, \"Reload\")")
        return False
    return True


def start_server(s, settings=None):
    srv = s.server(filters=["reloadmark_a:reloadmark"], start=False,
                   settings=dict({"workers": "8"}, **(settings or {})))
    report = srv.path("reloadmark.report")
    srv.extra_env["RELOADMARK_REPORT"] = s.env.fpath(report)
    srv.start()
    if not s.env.wine:
        # The port file is written before the filters load (natively by the supervisor,
        # under the Winelib launcher by the serving process as it opens the listeners).
        s.check(wait_for(lambda: children(srv.proc.pid) and "listening on" in srv.error_log(),
                         s.env.start_timeout), "the serving process runs", log_of(srv)[-1000:])
    return srv, report


def log_of(srv):
    return srv.error_log() + srv.stderr_text()


@suite.case
def reload_under_load(s):
    if not reload_supported(s):
        return
    # A long shutdown_timeout and no cap on requests per connection: the old process must
    # end because its connections ended after their next response, not because it gave up
    # waiting for them or a keep-alive connection reached its request cap.
    srv, report = start_server(s, {"shutdown_timeout": "20",
                                   "max_requests_per_connection": "1000000000"})
    supervisor = srv.proc.pid
    load = Load(srv)
    load.start()
    try:
        s.check(wait_for(lambda: min(load.per_thread()) >= 20, 30.0),
                "every client thread is served before the reload", str(load.per_thread()))
        for n, (old_build, new_build) in enumerate((("a", "b"), ("b", "a")), 1):
            old = children(supervisor)
            s.eq(len(old), 1, f"reload {n}: one serving process before it")
            if not old:
                return
            old_pid = old[0]
            swap_filter(srv, new_build)
            os.kill(supervisor, signal.SIGHUP)
            took_over = wait_for(lambda: f"{old_pid} retires" in log_of(srv), 30.0)
            s.check(took_over, f"reload {n}: a new serving process takes over",
                    log_of(srv)[-1500:])
            ended_line = f"replaced serving process {old_pid} ended"
            s.check(wait_for(lambda: ended_line in log_of(srv), 30.0),
                    f"reload {n}: the old serving process ends", log_of(srv)[-1500:])
            s.check(f"{ended_line} (status 0)" in log_of(srv),
                    f"reload {n}: the old serving process exits with status 0",
                    log_of(srv)[-1500:])
            s.check(not alive(old_pid), f"reload {n}: the old process is gone")
            after = time.monotonic()
            rec = terminate_record(report, filter_pid(s, report, old_pid, n - 1))
            s.check(rec is not None and rec.get("build") == old_build,
                    f"reload {n}: the old process ran TerminateFilter of build {old_build}",
                    str(report_lines(report)))
            if rec:
                s.check(int(rec["connections"]) > 0 and rec["connections"] == rec["ended"],
                        f"reload {n}: END_OF_NET_SESSION for every connection of the old "
                        "process, before TerminateFilter", str(rec))
            s.check(wait_for(lambda: min(load.per_thread(after)) >= 20, 30.0),
                    f"reload {n}: every client thread is served after it",
                    str(load.per_thread(after)))
            s.eq(load.count(after, old_build), 0,
                 f"reload {n}: no request sent after the old process ended got build {old_build}")
            s.check(load.count(after, new_build) > 0,
                    f"reload {n}: requests after it get build {new_build}")
    finally:
        load.finish()
    s.eq(load.errors[:5], [], "no request failed (no reset, no close without a response)")
    s.check(all(n >= 2 for n in load.told_close[:3]),
            "each keep-alive client was told Connection: close once per reload",
            str(load.told_close))
    s.check("still open; closing them" not in srv.error_log(),
            "every connection of the old processes ended after a response, none was cut",
            srv.error_log()[-1500:])
    total = load.count()
    s.check(total > 200, "the load ran", f"{total} responses")
    print(f"  {total} responses, {len(load.errors)} errors, over two reloads", flush=True)


@suite.case
def retiring_process_accepts_nothing(s):
    """An idle keep-alive connection holds the old process open after the reload: every
    new connection meanwhile reaches the new process, and the idle one, when it sends a
    request at last, is answered by the old process with Connection: close."""
    if not reload_supported(s):
        return
    srv, report = start_server(s, {"shutdown_timeout": "20"})
    supervisor = srv.proc.pid
    old = children(supervisor)
    idle = srv.conn()
    ka = b"GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    idle.send(ka)
    r = idle.response()
    s.check(r is not None and r.status == 200 and r.header("X-Reload-Build") == "a",
            "the idle connection is served by the first process", repr(r))
    swap_filter(srv, "b")
    os.kill(supervisor, signal.SIGHUP)
    s.check(wait_for(lambda: "retiring: a new serving process took over" in srv.error_log(),
                     30.0), "the old process retires", log_of(srv)[-1000:])
    builds = []
    for _ in range(30):
        r = srv.get("/a.txt")
        builds.append(r.header("X-Reload-Build") if r is not None and r.status == 200 else r)
    s.eq(builds, ["b"] * 30, "every new connection reaches the new process")
    s.check(alive(old[0]) and f"replaced serving process {old[0]} ended" not in log_of(srv),
            "the old process waits for its idle connection meanwhile")
    idle.send(ka)
    r = idle.response()
    s.check(r is not None and r.status == 200 and r.header("X-Reload-Build") == "a"
            and (r.header("Connection") or "").lower() == "close",
            "its next request is answered by the old process, with Connection: close", repr(r))
    s.check(idle.closed_by_server(10.0), "and the old process closes it")
    idle.close()
    s.check(wait_for(lambda: f"replaced serving process {old[0]} ended (status 0)"
                     in log_of(srv), 30.0), "then the old process ends", log_of(srv)[-1000:])
    rec = terminate_record(report, filter_pid(s, report, old[0], 0))
    s.check(rec is not None and rec["connections"] == rec["ended"],
            "after END_OF_NET_SESSION on every connection and TerminateFilter", str(rec))


def failed_reloads(s, srv):
    """The supervisor's lines for the reloads that left the old process serving: natively in
    the error log ("reload refused" when the configuration did not check, "reload failed"
    when the new process ended before it served); under the Winelib launcher on its
    standard error, and always "reload failed" (the new process reads the configuration
    itself)."""
    if s.env.winelib:
        return [ln for ln in srv.stderr_text().splitlines()
                if ln.startswith("isapihost-wine: reload failed")]
    return [ln for ln in srv.error_log().splitlines()
            if "reload refused" in ln or "reload failed" in ln]


def last_reason(s, srv):
    """The one line saying why the last reload changed nothing: natively the supervisor's
    own; under the Winelib launcher the new process's ("isapihost: ..." on standard error)."""
    if s.env.winelib:
        lines = [ln for ln in srv.stderr_text().splitlines() if ln.startswith("isapihost: ")]
    else:
        lines = failed_reloads(s, srv)
    return lines[-1] if lines else ""


@suite.case
def bad_reload_keeps_serving(s):
    if not reload_supported(s):
        return
    srv, report = start_server(s)
    supervisor = srv.proc.pid
    pid = children(supervisor)
    s.eq(len(pid), 1, "one serving process")
    # A new Winelib process starts Wine before it reads the configuration.
    patience = 60.0 if s.env.winelib else 15.0
    # A setting that does not read.
    srv.settings["workers"] = "many"
    srv.write_ini()
    os.kill(supervisor, signal.SIGHUP)
    s.check(wait_for(lambda: failed_reloads(s, srv), patience),
            "the reload is refused", log_of(srv)[-1000:])
    s.eq(len(failed_reloads(s, srv)), 1, "one line from the supervisor says so")
    why = last_reason(s, srv)
    s.check("isapihost.ini" in why and "workers" in why and "whole number" in why,
            "a line names the file, the setting and the reason", why)
    s.eq(children(supervisor), pid, "the same serving process goes on")
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200 and r.header("X-Reload-Build") == "a",
            "it still serves, with the filter it loaded", repr(r))

    # A listen address changed: the listening sockets stay as they are, and another one
    # would need a restart (natively the supervisor opened them, perhaps as root; under
    # the launcher the new process finds no received socket bound to that address).
    srv.settings["workers"] = "8"
    listen = srv.listen
    srv.listen = ["127.0.0.2:0"]
    srv.write_ini()
    os.kill(supervisor, signal.SIGHUP)
    s.check(wait_for(lambda: len(failed_reloads(s, srv)) >= 2, patience),
            "the reload with another listen address is refused", log_of(srv)[-1000:])
    s.eq(len(failed_reloads(s, srv)), 2, "one line from the supervisor says so")
    why = last_reason(s, srv)
    s.check("isapihost.ini: listen: changed; a restart applies it, a reload cannot" in why,
            "a line names the setting only a restart changes", why)
    s.eq(children(supervisor), pid, "the same serving process goes on")
    srv.listen = listen

    # A configuration that reads, with a filter that does not load: the new process ends
    # before it serves.
    srv.write_ini()
    os.remove(os.path.join(srv.fdir, "reloadmark" + srv.env.ext))
    os.kill(supervisor, signal.SIGHUP)
    s.check(wait_for(lambda: len(failed_reloads(s, srv)) >= 3, patience),
            "the reload fails", log_of(srv)[-1000:])
    s.eq(len(failed_reloads(s, srv)), 3, "one line from the supervisor says so")
    # Natively the new process's line is in the error log after the supervisor's second
    # one; under the launcher it is the new process's last line on standard error.
    why = (last_reason(s, srv) if s.env.winelib
           else srv.error_log().split(failed_reloads(s, srv)[1])[-1])
    s.check("reloadmark" in why, "a line names the filter that did not load",
            log_of(srv)[-1000:])
    s.eq(children(supervisor), pid, "the same serving process goes on")
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200 and r.header("X-Reload-Build") == "a",
            "it still serves", repr(r))
    # put the file back so that the graceful stop's checks see a sane tree
    swap_filter(srv, "a")


@suite.case
def recycle_after_requests(s):
    if not supervised(s):
        return
    srv, report = start_server(s, {"recycle_after_requests": "40"})
    supervisor = srv.proc.pid
    first = children(supervisor)
    s.eq(len(first), 1, "one serving process")
    if not first:
        return
    # One connection per request: each is counted though none is kept alive.
    load = Load(srv, keepalive=0, fresh=2)
    load.start()
    try:
        s.check(wait_for(lambda: "recycling after" in log_of(srv), 30.0),
                "the serving process asks to be recycled", log_of(srv)[-1000:])
        line = [ln for ln in log_of(srv).splitlines() if "recycling after" in ln][:1]
        s.check(line and "recycle_after_requests = 40" in line[0], "the line names the setting",
                str(line))
        s.check(wait_for(lambda: f"{first[0]} retires" in log_of(srv), 30.0),
                "a new serving process takes over", log_of(srv)[-1000:])
        old = filter_pid(s, report, first[0], 0)
        s.check(wait_for(lambda: terminate_record(report, old) is not None, 30.0),
                "the old process ran TerminateFilter", str(report_lines(report)))
        after = time.monotonic()
        s.check(wait_for(lambda: min(load.per_thread(after)) >= 5, 30.0),
                "the clients are served by the new process", str(load.per_thread(after)))
    finally:
        load.finish()
    s.eq(load.errors[:5], [], "no request failed")



@suite.case
def recycle_after_seconds(s):
    """recycle_after_seconds = 1: the serving process asks to be replaced after a second of
    serving, without waiting for a request. With no supervisor (Windows) it says it cannot
    and goes on serving."""
    srv, report = start_server(s, {"recycle_after_seconds": "1"})
    if s.env.wine:
        s.check(wait_for(lambda: "no supervisor to start a new serving process" in log_of(srv),
                         30.0), "the server says no new process can start", log_of(srv)[-800:])
        r = srv.get("/a.txt")
        s.check(r is not None and r.status == 200 and r.header("X-Reload-Build") == "a",
                "and serves on", repr(r))
        return
    first = children(srv.proc.pid)
    s.check(wait_for(lambda: "recycle_after_seconds = 1" in log_of(srv), 30.0),
            "the serving process asks to be recycled, naming the setting", log_of(srv)[-1000:])
    s.check(first and wait_for(lambda: f"{first[0]} retires" in log_of(srv), 30.0),
            "a new serving process takes over", log_of(srv)[-1000:])
    old = filter_pid(s, report, first[0], 0) if first else None
    s.check(first and wait_for(lambda: terminate_record(report, old) is not None, 30.0),
            "the old process ran TerminateFilter", str(report_lines(report)))
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "the new process serves", repr(r))


suite.run()
