#include "cairn/kvs/format.h"

#include <array>
#include <bit>
#include <cstring>

#include "cairn/checksum.h"

namespace cairn::kvs::format {
namespace {

// Little-endian stores: one store where the target's byte order is the
// format's.
void Put16(std::byte* out, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    const uint16_t half = static_cast<uint16_t>(v);
    std::memcpy(out, &half, 2);
  } else {
    out[0] = static_cast<std::byte>(v);
    out[1] = static_cast<std::byte>(v >> 8);
  }
}
void Put32(std::byte* out, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &v, 4);
  } else {
    Put16(out, v);
    Put16(out + 2, v >> 16);
  }
}
uint32_t Get16(const std::byte* in) {
  return static_cast<uint32_t>(in[0]) | static_cast<uint32_t>(in[1]) << 8;
}
uint32_t Get32(const std::byte* in) { return Get16(in) | Get16(in + 2) << 16; }

// 1 if the six bytes at `in` hold an odd number of 1 bits (no popcount:
// many targets have no instruction for it).
unsigned Parity6(const std::byte* in) {
  unsigned x = Get32(in) ^ Get16(in + 4);
  x ^= x >> 16;
  x ^= x >> 8;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1u;
}

bool AllEqual(std::span<const std::byte, 8> in, std::byte value) {
  for (std::byte b : in) {
    if (b != value) return false;
  }
  return true;
}

// The check field of a header unit over its six data bytes: for a format
// unit continued over `geometry`, for an activation unit (no geometry)
// XORed with 0x434E.
uint16_t UnitCrc(const std::byte* fields, const GeometryTag* geometry) {
  const uint16_t crc = Crc16::Compute(std::span(fields, 6));
  if (geometry == nullptr) return crc ^ 0x434Eu;
  std::byte tag[6];
  Put32(tag, geometry->sector_size);
  Put16(tag + 4, geometry->alignment);
  return Crc16::Update(crc, tag);
}

// The check-bit pattern of size bit `bit`: the bit-th byte value with
// exactly three bits set. All patterns differ and have odd weight, so a
// single flipped size bit shows as its own pattern, a flipped check bit as a
// weight-1 syndrome and two flips as an even, non-zero one.
constexpr uint8_t SizeBitPattern(unsigned bit) {
  unsigned value = 0;
  for (unsigned found = 0;; ++value) {
    if (std::popcount(value) == 3 && found++ == bit) break;
  }
  return static_cast<uint8_t>(value);
}

// The 24 patterns, worked out at compile time.
constexpr std::array<uint8_t, 24> kSizeBitPatterns = [] {
  std::array<uint8_t, 24> patterns{};
  for (unsigned bit = 0; bit < 24; ++bit) patterns[bit] = SizeBitPattern(bit);
  return patterns;
}();

uint8_t SizeCheck(uint32_t size) {
  uint8_t check = 0;
  for (unsigned bit = 0; bit < 24; ++bit) {
    if (size >> bit & 1) check ^= kSizeBitPatterns[bit];
  }
  return check;
}

}  // namespace

void EncodeExtendedSize(uint32_t size, std::span<std::byte, 4> out) {
  Put32(out.data(),
        (size & 0xFFFFFFu) | static_cast<uint32_t>(SizeCheck(size & 0xFFFFFFu))
                                 << 24);
}

SizeState DecodeExtendedSize(std::span<const std::byte, 4> in, uint32_t& size) {
  const uint32_t word = Get32(in.data());
  size = word & 0xFFFFFFu;
  const unsigned syndrome = (word >> 24) ^ SizeCheck(size);
  if (syndrome == 0) return SizeState::kValid;
  // A single flipped check bit (the syndrome, not 0, is a power of two).
  if ((syndrome & (syndrome - 1)) == 0) return SizeState::kRepaired;
  for (unsigned bit = 0; bit < 24; ++bit) {
    if (syndrome == kSizeBitPatterns[bit]) {
      size ^= 1u << bit;
      return SizeState::kRepaired;
    }
  }
  return SizeState::kInvalid;
}

SlotHeader VoidMarker(uint32_t value_end) {
  return {value_end, kSizeTombstone, Kind::kLost,
          EntryCrcSeed(value_end, kSizeTombstone)};
}

