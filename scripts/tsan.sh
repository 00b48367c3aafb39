#!/usr/bin/env bash
# Builds the concurrency stress tests with ThreadSanitizer and runs them.
# Usage: scripts/tsan.sh [build-dir]   (env: TSAN_REPEAT, default 2 runs)
# A data race, a lock-order inversion or a failed invariant fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/tsan}
repeat=${TSAN_REPEAT:-2}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAIRN_SANITIZE=OFF -DCAIRN_BUILD_BENCH=OFF -DCAIRN_BUILD_TOOLS=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null

# Every test program whose name says it is about concurrency.
targets=$(cd tests && find . -name '*_test.cc' |
  grep -E 'concurren|stress|thread' | xargs -n1 basename | sed 's/\.cc$//')
# shellcheck disable=SC2086
cmake --build "$build" --target $targets

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
for t in $targets; do
  for i in $(seq 1 "$repeat"); do
    echo "== $t (run $i of $repeat, ThreadSanitizer)"
    "$build/tests/$t" --gtest_random_seed="$i"
  done
done
echo "== tsan: no data races in: $targets"
