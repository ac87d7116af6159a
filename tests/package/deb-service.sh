#!/usr/bin/env bash
# deb-service.sh - the Debian package as an administrator uses it: built from this source
# tree with the README's commands, installed with apt, and its service answering on port 80
# as the unprivileged account the package created; then purged.
#
# It changes the machine (a package, an account, port 80), so tests/run-all.sh runs it only
# when ISAPIHOST_SYSTEM_TESTS=1, which .ci/run sets on CI's throwaway machine. Run it by
# hand, as root, with:  ISAPIHOST_SYSTEM_TESTS=1 tests/package/deb-service.sh
#
# Where systemd is PID 1 the service is started and checked with systemctl, as the package's
# postinst leaves it. Where it is not (containers, CI machines), the unit's own ExecStartPre
# and ExecStart lines are read from the installed unit file and run as systemd would run
# them (as root, in the order the unit gives), so the commands under test are the packaged
# ones, not copies.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "deb-service: FAIL: $*" >&2; exit 1; }
say() { echo "deb-service: $*"; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs a package)"
if dpkg -s isapihost >/dev/null 2>&1; then
  fail "an isapihost package is installed already; this test would replace it"
fi
if ss -Hltn 'sport = :80' | grep -q .; then
  fail "port 80 is taken: $(ss -Hltnp 'sport = :80')"
fi

build=build/package-test
say "build the package (README: cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr ...)"
cmake --preset release -B "$build" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
(cd "$build" && rm -f isapihost_*.deb && cpack -G DEB >/dev/null)
deb=$(ls "$build"/isapihost_*.deb)

main_pid=
cleanup() {
  if [ -n "$main_pid" ] && kill -0 "$main_pid" 2>/dev/null; then
    kill -TERM "$main_pid" 2>/dev/null || true
    wait "$main_pid" 2>/dev/null || true
  fi
  if [ -z "${KEEP_PACKAGE:-}" ] && dpkg -s isapihost >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q isapihost >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

say "apt install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null

getent passwd isapihost >/dev/null || fail "postinst did not create the isapihost account"
unit=/usr/lib/systemd/system/isapihost.service
[ -f "$unit" ] || unit=/lib/systemd/system/isapihost.service
[ -f "$unit" ] || fail "the package installed no unit file"
[ -f /etc/isapihost/isapihost.ini ] || fail "no /etc/isapihost/isapihost.ini"
[ "$(stat -c %U /var/log/isapihost)" = isapihost ] || fail "/var/log/isapihost is not isapihost's"

if [ -d /run/systemd/system ]; then
  say "systemd runs: the postinst started the service"
  systemctl is-active --quiet isapihost.service || fail "isapihost.service is not active"
else
  say "systemd is not PID 1 here: running the unit's ExecStartPre and ExecStart as systemd would"
  pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
  start=$(sed -n 's/^ExecStart=//p' "$unit")
  [ -n "$start" ] || fail "no ExecStart in $unit"
  if [ -n "$pre" ]; then
    # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
    $pre || fail "ExecStartPre failed: $pre"
  fi
  # shellcheck disable=SC2086
  $start &
  main_pid=$!
fi

# Wait for the answer: the service binds port 80 once its configuration is read; curl's own
# retry waits for the listener (bounded: 30 s), so no fixed sleep decides the outcome.
body=$(curl -sS --retry 60 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
            --max-time 35 http://127.0.0.1/) || fail "nothing answered on port 80"
grep -qi isapihost <<<"$body" || fail "port 80 answered, but not with the placeholder page: ${body:0:200}"
status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/)
[ "$status" = 200 ] || fail "port 80 answered $status"

# Who serves: every isapihost process that holds the port-80 socket and is not the
# supervisor must run as isapihost, never root.
serving_users=$(ps -C isapihost -o user=,args= | awk '{print $1}' | sort -u | tr '\n' ' ')
say "isapihost processes run as: $serving_users"
port_pids=$(ss -Hltnp 'sport = :80' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
served_by_isapihost=0
for p in $port_pids; do
  u=$(ps -o user= -p "$p" | tr -d ' ')
  # The listener is inherited by the supervisor and the serving process; the serving one
  # has dropped to the account (issue: identity), the supervisor keeps root to restart it.
  if [ "$u" = isapihost ]; then served_by_isapihost=1; fi
done
[ "$served_by_isapihost" = 1 ] || fail "no process holding port 80 runs as isapihost ($port_pids)"
ps -C isapihost -o user=,args= | grep -v '^root' | grep -q . || fail "no isapihost process runs unprivileged"

# The access log is written by the unprivileged server into the package's log folder.
ls /var/log/isapihost/ | grep -q . || fail "nothing in /var/log/isapihost"

if [ -n "$main_pid" ]; then
  kill -TERM "$main_pid"
  wait "$main_pid" || true
  main_pid=
  if ss -Hltn 'sport = :80' | grep -q .; then fail "port 80 still held after SIGTERM"; fi
fi

DEBIAN_FRONTEND=noninteractive apt-get purge -y -q isapihost >/dev/null
! getent passwd isapihost >/dev/null || fail "purge left the isapihost account"
[ ! -e /var/log/isapihost ] || fail "purge left /var/log/isapihost"
say "passed: the package installs, its service answers on port 80 as isapihost, and purges clean"
