# image create / info / raw / wrap, JSON and CSV layouts, bad layouts.
source "$(dirname "$0")/lib.sh"

expect 0 image create a.img --layout "$HERE/layout.json"
has "config"
has "firmware"
expect 0 image create b.img --layout "$HERE/layout.csv"
# The two layout syntaxes describe the same image.
same a.img b.img
expect 0 image info a.img
has "24 sectors x 4096 B, alignment 4, erased 0xff"
has "metadata in 'config'"
# The file is the flash plus a trailer record.
size=$(stat -c %s a.img)
[ "$size" -gt $((24 * 4096)) ] || fail "no layout record appended"
# Refuses to overwrite without --force.
expect 3 image create a.img --layout "$HERE/layout.json"
expect 0 image create a.img --layout "$HERE/layout.json" --force

# raw strips the record; the raw dump needs geometry, then works.
expect 0 image raw a.img raw.bin
[ "$(stat -c %s raw.bin)" -eq $((24 * 4096)) ] || fail "raw size"
expect 5 kv ls raw.bin
err_has "no layout record"
expect 0 kv ls raw.bin --layout "$HERE/layout.json"
expect 0 image wrap raw.bin c.img --layout "$HERE/layout.csv"
same a.img c.img
# Read with the wrong geometry, the store is recognised as unreadable.
expect 5 kv ls raw.bin --sector-size 2048
err_has "wrong geometry"
# A size that is not a multiple of the sector size.
expect 4 kv ls raw.bin --sector-size 5000

# Bad layouts: one line each, exit 4.
printf '{"sector_size": 4096, "sector_count": 4, "partitions": [{"name":"a","kind":"kvs","first":0,"count":8}]}' > big.json
expect 4 image create x.img --layout big.json
err_has "does not fit"
printf 'geometry,4096,8,4\nkvs,a,0,4\nkvs,b,2,4\n' > overlap.csv
expect 4 image create x.img --layout overlap.csv
err_has "overlap"
printf 'geometry,4096,8,3\nkvs,a,0,4\n' > align.csv
expect 4 image create x.img --layout align.csv
printf 'geometry,4096,8,4\nblob,b,0,4\n' > nometa.csv
expect 4 image create x.img --layout nometa.csv
err_has "needs a kvs partition"
printf '{"sector_size": 4096,' > broken.json
expect 4 image create x.img --layout broken.json
err_has "not valid JSON"
printf 'geometry,4096,8,4\nfoo,a,0,4\n' > kind.csv
expect 4 image create x.img --layout kind.csv
err_has "kind.csv:2"
# A geometry the store cannot use (16-byte sectors).
printf 'geometry,16,8,4\nkvs,a,0,8\n' > tiny.csv
expect 4 image create x.img --layout tiny.csv
err_has "cannot format"
expect 3 image create x.img --layout missing.json
[ -e x.img ] && fail "a failed create left a file"
finish
