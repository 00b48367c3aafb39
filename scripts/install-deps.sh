#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
# Usage: scripts/install-deps.sh GROUP...
#        (groups: build test bench cross target fuzz)
# As root it runs apt-get; otherwise it names what is missing and fails.
set -euo pipefail

packages_for() {
  case "$1" in
    build) echo cmake ninja-build g++ make ;;
    test) echo cmake ninja-build g++ make libgtest-dev libgmock-dev \
            libbenchmark-dev libcli11-dev nlohmann-json3-dev libfmt-dev ;;
    bench) echo valgrind ;;
    cross) echo gcc-arm-none-eabi binutils-arm-none-eabi \
             libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib ;;
    target) echo gcc-arm-none-eabi binutils-arm-none-eabi \
              libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib \
              qemu-system-arm ;;
    fuzz) echo clang libclang-rt-14-dev ;;
    *) echo "install-deps: unknown group '$1'" >&2; exit 2 ;;
  esac
}

missing=()
for group in "$@"; do
  for pkg in $(packages_for "$group"); do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
        grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
