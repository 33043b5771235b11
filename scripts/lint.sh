#!/usr/bin/env bash
# Static analysis of our code: cppcheck, then clang-tidy with .clang-tidy, for the host
# build (portable code) and the image build (target code). Exits non-zero on any finding.
# Usage: scripts/lint.sh [cppcheck|clang-tidy] [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
build=${2:-$root/build}
cd "$root"
status=0

if [ "$which" = all ] || [ "$which" = cppcheck ]; then
  # Tracked files only: what CI checks out is what is judged.
  sources=$(git ls-files 'core/*.cpp' 'pci/*.cpp' 'partitions/*.cpp' 'smmu/*.cpp' 'tests/guests/*.cpp')  # headers come in through them
  out=$(cppcheck --enable=warning,style,performance,portability --std=c++20 --inline-suppr --quiet \
    --error-exitcode=0 -I . --suppress=missingIncludeSystem $sources 2>&1 || true)
  if [ -n "$out" ]; then echo "$out"; status=1; else echo "cppcheck: clean"; fi
fi

if [ "$which" = all ] || [ "$which" = clang-tidy ]; then
  # Host compile commands for portable code and host tools, the image's for target code.
  target_globs=('core/boot/*.cpp' 'core/arch/*.cpp' 'core/vcpu/el2/*.cpp' 'partitions/boot/*.cpp')
  target=$(git ls-files "${target_globs[@]}")
  portable=$(git ls-files 'core/*.cpp' 'pci/*.cpp' 'partitions/*.cpp' 'smmu/*.cpp' | grep -vxF -f <(echo "$target"))
  # The bare-metal guests are built by custom commands (no compile database): their flags here.
  guests=$(git ls-files 'tests/guests/*.cpp')
  # The image is compiled with GCC-only flags for the stack evidence and its inlining limit
  # (cmake/image.cmake) that clang rejects: clang-tidy reads a copy of its compile
  # commands without them.
  image_db=$(mktemp -d)
  trap 'rm -rf "$image_db"' EXIT
  sed -E 's/ -(fcallgraph-info=[a-z,]+|fdump-tree-optimized|Wstack-usage=[0-9]+|-param=max-inline-insns-auto=[0-9]+)//g' \
    "$build/image/compile_commands.json" > "$image_db/compile_commands.json"
  out=$( { clang-tidy -p "$build" --quiet $portable 2>&1
           clang-tidy -p "$image_db" --quiet --extra-arg=--target=aarch64-linux-gnu $target 2>&1
           for guest in $guests; do
             clang-tidy --quiet --header-filter='tests/guests/.*' "$guest" -- --target=aarch64-linux-gnu -std=c++20 \
               -ffreestanding -fno-exceptions -fno-rtti -mgeneral-regs-only 2>&1
           done; } |
         grep -E "(warning|error):" || true)
  if [ -n "$out" ]; then echo "$out"; status=1; else echo "clang-tidy: clean"; fi
fi
exit $status
