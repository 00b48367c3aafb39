# torture: power cuts on a simulated flash, checked against a model.
source "$(dirname "$0")/lib.sh"

expect 0 torture --layout "$HERE/layout.json" --cuts 300 --seed 11
has "torture: PASSED"
has "cuts: 300 (prefix tears 150, random-bit tears 150)"
has "structural check clean"
# Not a terminal: no progress bar.
grep -q $'\r' "$OUT" && fail "progress bar written to a pipe"
# Other geometries: small sectors, 16-byte alignment, erased 0x00.
printf 'geometry,512,12,16,0x00\nkvs,s,0,12\n' > odd.csv
expect 0 torture --layout odd.csv --cuts 200 --seed 3 --keys 8
has "torture: PASSED"
# EEPROM-like byte alignment, and the largest alignment (256 B).
printf 'geometry,256,16,1\nkvs,e,0,16\n' > a1.csv
expect 0 torture --layout a1.csv --cuts 150 --keys 6 --seed 4
has "torture: PASSED"
printf 'geometry,8192,8,256\nkvs,w,0,8\n' > a256.csv
expect 0 torture --layout a256.csv --cuts 150 --seed 5
has "torture: PASSED"
# Flash with ECC: what a cut leaves half written does not read.
expect 0 torture --layout "$HERE/layout.json" --cuts 300 --seed 12 --ecc
has "torture: PASSED"
has ", ECC)"
printf 'geometry,2048,10,8\nkvs,e8,0,10\n' > ecc8.csv
expect 0 torture --layout ecc8.csv --cuts 300 --seed 13 --keys 12 --ecc
has "torture: PASSED"
# -o keeps the final image, which checks clean.
expect 0 torture --layout "$HERE/layout.json" --cuts 40 -o final.img
expect 0 check final.img
expect 0 torture --layout "$HERE/small.csv" -p tiny --cuts 50 --keys 4
has "torture: PASSED"
# Errors.
expect 3 torture --layout missing.json
expect 2 torture
expect 6 torture --layout "$HERE/layout.json" -p firmware
expect 2 torture --layout "$HERE/small.csv" -p tiny --keys 10
finish
