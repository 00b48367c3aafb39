// Fuzz target 3: the image readers of the `cairn` tool on arbitrary bytes.
//
// With the tool library (CAIRN_FUZZ_HAVE_TOOL, target cairn_tool_lib): the
// input is byte 0 (how to read the file: bit 0 set = as a raw dump with the
// geometry of bytes 1-2, clear = by the layout record the file carries),
// bytes 1-2 (sector size 256 << (b % 6), alignment 1 << (b % 6), bit 6 of
// byte 2: erased 0x00), then the file. The file is written to a temporary
// path and `cairn check`, `cairn check --repair` (on a copy), `cairn ls` and
// `cairn dump` run on it. A command may refuse the file with its documented
// cairn::tool::Error; any other exception, a crash or a sanitizer report is
// a bug.
//
// Without the tool library the target falls back to what the readers are
// built on: the kvs/format.h decoders on every 8-byte window and a Store
// mount over the bytes taken as a FileFlash-like raw image.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "fuzz_common.h"

#if CAIRN_FUZZ_HAVE_TOOL
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "image.h"
#endif

namespace cairn::fuzz {
namespace {

// Every decoder on every 8-byte window: no crash, and what decodes as valid
// re-encodes to the same bytes.
void Decoders(std::span<const uint8_t> bytes,
              const kvs::format::GeometryTag& tag, std::byte erased) {
  namespace kf = kvs::format;
  for (size_t i = 0; i + 8 <= bytes.size() && i < 4096; ++i) {
    const std::span<const std::byte, 8> raw(
        reinterpret_cast<const std::byte*>(bytes.data() + i), 8);
    kf::SlotHeader slot;
    if (kf::DecodeSlot(raw, slot)) {
      std::array<std::byte, 8> again;
      kf::EncodeSlot(slot, again);
      kf::SlotHeader twice;
      CAIRN_FUZZ_CHECK(kf::DecodeSlot(again, twice));
      CAIRN_FUZZ_CHECK(twice.key == slot.key && twice.crc == slot.crc &&
                       twice.size_code == slot.size_code &&
                       twice.kind == slot.kind);
    }
    kf::FormatUnit unit;
    if (kf::DecodeFormatUnit(raw, tag, erased, unit) == kf::UnitState::kValid) {
      std::array<std::byte, 8> again;
      kf::EncodeFormatUnit(unit, tag, again);
      CAIRN_FUZZ_CHECK(std::memcmp(again.data(), raw.data(), 8) == 0, i);
    }
    kf::ActivationUnit act;
    if (kf::DecodeActivationUnit(raw, erased, act) == kf::UnitState::kValid) {
      std::array<std::byte, 8> again;
      kf::EncodeActivationUnit(act, again);
      CAIRN_FUZZ_CHECK(std::memcmp(again.data(), raw.data(), 8) == 0, i);
    }
    (void)kf::HasMagic(raw);
  }
}

// The bytes as a raw image: a whole number of sectors, mounted read-only
// in spirit (the mount may format or repair; that is its business).
void MountRaw(std::span<const uint8_t> bytes, const Geometry& g0) {
  Geometry g = g0;
  g.sectors = std::min<size_t>(bytes.size() / g.sector_size, 16);
  if (g.sectors < 2) return;
  HeapFlash heap(g);
  std::memcpy(heap.flash().bytes().data(), bytes.data(),
              heap.flash().bytes().size());
  FlashPartition partition(heap.flash());
  kvs::KeyValueStore<32> store(partition);
  if (!store.Init().ok()) return;
  std::array<std::byte, 64> buffer;
  for (const kvs::Store::Item item : store) {
    const StatusWithSize got = item.Get(buffer);
    CAIRN_FUZZ_CHECK(!got.ok() || got.size() <= buffer.size());
  }
  std::array<uint32_t, 16> counts;
  store.ReadEraseCounts(counts).IgnoreError();
  (void)store.GetStats();
}

#if CAIRN_FUZZ_HAVE_TOOL
const std::string& TempPath(const char* suffix) {
  static std::string paths[2];
  std::string& path = paths[suffix[0] == 'r'];
  if (path.empty()) {
    const char* dir = std::getenv("TMPDIR");
    path = std::string(dir != nullptr ? dir : "/tmp") + "/cairn_fuzz_tool_" +
           std::to_string(getpid()) + "_" + suffix + ".img";
  }
  return path;
}

void WriteFile(const std::string& path, std::span<const uint8_t> bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Violation("cannot write the temporary image");
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

template <typename F>
void Refusable(F&& command) {
  try {
    command();
  } catch (const tool::Error&) {
    // A documented refusal (not an image, bad layout, data loss found...).
  }
}

void RunTool(std::span<const uint8_t> file, const tool::ImageOptions& options) {
  const std::string& path = TempPath("image");
  WriteFile(path, file);
  Refusable([&] { tool::CmdCheck(path, options, false, false); });
  Refusable([&] { tool::CmdCheck(path, options, false, true); });
  Refusable([&] { tool::CmdLs(path, options, false); });
  Refusable([&] { tool::CmdLs(path, options, true); });
  Refusable([&] { tool::CmdDump(path, options, std::nullopt, ""); });
  Refusable([&] { tool::CmdDump(path, options, 1, ""); });
  // Repair a copy, then the repaired image must still be readable.
  const std::string& copy = TempPath("repair");
  WriteFile(copy, file);
  bool repaired = false;
  Refusable([&] {
    tool::CmdCheck(copy, options, true, false);
    repaired = true;
  });
  if (repaired) Refusable([&] { tool::CmdCheck(copy, options, false, false); });
  std::remove(copy.c_str());
}
#endif

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The commands print their reports; nobody reads them here.
  if (std::freopen("/dev/null", "w", stdout) == nullptr) return 0;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  using namespace cairn::fuzz;
  Input in(data, size);
  const uint8_t mode = in.U8();
  Geometry g;
  g.sector_size = size_t{256} << (in.U8() % 6);
  const uint8_t b = in.U8();
  g.alignment = size_t{1} << (b % 6);
  g.erased_zero = (b & 0x40) != 0;
  const std::span<const uint8_t> file = in.Rest();

  Decoders(file,
           {static_cast<uint32_t>(g.sector_size),
            static_cast<uint16_t>(g.alignment)},
           g.erased_zero ? std::byte{0} : std::byte{0xFF});
  MountRaw(file, g);
#if CAIRN_FUZZ_HAVE_TOOL
  tool::ImageOptions options;
  if (mode & 1) {
    options.sector_size = static_cast<uint32_t>(g.sector_size);
    options.alignment = static_cast<uint16_t>(g.alignment);
    options.erased = g.erased_zero ? 0 : 0xFF;
    options.kind = mode & 2 ? "blob" : "kvs";
  }
  RunTool(file, options);
#else
  (void)mode;
#endif
  return 0;
}
