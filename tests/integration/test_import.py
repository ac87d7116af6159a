"""test_import.py - `isapihost --import-iis` (issue "Running it for real", part "IIS
configuration import").

The IIS files in tests/integration/iis/ are written the way IIS writes them: an IIS 7+
applicationHost.config with two sites, an https binding, a host-name binding, virtual
directories, global isapiFilters (one disabled), site-level isapiFilters in a <location>,
defaultDocument lists (the site's with <clear/>), logFile settings and handlers with
IsapiModule mappings; and an IIS 6 MetaBase.xml (FilterLoadOrder, ServerBindings,
SecureBindings, Path, DefaultDoc, ScriptMaps, LogFile*). Each is imported with a --map of
C:\\inetpub to a scratch folder; the INI must carry what isapihost can and name in a
comment each thing it cannot. Then the server starts from the imported INI (its listeners
moved to a free loopback port) and serves a request through the imported filters. A file
that is not XML fails with one line naming it.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, run_server_once  # noqa: E402

suite = Suite("integration_import")
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "iis")


def import_file(t, name, scratch, extra=(), mapped=True):
    out = os.path.join(scratch, name + ".ini")
    maps = ["--map", "C:\\inetpub=" + scratch] if mapped else []
    rc, so, se = run_server_once(t.env, ["--import-iis", os.path.join(HERE, name), "--out", out]
                                 + maps + list(extra))
    t.eq(rc, 0, f"import of {name} succeeds: {se.strip()}")
    try:
        with open(out) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def sections(text):
    """{section: [lines]} with comments kept in order."""
    out, cur = {"": []}, ""
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            cur = line[1:-1]
            out[cur] = []
        elif line.strip():
            out[cur].append(line)
    return out


def has(t, lines, want, what):
    t.check(want in lines, what, f"{want!r} not in:\n" + "\n".join(lines))


def noted(t, lines, *parts, what):
    t.check(any(l.startswith("; not carried:") and all(p in l for p in parts) for l in lines),
            what, f"no '; not carried:' line with {parts!r}")


def skip_wine(t):
    if t.env.wine or t.env.winelib:
        t.skip("--import-iis", "the Windows and Winelib builds have no XML parser (no "
               "libxml2 for mingw-w64 in Debian): import with the native build")
        return True
    return False


@suite.case
def application_host_config(t):
    if skip_wine(t):
        return
    scratch = tempfile.mkdtemp(prefix="isapihost-import-")
    try:
        text = import_file(t, "applicationHost.config", scratch)
        sec = sections(text)
        server, filters = sec.get("server", []), sec.get("filters", [])
        has(t, server, "listen = 127.0.0.1:8081", "http binding with an address")
        has(t, server, "listen = 0.0.0.0:80", "http binding on every address")
        has(t, server, f"root = {scratch}/shop", "the site's / physical path, mapped")
        has(t, server, "instance_id = 3", "the site id")
        has(t, server, "default_documents = home.html, Default.htm",
            "the site's <clear/>ed default documents")
        has(t, server, f"log_dir = {scratch}/logs/shop/W3SVC3", "logFile directory + W3SVC<id>")
        has(t, server, "log_period = hourly", "logFile period")
        has(t, server, "log_local_time = yes", "localTimeRollover")
        noted(t, server, "https binding", "443", what="https binding not carried")
        noted(t, server, "host name 'shop.example.com'", what="host-name binding noted")
        noted(t, server, "virtual directory /images", "D:\\media\\images",
              what="virtual directory noted")
        noted(t, server, "virtual directory /api/", what="second application noted")
        noted(t, server, "handler mapping 'ISAPI-dll'", "IsapiModule", what="ISAPI handler noted")
        noted(t, server, "handler mapping 'ASPClassic'", "asp.dll", what="ASP mapping noted")
        noted(t, server, 'site "Default Web Site"', "--site 1", what="the other site noted")
        noted(t, server, 'location path="Shop/api"', what="application-level location noted")
        loaded = [l for l in filters if not l.startswith(";")]
        t.eq(loaded, [f"Headers = {scratch}/filters/headers.so",
                      f"Rewrite = {scratch}/filters/rewrite.so"],
             "global filters first, then the site's, each in order; the disabled one not loaded")
        noted(t, filters, "UpCase", 'enabled="false"', what="the disabled filter noted")

        # the other site, by id, without --map
        other = sections(import_file(t, "applicationHost.config", scratch, ["--site", "1"],
                                     mapped=False))
        has(t, other.get("server", []), "default_documents = Default.htm, Default.asp, "
            "index.htm, index.html, iisstart.htm", "site 1 inherits the global documents")
        t.check(any(l.startswith("; check: root") for l in other.get("server", [])),
                "an unmapped Windows path is flagged", other.get("server"))

        # serve through the imported filters
        os.makedirs(os.path.join(scratch, "shop"))
        with open(os.path.join(scratch, "shop", "home.html"), "w") as f:
            f.write("<html><body>hello from the shop</body></html>\n")
        os.makedirs(os.path.join(scratch, "logs", "shop", "W3SVC3"))
        os.makedirs(os.path.join(scratch, "filters"))
        srv = t.server(start=False)
        for name in ("headers", "rewrite", "upcase"):
            shutil.copy(t.env.filter_file(name), os.path.join(scratch, "filters"))
            ini = os.path.splitext(t.env.filter_file(name))[0] + ".ini"
            if os.path.exists(ini):
                shutil.copy(ini, os.path.join(scratch, "filters"))
        ini_path = os.path.join(scratch, "applicationHost.config.ini")
        lines = [l for l in text.splitlines() if not l.startswith("listen = ")]
        at = lines.index("[server]") + 1
        lines[at:at] = ["listen = 127.0.0.1:0", f"port_file = {srv.path('port')}",
                        f"error_log = {srv.path('error.log')}"]
        if os.geteuid() == 0:
            lines.insert(at, "run_as_root = yes")   # CI runs as root (see test_identity)
        with open(ini_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        srv.write_ini = lambda: ini_path
        srv.start()
        r = srv.get("/")
        t.eq(r and r.status, 200, "served from the imported root")
        t.check(r and b"hello from the shop" in r.body, "home.html as the default document",
                r and r.body[:200])
        t.eq(r and r.header("X-Content-Type-Options"), "nosniff",
             "the imported global filter (headers) ran")
        t.eq(r and r.header("Server"), None, "headers removed the Server header")
        srv.stop()
        logs = os.listdir(os.path.join(scratch, "logs", "shop", "W3SVC3"))
        t.check(len(logs) == 1 and logs[0].startswith("u_ex") and len(logs[0]) == 16,
                "an hourly u_exYYMMDDHH.log in the imported log folder", logs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@suite.case
def metabase_xml(t):
    if skip_wine(t):
        return
    scratch = tempfile.mkdtemp(prefix="isapihost-import-")
    try:
        text = import_file(t, "MetaBase.xml", scratch)
        sec = sections(text)
        server, filters = sec.get("server", []), sec.get("filters", [])
        has(t, server, "listen = 127.0.0.1:8082", "first ServerBindings line")
        has(t, server, "listen = 0.0.0.0:80", "second ServerBindings line (all addresses)")
        has(t, server, f"root = {scratch}/wwwroot", "ROOT's Path, mapped case-insensitively")
        has(t, server, "default_documents = Default.htm, Default.asp, index.htm, iisstart.htm",
            "DefaultDoc inherited from /LM/W3SVC")
        has(t, server, "log_period = size", "LogFilePeriod 0 is MaxSize")
        has(t, server, "log_truncate_size = 1048576", "LogFileTruncateSize")
        noted(t, server, "https binding 0.0.0.0:443", what="SecureBindings noted")
        noted(t, server, "host name 'www.example.com'", what="host header noted")
        noted(t, server, "script map '.asp'", what="first script map noted")
        noted(t, server, "script map '.cer'", what="second script map noted")
        noted(t, server, "virtual directory /Printers", what="virtual directory noted")
        loaded = [l for l in filters if not l.startswith(";")]
        t.eq(loaded, [f"Headers = {scratch}/filters/headers.so",
                      "Compression = C:\\WINDOWS\\system32\\inetsrv\\compfilt.so",
                      f"SiteRewrite = {scratch}/filters/rewrite.so"],
             "FilterLoadOrder, then the site's")
        t.check(any(l.startswith("; check: filter") and "compfilt" in l for l in filters),
                "the unmapped filter path is flagged", filters)
        noted(t, filters, "UpCase", what="FilterEnabled=FALSE noted")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@suite.case
def refused_without_xml_parser(t):
    if not (t.env.wine or t.env.winelib):
        return
    rc, so, se = run_server_once(t.env, ["--import-iis", t.env.spath(
        os.path.join(HERE, "applicationHost.config"))])
    lines = [l for l in se.replace("\r", "").splitlines() if l]
    t.check(rc == 1 and len(lines) == 1 and "no XML parser" in lines[0],
            "this build refuses --import-iis with one line saying why", (rc, lines))


@suite.case
def not_xml_is_one_line(t):
    if skip_wine(t):
        return
    scratch = tempfile.mkdtemp(prefix="isapihost-import-")
    try:
        bad = os.path.join(scratch, "applicationHost.config")
        with open(bad, "w") as f:
            f.write("<configuration>\n<system.webServer>\n<isapiFilters>\n</configuration>\n")
        rc, so, se = run_server_once(t.env, ["--import-iis", bad])
        lines = [l for l in se.splitlines() if l]
        t.check(rc != 0, "a broken file fails", rc)
        t.check(len(lines) == 1 and bad in lines[0] and "XML" in lines[0],
                "one line naming the file", lines)
        rc, so, se = run_server_once(t.env, ["--import-iis", os.path.join(HERE, "MetaBase.xml"),
                                             "--site", "9"])
        t.check(rc != 0 and "--site" in se and "'9'" in se, "an unknown site is named", se)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    suite.run()
