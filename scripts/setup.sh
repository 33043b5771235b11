#!/usr/bin/env bash
# Installs what Bulkhead needs on Debian 12, idempotently; quick when all is present.
# Host packages go through apt. Arm64 packages (libfdt for the image) are fetched with
# `apt-get download` and unpacked into the project cache: bookworm's libfdt-dev is not
# co-installable for two architectures.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${BULKHEAD_CACHE:-$root/.cache}
arm64_root=$cache/arm64-root

host_packages=(cmake make g++ gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
  qemu-system-arm ipxe-qemu qemu-utils device-tree-compiler libfdt-dev doctest-dev python3 cppcheck clang-tidy
  u-boot-qemu dosfstools mtools gcovr cloc)
arm64_debs=(libfdt-dev libfdt1)

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
apt_updated=0
apt_update() {
  [ $apt_updated -eq 1 ] && return
  "${as_root[@]}" apt-get update -q
  apt_updated=1
}
export DEBIAN_FRONTEND=noninteractive

missing=()
for pkg in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt_update
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$arm64_root/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
  echo "setup: fetching arm64 ${arm64_debs[*]} into $arm64_root"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${as_root[@]}" dpkg --add-architecture arm64
    apt_updated=0
  fi
  apt_update
  debs=$(mktemp -d) && chmod 755 "$debs"
  (cd "$debs" && apt-get download "${arm64_debs[@]/%/:arm64}")
  mkdir -p "$arm64_root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$arm64_root"; done
  rm -rf "$debs"
fi
