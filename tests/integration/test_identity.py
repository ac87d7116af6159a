"""test_identity.py - serving as an unprivileged account (issue "Running it for real", part
"Identity").

Started as root with user = nobody, the server binds its listener, then gives root up
(setgroups, setgid, setuid) before it loads a filter: the supervisor and the serving
process must both show nobody's ids in /proc/<pid>/status (real, effective, saved and
filesystem; no supplementary group but nogroup), a request must be served through a
filter, and the log files must be created by nobody with mode 0640. As root with no user,
the start is refused unless run_as_root = yes, which warns; an unknown account stops the
start with one line. Native, as root only (CI runs the tests as root).
"""
import os
import pwd
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, run_server_once  # noqa: E402

suite = Suite("integration_identity")


def skip(t):
    if t.env.wine:
        t.skip("user/group", "Windows has no root to give up: the service manager picks the "
               "account")
        return True
    if t.env.winelib:
        t.skip("user/group", "the Winelib build runs in a Wine prefix owned by the account "
               "that made it; another account cannot use it")
        return True
    if os.geteuid() != 0:
        t.skip("user/group", "the test must run as root (it does in CI) to switch accounts")
        return True
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        t.skip("user/group", "no account 'nobody' on this machine")
        return True
    return False


def ids(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = val.split()
    return out


def check_ini_lines(t, settings, want):
    """--check with settings: it must fail with one line holding every piece of want."""
    s = t.server(settings=settings, start=False)
    ini = s.write_ini()
    rc, out, err = run_server_once(t.env, ["--config", t.env.spath(ini), "--check"])
    # the server's own lines (a launcher may say it is creating its Wine prefix first)
    lines = [l for l in err.replace("\r", "").splitlines() if l.startswith("isapihost:")]
    t.check(rc == 1 and len(lines) == 1 and all(w in lines[0] for w in want),
            f"refused with one line naming {want}", f"rc {rc}: {lines!r}")


@suite.case
def serves_as_nobody(t):
    if skip(t):
        return
    nobody = pwd.getpwnam("nobody")
    srv = t.server(filters=["headers"], settings={"user": "nobody", "run_as_root": None},
                   start=False)
    # nobody must be able to read the site and the filters, and write the logs
    os.chmod(srv.dir, 0o755)
    logs = srv.path("logs")
    os.makedirs(logs)
    os.chown(logs, nobody.pw_uid, nobody.pw_gid)
    srv.settings["log"] = os.path.join(logs, "access.log")
    srv.settings["error_log"] = os.path.join(logs, "error.log")
    srv.start()
    r = srv.get("/index.html")
    t.eq(r and r.status, 200, "a request is served")
    t.eq(r and r.header("X-Content-Type-Options"), "nosniff", "through the filter")
    uid, gid = str(nobody.pw_uid), str(nobody.pw_gid)
    for what, pid in (("the serving process", srv.serving_pid()),
                      ("the supervisor", srv.proc.pid)):
        got = ids(pid)
        t.eq(got.get("Uid"), [uid] * 4, f"{what}: real, effective, saved, fs uid are nobody's")
        t.eq(got.get("Gid"), [gid] * 4, f"{what}: every gid is nobody's group")
        t.eq(got.get("Groups"), [gid], f"{what}: no supplementary group left from root")
    t.check(srv.serving_pid() != srv.proc.pid, "a serving child exists",
            (srv.serving_pid(), srv.proc.pid))
    srv.wait_access(1)
    for name in ("access.log", "error.log"):
        p = os.path.join(logs, name)
        if not t.check(os.path.exists(p), f"{name} created", os.listdir(logs)):
            continue
        st = os.stat(p)
        t.eq((st.st_uid, stat.S_IMODE(st.st_mode)), (nobody.pw_uid, 0o640),
             f"{name}: owned by nobody, mode 0640")
    t.eq(srv.stop(), 0, "graceful stop as nobody")


@suite.case
def user_refused_on_windows(t):
    if not t.env.wine:
        return
    check_ini_lines(t, {"user": "nobody"}, ["user", "'nobody'", "not supported on Windows"])


@suite.case
def root_needs_saying_so(t):
    if t.env.winelib and os.geteuid() == 0:
        # the switch itself cannot be tried there (see skip), the refusal can
        check_ini_lines(t, {"run_as_root": None}, ["user", "run_as_root = yes"])
        return
    if skip(t):
        return
    check_ini_lines(t, {"run_as_root": None}, ["isapihost.ini", "user", "run_as_root = yes"])
    check_ini_lines(t, {"user": "no-such-account-here", "run_as_root": None},
                    ["isapihost.ini", "user", "no-such-account-here", "no such user"])
    check_ini_lines(t, {"user": "root", "run_as_root": None}, ["user", "'root' is root"])
    check_ini_lines(t, {"group": "nogroup"}, ["group", "needs user"])
    srv = t.server(settings={"run_as_root": "yes"})
    r = srv.get("/index.html")
    t.eq(r and r.status, 200, "run_as_root = yes serves")
    t.eq(ids(srv.serving_pid()).get("Uid", [""])[1], "0", "as root")
    t.check("serving as root (run_as_root = yes)" in srv.error_log(), "with a warning",
            srv.error_log()[-500:])


if __name__ == "__main__":
    suite.run()
