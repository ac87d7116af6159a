#!/usr/bin/env python3
"""Windows-specific server tests: one case per run (--case), the server as a black box.

--mode wine runs isapihost.exe through win32/wine-run.sh (paths handed to it as Z:\\...);
--mode native runs the native isapihost; --mode winelib runs the Winelib build through its
launcher, win32/isapihost-wine (given as --wine-run; Linux paths). Every server is started on 127.0.0.1 port 0 with a
port file, every wait is bounded, and the process is always ended at the end (SIGINT, the
Ctrl+C Wine turns into CTRL_C_EVENT, then SIGKILL to its process group if it hangs).

Cases:
  ext          (wine) ext.dll built with the plain mingw-w64 command line is served: its
               X-Ext-Filter header shows the tree's bitness
  decorated    (wine) ext.c linked without a .def file: served; on i686 through the
               stdcall-decorated names (GetFilterVersion@4), with the loader's warning
  otherbits    ext.dll of the other bitness (wine), or a 32-bit ELF header (native), is
               refused by --check with one line naming the file and both bitnesses
  otherformat  (native) a PE DLL header is refused with one line saying it is a Windows DLL
  notfilter    an ISAPI extension DLL is refused: "not an ISAPI filter"
  missingdep   a filter whose dependency is not installed: "... could not be found"
               (wine: naming dep.dll, read from the import table)
  missingfile  a path that does not exist: "the file does not exist"
  notdll       a text file: "it is not a DLL"
  registry     a .reg file given with --registry sets W3SVC MajorVersion/MinorVersion
               (MinorVersion random per run); ext reads them and reports X-W3SVC-Version
  crash        (wine) crasher faults in several notifications: the request fails, the
               server lives, the next connection is served, the error log names the filter,
               the exception and the notification
  crashload    (wine) crasher faults in GetFilterVersion: --check fails with one line
  withdep      (winelib) needsdep.dll with dep.dll beside it loads: the DLL's own folder
               is searched first for its dependencies
  mixed        (winelib) the launcher refuses DLLs of both bitnesses with one line naming
               them, before starting anything
  nobuild      (winelib) the launcher names the missing Winelib build and how to make it
  relative     (winelib) a relative --filter path and a relative INI work from the
               caller's folder (the launcher passes absolute paths)
The wine-mode cases marked (wine) also run in winelib mode.
"""
import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

A = None


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def win(path):
    """A Unix path as the server sees it (Z:\\... under Wine)."""
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if A.mode == "wine" else path


def command(args, env_extra=None):
    if A.mode == "winelib":
        env = ["env", "WINEPREFIX=" + A.prefix, "ISAPIHOST_WINELIB%d=%s" % (A.bits, A.server)]
        return env + ["%s=%s" % kv for kv in (env_extra or {}).items()] + [A.wine_run] + args
    if A.mode == "wine":
        return [A.wine_run, "--prefix", A.prefix, "--timeout", "180", A.server] + args
    return [A.server] + args


def as_root_args():
    """As root (CI), a Linux server runs filters as root only when told so."""
    return ["--run-as-root"] if A.mode in ("native", "winelib") and os.geteuid() == 0 else []


def run_check(filter_path, extra=None, env=None):
    """isapihost --check with one filter; returns (exit code, stdout, stderr lines)."""
    args = ["--listen", "127.0.0.1:0", "--root", win(A.site), "--filter", filter_path, "--check"]
    args += as_root_args()
    p = subprocess.run(command(args + (extra or [])), capture_output=True, text=True,
                       timeout=120, env=env)
    lines = [l for l in p.stderr.replace("\r", "").split("\n") if l.strip()]
    return p.returncode, p.stdout, lines


def expect_refused(filter_path, *needles, env=None):
    rc, out, lines = run_check(filter_path, env=env)
    print("exit %d, stderr: %r" % (rc, lines))
    if rc == 0:
        fail("the server accepted %s" % filter_path)
    errors = [l for l in lines if l.startswith("isapihost: filter ")]
    if len(errors) != 1:
        fail("expected exactly one 'isapihost: filter ...' line, got %r" % lines)
    line = errors[0]
    for n in (filter_path,) + needles:
        if n not in line:
            fail("%r not in the error line %r" % (n, line))
    print("ok: " + line)


