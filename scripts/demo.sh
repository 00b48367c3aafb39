#!/usr/bin/env bash
# A short tour of the cairn tool on a flash image.
# Usage: scripts/demo.sh BUILD_DIR DEMO_DIR   (make demo: build/release build/demo)
set -euo pipefail

build=$(realpath "${1:?usage: demo.sh BUILD_DIR DEMO_DIR}")
demo=$(realpath -m "${2:?usage: demo.sh BUILD_DIR DEMO_DIR}")
tool="$build/tools/cairn"
if [ ! -x "$tool" ]; then
  echo "demo: $tool is missing; build first (make release)" >&2
  exit 1
fi
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"

# Runs the tool, printing the command first.
cairn() {
  printf '\n\033[1m$ cairn %s\033[0m\n' "$*"
  "$tool" "$@"
}
say() { printf '\n'; printf '# %s\n' "$@"; }

say "A 96 KiB NOR flash: 4 KiB sectors, 4-byte writes; a key-value partition" \
    "for settings and a blob partition for a firmware image."
cat > layout.json <<'EOF'
{
  "sector_size": 4096, "sector_count": 24, "alignment": 4, "erased": "0xff",
  "partitions": [
    {"name": "config",   "kind": "kvs",  "first": 0, "count": 8, "max_keys": 128},
    {"name": "firmware", "kind": "blob", "first": 8, "count": 16}
  ]
}
EOF
cat layout.json
cairn image create device.img --layout layout.json

say "Factory provisioning from a CSV, applied as one atomic batch."
cat > factory.csv <<'EOF'
key,type,encoding,value
device.serial,data,string,SN-2024-000417
device.model,data,string,"cairn demo board, rev B"
wifi.channel,data,u8,11
calib.offset,data,i16,-42
calib.gain,data,u32,65536
cert.fingerprint,data,hex,8f3a1100ffeeddcc
EOF
cat factory.csv
cairn kv import device.img factory.csv
cairn kv put device.img wifi.ssid "workshop"
cairn kv put device.img boot.count --u32 1
cairn kv get device.img calib.offset --as i16
cairn kv ls device.img

say "A firmware image into the blob partition, and back."
head -c 40000 /dev/urandom > firmware.bin
cairn blob write device.img --partition firmware --name app-v1.4.bin firmware.bin
cairn blob read device.img --partition firmware readback.bin
cmp firmware.bin readback.bin && echo "readback.bin is identical to firmware.bin"

say "Power cuts: a random workload on a simulated flash of the same layout," \
    "cut 300 times (torn writes and torn erases), checked after every remount."
cairn torture --layout layout.json --cuts 300 --seed 2024 --out tortured.img

say "Verify every checksum and structure of the image."
cairn check device.img

say "Space use and wear after the torture run, and a picture of both."
cairn stats tortured.img --svg wear.svg

say "Everything at a glance."
cairn ls device.img
echo
echo "demo: files are in $demo (device.img, wear.svg, factory.csv, ...)"
