"""test_metrics.py - the admin listener: /metrics and /healthz (docs/configuration.md,
"[admin]").

Known traffic through two copies of the trace sample (one registered for everything, one
for PREPROC_HEADERS and LOG only), then a scrape of /metrics parsed strictly as the
Prometheus text format 0.0.4 (every line a comment of a known kind or a sample of a
declared family, label syntax and escapes, counters named *_total, histograms with
cumulative buckets ending at le="+Inf" equal to *_count, and *_sum), with exact counts:
requests by status, bytes as the W3C log has them, and per filter and notification the
calls, each equal to the lines the trace filter wrote for it. /healthz answers 200 while
serving and runs no filter; asked to stop, the server answers 503 there and serves on for
drain_delay, then stops. Bad [admin] settings stop the start with one line.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, admin_get, run_server_once  # noqa: E402

suite = Suite("integration_metrics")

ADMIN = {"listen": "127.0.0.1:0"}

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*\}}"
VALUE = r"(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)"
SAMPLE = re.compile(rf"^({NAME})({LABELS})? ({VALUE})$")
LABEL_PAIR = re.compile(rf'([a-zA-Z_][a-zA-Z0-9_]*)=({LABEL_VALUE})')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v[1:-1])


def parse_exposition(t, text):
    """Parses text strictly; returns ({family: type}, {(name, labels tuple): value}).
    Every violation is a failed check."""
    types, helps, samples = {}, set(), {}
    t.check(text.endswith("\n"), "the exposition ends with a line feed")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.+)$", line)
            if not t.check(m, f"line {n}: a HELP or TYPE comment", line):
                continue
            kind, name, rest = m.groups()
            if kind == "HELP":
                t.check(name not in helps, f"line {n}: one HELP for {name}")
                helps.add(name)
            else:
                t.check(rest in ("counter", "gauge", "histogram"), f"line {n}: a known type",
                        rest)
                t.check(name not in types, f"line {n}: one TYPE for {name}")
                types[name] = rest
            continue
        m = SAMPLE.match(line)
        if not t.check(m, f"line {n}: a sample line", repr(line)):
            continue
        name, labels, value = m.groups()
        pairs = tuple(sorted((k, unescape(v)) for k, v in LABEL_PAIR.findall(labels or "")))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and types.get(base) == "histogram":
                family = base
        t.check(family in types, f"line {n}: {name} after the TYPE of its family")
        t.check(family in helps, f"line {n}: {name} has a HELP")
        if types.get(family) == "counter":
            t.check(name.endswith("_total"), f"line {n}: counter {name} ends with _total")
        t.check((name, pairs) not in samples, f"line {n}: series {name}{labels} given once")
        samples[(name, pairs)] = float(value)
    return types, samples


def check_histograms(t, types, samples):
    """Buckets cumulative, le ascending, +Inf last and equal to _count, a _sum beside."""
    series = {}
    for (name, labels), v in samples.items():
        if name.endswith("_bucket") and types.get(name[:-7]) == "histogram":
            rest = tuple(kv for kv in labels if kv[0] != "le")
            le = dict(labels)["le"]
            series.setdefault((name[:-7], rest), []).append((float(le), v))
    t.check(series, "at least one histogram series")
    for (base, labels), buckets in series.items():
        buckets.sort()
        les = [le for le, _ in buckets]
        counts = [c for _, c in buckets]
        t.check(les[-1] == float("inf"), f"{base}{labels}: the last bucket is +Inf")
        t.eq(len(set(les)), len(les), f"{base}{labels}: no repeated le")
        t.check(all(a <= b for a, b in zip(counts, counts[1:])),
                f"{base}{labels}: buckets are cumulative", counts)
        t.eq(counts[-1], samples.get((base + "_count", labels)), f"{base}{labels}: +Inf = _count")
        t.check((base + "_sum", labels) in samples, f"{base}{labels}: has a _sum")
        t.check(samples.get((base + "_sum", labels), -1) >= 0, f"{base}{labels}: _sum >= 0")
    return series


@suite.case
def metrics_after_known_traffic(t):
    s = t.server(filters=["trace", "trace:trace2"], admin=ADMIN,
                 ini={"trace2": "[trace]\nnotifications = PREPROC_HEADERS, LOG\n"})
    aport = s.admin_port()
    mark = s.trace_mark()
    # One keep-alive connection with three requests (200, 404, 200), two single requests
    # (200, 200) and one request refused before any filter (no Host: 400).
    with s.conn() as c:
        for path in ("/a.txt", "/missing.txt", "/b.txt"):
            c.send(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            r = c.response()
            t.check(r is not None, f"{path}: answered")
    for path in ("/c.txt", "/index.html"):
        r = s.get(path)
        t.eq(r.status if r else None, 200, f"{path}: 200")
    raw = s.request(b"GET / HTTP/1.1\r\n\r\n")
    t.check(raw.startswith(b"HTTP/1.1 400 "), "no Host: 400", raw[:40])
    # Every connection's END_OF_NET_SESSION has run once the trace shows four of them.
    recs = s.wait_trace(mark, lambda rs: sum(r.get("notify") == "END_OF_NET_SESSION"
                                             and r.get("filter") == "trace" for r in rs) >= 4)
    log = s.wait_access(6)
    t.eq(len(log), 6, "six requests in the W3C log")

    def value(name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))))

    # A connection is counted until its memory is released, a moment after its
    # END_OF_NET_SESSION: scrape until the gauge has come down (or the deadline).
    deadline = time.monotonic() + 15
    while True:
        r = admin_get(aport, "/metrics")
        if not t.check(r is not None and r.status == 200, "/metrics: 200", r):
            return
        types, samples = parse_exposition(t, r.body.decode("utf-8"))
        if value("isapihost_connections_open") == 0.0 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    t.eq(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8",
         "/metrics: the text format's content type")
    check_histograms(t, types, samples)

    t.eq(value("isapihost_requests_total", code="200"), 4.0, "requests with 200")
    t.eq(value("isapihost_requests_total", code="404"), 1.0, "requests with 404")
    t.eq(value("isapihost_requests_total", code="400"), 1.0, "requests with 400")
    t.eq(sum(v for (n, _), v in samples.items() if n == "isapihost_requests_total"), 6.0,
         "no other status")
    t.eq(value("isapihost_sent_bytes_total"), float(sum(int(x["sc-bytes"]) for x in log)),
         "bytes sent = the W3C log's sc-bytes")
    t.eq(value("isapihost_received_bytes_total"),
         float(sum(int(x["cs-bytes"]) for x in log)), "bytes received = its cs-bytes")
    t.eq(value("isapihost_connections_open"), 0.0, "no connection open but the scrape's")
    t.eq(value("isapihost_draining"), 0.0, "not draining")
    t.eq(types.get("isapihost_filter_call_seconds"), "histogram", "call times: a histogram")

    # Per filter and notification: the calls equal the lines each filter wrote.
    for flt in ("trace", "trace2"):
        seen = {}
        for rec in recs:
            if rec.get("filter") == flt:
                seen[rec["notify"]] = seen.get(rec["notify"], 0) + 1
        got = {dict(l)["notification"][len("SF_NOTIFY_"):]: v
               for (n, l), v in samples.items()
               if n == "isapihost_filter_calls_total" and dict(l)["filter"] == flt and v}
        t.eq(got, {k: float(v) for k, v in seen.items()},
             f"{flt}: calls per notification = its trace lines")
        for (n, l), v in samples.items():
            if n == "isapihost_filter_calls_total" and dict(l)["filter"] == flt:
                t.eq(value("isapihost_filter_call_seconds_count", **dict(l)), v,
                     f"{flt} {dict(l)['notification']}: histogram count = calls")
        t.eq(value("isapihost_filter_crashes_total", filter=flt), 0.0, f"{flt}: no crash")
    t.eq(value("isapihost_filter_calls_total", filter="trace2",
               notification="SF_NOTIFY_PREPROC_HEADERS"), 5.0, "trace2: 5 PREPROC_HEADERS")
    t.eq(value("isapihost_filter_calls_total", filter="trace2", notification="SF_NOTIFY_LOG"),
         5.0, "trace2: 5 LOG")
    t.eq(value("isapihost_filter_calls_total", filter="trace2",
               notification="SF_NOTIFY_URL_MAP"), None,
         "trace2: no series for a notification it did not register")
    t.eq(value("isapihost_filter_calls_total", filter="trace",
               notification="SF_NOTIFY_END_OF_NET_SESSION"), 4.0,
         "trace: one END_OF_NET_SESSION per connection")


@suite.case
def call_times_of_a_sleeping_filter(t):
    # The sleeper sleeps in PREPROC_HEADERS for /slow/ URLs, between two trace filters in
    # the same walk: its calls must hold its sleep, and the filter after it, whose call
    # starts at the clock read that ended the sleeper's, must not.
    sleep_ms, slow, fast = 300, 3, 2
    s = t.server(filters=["trace", "sleeper", "trace:trace2"], admin=ADMIN,
                 ini={"trace2": "[trace]\nnotifications = PREPROC_HEADERS, LOG\n"})
    aport = s.admin_port()
    mark = s.trace_mark()
    for i in range(slow):
        r = s.get(f"/slow/{i}.txt?ms={sleep_ms}", timeout=30)
        t.check(r is not None, f"slow request {i}: answered")
    for path in ("/a.txt", "/b.txt"):
        r = s.get(path)
        t.eq(r.status if r else None, 200, f"{path}: 200")
    s.wait_trace(mark, lambda rs: sum(r.get("notify") == "LOG" and r.get("filter") == "trace2"
                                      for r in rs) >= slow + fast)
    r = admin_get(aport, "/metrics")
    if not t.check(r is not None and r.status == 200, "/metrics: 200", r):
        return
    types, samples = parse_exposition(t, r.body.decode("utf-8"))
    series = check_histograms(t, types, samples)

    def buckets(flt):
        labels = (("filter", flt), ("notification", "SF_NOTIFY_PREPROC_HEADERS"))
        return dict(series.get(("isapihost_filter_call_seconds", labels), [])), \
            samples.get(("isapihost_filter_call_seconds_sum", labels)), \
            samples.get(("isapihost_filter_call_seconds_count", labels))

    le, total, count = buckets("sleeper")
    t.eq(count, float(slow + fast), "sleeper: one PREPROC_HEADERS call per request")
    t.eq(le.get(0.1), float(fast), "sleeper: the calls that did not sleep are under 100 ms "
         "and the ones that slept 300 ms are not")
    t.eq(le.get(float("inf")), count, "sleeper: the buckets add up to the count")
    t.check(total is not None and slow * sleep_ms / 1000 <= total < slow * sleep_ms / 1000 + 30,
            f"sleeper: the time spent holds the {slow} sleeps of {sleep_ms} ms", total)
    for flt in ("trace", "trace2"):
        le, total, count = buckets(flt)
        t.eq(count, float(slow + fast), f"{flt}: one PREPROC_HEADERS call per request")
        t.eq(le.get(0.1), count, f"{flt}: no call holds the sleeper's time")
        t.check(total is not None and 0 < total < 0.1 * (slow + fast),
                f"{flt}: its time is not zero and not the sleeper's", total)


@suite.case
def counts_without_timing(t):
    s = t.server(filters=["trace"], admin={"listen": "127.0.0.1:0", "filter_timing": "no"})
    aport = s.admin_port()
    mark = s.trace_mark()
    for path in ("/a.txt", "/b.txt", "/nothing"):
        s.get(path)
    recs = s.wait_trace(mark, lambda rs: sum(r.get("notify") == "END_OF_NET_SESSION"
                                             for r in rs) >= 3)
    r = admin_get(aport, "/metrics")
    types, samples = parse_exposition(t, r.body.decode("utf-8") if r else "")
    t.check("isapihost_filter_call_seconds" not in types, "no call-time histogram")
    got = {dict(l)["notification"][len("SF_NOTIFY_"):]: v for (n, l), v in samples.items()
           if n == "isapihost_filter_calls_total" and v}
    want = {}
    for rec in recs:
        want[rec["notify"]] = want.get(rec["notify"], 0) + 1.0
    t.eq(got, want, "calls per notification are still counted, exactly")
    t.eq(samples.get(("isapihost_requests_total", (("code", "404"),))), 1.0, "one 404")


@suite.case
def health_runs_no_filter_and_drains(t):
    s = t.server(filters=["trace"], admin={"listen": "127.0.0.1:0", "drain_delay": "3"})
    aport = s.admin_port()
    r = s.get("/a.txt")
    t.eq(r.status if r else None, 200, "served")
    s.wait_trace(0, lambda rs: any(x.get("notify") == "END_OF_NET_SESSION" for x in rs))
    mark = s.trace_mark()
    for _ in range(3):
        r = admin_get(aport, "/healthz")
        t.eq((r.status, r.body) if r else None, (200, b"ok\n"), "/healthz: 200 while serving")
    r = admin_get(aport, "/healthz", method="HEAD")
    t.eq(r.status if r else None, 200, "HEAD /healthz: 200")
    t.eq(admin_get(aport, "/other").status, 404, "another path: 404")
    t.eq(admin_get(aport, "/healthz", method="POST").status, 405, "POST: 405")
    t.eq(len(s.trace()), mark, "the admin listener ran no filter")

    # Under Wine the stop is SIGINT, which Wine turns into the console's Ctrl+C (harness).
    os.kill(s.proc.pid, signal.SIGINT if t.env.wine else signal.SIGTERM)
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        r = admin_get(aport, "/healthz")
        status = r.status if r else None
        if status == 503:
            break
        time.sleep(0.02)
    t.eq(status, 503, "/healthz: 503 once asked to stop")
    r = s.get("/b.txt")
    t.eq(r.status if r else None, 200, "still serving while draining")
    m = admin_get(aport, "/metrics")
    t.check(m and b"isapihost_draining 1\n" in m.body, "isapihost_draining 1 while draining")
    try:
        rc = s.proc.wait(15)
    except Exception:
        rc = None
    t.eq(rc, 0, "then stops gracefully")
    t.check("draining: /healthz answers 503" in s.error_log(), "the drain is logged",
            s.error_log()[-2000:])


@suite.case
def bad_admin_settings(t):
    cases = [
        ("[admin]\nlisten = 127.0.0.1:http\n", "listen", "the port must be a number"),
        ("[admin]\nlisten = 127.0.0.1:0,secure\n", "listen", "takes no \",secure\""),
        ("[admin]\nbogus = 1\n", "bogus", "unknown setting in [admin]"),
        ("[admin]\nfilter_timing = maybe\n", "filter_timing", "expected yes or no"),
        ("[admin]\ndrain_delay = 0\n", "drain_delay", "from 1 to 86400"),
    ]
    for extra, setting, reason in cases:
        s = t.server(start=False)
        ini = s.write_ini()
        with open(ini) as f:
            text = f.read()
        head, _, tail = text.partition("[filters]")
        with open(ini, "w") as f:
            f.write(head + extra + "[filters]" + tail)
        nline = head.count("\n") + 2
        rc, out, err = run_server_once(s.env, ["--config", s.env.spath(ini), "--check"])
        t.eq(rc, 1, f"{setting}: exit 1")
        lines = [l for l in err.split("\n") if l]
        t.eq(len(lines), 1, f"{setting}: one line")
        line = lines[0] if lines else ""
        t.check(line.startswith(f"isapihost: {s.env.spath(ini)}:{nline}: {setting}: ")
                and reason in line, f"{setting}: names the file, line, setting, reason", line)
    s = t.server(start=False, admin={"drain_delay": "2"})
    ini = s.write_ini()
    rc, out, err = run_server_once(s.env, ["--config", s.env.spath(ini), "--check"])
    t.eq(rc, 1, "drain_delay without listen: exit 1")
    t.check(err.strip() == f"isapihost: {s.env.spath(ini)}: drain_delay: needs [admin] listen "
            "(the health check a load balancer reads)", "drain_delay without listen: one line",
            err)


if __name__ == "__main__":
    suite.run()
