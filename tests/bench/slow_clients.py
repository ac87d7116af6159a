#!/usr/bin/env python3
"""slow_clients.py - hostile clients against isapihost and nginx, measured side by side.

For each server (isapihost with its defaults, nginx with the benchmark's configuration)
and each attack, the script keeps the attack going for DURATION seconds while a probe
client asks for a small file every 100 ms on a fresh connection, and records the slowest
probe answer; a second after the attackers are gone it counts the serving processes'
descriptors against the count before. The attacks:

  slow-body    200 POSTs announcing 100,000 bytes and sending one byte every 2 s
  non-reading  200 GETs of an 8 MiB file whose clients never read
  half-close   new connections, each sending half a request head and closing at once

Usage: tests/bench/slow_clients.py --isapihost build/release/host/isapihost
         [--nginx /usr/sbin/nginx] [--clients 200] [--duration 10]
Traffic goes to 127.0.0.1 only; every loop is bounded in time. The table goes to stdout
(docs/robustness.md, "Slow and hostile clients", holds a run).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SMALL = b"<html>small</html>\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_answer(port, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"GET /small.html HTTP/1.0\r\n\r\n")
                if c.recv(12).startswith(b"HTTP/1."):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def fds(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


class Server:
    def __init__(self, name, argv, port, tmp):
        self.name, self.port, self.tmp = name, port, tmp
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if not wait_answer(port):
            self.stop()
            raise SystemExit(f"{name} did not answer on port {port}")

    def serving_pids(self):
        return children(self.proc.pid) or [self.proc.pid]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


def probe(port, stop, worst):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.sendall(b"GET /small.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                c.settimeout(10)
                ok = c.recv(12).startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        dt = time.monotonic() - t0 if ok else float("inf")
        worst[0] = max(worst[0], dt)
        stop.wait(0.1)


def attack(kind, port, clients, duration):
    socks = []
    end = time.monotonic() + duration
    if kind == "half-close":
        n = 0
        while time.monotonic() < end:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                c.sendall(b"GET /small.html HTTP/1.1\r\nHo")
                c.close()
                n += 1
            except OSError:
                pass
        return n
    for _ in range(clients):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            continue
        if kind == "slow-body":
            c.sendall(b"POST /small.html HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        else:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(c)
    while time.monotonic() < end:
        if kind == "slow-body":
            for c in socks:
                try:
                    c.send(b"a")
                except OSError:
                    pass
        time.sleep(min(2.0, max(0.0, end - time.monotonic())))
    for c in socks:
        c.close()
    return len(socks)


def run(server, kind, clients, duration):
    before = fds(server.serving_pids())
    stop, worst = threading.Event(), [0.0]
    t = threading.Thread(target=probe, args=(server.port, stop, worst))
    t.start()
    n = attack(kind, server.port, clients, duration)
    stop.set()
    t.join()
    time.sleep(1.0)   # the measured second after the attackers are gone
    after = fds(server.serving_pids())
    return n, worst[0], before, after


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--isapihost", required=True)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=float, default=10.0)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="slow-clients-")
    site = os.path.join(tmp, "site")
    os.makedirs(site)
    with open(os.path.join(site, "small.html"), "wb") as f:
        f.write(SMALL)
    with open(os.path.join(site, "big.bin"), "wb") as f:
        f.write(b"x" * (8 << 20))
    servers = []
    port = free_port()
    servers.append(("isapihost", [os.path.abspath(a.isapihost), "--listen", f"127.0.0.1:{port}",
                                  "--root", site]
                    # as root, filters run as root only when the configuration says so
                    + (["--run-as-root"] if os.geteuid() == 0 else []), port))
    if os.path.exists(a.nginx):
        port = free_port()
        d = os.path.join(tmp, "nginx")
        os.makedirs(d)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"{user}daemon off;\nworker_processes {os.cpu_count()};\npid {d}/nginx.pid;\n"
                    f"error_log {d}/error.log warn;\nevents {{ worker_connections 4096; }}\n"
                    f"http {{ access_log off; client_body_temp_path {d}/body;\n"
                    f"  types {{ text/html html; }} default_type application/octet-stream;\n"
                    f"  server {{ listen 127.0.0.1:{port}; root {site}; }} }}\n")
        servers.append(("nginx", [a.nginx, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                                  "-e", os.path.join(d, "error.log")], port))
    print(f"| attack | server | attackers | slowest probe answer | descriptors before / "
          f"1 s after |")
    print("|---|---|---|---|---|")
    try:
        for kind in ("slow-body", "non-reading", "half-close"):
            for name, argv, port in servers:
                s = Server(name, argv, port, tmp)
                try:
                    n, worst, before, after = run(s, kind, a.clients, a.duration)
                finally:
                    s.stop()
                w = "none answered" if worst == float("inf") else f"{worst * 1000:.0f} ms"
                print(f"| {kind} | {name} | {n} | {w} | {before} / {after} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
