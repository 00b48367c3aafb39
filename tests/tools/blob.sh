# blob write / read / info / rm and their errors.
source "$(dirname "$0")/lib.sh"

expect 0 image create a.img --layout "$HERE/layout.json"
expect 0 blob info a.img
has "state:     empty"
expect 6 blob read a.img out.bin
err_has "no complete blob"
head -c 30000 /dev/urandom > fw.bin
expect 0 blob write a.img --partition firmware --name app-v1.2.bin fw.bin
has "30000 bytes"
expect 0 blob info a.img -p firmware
has "app-v1.2.bin"
has "30000 bytes"
has "matches"
expect 0 blob info a.img --json
has '"file_name": "app-v1.2.bin"'
expect 0 blob read a.img -p firmware out.bin
same fw.bin out.bin
expect 0 blob read a.img -
cmp -s "$OUT" fw.bin || fail "blob read to stdout"
# The metadata record shows up in the kvs listing under its name.
expect 0 kv ls a.img
has "blob:firmware"
expect 0 ls a.img
has '"app-v1.2.bin", 30000 bytes'
# Rewriting replaces the blob; the default name is the file's.
head -c 777 /dev/urandom > small.bin
expect 0 blob write a.img small.bin
expect 0 blob info a.img
has "small.bin"
has "777 bytes"
# Too large: refused, the old blob stays.
head -c 70000 /dev/zero > huge.bin
cp a.img before.img
expect 7 blob write a.img huge.bin
err_has "holds at most 65536"
same a.img before.img
expect 3 blob write a.img missing.bin
expect 6 blob info a.img -p config
err_has "not blob"
expect 6 blob info a.img -p nope
# A bit flip in the blob data: read refuses with DATA_LOSS, check reports it.
$DAMAGE flip a.img $((8 * 4096 + 100)) 1 || fail "damage"
expect 10 blob read a.img out.bin
err_has "corrupt"
expect 10 blob info a.img
has "MISMATCH"
expect 10 check a.img
has "blob checksum mismatch"
# rm drops it (a corrupt blob is no reason to refuse); then it is empty.
expect 0 blob rm a.img
expect 0 blob info a.img
has "empty"
expect 6 blob rm a.img
expect 0 check a.img
finish
