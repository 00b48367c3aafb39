// The on-target test program: runs the key-value store and the blob store
// on a simulated flash in target RAM, reports stack high-water marks, and
// ends QEMU with exit status 0 (pass) or 1 (fail) through semihosting.
#include <cstddef>
#include <cstdint>

#include "cairn/kvs/key_value_store.h"
#include "semihosting.h"
#include "stack.h"
#include "workloads.h"

#ifndef CAIRN_TARGET_NAME
#define CAIRN_TARGET_NAME "cortex-m"
#endif

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

int main() {
  using target::out;
  out() << "cairn on-target test (" << CAIRN_TARGET_NAME << ")\n";

  // The two builds run different random sequences over the same shapes.
#if defined(CAIRN_TARGET_STRICT_ALIGN)
  constexpr uint64_t kSalt = 0x5eed0000u;
  const bool traps =
      (*reinterpret_cast<volatile uint32_t*>(0xE000ED14) & (1u << 3)) != 0;
  out() << "unaligned accesses trap (CCR.UNALIGN_TRP): "
        << (traps ? "yes" : "NO") << "\n";
  bool pass = traps;
#else
  constexpr uint64_t kSalt = 0;
  bool pass = true;
#endif

#if defined(CAIRN_TARGET_SMALL)
  // What fits a 16 KiB-RAM part next to the program: 6 KiB of flash.
  const target::KvsConfig kvs_configs[] = {
      {"6x1024/4", 1024, 6, 4, 500, 40, 0x1234 ^ kSalt},
      {"3x2048/8", 2048, 3, 8, 300, 40, 0x5678 ^ kSalt},
  };
  const target::BlobConfig blob_config = {1024, 2, 4, 150, 0x4321 ^ kSalt};
#else
  // G1 (the benchmark geometry), a small-sector part with a 16-byte program
  // unit, a byte-writable part, and the widest program unit supported.
  const target::KvsConfig kvs_configs[] = {
      {"G1 16x4096/4", 4096, 16, 4, 400, 60, 0x1234 ^ kSalt},
      {"8x2048/16", 2048, 8, 16, 300, 60, 0x5678 ^ kSalt},
      {"8x1024/1", 1024, 8, 1, 300, 60, 0x9abc ^ kSalt},
      {"16x4096/256", 4096, 16, 256, 100, 60, 0xdef0 ^ kSalt},
  };
  const target::BlobConfig blob_config = {4096, 4, 16, 120, 0x4321 ^ kSalt};
#endif
  for (const target::KvsConfig& config : kvs_configs) {
    pass = target::RunKvsWorkload(config) && pass;
  }
  pass = target::RunBlobWorkload(blob_config) && pass;

  const target::StackFigures& s = target::stack_figures();
  out() << "stack: peak " << target::StackPeak() << " of "
        << target::StackSize() << " B since reset (whole program)\n";
  out() << "stack: kvs Init " << s.init << ", Put " << s.put << ", Get "
        << s.get << ", Delete " << s.del << ", Commit " << s.commit
        << ", ReclaimOne " << s.reclaim << " B\n";
  out() << "stack: blob Open " << s.blob_open << ", Write " << s.blob_write
        << ", Close " << s.blob_close << ", Read " << s.blob_read << " B\n";
  out() << "ram: sizeof(kvs::Store) " << sizeof(cairn::kvs::Store)
        << " B + 8 B per key of index (KeyValueStore<32>: "
        << sizeof(cairn::kvs::KeyValueStore<32>) << " B)\n";
  out() << (pass ? "RESULT: PASS\n" : "RESULT: FAIL\n");
  return pass ? 0 : 1;
}
