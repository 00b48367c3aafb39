# check / check --repair on images damaged by power cuts, bit flips and
# garbage; writes to damaged images are refused unless --force.
source "$(dirname "$0")/lib.sh"

expect 0 image create base.img --layout "$HERE/layout.json"
expect 0 kv import base.img "$HERE/provision.csv"
expect 0 kv put base.img wifi.ssid "second value"
expect 0 check base.img
has "result: OK"
expect 0 check base.img --json
has '"findings": []'

# 1. A power cut in the middle of a Put: a torn entry. Not a loss, not a
#    reason to refuse writes; the old value stays.
torn=""
for n in $(seq 0 40); do
  cp base.img cut.img
  $DAMAGE cut cut.img "$n" prefix wifi.ssid "a third, longer value" >/dev/null
  "$CAIRN" check cut.img >"$OUT" 2>"$ERR"
  if grep -q "torn entry" "$OUT"; then torn=$n; break; fi
done
[ -n "$torn" ] || fail "no cut point produced a torn entry"
expect 0 check cut.img
has "note"
expect 0 kv get cut.img wifi.ssid
has "second value"
expect 0 kv put cut.img other value
expect 0 check cut.img --repair
expect 0 kv get cut.img wifi.ssid
has "second value"

# 1b. A program that fails in the middle of a Put: the store cancels the
#     half-written entry with a void marker and writes again. The image is
#     healthy, dump shows the marker, and the new value is there.
voided=""
for n in 0 1 2 3; do
  cp base.img fail.img
  $DAMAGE failprog fail.img "$n" wifi.ssid "after a failed program" >"$OUT"
  has "put returned OK"
  expect 0 dump fail.img
  if grep -q " void " "$OUT"; then voided=$n; break; fi
done
[ -n "$voided" ] || fail "no failed program produced a void marker"
expect 0 check fail.img
has "result: OK"
has "write cancelled by the store"
expect 0 kv get fail.img wifi.ssid
has "after a failed program"

# 1c. A value whose last byte is the erased value: a seal marker follows
#     it (dump shows it). Without the seal (as a power cut before it would
#     leave things) the entry counts as torn: a note, and the old value.
cp base.img seal.img
expect 0 kv put seal.img wifi.ssid --hex 6c617374ff
expect 0 dump seal.img
has " seal "
expect 0 check seal.img
has "result: OK"
read -r slot value size < <($DAMAGE find seal.img wifi.ssid | tail -1)
$DAMAGE fill seal.img $((slot + 8)) 8 0xff >/dev/null
expect 0 check seal.img
has "its last byte was never programmed"
expect 0 kv get seal.img wifi.ssid
has "second value"

# 1d. A power cut while a sector is being activated can leave random bits
#     that pass the activation unit's CRC-16 and name any sequence. Far
#     ahead of the ring it is not the newest sector: check shows it as a
#     stale sector, and every value is still there.
cp base.img act.img
{
  echo "key,type,encoding,value"
  for i in $(seq 1 40); do
    echo "fill.$i,data,string,$(head -c 200 /dev/zero | tr '\0' "$((i % 10))")"
  done
} > fill.csv
expect 0 kv import act.img fill.csv --no-atomic
$DAMAGE tornact act.img 1497800639 3 >/dev/null
expect 0 check act.img
has "result: OK"
has "stale sector (sequence 1497800639)"
expect 0 kv get act.img wifi.ssid
has "second value"
expect 0 kv get act.img fill.40

# 1e. The same tear in a young store, whose data all lies in its first
#     sector (bug 53): the torn unit names more slots than a sector holds,
#     so it is no activation at all, and every value is there.
expect 0 image create young.img --layout "$HERE/layout.json"
expect 0 kv put young.img wifi.ssid "young value"
$DAMAGE tornact young.img 1497800639 >/dev/null
expect 0 check young.img
has "result: OK"
has "torn activation unit"
expect 0 kv get young.img wifi.ssid
has "young value"

# 1f. One flipped bit in the activation unit of a young store's only data
#     sector (sector 0, at offset U = 8): mount corrects it, and so does
#     check, which used to report "no activated sector".
expect 0 image create youngflip.img --layout "$HERE/layout.json"
expect 0 kv put youngflip.img wifi.ssid "young value"
$DAMAGE flip youngflip.img 8 0 >/dev/null
expect 0 check youngflip.img
has "result: OK"
has "activation unit with one flipped bit"
expect 0 kv get youngflip.img wifi.ssid
has "young value"

# 1g. One flipped bit in the activation unit of every data sector
#     (retention errors): no unit reads cleanly, the corrected ones form the
#     chain, and check and mount both keep every value (mount used to drop
#     them all and read an empty store).
cp base.img retention.img
expect 0 kv import retention.img fill.csv --no-atomic
flipped=0
for s in $(seq 0 7); do
  at=$((s * 4096 + 8))
  [ "$(od -An -tx1 -j "$at" -N1 retention.img | tr -d ' ')" = "ff" ] && continue
  $DAMAGE flip retention.img $((at + 2)) 3 >/dev/null
  flipped=$((flipped + 1))
