#!/usr/bin/env python3
"""metrics_cost.py - what the metrics cost per request, in instructions (docs/performance.md,
"Metrics").

Runs the S2 setup (64-byte /small.txt over keep-alive, the bench_noop filter, a W3C log,
two event loops) under `valgrind --tool=callgrind`, without an [admin] listener, with one
and filter_timing = no (counters only), and with one (counters and the filter call
timing), each for two request counts.
The cost per request is the difference of the workers' instructions (inclusive cost of
worker_main, the threads that serve requests; the monitor and admin threads are left out)
between the two counts, divided by the difference of the counts: start-up, filter loading
and shutdown cancel out. Instruction counts do not depend on the machine's load, which is
why this is the measure on a shared machine; a system call counts as the instructions
around it, so the clock reads are also counted separately: the instructions in
clock_gettime (every caller's) and in plat_ticks (the filter call timing; with the TSC it
calls no clock_gettime, without it those are counted in both).

    tests/bench/metrics_cost.py --server build/release/host/isapihost \
        --filter build/release/tests/bench/bench_noop.so
"""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def run_once(a, requests, admin):
    d = tempfile.mkdtemp(prefix="isapihost-cg-")
    try:
        os.makedirs(os.path.join(d, "site"))
        with open(os.path.join(d, "site", "small.txt"), "wb") as f:
            f.write(b"x" * 63 + b"\n")
        ini = [
            "[server]", "listen = 127.0.0.1:0", f"root = {d}/site", f"port_file = {d}/port",
            f"log = {d}/access.log", "concurrency = 2", "workers = 16",
        ]
        if os.geteuid() == 0:
            ini.append("run_as_root = yes")
        if admin:
            ini += ["[admin]", "listen = 127.0.0.1:0"]
        if admin == "counts":
            ini.append("filter_timing = no")
        ini += ["[filters]", f"noop = {os.path.abspath(a.filter)}"]
        with open(os.path.join(d, "a.ini"), "w") as f:
            f.write("\n".join(ini) + "\n")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/cg.%p",
               a.server, "--config", f"{d}/a.ini"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        deadline = time.monotonic() + 120
        ports = []
        while time.monotonic() < deadline and len(ports) < (2 if admin else 1):
            try:
                with open(f"{d}/port") as f:
                    ports = [int(x) for x in f.read().split()]
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.1)
        if not ports:
            p.kill()
            raise SystemExit("the server did not start under valgrind")
        s = socket.create_connection(("127.0.0.1", ports[0]), timeout=60)
        req = b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        buf = b""
        for _ in range(requests):
            s.sendall(req)
            while True:
                head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep:
                    m = re.search(rb"Content-Length: (\d+)", head)
                    need = int(m.group(1)) if m else 0
                    if len(rest) >= need:
                        buf = rest[need:]
                        break
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit("the server closed the connection")
                buf += chunk
        s.close()
        # The last request's LOG runs after its response was sent: scrape until it shows.
        deadline = time.monotonic() + 30
        while admin:
            with socket.create_connection(("127.0.0.1", ports[1]), timeout=60) as m:
                m.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                text = b""
                while True:
                    chunk = m.recv(65536)
                    if not chunk:
                        break
                    text += chunk
            calls = re.search(rb'isapihost_filter_calls_total\{filter="bench_noop",'
                              rb'notification="SF_NOTIFY_LOG"\} (\d+)', text)
            if calls and int(calls.group(1)) == requests:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"/metrics does not show {requests} LOG calls")
            time.sleep(0.1)
        os.kill(p.pid, signal.SIGTERM)
        p.wait(120)
        best = None
        for out in glob.glob(f"{d}/cg.*"):
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", out],
                                 capture_output=True, text=True).stdout
            worker = clock = None
            for line in ann.split("\n"):
                m = re.match(r"\s*([\d,]+) .*[ :]worker_main\b", line)
                if m and worker is None:
                    worker = int(m.group(1).replace(",", ""))
            if worker is not None:
                best = worker
                clock = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                                        "--threshold=100", out],
                                       capture_output=True, text=True).stdout
                clock_ir = sum(int(m.group(1).replace(",", "")) for m in re.finditer(
                    r"^\s*([\d,]+) .*clock_gettime", clock, re.M))
                ticks_ir = sum(int(m.group(1).replace(",", "")) for m in re.finditer(
                    r"^\s*([\d,]+) .*[ :]plat_ticks\b", clock, re.M))
                return best, (clock_ir, ticks_ir)
        raise SystemExit("no callgrind output with worker_main")
    finally:
        if a.keep:
            for out in glob.glob(f"{d}/cg.*"):
                shutil.copy(out, os.path.join(a.keep, f"{'on' if admin else 'off'}-"
                                                     f"{requests}-{os.path.basename(out)}"))
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--filter", required=True, help="bench_noop.so")
    ap.add_argument("--requests", default="1000,4000")
    ap.add_argument("--keep", default="", help="copy the callgrind outputs to this folder")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed")
    n1, n2 = (int(x) for x in a.requests.split(","))
    per = {}
    names = {False: "off", "counts": "on, filter_timing = no", True: "on"}
    for admin in (False, "counts", True):
        ir1, c1 = run_once(a, n1, admin)
        ir2, c2 = run_once(a, n2, admin)
        per[admin] = (ir2 - ir1) / (n2 - n1)
        print(f"metrics {names[admin]}: worker instructions {ir1:,} "
              f"({n1} requests), {ir2:,} ({n2}); per request {per[admin]:,.0f}; "
              f"in clock_gettime {(c2[0] - c1[0]) / (n2 - n1):,.0f}, "
              f"in plat_ticks {(c2[1] - c1[1]) / (n2 - n1):,.0f}", flush=True)
    for admin in ("counts", True):
        print(f"cost of the metrics ({names[admin]}): {per[admin] - per[False]:,.0f} "
              f"instructions per request, "
              f"{100.0 * (per[admin] - per[False]) / per[False]:.2f} %")


if __name__ == "__main__":
    sys.exit(main())
