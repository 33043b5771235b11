#!/usr/bin/env bash
# The main job: install, build, boot the default configuration in QEMU on this terminal.
# The QEMU machine (its NVMe with a fresh check disk, build/main-job-disk.img, and its
# e1000e on user networking) is defined once, in scripts/main_job.py, which the tests use.
# Extra arguments go to QEMU (e.g. -append bulkhead.hold). Quit QEMU: Ctrl-A x.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
mapfile -d '' -t command < <(python3 "$root/scripts/main_job.py" command "$root/build" "$@")
[ ${#command[@]} -gt 0 ] || { echo "run: scripts/main_job.py gave no QEMU command" >&2; exit 1; }
echo "Console: Ctrl-T n moves the input focus to the next partition; in the Linux shell,"
echo "'exit' powers Linux off, 'reboot -f' restarts only its partition. Quit QEMU: Ctrl-A x."
exec "${command[@]}"
