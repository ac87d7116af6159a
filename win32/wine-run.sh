#!/usr/bin/env bash
# Runs a Windows program under Wine with a timeout and returns its exit status.
#
#   win32/wine-run.sh [--prefix DIR] [--timeout SECONDS] program.exe [args...]
#
# The bitness of the program (read from its PE header) picks the loader: /usr/lib/wine/wine
# for i386, wine64 for x86-64; one 64-bit prefix runs both. The prefix (default: $WINEPREFIX,
# else ./wineprefix) is created on first use under a lock, so parallel tests share it.
# Exit status: the program's own; 124 when the timeout expired; 125 when Wine is missing.
set -u

prefix=${WINEPREFIX:-$PWD/wineprefix}
timeout_s=${WINE_RUN_TIMEOUT:-120}
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--prefix DIR] [--timeout S] program.exe [args...]" >&2; exit 2; }
prog=$1; shift

pe_machine() {
  local off
  off=$(od -An -tu4 -j60 -N4 "$1" 2>/dev/null | tr -d ' ') || return 1
  [ -n "$off" ] || return 1
  od -An -tx2 -j$((off + 4)) -N2 "$1" | tr -d ' '
}

machine=$(pe_machine "$prog") || { echo "wine-run: cannot read $prog" >&2; exit 2; }
case "$machine" in
  014c) loader=/usr/lib/wine/wine ;;
  8664) loader=/usr/lib/wine/wine64 ;;
  *) echo "wine-run: $prog is not an i386 or x86-64 PE file (machine $machine)" >&2; exit 2 ;;
esac
if [ ! -x "$loader" ]; then
  echo "wine-run: $loader not found: install Wine with tests/setup-debian.sh test" >&2
  exit 125
fi

# Wine accepts only an absolute prefix.
case "$prefix" in
  /*) ;;
  *) prefix=$PWD/$prefix ;;
esac
export WINEPREFIX=$prefix
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko install dialogs when the prefix is created.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
export DISPLAY=

mkdir -p "$(dirname "$prefix")"
if [ ! -f "$prefix/system.reg" ]; then
  (
    flock 9
    if [ ! -f "$prefix/system.reg" ]; then
      /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1
      /usr/lib/wine/wineserver -w 2>/dev/null || true
    fi
  ) 9>"$prefix.lock"
fi

exec timeout --kill-after=10 "$timeout_s" "$loader" "$prog" "$@"
