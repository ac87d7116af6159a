#!/usr/bin/env python3
"""Instructions and system calls per request: a repeatable cost measure for a busy machine.

    python3 tests/bench/cost.py --exe build/release/host/isapihost \
        --upcase build/release/samples/upcase.so --scenario S3 --tool callgrind
    python3 tests/bench/cost.py ... --scenario S4a --tool strace
    python3 tests/bench/cost.py ... --hello build/release/tests/bench/bench_hello.so \
        --scenario X1 --tool callgrind
    python3 tests/bench/cost.py --nginx /usr/sbin/nginx --scenario X1 --tool callgrind

Wall-clock benchmarks (run.py) need a quiet machine; these counts do not. The server runs
under `valgrind --tool=callgrind --trace-children=yes` (instructions executed, Ir) or
`strace -f -c` (system calls by name), serving the site of run.py (small.txt, 64 bytes;
upcase/page.html, 4 KiB). One client on 127.0.0.1 sends a fixed number of requests, one at
a time, in the shape of run.py's scenario:

    S1   GET /small.txt, keep-alive, no filter
    S3   GET /upcase/page.html, keep-alive, the upcase filter loaded
    S4a  GET /small.txt with "Connection: close", a new connection per request
    X1   GET /hello.hello, keep-alive, the bench_hello extension reached by a script map

The server is run twice, with --small and --large requests, and the figure is the
difference divided by the difference in requests: start-up, filter loading and shutdown
cancel out. Every response is checked (status 200, the full body), so a count can never
come from a run that did not serve. The counts are of the serving process and its threads
(the supervisor idles); they do not depend on how busy the machine is, only slightly on
timing (a timer tick, a wakeup that found nothing to do).

With --nginx instead of --exe, the same is counted for nginx, configured as run.py
configures it (one worker here, its access log on, X1 answered by `return 200`): the peer
of the benchmark's ratios, counted the same way.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the site and the process helpers of the benchmark)


def read_response(sock, buf):
    """Reads one response with Content-Length; returns (status, body, rest of buf)."""
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError('connection closed before the response head')
        buf += chunk
    head, _, buf = buf.partition(b'\r\n\r\n')
    status = int(head.split(b' ', 2)[1])
    m = re.search(rb'\r\ncontent-length:\s*(\d+)', head, re.I)
    if not m:
        raise RuntimeError('no Content-Length')
    n = int(m.group(1))
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError('body cut')
        buf += chunk
    return status, buf[:n], buf[n:]


def drive(port, scenario, count, expect):
    path = {'S3': '/upcase/page.html', 'X1': '/hello.hello'}.get(scenario, '/small.txt')
    close = scenario == 'S4a'
    req = (f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
           f'{"Connection: close" + chr(13) + chr(10) if close else ""}\r\n').encode()
    sock, buf = None, b''
    for _ in range(count):
        if sock is None:
            sock = socket.create_connection(('127.0.0.1', port), timeout=120)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = b''
        sock.sendall(req)
        status, body, buf = read_response(sock, buf)
        if status != 200 or body != expect:
            raise RuntimeError(f'unexpected response: {status}, {len(body)} bytes')
        if close:
            if sock.recv(1) != b'':
                raise RuntimeError('the server did not close after Connection: close')
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def under_tool(a, d, server):
    """The server's command line under the counting tool; returns (argv, output path)."""
    if a.tool == 'callgrind':
        out = os.path.join(d, 'cg.%p')
        return ['valgrind', '--tool=callgrind', '--trace-children=yes',
                f'--callgrind-out-file={out}', '--log-file=' + os.path.join(d, 'vg.%p')] + server, out
    out = os.path.join(d, 'strace')
    return ['strace', '-f', '-c', '-o', out] + server, out


