"""test_static_security.py - what the static handler refuses to serve from inside the root.

A temporary site holds symbolic links out of it (a folder link "etcdir" to a folder with a
secret file, a file link "secret-link.txt" to that file), links that stay inside it, a link
cycle, dotfiles (.htpasswd, .git/config) and a .well-known file. The secret lives in its own
temporary folder, outside every server folder. Each follow_symlinks mode and serve_dotfiles
is checked against the same site, a rewrite filter that points the url (SetHeader "url")
or the physical path (URL_MAP) at an escaping or hidden path is refused too, and a bad
value stops the server with one line. docs/robustness.md ("Static files: links, dotfiles,
long names") lists the answers.

Under Wine the server sees the site as Z:\\..., and Wine follows the Unix links
transparently, so the same escapes exist there and the same cases run.
"""
import os
import shutil
import subprocess
import tempfile

import harness

suite = harness.Suite("integration_static_security")

SECRET = b"TOPSECRET-outside-the-root\n"
EXTRA = {
    ".htpasswd": b"admin:$apr1$hash\n",
    ".git/config": b"[core]\n\trepositoryformatversion = 0\n",
    ".well-known/security.txt": b"Contact: mailto:security@example.com\n",
    "sub/.hidden.txt": b"hidden in a sub folder\n",
}


class Site:
    """The secret folder outside, and the links to make inside a server's site."""

    def __init__(self):
        self.outside = tempfile.mkdtemp(prefix="isapihost-secret-")
        os.makedirs(os.path.join(self.outside, "dir"))
        for rel in ("secret.txt", "dir/secret.txt", "dir/index.html"):
            with open(os.path.join(self.outside, rel), "wb") as f:
                f.write(SECRET)

    def server(self, s, settings=None, filters=(), ini=None, root_link=False):
        site = dict(harness.SITE)
        site.update(EXTRA)
        srv = s.server(settings=settings, filters=filters, ini=ini, site=site, start=False)
        root = srv.site
        os.symlink(os.path.join(self.outside, "dir"), os.path.join(root, "etcdir"))
        os.symlink(os.path.join(self.outside, "secret.txt"),
                   os.path.join(root, "secret-link.txt"))
        os.symlink("legacy", os.path.join(root, "inlink"))          # stays inside
        os.symlink("a.txt", os.path.join(root, "inlink.txt"))       # stays inside
        os.symlink("loop", os.path.join(root, "loop"))              # a cycle
        # the root itself reached through a link: allowed in every mode
        os.symlink(root, os.path.join(srv.dir, "rootlink"))
        if root_link:
            srv.settings["root"] = s.env.spath(os.path.join(srv.dir, "rootlink"))
        srv.start()
        return srv

    def cleanup(self):
        shutil.rmtree(self.outside, ignore_errors=True)


def status(s, srv, path, want, what=""):
    r = srv.get(path)
    got = r.status if r else None
    s.check(got == want, f"{path}{what}: {want}", f"got {got}; {r!r}")
    if r is not None:
        s.check(b"TOPSECRET" not in r.body or want == 200, f"{path}{what}: secret not sent")
    return r


ESCAPES = ["/etcdir/secret.txt", "/etcdir/", "/etcdir", "/secret-link.txt",
           "/etcdir/index.html"]
HIDDEN = ["/.htpasswd", "/.git/config", "/.git/", "/.git", "/sub/.hidden.txt"]


@suite.case
def default_refuses_escapes_and_dotfiles(s):
    site = Site()
    try:
        srv = site.server(s)
        for p in ESCAPES + HIDDEN:
            status(s, srv, p, 404)
        # percent-encoded dots decode before the check
        status(s, srv, "/%2ehtpasswd", 404)
        status(s, srv, "/%2Egit/config", 404)
        status(s, srv, "/loop", 404, " (a link cycle is no file, not a 500)")
        r = srv.get("/inlink/page.htm")
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["legacy/page.htm"],
                "link inside the root followed", repr(r))
        r = srv.get("/inlink.txt")
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
                "file link inside the root followed", repr(r))
        r = srv.get("/.well-known/security.txt")
        s.check(r is not None and r.status == 200, ".well-known is served (RFC 8615)", repr(r))
        r = srv.get("/a.txt")
        s.check(r is not None and r.status == 200, "a plain file is served", repr(r))
        raw = srv.request(b"GET /etcdir/secret.txt\r\n")
        s.check(b"TOPSECRET" not in raw, "HTTP/0.9: the secret never leaves", repr(raw[:80]))
    finally:
        site.cleanup()


@suite.case
def always_and_serve_dotfiles_serve_them(s):
    site = Site()
    try:
        srv = site.server(s, settings={"follow_symlinks": "always", "serve_dotfiles": "yes"})
        for p in ("/etcdir/secret.txt", "/secret-link.txt"):
            r = srv.get(p)
            s.check(r is not None and r.status == 200 and r.body == SECRET,
                    f"{p}: served with follow_symlinks = always", repr(r))
        r = srv.get("/sub/.hidden.txt")
        s.check(r is not None and r.status == 200 and r.body == EXTRA["sub/.hidden.txt"],
                "/sub/.hidden.txt: served with serve_dotfiles = yes", repr(r))
        # Names without a MIME type stay 404 even so (IIS 6's MIME map rule, host/mime.h).
        for p in ("/.htpasswd", "/.git/config"):
            status(s, srv, p, 404, " (no MIME type, serve_dotfiles = yes)")
    finally:
        site.cleanup()


