"""test_install.py - `cmake --install` and `cpack -G DEB` (issue "Running it for real",
part "Install and package").

The build tree under test is installed into a staging folder (DESTDIR, so the machine's
own /usr/local and /etc are never touched); the installed server then runs from there on
a loopback port, with the installed sample filters and the installed placeholder site,
and must serve through them; the installed default configuration must pass --check. Then `cpack -G DEB` packages the same tree into a scratch
folder; the package must list the binary, the systemd unit, the default configuration
(as a conffile), the sample filters and the headers, and its postinst must create the
account and enable the unit where systemd runs. The package is not installed. Native
only: the Windows and Winelib builds have no install rules.
"""
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Conn, Suite, parse_responses  # noqa: E402

suite = Suite("integration_install")


def build_dir(env):
    """The build tree: the samples folder's parent, where CMakeCache.txt is."""
    d = os.path.dirname(env.samples)
    return d if os.path.exists(os.path.join(d, "CMakeCache.txt")) else None


def install_prefix(build):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        m = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", f.read(), re.M)
    return m.group(1) if m else "/usr/local"


def skip_unless_native(t):
    if t.env.wine or t.env.winelib:
        t.skip("install and package", "only the native build has install rules")
        return None
    b = build_dir(t.env)
    if not b:
        t.skip("install and package", f"no CMakeCache.txt beside {t.env.samples}")
    return b


