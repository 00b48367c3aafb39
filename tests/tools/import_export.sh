# kv import / export: provisioning CSV, round trip, line-numbered errors,
# atomicity.
source "$(dirname "$0")/lib.sh"

expect 0 image create a.img --layout "$HERE/layout.json"
expect 0 kv import a.img "$HERE/provision.csv"
has "imported 10 entries"
has "one atomic batch"
expect 0 kv get a.img device.model
has 'cairn demo board, rev "B"'
expect 0 kv get a.img wifi.channel --as u8
has "11"
expect 0 kv get a.img calib.offset --as i16
has "-42"
expect 0 kv get a.img calib.gain --as u32
has "65536"
expect 0 kv get a.img cert.fingerprint --hex
has "8f3a1100ffeeddcc"
expect 0 kv get a.img cert.key
has "secret key"
expect 0 kv get a.img 0x1001
has "numeric key"
# Names from the CSV are listed next to their keys.
expect 0 kv ls a.img
has "device.serial"

# file rows, relative to the CSV.
printf 'certificate bytes\n' > cert.pem
printf 'key,type,encoding,value\ncert.pem,file,binary,cert.pem\ncert.b64,file,base64,cert.txt\n' > files.csv
printf 'aGVsbG8=' > cert.txt
expect 0 kv import a.img files.csv
expect 0 kv get a.img cert.pem
cmp -s "$OUT" cert.pem || fail "file row"
expect 0 kv get a.img cert.b64
has "hello"

# Round trip: export CSV, import into a fresh image, export again.
expect 0 kv export a.img --csv -o out.csv
expect 0 image create b.img --layout "$HERE/layout.csv"
expect 0 kv import b.img out.csv
expect 0 kv export b.img --csv -o out2.csv
same out.csv out2.csv
expect 0 kv export a.img --json
has '"name": "wifi.ssid"'
has '"hex": "666163746f7279"'
for k in device.serial device.model cert.fingerprint cert.pem boot.count; do
  "$CAIRN" kv get a.img "$k" > va.bin; "$CAIRN" kv get b.img "$k" > vb.bin
  same va.bin vb.bin
done

# Malformed CSVs: the error names the file and line; nothing is written.
cp a.img before.img
bad() {  # bad CODE LINE CONTENT...
  local code=$1 line=$2; shift 2
  printf "$@" > bad.csv
  expect "$code" kv import a.img bad.csv
  err_has "bad.csv:$line"
}
bad 8 3 'key,type,encoding,value\nok,data,string,x\nbroken,data,u8,300\n'
bad 8 2 'key,type,encoding,value\ntoo,few,fields\n'
bad 8 4 '# comment\n\nk1,data,string,a\nk2,data,hex,xyz\n'
bad 8 2 'key,type,encoding,value\nk,data,base64,@@@\n'
bad 8 3 'key,type,encoding,value\nk,data,string,a\nk,data,string,b\n'
bad 8 2 'key,type,encoding,value\nns,namespace,,\n'
bad 8 2 'key,type,encoding,value\nk,data,float,1.5\n'
bad 8 2 'key,type,encoding,value\nk,data,string,"unterminated\n'
bad 3 2 'key,type,encoding,value\nk,file,binary,no-such-file\n'
head -c 5000 /dev/zero > huge.bin
bad 7 2 'key,type,encoding,value\nk,file,binary,huge.bin\n'
same a.img before.img

# Atomic: an import too large for one batch is refused as a whole ...
{ echo "key,type,encoding,value"
  for i in $(seq 1 40); do echo "bulk.$i,data,hex,$(head -c 200 /dev/zero | xxd -p | tr -d '\n')"; done
} > bulk.csv
expect 7 kv import a.img bulk.csv
err_has "--no-atomic"
expect 6 kv get a.img bulk.1
same a.img before.img
# ... and goes through with --no-atomic.
expect 0 kv import a.img bulk.csv --no-atomic
expect 0 kv get a.img bulk.40 --hex
finish
