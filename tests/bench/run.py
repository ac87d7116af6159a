#!/usr/bin/env python3
"""isapihost against nginx: the benchmark of docs/performance.md.

    python3 tests/bench/run.py --build build/release [--rounds 3] [--duration 5]
                               [--w64 /path/to/win64-build] [--winelib TREE]... [--out FILE]
    python3 tests/bench/run.py --build <native tree> --quick      (the CTest test)

How it works. A temporary folder holds the site (small.txt, 64 bytes; upcase/page.html,
4 KiB of lower-case HTML), an nginx configuration of its own (every path inside the
folder, daemon off, no root-only path, running as the current user) and the logs. Each
measured run starts a fresh server on 127.0.0.1 (port 0 / a free port), waits until it
answers, drives it with wrk (or bench_flood09, bench_idle) for a bounded time, reads its
resident memory from /proc (nginx: master plus workers summed) and stops it. Runs
alternate isapihost and nginx (A B A B ...) for every scenario, `--rounds` times; the
table holds the median of the rounds and the ratio isapihost/nginx. Every child process
is killed in a finally block, whatever happens.

Fairness. nginx runs `worker_processes N` (one event loop per core: N is nproc);
isapihost runs `--concurrency N`, N of its worker threads running at once, and its
default `--workers` (16 threads in all, the rest for filters that block). Both write an
access log to a file (one write per request each), both have keep-alive on, sendfile is
off in nginx (isapihost copies through user space) -- see docs/performance.md.

Scenarios: S1 static keep-alive; S2 S1 + the no-op filter; S3 the upcase filter on a
4 KiB page (nginx serves the plain page: the ratio is the cost of the filter against the
bare peer); S4a a new connection per request (wrk, "Connection: close"); S4b an HTTP/0.9
flood (bench_flood09); S5 10,000 idle keep-alive connections (bench_idle), memory per
connection; S6 (with --w64) isapihost.exe under Wine against the native isapihost on S1;
W2 and W3 (with --winelib, a winelib64 or winelib32 tree): S2 and S3 served by the Winelib
build with the mingw-w64 DLLs (bench_noop.dll, upcase.dll) through win32/isapihost-wine,
against the native isapihost with the .so builds of the same sources (target >= 0.9; the
32-bit rows against a 32-bit native tree when --native32 names one);
X1 a hello-world ISAPI extension (bench_hello, 64 bytes with Content-Length, keep-alive,
reached by a script map) against nginx answering the same 64 bytes with `return 200`
(target >= 0.9); M2 S2 with the admin listener (metrics, call times) against S2 without
it, the peer being isapihost itself (target >= 0.98: the bookkeeping costs under 2 %); W2
and W3 also give the CPU the prefix's wineserver used, as a share of the server's; and the
engine dispatch microbenchmark (bench_dispatch).

--quick runs each scenario once for about a second with small counts and asserts only
that each produced a non-zero count and that the table was written.
"""
import argparse
import grp
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
CHILDREN = []


# ---- processes ------------------------------------------------------------------------

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn(argv, **kw):
    p = subprocess.Popen(argv, preexec_fn=raise_nofile, start_new_session=True, **kw)
    CHILDREN.append(p)
    return p


