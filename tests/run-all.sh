#!/usr/bin/env bash
# The whole test suite, as the README gives it and as CI runs it:
#   1. installs what the build and tests need (tests/setup-debian.sh test; a no-op when present),
#   2. builds and tests each preset in turn: native, asan (AddressSanitizer and UBSan),
#      tsan (ThreadSanitizer), fuzz (bounded libFuzzer runs), win32 (under 32-bit Wine),
#      win64 (under 64-bit Wine), winelib64 and winelib32 (the Winelib build, real DLLs in
#      a Linux server: docs/winelib.md),
#   3. stops at the first failing preset with its ctest output,
#   4. with ISAPIHOST_SYSTEM_TESTS=1 (CI's throwaway machine; .ci/run sets it), builds the
#      Debian package, installs it and checks its service on port 80, then purges it
#      (tests/package/deb-service.sh: it changes the machine, so it is not run otherwise).
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
if [ "${ISAPIHOST_SYSTEM_TESTS:-}" = 1 ] && [ "${1:-}" != "--only" ]; then
  echo "=== package: install the .deb and serve on port 80 as its account"
  bash tests/package/deb-service.sh
fi
echo "=== all presets passed: ${presets[*]}"
