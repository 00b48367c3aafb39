// Image layouts: geometry plus named partitions, read from a JSON or CSV
// layout file and recorded in the image as a trailer (docs/tool.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common.h"

namespace cairn::tool {

enum class PartitionKind : uint8_t { kKvs = 1, kBlob = 2 };
const char* KindName(PartitionKind kind);

struct PartitionSpec {
  std::string name;
  PartitionKind kind = PartitionKind::kKvs;
  uint32_t first_sector = 0;
  uint32_t sector_count = 0;
  // kvs: index capacity of the device (0: derived from the partition size).
  uint16_t max_keys = 0;
  // blob: the kvs partition that holds its metadata (empty: the first one).
  std::string meta;
};

struct Layout {
  uint32_t sector_size = 0;
  uint32_t sector_count = 0;
  uint16_t alignment = 0;
  uint8_t erased = 0xFF;
  std::vector<PartitionSpec> partitions;
  // Key names the tool has seen (the key is their FNV-1a hash).
  std::vector<std::string> key_names;

  uint64_t size_bytes() const { return uint64_t{sector_size} * sector_count; }
  const PartitionSpec* Find(const std::string& name) const;
  // Completes defaults (blob meta) and throws kExitLayout on any problem.
  void Validate();
  std::string Describe() const;
};

// Parses a layout file; the format is chosen by content ('{' starts JSON).
Layout ParseLayoutFile(const std::string& path);
Layout ParseLayoutText(const std::string& text, const std::string& origin);

// The trailer record.
inline constexpr char kRecordMagic[8] = {'C', 'A', 'I', 'R',
                                         'N', 'L', 'A', 'Y'};
inline constexpr char kRecordEndMagic[8] = {'C', 'A', 'I', 'R',
                                            'N', 'E', 'N', 'D'};
inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kRecordHeaderBytes = 24;
inline constexpr size_t kRecordPartitionBytes = 28;
inline constexpr size_t kRecordFooterBytes = 16;
inline constexpr size_t kMaxPartitions = 32;
inline constexpr size_t kMaxPartitionName = 16;

Bytes EncodeRecord(const Layout& layout);

enum class RecordState { kAbsent, kValid };
// Looks for a record at the end of `file`. kAbsent when the end magic is
// missing; throws kExitNotImage when it is there but the record is corrupt,
// of a newer version, or does not match the file size. On kValid,
// `record_bytes` is the length of the trailer.
RecordState DecodeRecord(std::span<const std::byte> file, Layout& layout,
                         size_t& record_bytes);

}  // namespace cairn::tool