bool IsMarkerWith(const SlotHeader& header, uint16_t size_code) {
  return header.kind == Kind::kLost && header.size_code == size_code &&
         header.crc == EntryCrcSeed(header.key, size_code);
}

SlotHeader SealMarker(std::byte erased) {
  SlotHeader h{0, kSizeExtended, Kind::kLost, 0};
  for (;; ++h.key) {
    h.crc = EntryCrcSeed(h.key, h.size_code);
    if (static_cast<std::byte>(h.crc >> 8) != erased) return h;
  }
}

void EncodeSlot(const SlotHeader& header, std::span<std::byte, 8> out) {
  Put32(out.data(), header.key);
  uint32_t info = (header.size_code & 0x1FFFu) |
                  (static_cast<uint32_t>(header.kind) & 3u) << 13;
  Put16(out.data() + 4, info);
  // Odd parity over the 48 bits of key and info: an all-erased or all-zero
  // slot never decodes.
  if (Parity6(out.data()) == 0) Put16(out.data() + 4, info | 0x8000u);
  Put16(out.data() + 6, header.crc);
}

bool DecodeSlot(std::span<const std::byte, 8> in, SlotHeader& header) {
  if (Parity6(in.data()) == 0) return false;
  const uint32_t info = Get16(in.data() + 4);
  header.key = Get32(in.data());
  header.size_code = static_cast<uint16_t>(info & 0x1FFFu);
  header.kind = static_cast<Kind>((info >> 13) & 3u);
  header.crc = static_cast<uint16_t>(Get16(in.data() + 6));
  return true;
}

uint16_t EntryCrcSeed(Key key, uint16_t size_code) {
  std::byte fields[6];
  Put32(fields, key);
  Put16(fields + 4, size_code & 0x1FFFu);
  return Crc16::Compute(fields);
}

void EncodeFormatUnit(const FormatUnit& unit, const GeometryTag& geometry,
                      std::span<std::byte, 8> out) {
  out[0] = std::byte{kMagic[0]};
  out[1] = std::byte{kMagic[1]};
  Put32(out.data() + 2, unit.version | unit.erase_count << 8);
  Put16(out.data() + 6, UnitCrc(out.data(), &geometry));
}

bool HasMagic(std::span<const std::byte, 8> in) {
  return Get16(in.data()) == (kMagic[0] | uint32_t{kMagic[1]} << 8);
}

UnitState DecodeFormatUnit(std::span<const std::byte, 8> in,
                           const GeometryTag& geometry, std::byte erased,
                           FormatUnit& unit) {
  if (AllEqual(in, erased)) return UnitState::kErased;
  // The bad-sector marker programs every bit; 12 or more programmed bits in
  // the two magic bytes cannot come from a torn write of the magic (which
  // programs only 9 for 0xFF-erased flash), and a worn sector may fail to
  // program a few.
  const uint32_t programmed =
      Get16(in.data()) ^ static_cast<uint32_t>(erased) * 0x0101u;
  if (std::popcount(programmed) >= 12) return UnitState::kBad;
  if (!HasMagic(in) || in[2] == std::byte{0}) return UnitState::kInvalid;
  unit.version = static_cast<uint8_t>(in[2]);
  if (unit.version > kVersion) return UnitState::kNewer;
  if (Get16(in.data() + 6) != UnitCrc(in.data(), &geometry)) {
    return UnitState::kInvalid;
  }
  unit.erase_count = static_cast<uint32_t>(in[3]) | Get16(in.data() + 4) << 8;
  return UnitState::kValid;
}

void EncodeActivationUnit(const ActivationUnit& unit,
                          std::span<std::byte, 8> out) {
  Put32(out.data(), unit.sequence);
  Put16(out.data() + 4, unit.prev_slots);
  Put16(out.data() + 6, UnitCrc(out.data(), nullptr));
}

UnitState DecodeActivationUnit(std::span<const std::byte, 8> in,
                               std::byte erased, ActivationUnit& unit) {
  if (AllEqual(in, erased)) return UnitState::kErased;
  if (Get16(in.data() + 6) != UnitCrc(in.data(), nullptr)) {
    return UnitState::kInvalid;
  }
  unit.sequence = Get32(in.data());
  unit.prev_slots = static_cast<uint16_t>(Get16(in.data() + 4));
  return UnitState::kValid;
}

}  // namespace cairn::kvs::format
