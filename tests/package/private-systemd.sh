#!/usr/bin/env bash
# private-systemd.sh - becomes systemd as PID 1 of a fresh PID, mount, UTS, network and
# cgroup namespace, so that deb-service.sh can run the packaged unit under a real systemd on a
# machine where systemd is not PID 1. deb-service.sh starts it through unshare; it is not
# meant to be run by hand.
#
#   private-systemd.sh CONSOLE_LOG
#
# What it prepares before it executes systemd, all in its own mount namespace (propagation
# private, so the machine's mount table does not change):
#   - a tmpfs on /run: systemd's runtime state, its private bus socket and the journal, and
#     no /run/systemd/system left visible to the machine;
#   - a tmpfs on /var/log/journal, so the journal stays in the namespace;
#   - /sys and /proc/sys read-only, so nothing systemd tries at boot (the sysctls it raises,
#     udev) reaches the machine;
#   - the cgroup2 hierarchy alone, mounted anew on /sys/fs/cgroup: in the cgroup namespace
#     its root is the cgroup deb-service.sh made for this run, so systemd's slices live
#     under it;
#   - /dev/console bound to CONSOLE_LOG, for what systemd prints before journald runs;
#   - a unit directory holding only what the test needs (the installed isapihost.service,
#     the journal, the targets a service's default dependencies name, and poweroff), named
#     by SYSTEMD_UNIT_PATH, and no generators, so none of the machine's own services start.
set -euo pipefail

console_log=$1

mount --make-rprivate /
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /var/log/journal
mount -t tmpfs -o mode=2755,nosuid,nodev tmpfs /var/log/journal
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
# /sys bound on itself without its submounts, read-only; on it the cgroup2 hierarchy alone.
# systemd, finding cgroup2 on /sys/fs/cgroup, runs in unified mode: it neither mounts nor
# makes cgroups in the machine's v1 hierarchies (pids, memory, devices, ...), where the
# test has no cgroup of its own to hold them and they would outlive the test.
mount --bind /sys /sys
mount -o remount,bind,ro /sys
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
mount --bind "$console_log" /dev/console

units=/run/isapihost-test/units
generators=/run/isapihost-test/no-generators
mkdir -p "$units" "$generators"
for unit in isapihost.service \
            sysinit.target basic.target sockets.target paths.target timers.target slices.target \
            network.target network-online.target \
            systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
            shutdown.target umount.target final.target poweroff.target systemd-poweroff.service; do
  for dir in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -e "$dir/$unit" ]; then
      ln -s "$dir/$unit" "$units/$unit"
      break
    fi
  done
done
# Debian 12 ships system.slice as no file (systemd knows it); with the search path narrowed
# it has to be written out.
if [ ! -e "$units/system.slice" ]; then
  printf '[Unit]\nDescription=System Slice\nDefaultDependencies=no\nBefore=slices.target\n' \
    >"$units/system.slice"
fi
# The boot target: multi-user.target reduced to the journal and what the package enabled
# (its link in /etc/systemd/system/multi-user.target.wants), so the service starts at boot
# only if the postinst enabled it.
cat >"$units/multi-user.target" <<'EOF'
[Unit]
Description=isapihost package test: the journal and the units the machine enabled
Wants=systemd-journald.service
EOF
mkdir -p "$units/multi-user.target.wants"
if [ -e /etc/systemd/system/multi-user.target.wants/isapihost.service ]; then
  ln -s "$units/isapihost.service" "$units/multi-user.target.wants/isapihost.service"
fi

export SYSTEMD_UNIT_PATH=$units
export SYSTEMD_GENERATOR_PATH=$generators
export SYSTEMD_ENVIRONMENT_GENERATOR_PATH=$generators
# PID 1 reads "container" from its own environment: it then skips what only a machine's
# first systemd does (loading kernel modules, the hardware's devices).
export container=isapihost-test
exec /lib/systemd/systemd --system --unit=multi-user.target \
     --log-target=journal --show-status=no