class Server:
    def __init__(self, args, env=None):
        self.tmp = tempfile.mkdtemp(prefix="wintest-")
        self.portfile = os.path.join(self.tmp, "port")
        self.errlog = os.path.join(self.tmp, "error.log")
        full = ["--listen", "127.0.0.1:0", "--port-file", win(self.portfile),
                "--root", win(A.site), "--error-log", win(self.errlog)] + args
        full += as_root_args()
        self.out = open(os.path.join(self.tmp, "stdout"), "w")
        self.proc = subprocess.Popen(command(full), stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        deadline = time.time() + 90
        self.port = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                fail("the server exited with %s before listening: %s" % (self.proc.returncode,
                                                                         self.output()))
            try:
                with open(self.portfile) as f:
                    text = f.read().split()
                if text:
                    self.port = int(text[0])
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        if not self.port:
            self.stop()
            fail("no port file after 90 s: " + self.output())

    def output(self):
        text = ""
        for name in ("stdout", "error.log"):
            try:
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.out.close()
        return self.proc.returncode


def get(port, path, timeout=20):
    """One request on a new connection. Returns (status, headers dict, body), or None when
    the server closed the connection without an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % path).encode())
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def ext_path(bits):
    return os.path.join(A.dir, "ext%d" % bits, "ext.dll")


def case_ext():
    srv = Server(["--filter", win(ext_path(A.bits))])
    try:
        r = get(srv.port, "/")
        print("response: %r" % (r[:2] if r else r,))
        if not r or r[0] != 200:
            fail("GET / did not answer 200")
        if r[1].get("x-ext-filter") != "%d-bit" % A.bits:
            fail("X-Ext-Filter is %r, expected %d-bit" % (r[1].get("x-ext-filter"), A.bits))
    finally:
        rc = srv.stop()
    if rc != 0:
        fail("the server did not stop cleanly on SIGINT (exit %s): %s" % (rc, srv.output()))
    print("ok: ext.dll served, exit 0 after SIGINT")


def case_decorated():
    path = os.path.join(A.dir, "decorated", "ext.dll")
    srv = Server(["--filter", win(path)])
    try:
        r = get(srv.port, "/")
        if not r or r[0] != 200 or r[1].get("x-ext-filter") != "%d-bit" % A.bits:
            fail("the filter linked without a .def file is not active: %r" % (r[:2] if r else r,))
    finally:
        rc = srv.stop()
    log = srv.output()
    warned = "exports GetFilterVersion@4 instead of GetFilterVersion" in log
    if A.bits == 32 and not warned:
        fail("no warning about the stdcall-decorated exports: " + log)
    if A.bits == 64 and "instead of" in log:
        fail("a 64-bit DLL has no decoration, yet the loader warned: " + log)
    if rc != 0:
        fail("the server did not stop cleanly (exit %s)" % rc)
    print("ok: loaded by %s name%s" % ("decorated" if A.bits == 32 else "plain",
                                      ", with the warning" if warned else ""))


def case_otherbits():
    if A.mode == "winelib":
        # Past the launcher (which would pick the other build): the server's own message.
        other = 64 if A.bits == 32 else 32
        machine = {32: "i386", 64: "x86-64"}
        path = ext_path(other)
        p = subprocess.run(["env", "WINEPREFIX=" + A.prefix, A.wine_run, "--exec", A.server,
                            "--listen", "127.0.0.1:0", "--root", A.site, "--filter", path,
                            "--check"] + as_root_args(), capture_output=True, text=True,
                           timeout=120)
        lines = [l for l in p.stderr.split("\n") if l.startswith("isapihost: filter ")]
        print("exit %d, stderr: %r" % (p.returncode, p.stderr))
        want = ("is a %d-bit Windows DLL (%s)" % (other, machine[other]),
                "isapihost.exe is %d-bit (%s)" % (A.bits, machine[A.bits]), path)
        if p.returncode == 0 or len(lines) != 1 or not all(w in lines[0] for w in want):
            fail("expected one line with %r" % (want,))
        print("ok: " + lines[0])
    elif A.mode == "wine":
        other = 64 if A.bits == 32 else 32
        machine = {32: "i386", 64: "x86-64"}
        expect_refused(win(ext_path(other)),
                       "is a %d-bit Windows DLL (%s)" % (other, machine[other]),
                       "isapihost.exe is %d-bit (%s)" % (A.bits, machine[A.bits]))
    else:
        path = os.path.join(tempfile.mkdtemp(prefix="wintest-"), "elf32.so")
        with open(path, "wb") as f:   # ELF32, little endian, ET_DYN, EM_386
            f.write(b"\x7fELF\x01\x01\x01" + b"\0" * 9 + b"\x03\x00\x03\x00" + b"\0" * 32)
        expect_refused(path, "is a 32-bit ELF shared object (i386)", "is 64-bit (x86-64)")


def case_otherformat():
    path = os.path.join(tempfile.mkdtemp(prefix="wintest-"), "win.dll")
    pe = bytearray(0x200)
    pe[0:2] = b"MZ"
    pe[0x3c:0x40] = (0x80).to_bytes(4, "little")
    pe[0x80:0x84] = b"PE\0\0"
    pe[0x84:0x86] = (0x14c).to_bytes(2, "little")       # i386
    pe[0x96:0x98] = (0x2102).to_bytes(2, "little")      # DLL | 32BIT | EXECUTABLE
    pe[0x98:0x9a] = (0x10b).to_bytes(2, "little")       # PE32
    with open(path, "wb") as f:
        f.write(pe)
    expect_refused(path, "is a 32-bit Windows DLL (i386)", "compiled from source")


def case_notfilter():
    expect_refused(win(A.notfilter), "not an ISAPI filter", "GetFilterVersion is not exported",
                   "ISAPI extension")


def case_missingdep():
    if A.mode != "native":
        expect_refused(win(os.path.join(A.dir, "nodep", "needsdep.dll")),
                       "a DLL it depends on could not be found: dep.dll")
    else:
        expect_refused(A.needsdep, "a shared library it depends on could not be found")


def case_missingfile():
    expect_refused(win(os.path.join(A.dir, "no-such-dir", "nofilter.dll")),
                   "the file does not exist")


def case_notdll():
    path = os.path.join(tempfile.mkdtemp(prefix="wintest-"), "readme.dll")
    with open(path, "w") as f:
        f.write("This is a text file, not a DLL.\n")
    expect_refused(win(path), "it is not a DLL")


def case_registry():
    minor = random.randint(1, 9999)
    reg = os.path.join(tempfile.mkdtemp(prefix="wintest-"), "w3svc.reg")
    with open(reg, "w") as f:
        f.write("REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\W3SVC"
                "\\Parameters]\n\"MajorVersion\"=dword:0000000a\n\"MinorVersion\"=dword:%08x\n"
                % minor)
    ext = win(ext_path(A.bits)) if A.mode != "native" else A.ext
    srv = Server(["--registry", win(reg), "--filter", ext])
    try:
        r = get(srv.port, "/")
        print("response: %r" % (r[:2] if r else r,))
        if not r or r[0] != 200:
            fail("GET / did not answer 200")
        got = r[1].get("x-w3svc-version")
        if got != "10.%d" % minor:
            fail("X-W3SVC-Version is %r, expected 10.%d" % (got, minor))
    finally:
        srv.stop()
    print("ok: the filter read MajorVersion 10, MinorVersion %d" % minor)


CRASHES = [
    ("/crash/null", "0xc0000005 (access violation writing address 0x", "SF_NOTIFY_PREPROC_HEADERS"),
    ("/crash/read/url_map", "0xc0000005 (access violation reading address 0x", "SF_NOTIFY_URL_MAP"),
    ("/crash/div0/send_response", "0xc0000094 (integer divide by zero)", "SF_NOTIFY_SEND_RESPONSE"),
    ("/crash/null/log", "0xc0000005 (access violation writing", "SF_NOTIFY_LOG"),
]


def case_crash():
    crasher = win(A.crasher)
    srv = Server(["--filter", crasher])
    try:
        r = get(srv.port, "/")
        if not r or r[0] != 200 or r[1].get("x-crasher") != "alive":
            fail("the crasher filter is not active: %r" % (r,))
        for url, exc, notif in CRASHES:
            r = get(srv.port, url)
            print("%s -> %r" % (url, r[:2] if r else r))
            if r and r[0] == 200 and notif in ("SF_NOTIFY_PREPROC_HEADERS", "SF_NOTIFY_URL_MAP"):
                fail("%s was served although the filter crashed before the response" % url)
            if r and r[1].get("connection") != "close":
                fail("%s: the connection was not closed: %r" % (url, r[1]))
            if not srv.alive():
                fail("the server died after %s: %s" % (url, srv.output()))
            r = get(srv.port, "/readme.txt")
            if not r or r[0] != 200:
                fail("the request after %s failed: %r" % (url, r))
            deadline = time.time() + 10
            line = None
            while time.time() < deadline and line is None:
                for l in srv.output().splitlines():
                    if "exception " + exc in l and notif in l:
                        line = l
                time.sleep(0.2)
            if not line:
                fail("no log line with %r and %r:\n%s" % (exc, notif, srv.output()))
            for n in ("filter " + crasher, "crasher.dll+0x", "the request failed"):
                if n not in line:
                    fail("%r not in %r" % (n, line))
            print("ok: " + line)
    finally:
        rc = srv.stop()
    if rc != 0:
        fail("the server did not stop cleanly after the crashes (exit %s)" % rc)
    print("ok: %d crashes contained, the server stopped with exit 0" % len(CRASHES))


def case_crashload():
    env = dict(os.environ, CRASHER_AT_LOAD="1")
    expect_refused(win(A.crasher), "crashed while loading: exception 0xc0000005",
                   "in GetFilterVersion", env=env)


def case_withdep():
    srv = Server(["--filter", os.path.join(A.dir, "withdep", "needsdep.dll")])
    try:
        r = get(srv.port, "/")
        print("response: %r" % (r[:2] if r else r,))
        if not r or r[0] != 200:
            fail("GET / with needsdep.dll loaded did not answer 200: " + srv.output())
    finally:
        rc = srv.stop()
    if rc != 0:
        fail("the server did not stop cleanly (exit %s)" % rc)
    print("ok: needsdep.dll found dep.dll in its own folder")


def launcher(args, env_extra=None, cwd=None):
    p = subprocess.run(command(args, env_extra), capture_output=True, text=True, timeout=120,
                       cwd=cwd)
    return p.returncode, [l for l in p.stderr.split("\n") if l.strip()], p.stdout


def case_mixed():
    a, b = ext_path(32), ext_path(64)
    rc, lines, _ = launcher(["--listen", "127.0.0.1:0", "--root", A.site, "--filter", a,
                             "--filter", b, "--check"])
    print("exit %d, stderr: %r" % (rc, lines))
    if rc == 0 or len(lines) != 1:
        fail("expected a refusal in one line")
    for n in ("isapihost-wine: ", "mix bitnesses", a, b):
        if n not in lines[0]:
            fail("%r not in %r" % (n, lines[0]))
    print("ok: " + lines[0])


def case_nobuild():
    other = 64 if A.bits == 32 else 32
    rc, lines, _ = launcher(["--listen", "127.0.0.1:0", "--root", A.site, "--filter",
                             ext_path(other), "--check"],
                            {"ISAPIHOST_WINELIB%d" % other: "/nonexistent/isapihost.exe"})
    print("exit %d, stderr: %r" % (rc, lines))
    if rc == 0 or not lines or "no %d-bit Winelib build" % other not in lines[0] \
            or not any("--preset winelib%d" % other in l for l in lines):
        fail("the missing build is not named with the way to build it")
    print("ok: " + " / ".join(lines))


def case_relative():
    work = tempfile.mkdtemp(prefix="wintest-")
    os.makedirs(os.path.join(work, "conf", "dlls"))
    dll = os.path.join(work, "conf", "dlls", "ext.dll")
    with open(ext_path(A.bits), "rb") as src, open(dll, "wb") as dst:
        dst.write(src.read())
    with open(os.path.join(work, "conf", "site.ini"), "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:0\nroot = %s\n%s[filters]\next = dlls/ext.dll\n"
                % (A.site, "run_as_root = yes\n" if as_root_args() else ""))
    rc, lines, out = launcher(["--config", "conf/site.ini", "--check"], cwd=work)
    print("exit %d, stdout %r, stderr: %r" % (rc, out, lines))
    if rc != 0 or "1 filter(s) loaded" not in out:
        fail("a relative INI naming a DLL relative to itself did not load")
    rc, lines, out = launcher(["--listen", "127.0.0.1:0", "--root", A.site, "--filter",
                               "conf/dlls/ext.dll", "--check"] + as_root_args(), cwd=work)
    if rc != 0 or "1 filter(s) loaded" not in out:
        fail("a relative --filter did not load: %r" % lines)
    print("ok: relative INI and --filter paths load")


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--mode", choices=("wine", "native", "winelib"), required=True)
    p.add_argument("--wine-run")
    p.add_argument("--prefix")
    p.add_argument("--server", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--crasher")
    p.add_argument("--notfilter")
    p.add_argument("--ext")
    p.add_argument("--needsdep")
    A = p.parse_args()
    fn = globals().get("case_" + A.case)
    if not fn:
        fail("unknown case " + A.case)
    fn()


if __name__ == "__main__":
    main()
