#!/usr/bin/env bash
# The main job: install, build, boot the default configuration in QEMU on this terminal.
# Extra arguments go to QEMU (e.g. -append bulkhead.hold). Quit a held machine: Ctrl-A X.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
exec qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,iommu=smmuv3 -cpu cortex-a57 \
  -smp 4 -m 2G -nographic -kernel "$root/build/bulkhead.img" "$@"
