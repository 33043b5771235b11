#!/usr/bin/env bash
# The whole test suite: install, build, then every unit and QEMU test through CTest, and
# the certification evidence the `cert:` tests wrote (tests/cert/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
cd "$root/build"
# Tables of an earlier run must not pass for this one's.
rm -f cert/coverage.txt cert/stacks.txt cert/binary.txt
status=0
ctest --output-on-failure -j"$(nproc)" "$@" || status=$?

echo
echo "=== certification evidence (build/cert/; coverage report: build/coverage/index.html) ==="
for table in coverage stacks binary tcb; do
  echo
  if [ -f "cert/$table.txt" ]; then cat "cert/$table.txt"; else echo "$table: not run by this invocation"; fi
done
exit $status