def wait_port(path, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                return int(text.split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            pass
        time.sleep(0.05)
    return None


def get(port, path):
    with Conn(port) as c:
        c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = c.read_until_close()
    rs, _ = parse_responses(data)
    return rs[0] if rs else None


@suite.case
def no_install_rules_elsewhere(t):
    """The Windows and Winelib trees have no install rules (and no libshim to install):
    `cmake --install` must succeed and stage no server."""
    if not (t.env.wine or t.env.winelib):
        return
    build = os.path.dirname(os.path.dirname(t.env.server))
    stage = tempfile.mkdtemp(prefix="isapihost-stage-")
    try:
        p = subprocess.run(["cmake", "--install", build], capture_output=True, text=True,
                           env=dict(os.environ, DESTDIR=stage), timeout=120)
        t.eq(p.returncode, 0, f"cmake --install of the {t.env.flavour} tree: {p.stderr[-300:]}")
        staged = [os.path.join(dp, f) for dp, _, fs in os.walk(stage) for f in fs]
        t.check(not any(os.path.basename(f).startswith("isapihost") for f in staged),
                "nothing of the server staged", staged[:5])
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@suite.case
def staged_install_serves(t):
    build = skip_unless_native(t)
    if not build:
        return
    stage = tempfile.mkdtemp(prefix="isapihost-stage-")
    proc = None
    try:
        env = dict(os.environ, DESTDIR=stage)
        p = subprocess.run(["cmake", "--install", build], env=env, capture_output=True,
                           text=True, timeout=120)
        t.eq(p.returncode, 0, f"cmake --install: {p.stderr[-500:]}")
        root = stage + install_prefix(build)
        for rel in ("bin/isapihost", "lib/isapihost/libshim.so",
                    "lib/isapihost/filters/headers.so", "lib/isapihost/filters/headers.ini",
                    "lib/isapihost/filters/upcase.so", "include/isapihost/httpfilt.h",
                    "include/isapihost/windows.h", "lib/cmake/isapihost/IsapiFilter.cmake",
                    "lib/cmake/isapihost/isapihostConfig.cmake",
                    "lib/systemd/system/isapihost.service", "share/isapihost/site/index.html",
                    "share/doc/isapihost/configuration.md"):
            t.check(os.path.exists(os.path.join(root, rel)), f"installed {rel}",
                    sorted(os.listdir(root)))
        conf = [os.path.join(dp, f) for dp, _, fs in os.walk(stage) for f in fs
                if f == "isapihost.ini" and dp.endswith("etc/isapihost")]
        t.check(len(conf) == 1, "the default configuration in etc/isapihost", conf)
        logdirs = [dp for dp, _, _ in os.walk(stage) if dp.endswith("var/log/isapihost")]
        t.check(len(logdirs) == 1, "the log folder var/log/isapihost", logdirs)
        if conf:
            text = open(conf[0]).read()
            t.check("listen = *:80" in text and "user = isapihost" in text,
                    "the default configuration: port 80, the isapihost account", text)
            # The packaged configuration itself is valid: --check it, with only what points
            # outside the staging folder (or needs the package's account and port 80)
            # overridden on the command line.
            account = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
            over = stage + "/check"
            os.makedirs(over)
            os.chmod(stage, 0o755)
            os.chmod(over, 0o777)
            p = subprocess.run([os.path.join(root, "bin/isapihost"), "--config", conf[0],
                                "--listen", "127.0.0.1:0", "--root",
                                os.path.join(root, "share/isapihost/site"), "--log-dir", over,
                                "--error-log", os.path.join(over, "error.log"), "--user",
                                account, "--check"], capture_output=True, text=True,
                               timeout=30)
            t.check(p.returncode == 0 and "configuration OK" in p.stdout,
                    f"the packaged configuration passes --check (as {account})",
                    p.stdout + p.stderr)

        # run the installed server, with the installed filters and site, on loopback
        scratch = os.path.join(stage, "run")
        os.makedirs(scratch)
        os.chmod(stage, 0o755)
        logdir = logdirs[0] if logdirs else scratch
        filters = os.path.join(root, "lib/isapihost/filters")
        ini = os.path.join(scratch, "isapihost.ini")
        with open(ini, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:0\n"
                    f"root = {root}/share/isapihost/site\n"
                    f"port_file = {scratch}/port\nerror_log = {scratch}/error.log\n"
                    f"log_dir = {logdir}\nrun_as_root = yes\nshutdown_timeout = 5\n"
                    f"[filters]\nheaders = {filters}/headers.so\nupcase = {filters}/upcase.so\n")
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        proc = subprocess.Popen([os.path.join(root, "bin/isapihost"), "--config", ini],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(scratch, "stderr.txt"), "wb"),
                                env=env, cwd=scratch, start_new_session=True)
        port = wait_port(os.path.join(scratch, "port"), proc)
        if not t.check(port, "the installed server starts",
                       open(os.path.join(scratch, "stderr.txt")).read()):
            return
        r = get(port, "/")
        t.eq(r and r.status, 200, "the placeholder site is served")
        t.check(r and b"isapihost is installed" in r.body, "its page", r and r.body[:100])
        t.eq(r and r.header("X-Content-Type-Options"), "nosniff",
             "through the installed headers filter")
        maps = open(f"/proc/{proc.pid}/maps").read() if os.path.exists(f"/proc/{proc.pid}/maps") else ""
        kids = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
        if kids:
            maps = open(f"/proc/{kids[0]}/maps").read()
        t.check(os.path.join(root, "lib/isapihost/libshim.so") in maps,
                "the installed libshim is the one loaded (RUNPATH $ORIGIN)",
                [l for l in maps.splitlines() if "shim" in l][:3])
        proc.send_signal(signal.SIGTERM)
        t.eq(proc.wait(20), 0, "graceful stop")
        proc = None
        logs = [f for f in os.listdir(logdir) if f.startswith("u_ex")]
        t.check(logs, "the W3C log in the installed log folder", os.listdir(logdir))
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(stage, ignore_errors=True)


@suite.case
def cpack_deb(t):
    build = skip_unless_native(t)
    if not build:
        return
    if not shutil.which("dpkg-deb"):
        t.skip("cpack -G DEB", "dpkg-deb is not installed (Debian's dpkg)")
        return
    out = tempfile.mkdtemp(prefix="isapihost-deb-")
    try:
        p = subprocess.run(["cpack", "-G", "DEB", "-B", out, "--config",
                            os.path.join(build, "CPackConfig.cmake")],
                           capture_output=True, text=True, timeout=200, cwd=out)
        t.eq(p.returncode, 0, f"cpack -G DEB: {p.stdout[-500:]} {p.stderr[-500:]}")
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        if not t.eq(len(debs), 1, "one .deb"):
            return
        deb = os.path.join(out, debs[0])
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
        prefix = install_prefix(build)
        for rel in (f"{prefix}/bin/isapihost", f"{prefix}/lib/systemd/system/isapihost.service",
                    f"{prefix}/lib/isapihost/filters/headers.so",
                    f"{prefix}/include/isapihost/httpfilt.h", "isapihost/isapihost.ini"):
            t.check(rel in listing, f"the package lists {rel}", listing[-800:])
        ctl = os.path.join(out, "control")
        subprocess.run(["dpkg-deb", "-e", deb, ctl], check=True)
        postinst = open(os.path.join(ctl, "postinst")).read()
        t.check("adduser --system" in postinst and "isapihost" in postinst,
                "postinst creates the isapihost account", postinst)
        t.check("/run/systemd/system" in postinst and "systemctl enable isapihost.service"
                in postinst, "postinst enables the unit when systemd runs", postinst)
        t.check(os.access(os.path.join(ctl, "postinst"), os.X_OK), "postinst is executable")
        conffiles = open(os.path.join(ctl, "conffiles")).read()
        t.check("isapihost/isapihost.ini" in conffiles, "the configuration is a conffile",
                conffiles)
        unit = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True).stdout
        t.check(b"ExecStart=" + prefix.encode() + b"/bin/isapihost --config" in unit,
                "the unit starts the packaged binary with the packaged configuration")
        info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True,
                              text=True).stdout
        t.check("libxml2" in info and "adduser" in info, "dependencies from shlibdeps + adduser",
                info)
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    suite.run()
