#!/usr/bin/env bash
# Fetches the unmodified Linux guest from Debian (arm64 kernel `Image` and a busybox
# initramfs with our init and the kernel's driver modules it loads) into OUT_DIR.
# Packages are cached in .cache/guests; nothing binary is committed.
# Usage: scripts/fetch-guests.sh OUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: fetch-guests.sh OUT_DIR}
cache=${BULKHEAD_CACHE:-$root/.cache}/guests
mkdir -p "$cache" "$out"

fetch() {  # fetch PACKAGE:arm64 -> path of the cached .deb
  local package=$1 deb
  deb=$(ls "$cache"/"${package%%:*}"_*_arm64.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    bash "$root/scripts/setup.sh" >&2   # arm64 package lists
    (cd "$cache" && chmod 777 . && apt-get download -q "$package" >&2)
    deb=$(ls "$cache"/"${package%%:*}"_*_arm64.deb | head -n1)
  fi
  echo "$deb"
}

# The metapackage names the current kernel package; resolve it once, then cache.
kernel_package_file=$cache/kernel-package
if [ ! -s "$kernel_package_file" ]; then
  bash "$root/scripts/setup.sh" >&2
  apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}' > "$kernel_package_file"
fi
kernel_package=$(cat "$kernel_package_file")
[ -n "$kernel_package" ] || { echo "fetch-guests: cannot resolve linux-image-arm64" >&2; exit 2; }

# Drivers the acceptance guest loads (tests/guests/linux/init), with their dependencies.
# Debian builds them as modules; pci-host-generic is built in.
modules=(e1000e nvme)

kernel_deb=$(fetch "$kernel_package")
busybox_deb=$(fetch busybox-static:arm64)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$kernel_deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel'
cp "$work"/boot/vmlinuz-* "$out/linux-Image.new" && mv "$out/linux-Image.new" "$out/linux-Image"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -x -C "$work" ./bin/busybox
python3 "$root/scripts/make_initramfs.py" --busybox "$work/bin/busybox" \
  --init "$root/tests/guests/linux/init" --file "bin/udhcpc-script=$root/tests/guests/linux/udhcpc-script" \
  --output "$out/initramfs.cpio.gz" \
  --modules-dir "$(echo "$work"/lib/modules/*)" "${modules[@]/#/--module=}"
echo "fetch-guests: $(basename "$kernel_deb") -> $out/linux-Image, initramfs.cpio.gz"
