#!/usr/bin/env bash
# Installs what isapihost needs on Debian 12 (bookworm), and nothing when it is all there.
#
#   tests/setup-debian.sh build   compiler, CMake, OpenSSL, libxml2 (--import-iis), Check,
#                                 Python: enough to configure,
#                                 build and run the native server
#   tests/setup-debian.sh test    everything the test suite needs: Check, mingw-w64, Wine 32
#                                 and 64, curl, netcat, clang with its sanitizer runtimes,
#                                 python3 (integration tests), nginx and wrk (benchmarks),
#                                 HAProxy (scale-out test), dpkg-dev and systemd (the
#                                 package test builds the .deb and runs its unit),
#                                 winegcc for both bitnesses (the Winelib build)
#
# Idempotent: packages already installed are not touched, and apt sources are changed only
# when the 32-bit Wine packages cannot be installed because the security suite's i386 index
# is missing or stale (see the "i386 index problem" in docs/building.md). Every change it
# makes to the machine is printed.
set -euo pipefail

mode=${1:-test}
case "$mode" in
  build|test) ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

build_pkgs=(cmake gcc make pkg-config libc6-dev libssl-dev libxml2-dev check python3)
test_pkgs=(check curl netcat-openbsd mingw-w64 clang libclang-rt-14-dev llvm libssl-dev libxml2-dev
           python3 nginx-light wrk haproxy iproute2 procps dpkg-dev systemd file
           wine64 libwine gcc-multilib libwine-dev)
# Why wine32-tools:i386 and not wine64-tools: the two conflict on Debian 12, and the 32-bit
# package's winegcc builds both -m32 and -m64 programs once gcc-multilib and libwine-dev for
# both architectures are installed (docs/winelib.md).
i386_pkgs=(wine32:i386 libwine:i386 libgstreamer-plugins-base1.0-0:i386
           libgstreamer-plugins-base1.0-0 wine32-tools:i386 libwine-dev:i386)

say() { echo "setup-debian: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    say "must run as root (or with sudo available) to install packages"; exit 1
  fi
else
  SUDO=
fi

missing() {
  local p out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p")
  done
  echo "${out[@]}"
}

wanted=("${build_pkgs[@]}")
[ "$mode" = test ] && wanted+=("${test_pkgs[@]}" "${i386_pkgs[@]}")

if [ "$mode" = test ] && ! dpkg --print-foreign-architectures | grep -qx i386; then
  say "adding the i386 architecture (for 32-bit Wine)"
  $SUDO dpkg --add-architecture i386
fi

need=$(missing "${wanted[@]}")
if [ -z "$need" ]; then
  say "everything for '$mode' is installed"
  exit 0
fi
say "installing: $need"

export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y -q --no-install-recommends "$@"; }

$SUDO apt-get update -q || say "apt-get update reported errors; going on with what it fetched"

plain=() ; multi=()
for p in $need; do
  case " ${i386_pkgs[*]} wine64 libwine libwine-dev " in
    *" $p "*) multi+=("$p") ;;
    *) plain+=("$p") ;;
  esac
done
[ ${#plain[@]} -eq 0 ] || apt_install "${plain[@]}"

if [ ${#multi[@]} -gt 0 ]; then
  if ! apt_install "${multi[@]}"; then
    # Why: the security suite's i386 index sometimes fails to download ("File has unexpected
    # size ... Mirror sync in progress?"). apt then knows amd64 libraries at their security
    # versions and i386 ones only at bookworm's, and multiarch packages must match, so
    # wine32:i386 is "held broken". Limiting the security source to amd64 and installing
    # from bookworm gives both architectures the same versions.
    src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ] && ! grep -q '^Architectures:' "$src"; then
      say "32-bit Wine could not be installed; restricting the debian-security source in $src to amd64"
      $SUDO cp "$src" "$src.isapihost-backup"
      $SUDO awk 'BEGIN{RS="";ORS="\n\n"} /debian-security/ {$0=$0"\nArchitectures: amd64"} {print}' \
        "$src.isapihost-backup" | $SUDO tee "$src" >/dev/null
      say "previous file kept as $src.isapihost-backup"
      $SUDO apt-get update -q || true
    fi
    say "installing the Wine packages from bookworm so both architectures match"
    apt_install -t bookworm "${multi[@]}"
  fi
fi

left=$(missing "${wanted[@]}")
if [ -n "$left" ]; then
  say "still missing after install: $left"; exit 1
fi
say "done"
