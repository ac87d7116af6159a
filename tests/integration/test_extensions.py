"""test_extensions.py - ISAPI extensions beside the filters, and the MIME rule of the
static handler.

The test extension (tests/filters/extprobe) answers by its query string: "ecb" echoes the
control block and a few server variables, "echo" reads the whole body (read-ahead plus
ReadClient) and answers its length and a checksum, "ssf=<code>" calls one
ServerSupportFunction code and reports its result, "crash" faults. Each server writes its
own [extensions], [script_maps] and [virtual_directories] sections (ExtServer below).
docs/extensions.md lists which case holds which ECB member and HSE_REQ_* code.
"""
import hashlib
import os
import socket
import time

import harness

suite = harness.Suite("integration_extensions")


class ExtServer(harness.Server):
    """A server whose INI file also carries extension sections: `sections` maps a section
    name to a list of "key = value" lines ({ext} is replaced by the extension's path as the
    server sees it)."""

    def __init__(self, suite, sections=None, **kw):
        self.sections = sections or {}
        start = kw.pop("start", True)
        super().__init__(suite, start=False, **kw)
        src = suite.env.filter_file("extprobe")
        self.ext_path = os.path.join(self.fdir, "extprobe" + suite.env.ext)
        if os.path.exists(src):
            import shutil
            shutil.copy(src, self.ext_path)
        if start:
            self.start()

    def write_ini(self):
        path = super().write_ini()
        with open(path, "a") as f:
            for name, lines in self.sections.items():
                f.write(f"[{name}]\n")
                for line in lines:
                    f.write(line.replace("{ext}", self.env.spath(self.ext_path)) + "\n")
        return path


def ext_server(s, sections, **kw):
    srv = ExtServer(s, sections=sections, **kw)
    s.servers.append(srv)
    return srv


@suite.case
def static_serves_only_mime_types(s):
    site = dict(harness.SITE)
    site.update({"tool.dll": b"MZ not to be sent\n", "app.ini": b"[secret]\npassword=x\n",
                 "lib.so": b"\x7fELF not to be sent\n", "noext": b"no extension\n",
                 "data.custom": b"custom type\n", "page.htm": b"<p>page</p>\n"})
    srv = ext_server(s, {"mime": [".custom = text/x-custom", ".htm ="]}, site=site)
    for p in ("/tool.dll", "/app.ini", "/lib.so", "/noext", "/TOOL.DLL"):
        r = srv.get(p)
        s.check(r is not None and r.status == 404 and b"not to be sent" not in r.body
                and b"password" not in r.body, f"{p}: 404, never sent as a file", repr(r))
    r = srv.get("/data.custom")
    s.check(r is not None and r.status == 200 and r.header("Content-Type") == "text/x-custom",
            "[mime] adds a type", repr(r))
    r = srv.get("/page.htm")
    s.check(r is not None and r.status == 404, "[mime] .htm = (empty) removes a type", repr(r))
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200 and r.header("Content-Type") == "text/plain",
            "a mapped type is served", repr(r))


@suite.case
def bad_mime_entry_stops_the_server(s):
    srv = ExtServer(s, sections={"mime": [".c/x = text/plain"]}, start=False)
    s.servers.append(srv)
    try:
        srv.start()
        s.check(False, "a malformed [mime] entry stops the server")
    except RuntimeError as e:
        text = str(e)
        s.check("isapihost.ini" in text and ".c/x" in text, "one line naming file and key",
                text[-500:])
    srv.proc = None


if __name__ == "__main__":
    suite.run()
