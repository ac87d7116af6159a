#!/usr/bin/env bash
# deb-service.sh - the Debian package as an administrator uses it: built from this source
# tree with the README's commands, installed with apt, its unit checked by systemd-analyze,
# its service run by a real systemd and answering on port 80 as the unprivileged account the
# package created, reloaded without a failed request and stopped cleanly; then purged.
#
# It changes the machine (a package, an account, port 80), so tests/run-all.sh runs it only
# when ISAPIHOST_SYSTEM_TESTS=1, which .ci/run sets on CI's throwaway machine. Run it by
# hand, as root, with:  ISAPIHOST_SYSTEM_TESTS=1 tests/package/deb-service.sh
#
# Which systemd runs the unit (docs/packaging.md, "The package test"):
#   - where systemd is PID 1, that one: the postinst has started the service;
#   - where it is not (containers, CI machines), a systemd of its own, booted as PID 1 of a
#     fresh PID, mount, network and cgroup namespace (tests/package/private-systemd.sh) with
#     only the journal and the installed unit, booting a multi-user.target that holds what
#     the postinst enabled (so the service must start at boot), and spoken to with systemctl
#     through nsenter; it is powered off at the end and its mounts and cgroups go with it;
#   - where that cannot be had either (no unshare, no systemd, namespaces refused; or
#     ISAPIHOST_PACKAGE_TEST_BY_HAND=1), the unit's own ExecStartPre and ExecStart lines,
#     read from the installed unit file, run as systemd would run them, and one line says
#     why no systemd was used.
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
mounts_before=$(findmnt -rn -o TARGET,SOURCE,FSTYPE | sort)
test_started=$(date +%s)

build=build/package-test
say "build the package (README: cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr ...)"
cmake --preset release -B "$build" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
(cd "$build" && rm -f isapihost_*.deb && cpack -G DEB >/dev/null)
deb=$(ls "$build"/isapihost_*.deb)

work=$(mktemp -d /tmp/isapihost-deb-service.XXXXXX)
hand_pid=             # the server started by hand, when no systemd runs it
main_pid=             # the server's main process (with a private systemd: its PID in there)
client_pid=           # the client loop across the reload
ns_unshare_pid=       # the private systemd: unshare, its parent in this namespace ...
ns_init_pid=          # ... and systemd itself, PID 1 inside, this PID here
ns_cgroups=()         # the cgroups made for the private systemd
in_ns=()              # the prefix that runs a command beside the systemd in use

# The private systemd, when it runs: powered off through systemctl (bounded), killed if it
# does not go. Killing PID 1 of a PID namespace ends every process in it.
stop_private_systemd() {
  [ -n "$ns_unshare_pid" ] || return 0
  if kill -0 "$ns_unshare_pid" 2>/dev/null && [ -n "$ns_init_pid" ]; then
    "${in_ns[@]}" systemctl --no-block poweroff >/dev/null 2>&1 || true
    wait_for "the private systemd to power off" 30 private_systemd_gone || {
      kill -KILL "$ns_init_pid" 2>/dev/null || true
      wait "$ns_unshare_pid" 2>/dev/null || true
      ns_unshare_pid=
      return 1
    }
  else
    kill -KILL "$ns_unshare_pid" 2>/dev/null || true
  fi
  wait "$ns_unshare_pid" 2>/dev/null || true
  ns_unshare_pid=
}
private_systemd_gone() { ! kill -0 "$ns_unshare_pid" 2>/dev/null; }

# Remove the cgroups made for the private systemd, deepest first; a cgroup whose last
# process has just exited can refuse for a moment, so the removal is retried (bounded).
remove_private_cgroups() {
  local dir
  for dir in "${ns_cgroups[@]}"; do
    [ -d "$dir" ] || continue
    wait_for "cgroup $dir to be removed" 10 remove_cgroup_tree "$dir" || return 1
  done
  ns_cgroups=()
}
remove_cgroup_tree() {
  find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null
  [ ! -d "$1" ]
}

