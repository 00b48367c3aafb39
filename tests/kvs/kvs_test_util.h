// Shared helpers for the key-value store tests: byte/string conversion, the
// xorshift64* generator of the standard workloads, a vector-backed RamFlash
// for runtime geometries, a shadow-model check and a slot decoder that finds
// where entries live on flash (docs/format.md) so tests can aim bit flips.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "cairn/checksum.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"

namespace cairn {
// Lets gtest print statuses by name.
inline void PrintTo(Status s, std::ostream* os) { *os << s.str(); }
}  // namespace cairn

namespace cairn::kvs::test {

inline std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string Str(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// xorshift64* as used by the standard workloads (DESIGN.md).
inline uint64_t Next(uint64_t& x) {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x * 0x2545F4914F6CDD1Dull;
}

// A value of `len` bytes that depends on `tag` (so every write differs).
inline std::string MakeValue(size_t len, uint64_t tag) {
  std::string v(len, '\0');
  uint64_t x = tag * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : v) c = static_cast<char>(Next(x) >> 56);
  return v;
}

// A value of `size` letters under `key` whose entry CRC equals the CRC of
// `size` erased (0xFF) bytes: a cut that leaves its value erased passes the
// checksum.
inline std::string ErasedCrcCollider(Key key, size_t size, uint64_t x) {
  const std::string erased(size, '\xFF');
  const uint16_t seed = format::EntryCrcSeed(key, static_cast<uint16_t>(size));
  const uint16_t target = Crc16::Update(seed, Bytes(erased));
  std::string value(size, 'a');
  do {
    for (char& c : value) c = static_cast<char>('a' + Next(x) % 26);
  } while (Crc16::Update(seed, Bytes(value)) != target);
  return value;
}

// Reads a value of any size (up to `max`) into a string.
inline StatusWithSize GetString(const Store& kvs, Key key, std::string& out,
                                size_t max = 1 << 18) {
  std::vector<std::byte> buf(max);
  StatusWithSize r = kvs.Get(key, buf);
  out = r.ok() ? Str(std::span(buf).first(r.size())) : std::string();
  return r;
}

using Shadow = std::map<Key, std::string>;

// Mounts a store on `partition` and writes `puts` values of `size` bytes to
// keys first, first + 1, ..., first + keys - 1 in turn (the i-th value is
// MakeValue(size, tag + i)), recording them in `shadow`.
// The sector whose activation unit (at `unit`, 0xFF-erased flash) reads
// valid with the highest sequence, which goes to `sequence` (0 and sector
// `sector_count` when none does).
inline uint32_t NewestSector(std::span<const std::byte> image,
                             size_t sector_size, uint32_t sector_count,
                             size_t unit, uint32_t& sequence) {
  uint32_t newest = sector_count;
  sequence = 0;
  for (uint32_t s = 0; s < sector_count; ++s) {
    format::ActivationUnit act;
    if (format::DecodeActivationUnit(
            image.subspan(s * sector_size + unit).first<8>(), std::byte{0xFF},
            act) == format::UnitState::kValid &&
        act.sequence > sequence) {
      sequence = act.sequence;
      newest = s;
    }
  }
  return newest;
}

inline ::testing::AssertionResult WriteRotating(FlashPartition& partition,
                                                Shadow& shadow, int puts,
                                                Key first, Key keys,
                                                size_t size, uint64_t tag) {
  KeyValueStore<16> kvs(partition);
  if (const Status s = kvs.Init(); !s.ok()) {
    return ::testing::AssertionFailure() << "Init: " << s.str();
  }
  for (int i = 0; i < puts; ++i) {
    const Key k = first + static_cast<Key>(i) % keys;
    shadow[k] = MakeValue(size, tag + static_cast<uint64_t>(i));
    if (const Status s = kvs.Put(k, Bytes(shadow[k])); !s.ok()) {
      return ::testing::AssertionFailure() << "Put " << i << ": " << s.str();
    }
  }
  return ::testing::AssertionSuccess();
}

// Every key of `shadow` reads back exactly; every key in `absent` is
// NOT_FOUND; the store's size and iteration agree with the shadow.
inline ::testing::AssertionResult MatchesShadow(const Store& kvs,
                                                const Shadow& shadow,
                                                size_t max = 1 << 18) {
  for (const auto& [key, value] : shadow) {
    std::string got;
    StatusWithSize r = GetString(kvs, key, got, max);
    if (!r.ok()) {
      return ::testing::AssertionFailure()
             << "key " << key << ": " << r.status().str();
    }
    if (got != value) {
      return ::testing::AssertionFailure()
             << "key " << key << ": wrong bytes (" << got.size() << " vs "
             << value.size() << ")";
    }
  }
  if (kvs.size() != shadow.size()) {
    return ::testing::AssertionFailure()
           << "store has " << kvs.size() << " keys, shadow " << shadow.size();
  }
  auto it = shadow.begin();
  for (const Store::Item item : kvs) {
    if (it == shadow.end() || item.key() != it->first) {
      return ::testing::AssertionFailure()
             << "iteration yields key " << item.key() << " unexpectedly";
    }
    ++it;
  }
  if (it != shadow.end()) {
    return ::testing::AssertionFailure() << "iteration stopped early";
  }
  return ::testing::AssertionSuccess();
}

// RamFlashBase over vectors, for geometries chosen at run time.
class DynFlash {
 public:
  DynFlash(size_t sector_size, size_t sectors,
           const RamFlashBase::Config& config)
      : storage_(sector_size * sectors),
        programmed_((storage_.size() + 7) / 8),
        erases_(sectors),
        lifetime_(sectors),
        flash_(sector_size, sectors, config, storage_, programmed_, erases_,
               lifetime_) {}
  RamFlashBase& flash() { return flash_; }