def nginx_argv(a, site, d):
    """nginx with run.py's configuration, one worker, on a free port; returns (argv, port)."""
    port = run.free_port()
    user = ''
    if os.geteuid() == 0:
        import grp
        import pwd
        user = f'user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n'
    conf = os.path.join(d, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(run.NGINX_CONF.format(user=user, workers=1, nofile=1024, d=d, conns=256,
                                      port=port, root=site,
                                      hello=run.HELLO_ANSWER.replace('\n', '\\n')))
    return [a.nginx, '-p', d, '-c', conf, '-e', os.path.join(d, 'error.log')], port


def one_run(a, site, count):
    d = tempfile.mkdtemp(prefix='cost-', dir=a.tmp)
    if a.nginx:
        return one_nginx_run(a, site, count, d)
    portfile = os.path.join(d, 'port')
    server = [a.exe, '--listen', '127.0.0.1:0', '--port-file', portfile, '--root', site,
              '--log', os.path.join(d, 'access.log'), '--error-log', os.path.join(d, 'error.log'),
              '--concurrency', str(a.concurrency)]
    if a.scenario == 'S3':
        server += ['--filter', a.upcase]
    if a.scenario == 'X1':
        ini = os.path.join(d, 'isapihost.ini')
        with open(ini, 'w') as f:
            f.write(f'[script_maps]\n.hello = {os.path.abspath(a.hello)},1\n')
        server[1:1] = ['--config', ini]
    if os.geteuid() == 0 and b'--run-as-root' in subprocess.run(
            [a.exe, '--help'], capture_output=True).stdout:
        server.append('--run-as-root')   # older builds ran filters as root unasked
    argv, out = under_tool(a, d, server)
    proc = run.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = None
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None and not port:
        try:
            with open(portfile) as f:
                text = f.read().strip()
            port = int(text.split()[0]) if text else None
        except (OSError, ValueError):
            time.sleep(0.1)
    if not port:
        run.stop(proc)
        raise RuntimeError(f'the server did not start; see {d}')
    if a.scenario == 'X1':
        expect = run.HELLO_ANSWER.encode()
    else:
        with open(os.path.join(site, 'upcase/page.html' if a.scenario == 'S3' else 'small.txt'),
                  'rb') as f:
            expect = f.read()
    if a.scenario == 'S3':
        expect = expect.upper()
    drive(port, a.scenario, count, expect)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=300)
    return collect(a, d, out)


def one_nginx_run(a, site, count, d):
    server, port = nginx_argv(a, site, d)
    argv, out = under_tool(a, d, server)
    proc = run.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not run.wait_answer(port, 120, proc):
        run.stop(proc)
        raise RuntimeError(f'nginx did not start; see {d}')
    if a.scenario == 'X1':
        expect = run.HELLO_ANSWER.encode()
    else:
        with open(os.path.join(site, 'small.txt'), 'rb') as f:
            expect = f.read()
    drive(port, a.scenario, count, expect)
    os.killpg(proc.pid, signal.SIGQUIT)   # graceful: the workers finish and write their data
    proc.wait(timeout=300)
    return collect(a, d, out)


def collect(a, d, out):
    if a.tool == 'callgrind':
        total = 0
        for name in os.listdir(d):
            if name.startswith('cg.'):
                with open(os.path.join(d, name)) as f:
                    for line in f:
                        if line.startswith('summary:') or line.startswith('totals:'):
                            total += int(line.split()[1])
                            break
        return {'Ir': total}
    calls = {}
    with open(out) as f:
        for line in f:
            cols = line.split()
            if len(cols) >= 5 and cols[0][0].isdigit() and cols[-1] != 'total':
                calls[cols[-1]] = int(cols[3])
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--exe', help='the isapihost executable')
    ap.add_argument('--nginx', help='count nginx instead (its executable; S1, S4a, X1)')
    ap.add_argument('--upcase', help='upcase.so (S3)')
    ap.add_argument('--hello', help='bench_hello.so (X1)')
    ap.add_argument('--scenario', choices=('S1', 'S3', 'S4a', 'X1'), required=True)
    ap.add_argument('--tool', choices=('callgrind', 'strace'), required=True)
    ap.add_argument('--small', type=int, default=200)
    ap.add_argument('--large', type=int, default=1200)
    ap.add_argument('--concurrency', type=int, default=2)
    ap.add_argument('--tmp', default=tempfile.gettempdir())
    a = ap.parse_args()
    if bool(a.exe) == bool(a.nginx):
        ap.error('give one of --exe and --nginx')
    if a.nginx and a.scenario == 'S3':
        ap.error('S3 has no nginx peer (the upcase filter)')
    if a.scenario == 'S3' and not a.upcase:
        ap.error('S3 needs --upcase')
    if a.scenario == 'X1' and not a.hello and not a.nginx:
        ap.error('X1 needs --hello')
    site = tempfile.mkdtemp(prefix='cost-site-', dir=a.tmp)
    run.make_site(site)
    try:
        lo = one_run(a, site, a.small)
        hi = one_run(a, site, a.large)
    finally:
        run.stop_all()
    n = a.large - a.small
    if a.tool == 'callgrind':
        print(f'{a.scenario}: {(hi["Ir"] - lo["Ir"]) / n:.0f} instructions per request '
              f'(Ir {lo["Ir"]} at {a.small} requests, {hi["Ir"]} at {a.large})')
        return
    names = sorted(set(lo) | set(hi), key=lambda k: -(hi.get(k, 0) - lo.get(k, 0)))
    total = sum(hi.values()) - sum(lo.values())
    print(f'{a.scenario}: {total / n:.2f} system calls per request')
    for k in names:
        per = (hi.get(k, 0) - lo.get(k, 0)) / n
        if abs(per) >= 0.005:
            print(f'  {k:<16} {per:6.2f}')


if __name__ == '__main__':
    main()
