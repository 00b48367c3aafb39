# --help everywhere, usage errors exit 2.
source "$(dirname "$0")/lib.sh"

expect 0 --help
has "image"
has "torture"
for cmd in "image" "image create" "image info" "image raw" "image wrap" \
           "kv" "kv put" "kv get" "kv del" "kv ls" "kv import" "kv export" \
           "blob" "blob write" "blob read" "blob info" "blob rm" \
           "ls" "check" "stats" "dump" "torture"; do
  # shellcheck disable=SC2086
  expect 0 $cmd --help
  has "Usage"
done
expect 0 --version
has "cairn"
expect 2
expect 2 frobnicate
expect 2 kv
expect 2 kv put
expect 2 kv export a.img --json --csv
expect 2 check
expect 2 stats a.img --bogus
finish