 private:
  std::vector<std::byte> storage_;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
  RamFlashBase flash_;
};

// One slot as found on flash (partition addresses).
struct SlotInfo {
  uint32_t slot;
  size_t header_address;
  format::SlotHeader header;
  size_t value_address;  // start of the value region
  size_t value_size;     // value bytes (not extended-aware beyond the code)
};

// Decodes the slots of `sector` from slot 0 up to the first erased or
// undecodable one (format.md: slots at H + i*U, values grow down from S).
inline std::vector<SlotInfo> ScanSlots(const FlashPartition& p,
                                       std::span<const std::byte> image,
                                       uint32_t sector) {
  std::vector<SlotInfo> out;
  const size_t s_size = p.sector_size();
  const size_t unit = format::UnitSize(p.alignment());
  const size_t base = sector * s_size;
  size_t value_end = s_size;
  for (uint32_t i = 0;; ++i) {
    const size_t at = 2 * unit + i * unit;
    if (at + unit > value_end) break;
    std::span<const std::byte, 8> raw(image.data() + base + at, 8);
    bool erased = true;
    for (std::byte b : raw) erased &= b == p.erased_value();
    if (erased) break;
    format::SlotHeader h;
    if (!format::DecodeSlot(raw, h)) break;
    if (format::IsVoidMarker(h)) {
      value_end = h.key;
      out.push_back({i, base + at, h, base + value_end, 0});
      continue;
    }
    size_t size =
        h.is_tombstone() || h.kind == format::Kind::kLost ? 0 : h.size_code;
    size_t region = 0;
    if (h.is_extended()) {
      const size_t len_unit = p.AlignUp(format::kExtendedSizeBytes);
      uint32_t decoded = 0;
      format::DecodeExtendedSize(
          std::span<const std::byte, 4>(
              image.data() + base + value_end - len_unit, 4),
          decoded);
      size = decoded;
      region = format::ValueRegionBytes(size, p.alignment());
    } else if (!h.is_tombstone() && h.kind != format::Kind::kLost) {
      region = format::ValueRegionBytes(size, p.alignment());
    }
    value_end -= region;
    out.push_back({i, base + at, h, base + value_end, size});
  }
  return out;
}

}  // namespace cairn::kvs::test
