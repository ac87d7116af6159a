"""test_logs.py - the logs in operation (issue "Running it for real", part "Logs").

Size rollover under concurrent requests: a log_dir with log_period = size and 4 KiB files,
8 clients sending requests at once; every request must be found exactly once, whole, in
the u_extendN.log files, and every file must begin with the W3C directives. Period files:
the daily file is named u_exYYMMDD.log (UTC) with #Fields at its top. Bad log settings stop
the server at start with one line naming the file and the setting. SIGUSR1 (native only):
after logrotate-style renames of both logs, the signal sent to the main process (the
supervisor) makes the serving process write new lines to new files at the original paths.
The rollover itself across a period boundary, with an injected clock, is
tests/unit/host/test_logroll.c.
"""
import datetime
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, run_server_once, wait_for  # noqa: E402

suite = Suite("integration_logs")


def read_records(path):
    """(directive lines at the top, record lines) of one W3C file."""
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    head = []
    for line in lines:
        if not line.startswith("#"):
            break
        head.append(line)
    return head, [l for l in lines[len(head):] if l and not l.startswith("#")]


def logs_in(d, prefix):
    return sorted(n for n in os.listdir(d) if n.startswith(prefix) and n.endswith(".log"))


@suite.case
def size_rollover_under_concurrent_requests(t):
    logdir = None
    clients, per_client = 8, (25 if t.env.wine else 100)
    srv = t.server(settings={"log": None, "log_dir": "logs", "log_period": "size",
                             "log_truncate_size": "4096", "workers": "8"}, start=False)
    logdir = srv.path("logs")
    os.makedirs(logdir)
    srv.settings["log_dir"] = t.env.spath(logdir)
    srv.start()
    failures = []

    def client(n):
        for i in range(per_client):
            r = srv.get(f"/index.html?c={n}&i={i}", timeout=30.0)
            if r is None or r.status != 200:
                failures.append((n, i, r and r.status))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(failures, [], "every request answered 200")
    want = clients * per_client

    def count():
        return sum(len(read_records(os.path.join(logdir, n))[1])
                   for n in logs_in(logdir, "u_extend")) >= want
    wait_for(count, 15.0)
    srv.stop()
    seen, torn, bad_heads = {}, [], []
    names = logs_in(logdir, "u_extend")
    for name in names:
        head, recs = read_records(os.path.join(logdir, name))
        if len(head) < 4 or not head[0].startswith("#Software:") \
                or not head[3].startswith("#Fields: date time"):
            bad_heads.append((name, head))
        fields = head[3].split()[1:] if len(head) >= 4 else []
        for line in recs:
            cols = line.split(" ")
            if len(cols) != len(fields) or not fields:
                torn.append(line)
                continue
            rec = dict(zip(fields, cols))
            q = rec.get("cs-uri-query", "")
            seen[q] = seen.get(q, 0) + 1
    t.check(len(names) >= 5, "the 4 KiB limit gave several files", f"{len(names)}: {names}")
    t.eq(bad_heads, [], "every file starts with the directives, #Fields fourth")
    t.eq(torn, [], "no torn line")
    t.eq(len(seen), want, "every request logged")
    t.eq([q for q, n in seen.items() if n != 1], [], "each exactly once")
    sizes = [os.path.getsize(os.path.join(logdir, n)) for n in names[:-1]]
    t.check(all(s <= 4096 + 8 * 300 for s in sizes),
            "files stay near the limit (one line per writer over at most)", repr(sizes))


@suite.case
def daily_file_named_as_iis(t):
    srv = t.server(settings={"log": None, "log_dir": "x"}, start=False)
    logdir = srv.path("logs")
    os.makedirs(logdir)
    srv.settings["log_dir"] = t.env.spath(logdir)
    before = datetime.datetime.now(datetime.timezone.utc).strftime("u_ex%y%m%d.log")
    srv.start()
    r = srv.get("/index.html")
    t.eq(r and r.status, 200, "served")
    after = datetime.datetime.now(datetime.timezone.utc).strftime("u_ex%y%m%d.log")
    names = wait_for(lambda: [n for n in logs_in(logdir, "u_ex")
                              if read_records(os.path.join(logdir, n))[1]], 5.0)
    srv.stop()
    t.check(names and names[-1] in (before, after), "today's file by IIS's name (UTC)",
            f"{names} (expected {before})")
    if names:
        head, recs = read_records(os.path.join(logdir, names[-1]))
        t.check(len(head) == 4 and head[3].startswith("#Fields:"), "#Fields at the top", head)
        t.check(any("/index.html" in l for l in recs), "the request is there", recs)


