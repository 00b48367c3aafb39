# Random damage never crashes any command and never gives an unlisted exit
# code; check --repair always leaves an image that checks clean or says why.
source "$(dirname "$0")/lib.sh"

expect 0 image create base.img --layout "$HERE/layout.json"
expect 0 kv import base.img "$HERE/provision.csv"
head -c 3000 /dev/urandom > fw.bin
expect 0 blob write base.img fw.bin
for i in $(seq 1 30); do
  "$CAIRN" kv put base.img "k$((i % 7))" "value $i $(head -c $((i * 13)) /dev/zero | tr '\0' v)" >/dev/null
done
RANDOM=42
allowed=" 0 5 6 9 10 12 "
for round in $(seq 1 25); do
  cp base.img g.img
  for n in 1 2 3; do
    addr=$(( (RANDOM * 32768 + RANDOM) % (8 * 4096) ))
    case $((RANDOM % 3)) in
      0) $DAMAGE flip g.img "$addr" $((RANDOM % 8)) ;;
      1) $DAMAGE fill g.img "$addr" $((1 + RANDOM % 64)) $((RANDOM % 256)) ;;
      2) $DAMAGE fill g.img $(( addr / 4096 * 4096 )) 4096 $((RANDOM % 2 * 255)) ;;
    esac
  done
  for cmd in "check g.img" "ls g.img" "kv ls g.img" "kv export g.img" \
             "stats g.img" "dump g.img" "blob info g.img" "kv get g.img k3"; do
    # shellcheck disable=SC2086
    "$CAIRN" $cmd >"$OUT" 2>"$ERR"
    rc=$?
    case "$allowed" in *" $rc "*) ;; *) fail "round $round: cairn $cmd exited $rc" ;; esac
    grep -q "Sanitizer\|runtime error" "$ERR" && fail "round $round: cairn $cmd: sanitizer"
  done
  "$CAIRN" check g.img --repair >"$OUT" 2>"$ERR"
  rc=$?
  case " 0 10 " in *" $rc "*) ;; *) fail "round $round: repair exited $rc" ;; esac
  if grep -q "result:" "$OUT"; then
    # Repaired: it must now check clean.
    expect 0 check g.img
  fi
done
finish