@suite.case
def never_refuses_every_link(s):
    site = Site()
    try:
        srv = site.server(s, settings={"follow_symlinks": "never"})
        for p in ESCAPES + ["/inlink/page.htm", "/inlink.txt", "/inlink/"]:
            status(s, srv, p, 404, " (never)")
        r = srv.get("/legacy/page.htm")
        s.check(r is not None and r.status == 200, "a file without links is served", repr(r))
        r = srv.get("/")
        s.check(r is not None and r.status == 200, "the default document is served", repr(r))
    finally:
        site.cleanup()


@suite.case
def root_through_a_link(s):
    """A root configured through a link is resolved once at start: every mode serves."""
    site = Site()
    try:
        for mode in ("inside_root", "never"):
            srv = site.server(s, settings={"follow_symlinks": mode}, root_link=True)
            r = srv.get("/a.txt")
            s.check(r is not None and r.status == 200 and r.body == harness.SITE["a.txt"],
                    f"root through a link, {mode}: /a.txt served", repr(r))
            status(s, srv, "/etcdir/secret.txt", 404, f" (root through a link, {mode})")
    finally:
        site.cleanup()


REWRITE_INI = """[rewrite]
/r/ = /etcdir/
/h/ = /.git/
/ok/ = /legacy/

[physical]
/p/ = /etcdir/
/q/ = /.git/
"""


@suite.case
def filter_rewrites_are_checked_too(s):
    site = Site()
    try:
        srv = site.server(s, filters=["rewrite"], ini={"rewrite": REWRITE_INI})
        status(s, srv, "/r/secret.txt", 404, " (url rewritten by SetHeader)")
        status(s, srv, "/h/config", 404, " (url rewritten to a dot folder)")
        status(s, srv, "/p/secret.txt", 404, " (physical path mapped by URL_MAP)")
        status(s, srv, "/q/config", 404, " (physical path mapped to a dot folder)")
        r = srv.get("/ok/page.htm")
        s.check(r is not None and r.status == 200 and r.body == harness.SITE["legacy/page.htm"],
                "a rewrite inside the site still works", repr(r))
    finally:
        site.cleanup()


@suite.case
def parent_segments_in_a_mapped_path(s):
    """A URL_MAP result with ".." segments and no link on the way: with dotfiles served
    (else the ".." segment alone refuses it), the containment check must still see through
    the text to where the path leads."""
    if s.env.wine or s.env.winelib:
        s.skip("parent segments in a mapped path", "the mapped path is a Unix path here; "
               "under Wine the site is Z:\\ and the depth to /tmp differs")
        return
    site = Site()
    try:
        up = "/.." * 24   # more than the site's depth: ".." at "/" stays at "/"
        ini = {"rewrite": f"[physical]\n/u/ = {up}/\n"}
        srv = site.server(s, settings={"serve_dotfiles": "yes"}, filters=["rewrite"], ini=ini)
        status(s, srv, "/u" + site.outside + "/secret.txt", 404,
               " (physical path mapped up and out with '..')")
    finally:
        site.cleanup()


def start_fails(s, args, what, want):
    """Runs the server with args; it must stop at once with one line naming want."""
    cmd = s.env.server_command(args)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=s.env.start_timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        s.check(False, f"{what}: the server stops at start", "still running")
        return
    err = p.stderr.decode(errors="replace").strip().splitlines()
    lines = [l for l in err if l.startswith("isapihost:")]
    s.check(p.returncode != 0, f"{what}: non-zero exit", f"exit {p.returncode}")
    s.check(len(lines) == 1 and all(w in lines[0] for w in want),
            f"{what}: one line naming {want}", repr(err))


@suite.case
def bad_values_stop_the_server(s):
    d = tempfile.mkdtemp(prefix="isapihost-badcfg-")
    try:
        os.makedirs(os.path.join(d, "site"))
        ini = os.path.join(d, "bad.ini")
        with open(ini, "w") as f:
            f.write(f"[server]\nroot = {s.env.spath(os.path.join(d, 'site'))}\n"
                    "listen = 127.0.0.1:0\nfollow_symlinks = sometimes\n")
        start_fails(s, ["--config", s.env.spath(ini), "--check"], "INI follow_symlinks",
                    ["bad.ini:4", "follow_symlinks", "'sometimes'", "inside_root, always or never"])
        with open(ini, "w") as f:
            f.write(f"[server]\nroot = {s.env.spath(os.path.join(d, 'site'))}\n"
                    "listen = 127.0.0.1:0\nserve_dotfiles = maybe\n")
        start_fails(s, ["--config", s.env.spath(ini), "--check"], "INI serve_dotfiles",
                    ["bad.ini:4", "serve_dotfiles", "yes or no"])
        start_fails(s, ["--root", s.env.spath(os.path.join(d, "site")), "--listen",
                        "127.0.0.1:0", "--follow-symlinks", "outside", "--check"],
                    "command line --follow-symlinks",
                    ["command line", "--follow-symlinks", "inside_root, always or never"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


suite.run()
