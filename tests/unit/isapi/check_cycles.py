#!/usr/bin/env python3
"""check_cycles.py - the call graph between the engine's files, and the cycles in it.

Reads `nm` of the isapi static library: for each object (one per isapi/*.c file) the
functions it defines (T) and the ones it calls from elsewhere (U). File A depends on file
B when A uses a symbol B defines. A cycle is a pair of files that depend on each other.
The engine allows exactly the cycles the domain forces (listed in ALLOWED); any other one
fails the check, so a new cycle is noticed when it is written.

    check_cycles.py NM LIBRARY [--graph]

--graph prints every file's dependencies as well. Exit status 0 when the only cycles are
the allowed ones, 1 otherwise.
"""
import subprocess
import sys

# Why callbacks <-> dispatch: a filter's WriteClient (callbacks.c) raises SEND_RAW_DATA
# (dispatch.c), which calls filters, which call back. IIS does the same.
ALLOWED = {frozenset(("callbacks", "dispatch"))}


def read_objects(nm, library):
    out = subprocess.run([nm, library], check=True, capture_output=True, text=True).stdout
    defined, used = {}, {}
    obj = None
    for line in out.splitlines():
        line = line.rstrip()
        if line.endswith(".o:") or line.endswith(".obj:"):
            # "arena.c.o:" / "arena.c.obj:" -> "arena"
            obj = line[:-1].split("/")[-1].split(".")[0]
            defined.setdefault(obj, set())
            used.setdefault(obj, set())
            continue
        parts = line.split()
        if obj is None or len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        if kind == "U":
            used[obj].add(name)
        elif kind in ("T", "D", "B", "R"):
            defined[obj].add(name)
    return defined, used


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    defined, used = read_objects(argv[1], argv[2])
    if len(defined) < 2:
        print(f"{argv[2]}: no objects found in the output of {argv[1]}")
        return 1
    owner = {}
    for obj, names in defined.items():
        for name in names:
            owner[name] = obj
    deps = {obj: sorted({owner[n] for n in used[obj] if n in owner and owner[n] != obj})
            for obj in defined}
    if "--graph" in argv:
        for obj in sorted(deps):
            print(f"{obj:12} -> {', '.join(deps[obj]) or '(none)'}")
    cycles = sorted({tuple(sorted((a, b))) for a in deps for b in deps[a] if a in deps[b]})
    bad = [c for c in cycles if frozenset(c) not in ALLOWED]
    for a, b in cycles:
        print(f"cycle {a} <-> {b}{'' if frozenset((a, b)) in ALLOWED else '  NOT ALLOWED'}")
    if bad:
        print(f"{len(bad)} cycle(s) between engine files beyond the domain's "
              "(tests/unit/isapi/check_cycles.py)")
        return 1
    print(f"{len(deps)} files, {len(cycles)} cycle(s), all allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
