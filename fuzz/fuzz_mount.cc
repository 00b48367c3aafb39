// Fuzz target 1: mount an arbitrary flash image.
//
// Input: 4 bytes of geometry and options, then the image bytes (the part of
// the flash they do not cover stays erased).
//   byte 0: sector size 256 << (b % 6)          (256..8192)
//   byte 1: sector count 2 + b % 15             (2..16)
//   byte 2: alignment 1 << (b % 6)              (1..32); bit 6: erased 0x00;
//           bit 7: EEPROM rules (alignment 1 then)
//   byte 3: bit 0: Options::format_if_unusable; bits 1-2: index size class;
//           bits 3-7: salt for the values written
//
// The store must mount or refuse, never crash or read out of bounds. When it
// mounts, every key is read (Get and ValueSize agree), iteration stays in
// bounds, FullMaintenance/ReclaimOne run, a few values are put and, after a
// remount, every value whose Put returned OK reads back exactly.
#include <array>
#include <cstring>
#include <map>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"
#include "fuzz_common.h"

namespace cairn::fuzz {
namespace {

constexpr size_t kIndexSizes[4] = {4, 16, 64, 256};

Geometry DecodeGeometry(Input& in) {
  Geometry g;
  g.sector_size = size_t{256} << (in.U8() % 6);
  g.sectors = 2 + in.U8() % 15;
  const uint8_t b = in.U8();
  g.alignment = size_t{1} << (b % 6);
  g.erased_zero = (b & 0x40) != 0;
  g.eeprom = (b & 0x80) != 0;
  if (g.eeprom) g.alignment = 1;
  return g;
}

// Reads every live key; checks Get against ValueSize.
void ReadEverything(const kvs::Store& store, std::vector<std::byte>& buffer) {
  size_t visited = 0;
  for (const kvs::Store::Item item : store) {
    if (++visited > store.max_size() + 1) Violation("iteration runs away");
    const StatusWithSize size = item.ValueSize();
    const StatusWithSize got = item.Get(buffer);
    if (got.ok()) {
      CAIRN_FUZZ_CHECK(got.size() <= buffer.size());
      CAIRN_FUZZ_CHECK(size.ok() && size.size() == got.size(), size.size(),
                       got.size());
    }
    if (got.status().IsResourceExhausted()) {
      CAIRN_FUZZ_CHECK(got.size() > buffer.size());
    }
    // A read from the middle of the value.
    if (size.ok() && size.size() > 1) {
      std::array<std::byte, 3> part;
      const StatusWithSize mid = item.Get(part, size.size() / 2);
      CAIRN_FUZZ_CHECK(!mid.ok() || mid.size() <= part.size());
    }
  }
}

std::vector<std::byte> ValueOf(const kvs::Store& store, kvs::Key key,
                               Status& status) {
  std::vector<std::byte> out(store.max_value_size() + 8);
  const StatusWithSize got = store.Get(key, out);
  status = got.status();
  out.resize(got.ok() ? got.size() : 0);
  return out;
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  using namespace cairn::fuzz;
  Input in(data, size);
  const Geometry g = DecodeGeometry(in);
  const uint8_t opts = in.U8();
  const std::span<const uint8_t> image = in.Rest();

  HeapFlash heap(g);
  RamFlashBase& flash = heap.flash();
  const size_t n = std::min(image.size(), flash.bytes().size());
  if (n != 0) std::memcpy(flash.bytes().data(), image.data(), n);

  FlashPartition partition(flash);
  kvs::Options options;
  options.format_if_unusable = (opts & 1) != 0;
  std::vector<kvs::IndexEntry> index(kIndexSizes[(opts >> 1) & 3]);
  std::vector<std::byte> buffer(g.sector_size);

  std::map<kvs::Key, std::vector<std::byte>> written;
  {
    kvs::Store store(partition, index, options);
    if (!store.Init().ok()) return 0;
    ReadEverything(store, buffer);
    // Keys the image might name but the index does not hold.
    for (kvs::Key key : {0u, 1u, 0xFFFFFFFFu, 0x12345678u}) {
      std::array<std::byte, 16> small;
      const StatusWithSize got = store.Get(key, small);
      CAIRN_FUZZ_CHECK(!got.ok() || got.size() <= small.size());
    }
    const kvs::Stats stats = store.GetStats();
    CAIRN_FUZZ_CHECK(stats.live_keys == store.size());
    CAIRN_FUZZ_CHECK(store.size() <= store.max_size());

    Status s = store.FullMaintenance();
    if (s.ok()) s = store.ReclaimOne();
    ReadEverything(store, buffer);

    // A few values, some new keys, some existing ones.
    const uint32_t salt = opts >> 3;
    for (uint32_t i = 0; i < 4; ++i) {
      kvs::Key key = i;
      if (i == 3 && !store.empty()) key = (*store.begin()).key();
      const size_t length = (salt * 7 + i * 13) % 40;
      std::vector<std::byte> value = Pattern(length, salt + i);
      if (store.Put(key, value).ok()) {
        written[key] = value;
        Status read_status;
        const std::vector<std::byte> back = ValueOf(store, key, read_status);
        CAIRN_FUZZ_CHECK(read_status.ok() && back == value, key);
      } else {
        written.erase(key);  // its state is whatever it was
      }
    }
  }

  // Remount: every acknowledged value is there.
  kvs::Store store(partition, index, options);
  const Status init = store.Init();
  if (!written.empty()) CAIRN_FUZZ_CHECK(init.ok(), written.size());
  if (!init.ok()) return 0;
  for (const auto& [key, value] : written) {
    Status read_status;
    const std::vector<std::byte> back = ValueOf(store, key, read_status);
    CAIRN_FUZZ_CHECK(read_status.ok(), key,
                     static_cast<unsigned long>(read_status.code()));
    CAIRN_FUZZ_CHECK(back == value, key, back.size());
  }
  ReadEverything(store, buffer);
  return 0;
}