@suite.case
def bad_log_settings_stop_the_start(t):
    cases = [
        ({"log_dir": "logs", "log": None, "log_period": "fortnightly"}, "log_period",
         "expected hourly"),
        ({"log_dir": "logs", "log": None, "log_period": "size", "log_truncate_size": "100"},
         "log_truncate_size", "at least 4096"),
        ({"log_period": "daily"}, "log_period", "needs log_dir"),
        ({"log_dir": "logs"}, "log_dir", "not both"),
        ({"log_dir": "missing", "log": None}, "log_dir", "not an existing folder"),
        ({"log_local_time": "sometimes", "log": None}, "log_local_time", "yes or no"),
    ]
    for settings, name, why in cases:
        s = t.server(settings=settings, start=False)
        os.makedirs(s.path("logs"), exist_ok=True)
        if "log_dir" in settings:
            s.settings["log_dir"] = t.env.spath(s.path(settings["log_dir"]))
        ini = s.write_ini()
        rc, out, err = run_server_once(t.env, ["--config", t.env.spath(ini), "--check"])
        lines = [l for l in err.replace("\r\n", "\n").split("\n") if l]
        t.check(rc != 0, f"{name} = {settings.get(name)}: the start fails", rc)
        t.check(len(lines) == 1 and "isapihost.ini" in lines[0] and name in lines[0]
                and why in lines[0], f"{name}: one line naming the file, setting, reason",
                repr(lines))


@suite.case
def sigusr1_reopens_both_logs(t):
    if t.env.wine:
        t.skip("SIGUSR1 reopening", "Windows has no SIGUSR1: under Wine the logs roll over "
               "by period or size only")
        return
    if t.env.winelib:
        t.skip("SIGUSR1 reopening", "the Winelib launcher, not the server, is the process "
               "the test started; the native run covers the signal path")
        return
    srv = t.server()
    r = srv.get("/index.html?before")
    t.eq(r and r.status, 200, "served before the rename")
    acc, err = srv.path("access.log"), srv.path("error.log")
    wait_for(lambda: any("before" in l for l in read_records(acc)[1]), 5.0)
    os.rename(acc, acc + ".1")
    os.rename(err, err + ".1")
    # to the main process, as `kill -USR1 $(cat pidfile)` does: the supervisor
    os.kill(srv.proc.pid, signal.SIGUSR1)
    # the signal reaches the server a moment after kill() returns, and is seen by the next
    # line written: send numbered requests until one shows up in a new file; the ones sent
    # before the signal arrived may still go to the renamed file
    sent = []

    def one_more():
        sent.append(f"after{len(sent)}")
        srv.get(f"/index.html?{sent[-1]}")
        return os.path.exists(acc) and any("after" in l for l in read_records(acc)[1])
    got = wait_for(one_more, 10.0)
    t.check(got, "a new access.log at the original path with the new requests",
            sorted(os.listdir(srv.dir)))
    if os.path.exists(acc):
        head, _ = read_records(acc)
        t.check(len(head) == 4 and head[3].startswith("#Fields:"), "its directives first", head)
    old = read_records(acc + ".1")[1]
    new_records = read_records(acc)[1] if os.path.exists(acc) else []
    where = [("old" if any(f" {q} " in l for l in old) else "")
             + ("new" if any(f" {q} " in l for l in new_records) else "") for q in sent]
    t.check(any("before" in l for l in old), "the renamed file keeps the earlier records",
            old[-3:])
    t.check(all(w in ("old", "new") for w in where) and "old" not in where[where.index("new"):]
            if "new" in where else False,
            "every record is in one file, and once a record went to the new file every later "
            "one did", str(list(zip(sent, where))))
    t.eq(srv.stop(), 0, "graceful stop")
    t.check(os.path.exists(err) and "stopped" in open(err).read(),
            "the error log's later lines go to a new error.log", sorted(os.listdir(srv.dir)))


if __name__ == "__main__":
    suite.run()
