# Helpers for the cairn tool end-to-end scenarios (sourced, not a test).
# Every scenario is run as: bash SCENARIO.sh CAIRN CAIRN_DAMAGE WORKDIR
set -uo pipefail
CAIRN=$(realpath "$1")
DAMAGE=$(realpath "$2")
WORK=$(realpath -m "$3")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
OUT=$WORK/out.txt
ERR=$WORK/err.txt
failures=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; cat "$OUT" >&2
  echo "--- stderr:" >&2; cat "$ERR" >&2
  failures=$((failures + 1))
}

# expect CODE ARGS...: runs cairn ARGS, checks the exit code.
expect() {
  local want=$1; shift
  "$CAIRN" "$@" >"$OUT" 2>"$ERR"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "cairn $* exited $rc, expected $want"
    return 1
  fi
  # Errors are one line on stderr and never a crash.
  if [ "$want" -ne 0 ] && [ "$want" -ne 10 ] && [ "$want" -ne 12 ] &&
     [ "$(grep -c . "$ERR")" -gt 1 ] && ! grep -q "^Run with --help" "$ERR"; then
    fail "cairn $*: expected a one-line error"
  fi
  if grep -q "Sanitizer\|runtime error" "$ERR"; then
    fail "cairn $*: sanitizer report"
  fi
  return 0
}

# has TEXT: the last command's stdout contains TEXT.
has() { grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1'"; }
# err_has TEXT: the last command's stderr contains TEXT.
err_has() { grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
same() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
  fi
  echo "ok"
  exit 0
}
