#!/usr/bin/env bash
# The benchmark of docs/performance.md in one command, from the top of the source tree:
#
#   tests/bench/bench.sh [run.py options...]     e.g. --rounds 3 --duration 5 --out perf.md
#
# Builds the release preset (build/release, or $BENCH_BUILD), then runs tests/bench/run.py:
# isapihost against nginx on 127.0.0.1, alternated, every run bounded, every process it
# starts stopped on exit. With BENCH_W64=<dir> it also builds the x86_64 Windows tree in
# <dir> (Release) and adds scenario S6 (isapihost.exe under Wine against the native build).
# With BENCH_WINELIB64=<dir> and/or BENCH_WINELIB32=<dir> it builds those Winelib trees
# (Release) and adds W2 and W3 (the Winelib build with mingw-w64 DLLs against the native
# build with .so filters; docs/winelib.md). With BENCH_NATIVE32=<dir> as well, it builds a
# 32-bit native tree there (gcc -m32, needs gcc-multilib and libssl-dev:i386) and the 32-bit
# W rows compare against it: the same bitness on both sides.
# Needs wrk, nginx (any path: --nginx), python3; S6 needs mingw-w64 and Wine; W2/W3 also
# winegcc (tests/setup-debian.sh test).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BENCH_BUILD:-$src/build/release}
cd "$src"
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j"${BENCH_JOBS:-2}" >/dev/null
extra=()
if [ -n "${BENCH_W64:-}" ]; then
  cmake --preset win64 -B "$BENCH_W64" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_W64" -j"${BENCH_JOBS:-2}" --target isapihost >/dev/null
  extra=(--w64 "$BENCH_W64")
fi
for bits in 64 32; do
  var=BENCH_WINELIB$bits
  if [ -n "${!var:-}" ]; then
    cmake --preset winelib$bits -B "${!var}" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "${!var}" -j"${BENCH_JOBS:-2}" --target isapihost pe_filters >/dev/null
    extra+=(--winelib "${!var}")
  fi
done
if [ -n "${BENCH_NATIVE32:-}" ]; then
  if ! { PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig \
           cmake --preset release -B "$BENCH_NATIVE32" -DCMAKE_C_FLAGS=-m32 \
           -DCMAKE_LIBRARY_ARCHITECTURE=i386-linux-gnu -DISAPIHOST_TESTS=OFF >/dev/null &&
         cmake --build "$BENCH_NATIVE32" -j"${BENCH_JOBS:-2}" \
           --target isapihost upcase bench_noop >/dev/null; }; then
    echo "bench.sh: the 32-bit native tree $BENCH_NATIVE32 did not build; it needs" \
         "gcc-multilib and libssl-dev:i386 (apt-get install gcc-multilib libssl-dev:i386)" >&2
    exit 1
  fi
  extra+=(--native32 "$BENCH_NATIVE32")
fi
# The servers need one descriptor per connection (scenario S5 holds 10,000).
ulimit -n "$(ulimit -Hn)"
exec python3 "$src/tests/bench/run.py" --build "$build" ${extra[@]+"${extra[@]}"} "$@"
