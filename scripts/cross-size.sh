#!/usr/bin/env bash
# Prints arm-none-eabi-size for every object of the cross-built library and
# fails if the library references the heap or exceptions.
# Usage: scripts/cross-size.sh BUILD_DIR
set -euo pipefail
build=${1:-build/cross}
objdir="$build/src/CMakeFiles/cairn.dir"
mapfile -t objects < <(find "$objdir" \( -name '*.o' -o -name '*.obj' \) | sort)
[ ${#objects[@]} -gt 0 ] || { echo "cross-size: no objects in $objdir" >&2; exit 1; }
arm-none-eabi-size -t "${objects[@]}" | sed "s|$objdir/||"
forbidden=$(arm-none-eabi-nm -u "${objects[@]}" 2>/dev/null |
  grep -E ' (malloc|free|calloc|realloc|_Znwj|_Znaj|_ZdlPv|_ZdaPv|_ZdlPvj|__cxa_throw|__cxa_allocate_exception|__gxx_personality_v0)$' || true)
if [ -n "$forbidden" ]; then
  echo "cross-size: the library references the heap or exceptions:" >&2
  echo "$forbidden" >&2
  exit 1
fi
echo "cross-size: no heap or exception references"
