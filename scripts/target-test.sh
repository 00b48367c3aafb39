#!/usr/bin/env bash
# Builds the on-target test program (target/) for a Cortex-M4, a Cortex-M3
# and a 16 KiB-RAM Cortex-M0, runs them under qemu-system-arm with
# semihosting (in parallel), and reports pass/fail, the stack high-water
# marks and the linked size of the library.
# Usage: scripts/target-test.sh [BUILD_DIR]        (default build/target)
# Environment: CAIRN_QEMU_TIMEOUT (seconds per run, default 120),
#              CAIRN_TARGETS (default "m4 m3 m0").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/target}
timeout_s=${CAIRN_QEMU_TIMEOUT:-120}
targets=${CAIRN_TARGETS:-"m4 m3 m0"}

die() { echo "target-test: $*" >&2; exit 1; }

for tool in arm-none-eabi-g++ arm-none-eabi-size arm-none-eabi-nm cmake ninja \
    timeout; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found; install it with: scripts/install-deps.sh build target"
done
command -v qemu-system-arm >/dev/null 2>&1 ||
  die "qemu-system-arm not found; the program cannot run. Install it with:" \
      "scripts/install-deps.sh target (Debian package qemu-system-arm)"

# name -> core flags | QEMU machine | label | strict alignment | board
config_for() {
  case "$1" in
    m4) echo "-mcpu=cortex-m4 -mthumb|mps2-an386|Cortex-M4 mps2-an386|OFF|mps2" ;;
    m3) echo "-mcpu=cortex-m3 -mthumb|mps2-an385|Cortex-M3 mps2-an385, unaligned access traps|ON|mps2" ;;
    m0) echo "-mcpu=cortex-m0 -mthumb|microbit|Cortex-M0 microbit (nRF51, 16 KiB RAM)|OFF|microbit" ;;
    *) die "unknown target '$1' (known: m4 m3 m0)" ;;
  esac
}

mkdir -p "$build"

# 1. Build every program (and refuse one that links the heap).
for name in $targets; do
  IFS='|' read -r cpu machine label strict board <<<"$(config_for "$name")"
  dir="$build/$name"
  echo "== $label: building"
  cmake -S target -B "$dir" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DCAIRN_CRC_SMALL=ON \
    -DCAIRN_CPU_FLAGS="$cpu" -DCAIRN_TARGET_NAME="$label" \
    -DCAIRN_TARGET_STRICT_ALIGN="$strict" -DCAIRN_TARGET_BOARD="$board" \
    >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; die "configuring $name failed"; }
  cmake --build "$dir" >"$dir.build.log" 2>&1 ||
    { cat "$dir.build.log" >&2; die "building $name failed"; }
  forbidden=$(arm-none-eabi-nm "$dir/cairn_target_test.elf" | awk '{print $NF}' |
    grep -xE 'malloc|free|calloc|realloc|_sbrk|_sbrk_r|_malloc_r|_Znwj|_Znaj|_ZdlPv|_ZdaPv|_ZdlPvj|__cxa_throw|__cxa_allocate_exception|__gxx_personality_v0' ||
    true)
  [ -z "$forbidden" ] ||
    die "$name: the linked program uses the heap or exceptions: $forbidden"
done

# 2. Run them all at once, each under its own timeout.
declare -A pids
for name in $targets; do
  IFS='|' read -r cpu machine label strict board <<<"$(config_for "$name")"
  dir="$build/$name"
  echo "== $label: running (qemu-system-arm -M $machine, timeout ${timeout_s}s)"
  (
    start=$(date +%s)
    set +e
    timeout --foreground -k 5 "$timeout_s" qemu-system-arm -M "$machine" \
      -nographic -monitor none -semihosting \
      -kernel "$dir/cairn_target_test.elf" >"$dir/run.log" 2>&1 </dev/null
    rc=$?
    echo $(($(date +%s) - start)) >"$dir/elapsed"
    exit $rc
  ) &
  pids[$name]=$!
done

# 3. Collect the verdicts and the figures.
summary="$build/summary.txt"
: >"$summary"
failed=()
for name in $targets; do
  IFS='|' read -r cpu machine label strict board <<<"$(config_for "$name")"
  dir="$build/$name"
  log="$dir/run.log"
  set +e
  wait "${pids[$name]}"
  rc=$?
  set -e
  elapsed=$(cat "$dir/elapsed" 2>/dev/null || echo "?")
  echo "== $label: output"
  cat "$log"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "target-test: $name: TIMEOUT after ${timeout_s}s" >&2
    failed+=("$name(timeout)")
  elif [ $rc -ne 0 ] || ! grep -q '^RESULT: PASS' "$log"; then
    echo "target-test: $name: FAILED (exit status $rc)" >&2
    failed+=("$name")
  fi
  {
    echo "### $label ($cpu, -Os, qemu $machine, ${elapsed}s, exit $rc)"
    grep -E '^(kvs|blob|stack|ram|unaligned)' "$log" || true
    echo "program (arm-none-eabi-size):"
    arm-none-eabi-size "$dir/cairn_target_test.elf" | sed 's/^/  /'
    echo "library objects as linked (bytes after --gc-sections):"
    awk -v match_file=libcairn.a -f target/linked-size.awk \
      "$dir/cairn_target_test.map" | tee "$dir/library-size.txt" |
      sed 's/^/  /'
    awk '$1 == "TOTAL" { total = $2 } $1 == "ram_flash.cc" { sim = $2 }
         END { printf "library flash without the RamFlash simulator: %d B\n",
               total - sim }' "$dir/library-size.txt"
    echo
  } >>"$summary"
done

echo "== summary ($summary)"
cat "$summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo "target-test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "target-test: all target runs passed"
