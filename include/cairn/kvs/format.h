// The on-flash format of the key-value store, version 3. docs/format.md is
// the byte-by-byte specification; this header is its executable form, shared
// by the store and by the host tools that inspect images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/kvs/key.h"

namespace cairn::kvs::format {

// Version 3: seal markers exist, and the last entry of an active sector
// formatted at version 3 counts only if its tail byte was programmed.
// Version 2 added the size word's check byte and void markers. Format units
// of versions 1 and 2 are still mounted (see format.md).
inline constexpr uint8_t kVersion = 3;
inline constexpr uint8_t kSealVersion = 3;
inline constexpr uint8_t kMagic[2] = {'C', 'N'};

// Every header field (format unit, activation unit, slot) carries 8 bytes of
// data and is padded with the erased value to the program alignment.
inline constexpr size_t kFieldBytes = 8;
constexpr size_t UnitSize(size_t alignment) {
  return (kFieldBytes + alignment - 1) / alignment * alignment;
}
// Sector layout: [format unit][activation unit][slot 0][slot 1]...  values
// grow down from the sector end.
constexpr size_t SectorHeaderBytes(size_t alignment) {
  return 2 * UnitSize(alignment);
}

// Size codes in the 13-bit size field of a slot.
inline constexpr uint16_t kMaxInlineSize = 8189;
inline constexpr uint16_t kSizeExtended = 8190;   // size unit at region end
inline constexpr uint16_t kSizeTombstone = 8191;  // a delete: no value
inline constexpr size_t kExtendedSizeBytes = 4;

// Slot kinds (2 bits). Batch members are only applied when the run of
// members that holds them ends with a kBatchEnd slot.
enum class Kind : uint8_t {
  kLost = 0,         // the key's value was lost to corruption (DATA_LOSS)
  kBatchEnd = 1,     // last entry of a batch: commits the run before it
  kBatchMember = 2,  // entry of a batch that is not its last
  kPlain = 3,        // an ordinary Put or Delete
};

struct SlotHeader {
  Key key = 0;
  uint16_t size_code = 0;  // 0..8189 inline size, or kSizeExtended/Tombstone
  Kind kind = Kind::kPlain;
  uint16_t crc = 0;  // CRC-16 over key, size code and value (see format.md)

  bool is_tombstone() const {
    return size_code == kSizeTombstone && !is_void();
  }
  bool is_extended() const {
    return size_code == kSizeExtended && kind != Kind::kLost;
  }
  // A void marker (kind lost with the tombstone size code): the slot right
  // before it never happened, and the key field holds the offset in the
  // sector where the next value region ends.
  bool is_void() const {
    return kind == Kind::kLost && size_code == kSizeTombstone;
  }
  // A seal marker (kind lost with the extended size code): it follows an
  // entry whose tail byte is the erased value, to show that the entry was
  // written to the end. Its key field carries no meaning.
  bool is_seal() const {
    return kind == Kind::kLost && size_code == kSizeExtended;
  }
};

// Encodes/decodes the 8 data bytes of a slot. Decode returns false when the
// parity bit does not match (the header is torn or corrupt).
void EncodeSlot(const SlotHeader& header, std::span<std::byte, 8> out);
bool DecodeSlot(std::span<const std::byte, 8> in, SlotHeader& header);

// Size code for a value of `size` bytes.
constexpr uint16_t SizeCodeFor(size_t size) {
  return size > kMaxInlineSize ? kSizeExtended : static_cast<uint16_t>(size);
}
// Bytes of the value region of an entry at program alignment `alignment`:
// the value padded to the alignment, plus (extended entries only) one more
// aligned unit whose first 4 bytes hold the value size.
constexpr size_t ValueRegionBytes(size_t size, size_t alignment) {
  const size_t padded = (size + alignment - 1) / alignment * alignment;
  return size > kMaxInlineSize ? padded + (kExtendedSizeBytes + alignment - 1) /
                                              alignment * alignment
                               : padded;
}

// True if the decoded header is a marker (kind lost) with the size code
// `size_code` and the CRC of its key and size code.
bool IsMarkerWith(const SlotHeader& header, uint16_t size_code);

// The void marker that ends the value regions at `value_end`, and the check
// that a decoded header is one (its CRC covers key and size code).
SlotHeader VoidMarker(uint32_t value_end);
inline bool IsVoidMarker(const SlotHeader& header) {
  return IsMarkerWith(header, kSizeTombstone);
}

// The seal marker for flash whose erased byte is `erased`: its own tail byte
// (the CRC's high byte) is never `erased`. And the check that a decoded
// header is a seal marker.
SlotHeader SealMarker(std::byte erased);
inline bool IsSealMarker(const SlotHeader& header) {
  return IsMarkerWith(header, kSizeExtended);
}

// The 4-byte size unit of an extended entry: a 24-bit size and a check byte
// that corrects any single flipped bit and detects any two.
enum class SizeState : uint8_t { kValid, kRepaired, kInvalid };
void EncodeExtendedSize(uint32_t size, std::span<std::byte, 4> out);
SizeState DecodeExtendedSize(std::span<const std::byte, 4> in, uint32_t& size);

// CRC-16 seed for an entry: the CRC over the key and size code, to be
// continued over the value bytes.
uint16_t EntryCrcSeed(Key key, uint16_t size_code);

struct FormatUnit {
  uint8_t version = kVersion;
  uint32_t erase_count = 0;  // 24 bits
};
struct ActivationUnit {
  uint32_t sequence = 0;
  uint16_t prev_slots = 0;  // committed slots of the ring predecessor
};

// Geometry the unit checksums bind to, so an image read with the wrong
// geometry is recognised as such.
struct GeometryTag {
  uint32_t sector_size;
  uint16_t alignment;
};

enum class UnitState : uint8_t {
  kErased,   // every byte is the erased value
  kValid,    // magic, version and checksum match
  kBad,      // the bad-sector marker
  kNewer,    // magic matches, version is newer than kVersion
  kInvalid,  // anything else: torn, corrupt, foreign or other geometry
};

void EncodeFormatUnit(const FormatUnit& unit, const GeometryTag& geometry,
                      std::span<std::byte, 8> out);
UnitState DecodeFormatUnit(std::span<const std::byte, 8> in,
                           const GeometryTag& geometry, std::byte erased,
                           FormatUnit& unit);
void EncodeActivationUnit(const ActivationUnit& unit,
                          std::span<std::byte, 8> out);
UnitState DecodeActivationUnit(std::span<const std::byte, 8> in,
                               std::byte erased, ActivationUnit& unit);
// True if the 8 bytes carry the magic of a format unit (any version or
// geometry): used to tell "ours but unreadable" from "foreign".
bool HasMagic(std::span<const std::byte, 8> in);

}  // namespace cairn::kvs::format