cleanup() {
  if [ -n "$client_pid" ]; then
    touch "$work/stop"
    wait "$client_pid" 2>/dev/null || true
  fi
  if [ -n "$hand_pid" ] && kill -0 "$hand_pid" 2>/dev/null; then
    kill -TERM "$hand_pid" 2>/dev/null || true
    wait "$hand_pid" 2>/dev/null || true
  fi
  stop_private_systemd || echo "deb-service: the private systemd did not power off; killed" >&2
  remove_private_cgroups || echo "deb-service: left cgroups: ${ns_cgroups[*]}" >&2
  if [ -z "${KEEP_PACKAGE:-}" ] && dpkg -s isapihost >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q isapihost >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for WHAT SECONDS COMMAND...: run COMMAND until it succeeds, at most SECONDS long.
# This is polling for an event with a bound, not a sleep that decides an outcome.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "deb-service: gave up after ${seconds}s waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

say "apt install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null

getent passwd isapihost >/dev/null || fail "postinst did not create the isapihost account"
unit=/usr/lib/systemd/system/isapihost.service
[ -f "$unit" ] || unit=/lib/systemd/system/isapihost.service
[ -f "$unit" ] || fail "the package installed no unit file"
[ -f /etc/isapihost/isapihost.ini ] || fail "no /etc/isapihost/isapihost.ini"
[ "$(stat -c %U /var/log/isapihost)" = isapihost ] || fail "/var/log/isapihost is not isapihost's"
# Enabled whether or not systemd runs here: the [Install] link (WantedBy=multi-user.target).
wants=/etc/systemd/system/multi-user.target.wants/isapihost.service
[ "$(readlink -f "$wants" 2>/dev/null)" = "$(readlink -f "$unit")" ] \
  || fail "the postinst did not enable isapihost.service ($wants: $(ls -l "$wants" 2>&1))"
say "the postinst enabled isapihost.service ($wants)"

# systemd's own reading of the installed unit: unknown keys, commands that are not there,
# dependencies that do not resolve. Lines about other units of the machine are shown, not
# held against the package.
if command -v systemd-analyze >/dev/null; then
  verify_rc=0
  verify_out=$(systemd-analyze verify "$unit" 2>&1) || verify_rc=$?
  if [ "$verify_rc" != 0 ] || grep -qi isapihost <<<"$verify_out"; then
    fail "systemd-analyze verify $unit (exit $verify_rc): $verify_out"
  fi
  [ -z "$verify_out" ] || say "systemd-analyze verify, about other units: $verify_out"
  say "systemd-analyze verify $unit: clean"
else
  say "systemd-analyze is not installed: the unit file is not verified"
fi

# Boot the private systemd. When it cannot be had here, returns 1 and says why in $why.
boot_private_systemd() {
  local tool
  for tool in unshare nsenter findmnt; do
    command -v "$tool" >/dev/null || { why="$tool is not installed"; return 1; }
  done
  [ -x /lib/systemd/systemd ] || { why="/lib/systemd/systemd is not installed"; return 1; }
  local v2_mount v2_own name=isapihost-deb-service-$$
  v2_mount=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
  [ -n "$v2_mount" ] || { why="no cgroup2 hierarchy is mounted"; return 1; }
  v2_own=$(sed -n 's/^0:://p' /proc/self/cgroup)
  mkdir "$v2_mount${v2_own%/}/$name" 2>"$work/cgroup.err" \
    || { why="cannot make a cgroup: $(cat "$work/cgroup.err")"; return 1; }
  ns_cgroups+=("$v2_mount${v2_own%/}/$name")

  : >"$work/console.log"
  (
    echo "$BASHPID" >"${ns_cgroups[0]}/cgroup.procs"
    exec unshare --pid --fork --kill-child --mount --uts --net --cgroup --propagation private \
         --mount-proc tests/package/private-systemd.sh "$work/console.log"
  ) >"$work/unshare.log" 2>&1 &
  ns_unshare_pid=$!

  find_init() {
    ns_init_pid=$(ps -o pid= --ppid "$ns_unshare_pid" | tr -d ' ')
    [ -n "$ns_init_pid" ] || ! kill -0 "$ns_unshare_pid" 2>/dev/null
  }
  wait_for "unshare to start systemd" 30 find_init 2>/dev/null || true
  if [ -z "$ns_init_pid" ]; then
    why="unshare did not start systemd: $(tail -n 3 "$work/unshare.log" | paste -sd' ')"
    return 1
  fi
  in_ns=(nsenter --target "$ns_init_pid" --mount --pid --net --uts --cgroup)
  booted() {
    local state
    kill -0 "$ns_unshare_pid" 2>/dev/null || return 0
    state=$("${in_ns[@]}" systemctl is-system-running 2>/dev/null) || true
    [ "$state" = running ] || [ "$state" = degraded ]
  }
  if ! wait_for "the private systemd to boot" 60 booted 2>/dev/null \
     || ! kill -0 "$ns_unshare_pid" 2>/dev/null; then
    why="systemd did not boot in the namespace: $(tail -n 3 "$work/unshare.log" "$work/console.log" | paste -sd' ')"
    return 1
  fi
  # In unified mode systemd's cgroups are all under the test's cgroup2 one; none of them
  # may be in a v1 hierarchy of the machine, which nothing would remove.
  if grep -v '^0::' "/proc/$ns_init_pid/cgroup" | grep -q '\.scope'; then
    fail "the private systemd made cgroups in the machine's v1 hierarchies: $(paste -sd' ' "/proc/$ns_init_pid/cgroup")"
  fi
}

mode=by-hand
if [ -d /run/systemd/system ]; then
  mode=host-systemd
  say "systemd is PID 1 here: the postinst started the service"
elif [ "${ISAPIHOST_PACKAGE_TEST_BY_HAND:-}" = 1 ]; then
  say "no real systemd used: ISAPIHOST_PACKAGE_TEST_BY_HAND=1; running the unit's commands by hand"
elif boot_private_systemd; then
  mode=private-systemd
  say "systemd is not PID 1 here: booted systemd $("${in_ns[@]}" systemctl --version | head -n 1 | cut -d' ' -f2) as PID 1 of a private namespace"
else
  stop_private_systemd || true
  remove_private_cgroups || true
  in_ns=()
  say "no real systemd used: $why; running the unit's commands by hand"
fi

# PIDs on one line.
listed() { paste -sd' ' <<<"$1"; }

# A command beside the server: inside the private systemd's namespaces when it runs one.
beside() { "${in_ns[@]}" "$@"; }
sd() { beside systemctl "$@"; }

case $mode in
  private-systemd)
    say "isapihost.service starts at boot, as the postinst enabled it (no systemctl start)"
    ;;
  by-hand)
    pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
    start=$(sed -n 's/^ExecStart=//p' "$unit")
    [ -n "$start" ] || fail "no ExecStart in $unit"
    if [ -n "$pre" ]; then
      # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
      $pre || fail "ExecStartPre failed: $pre"
    fi
    # shellcheck disable=SC2086
    $start &
    hand_pid=$!
    main_pid=$hand_pid
    ;;
