"""test_blocking.py - a filter that blocks holds its own connection, not the server.

The sleeper test filter sleeps in PREPROC_HEADERS for URLs under /slow/. With one
connection held there (3 s), requests on other connections must complete while it still
sleeps (DESIGN.md, "Threads and blocking filters"). The server runs with 2 workers, so the
check also shows that the held worker is the only one lost; and once more with a single
event loop (concurrency 1), where every connection belongs to the loop whose worker is
blocked, so the others are served only if the monitor hands that loop to another worker.
Bounds are generous for a busy 2-core machine: each other request gets 2.5 s, all of them
must finish before the slow response arrives.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SITE, Suite  # noqa: E402

suite = Suite("integration_blocking")
SLEEP_MS = 3000


@suite.case
def other_connections_proceed(t):
    others_proceed(t, {"workers": "2"})


@suite.case
def blocked_loop_moves_to_another_worker(t):
    others_proceed(t, {"workers": "3", "concurrency": "1"})


def others_proceed(t, settings):
    s = t.server(filters=["sleeper"], settings=settings)
    r = s.get("/a.txt")
    t.eq(r.status if r else None, 200, "warm-up request")

    slow = {}

    def slow_request():
        t0 = time.monotonic()
        try:
            slow["r"] = s.get(f"/slow/index.html?ms={SLEEP_MS}", timeout=30)
        except Exception as e:   # reported below
            slow["err"] = repr(e)
        slow["t"] = time.monotonic() - t0
        slow["end"] = time.monotonic()

    th = threading.Thread(target=slow_request)
    started = time.monotonic()
    th.start()
    time.sleep(0.3)   # let the slow request reach the filter
    done = []
    for i in range(5):
        t0 = time.monotonic()
        r = s.get("/b.txt", timeout=2.5)
        done.append((r.status if r else None, time.monotonic() - t0, time.monotonic()))
    last_other = time.monotonic()
    th.join(40)
    t.check("end" in slow, "slow request finished", slow.get("err", ""))
    t.eq([d[0] for d in done], [200] * 5, "other requests answered")
    t.check(all(d[1] < 2.5 for d in done), "each other request was quick",
            str([round(d[1], 2) for d in done]))
    if "end" in slow:
        t.check(last_other < slow["end"], "other requests finished while the filter slept",
                f"others done {last_other - started:.2f}s, slow done {slow['end'] - started:.2f}s")
        r = slow.get("r")
        t.eq((r.status, r.body) if r else None, (200, SITE["slow/index.html"]), "slow response")
        t.check(slow["t"] >= SLEEP_MS / 1000 - 0.05, "the filter really slept",
                f"{slow['t']:.2f}s")


@suite.case
def two_sleepers_in_parallel(t):
    """Filters are called concurrently for different connections: two 2 s sleeps on two
    connections take about 2 s, not 4."""
    s = t.server(filters=["sleeper"], settings={"workers": "4"})
    res = {}

    def run(i):
        t0 = time.monotonic()
        r = s.get("/slow/index.html?ms=2000", timeout=30)
        res[i] = (r.status if r else None, time.monotonic() - t0)

    t0 = time.monotonic()
    ths = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(40)
    total = time.monotonic() - t0
    t.eq(sorted(v[0] for v in res.values()), [200, 200], "both answered")
    t.check(total < 3.8, "the two sleeps overlapped", f"{total:.2f}s")


if __name__ == "__main__":
    suite.run()
