"""test_hung_filters.py - filter calls that never return are recycled away, as IIS pings
its worker process and replaces one that stopped answering.

The sleeper filter (tests/filters/sleeper) blocks in PREPROC_HEADERS for /slow/ (6 s here) and
reports "asleep <url>" to a file just before. With 4 workers, hung_call_timeout 1 s and
hung_workers_floor 2, three sleeping calls leave one worker: the watchdog logs each stuck
call (filter, notification, url) and, natively, the supervisor starts a new serving
process on the same listeners before the old one stops; fresh clients are served by the
new one while the old one's calls are still asleep; in the Winelib build the launcher
(win32/isapihost-wine) does the same, the new process taking the listening sockets over.
The Windows build has no supervisor: it logs the stuck calls and says that no new process
can be started.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

suite = harness.Suite("robustness_hung_filters")
A = harness.SITE["a.txt"]
SLOW = "/slow/hang?ms=6000"


def report_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


@suite.case
def hung_calls_recycled(s):
    srv = s.server(filters=["sleeper"], start=False,
                   settings={"workers": "4", "concurrency": "1", "hung_call_timeout": "1",
                             "hung_workers_floor": "2", "shutdown_timeout": "2"})
    report = srv.path("sleeper.report")
    srv.extra_env["SLEEPER_REPORT"] = s.env.spath(report)
    srv.start()
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "served before the hang", repr(r))
    first_pid = None if s.env.wine else srv.serving_pid()
    sleepers = []
    for _ in range(3):
        th = threading.Thread(target=lambda: srv.get(SLOW, timeout=30.0), daemon=True)
        th.start()
        sleepers.append(th)
    asleep = wait_for(lambda: report_lines(report).count(f"asleep {SLOW}") == 3, 15.0)
    s.check(asleep, "three calls are asleep in the filter", str(report_lines(report)))
    log = lambda: srv.error_log() + srv.stderr_text()  # noqa: E731
    stuck = wait_for(lambda: log().count("hung call:") >= 3, 10.0)
    s.check(stuck, "each stuck call is logged", log()[-1500:])
    lines = [ln for ln in log().splitlines() if "hung call:" in ln]
    s.check(lines and all("sleeper" in ln and "SF_NOTIFY_PREPROC_HEADERS" in ln
                          and SLOW in ln for ln in lines),
            "the log names the filter, the notification and the url", "\n".join(lines))
    if s.env.wine:
        # One Windows process: nobody to start another serving process on the same sockets.
        s.check(wait_for(lambda: "no supervisor" in log(), 10.0),
                "the build says no new process can start", log()[-800:])
        # the calls return by themselves; the server then stops gracefully
        wait_for(lambda: report_lines(report).count(f"awake {SLOW}") == 3, 20.0)
        return
    s.check(wait_for(lambda: "takes over" in log(), 10.0),
            "the supervisor starts a new serving process", log()[-800:])
    t0 = time.monotonic()
    r = srv.get("/a.txt", timeout=10.0)
    dt = time.monotonic() - t0
    s.check(r is not None and r.status == 200 and r.body == A,
            f"a fresh client is served while the old calls still sleep ({dt:.2f} s)", repr(r))
    s.check(not any(f"awake {SLOW}" == ln for ln in report_lines(report)),
            "the stuck calls were still asleep then")
    s.check(wait_for(lambda: "replaced serving process" in log(), 15.0),
            "the replaced process ends by itself", log()[-800:])
    s.check(srv.serving_pid() != first_pid, "another process serves",
            f"{srv.serving_pid()} was {first_pid}")
    rc = srv.stop()
    s.eq(rc, 0, "the server stops cleanly")


if __name__ == "__main__":
    suite.run()
