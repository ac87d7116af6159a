#!/usr/bin/env bash
# Runs a Windows program under Wine with a timeout and returns its exit status.
#
#   win32/wine-run.sh [--prefix DIR] [--timeout SECONDS] program.exe [args...]
#   win32/wine-run.sh [--prefix DIR] --server-start
#   win32/wine-run.sh [--prefix DIR] --server-stop
#
# The bitness of the program (read from its PE header) picks the loader: /usr/lib/wine/wine
# for i386, wine64 for x86-64; one 64-bit prefix runs both. The prefix (default: $WINEPREFIX,
# else ./wineprefix) is created on first use under a lock, so parallel runs share it; a
# stamp file written after `wineboot --init` has finished marks it ready.
#
# --server-start starts one persistent wineserver for the prefix (`wineserver -p`), after
# ending any server left over from an earlier run, and starts Wine's own background
# processes (services.exe and the rest) with their output in files. --server-stop ends the
# server and every Wine process of the prefix (`wineserver -k`). The test builds run these
# two as the CTest fixture "wineserver" (win32/WineServer.cmake) around every Wine test.
# Why: without a persistent server each program starts one, which exits once its last
# client is gone; a program starting in that moment fails with "wine client error:0:
# recvmsg: Connection reset by peer". A persistent server never exits under its clients.
# Debian's wineserver wrapper passes -p0 (exit as soon as the last client is gone), which
# makes that moment come between any two tests.
# Output: the server's in <prefix>.wineserver.log, the background processes' in
# <prefix>.wineboot.log (files, not the caller's pipes: the processes outlive the caller).
# Nor do they inherit the lock's descriptor (9>&-), which would hold the lock while they run.
#
# Exit status: the program's own; 124 when the timeout expired; 125 when Wine is missing.
set -u

prefix=${WINEPREFIX:-$PWD/wineprefix}
timeout_s=${WINE_RUN_TIMEOUT:-120}
action=run
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --server-start) action=start; shift ;;
    --server-stop) action=stop; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

wineserver=/usr/lib/wine/wineserver
wine64=/usr/lib/wine/wine64

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
ready=$prefix/.wine-run-ready

need_wine() {
  if [ ! -x "$1" ] || [ ! -x "$wineserver" ]; then
    echo "wine-run: $1 not found: install Wine with tests/setup-debian.sh test" >&2
    exit 125
  fi
}

# Creates the prefix once. Run under the prefix lock (fd 9).
create_prefix() {
  if [ ! -f "$ready" ]; then
    "$wine64" wineboot --init >/dev/null 2>&1 9>&-
    # wineboot's own server exits once wineboot's processes are done: wait for that, so
    # the registry files are written before anyone else uses the prefix.
    "$wineserver" -w >/dev/null 2>&1 9>&- || true
    if [ -f "$prefix/system.reg" ]; then
      : >"$ready"
    else
      echo "wine-run: wineboot --init did not create the prefix $prefix" >&2
      return 1
    fi
  fi
}

mkdir -p "$(dirname "$prefix")"

case "$action" in
  start)
    need_wine "$wine64"
    (
      flock 9
      # A server left by an interrupted run may be a non-persistent one about to exit.
      "$wineserver" -k >/dev/null 2>&1 9>&- || true
      "$wineserver" -w >/dev/null 2>&1 9>&- || true
      create_prefix || exit 1
      # Returns once the server listens; it keeps running after this script ends.
      "$wineserver" -p </dev/null >"$prefix.wineserver.log" 2>&1 9>&- || {
        echo "wine-run: wineserver -p failed for $prefix (see $prefix.wineserver.log)" >&2
        exit 1
      }
      # Starts services.exe and the other background processes now, with output in a
      # file: started by a test instead, they would hold that test's output pipe open.
      "$wine64" wineboot </dev/null >"$prefix.wineboot.log" 2>&1 9>&- || {
        echo "wine-run: wineboot failed in $prefix (see $prefix.wineboot.log)" >&2
        exit 1
      }
    ) 9>"$prefix.lock"
    exit $?
    ;;
  stop)
    need_wine "$wine64"
    (
      flock 9
      "$wineserver" -k >/dev/null 2>&1 9>&- || true
      "$wineserver" -w >/dev/null 2>&1 9>&- || true
    ) 9>"$prefix.lock"
    exit 0
    ;;
esac

[ $# -ge 1 ] || { echo "usage: $0 [--prefix DIR] [--timeout S] program.exe [args...] | --server-start | --server-stop" >&2; exit 2; }
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
  8664) loader=$wine64 ;;
  *) echo "wine-run: $prog is not an i386 or x86-64 PE file (machine $machine)" >&2; exit 2 ;;
esac
need_wine "$loader"

if [ ! -f "$ready" ]; then
  ( flock 9; create_prefix ) 9>"$prefix.lock" || exit 1
fi

exec timeout --kill-after=10 "$timeout_s" "$loader" "$prog" "$@"
