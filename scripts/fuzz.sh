#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, library instrumented
# too) and runs each for FUZZ_SECONDS (default 60), starting from the
# checked-in seed corpus fuzz/corpus/<target>/. New inputs go to
# <build>/fuzz/corpus-<target>/, crashes to <build>/fuzz/artifacts/.
# Usage: scripts/fuzz.sh [build-dir]   (env: FUZZ_SECONDS, FUZZ_TARGETS)
# Exits non-zero if any target found a crash, leak, timeout or violation.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"fuzz_mount fuzz_ops fuzz_tool"}

flags="-fsanitize=fuzzer-no-link"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCAIRN_SANITIZE=ON -DCAIRN_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCAIRN_BUILD_BENCH=OFF \
  >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" --target $targets

status=0
summary=()
mkdir -p "$build/fuzz/artifacts"
for t in $targets; do
  work="$build/fuzz/corpus-$t"
  mkdir -p "$work"
  log="$build/fuzz/$t.log"
  echo "== $t: ${seconds}s"
  rc=0
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/artifacts/$t-" \
    "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work" "fuzz/corpus/$t" -type f | wc -l)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "!! $t failed (exit $rc); see $log"
    tail -30 "$log"
  fi
  summary+=("$t: ${execs:-?} executions in ${seconds}s, coverage ${cov:-?}, corpus $corpus inputs, exit $rc")
done
echo "== fuzz summary"
printf '  %s\n' "${summary[@]}"
exit $status
