#!/usr/bin/env bash
# Runs the standard workloads W1..W6 and the micro-benchmarks, measures code
# size (arm-none-eabi, Cortex-M4, -Os, CAIRN_CRC_SMALL) and the store's RAM
# on the 32-bit target, and writes OUT_DIR/bench.json and OUT_DIR/bench.md.
# Usage: scripts/bench.sh BUILD_DIR OUT_DIR     (make bench: build/release build)
# With CAIRN_BENCH_UPDATE_DOCS=1 the results also replace the generated part
# of docs/benchmarks.md.
set -euo pipefail
build=${1:-build/release}
out=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
log="$out/bench-build.log"
: > "$log"
# Runs a build step quietly; its output is shown only when it fails.
quiet() {
  if ! "$@" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    return 1
  fi
}

if ! quiet cmake --build "$build" --target cairn_bench; then
  echo "bench: cannot build cairn_bench in $build (is the key-value store" \
       "implemented yet? see bench/CMakeLists.txt)" >&2
  exit 1
fi
runner="$build/bench/cairn_bench"
args=()

# ---- code size and target RAM (0 without the cross compiler) ----
cross="$out/bench-cross"
objdir="$cross/src/CMakeFiles/cairn.dir"
# Sums one column (1 text, 2 data, 3 bss) of arm-none-eabi-size over the
# objects under DIR (all of the library if DIR is empty).
size_sum() {
  local dir="$objdir${1:+/$1}" column=$2
  [ -d "$dir" ] || { echo 0; return; }
  mapfile -t objs < <(find "$dir" \( -name '*.o' -o -name '*.obj' \) | sort)
  [ ${#objs[@]} -gt 0 ] || { echo 0; return; }
  arm-none-eabi-size "${objs[@]}" |
    awk -v c="$column" 'NR > 1 { s += $c } END { print s + 0 }'
}
symbol_size() {
  local hex
  hex=$(arm-none-eabi-nm -S "$cross/target_sizeof.o" |
    awk -v s="$1" '$4 == s { print $2 }')
  echo $((16#${hex:-0}))
}
# Sum of the sizes of the text symbols of the linked firmware whose
# demangled name contains $1 (aliases at one address counted once).
namespace_text() {
  local total=0 hex
  while read -r hex; do
    total=$((total + 16#$hex))
  done < <(arm-none-eabi-nm -S -C "$cross/target_app.elf" |
    awk -v ns="$1" '($3 ~ /^[TtWw]$/) && index($0, ns) && !seen[$1]++ { print $2 }')
  echo "$total"
}
measure_cross() {
  quiet cmake -S "$root" -B "$cross" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
    -DCAIRN_CRC_SMALL=ON || return 1
  quiet cmake --build "$cross" --target cairn || return 1
  quiet arm-none-eabi-g++ -std=c++20 -mcpu=cortex-m4 -mthumb -Os \
    -fno-exceptions -fno-rtti -I"$root/include" \
    -c "$root/bench/target_sizeof.cc" -o "$cross/target_sizeof.o" || return 1
  # Linked figures: a minimal firmware (bench/target_app.cc) linked with
  # --gc-sections; the text symbols of each namespace are summed.
  local flags=(-std=c++20 -mcpu=cortex-m4 -mthumb -Os -fno-exceptions -fno-rtti
               -fno-threadsafe-statics -ffunction-sections -fdata-sections
               -I"$root/include")
  local kvs_linked=0 blob_linked=0 app_text=0
  if quiet arm-none-eabi-g++ "${flags[@]}" -c "$root/bench/target_app.cc" \
       -o "$cross/target_app.o" &&
     quiet arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb --specs=nosys.specs \
       -Wl,--gc-sections -o "$cross/target_app.elf" "$cross/target_app.o" \
       "$cross/src/libcairn.a"; then
    kvs_linked=$(namespace_text cairn::kvs::)
    blob_linked=$(namespace_text cairn::blob::)
    app_text=$(arm-none-eabi-size "$cross/target_app.elf" | awk 'NR == 2 { print $1 }')
  else
    echo "bench: linking bench/target_app.cc failed; linked sizes are 0" >&2
  fi
  args+=(--kvs_linked_text="$kvs_linked" --blob_linked_text="$blob_linked"
         --app_text="$app_text")
  args+=(--cross=1
         --kvs_text="$(size_sum kvs 1)"
         --blob_text="$(size_sum blob 1)"
         --fs_text="$(size_sum fs 1)"
         --text="$(size_sum '' 1)"
         --data="$(size_sum '' 2)"
         --bss="$(size_sum '' 3)"
         --target_kvs_object_bytes="$(symbol_size cairn_sizeof_kvs32)"
         --target_partition_bytes="$(symbol_size cairn_sizeof_partition)"
         --target_index_entry_bytes="$(symbol_size cairn_sizeof_index_entry)")
}
status=0
cross_version="(absent)"
if command -v arm-none-eabi-g++ >/dev/null &&
    command -v arm-none-eabi-size >/dev/null; then
  cross_version=$(arm-none-eabi-g++ --version | head -n 1)
  if ! measure_cross; then
    echo "bench: the cross build failed; code size and target RAM are 0" >&2
    cross_version="$cross_version (cross build FAILED)"
  fi
else
  echo "bench: arm-none-eabi-g++ not found, code size and target RAM are 0" >&2
fi

# ---- the workloads ----
"$runner" --json "$out/bench.json" --markdown "$out/bench.tables.md" \
  "${args[@]}" || status=$?

# ---- micro-benchmarks (host CPU cost) ----
micro="$build/bench/cairn_micro_bench"
if quiet cmake --build "$build" --target cairn_micro_bench && [ -x "$micro" ]; then
  "$micro" --benchmark_min_time=0.2 --benchmark_counters_tabular=true \
    2>/dev/null | tee "$out/micro_bench.txt" ||
    { echo "(micro-benchmarks failed)" | tee -a "$out/micro_bench.txt"; status=1; }
else
  echo "(micro-benchmarks not built)" > "$out/micro_bench.txt"
fi

# ---- instructions per W1 update (callgrind: the same on every run) ----
# Counts what runs inside Store::Put (flash layers and simulator included)
# over 20,000 updates, minus the count for the fill alone.
count="$build/bench/cairn_put_instructions"
echo "(valgrind not installed: no instruction count)" > "$out/instructions.txt"
if command -v valgrind >/dev/null &&
    quiet cmake --build "$build" --target cairn_put_instructions; then
  put_instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      --toggle-collect='*Store::Put*' "$count" "$1" 2>&1 |
      sed -n 's/.*Collected : *//p'
  }
  base=$(put_instructions 0)
  total=$(put_instructions 20000)
  if [ -n "$base" ] && [ -n "$total" ]; then
    awk -v b="$base" -v t="$total" 'BEGIN {
      printf "W1 instructions per update (callgrind, inside Store::Put): %.0f\n",
             (t - b) / 20000 }' > "$out/instructions.txt"
  else
    echo "(instruction count failed)" > "$out/instructions.txt"; status=1
  fi
fi
cat "$out/instructions.txt"

# ---- bench.md: machine, tables, micro-benchmarks ----
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
{
  echo "Generated by \`scripts/bench.sh $build $out\` (the step \`make bench\` runs after building) on $(date -u +"%Y-%m-%d %H:%M") UTC."
  echo
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "- host compiler: $(${cxx:-c++} --version | head -n 1), build type ${build_type:-?}"
  echo "- cross compiler: $cross_version"
  echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo
  echo '```'
  cat "$out/bench.tables.md"
  echo '```'
  echo
  cat "$out/instructions.txt"
  echo
  echo 'Micro-benchmarks (Google Benchmark, host CPU time):'
  echo
  echo '```'
  cat "$out/micro_bench.txt"
  echo '```'
} > "$out/bench.md"
echo "bench: wrote $out/bench.json and $out/bench.md"

if [ "${CAIRN_BENCH_UPDATE_DOCS:-0}" = 1 ]; then
  doc="$root/docs/benchmarks.md"
  begin='<!-- bench:begin (generated by scripts/bench.sh) -->'
  end='<!-- bench:end -->'
  if grep -qF "$begin" "$doc" && grep -qF "$end" "$doc"; then
    awk -v b="$begin" -v e="$end" -v f="$out/bench.md" '
      $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
    echo "bench: updated $doc"
  else
    echo "bench: $doc lacks the bench:begin/bench:end markers" >&2
  fi
fi
exit $status
