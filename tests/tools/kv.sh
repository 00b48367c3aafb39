# kv put / get / del / ls: every value form, key forms and error paths.
source "$(dirname "$0")/lib.sh"

expect 0 image create a.img --layout "$HERE/layout.json"
expect 0 kv put a.img greeting "hello world"
expect 0 kv get a.img greeting
[ "$(cat "$OUT")" = "hello world" ] || fail "get returned '$(cat "$OUT")'"
expect 0 kv put a.img 0x10 --hex "de ad be ef"
expect 0 kv get a.img 16 --hex
has "deadbeef"
printf 'file\0content' > value.bin
expect 0 kv put a.img blob.key --file value.bin
expect 0 kv get a.img blob.key
cmp -s "$OUT" value.bin || fail "--file value differs"
expect 0 kv put a.img counter --u32 4000000000
expect 0 kv get a.img counter --hex
has "00286bee"
expect 0 kv get a.img counter --as u32
has "4000000000"
expect 0 kv put a.img temp --i8 -128
expect 0 kv get a.img temp --as i8
has "-128"
expect 0 kv put a.img big --u64 0xffffffffffffffff
expect 0 kv get a.img big --as u64
has "18446744073709551615"
expect 0 kv put a.img name:123 "a name that looks like a number"
expect 0 kv get a.img name:123
has "a name that looks like a number"
# Overwrite keeps only the new value.
expect 0 kv put a.img greeting "bye"
expect 0 kv get a.img greeting
[ "$(cat "$OUT")" = "bye" ] || fail "overwrite"

expect 0 kv ls a.img
has "KEY"
has "greeting"
has '"bye"'
has "counter"
expect 0 kv ls a.img --json
has '"name": "greeting"'
has '"text": "bye"'

expect 0 kv del a.img greeting
expect 6 kv get a.img greeting
err_has "not found"
expect 6 kv del a.img greeting
expect 6 kv get a.img 0x12345678

# Bad values and keys: one-line errors, nothing changes.
cp a.img before.img
expect 8 kv put a.img t --u8 256
err_has "out of range"
expect 8 kv put a.img t --i16 -32769
expect 8 kv put a.img t --u16 -1
expect 8 kv put a.img t --u32 12abc
expect 8 kv put a.img t --hex "abc"
expect 8 kv put a.img t --hex "zz"
expect 8 kv put a.img 0x100000000 v
expect 2 kv put a.img t
expect 2 kv put a.img t v --hex 00
expect 3 kv put a.img t --file does-not-exist.bin
# A value larger than an entry can hold.
head -c 5000 /dev/zero > huge.bin
expect 7 kv put a.img t --file huge.bin
err_has "larger than"
same a.img before.img
# Unknown partition, wrong kind.
expect 6 kv ls a.img -p nope
err_has "no partition 'nope'"
expect 6 kv ls a.img -p firmware
# Missing image, garbage image, truncated image.
expect 3 kv ls missing.img
mkdir -p adir
expect 3 kv ls adir
err_has "is a directory"
expect 3 kv put a.img t --file adir
head -c 1000 /dev/urandom > junk.img
expect 5 kv ls junk.img
head -c 50000 a.img > short.img
expect 5 kv ls short.img
# A record whose CRC does not match.
cp a.img badrec.img
size=$(stat -c %s badrec.img)
printf 'X' | dd of=badrec.img bs=1 seek=$((size - 20)) conv=notrunc status=none
expect 5 kv ls badrec.img
err_has "corrupt layout record"

# Fill the partition until it refuses: exit 7, earlier keys intact.
expect 0 image create full.img --layout "$HERE/small.csv"
head -c 900 /dev/urandom > chunk.bin
rc=0
for i in $(seq 1 40); do
  "$CAIRN" kv put full.img "k$i" --file chunk.bin >"$OUT" 2>"$ERR" || { rc=$?; break; }
done
[ "$rc" -eq 7 ] || fail "filling the partition ended with $rc, expected 7"
err_has "full"
expect 0 kv get full.img k1
cmp -s "$OUT" chunk.bin || fail "k1 changed after the partition filled"
# The index limit (max_keys 4 in small.csv's second partition).
for i in 1 2 3 4; do expect 0 kv put full.img -p tiny "t$i" x; done
expect 7 kv put full.img -p tiny t5 x
err_has "full"
expect 0 check full.img
finish
