"""test_haproxy.py - two isapihost instances behind a real HAProxy (docs/scale-out.md).

HAProxy (Debian's package) balances 127.0.0.1 between two servers and checks each one's
/healthz on its admin listener, which runs no filter. Client threads drive keep-alive
requests through HAProxy and count every response. Once the second instance has served
its share, it gets SIGTERM: /healthz turns 503, HAProxy takes it out of the rotation
within one check interval, the instance serves on for drain_delay and then stops. The
load goes on until the first instance has served more requests after the stop; every
request must have been answered 200, none failed. Loopback only; bounded in time.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, wait_for  # noqa: E402

suite = Suite("integration_haproxy")

HAPROXY_CFG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend web
    bind 127.0.0.1:{front}
    default_backend isapihost

backend isapihost
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 2
    server one 127.0.0.1:{port_a} check port {admin_a}
    server two 127.0.0.1:{port_b} check port {admin_b}
"""

CLIENTS = 4


def find_haproxy():
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_haproxy(t, exe, ports, folder):
    """Starts HAProxy in the foreground on a free port; returns (process, port)."""
    for _ in range(5):
        front = free_port()
        cfg = os.path.join(folder, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(front=front, **ports))
        log = open(os.path.join(folder, "haproxy.out"), "wb")
        p = subprocess.Popen([exe, "-db", "-f", cfg], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", front), timeout=1).close()
                return p, front
            except OSError:
                time.sleep(0.02)
        p.kill()
        p.wait()
    with open(os.path.join(folder, "haproxy.out"), "rb") as f:
        raise RuntimeError("HAProxy did not start: " + f.read().decode("utf-8", "replace"))


class Load:
    """Client threads, each a keep-alive connection through HAProxy, counting responses."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses = {}
        self.failures = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                conn.request("GET", "/a.txt")
                r = conn.getresponse()
                body = r.read()
                with self.lock:
                    self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                    if r.status != 200 or body != b"first file\n":
                        self.failures.append(f"status {r.status}, body {body[:60]!r}")
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def total(self):
        with self.lock:
            return sum(self.statuses.values())


@suite.case
def stop_one_instance_under_load(t):
    if t.env.wine:
        t.skip("HAProxy in front of isapihost.exe under Wine",
               "the scale-out setup (docs/scale-out.md) is a Linux one: the native and "
               "Winelib flavours run this test")
        return
    exe = find_haproxy()
    if not exe:
        t.skip("two instances behind HAProxy",
               "haproxy is not installed (tests/setup-debian.sh test installs it)")
        return
    admin = {"listen": "127.0.0.1:0", "drain_delay": "2"}
    a = t.server(admin=admin, settings={"keepalive_timeout": "30"})
    b = t.server(admin=admin, settings={"keepalive_timeout": "30"})
    folder = tempfile.mkdtemp(prefix="isapihost-haproxy-")
    ports = {"port_a": a.port, "admin_a": a.admin_port(), "port_b": b.port,
             "admin_b": b.admin_port()}
    proxy, front = start_haproxy(t, exe, ports, folder)
    load = Load(front)
    try:
        for th in load.threads:
            th.start()
        t.check(wait_for(lambda: len(b.access_log()) >= 100, 60),
                "instance two serves its share", f"{len(b.access_log())} requests")
        t.check(len(a.access_log()) > 0, "instance one serves too")
        os.kill(b.proc.pid, signal.SIGTERM)
        try:
            rc = b.proc.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        t.eq(rc, 0, "instance two drained and stopped gracefully")
        served_by_two = len(b.access_log())
        after_stop = len(a.access_log())
        t.check(wait_for(lambda: len(a.access_log()) >= after_stop + 200, 60),
                "instance one carries the load alone after the stop",
                f"{len(a.access_log()) - after_stop} more requests")
    finally:
        load.stop.set()
        for th in load.threads:
            th.join(30)
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
    with open(os.path.join(folder, "haproxy.out"), "rb") as f:
        proxy_out = f.read().decode("utf-8", "replace")
    shutil.rmtree(folder, ignore_errors=True)
    total = load.total()
    print(f"  {total} responses: {served_by_two} from instance two before its stop, "
          f"{len(load.failures)} failures", flush=True)
    t.check(total >= 300, "the load ran", f"{total} responses")
    t.eq(load.failures[:5], [], f"every request answered 200 ({total} requests)")
    t.eq(set(load.statuses), {200}, "only 200s")
    t.check("draining: /healthz answers 503" in b.error_log(), "instance two drained",
            b.error_log()[-1500:])
    wait_for(lambda: len(a.access_log()) + served_by_two >= total, 10)
    t.eq(len(a.access_log()) + served_by_two, total,
         "every response came from one of the two instances")
    t.check("DOWN" in proxy_out, "HAProxy saw instance two go down", proxy_out[-1500:])


if __name__ == "__main__":
    suite.run()