def stop(p, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds; the whole session of p."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(5)


def stop_all():
    for p in CHILDREN:
        stop(p, 2.0)


def descendants(pid):
    """pid and every descendant process (read from /proc)."""
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(')') + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(kids.get(q, []))
    return out


def pss_kib(pids):
    """Sum of Pss (KiB) over pids: shared pages divided among the processes sharing them,
    so a master and its workers are not charged three times for the same library."""
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/smaps_rollup') as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def mem_kib(pids):
    """Sum of VmRSS and of VmHWM (KiB) over pids."""
    rss = hwm = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/status') as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        rss += int(line.split()[1])
                    elif line.startswith('VmHWM:'):
                        hwm += int(line.split()[1])
        except OSError:
            pass
    return rss, hwm


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_answer(port, deadline_s, proc):
    """Waits until GET /small.txt on port answers; False on timeout or if proc died."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
                s.sendall(b'GET /small.txt HTTP/1.0\r\n\r\n')
                if s.recv(64).startswith(b'HTTP/1.'):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


# ---- the servers ----------------------------------------------------------------------

class Server:
    name = ''
    proc = None
    port = 0

    def memory(self):
        return mem_kib(self.pids())

    def pids(self):
        return descendants(self.proc.pid)

    def stop(self):
        stop(self.proc)


class Isapihost(Server):
    name = 'isapihost'

    def __init__(self, ctx, filters=(), wine=None, tag='isapihost', winelib=None, ini='',
                 binary=None):
        self.ctx, self.filters, self.wine, self.tag = ctx, filters, wine, tag
        self.binary = binary or ctx.isapihost   # another native tree's server (--native32)
        self.winelib = winelib   # (isapihost.exe, prefix, bits) of a Winelib tree
        self.ini = ini           # INI text read first (--config), for what has no option

    def start(self):
        c = self.ctx
        d = tempfile.mkdtemp(prefix=self.tag + '-', dir=c.tmp)
        portfile = os.path.join(d, 'port')
        log = os.path.join(d, 'access.log')
        if self.wine:
            exe, prefix = self.wine
            z = lambda p: 'Z:' + p.replace('/', '\\')
            argv = [os.path.join(SOURCE, 'win32', 'wine-run.sh'), '--prefix', prefix,
                    '--timeout', '900', exe, '--listen', '127.0.0.1:0',
                    '--port-file', z(portfile), '--root', z(c.site), '--log', z(log),
                    '--error-log', z(os.path.join(d, 'error.log'))] + c.thread_args
        elif self.winelib:
            exe, prefix, bits = self.winelib
            argv = ['env', f'WINEPREFIX={prefix}', f'ISAPIHOST_WINELIB{bits}={exe}',
                    os.path.join(SOURCE, 'win32', 'isapihost-wine'), '--listen', '127.0.0.1:0',
                    '--port-file', portfile, '--root', c.site, '--log', log,
                    '--error-log', os.path.join(d, 'error.log')] + c.thread_args
            if os.geteuid() == 0:
                argv.append('--run-as-root')   # a Linux process: as root only when told so
        else:
            argv = [self.binary, '--listen', '127.0.0.1:0', '--port-file', portfile,
                    '--root', c.site, '--log', log,
                    '--error-log', os.path.join(d, 'error.log')] + c.thread_args
            if os.geteuid() == 0:
                argv.append('--run-as-root')   # filters as root only when told so
        for f in self.filters:
            argv += ['--filter', z(f) if self.wine else f]
        if self.ini:
            ini = os.path.join(d, 'isapihost.ini')
            with open(ini, 'w') as f:
                f.write(self.ini)
            argv[1:1] = ['--config', z(ini) if self.wine else ini]
        self.proc = spawn(argv, stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(d, 'stderr'), 'w'))
        end = time.monotonic() + (120 if self.wine or self.winelib else 15)
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                with open(portfile) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text.split()[0])
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        if not self.port or not wait_answer(self.port, 30, self.proc):
            self.stop()
            raise RuntimeError(f'{self.tag} did not start; see {d}/stderr')
        return self

    def pids(self):
        # Under Wine: the process running isapihost.exe (not wine-run/timeout/wineserver).
        pids = descendants(self.proc.pid)
        if not self.wine and not self.winelib:
            return pids
        out = []
        for pid in pids:
            try:
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    if b'isapihost.exe' in f.read():
                        out.append(pid)
            except OSError:
                pass
        leaf = [p for p in out if not any(q != p and q in descendants(p) for q in out)]
        return leaf or out


NGINX_CONF = """\
# Generated by tests/bench/run.py: nginx for the benchmark, every path in this folder.
{user}daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections {conns};
}}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{ text/html html htm; text/plain txt; }}
    default_type application/octet-stream;
    sendfile off;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 10000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        # scenario X1: the hello-world extension's 64 bytes, answered from memory
        location = /hello.hello {{
            default_type text/plain;
            return 200 "{hello}";
        }}
    }}
}}
"""


class Nginx(Server):
    name = 'nginx'

    def __init__(self, ctx, conns=1024):
        self.ctx, self.conns = ctx, conns

    def start(self):
        c = self.ctx
        d = tempfile.mkdtemp(prefix='nginx-', dir=c.tmp)
        self.port = free_port()
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        # Why: nginx started by root switches its workers to "nobody", who cannot read
        # this private folder; name the current user (ignored when not root).
        user = ''
        if os.geteuid() == 0:
            user = f'user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n'
        conf = os.path.join(d, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(user=user, workers=c.nginx_workers, nofile=nofile, d=d,
                                      conns=self.conns, port=self.port, root=c.site,
                                      hello=HELLO_ANSWER.replace('\n', '\\n')))
        self.proc = spawn([c.nginx, '-p', d, '-c', conf, '-e', os.path.join(d, 'error.log')],
                          stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(d, 'stderr'), 'w'))
        if not wait_answer(self.port, 15, self.proc):
            self.stop()
            raise RuntimeError(f'nginx did not start; see {d}/stderr and {d}/error.log')
        return self

    def stop(self):
        # nginx's master stops its workers on SIGTERM (fast shutdown).
        stop(self.proc)


# The answer of tests/bench/filters/hello/hello.c, byte for byte (64 bytes).
HELLO_ANSWER = 'isapihost benchmark: hello, world, from an ISAPI extension.....\n'
assert len(HELLO_ANSWER) == 64


# ---- load generators ------------------------------------------------------------------

def parse_wrk_ms(text):
    m = re.match(r'([\d.]+)(us|ms|s)$', text)
    if not m:
        return float('nan')
    v = float(m.group(1))
    return v / 1000 if m.group(2) == 'us' else v * 1000 if m.group(2) == 's' else v


def same_answer(port, path, want):
    """Fetches path once and checks that the body is `want`: both servers of a scenario
    must answer the same bytes for the ratio to mean anything."""
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(f'GET {path} HTTP/1.0\r\n\r\n'.encode())
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    body = data.partition(b'\r\n\r\n')[2]
    if body != want:
        raise RuntimeError(f'{path} on port {port} answered {body!r}, not {want!r}')


def run_wrk(ctx, port, path, connections, extra=()):
    argv = [ctx.wrk, '-t', str(ctx.wrk_threads), '-c', str(connections),
            '-d', f'{max(1, round(ctx.duration))}s', '--timeout', '2s', '--latency', *extra,
            f'http://127.0.0.1:{port}{path}']
    out = subprocess.run(argv, capture_output=True, text=True,
                         timeout=ctx.duration + 30).stdout
    rps = re.search(r'Requests/sec:\s+([\d.]+)', out)
    p50 = re.search(r'^\s+50%\s+(\S+)', out, re.M)
    p99 = re.search(r'^\s+99%\s+(\S+)', out, re.M)
    total = re.search(r'(\d+) requests in', out)
    errs = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', out)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return {
        'count': int(total.group(1)) if total else 0,
        'rps': float(rps.group(1)) if rps else 0.0,
        'p50': parse_wrk_ms(p50.group(1)) if p50 else float('nan'),
        'p99': parse_wrk_ms(p99.group(1)) if p99 else float('nan'),
        'errors': (sum(int(x) for x in errs.groups()) if errs else 0)
                  + (int(non2xx.group(1)) if non2xx else 0),
        'raw': out,
    }


def run_flood(ctx, port, request):
    argv = [ctx.tool('bench_flood09'), '127.0.0.1', str(port), str(ctx.flood_threads),
            f'{ctx.duration:g}', request]
    out = subprocess.run(argv, capture_output=True, text=True,
                         timeout=ctx.duration + 30).stdout
    f = dict(zip(out.split()[0::2], out.split()[1::2]))
    return {
        'count': int(f.get('requests', 0)),
        'rps': float(f.get('rps', 0)),
        'p50': float(f.get('p50_ms', 'nan')),
        'p99': float(f.get('p99_ms', 'nan')),
        'errors': int(f.get('errors', 0)),
        'raw': out,
    }


def run_idle(ctx, server):
    """Opens ctx.idle_conns idle connections; memory per connection in KiB."""
    time.sleep(0.3)
    base_rss, _ = server.memory()
    p = spawn([ctx.tool('bench_idle'), '127.0.0.1', str(server.port), str(ctx.idle_conns),
               '120'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        t0 = time.monotonic()
        line = p.stdout.readline()
        opened = time.monotonic() - t0
        m = re.match(r'held (\d+) failed (\d+)', line)
        held = int(m.group(1)) if m else 0
        time.sleep(1.0)   # let the server park them (isapihost frees idle buffers)
        rss, hwm = server.memory()
        p.stdin.close()
        p.wait(30)
    finally:
        stop(p)
    per = (rss - base_rss) / held if held else float('nan')
    return {'count': held, 'errors': ctx.idle_conns - held, 'rps': held / opened if opened else 0,
            'p50': float('nan'), 'p99': float('nan'), 'per_conn_kib': per,
            'base_rss': base_rss, 'rss': rss, 'hwm': hwm, 'raw': line}


# ---- scenarios ------------------------------------------------------------------------

class Ctx:
    pass


def make_site(root):
    os.makedirs(os.path.join(root, 'upcase'), exist_ok=True)
    with open(os.path.join(root, 'small.txt'), 'w') as f:
        f.write('isapihost benchmark: a small static file of 64 bytes, no filter.\n'[:63] + '\n')
    para = ('<p>the quick brown fox jumps over the lazy dog; pack my box with five dozen '
            'liquor jugs.</p>\n')
    head = ('<!DOCTYPE html>\n<html><head><title>benchmark page</title></head>\n<body>\n')
    tail = '</body></html>\n'
    body = head
    while len(body) + len(para) + len(tail) <= 4096:
        body += para
    body += ' ' * (4096 - len(body) - len(tail) - 1) + '\n' + tail
    assert len(body) == 4096
    with open(os.path.join(root, 'upcase', 'page.html'), 'w') as f:
        f.write(body)


def scenarios(ctx):
    noop = ctx.filter_path('bench_noop')
    upcase = ctx.filter_path('upcase')
    hello_ini = f'[script_maps]\n.hello = {ctx.filter_path("bench_hello")},1\n'
    close_hdr = ('-H', 'Connection: close')
    c = ctx.connections
    return [
        ('S1', 'static 64 B, keep-alive, no filter',
         lambda: Isapihost(ctx), lambda s: run_wrk(ctx, s.port, '/small.txt', c)),
        ('S2', 'S1 + no-op filter (5 notifications)',
         lambda: Isapihost(ctx, [noop]), lambda s: run_wrk(ctx, s.port, '/small.txt', c)),
        ('S3', 'upcase filter, 4 KiB HTML (nginx: plain page)',
         lambda: Isapihost(ctx, [upcase]),
         lambda s: run_wrk(ctx, s.port, '/upcase/page.html', c)),
        ('S4a', 'new connection per request (Connection: close)',
         lambda: Isapihost(ctx), lambda s: run_wrk(ctx, s.port, '/small.txt', c, close_hdr)),
        ('S4b', 'HTTP/0.9 flood (bench_flood09)',
         lambda: Isapihost(ctx), lambda s: run_flood(ctx, s.port, 'GET /small.txt\\r\\n')),
        ('S5', f'{ctx.idle_conns} idle keep-alive connections',
         lambda: Isapihost(ctx), lambda s: run_idle(ctx, s)),
        ('X1', 'hello-world extension, 64 B, keep-alive (nginx: return 200)',
         lambda: Isapihost(ctx, ini=hello_ini),
         lambda s: (same_answer(s.port, '/hello.hello', HELLO_ANSWER.encode()),
                    run_wrk(ctx, s.port, '/hello.hello', c))[1]),
    ]


def cpu_ticks(pids):
    """User and system CPU time of the processes, in clock ticks (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def wineserver_pids(prefix):
    """The wineserver of this Wine prefix: it runs in the prefix's server folder, named
    server-<device>-<inode> of the prefix (hexadecimal) under Wine's temporary folder."""
    st = os.stat(prefix)
    want = f'server-{st.st_dev:x}-{st.st_ino:x}'
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open(f'/proc/{d}/comm') as f:
                    if (f.read().startswith('wineserver')
                            and os.path.basename(os.readlink(f'/proc/{d}/cwd')) == want):
                        out.append(int(d))
            except OSError:
                pass
    return out


def with_wineserver_cpu(drive, prefix):
    """drive, plus the CPU the prefix's wineserver used during it as a percentage of the
    server's: the Winelib build's claim is that requests never go through wineserver."""
    def run(srv):
        ws = wineserver_pids(prefix)
        s0, w0 = cpu_ticks(srv.pids()), cpu_ticks(ws)
        r = drive(srv)
        s1, w1 = cpu_ticks(srv.pids()), cpu_ticks(ws)
        r['wineserver_pct'] = (100.0 * (w1 - w0) / (s1 - s0) if ws and s1 > s0
                               else float('nan'))
        return r
    return run


def with_server_cpu(drive):
    """drive, plus the server's own CPU time per request (user and system, /proc), in
    microseconds: a small cost shows there more steadily than in the request rate, which
    the load generator on the same processors also moves."""
    hz = os.sysconf('SC_CLK_TCK')

    def run(srv):
        c0 = cpu_ticks(srv.pids())
        r = drive(srv)
        c1 = cpu_ticks(srv.pids())
        r['cpu_us'] = (1e6 * (c1 - c0) / hz / r['count']) if r.get('count') else float('nan')
        return r
    return run


def measure(ctx, make, drive):
    srv = make().start()
    try:
        r = drive(srv)
        rss, hwm = srv.memory()
        r.setdefault('rss', rss)
        r.setdefault('hwm', hwm)
        r.setdefault('pss', pss_kib(srv.pids()))
    finally:
        srv.stop()
    return r


def med(values):
    v = [x for x in values if x == x]
    return statistics.median(v) if v else float('nan')


def ratio(a, b):
    return a / b if b and a == a and b == b else float('nan')


def fmt(x, digits=1):
    return '-' if x != x else f'{x:.{digits}f}'


def summarise(runs):
    keys = ('rps', 'p50', 'p99', 'rss', 'hwm', 'pss', 'per_conn_kib', 'wineserver_pct',
            'cpu_us')
    return {k: med([r.get(k, float('nan')) for r in runs]) for k in keys} | {
        'count': sum(r['count'] for r in runs), 'errors': sum(r['errors'] for r in runs),
        'spread': (min(r['rps'] for r in runs), max(r['rps'] for r in runs)),
        'rounds': [r['rps'] for r in runs]}


def paired_ratios(sa, sb):
    """Each isapihost round against the peer round run right after it: the median and the
    extremes. Rounds drift with the machine; a pair shares its moment."""
    rs = [ratio(a, b) for a, b in zip(sa['rounds'], sb['rounds'])]
    rs = [r for r in rs if r == r]
    if not rs:
        return '-'
    return f'{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})'


TARGETS = {'S1': ('rps', '>=', 1.0), 'S2': ('rps', '>=', 0.95), 'S3': ('rps', '>=', 0.85),
           'S4a': ('rps', '>=', 1.0), 'S4b': ('rps', '>=', 1.0),
           'W2': ('rps', '>=', 0.9), 'W3': ('rps', '>=', 0.9), 'X1': ('rps', '>=', 0.9),
           'M2': ('rps', '>=', 0.98)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', required=True, help='native build tree (release preset)')
    ap.add_argument('--nginx', default=shutil.which('nginx') or '/usr/sbin/nginx')
    ap.add_argument('--wrk', default=shutil.which('wrk') or 'wrk')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--duration', type=float, default=5, help='seconds per measured run')
    ap.add_argument('--connections', type=int, default=32, help='wrk connections')
    ap.add_argument('--wrk-threads', type=int, default=2)
    ap.add_argument('--workers', type=int, default=0,
                    help='isapihost --workers (default: the server\'s own)')
    ap.add_argument('--nginx-workers', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--flood-threads', type=int, default=8)
    ap.add_argument('--idle', type=int, default=10000, help='S5 idle connections')
    ap.add_argument('--only', default='', help='comma-separated scenarios (S1,...,S6,X1,M2,D)')
    ap.add_argument('--w64', default='', help='win64 build tree for S6 (isapihost.exe)')
    ap.add_argument('--winelib', action='append', default=[],
                    help='winelib64/winelib32 build tree for W2 and W3 (repeatable)')
    ap.add_argument('--native32', default='',
                    help='32-bit native tree: the peer of the 32-bit W rows (else the native '
                         'tree of --build)')
    ap.add_argument('--quick', action='store_true', help='a few seconds, no targets')
    ap.add_argument('--out', default='', help='write the table (Markdown) here')
    a = ap.parse_args()

    ctx = Ctx()
    ctx.build = os.path.abspath(a.build)
    ctx.isapihost = os.path.join(ctx.build, 'host', 'isapihost')
    ctx.nginx, ctx.wrk = a.nginx, a.wrk
    ctx.rounds, ctx.duration = a.rounds, a.duration
    ctx.connections, ctx.wrk_threads = a.connections, a.wrk_threads
    ctx.workers = a.workers
    ctx.thread_args = ['--concurrency', str(a.nginx_workers)]
    if a.workers:
        ctx.thread_args += ['--workers', str(a.workers)]
    ctx.nginx_workers, ctx.flood_threads, ctx.idle_conns = a.nginx_workers, a.flood_threads, a.idle
    if a.quick:
        ctx.rounds, ctx.duration, ctx.connections, ctx.idle_conns = 1, 1, 8, 200
        ctx.flood_threads = 2
    ctx.tool = lambda n: os.path.join(ctx.build, 'tests', 'bench', n)
    ctx.filter_path = lambda n: next(
        (p for p in (os.path.join(ctx.build, 'tests', 'bench', n + '.so'),
                     os.path.join(ctx.build, 'samples', n + '.so')) if os.path.exists(p)),
        os.path.join(ctx.build, 'samples', n + '.so'))
    for path in (ctx.isapihost, ctx.tool('bench_flood09'), ctx.tool('bench_idle'),
                 ctx.tool('bench_dispatch')):
        if not os.path.exists(path):
            sys.exit(f'run.py: {path} is missing: build the tree first')
    only = set(x for x in a.only.split(',') if x)
    raise_nofile()

    ctx.tmp = tempfile.mkdtemp(prefix='isapihost-bench-')
    ctx.site = os.path.join(ctx.tmp, 'site')
    make_site(ctx.site)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rows, failures = [], []
    try:
        for sid, desc, make_a, drive in scenarios(ctx):
            if only and sid not in only and sid[:2] not in only:
                continue
            ra, rb = [], []
            # worker_connections: 1024 covers the load generators; S5 needs every idle
            # connection to fit in one worker (nginx does not balance accepts evenly).
            conns = ctx.idle_conns + 1024 if sid == 'S5' else 1024
            for rnd in range(ctx.rounds):
                # A B A B ...: both servers see the same background load on average.
                ra.append(measure(ctx, make_a, drive))
                rb.append(measure(ctx, lambda: Nginx(ctx, conns), drive))
                print(f'{sid} round {rnd + 1}: isapihost {ra[-1]["rps"]:.0f}/s '
                      f'nginx {rb[-1]["rps"]:.0f}/s', flush=True)
            rows.append((sid, desc, 'nginx', summarise(ra), summarise(rb)))
        if ('S6' in only or not only) and a.w64:
            exe = os.path.join(os.path.abspath(a.w64), 'host', 'isapihost.exe')
            prefix = os.path.join(os.path.abspath(a.w64), 'wineprefix')
            ra, rb = [], []
            drive = lambda s: run_wrk(ctx, s.port, '/small.txt', ctx.connections)
            for rnd in range(ctx.rounds):
                ra.append(measure(ctx, lambda: Isapihost(ctx, wine=(exe, prefix), tag='wine64'),
                                  drive))
                rb.append(measure(ctx, lambda: Isapihost(ctx), drive))
                print(f'S6 round {rnd + 1}: wine {ra[-1]["rps"]:.0f}/s '
                      f'native {rb[-1]["rps"]:.0f}/s', flush=True)
            rows.append(('S6', 'S1, isapihost.exe (x86_64) under Wine', 'native isapihost',
                         summarise(ra), summarise(rb)))
        if 'M2' in only or not only:
            # The metrics' bookkeeping: S2 with the admin listener (counters and call times)
            # against S2 without it, alternated; the peer is isapihost itself.
            noop = ctx.filter_path('bench_noop')
            admin_ini = '[admin]\nlisten = 127.0.0.1:0\n' + os.environ.get('BENCH_ADMIN_EXTRA', '')
            drive = with_server_cpu(lambda s: run_wrk(ctx, s.port, '/small.txt',
                                                      ctx.connections))
            ra, rb = [], []
            for rnd in range(ctx.rounds):
                ra.append(measure(ctx, lambda: Isapihost(ctx, [noop], ini=admin_ini,
                                                         tag='metrics'), drive))
                rb.append(measure(ctx, lambda: Isapihost(ctx, [noop]), drive))
                print(f'M2 round {rnd + 1}: with metrics {ra[-1]["rps"]:.0f}/s '
                      f'without {rb[-1]["rps"]:.0f}/s', flush=True)
            rows.append(('M2', 'S2 with [admin] listen (metrics: counters and call times)',
                         'S2 without', summarise(ra), summarise(rb)))
        for tree in a.winelib:
            tree = os.path.abspath(tree)
            exe = os.path.join(tree, 'host', 'isapihost.exe')
            with open(exe + '.so', 'rb') as f:
                bits = 64 if f.read(5)[4] == 2 else 32
            wl = (exe, os.path.join(tree, 'wineprefix'), bits)
            dll = lambda n: os.path.join(tree, 'pe-filters', n + '.dll')
            # The peer: the native server of the same bitness when there is one, so the row
            # measures Wine's in-process path, not 32-bit code against 64-bit code.
            peer_tree = os.path.abspath(a.native32) if bits == 32 and a.native32 else ctx.build
            peer_bin = os.path.join(peer_tree, 'host', 'isapihost')
            peer_so = lambda n: next(
                (p for p in (os.path.join(peer_tree, 'tests', 'bench', n + '.so'),
                             os.path.join(peer_tree, 'samples', n + '.so'))
                 if os.path.exists(p)), os.path.join(peer_tree, 'samples', n + '.so'))
            peer_name = 'native 32-bit isapihost' if peer_tree != ctx.build else 'native isapihost'
            for sid, desc, so, url in (
                    ('W2', 'S2 no-op filter', 'bench_noop', '/small.txt'),
                    ('W3', 'S3 upcase filter, 4 KiB HTML', 'upcase', '/upcase/page.html')):
                if only and sid not in only and 'W' not in only:
                    continue
                drive = lambda s, url=url: run_wrk(ctx, s.port, url, ctx.connections)
                ra, rb = [], []
                for rnd in range(ctx.rounds):
                    ra.append(measure(ctx, lambda: Isapihost(ctx, [dll(so)], tag=f'winelib{bits}',
                                                             winelib=wl),
                                      with_wineserver_cpu(drive, wl[1])))
                    rb.append(measure(ctx, lambda: Isapihost(ctx, [peer_so(so)],
                                                             binary=peer_bin), drive))
                    print(f'{sid} ({bits}-bit) round {rnd + 1}: winelib {ra[-1]["rps"]:.0f}/s '
                          f'native {rb[-1]["rps"]:.0f}/s', flush=True)
                rows.append((f'{sid}/{bits}', f'{desc}: Winelib {bits}-bit, {so}.dll',
                             f'{peer_name}, {so}.so', summarise(ra), summarise(rb)))
        dispatch = None
        if not only or 'D' in only:
            out = subprocess.run([ctx.tool('bench_dispatch'), ctx.filter_path('bench_noop'),
                                  '20000' if a.quick else '2000000'],
                                 capture_output=True, text=True, timeout=300)
            dispatch = out.stdout
            if out.returncode != 0 or 'overhead_ns_per_call' not in dispatch:
                failures.append(f'dispatch: exit {out.returncode}: {out.stderr.strip()}')
    finally:
        stop_all()

    lines = table(ctx, rows, dispatch, a)
    text = '\n'.join(lines) + '\n'
    print(text)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)
    for sid, _, _, sa, sb in rows:
        if sa['count'] == 0 or sb['count'] == 0:
            failures.append(f'{sid}: no request completed (isapihost {sa["count"]}, '
                            f'peer {sb["count"]})')
    if a.out and not os.path.getsize(a.out):
        failures.append(f'{a.out} is empty')
    if failures:
        print('run.py: FAILED\n  ' + '\n  '.join(failures), file=sys.stderr)
        print(f'run.py: logs kept in {ctx.tmp}', file=sys.stderr)
        return 1
    shutil.rmtree(ctx.tmp, ignore_errors=True)
    return 0


def table(ctx, rows, dispatch, a):
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((l.split(':', 1)[1].strip() for l in f if l.startswith('model name')), '')
        with open('/proc/meminfo') as f:
            mem = f.readline().split()[1]
    except (OSError, StopIteration):
        mem = '?'
    out = [f'Machine: {os.cpu_count()} CPUs, {cpu}, {int(mem) // 1024} MiB, '
           f'{platform.system()} {platform.release()}',
           f'Settings: {ctx.rounds} round(s) of {ctx.duration:g} s per server and scenario, '
           f'alternated; wrk -t{ctx.wrk_threads} -c{ctx.connections}; isapihost '
           f'{" ".join(ctx.thread_args)}; nginx worker_processes {ctx.nginx_workers}; bench_flood09 '
           f'{ctx.flood_threads} threads; S5 {ctx.idle_conns} connections. '
           f'Medians of the rounds; ratio = isapihost / peer (the target is judged on it); '
           f'round ratios pair each isapihost round with the peer round run after it.'
           + (' QUICK MODE: numbers are meaningless.' if a.quick else ''),
           '',
           '| scenario | | req/s isapihost | req/s peer | ratio | p50 ms (i / peer) | '
           'p99 ms (i / peer) | VmRSS KiB (i / peer) | VmHWM KiB (i / peer) | '
           'rss ratio | Pss KiB (i / peer) | target | errors (i / peer) | '
           'req/s range (i ; peer) | round ratios: median (lowest-highest) |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for sid, desc, peer, sa, sb in rows:
        r = ratio(sa['rps'], sb['rps'])
        target = ''
        if sid.split('/')[0] in TARGETS:
            _, _, t = TARGETS[sid.split('/')[0]]
            target = f'>= {t} ' + ('met' if r >= t else 'MISSED')
        elif sid == 'S6':
            target = 'reported'
        extra = ''
        if sid == 'M2':
            extra = (f' (server CPU per request: {fmt(sa["cpu_us"], 2)} us with, '
                     f'{fmt(sb["cpu_us"], 2)} us without, ratio '
                     f'{fmt(ratio(sa["cpu_us"], sb["cpu_us"]), 3)})')
        if sid.startswith('W'):
            extra = (f' (wineserver CPU {fmt(sa["wineserver_pct"], 2)} % of the Winelib '
                     f'server\'s)')
        if sid == 'S5':
            per_a, per_b = sa['per_conn_kib'], sb['per_conn_kib']
            target = f'<= 4 KiB/conn ' + ('met' if per_a <= 4 else 'MISSED')
            extra = f' {fmt(per_a, 2)} KiB/conn vs {fmt(per_b, 2)} KiB/conn (ratio {fmt(ratio(per_a, per_b), 2)})'
        out.append(
            f'| {sid} | {desc} vs {peer}{extra} | {fmt(sa["rps"], 0)} | {fmt(sb["rps"], 0)} | '
            f'{fmt(r, 2)} | {fmt(sa["p50"], 2)} / {fmt(sb["p50"], 2)} | '
            f'{fmt(sa["p99"], 2)} / {fmt(sb["p99"], 2)} | {fmt(sa["rss"], 0)} / '
            f'{fmt(sb["rss"], 0)} | {fmt(sa["hwm"], 0)} / {fmt(sb["hwm"], 0)} | '
            f'{fmt(ratio(sa["rss"], sb["rss"]), 2)} | {fmt(sa["pss"], 0)} / {fmt(sb["pss"], 0)} | '
            f'{target} | '
            f'{sa["errors"]} / {sb["errors"]} | '
            f'{sa["spread"][0]:.0f}-{sa["spread"][1]:.0f} ; {sb["spread"][0]:.0f}-{sb["spread"][1]:.0f} | '
            f'{paired_ratios(sa, sb)} |')
    if dispatch:
        out += ['', 'Engine dispatch (bench_dispatch, best of 5 passes):', '', '```',
                dispatch.strip(), '```']
        m = re.findall(r'overhead_ns_per_call (\S+) ([\d.-]+)', dispatch)
        for name, v in m:
            out.append(f'- dispatch overhead per filter call, {name}: {float(v):.2f} ns '
                       f'(target <= 20 ns: {"met" if float(v) <= 20 else "MISSED"})')
    return out


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        stop_all()
