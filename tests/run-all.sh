#!/usr/bin/env bash
# The whole test suite, as the README gives it and as CI runs it:
#   1. installs what the build and tests need (tests/setup-debian.sh test; a no-op when present),
#   2. builds and tests each preset in turn: native, asan (AddressSanitizer and UBSan),
#      tsan (ThreadSanitizer), fuzz (bounded libFuzzer runs), win32 (under 32-bit Wine),
#      win64 (under 64-bit Wine), winelib64 and winelib32 (the Winelib build, real DLLs in
#      a Linux server: docs/winelib.md),
#   3. stops at the first failing preset with its ctest output.
# Run one preset alone with: tests/run-all.sh --only win32
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(native asan tsan fuzz win32 win64 winelib64 winelib32)
if [ "${1:-}" = "--only" ] && [ -n "${2:-}" ]; then presets=("$2"); fi

bash tests/setup-debian.sh test

jobs=$(nproc 2>/dev/null || echo 2)
for p in "${presets[@]}"; do
  echo "=== preset $p: configure and build"
  cmake --preset "$p" >/dev/null
  cmake --build --preset "$p" -j"$jobs"
  echo "=== preset $p: test"
  ctest --preset "$p" -j"$jobs"
done
echo "=== all presets passed: ${presets[*]}"
