// Host-only seed sweep over the on-target workloads, for hunting and
// reproducing failures the fixed seeds of the QEMU runs do not hit:
//   cairn_target_sweep kvs FROM TO SECTOR_SIZE SECTORS ALIGNMENT [BOOTS]
//   cairn_target_sweep blob FROM TO
// Runs seeds [FROM, TO); exits 1 if any failed.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "semihosting.h"
#include "workloads.h"

namespace target {

StackFigures& stack_figures() {
  static StackFigures figures;
  return figures;
}

namespace {
std::byte arena_storage[kArenaBytes];
uint8_t arena_programmed[kArenaBytes / 8];
uint32_t arena_sector_erases[kArenaSectors];
uint32_t arena_lifetime_erases[kArenaSectors];
}  // namespace

FlashArena& flash_arena() {
  static FlashArena arena = {arena_storage, arena_programmed,
                             arena_sector_erases, arena_lifetime_erases};
  return arena;
}

}  // namespace target

int main(int argc, char** argv) {
  const bool kvs = argc >= 7 && std::strcmp(argv[1], "kvs") == 0;
  const bool blob = argc == 4 && std::strcmp(argv[1], "blob") == 0;
  if (!kvs && !blob) {
    std::fprintf(stderr,
                 "usage: %s kvs FROM TO SECTOR_SIZE SECTORS ALIGNMENT "
                 "[BOOTS]\n       %s blob FROM TO\n",
                 argv[0], argv[0]);
    return 2;
  }
  const uint64_t from = std::strtoull(argv[2], nullptr, 0);
  const uint64_t to = std::strtoull(argv[3], nullptr, 0);
  unsigned failures = 0;
  for (uint64_t seed = from; seed < to; ++seed) {
    bool pass;
    if (kvs) {
      const target::KvsConfig config = {
          "sweep",
          std::strtoul(argv[4], nullptr, 0),
          std::strtoul(argv[5], nullptr, 0),
          std::strtoul(argv[6], nullptr, 0),
          argc > 7 ? static_cast<uint32_t>(std::strtoul(argv[7], nullptr, 0))
                   : 300u,
          60,
          seed};
      pass = target::RunKvsWorkload(config);
    } else {
      const target::BlobConfig config = {4096, 4, 16, 120, seed};
      pass = target::RunBlobWorkload(config);
    }
    if (!pass) {
      ++failures;
      target::out() << "sweep: seed " << seed << " FAILED\n";
    }
  }
  target::out() << "sweep: " << failures << " of " << (to - from)
                << " seeds failed\n";
  return failures == 0 ? 0 : 1;
}