done
[ "$flipped" -ge 3 ] || fail "only $flipped data sectors to damage"
expect 0 check retention.img
has "result: OK"
has "activation unit with one flipped bit"
expect 0 kv get retention.img wifi.ssid
has "second value"
expect 0 kv get retention.img fill.40
has "0000000000"

# 1h. Two flipped bits in the activation unit of a young store's only data
#     sector: no unit reads, even with one bit corrected. Mount used to take
#     the partition for one formatted but never activated and format it
#     again, erasing every value; it now refuses (DATA_LOSS) and leaves the
#     flash as it is. check says so, and --repair reads the entries from a
#     copy with that unit rebuilt, then writes the store again.
expect 0 image create young2.img --layout "$HERE/layout.json"
expect 0 kv put young2.img wifi.ssid "young value"
expect 0 kv put young2.img wifi.pass "hunter2"
$DAMAGE flip young2.img 8 0 >/dev/null
$DAMAGE flip young2.img 13 6 >/dev/null
cp young2.img young2.before
expect 12 check young2.img
has "activation unit unreadable"
expect 10 kv get young2.img wifi.ssid
same young2.img young2.before
expect 0 check young2.img --repair
has "rebuilt the unreadable activation unit of sector 0"
has "2 keys kept"
expect 0 check young2.img
has "result: OK"
expect 0 kv get young2.img wifi.ssid
has "young value"
expect 0 kv get young2.img wifi.pass
has "hunter2"

# 2. A flipped bit in a live value: DATA LOSS for that key only.
cp base.img flip.img
read -r slot value size < <($DAMAGE find flip.img device.serial | tail -1)
$DAMAGE flip flip.img "$value" 5
expect 10 check flip.img
has "DATA LOSS"
has "device.serial"
has "$(printf '0x%08x' "$slot")"
expect 10 kv get flip.img device.serial
err_has "corrupt"
expect 0 kv get flip.img device.model
expect 10 ls flip.img
has "DATA LOSS"
# Writes are refused until repaired (or forced); the file is unchanged.
cp flip.img flip.before
expect 9 kv put flip.img x y
err_has "--force"
expect 9 kv import flip.img "$HERE/provision.csv"
expect 9 blob write flip.img "$HERE/provision.csv"
same flip.img flip.before
expect 0 kv put flip.img x y --force
cp flip.before flip.img
expect 10 check flip.img --repair
has "dropped key"
has "device.serial"
expect 0 check flip.img
expect 6 kv get flip.img device.serial
expect 0 kv get flip.img device.model
has "rev"
expect 0 kv get flip.img wifi.ssid
has "second value"

# 3. A flipped bit in a superseded value: inconsistent but nothing lost.
cp base.img stale.img
read -r slot value size < <($DAMAGE find stale.img wifi.ssid | head -1)
$DAMAGE flip stale.img "$value" 0
expect 12 check stale.img
has "superseded"
has "result: INCONSISTENT"
expect 9 kv put stale.img x y
expect 0 check stale.img --repair
has "result: REPAIRED"
expect 0 check stale.img
has "result: OK"
expect 0 kv export base.img --csv -o base.csv
expect 0 kv export stale.img --csv -o stale.csv
same base.csv stale.csv

# 4. A garbled entry header in the middle of a sector: the entries after it
#    are unreachable, which check reports even though a mount cannot tell.
cp base.img hdr.img
read -r slot value size < <($DAMAGE find hdr.img wifi.channel | head -1)
$DAMAGE fill hdr.img "$slot" 8 0
expect 10 check hdr.img
has "entry header unreadable"
expect 0 dump hdr.img --sector 0
has "UNREADABLE"

# 5. Garbage in a sector's free space: a later write there would fail.
cp base.img gap.img
$DAMAGE fill gap.img 2048 16 0x5a
expect 12 check gap.img
has "non-erased bytes in the free space"
expect 9 kv put gap.img x y
expect 0 check gap.img --repair
expect 0 check gap.img
expect 0 kv put gap.img x y
expect 0 kv export gap.img --csv -o gap.csv
grep -v '^x,' gap.csv > gap2.csv
same base.csv gap2.csv

# 6. A damaged header of an unused sector is harmless (a note). One flipped
#    bit is corrected, as mount corrects it; two are not.
cp base.img unused.img
$DAMAGE flip unused.img $((5 * 4096 + 3)) 0
expect 0 check unused.img
has "format unit with one flipped bit"
$DAMAGE flip unused.img $((5 * 4096 + 4)) 0
expect 0 check unused.img
has "unused sector"

# 7. A whole partition of garbage: not a store any more.
cp base.img foreign.img
$DAMAGE fill foreign.img 0 32768 0x00
expect 10 check foreign.img
has "cannot be mounted"
expect 5 kv ls foreign.img
err_has "does not hold a cairn key-value store"
expect 10 check foreign.img --repair
err_has "cannot repair"
expect 9 kv put foreign.img x y
finish
