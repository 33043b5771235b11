#!/usr/bin/env bash
# The main job: install, build, boot the default configuration in QEMU on this terminal.
# Extra arguments go to QEMU (e.g. -append bulkhead.hold). Quit QEMU: Ctrl-A x.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
echo "Console: Ctrl-T n moves the input focus to the next partition; in the Linux shell,"
echo "'exit' powers Linux off, 'reboot -f' restarts only its partition. Quit QEMU: Ctrl-A x."
exec qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,iommu=smmuv3 -cpu cortex-a57 \
  -smp 4 -m 2G -nographic -kernel "$root/build/bulkhead.img" "$@"