esac

if [ "$mode" != by-hand ]; then
  is_active() { sd is-active --quiet isapihost.service; }
  wait_for "isapihost.service to be active" 30 is_active \
    || fail "isapihost.service is not active: $(sd status --no-pager isapihost.service)"
  main_pid=$(sd show -p MainPID --value isapihost.service)
  [ "$main_pid" != 0 ] || fail "isapihost.service is active without a main process"
  say "isapihost.service is active, main process $main_pid"
fi

# Wait for the answer: the service binds port 80 once its configuration is read; curl's own
# retry waits for the listener (bounded: 30 s), so no fixed sleep decides the outcome.
body=$(beside curl -sS --retry 60 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
            --max-time 35 http://127.0.0.1/) || fail "nothing answered on port 80"
grep -qi isapihost <<<"$body" || fail "port 80 answered, but not with the placeholder page: ${body:0:200}"
status=$(beside curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/)
[ "$status" = 200 ] || fail "port 80 answered $status"

# Who serves: the serving processes (the main process's children) must run as isapihost,
# never root, and one of them must hold the port-80 socket. Only this server's process tree
# is looked at: other isapihost servers may run on the machine.
serving_pids() { beside ps -o pid= --ppid "$main_pid" | tr -d ' ' | sort; }
serving=$(serving_pids)
[ -n "$serving" ] || fail "the main process $main_pid has no serving process"
for p in $serving; do
  u=$(beside ps -o user= -p "$p" | tr -d ' ')
  [ "$u" = isapihost ] || fail "serving process $p runs as '$u', not isapihost"
done
say "main process runs as $(beside ps -o user= -p "$main_pid" | tr -d ' '), serving process(es) $(listed "$serving") as isapihost"
port_pids=$(beside ss -Hltnp 'sport = :80' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
held_by_serving=0
for p in $port_pids; do
  if grep -qx "$p" <<<"$serving"; then held_by_serving=1; fi
done
[ "$held_by_serving" = 1 ] || fail "no serving process holds port 80 (holders: $(listed "$port_pids"))"

# The access log is written by the unprivileged server into the package's log folder.
[ -n "$(ls -A /var/log/isapihost/)" ] || fail "nothing in /var/log/isapihost"

if [ "$mode" = by-hand ]; then
  kill -TERM "$hand_pid"
  wait "$hand_pid" || true
  hand_pid=
  if ss -Hltn 'sport = :80' | grep -q .; then fail "port 80 still held after SIGTERM"; fi
else
  # systemctl reload: a new serving process takes over while requests keep coming; none
  # may fail. A client loop beside the server counts answers until told to stop.
  # shellcheck disable=SC2016 # expanded by the bash that runs the loop
  client_loop='ok=0 bad=0
    while [ ! -e "$1" ] && [ -e "$2" ]; do
      code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 10 http://127.0.0.1/) || true
      if [ "$code" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "answer: $code" >&2; fi
      echo "$ok $bad" >"$2.new" && mv "$2.new" "$2"
    done'
  echo "0 0" >"$work/counts"
  beside bash -c "$client_loop" client "$work/stop" "$work/counts" 2>"$work/client.err" &
  client_pid=$!
  answered() { local ok bad; read -r ok bad <"$work/counts"; [ "$ok" -ge "$1" ]; }
  wait_for "requests before the reload" 30 answered 5 || fail "the client loop got no answers"

  sd reload isapihost.service || fail "systemctl reload failed: $(sd status --no-pager isapihost.service)"
  old_serving=$serving
  swapped() {
    local now p
    now=$(serving_pids)
    [ -n "$now" ] || return 1
    for p in $old_serving; do
      if grep -qx "$p" <<<"$now"; then return 1; fi
    done
  }
  wait_for "a new serving process to replace $(listed "$old_serving")" 30 swapped \
    || fail "after systemctl reload the serving processes are $(listed "$(serving_pids)"), were $(listed "$old_serving")"
  read -r ok_at_swap _ <"$work/counts"
  wait_for "requests after the reload" 30 answered $((ok_at_swap + 5)) \
    || fail "no answers after the reload"
  touch "$work/stop"
  wait "$client_pid" || true
  client_pid=
  read -r ok bad <"$work/counts"
  [ "$bad" = 0 ] || fail "$bad of $((ok + bad)) requests failed across the reload: $(head -n 5 "$work/client.err")"
  [ "$(sd show -p MainPID --value isapihost.service)" = "$main_pid" ] \
    || fail "systemctl reload replaced the main process (a restart, not a reload)"
  say "systemctl reload: serving process $(listed "$old_serving") -> $(listed "$(serving_pids)"), $ok requests answered, none failed"

  sd stop isapihost.service || fail "systemctl stop failed"
  state=$(sd is-active isapihost.service) || true
  [ "$state" = inactive ] || fail "after systemctl stop isapihost.service is '$state'"
  result=$(sd show -p Result --value isapihost.service)
  [ "$result" = success ] || fail "isapihost.service ended with result '$result': $(sd status --no-pager isapihost.service)"
  restarts=$(sd show -p NRestarts --value isapihost.service)
  [ "$restarts" = 0 ] || fail "systemd restarted isapihost.service $restarts time(s)"
  if beside ss -Hltn 'sport = :80' | grep -q .; then fail "port 80 still held after systemctl stop"; fi

  # The journal recorded the unit's life, and no failure in it.
  journal=$(beside journalctl --no-pager -o cat -u isapihost.service --since "@$test_started")
  for line in 'Started isapihost.service' 'Reloaded isapihost.service' 'Stopped isapihost.service'; do
    grep -qF "$line" <<<"$journal" || fail "the journal has no '$line': $journal"
  done
  if grep -Ei 'failed|Main process exited|Control process exited|core-dump' <<<"$journal"; then
    fail "the journal records a failure of isapihost.service"
  fi
  say "systemctl stop: inactive, result success, no restarts; the journal has $(wc -l <<<"$journal") lines, no failure"
fi

if [ "$mode" = private-systemd ]; then
  stop_private_systemd || fail "the private systemd did not power off within 30 s; killed"
  remove_private_cgroups || fail "cgroups of the private systemd could not be removed: ${ns_cgroups[*]}"
  in_ns=()
  say "the private systemd powered off"
fi
[ "$(findmnt -rn -o TARGET,SOURCE,FSTYPE | sort)" = "$mounts_before" ] \
  || fail "the mount table changed: $(diff <(echo "$mounts_before") <(findmnt -rn -o TARGET,SOURCE,FSTYPE | sort))"
if ss -Hltn 'sport = :80' | grep -q .; then fail "port 80 is held after the test"; fi

DEBIAN_FRONTEND=noninteractive apt-get purge -y -q isapihost >/dev/null
! getent passwd isapihost >/dev/null || fail "purge left the isapihost account"
[ ! -e /var/log/isapihost ] || fail "purge left /var/log/isapihost"
[ ! -e "$wants" ] && [ ! -L "$wants" ] || fail "purge left $wants"
say "passed ($mode): the package installs, its service answers on port 80 as isapihost, and purges clean"
