"""test_debug_output.py - filters' OutputDebugStringA text in the server's error log.

The debugflood test filter (tests/shim/shim_debugflood.c) calls OutputDebugStringA with a
64 KiB text of many lines, 200 times in one request. With `verbose` on, the error log gets
one debug-level line "OutputDebugString: debugflood <i> ..." per call, at most 1 KiB of the
text plus "..." (libshim cuts it, shim/include/shim.h), and nothing reaches stderr. With
`verbose` off the text is dropped. Native builds only: on Windows the text goes to an
attached debugger, as under IIS.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

suite = harness.Suite("shim_debug_output")
CALLS = 200
TEXT = "debugflood 0 line 0"   # the start of the first call's text
# The line: time, "isapihost debug: OutputDebugString: ", 1024 bytes of text, "...".
LINE_MAX = 1024 + 3 + 100


def flood(s, srv):
    r = srv.get(f"/debugflood?{CALLS}", timeout=60.0)
    s.check(r is not None and r.status == 404, "the flooding request is answered (404)", repr(r))


@suite.case
def verbose_log_gets_bounded_lines(s):
    srv = s.server(filters=["shim_debugflood"], settings={"verbose": "yes"})
    flood(s, srv)
    r = srv.get("/a.txt")
    s.check(r is not None and r.status == 200, "the server still serves", repr(r))
    log = srv.error_log()
    lines = [ln for ln in log.splitlines() if "OutputDebugString: debugflood" in ln]
    s.eq(len(lines), CALLS, "one error log line per OutputDebugStringA call")
    longest = max((len(ln.encode()) for ln in lines), default=0)
    s.check(longest <= LINE_MAX, f"every line at most {LINE_MAX} bytes", f"longest {longest}")
    s.check(all(" debug: " in ln for ln in lines), "the lines are at debug level",
            lines[0][:80] if lines else "")
    s.check(all(ln.endswith("...") for ln in lines), "each cut text ends with ...",
            lines[0][-40:] if lines else "")
    s.check(lines and "line 0 of a long debug text, with its newline line 1 of" in lines[0],
            "the text's newlines became spaces within one line", lines[0][:160] if lines else "")
    s.check(len(log.encode()) < CALLS * LINE_MAX + 64 * 1024,
            "the error log stays bounded", f"{len(log.encode())} bytes for {CALLS} x 64 KiB")
    s.check(TEXT not in srv.stderr_text(), "nothing on stderr", srv.stderr_text()[:200])


@suite.case
def quiet_log_drops_the_text(s):
    srv = s.server(filters=["shim_debugflood"])
    flood(s, srv)
    s.check(TEXT not in srv.error_log(), "no debug text in the error log without verbose",
            srv.error_log()[-300:])
    s.check(TEXT not in srv.stderr_text(), "nothing on stderr", srv.stderr_text()[:200])


if __name__ == "__main__":
    sys.exit(suite.run())
