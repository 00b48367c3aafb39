// The structural walk of kvs partitions with the kvs/format.h decoders: what
// `check`, `dump`, `ls` and the damaged-image guard of every write share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/kvs/format.h"
#include "image.h"

namespace cairn::tool {

enum class Severity : uint8_t {
  kNote,     // normal state worth knowing (power-cut residue, free space)
  kProblem,  // inconsistent or corrupt, but no live data lost
  kLoss,     // live data lost
};
const char* SeverityName(Severity severity);

struct Finding {
  Severity severity;
  std::string partition;
  size_t address;  // absolute flash address
  std::string what;
  std::string affected;
};

// One decoded slot of a sector.
struct SlotInfo {
  uint32_t index = 0;
  size_t address = 0;  // absolute address of the slot
  bool erased = false;
  bool decoded = false;  // parity ok
  kvs::format::SlotHeader header;
  size_t value_address = 0;  // absolute address of the value region
  size_t value_size = 0;     // value bytes
  size_t region_bytes = 0;   // flash bytes of the value region
  bool value_in_bounds = false;
  bool crc_ok = false;
  bool is_void = false;  // a void marker: cancels the slot before it
  bool is_seal = false;  // a seal marker: the entry before it is complete
};

struct SectorInfo {
  uint32_t index = 0;  // partition sector
  size_t address = 0;  // absolute
  kvs::format::UnitState format_state = kvs::format::UnitState::kErased;
  kvs::format::FormatUnit format;
  kvs::format::UnitState activation_state = kvs::format::UnitState::kErased;
  kvs::format::ActivationUnit activation;
  // A unit that failed its CRC and reads valid with one bit flipped back, as
  // mount corrects it (the decoded fields above are the corrected ones).
  bool format_corrected = false;
  bool activation_corrected = false;
  std::vector<SlotInfo> slots;
  size_t value_low = 0;  // lowest value byte used (relative to sector start)
  bool garbage_in_free = false;
  bool damaged = false;  // an unreadable slot: value positions unknown
};

struct KvsScan {
  const PartitionSpec* spec = nullptr;
  std::vector<SectorInfo> sectors;
  std::vector<Finding> findings;
  size_t entries = 0;
  size_t bad_entries = 0;
};

// Walks every sector of a kvs partition and reports what it finds; never
// mounts, never writes.
KvsScan ScanKvs(const Image& image, const PartitionSpec& spec);

// Throws kExitDamaged when the partition has problems or lost data (so that
// a write does not make matters worse), unless `force`.
void RefuseIfDamaged(const Image& image, const PartitionSpec& spec, bool force);

}  // namespace cairn::tool
