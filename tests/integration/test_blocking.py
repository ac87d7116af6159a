"""test_blocking.py - a filter that blocks holds its own connection, not the server.

The sleeper test filter (tests/filters/sleeper) sleeps in PREPROC_HEADERS for URLs under
/slow/ and writes "asleep <url>" to its report file just before it sleeps and "awake <url>"
just after. With one connection held there (3 s), requests on other connections must
complete while it still sleeps (docs/semantics.md, "Threads"). The server runs with 2
workers, so the check also shows that the held worker is the only one lost; and once more
with a single event loop (concurrency 1), where every connection belongs to the loop whose
worker is blocked, so the others are served only if the monitor hands that loop to another
worker.

No guessing with delays: the other requests are sent only once the report says the slow
request is asleep in the filter, and each of them must be answered while the report still
has no "awake" line; a server that serves them only after the filter returned fails, and
so does a run where the slow request never reaches the filter. Bounds are generous for a
busy 2-core machine: each other request gets 2.5 s.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Suite  # noqa: E402

suite = Suite("integration_blocking")
SLEEP_MS = 3000
SLOW_URL = f"/slow/index.html?ms={SLEEP_MS}"


@suite.case
def other_connections_proceed(t):
    others_proceed(t, {"workers": "2"})


@suite.case
def blocked_loop_moves_to_another_worker(t):
    others_proceed(t, {"workers": "3", "concurrency": "1"})


def sleeper_server(t, settings):
    """A server with the sleeper filter, its report file in the server's folder."""
    s = t.server(filters=["sleeper"], settings=settings, start=False)
    report = s.path("sleeper.report")
    s.extra_env["SLEEPER_REPORT"] = s.env.spath(report)
    s.start()
    return s, report


def report_lines(report):
    try:
        with open(report) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def wait_report(report, line, timeout):
    """True once the report holds line, False when timeout passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in report_lines(report):
            return True
        time.sleep(0.01)
    return False


def others_proceed(t, settings):
    s, report = sleeper_server(t, settings)
    r = s.get("/a.txt")
    t.eq(r.status if r else None, 200, "warm-up request")

    slow = {}

    def slow_request():
        t0 = time.monotonic()
        try:
            slow["r"] = s.get(SLOW_URL, timeout=30)
        except Exception as e:   # reported below
            slow["err"] = repr(e)
        slow["t"] = time.monotonic() - t0

    th = threading.Thread(target=slow_request)
    th.start()
    asleep = wait_report(report, f"asleep {SLOW_URL}", 10.0)
    t.check(asleep, "the slow request reached the filter (its report says asleep)",
            str(report_lines(report)))
    done = []
    if asleep:
        for i in range(5):
            t0 = time.monotonic()
            try:
                r = s.get("/b.txt", timeout=2.5)
            except (TimeoutError, OSError) as e:
                r = None
                print(f"  other request {i}: {e!r}", flush=True)
            awake = f"awake {SLOW_URL}" in report_lines(report)
            done.append((r.status if r else None, time.monotonic() - t0, awake))
    th.join(40)
    t.check("r" in slow, "slow request finished", slow.get("err", ""))
    if asleep:
        t.eq([d[0] for d in done], [200] * 5, "other requests answered")
        t.check(all(d[1] < 2.5 for d in done), "each other request was quick",
                str([round(d[1], 2) for d in done]))
        t.eq([d[2] for d in done], [False] * 5,
             "every other request was answered while the filter still slept")
    r = slow.get("r")
    t.eq((r.status, r.body) if r else None, (200, SITE["slow/index.html"]), "slow response")
    t.check(slow.get("t", 0) >= SLEEP_MS / 1000 - 0.05, "the filter really slept",
            f"{slow.get('t', 0):.2f}s")
    t.check(wait_report(report, f"awake {SLOW_URL}", 5.0), "the filter woke up",
            str(report_lines(report)))


@suite.case
def two_sleepers_in_parallel(t):
    """Filters are called concurrently for different connections: with two 2 s sleeps on
    two connections, both are asleep in the filter before either wakes (the report's
    order shows it, whatever the machine's speed)."""
    s, report = sleeper_server(t, {"workers": "4"})
    urls = [f"/slow/index.html?ms=2000&n={i}" for i in range(2)]
    res = {}

    def run(i):
        t0 = time.monotonic()
        r = s.get(urls[i], timeout=30)
        res[i] = (r.status if r else None, time.monotonic() - t0)

    ths = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(40)
    t.eq(sorted(v[0] for v in res.values()), [200, 200], "both answered")
    t.check(all(v[1] >= 1.95 for v in res.values()), "the filter slept for each",
            str({k: round(v[1], 2) for k, v in res.items()}))
    lines = report_lines(report)
    asleep = [lines.index(f"asleep {u}") if f"asleep {u}" in lines else None for u in urls]
    awake = [i for i, line in enumerate(lines) if line.startswith("awake ")]
    t.check(None not in asleep and len(awake) == 2 and max(asleep) < min(awake),
            "both requests were asleep in the filter at once", str(lines))


if __name__ == "__main__":
    suite.run()
