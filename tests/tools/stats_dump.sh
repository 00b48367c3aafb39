# stats (text and SVG), dump, ls on a used image.
source "$(dirname "$0")/lib.sh"

expect 0 image create a.img --layout "$HERE/layout.json"
expect 0 kv import a.img "$HERE/provision.csv"
for i in $(seq 1 30); do
  "$CAIRN" kv put a.img boot.count --u64 "$i" >/dev/null || fail "put $i"
  "$CAIRN" kv put a.img log "$(head -c 600 /dev/zero | tr '\0' 'x')$i" >/dev/null || fail "log $i"
done
head -c 5000 /dev/urandom > fw.bin
expect 0 blob write a.img fw.bin
expect 0 stats a.img --svg wear.svg
has "live"
has "reclaimable"
has "free"
has "erase counts: min"
has "blob"
grep -q "<svg" wear.svg || fail "no SVG written"
grep -q "config \[kvs\]" wear.svg || fail "SVG lacks the legend"
expect 0 dump a.img
has "format unit:     valid"
has "activation unit: valid"
has "boot.count"
has "=== partition firmware (blob)"
expect 0 dump a.img --sector 1
has "sector 1 (partition sector 1)"
expect 0 dump a.img -p firmware
has "(blob offset 0)"
expect 6 dump a.img --sector 99
expect 0 ls a.img
has "config [kvs]"
has "firmware [blob]"
has "healthy"
expect 0 ls a.img --json
has '"health": "healthy"'
# stats and ls never write.
cp a.img before.img
expect 0 stats a.img
expect 0 ls a.img
same a.img before.img
expect 0 kv get a.img boot.count --as u64
has "30"
expect 0 check a.img
finish
