// The key-value store. docs/format.md explains the layout this code reads and
// writes; docs/api.md the behaviour callers see.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "cairn/checksum.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"

namespace cairn::kvs {

// 52 bytes of state on a 32-bit target: with a 12-byte FlashPartition and 32
// index entries exactly W1's RAM target of 320 bytes (docs/benchmarks.md).
static_assert(sizeof(void*) != 4 || sizeof(Store) <= 52);

using format::Kind;
using format::SlotHeader;
using format::UnitState;

namespace {

constexpr uint32_t kLost = 0x80000000u;  // location flag: value unreadable
constexpr size_t kMountChunk = 512;      // bytes of slots read per call
constexpr size_t kScratchSectors = 64;   // sectors whose headers mount keeps
constexpr size_t kCopyChunk = FlashMemory::kMaxAlignment;

uint8_t BitsFor(size_t count) {  // bits to number 0..count-1
  return static_cast<uint8_t>(
      count < 2 ? 1 : std::min<size_t>(32, std::bit_width(count - 1)));
}

// True if all n bytes at p (n >= 1) are `erased`: the first one is, and each
// equals the one after it.
bool AllErased(const std::byte* p, size_t n, std::byte erased) {
  return p[0] == erased && std::memcmp(p, p + 1, n - 1) == 0;
}

// Flips bit `bit` (0 is the low bit of p[0]) of the bytes at `p`.
void FlipBit(std::byte* p, int bit) {
  p[bit / 8] ^= std::byte(1u << (bit % 8));
}

constexpr unsigned Bit(UnitState state) {
  return 1u << static_cast<unsigned>(state);
}

Status AsDataLoss(Status s) {
  return s.ok() || s.IsUnavailable() ? s : Status::DataLoss();
}

// While the store writes, a failed read is reported as INTERNAL: it says
// nothing about the sector being written, which DATA_LOSS condemns.
Status AsReadFailure(Status s) {
  return s.ok() || s.IsUnavailable() ? s : Status::Internal();
}

}  // namespace

// A slot as found on flash: its header and where its value region lies.
struct Store::Entry {
  SlotHeader header;
  size_t value_address = 0;  // partition address of the value region
  size_t size = 0;           // value bytes
  size_t region = 0;         // aligned bytes of the value region
  bool repaired = false;     // the extended size had a bit corrected
};

constexpr uint16_t kNotActive = 0xFFFF;  // SectorInfo::prev_slots

// A sector's two header units as ReadUnits found them.
struct Store::Units {
  std::array<std::byte, 16> raw;
  format::FormatUnit fmt;
  format::ActivationUnit act;
  UnitState fmt_state, act_state;
  int repaired;  // bit 0: format unit corrected, bit 1: activation unit
};

struct Store::Mount {
  std::array<std::byte, kMountChunk> chunk;
  std::array<SectorInfo, kScratchSectors> info;
  uint32_t torn = 0xFFFFFFFFu;  // a sector whose activation unit is ignored
};

// ScanSector's walk through a sector: the batch run it is in, if any, and
// the slot read last. A slot is applied once the next one is read: a void
// marker there cancels it, and in the active sector the last one must
// check out first.
struct Store::ScanState {
  uint32_t sector;
  uint32_t run_first = 0;
  size_t run_end = 0;  // 0: not in a run (as pending_end)
  uint32_t pending_slot = 0;
  size_t pending_end = 0;  // 0: none (a value end lies past its slot)
  Entry pending{};
};

// Where the next entry goes: a sector being filled.
struct Store::Cursor {
  uint32_t sector;
  uint32_t value_end;
  uint16_t slots;
  // The last slot written is an entry whose tail byte is the erased value
  // and no seal follows it yet (see SealIfOpen).
  bool open = false;
};

Store::Store(FlashPartition& partition, std::span<IndexEntry> index,
             const Options& options)
    : partition_(&partition),
      index_(index.data()),
      lock_(options.lock),
      capacity_(static_cast<uint16_t>(std::min<size_t>(index.size(), 0xFFFF))),
      copies_(options.copies),
      reclaim_on_put_(options.reclaim_on_put),
      format_if_unusable_(options.format_if_unusable) {}

// ---------------------------------------------------------------- geometry

inline size_t Store::SectorAddress(uint32_t sector) const {
  return size_t{sector} * partition_->sector_size();
}

bool Store::IsBad(uint32_t sector) const {
  for (uint32_t i = 0; i < bad_sectors_; ++i) {
    if (bad_[i] == sector) return true;
  }
  return false;
}

uint32_t Store::RingNext(uint32_t sector) const {
  do {
    sector = sector + 1 == sectors_ ? 0 : sector + 1;
  } while (IsBad(sector));
  return sector;
}

uint32_t Store::RingPrev(uint32_t sector) const {
  do {
    sector = sector == 0 ? sectors_ - 1 : sector - 1;
  } while (IsBad(sector));
  return sector;
}

// A location packs the sector, the slot and the offset where the slot's value
// region ends (in alignment units): from those the slot header, the value
// and an extended entry's size unit are all one read away. The bits left
// over below the lost flag hold the size of the value region (in alignment
// units; all ones: too large to say), so that a write learns the footprint
// of the entry it replaces without reading flash.
uint32_t Store::PackLocation(uint32_t sector, uint32_t slot, size_t value_end,
                             size_t region) const {
  const uint32_t most = (1u << (31 - region_shift_)) - 1;
  const size_t units = region / partition_->alignment();
  return (units < most ? static_cast<uint32_t>(units) : most) << region_shift_ |
         (sector << (slot_bits_ + value_bits_)) | (slot << value_bits_) |
         static_cast<uint32_t>(value_end / partition_->alignment());
}
uint32_t Store::LocSector(uint32_t loc) const {
  return (loc & ((1u << region_shift_) - 1)) >> (slot_bits_ + value_bits_);
}
uint32_t Store::LocSlot(uint32_t loc) const {
  return (loc >> value_bits_) & ((1u << slot_bits_) - 1);
}
size_t Store::LocValue(uint32_t loc) const {
  return (loc & ((1u << value_bits_) - 1)) * partition_->alignment();
}
// False if the location could not hold the region's size.
inline bool Store::LocRegion(uint32_t loc, size_t& region) const {
  const uint32_t most = (1u << (31 - region_shift_)) - 1;
  const uint32_t units = (loc >> region_shift_) & most;
  region = size_t{units} * partition_->alignment();
  return units != most;
}
inline size_t Store::SectorHeader() const { return 2u * unit_; }

size_t Store::SlotAddress(uint32_t sector, uint32_t slot) const {
  return SectorAddress(sector) + SectorHeader() + size_t{slot} * unit_;
}
size_t Store::UsableBytes() const {
  return partition_->sector_size() - SectorHeader();
}
inline uint32_t Store::UsableSectors() const { return sectors_ - bad_sectors_; }

// Flash bytes of one write: every copy's slot and value region.
inline size_t Store::Footprint(size_t region) const {
  return copies_ * (unit_ + region);
}

size_t Store::max_value_size() const {
  // A count Init refuses; before Init max_batch_bytes() is 0, and so is this.
  if (copies_ == 0 || copies_ > kMaxCopies) return 0;
  // Every copy fits one sector. With one data sector an update needs room
  // for the old value and the new one together.
  const size_t share =
      max_batch_bytes() / (copies_ * (UsableSectors() < 3 ? 2u : 1u));
  if (share <= unit_) return 0;
  size_t cap =
      (share - unit_) / partition_->alignment() * partition_->alignment();
  if (cap <= format::kMaxInlineSize) return cap;
  const size_t ext = cap - partition_->AlignUp(format::kExtendedSizeBytes);
  return std::max<size_t>(format::kMaxInlineSize, ext);
}

// A write leaves room for one more slot after it (see WriteOps); with two
// usable sectors also for a seal and a later delete.
size_t Store::max_batch_bytes() const {
  if (unit_ == 0) return 0;  // before Init
  const size_t reserve =
      unit_ + (UsableSectors() < 3 ? unit_ + Footprint(0) : 0u);
  // Large units with copies on two sectors can leave nothing at all.
  return UsableBytes() > reserve ? UsableBytes() - reserve : 0;
}

Status Store::CheckGeometry() {
  const FlashPartition& p = *partition_;
  CAIRN_TRY(p.CheckValid());
  const size_t align = p.alignment();
  unit_ = static_cast<uint16_t>(format::UnitSize(align));
  sectors_ = static_cast<uint16_t>(std::min<size_t>(p.sector_count(), 0xFFFF));
  if (p.sector_count() < 2 || p.sector_count() > 16383 ||
      p.sector_size() < SectorHeader() + 4u * unit_ ||
      p.sector_size() > (size_t{1} << 24) || capacity_ == 0 || copies_ == 0 ||
      copies_ > kMaxCopies) {
    return Status::InvalidArgument();
  }
  const size_t max_slots = std::min<size_t>(UsableBytes() / unit_, 0xFFFE);
  slot_bits_ = BitsFor(max_slots);
  value_bits_ = BitsFor(p.sector_size() / align + 1);
  region_shift_ =
      static_cast<uint8_t>(BitsFor(sectors_) + slot_bits_ + value_bits_);
  if (region_shift_ > 31) return Status::InvalidArgument();
  return Status::Ok();
}

format::GeometryTag Store::Tag() const {
  return {static_cast<uint32_t>(partition_->sector_size()),
          static_cast<uint16_t>(partition_->alignment())};
}

// ------------------------------------------------------------------- index

// A binary search whose step is a select rather than a branch, so that
// random keys cost no mispredicted jumps.
size_t Store::LowerBound(Key key) const {
  size_t base = 0, n = key_count_;
  while (n > 1) {
    const size_t half = n / 2;
    base = index_[base + half - 1].key < key ? base + half : base;
    n -= half;
  }
  return base + (n == 1 && index_[base].key < key);
}

size_t Store::Find(Key key) const {
  const size_t pos = LowerBound(key);
  return pos < key_count_ && index_[pos].key == key ? pos : capacity_;
}

inline Status Store::IndexSet(Key key, uint32_t location) {
  const size_t pos = LowerBound(key);
  IndexEntry* const at = index_ + pos;
  if (pos < key_count_ && at->key == key) {
    at->location = location;
    return Status::Ok();
  }
  if (key_count_ == capacity_) return Status::ResourceExhausted();
  std::memmove(at + 1, at, (key_count_ - pos) * sizeof(IndexEntry));
  *at = {key, location};
  ++key_count_;
  return Status::Ok();
}

void Store::IndexErase(size_t pos) {
  IndexEntry* const at = index_ + pos;
  std::memmove(at, at + 1, (key_count_ - pos - 1) * sizeof(IndexEntry));
  --key_count_;
}

// --------------------------------------------------------- reading entries

// Reads stored bytes. DATA_LOSS is read again, and if it stays, it stays:
// the driver says the bytes are gone (an ECC word that a cut left half
// written, porting.md), so the value or header they belong to is damaged
// or torn. Any other failure says nothing about the data and becomes
// INTERNAL (see AsReadFailure).
Status Store::ReadAt(size_t address, std::span<std::byte> out) const {
  Status read = partition_->Read(address, out);
  if (read.IsDataLoss()) read = partition_->Read(address, out);
  return read.IsDataLoss() ? read : AsReadFailure(read);
}

// Whether `size` bytes at `address` are erased; DATA_LOSS (read twice, as
// in ReadAt) if some do not read.
Result<bool> Store::IsErasedAt(size_t address, size_t size) const {
  Result<bool> erased = partition_->IsErased(address, size);
  if (erased.status().IsDataLoss()) {
    erased = partition_->IsErased(address, size);
  }
  return erased;
}

// Reads the slot headers of `sector` from slot `slot` on into `out`. A
// header that does not read (DATA_LOSS, found by reading the slots one by
// one) comes back as the complement of the erased value: written, and
// never decoding (DecodeSlot), as a header torn on flash without ECC may
// read.
Status Store::ReadHeaders(uint32_t sector, uint32_t slot,
                          std::span<std::byte> out) const {
  const size_t at = SlotAddress(sector, slot);
  Status read = partition_->Read(at, out);
  if (!read.IsDataLoss()) return read;
  for (size_t pos = 0; pos < out.size(); pos += unit_) {
    const std::span<std::byte> one =
        out.subspan(pos, std::min<size_t>(unit_, out.size() - pos));
    read = ReadAt(at + pos, one);
    if (read.IsDataLoss()) {
      std::fill(one.begin(), one.end(), ~partition_->erased_value());
    } else if (!read.ok()) {
      return read;
    }
  }
  return Status::Ok();
}

// Reads the slot `slot` of `sector` whose value region ends at `value_end`.
// Fills `entry`; DATA_LOSS if the slot does not decode or does not fit.
Status Store::ReadSlot(uint32_t sector, uint32_t slot, size_t value_end,
                       std::span<const std::byte, 8> raw, Entry& entry) const {
  if (!format::DecodeSlot(raw, entry.header)) return Status::DataLoss();
  SlotHeader& h = entry.header;
  const size_t end_address = SectorAddress(sector) + value_end;
  entry.size = h.size_code;
  if (h.is_extended()) {
    std::array<std::byte, 4> len;
    const size_t len_unit = partition_->AlignUp(format::kExtendedSizeBytes);
    if (value_end < len_unit) return Status::DataLoss();
    CAIRN_TRY(ReadAt(end_address - len_unit, len));
    uint32_t size = 0;
    const format::SizeState state = format::DecodeExtendedSize(len, size);
    entry.size = size;
    entry.repaired = state == format::SizeState::kRepaired;
    if (state == format::SizeState::kInvalid ||
        entry.size <= format::kMaxInlineSize ||
        entry.size > partition_->sector_size()) {
      return Status::DataLoss();
    }
  } else if (h.is_tombstone()) {
    entry.size = 0;
  } else if (h.kind == Kind::kLost && h.size_code != 0) {
    return Status::DataLoss();  // a lost marker never has a value
  }
  // A tombstone or lost marker has size 0 by now, so no value region.
  entry.region = format::ValueRegionBytes(entry.size, partition_->alignment());
  const size_t slots_end = SectorHeader() + (size_t{slot} + 1) * unit_;
  if (value_end < slots_end || value_end - slots_end < entry.region) {
    return Status::DataLoss();
  }
  entry.value_address = end_address - entry.region;
  return Status::Ok();
}

// Reads the entry the index location `loc` points at.
Status Store::ReadEntry(uint32_t loc, Key key, Entry& entry) const {
  if (loc & kLost) return Status::DataLoss();
  const uint32_t sector = LocSector(loc);
  const uint32_t slot = LocSlot(loc);
  const size_t value_end = LocValue(loc);
  std::array<std::byte, 8> raw;
  CAIRN_TRY(AsReadFailure(ReadHeaders(sector, slot, raw)));
  Status read = ReadSlot(sector, slot, value_end, raw, entry);
  // A header with a flipped bit: the correction that mount made, which the
  // value's checksum confirms.
  if (read.IsDataLoss()) read = RepairSlot(sector, slot, value_end, raw, entry);
  CAIRN_TRY(read);
  if (entry.header.key != key || entry.header.kind == Kind::kLost ||
      entry.header.is_tombstone()) {
    return Status::DataLoss();
  }
  return Status::Ok();
}

// Reads the value of `entry` from `offset` into `out` while checking the
// checksum over the whole value.
Status Store::CheckValue(const Entry& entry, std::span<std::byte> out,
                         size_t offset) const {
  uint16_t crc = format::EntryCrcSeed(entry.header.key, entry.header.size_code);
  std::array<std::byte, 64> scratch;
  size_t pos = 0;
  while (pos < entry.size) {
    std::span<std::byte> dest;
    if (pos == offset && !out.empty()) {
      dest = out;
    } else {
      const size_t limit = pos < offset ? offset : entry.size;
      dest = std::span(scratch).first(std::min(scratch.size(), limit - pos));
    }
    CAIRN_TRY(ReadAt(entry.value_address + pos, dest));
    crc = Crc16::Update(crc, dest);
    pos += dest.size();
  }
  return crc == entry.header.crc ? Status::Ok() : Status::DataLoss();
}

// Checks the value of entry `e` (read by ReadEntry from `loc`), reading from
// `offset` into `out`. With redundancy, a copy that fails its checksum hands
// over to the copy in the slot before it, which must be the same write (same
// key, size code and checksum); `e` and `loc` then describe that copy.
Status Store::ReadGoodCopy(uint32_t& loc, Key key, Entry& e,
                           std::span<std::byte> out, size_t offset) const {
  for (uint32_t back = 0;; ++back) {
    const Status s = CheckValue(e, out, offset);
    if (s.ok() && back > 0) {  // found damaged, and repaired
      ++corruption_found_;
      ++corruption_repaired_;
    }
    if (!s.IsDataLoss() || back + 1u >= copies_) return s;
    const uint32_t slot = LocSlot(loc);
    if (slot == 0) return s;
    const uint32_t older = PackLocation(LocSector(loc), slot - 1,
                                        LocValue(loc) + e.region, e.region);
    // `e` has the newest copy's size code and checksum (a copy that takes
    // over matches them).
    Entry copy;
    const Status read = ReadEntry(older, key, copy);
    if (read.IsInternal() || read.IsUnavailable()) return read;
    if (!read.ok() || copy.header.size_code != e.header.size_code ||
        copy.header.crc != e.header.crc) {
      return s;
    }
    loc = older;
    e = copy;
  }
}

// ------------------------------------------------------------------ mount

Status Store::Init() {
  LockGuard guard(lock_);
  return DoInit();
}

Status Store::Format() {
  LockGuard guard(lock_);
  // A mounted ring is erased from its oldest sector on, the active one last:
  // a cut part way leaves its newest sectors, so a key reads its last value
  // or nothing, never an older one.
  // A store that was never mounted learns its ring first; a mount that
  // fails once it has found the newest sector (the index ran full), or data
  // behind an unreadable activation unit, leaves `active_` right before the
  // sector to erase first (where a torn activation may lie). A read that
  // failed (or found the device busy) before the newest sector was found
  // may have hidden it: then nothing is erased.
  if (!initialized_) {
    const Status mount = DoInit();
    if ((mount.IsInternal() || mount.IsUnavailable()) && data_sectors_ == 0) {
      return mount;
    }
  }
  initialized_ = false;
  CAIRN_TRY(CheckGeometry());
  return FormatAll(Clear::kRecycle, active_ + 1u);
}

// What mount keeps of a sector's header: a valid activation unit's sequence
// (low 16 bits) and prev_slots, or kNotActive.
Store::SectorInfo Store::Facts(const Units& u) {
  const UnitState fmt = u.fmt_state, act = u.act_state;
  if (fmt == UnitState::kBad || act != UnitState::kValid ||
      u.act.prev_slots == kNotActive) {
    // sequence 1 marks a sector whose activation unit is garbage.
    return {act == UnitState::kInvalid && fmt != UnitState::kBad ? uint16_t{1}
                                                                 : uint16_t{0},
            kNotActive};
  }
  return {static_cast<uint16_t>(u.act.sequence), u.act.prev_slots};
}

// Reads and decodes the two header units of `sector` (one read when they
// are adjacent) into `u`. A unit that fails its checksum is corrected when
// flipping a single bit makes it valid (CRC-16 over 6 bytes tells one bit
// apart), which `u.repaired` counts; a torn activation unit corrected this
// way is still safe because it is written after everything it commits.
Status Store::ReadUnits(uint32_t sector, Units& u,
                        bool repair_activation) const {
  const std::span<std::byte, 16> raw = u.raw;
  const size_t at = SectorAddress(sector);
  // A failed read is tried once more; after that mount fails rather than
  // guess (a sector taken for damaged would lose data for good), unless
  // the driver says the bytes are gone (DATA_LOSS: an ECC word that does
  // not read, porting.md), as a unit torn by a power cut leaves them on
  // flash with ECC: then each unit is read alone, and one that does not
  // read counts as garbage.
  Status read;
  for (int attempt = 0; attempt < 2; ++attempt) {
    read = partition_->Read(at, raw.first(unit_ == 8 ? 16 : 8));
    if (read.ok() && unit_ != 8) {
      read = partition_->Read(at + unit_, raw.last(8));
    }
    if (read.ok() || read.IsUnavailable()) break;
  }
  int unreadable = 0;
  if (read.IsDataLoss()) {
    for (int unit = 0; unit < 2; ++unit) {
      const std::span<std::byte> part = raw.subspan(unit * 8, 8);
      read = partition_->Read(at + unit * unit_, part);
      if (read.IsDataLoss()) {
        std::fill(part.begin(), part.end(), partition_->erased_value());
        unreadable |= 1 << unit;
      } else {
        CAIRN_TRY(AsReadFailure(read));
      }
    }
    read = Status::Ok();
  }
  CAIRN_TRY(AsReadFailure(read));
  DecodeUnits(u);
  u.repaired = 0;
  for (int unit = 0; unit < (repair_activation ? 2 : 1); ++unit) {
    UnitState& state = unit == 0 ? u.fmt_state : u.act_state;
    for (int bit = unit * 64;
         state == UnitState::kInvalid && bit < unit * 64 + 64; ++bit) {
      FlipBit(raw.data(), bit);
      DecodeUnits(u);
      if (state == UnitState::kValid) {
        u.repaired |= 1 << unit;  // keep the corrected bit
      } else {
        // Back to the unit as read (the other unit decoded as before). The
        // fields keep this trial's values: nothing reads an invalid unit's.
        FlipBit(raw.data(), bit);
        state = UnitState::kInvalid;
      }
    }
  }
  // An unreadable unit decodes as erased so far (no correction was tried).
  if (unreadable & 1) u.fmt_state = UnitState::kInvalid;
  if (unreadable & 2) u.act_state = UnitState::kInvalid;
  return Status::Ok();
}

// Decodes the two header units in `u.raw` into `u`.
void Store::DecodeUnits(Units& u) const {
  const std::span<const std::byte, 16> raw = u.raw;
  const std::byte erased = partition_->erased_value();
  u.fmt_state = format::DecodeFormatUnit(raw.first<8>(), Tag(), erased, u.fmt);
  u.act_state = format::DecodeActivationUnit(raw.last<8>(), erased, u.act);
  // No activation names more slots than a sector holds: one that does is
  // a torn write (random bits that passed the CRC-16) or foreign bytes.
  if (u.act_state == UnitState::kValid &&
      u.act.prev_slots > UsableBytes() / unit_) {
    u.act_state = UnitState::kInvalid;
  }
}

Status Store::SectorFacts(Mount& m, uint32_t sector, SectorInfo& info,
                          bool* corrected) const {
  info = {1, kNotActive};
  if (sector == m.torn) return Status::Ok();
  if (sector < kScratchSectors) {
    info = m.info[sector];
    return Status::Ok();
  }
  Units u;
  CAIRN_TRY(ReadUnits(sector, u, true));
  const SectorInfo facts = Facts(u);
  // A unit corrected by one bit counts only inside the chain that the
  // newest unit heads, as DoInit checks for the first 64 sectors.
  const uint16_t below = static_cast<uint16_t>(sequence_ + 1 - facts.sequence);
  if (!(u.repaired & 2) || facts.prev_slots == kNotActive ||
      (below != 0 && below < sectors_)) {
    info = facts;
    if (corrected != nullptr) *corrected = u.repaired & 2;
  }
  return Status::Ok();
}

// Sets `unwritten` if `sector` holds no slot (its first slot is erased):
// nothing was written there after its activation, nor copied there before.
// A slot that does not read (DATA_LOSS, an ECC word) counts as written.
Status Store::Unwritten(uint32_t sector, bool& unwritten) const {
  const Result<bool> erased = IsErasedAt(SlotAddress(sector, 0), 8);
  unwritten = erased.ok() && *erased;
  return erased.status().IsDataLoss() ? Status::Ok()
                                      : AsReadFailure(erased.status());
}

Status Store::DoInit() {
  initialized_ = false;
  data_sectors_ = 0;  // the ring is not known yet (see Format)
  needs_remount_ = false;
  active_closed_ = false;
  key_count_ = 0;
  bad_sectors_ = 0;
  worn_out_ = false;
  live_valid_ = false;
  CAIRN_TRY(CheckGeometry());

  // Pass 1: every sector's header units; find the newest activation.
  Mount m;
  bool any_magic = false;
  // Bit n: the unit of some sector (format units: other than sector 0) is
  // in state n.
  unsigned fmt_states = 0, act_states = 0;
  UnitState first_fmt = UnitState::kErased;
  // Activation units corrected by one bit: trusted only if they continue
  // the chain of the units that read cleanly, since a torn activation write
  // can also come out "repaired" with any sequence. One flag per sector of
  // the first 64 (in the chunk buffer, unused until pass 2; SectorFacts
  // checks the others), and how many are set.
  static_assert(kMountChunk >= kScratchSectors);
  std::byte* const repaired_act = m.chunk.data();
  std::fill_n(repaired_act, kScratchSectors, std::byte{0});
  uint32_t repaired_count = 0;
  // The newest cleanly read activation, and the runner-up in case the newest
  // turns out to be a torn activation (below). A sector follows the tail
  // rule unless its format unit reads as an older version.
  struct Candidate {
    uint32_t sector = 0, sequence = 0;
    uint16_t prev_slots = 0;
    bool tail_rule = true, any = false;
  };
  // The same pair for the corrected units, in case none reads cleanly.
  Candidate pairs[2][2];
  Candidate &best = pairs[0][0], &second = pairs[0][1];
  // A formatted sector whose activation unit is garbage with a slot after
  // it, if any.
  uint32_t garbled = kNoLimit;
  for (uint32_t s = 0; s < sectors_; ++s) {
    Units u;
    const bool scratch = s < kScratchSectors;
    CAIRN_TRY(ReadUnits(s, u, true));
    const UnitState fs = u.fmt_state, as = u.act_state;
    const int repaired = u.repaired;
    // A unit corrected by one bit, or a data sector whose erase count is
    // unreadable, is corruption (a torn unit of a sector in transit is not).
    if (repaired || (as == UnitState::kValid && fs == UnitState::kInvalid)) {
      ++corruption_found_;
      // A corrected activation unit counts once mount keeps it (below, and
      // in pass 2 past the first 64 sectors).
      corruption_repaired_ += repaired & 1;
    }
    const SectorInfo info = Facts(u);
    if (fs == UnitState::kBad) {
      NoteBad(s);
    } else if (info.prev_slots != kNotActive) {
      Candidate c{
          s, u.act.sequence, u.act.prev_slots,
          fs != UnitState::kValid || u.fmt.version >= format::kSealVersion,
          true};
      if ((repaired & 2) && scratch) {
        repaired_act[s] = std::byte{1};
        ++repaired_count;
      }
      Candidate* const pair = pairs[repaired >> 1];
      if (!pair[0].any || c.sequence > pair[0].sequence) std::swap(c, pair[0]);
      if (c.any && (!pair[1].any || c.sequence > pair[1].sequence)) {
        pair[1] = c;
      }
    }
    // Only one with a slot after it matters; a torn activation that
    // committed nothing (no slot) may lie in any other sector.
    if (garbled == kNoLimit && fs == UnitState::kValid &&
        as == UnitState::kInvalid) {
      bool unwritten;
      CAIRN_TRY(Unwritten(s, unwritten));
      if (!unwritten) garbled = s;
    }
    if (s == 0) {
      first_fmt = fs;
    } else {
      fmt_states |= Bit(fs);
    }
    act_states |= Bit(as);
    any_magic |= format::HasMagic(std::span(u.raw).first<8>());
    if (scratch) m.info[s] = info;
  }

  // With no unit read cleanly, the corrected ones are all there is. A single
  // one is the store's only data sector with a flipped bit (a young store),
  // or the first activation torn, which committed nothing: either way it is
  // the newest. Several are data sectors with a flipped bit each (retention
  // errors), of which only the newest can instead be a torn activation: the
  // rule below tells that one apart, as it does for units read cleanly.
  const bool corrected = !best.any;
  if (corrected) {
    best = pairs[1][0];
    second = pairs[1][1];
  }

  // A torn activation unit that checks out (its random bits pass the CRC-16,
  // about one tear in 65,536; or one-bit correction makes them, about 48 in
  // 65,536) names a sequence and a slot count from nowhere. It lies right
  // after the sector that was active when it was written, and mount takes
  // that sector for the newest instead if
  // - the unit is more than a ring ahead of it and that sector continues a
  //   chain (the one behind it is one sequence number lower);
  // - or the units are corrected ones (none read cleanly), the newest names
  //   slots before it, the sector before it heads a chain or is the
  //   store's first (its unit names no slots), and the newest is not
  //   exactly one ahead of it (a real activation is) or holds no slot:
  //   nothing was copied into it or written after its activation, so the
  //   sector before holds all that even a valid unit commits, and taking
  //   that one for the newest loses nothing. A dead sector (it can neither
  //   be erased nor marked, so it keeps its old activation) can lie right
  //   before the newest sector, and would be taken for the newest with its
  //   stale entries: hence not for units read cleanly, nor for a first
  //   activation (after a format), nor behind a sector that is neither in
  //   a chain nor a store's first.
  const uint32_t ahead = best.sequence - second.sequence;
  if (second.any && best.sector == RingNext(second.sector) &&
      (ahead > sectors_ || corrected)) {
    // A corrected unit behind `second` counts if it continues the chain
    // `second` heads, as DoInit's first 64 sectors still hold it here.
    sequence_ = second.sequence;
    SectorInfo before;
    CAIRN_TRY(SectorFacts(m, RingPrev(second.sector), before));
    const bool chain =
        before.prev_slots != kNotActive &&
        before.sequence == static_cast<uint16_t>(second.sequence - 1);
    bool torn = ahead > sectors_ && chain;
    if (!torn && corrected && best.prev_slots != 0 &&
        (chain || second.prev_slots == 0)) {
      torn = ahead != 1;
      if (!torn) CAIRN_TRY(Unwritten(best.sector, torn));
    }
    if (torn) {
      m.torn = best.sector;
      best = second;
    }
  }
  sequence_ = best.sequence;

  for (uint32_t s = 0; repaired_count != 0 && s < kScratchSectors; ++s) {
    if (repaired_act[s] == std::byte{0} || s == m.torn) continue;
    const uint16_t below =
        static_cast<uint16_t>(sequence_ + 1 - m.info[s].sequence);
    // Only inside the chain: a unit claiming to be the newest cannot be
    // told from garbage that a later activation made look like a successor.
    // With no unit read cleanly the corrected ones are the chain.
    if (!corrected && (below == 0 || below >= sectors_)) {
      m.info[s] = {1, kNotActive};
    } else {
      ++corruption_repaired_;
    }
  }

  const unsigned erased = Bit(UnitState::kErased);
  const bool others_erased = fmt_states == erased && act_states == erased;
  const bool units_erased = others_erased && first_fmt == UnitState::kErased;
  fmt_states |= Bit(first_fmt);
  // Every header unit erased: a blank partition if the rest is erased too.
  // So is one where only the first unit is not: a cut in the first unit
  // that formatting a blank partition writes leaves it torn.
  if (others_erased) {
    const size_t skip = units_erased ? 0 : unit_;
    const size_t size = partition_->size_bytes() - skip;
    const Result<bool> blank = IsErasedAt(skip, size);
    // Bytes that do not read (DATA_LOSS: an ECC word a cut erase left) are
    // not blank.
    if (!blank.status().IsDataLoss()) {
      CAIRN_TRY(AsReadFailure(blank.status()));
      if (*blank) return FormatAll(units_erased ? Clear::kNone : Clear::kWipe);
    }
  }

  // A newer format shows in every sector; one odd unit is a torn write.
  const bool any_valid = fmt_states & Bit(UnitState::kValid);
  const bool any_newer = !any_valid && (fmt_states & Bit(UnitState::kNewer));
  if (any_newer && !format_if_unusable_) {
    return Status::Unimplemented();
  }
  // Activation units do not carry the geometry: without one format unit
  // that checks out with this geometry, the partition is not ours to mount.
  if (!best.any || any_newer || !any_valid) {
    if (!any_valid && !any_magic && !best.any) {
      // Not ours (and not blank): format it only if we were told to.
      if (!format_if_unusable_) return Status::FailedPrecondition();
      return FormatAll(Clear::kWipe);
    }
    if (!any_valid && !format_if_unusable_) {
      return Status::FailedPrecondition();  // ours, but another geometry
    }
    // Told to replace another geometry or a newer format: wipe it.
    if (!any_valid) return FormatAll(Clear::kWipe);
    // Formatted but never activated: nothing was ever committed, so start
    // over. Unless a sector holds slots behind an activation unit that does
    // not read (retention errors beyond one-bit repair, in a young store's
    // only data sector): its data is there, and only a format may erase it.
    if (garbled != kNoLimit) {
      // Format() erases from the sector after `active_` on: this one first.
      active_ = static_cast<uint16_t>((garbled == 0 ? sectors_ : garbled) - 1);
      return Status::DataLoss();
    }
    return FormatAll(Clear::kRecycle);
  }

  // The data sectors: walking back through the ring from the newest, each
  // older one has a lower sequence number, lower by at most the number of
  // ring positions walked since the last one found (a data sector whose
  // header was destroyed used up a number, a sector that went bad before it
  // could be marked did not). A sector whose sequence does not fit is passed
  // over: it was retired earlier, or went bad and could not even be erased
  // (so it still holds an old activation). The walk ends after the most data
  // sectors the ring can hold.
  active_ = best.sector;
  // Normally one sector is free, right after the active one. If that place
  // holds a bad sector and the next usable sector holds data, a sector went
  // bad in place of the free one and every usable sector holds data.
  uint32_t max_data = UsableSectors() - 1;
  if (IsBad(active_ + 1u == sectors_ ? 0u : active_ + 1u)) {
    SectorInfo next;
    CAIRN_TRY(SectorFacts(m, RingNext(active_), next));
    if (next.prev_slots != kNotActive) ++max_data;  // every usable one
  }
  data_sectors_ = 1;
  uint32_t oldest = active_, expect = sequence_, since = 0;
  for (uint32_t s = active_; data_sectors_ + since < max_data;) {
    s = RingPrev(s);
    ++since;
    SectorInfo info;
    CAIRN_TRY(SectorFacts(m, s, info));
    if (info.prev_slots == kNotActive) continue;
    const uint16_t behind = static_cast<uint16_t>(expect - info.sequence);
    if (behind == 0 || behind > since) continue;
    data_sectors_ += since;
    since = 0;
    oldest = s;
    expect = info.sequence;
  }

  // Pass 2: oldest to newest, apply every committed slot. A closed sector's
  // slot count is in the activation unit of the sector after it.
  uint32_t last = static_cast<uint16_t>(expect - 1);
  // How far a sector is ahead of `last` in this ring; 0: no data sector of
  // it (or not ahead).
  const auto ahead_of_last = [&](SectorInfo info) -> uint16_t {
    const uint16_t ahead = static_cast<uint16_t>(info.sequence - last);
    return info.prev_slots == kNotActive ||
                   ahead > static_cast<uint16_t>(sequence_ - last)
               ? 0
               : ahead;
  };
  for (uint32_t s = oldest, d = data_sectors_; d-- > 0; s = RingNext(s)) {
    SectorInfo info;
    bool corrected_unit = false;
    CAIRN_TRY(SectorFacts(m, s, info, &corrected_unit));
    if (ahead_of_last(info) == 0) {
      if (info.prev_slots == kNotActive && info.sequence == 1) {
        // A destroyed data sector: any key whose newest entry is older may
        // have had a newer one here, so none of them reads as OK any more.
        ++corruption_found_;
        for (size_t i = 0; i < key_count_; ++i) index_[i].location |= kLost;
      }
      continue;
    }
    corruption_repaired_ += corrected_unit;
    last = info.sequence;
    uint32_t limit = kNoLimit;
    for (uint32_t t = s; d > 0 && t != active_;) {
      t = RingNext(t);
      SectorInfo next;
      CAIRN_TRY(SectorFacts(m, t, next));
      const uint16_t step = ahead_of_last(next);
      if (step == 0) continue;  // not a data sector of this ring
      if (step == 1) limit = next.prev_slots;
      break;
    }
    CAIRN_TRY(ScanSector(m, s, limit, s == active_, best.tail_rule));
  }
  initialized_ = true;
  return Status::Ok();
}

Status Store::Apply(uint32_t sector, uint32_t slot, size_t value_end,
                    const Entry& e) {
  const SlotHeader& h = e.header;
  if (h.is_tombstone()) {
    const size_t pos = Find(h.key);
    if (pos != capacity_) IndexErase(pos);
    return Status::Ok();
  }
  return IndexSet(h.key, PackLocation(sector, slot, value_end, e.region) |
                             (h.kind == Kind::kLost ? kLost : 0));
}

// Applies slots [first, stop) of `sector`: the members of a committed batch,
// or the copies a reclaim made. In slot order, unless the index runs full:
// then the run's deletes go first, as WriteOps counted them (it writes no
// operation that a later one of the same batch overrides, so the order of
// the rest does not matter).
Status Store::ApplyRun(uint32_t sector, uint32_t first, uint32_t stop,
                       size_t value_end) {
  // Passes: every slot; if the index ran full, only the deletes; then every
  // slot again.
  for (int pass = 0;; ++pass) {
    Status s;
    size_t end = value_end;
    for (uint32_t slot = first; s.ok() && slot < stop; ++slot) {
      std::array<std::byte, 8> raw;
      Entry e;
      s = AsReadFailure(ReadHeaders(sector, slot, raw));
      if (!s.ok()) break;
      if (format::DecodeSlot(raw, e.header) && format::IsSealMarker(e.header)) {
        continue;  // a reclaim's copies may end with one
      }
      // Mount may have corrected a bit of this header: so does this read.
      s = ReadSlot(sector, slot, end, raw, e);
      if (s.IsDataLoss()) s = RepairSlot(sector, slot, end, raw, e);
      if (s.ok() && (pass != 1 || e.header.is_tombstone())) {
        s = Apply(sector, slot, end, e);
      }
      end -= e.region;
    }
    if (pass == 0 ? !s.IsResourceExhausted() : (!s.ok() || pass == 2)) {
      return s;
    }
  }
}

// Applies the pending slot of `st`, if there is one.
Status Store::ConsumePending(ScanState& st) {
  const size_t end = st.pending_end;
  if (end == 0) return Status::Ok();
  st.pending_end = 0;
  const uint32_t slot = st.pending_slot;
  switch (st.pending.header.kind) {
    case Kind::kBatchMember:
      if (st.run_end == 0) {
        st.run_first = slot;
        st.run_end = end;
      }
      return Status::Ok();
    case Kind::kBatchEnd:
      if (st.run_end != 0) {  // the whole run at once, its end included
        const size_t run_end = st.run_end;
        st.run_end = 0;
        return ApplyRun(st.sector, st.run_first, slot + 1, run_end);
      }
      break;
    default:
      break;
  }
  st.run_end = 0;  // a run not ended by kBatchEnd never happened
  return Apply(st.sector, slot, end, st.pending);
}

// A slot that does not decode: tries every single-bit correction of its six
// header bytes (kind bits, then parity, then size and key) whose value
// matches its checksum where that header places it. The checksum does not
// cover the kind, so corrections that differ only there all match: the
// first is kept. Corrections naming different keys or sizes that both
// match (a 16-bit check passes by chance for about one damaged header in
// 1,400) cannot be told apart, and a wrong pick would return another
// entry's bytes as OK: the slot stays damaged.
Status Store::RepairSlot(uint32_t sector, uint32_t slot, size_t value_end,
                         std::span<const std::byte, 8> raw, Entry& e) const {
  static constexpr uint8_t kFirst[3] = {46, 45, 47};
  // The first correction that matches stays in `e`; later ones go to
  // `other`.
  Entry other;
  Entry* into = &e;
  for (int i = 0; i < 48; ++i) {
    const int bit = i < 3 ? kFirst[i] : 47 - i;
    std::array<std::byte, 8> fixed;
    std::copy(raw.begin(), raw.end(), fixed.begin());
    FlipBit(fixed.data(), bit);
    Status s = ReadSlot(sector, slot, value_end, fixed, *into);
    if (s.ok()) s = CheckValue(*into, {}, 0);
    // A read that failed says nothing about this correction.
    if (s.IsUnavailable() || s.IsInternal()) return s;
    if (!s.ok()) continue;
    if (into == &e) {
      into = &other;
    } else if (other.header.key != e.header.key ||
               other.header.size_code != e.header.size_code) {
      return Status::DataLoss();
    }
  }
  return into == &e ? Status::DataLoss() : Status::Ok();
}

// Marks what slot `slot` of a damaged sector still names: with
// `keep_deletes` deletes stay deletes; every other key whose entry is here
// becomes DATA_LOSS. False if `raw` does not decode. An index that runs
// full of such keys only loses some of the markings.
bool Store::ApplyDamaged(uint32_t sector, uint32_t slot,
                         std::span<const std::byte, 8> raw, bool keep_deletes) {
  Entry e;  // no value region
  if (!format::DecodeSlot(raw, e.header)) return false;
  if (!keep_deletes || !e.header.is_tombstone()) e.header.kind = Kind::kLost;
  Apply(sector, slot, 0, e).IgnoreError();
  return true;
}

// Counts the damage found at slot `stop`, which cut off the batch run of
// `st` if there is one: whether its end followed cannot be told, so every
// key it names reads DATA_LOSS.
Status Store::LoseRun(ScanState& st, uint32_t stop) {
  ++corruption_found_;
  for (uint32_t slot = st.run_first; st.run_end != 0 && slot < stop; ++slot) {
    std::array<std::byte, 8> raw;
    CAIRN_TRY(AsReadFailure(ReadHeaders(st.sector, slot, raw)));
    ApplyDamaged(st.sector, slot, raw, false);
  }
  st.run_end = 0;
  return Status::Ok();
}

// Reads the void marker in the decoded header `h` (slot `slot`); false if it
// is none or names a value end outside [end of its slot, `limit`].
bool Store::VoidEnd(const SlotHeader& h, uint32_t slot, size_t limit,
                    size_t& value_end) const {
  if (!format::IsVoidMarker(h)) return false;
  const size_t slots_end = SectorHeader() + (size_t{slot} + 1) * unit_;
  if (h.key < slots_end || h.key > limit ||
      h.key % partition_->alignment() != 0) {
    return false;
  }
  value_end = h.key;
  return true;
}

Status Store::ScanSector(Mount& m, uint32_t sector, uint32_t limit, bool active,
                         bool tail_rule) {
  const std::byte erased = partition_->erased_value();
  ScanState st{sector};
  size_t value_end = partition_->sector_size();
  uint32_t chunk_end = 0;                // the slot after those in m.chunk
  const std::byte* at = m.chunk.data();  // the header of `slot` in it
  bool damaged = false, torn = false, garbage = false;
  bool followed = false;  // non-erased bytes follow the pending slot
  uint32_t slot = 0;

  for (; slot < limit; ++slot, at += unit_) {
    // Slots never reach below the lowest value seen (after damage that is
    // only an upper bound, which is still safe).
    const size_t room_end = value_end;
    const size_t slots_end = SectorHeader() + (size_t{slot} + 1) * unit_;
    if (slots_end > room_end) break;
    if (slot >= chunk_end) {
      size_t n = std::min<size_t>(kMountChunk / unit_, limit - slot);
      n = std::min(n, (room_end - slots_end) / unit_ + 1);
      const std::span<std::byte> dest = std::span(m.chunk).first(n * unit_);
      Status read = ReadHeaders(sector, slot, dest);
      if (!read.ok() && !read.IsUnavailable()) {
        read = ReadHeaders(sector, slot, dest);
      }
      CAIRN_TRY(AsReadFailure(read));
      chunk_end = slot + static_cast<uint32_t>(n);
      at = m.chunk.data();
    }
    const std::span<const std::byte, 8> raw(at, 8);
    if (AllErased(raw.data(), 8, erased)) {
      if (!active && limit != kNoLimit) ++corruption_found_;
      // The active sector takes new slots here only if the rest of the
      // slot area read so far is erased too (it is not on a foreign or
      // damaged image, and a write there would land among garbage).
      const std::byte* next = raw.data();
      for (uint32_t k = slot + 1;
           active && k < chunk_end &&
           SectorHeader() + (size_t{k} + 1) * unit_ <= value_end;
           ++k) {
        next += unit_;
        if (!AllErased(next, 8, erased)) {
          ++corruption_found_;
          garbage = true;
          break;
        }
      }
      break;
    }
    // The last slot of the active sector may be a torn write, which is far
    // likelier than a flipped bit: its bits are never corrected (one of the
    // 48 single-bit corrections of a torn header passes a 16-bit check in
    // about one tear in 1,400, which would commit a torn batch).
    bool may_be_torn = false;
    const auto last_of_active = [&]() -> bool {
      if (!active || slots_end + unit_ > value_end) return active;
      std::array<std::byte, 8> next;
      return !ReadHeaders(sector, slot + 1, next).ok() ||
             AllErased(next.data(), next.size(), erased);
    };
    // The two markers are recognised from one decode of the header; one
    // with a flipped bit is corrected (it has no value to confirm it, but a
    // CRC of its own), as the slots after it would be lost otherwise.
    Entry e;
    SlotHeader& marker = e.header;
    const size_t void_limit = st.pending_end != 0 ? st.pending_end : value_end;
    size_t void_end = 0;
    bool decoded = format::DecodeSlot(raw, marker);
    bool is_void = decoded && VoidEnd(marker, slot, void_limit, void_end);
    bool is_seal = decoded && format::IsSealMarker(marker);
    if (!damaged &&
        (!decoded || (marker.kind == Kind::kLost && marker.size_code != 0 &&
                      !is_void && !is_seal)) &&
        !(may_be_torn = last_of_active())) {
      // Neither an entry nor a marker: the marker (a seal, or a void marker
      // naming a value end up to `void_limit`) one flipped bit of its eight
      // bytes made it from, if any.
      int bit = 0;
      for (; bit < 64; ++bit) {
        std::array<std::byte, 8> fixed;
        std::copy(raw.begin(), raw.end(), fixed.begin());
        FlipBit(fixed.data(), bit);
        if (format::DecodeSlot(fixed, marker) &&
            (format::IsSealMarker(marker) ||
             VoidEnd(marker, slot, void_limit, void_end))) {
          break;
        }
      }
      decoded = bit < 64;
      is_void = decoded && marker.is_void();
      is_seal = decoded && !is_void;
      // A void marker and a delete naming the same value end differ only in
      // the kind bits (and so the parity bit), which no checksum covers: a
      // void marker corrected there (bits 45 to 47) reads as a delete too.
      // It is taken for a void marker only if the write before it fails its
      // checksum (a failed write, which a void marker follows); otherwise
      // the write before it stands, the key the delete would name is lost,
      // and so is a batch run the slot interrupts.
      if (bit >= 45 && bit <= 47 && is_void) {
        const Status before =
            st.pending_end != 0 ? CheckValue(st.pending, {}, 0) : Status::Ok();
        if (before.IsUnavailable() || before.IsInternal()) return before;
        if (before.ok()) {
          CAIRN_TRY(ConsumePending(st));
          CAIRN_TRY(LoseRun(st, slot));
          if (Find(marker.key) != capacity_)
            CAIRN_TRY(IndexSet(marker.key, kLost));
          damaged = true;
          continue;
        }
      }
      if (decoded) {
        ++corruption_found_;
        ++corruption_repaired_;
      }
    }
    if (is_void) {
      // The store wrote this after a failed write: the slot before it (and
      // any batch run it was part of) never happened.
      st.pending_end = 0;
      st.run_end = 0;
      damaged = false;
      value_end = void_end;
      continue;
    }
    if (is_seal) {
      // The entry before it was written to its end.
      CAIRN_TRY(ConsumePending(st));
      st.run_end = 0;  // never inside a batch: one it interrupts is void
      continue;
    }
    if (damaged) {
      // In the active sector nothing closes the slot array, so the first
      // slot that does not decode ends it.
      if (!ApplyDamaged(sector, 0, raw, true) && active) break;
      continue;
    }
    Status read = ReadSlot(sector, slot, value_end, raw, e);
    // A read failed (mount fails) or the power is gone.
    if (!read.ok() && !read.IsDataLoss()) return read;
    bool repaired = read.ok() && e.repaired;
    if (!read.ok() && !(may_be_torn = may_be_torn || last_of_active())) {
      read = RepairSlot(sector, slot, value_end, raw, e);
      if (read.IsUnavailable() || read.IsInternal()) return read;
      repaired = read.ok();
    }
    if (repaired) {
      ++corruption_found_;
      ++corruption_repaired_;
    }
    bool skip = false;
    if (!read.ok()) {
      // A void marker right after it: the store gave up on this slot.
      // Otherwise only the last write can be torn: a damaged slot with
      // slots after it is corruption, and the keys of those slots become
      // DATA_LOSS.
      std::array<std::byte, 8> next;
      const bool room = slots_end + unit_ <= value_end;
      if (room) CAIRN_TRY(ReadHeaders(sector, slot + 1, next));
      skip = room && format::DecodeSlot(next, marker) &&
             VoidEnd(marker, slot + 1, value_end, void_end);
      if (!skip && active && (!room || AllErased(next.data(), 8, erased))) {
        torn = true;  // the pending slot is still checked below
        followed = true;
        break;
      }
    }
    // A later slot exists, so the pending one was not the last write.
    CAIRN_TRY(ConsumePending(st));
    if (skip) continue;
    if (!read.ok()) {
      CAIRN_TRY(LoseRun(st, slot));
      damaged = true;
      ApplyDamaged(sector, 0, raw, true);  // its key, if the header names one
      continue;
    }
    st.pending = e;
    st.pending_slot = slot;
    st.pending_end = value_end;
    value_end -= e.region;
  }
  if (!active) return ConsumePending(st);

  // The active sector: the last slot is applied only if its value checks,
  // and (tail rule) only if its tail byte was programmed, unless a seal
  // could not follow it: every write leaves room for one (WriteOps).
  uint32_t committed = slot;
  if (st.pending_end != 0) {
    Status check = CheckValue(st.pending, {}, 0);
    if (check.ok() && tail_rule && !followed &&
        SectorHeader() + (size_t{st.pending_slot} + 2) * unit_ <= value_end) {
      std::byte tail = static_cast<std::byte>(st.pending.header.crc >> 8);
      Status read;
      if (st.pending.region != 0) {
        read = ReadAt(st.pending.value_address + TailOffset(st.pending),
                      std::span(&tail, 1));
        if (!read.ok() && !read.IsDataLoss()) return read;
      }
      if (!read.ok() || tail == erased) check = Status::DataLoss();
    }
    check = CheckLastCopy(st, check);
    if (!check.ok() && !check.IsDataLoss()) return check;
    if (check.ok()) {
      CAIRN_TRY(ConsumePending(st));
    } else {
      torn = true;
      committed = st.pending_slot;
      value_end = st.pending_end;
    }
  }
  // A torn slot or an unfinished batch stays the last thing in this sector:
  // the next write opens a new sector that records `committed`.
  active_closed_ = torn || st.run_end != 0 || damaged || garbage;
  slots_ = static_cast<uint16_t>(committed);
  value_end_ = static_cast<uint32_t>(value_end);
  return Status::Ok();
}

// The pending slot of `st`, the last of the active sector, whose own checks
// gave `own`. With redundancy, the last copy of a batch's end is held
// against the copy before it (the same write: key, size code and CRC
// match): a last copy that checks out must also equal it byte for byte,
// which a torn copy that passes its CRC-16 by chance does not; a last copy
// that fails while the one before checks out means every program before
// the last completed, so the write stands (reads fall back to that copy).
Status Store::CheckLastCopy(const ScanState& st, Status own) const {
  const Entry& last = st.pending;
  const uint32_t slot = st.pending_slot;
  if (copies_ < 2 || last.header.kind != Kind::kBatchEnd ||
      !(own.ok() || own.IsDataLoss()) || slot == 0) {
    return own;
  }
  std::array<std::byte, 8> raw;
  Entry prev;
  CAIRN_TRY(AsReadFailure(ReadHeaders(st.sector, slot - 1, raw)));
  if (!ReadSlot(st.sector, slot - 1, st.pending_end + last.region, raw, prev)
           .ok() ||
      prev.header.key != last.header.key ||
      prev.header.size_code != last.header.size_code ||
      prev.header.crc != last.header.crc) {
    return own;
  }
  const Status before = CheckValue(prev, {}, 0);
  if (!before.ok()) return before.IsDataLoss() ? own : before;
  if (!own.ok()) {
    ++corruption_found_;
    ++corruption_repaired_;
    return Status::Ok();
  }
  std::array<std::byte, 32> a, b;
  for (size_t pos = 0; pos < last.size; pos += a.size()) {
    const size_t n = std::min(a.size(), last.size - pos);
    CAIRN_TRY(ReadAt(last.value_address + pos, std::span(a).first(n)));
    CAIRN_TRY(ReadAt(prev.value_address + pos, std::span(b).first(n)));
    if (std::memcmp(a.data(), b.data(), n) != 0) return Status::DataLoss();
  }
  return Status::Ok();
}

Status Store::FormatAll(Clear clear, uint32_t first) {
  key_count_ = 0;
  live_bytes_ = 0;
  live_valid_ = true;
  bad_sectors_ = 0;
  worn_out_ = false;
  for (int pass = clear == Clear::kWipe ? 0 : 1; pass < 2; ++pass) {
    for (uint32_t i = 0; i < sectors_; ++i) {
      const uint32_t s = (first + i) % sectors_;
      if (IsBad(s)) continue;
      const Status st = pass == 0 ? partition_->Erase(s, 1)
                        : clear == Clear::kRecycle
                            ? Recycle(s)
                            : WriteFormat(s, clear == Clear::kWipe);
      // INTERNAL after the erase pass: a format unit's read-back failed,
      // which says nothing about the sector (a failed program or erase is
      // DATA_LOSS there): stop, as a power cut would, and mark nothing.
      if (st.IsUnavailable() || (pass == 1 && st.IsInternal())) return st;
      if (!st.ok()) MarkBad(s);
    }
  }
  if (worn_out_ || UsableSectors() < 2) return Status::ResourceExhausted();
  // Sequences go on from the newest the partition held: a sector that
  // could neither be erased nor marked bad keeps its old activation, which
  // must not pass for newer than the new store's.
  active_ = RingNext(sectors_ - 1);
  const uint32_t sequence = sequence_ < 0x7FFFFFFFu ? sequence_ + 1 : 1;
  CAIRN_TRY(WriteActivation(active_, sequence, 0));
  sequence_ = sequence;
  data_sectors_ = 1;
  slots_ = 0;
  value_end_ = static_cast<uint32_t>(partition_->sector_size());
  active_closed_ = false;
  needs_remount_ = false;
  initialized_ = true;
  return Status::Ok();
}

// ----------------------------------------------------------------- writing

Status Store::ProgramVerified(size_t address,
                              std::span<const std::byte> data) const {
  CAIRN_TRY(AsDataLoss(partition_->ProgramPadded(address, data)));
  std::array<std::byte, 64> back;
  for (size_t pos = 0; pos < data.size(); pos += back.size()) {
    const size_t n = std::min(back.size(), data.size() - pos);
    // A read-back that returns DATA_LOSS (ECC: the cells did not take the
    // program) is a failed program; other failures say nothing.
    CAIRN_TRY(ReadAt(address + pos, std::span(back).first(n)));
    if (std::memcmp(back.data(), data.data() + pos, n) != 0) {
      return Status::DataLoss();
    }
  }
  return Status::Ok();
}

inline Status Store::WriteFormat(uint32_t sector, uint32_t erase_count) {
  std::array<std::byte, 8> raw;
  format::EncodeFormatUnit({format::kVersion, erase_count}, Tag(), raw);
  return ProgramVerified(SectorAddress(sector), raw);
}

Status Store::WriteActivation(uint32_t sector, uint32_t sequence,
                              uint16_t prev_slots) {
  std::array<std::byte, 8> raw;
  format::EncodeActivationUnit({sequence, prev_slots}, raw);
  return ProgramVerified(SectorAddress(sector) + unit_, raw);
}

// Reads the erase count in the format unit of `sector` (DATA_LOSS if that
// unit is not valid); `erase_count` changes only when it returns OK.
Status Store::ReadFormat(uint32_t sector, uint32_t& erase_count) const {
  std::array<std::byte, 8> raw;
  CAIRN_TRY(ReadAt(SectorAddress(sector), raw));
  format::FormatUnit fmt;
  if (format::DecodeFormatUnit(raw, Tag(), partition_->erased_value(), fmt) !=
      UnitState::kValid) {
    return Status::DataLoss();
  }
  erase_count = fmt.erase_count;
  return Status::Ok();
}

// Erases `sector` and formats it with its erase count plus one; the active
// sector's count stands in for one that cannot be read.
Status Store::Recycle(uint32_t sector) {
  uint32_t count = 0;  // ReadFormat sets it only when it succeeds
  if (!ReadFormat(sector, count).ok()) ReadFormat(active_, count).IgnoreError();
  CAIRN_TRY(AsDataLoss(partition_->Erase(sector, 1)));
  return WriteFormat(sector, (count + 1) & 0xFFFFFF);
}

// An entry's tail byte is the byte programmed last that means something:
// the last value byte, the check byte of an extended entry's size word, or
// (no value) the high byte of the header's CRC (slot byte 7). Its offset in
// the value region of `e` (which has one):
size_t Store::TailOffset(const Entry& e) const {
  return e.header.is_extended() ? partition_->AlignUp(e.size) + 3 : e.size - 1;
}

// Appends one entry at cursor `t`: header `h` and the value `value` or, with
// `from`, a copy of the value region of entry `from`, byte for byte. The
// header goes into the next slot first, the value into a region reserved
// below the cursor's value end: a power cut before the value is complete
// leaves the value's tail byte erased (the tail rule, see TailOffset).
Status Store::AppendEntry(Cursor& t, const SlotHeader& h,
                          std::span<const std::byte> value, const Entry* from) {
  t.open = false;
  // A delete or a marker comes without a value (BatchOp: a delete has no
  // data), so its region is empty.
  const size_t region =
      from ? from->region
           : format::ValueRegionBytes(value.size(), partition_->alignment());
  if (!Fits(t, unit_ + region)) return Status::ResourceExhausted();
  std::array<std::byte, 8> raw;
  format::EncodeSlot(h, raw);
  CAIRN_TRY(ProgramVerified(SlotAddress(t.sector, t.slots), raw));
  ++t.slots;
  t.value_end -= static_cast<uint32_t>(region);
  const size_t at = SectorAddress(t.sector) + t.value_end;
  std::byte tail = static_cast<std::byte>(h.crc >> 8);  // see TailOffset
  // An empty region (an empty value, or none) leaves nothing to program.
  if (region != 0 && from != nullptr) {
    CAIRN_TRY(CopyValue(*from, at, tail));
  } else if (region != 0) {
    CAIRN_TRY(ProgramVerified(at, value));
    tail = value.back();
    if (h.is_extended()) {
      std::array<std::byte, 4> len;
      format::EncodeExtendedSize(static_cast<uint32_t>(value.size()), len);
      CAIRN_TRY(ProgramVerified(at + partition_->AlignUp(value.size()), len));
      tail = len[3];
    }
  }
  t.open = tail == partition_->erased_value();
  return Status::Ok();
}

// Copies the value region of entry `from` (not empty) to `at`, byte for
// byte, and stores its tail byte in `tail`. Units that do not read
// (DATA_LOSS: an ECC error in a value) are left erased: the copy fails its
// checksum as the value did. A copy that fails its checksum is sealed. Apart
// from AppendEntry so that the copy buffer is on the stack only while a reclaim
// copies.
Status Store::CopyValue(const Entry& from, size_t at, std::byte& tail) const {
  std::array<std::byte, kCopyChunk> chunk;
  const size_t unit = partition_->alignment();
  const size_t step = kCopyChunk / unit * unit;
  // The value's checksum, over the bytes copied (no extra read).
  uint16_t crc = format::EntryCrcSeed(from.header.key, from.header.size_code);
  for (size_t pos = 0; pos < from.region; pos += step) {
    const std::span<std::byte> part =
        std::span(chunk).first(std::min(step, from.region - pos));
    const Status read = ReadAt(from.value_address + pos, part);
    // Unit by unit, so that only the units that do not read stay erased
    // (an extended entry's size word is in the last chunk).
    for (size_t u = 0; read.IsDataLoss() && u < part.size(); u += unit) {
      const std::span<std::byte> one = part.subspan(u, unit);
      const Status alone = ReadAt(from.value_address + pos + u, one);
      if (alone.IsDataLoss()) {
        std::fill(one.begin(), one.end(), partition_->erased_value());
      } else {
        CAIRN_TRY(alone);
      }
    }
    if (!read.IsDataLoss()) CAIRN_TRY(read);
    if (pos < from.size) {
      crc = Crc16::Update(crc,
                          part.first(std::min(part.size(), from.size - pos)));
    }
    CAIRN_TRY(ProgramVerified(at + pos, part));
  }
  // The tail byte lies in the region's last alignment unit, so in the last
  // chunk, which starts at a multiple of `step`. A damaged copy counts as
  // one whose tail byte is erased: a seal follows it, or mount would take
  // it for a torn write if it stayed last, and drop the key.
  tail = crc != from.header.crc ? partition_->erased_value()
                                : chunk[TailOffset(from) % step];
  return Status::Ok();
}

// Ends what was written at cursor `t` before it is committed: if the last
// entry's tail byte is the erased value, a seal marker after it shows that
// the entry is complete (unless no slot fits after it, which AppendEntry
// reports as RESOURCE_EXHAUSTED before it writes anything: mount then takes
// the entry on its checksum alone).
Status Store::SealIfOpen(Cursor& t) {
  if (!t.open) return Status::Ok();
  const Status s =
      AppendEntry(t, format::SealMarker(partition_->erased_value()), {});
  return s.IsResourceExhausted() ? Status::Ok() : s;
}

// After an append at cursor `t` failed (the operation began at slot
// `first`), writes a void marker so that the sector can go on taking
// entries: it cancels the slot before it (a torn value, a garbage header or
// the last member of an unfinished batch) and records where the next value
// region ends. False if the sector has to be closed instead.
bool Store::VoidFailed(Cursor& t, uint32_t first) {
  const uint16_t slots = t.slots;  // kept if no marker is written
  // A program that failed without touching the slot may be tried again:
  // each try reads the slot first.
  for (int tries = 0;; ++tries) {
    std::array<std::byte, 8> back;
    if (!ReadHeaders(t.sector, t.slots, back).ok()) break;
    const bool erased =
        AllErased(back.data(), back.size(), partition_->erased_value());
    if (tries == 0) {
      if (!erased) {
        // A header program failed half way. Only if it was the operation's
        // first slot: otherwise the marker could not follow the operation's
        // last slot directly (and the slot might not even be ours).
        if (t.slots != first) break;
        ++t.slots;
      } else if (t.slots == first) {
        return true;  // nothing of the operation reached flash
      }
    } else if (!erased || tries == 3) {
      break;
    }
    // RESOURCE_EXHAUSTED: no room for the marker.
    const Status s = AppendEntry(t, format::VoidMarker(t.value_end), {});
    if (s.ok()) {
      t.open = false;
      return true;
    }
    if (s.IsUnavailable() || s.IsResourceExhausted()) break;
  }
  t.slots = slots;
  return false;
}

// Copies the entry `item` points at to cursor `t` byte for byte: the
// checksum is never recomputed, so a damaged value stays detectably damaged.
// Only the kind changes (a committed batch member becomes plain), which the
// checksum does not cover; its parity bit is fixed up.
Status Store::CopyEntry(Cursor& t, const IndexEntry& item, uint32_t& location) {
  Entry e;
  uint32_t loc = item.location;
  Status read = ReadEntry(loc, item.key, e);
  // With redundancy, carry a copy whose value checks out, if there is one.
  if (read.ok() && copies_ > 1) {
    read = ReadGoodCopy(loc, item.key, e, {}, 0);
    if (read.IsDataLoss()) read = Status::Ok();
  }
  if (read.IsUnavailable() || read.IsInternal()) return read;
  // Nothing readable to carry: keep the key, as DATA_LOSS, in a lost marker
  // (one slot, no value).
  const bool lost = !read.ok();
  if (lost) {
    e.header = {item.key, 0, Kind::kLost, format::EntryCrcSeed(item.key, 0)};
    e.region = 0;
  } else if (!Fits(t,
                   Footprint(e.region) + (t.sector == active_ ? unit_ : 0u))) {
    // Room for every copy first: a partial set would be left unaccounted. A
    // copy into the active sector counts at once, so like a write it leaves
    // room for one more slot: the tail rule must be able to judge it.
    return Status::ResourceExhausted();
  }
  // A single copy becomes plain (a committed batch member no longer needs
  // its run); several form a run of their own, like a write's copies. The
  // kind is outside the checksum, so the CRC is carried unchanged; set in
  // `e` itself, it is lost only for the marker, whose value region is empty,
  // so TailOffset(e) stays what it was.
  // `location` may alias `item`: it changes only once everything is copied.
  uint32_t last = 0;
  const uint32_t n = lost ? 1u : copies_;
  const Kind end_kind = lost           ? Kind::kLost
                        : copies_ == 1 ? Kind::kPlain
                                       : Kind::kBatchEnd;
  for (uint32_t c = 0; c < n; ++c) {
    e.header.kind = c + 1u == n ? end_kind : Kind::kBatchMember;
    last = PackLocation(t.sector, t.slots, t.value_end, e.region);
    CAIRN_TRY(AppendEntry(t, e.header, {}, &e));
  }
  if (lost) {
    last |= kLost;
    live_valid_ = false;  // it may have counted as more than a bare slot
  }
  location = last;
  return Status::Ok();
}

// True if `bytes` of slots and values fit at cursor `t`.
inline bool Store::Fits(const Cursor& t, size_t bytes) const {
  const size_t slots_end = SectorHeader() + size_t{t.slots} * unit_;
  return t.value_end >= slots_end && t.value_end - slots_end >= bytes;
}

// Makes `sector` a clean free sector: a valid format unit, nothing else.
Status Store::PrepareFree(uint32_t sector) {
  Units u;
  CAIRN_TRY(ReadUnits(sector, u, false));
  // A sector is written only once it is known to be erased: all of it past
  // the format unit, so that neither an interrupted erase nor bytes from
  // another image end up among new slots.
  bool clean =
      u.fmt_state == UnitState::kValid && u.act_state == UnitState::kErased;
  std::array<std::byte, 128> chunk;
  const size_t end = SectorAddress(sector) + partition_->sector_size();
  for (size_t at = SectorAddress(sector) + SectorHeader(); clean && at < end;
       at += chunk.size()) {
    const auto part = std::span(chunk).first(std::min(chunk.size(), end - at));
    // Bytes that do not read (DATA_LOSS: an ECC word a cut program left)
    // are not erased either.
    const Status read = ReadAt(at, part);
    if (!read.IsDataLoss()) CAIRN_TRY(read);
    clean = read.ok() &&
            AllErased(part.data(), part.size(), partition_->erased_value());
  }
  return clean ? Status::Ok() : Recycle(sector);
}

// Records that `sector` failed to erase or program: it is erased and marked
// on flash if it still can be, and the ring skips it from now on.
void Store::MarkBad(uint32_t sector) {
  if (partition_->Erase(sector, 1).ok()) {
    std::array<std::byte, 8> marker;
    marker.fill(~partition_->erased_value());
    partition_->ProgramPadded(SectorAddress(sector), marker).IgnoreError();
  }
  NoteBad(sector);
}

inline void Store::NoteBad(uint32_t sector) {
  if (IsBad(sector)) return;
  if (bad_sectors_ < kMaxBadSectors) {
    bad_[bad_sectors_++] = static_cast<uint16_t>(sector);
  } else {
    worn_out_ = true;
  }
}

// Opens the next sector of the ring. When the ring is full this retires the
// oldest sector: its live entries are copied into the new sector before the
// new sector's activation unit (the commit point) is written, and it is
// erased after. A sector that fails on the way is marked bad and the next
// one is tried. A failure other than RESOURCE_EXHAUSTED may leave RAM out of
// step with flash, so the next call remounts first.
Status Store::ActivateOrRemount() {
  uint32_t retried = sectors_;  // the sector already given a second chance
  Status s;
  for (;;) {
    if (worn_out_ || UsableSectors() < 2) {
      s = Status::ResourceExhausted();
      break;
    }
    if (data_sectors_ >= UsableSectors()) {  // a bad sector took the free one
      s = FreeOldest();
      if (!s.ok()) break;
      continue;
    }
    const uint32_t next = RingNext(active_);
    const bool retire = data_sectors_ + 1u >= UsableSectors();
    const uint32_t victim = RingNext(next);
    const uint32_t sector_end =
        static_cast<uint32_t>(partition_->sector_size());
    Cursor t{next, sector_end, 0};
    s = PrepareFree(next);
    // Live entries of the victim go to the free space of the active sector
    // first (committed at once) and the rest to the new sector (committed by
    // its activation), so a sector's worth of room opens wherever possible.
    if (retire && s.ok()) s = MoveLive(victim, &t);
    if (s.ok()) s = SealIfOpen(t);
    if (s.ok()) s = WriteActivation(next, sequence_ + 1, slots_);
    // RESOURCE_EXHAUSTED: the victim's entries do not fit (a store written
    // with fewer copies); no flash fault, so nothing is condemned.
    if (s.IsUnavailable() || s.IsInternal() || s.IsResourceExhausted()) {
      break;
    }
    if (!s.ok()) {
      // It holds nothing committed. One failure may be a glitch: the next
      // round erases it again; a second failure condemns it.
      if (next != retried) {
        retried = next;
        if (partition_->Erase(next, 1).IsUnavailable()) {
          s = Status::Unavailable();
          break;
        }
      } else {
        MarkBad(next);
      }
      continue;
    }
    // Committed: the index follows the copies (if there are any).
    s = ApplyRun(next, 0, t.slots, sector_end);
    if (!s.ok()) break;
    active_ = next;
    ++sequence_;
    slots_ = t.slots;
    value_end_ = t.value_end;
    active_closed_ = false;
    if (!retire) {
      ++data_sectors_;
      break;
    }
    s = Recycle(victim);
    if (!s.ok() && !s.IsUnavailable()) s = Recycle(victim);
    if (!s.ok() && !s.IsUnavailable()) {
      MarkBad(victim);  // retired: its live entries were copied
      // The ring lost its free sector: make one now, so that every sector
      // holding data stays inside the window a mount reads.
      const Status freed =
          data_sectors_ >= UsableSectors() ? FreeOldest() : Status::Ok();
      // The activation stands; a move that failed part way may have
      // programmed slots RAM does not count, so the next call remounts
      // rather than program them again.
      if (!freed.ok() && !freed.IsResourceExhausted()) needs_remount_ = true;
      s = freed.IsUnavailable() ? freed : Status::Ok();
    }
    break;
  }
  if (!s.ok() && !s.IsResourceExhausted()) needs_remount_ = true;
  return s;
}

// Copies the live entries of sector `from` into the active sector, where
// each counts at once and the index then names the copy; a failed program
// is voided, or else the active sector is closed. With `spill`, an entry
// that does not go there (no room, or a failed program) is copied to cursor
// `spill` instead, and the index follows once that sector is committed;
// without, the seal the last copy may need follows. The first failure ends
// the move.
Status Store::MoveLive(uint32_t from, Cursor* spill) {
  // Open if it holds a slot (see FreeOldest); only the seal reads it.
  Cursor a{active_, value_end_, slots_, slots_ > 0};
  uint32_t unused;
  IndexEntry* const end = index_ + key_count_;
  // One round past the last entry: the seal.
  for (IndexEntry* item = index_; item <= end; ++item) {
    const bool seal = item == end;
    if (seal ? spill != nullptr : LocSector(item->location) != from) continue;
    Status s = Status::ResourceExhausted();
    if (!active_closed_ && from != active_) {  // 2 sectors: `from` is A
      const uint32_t first = a.slots;
      s = seal ? SealIfOpen(a) : CopyEntry(a, *item, item->location);
      if (s.IsDataLoss()) active_closed_ = !VoidFailed(a, first);
      if (s.ok() || s.IsDataLoss()) {
        slots_ = a.slots;
        value_end_ = a.value_end;
      }
    }
    if (spill != nullptr && (s.IsResourceExhausted() || s.IsDataLoss())) {
      s = CopyEntry(*spill, *item, unused);
    }
    CAIRN_TRY(s);
  }
  return Status::Ok();
}

// With no free sector left, moves the oldest data sector's live entries into
// the active sector and recycles it. The copies are newer than the originals,
// so a power cut at any point leaves every key readable.
Status Store::FreeOldest() {
  uint32_t oldest = active_;
  for (uint32_t i = 1; i < data_sectors_; ++i) oldest = RingPrev(oldest);
  // Stuck: no free sector and a closed active one (a long run of failed
  // programs). A mount reopens what it can, so the next call remounts.
  if (active_closed_) needs_remount_ = true;
  // The active sector may end with an entry copied there by a reclaim
  // whose new sector then failed, still unsealed: sealing whenever the
  // sector holds a slot (as MoveLive does without a spill cursor) costs 8
  // bytes on this rare path and makes sure no source of such an entry is
  // erased first. MoveLive writes nothing and reports RESOURCE_EXHAUSTED
  // if the active sector is closed or is the oldest one (the only data
  // sector).
  CAIRN_TRY(MoveLive(oldest, nullptr));
  --data_sectors_;
  // A failed erase or program is tried once more before the sector is
  // condemned, as ActivateOrRemount does.
  Status s = Recycle(oldest);
  if (s.IsDataLoss()) s = Recycle(oldest);
  // INTERNAL: a read failed (see FormatAll); the sector is free either way.
  if (s.IsUnavailable() || s.IsInternal()) return s;
  if (!s.ok()) MarkBad(oldest);
  return Status::Ok();
}

inline size_t Store::Capacity() const {
  const uint32_t data = UsableSectors() - 1;
  return data >= 2 ? (data - 1) * (UsableBytes() - unit_) : UsableBytes();
}

Status Store::EnsureLiveBytes() const {
  if (live_valid_) return Status::Ok();
  size_t live = 0;
  for (size_t i = 0; i < key_count_; ++i) {
    size_t bytes = 0;
    // A read that failed says nothing about the entry: nothing is cached.
    CAIRN_TRY(LiveFootprint(index_[i], bytes));
    live += bytes;
  }
  live_bytes_ = live;
  live_valid_ = true;
  return Status::Ok();
}

// The footprint of the write `item` points at, as the live bytes count it:
// the region its location records or else the one on flash; an entry that
// is lost or does not read back counts as a bare slot.
Status Store::LiveFootprint(const IndexEntry& item, size_t& bytes) const {
  size_t region = 0;
  if (!(item.location & kLost) && !LocRegion(item.location, region)) {
    Entry e;
    const Status read = ReadEntry(item.location, item.key, e);
    if (read.IsUnavailable() || read.IsInternal()) return read;
    region = read.ok() ? e.region : 0;
  }
  bytes = Footprint(region);
  return Status::Ok();
}

Status Store::MakeRoom(size_t bytes) {
  for (uint32_t tries = 0;; ++tries) {
    if (!active_closed_ &&
        SectorHeader() + size_t{slots_} * unit_ + bytes <= value_end_) {
      return Status::Ok();
    }
    if (tries > UsableSectors()) return Status::ResourceExhausted();
    if (!reclaim_on_put_ && data_sectors_ + 1u >= UsableSectors()) {
      return Status::ResourceExhausted();
    }
    CAIRN_TRY(ActivateOrRemount());
  }
}

// True if an operation after `op`, up to `end`, names the same key.
bool Store::Overridden(const BatchOp& op, const BatchOp* end) {
  for (const BatchOp* later = &op + 1; later != end; ++later) {
    if (later->key == op.key) return true;
  }
  return false;
}

// Bytes of the value region that `op` writes (a delete has size 0).
inline size_t Store::OpRegion(const BatchOp& op) const {
  return format::ValueRegionBytes(op.size, partition_->alignment());
}

// Put and Delete (`batch` false: one operation) and Commit.
Status Store::WriteOps(std::span<const BatchOp> ops, bool batch) {
  LockGuard guard(lock_);
  CAIRN_TRY(Prepare());
  if (ops.empty()) return Status::Ok();
  // Put and Delete check their operation before anything is read.
  if (!batch && ops[0].is_delete && Find(ops[0].key) == capacity_) {
    return Status::NotFound();
  }
  if (!batch && !ops[0].is_delete && ops[0].size > max_value_size()) {
    return Status::InvalidArgument();
  }
  // What the operations need: flash bytes, new keys, change in live bytes.
  CAIRN_TRY(EnsureLiveBytes());
  const BatchOp* const end = ops.data() + ops.size();
  size_t total = 0;
  ptrdiff_t keys = key_count_;  // keys once written
  bool adds = false;            // some operation writes a value
  ptrdiff_t delta = 0;
  for (const BatchOp& op : ops) {
    // Put checked its value already; a delete has size 0.
    if (batch && op.size > max_value_size()) {
      return Status::InvalidArgument();
    }
    // A later operation on the same key makes this one moot: it is not
    // written at all (so a batch never names a key twice on flash).
    if (Overridden(op, end)) continue;
    const size_t bytes = Footprint(OpRegion(op));
    total += bytes;
    adds |= !op.is_delete;
    size_t old = 0;
    const size_t pos = Find(op.key);
    if (pos != capacity_) {
      CAIRN_TRY(LiveFootprint(index_[pos], old));  // as EnsureLiveBytes did
      keys -= op.is_delete;
    } else {
      keys += !op.is_delete;
    }
    delta += static_cast<ptrdiff_t>(op.is_delete ? 0 : bytes) -
             static_cast<ptrdiff_t>(old);
  }
  if (total > max_batch_bytes()) return Status::InvalidArgument();
  if (keys > capacity_) {
    return Status::ResourceExhausted();
  }
  // With one data sector the old values stay there until the new ones are
  // written, so an update needs room for both, plus the slot every write
  // leaves free and a seal the compaction may add after the last copy; a
  // write that adds data also leaves room for a delete after it, so that a
  // key can always be deleted.
  const ptrdiff_t room =
      static_cast<ptrdiff_t>(Capacity()) - static_cast<ptrdiff_t>(live_bytes_);
  const ptrdiff_t spare = 2 * unit_;
  const ptrdiff_t tombstone = static_cast<ptrdiff_t>(Footprint(0));
  if (UsableSectors() < 3 ? static_cast<ptrdiff_t>(total) + spare > room ||
                                (adds && delta + tombstone + spare > room)
                          : delta > 0 && delta > room) {
    return Status::ResourceExhausted();
  }

  // Write every slot (every copy of every operation), then a seal if the
  // last one needs it; if a program fails, void what it left (or close the
  // sector) and try again. The write always leaves room for one more slot
  // after it, so that mount can hold a torn last entry to the tail rule.
  const Kind end_kind = !batch && copies_ == 1 ? Kind::kPlain : Kind::kBatchEnd;
  uint16_t first_slot = 0;
  uint32_t first_end = 0;  // where the first value region ends
  // The failure of an attempt whose slots could not be voided: they may
  // read as a complete write at the next mount.
  Status unvoided = Status::Ok();
  Status s;
  for (int attempt = 0;; ++attempt) {
    s = MakeRoom(total + unit_);
    if (!s.ok()) break;
    Cursor t{active_, value_end_, slots_};
    first_slot = slots_;
    first_end = value_end_;
    for (const BatchOp& op : ops) {
      if (!s.ok()) break;
      if (Overridden(op, end)) continue;
      const std::span<const std::byte> value(op.data, op.size);
      SlotHeader h;
      h.key = op.key;
      h.size_code =
          op.is_delete ? format::kSizeTombstone : format::SizeCodeFor(op.size);
      h.crc = Crc16::Update(format::EntryCrcSeed(h.key, h.size_code), value);
      for (uint32_t c = 0; c < copies_ && s.ok(); ++c) {
        // Several copies of one write form a run too, so that a failure
        // between them cancels all of them.
        const bool last = &op + 1 == end && c + 1u == copies_;
        h.kind = last ? end_kind : Kind::kBatchMember;
        s = AppendEntry(t, h, value);
      }
    }
    if (s.ok()) s = SealIfOpen(t);
    // The active sector takes what was written; whatever a failed write
    // left behind is voided first, or else the sector takes no more
    // appends. After a second failure in the same sector the last attempt
    // goes to a fresh one if one is free: the free space may hold bytes no
    // read can tell from erased ones on flash that forbids programming twice
    // (a foreign image, or a program that failed there after all).
    const bool voided =
        s.ok() || (!s.IsUnavailable() && VoidFailed(t, first_slot));
    if (voided) {
      slots_ = t.slots;
      value_end_ = t.value_end;
    }
    if (s.ok()) break;
    if (!voided && unvoided.ok()) unvoided = s;
    const bool free_sector = data_sectors_ < UsableSectors();
    if (!voided || (attempt == 1 && free_sector)) active_closed_ = true;
    if (s.IsUnavailable() || attempt == 2) break;
  }
  if (!s.ok()) {
    // An attempt that could not be voided may count after all: RAM must
    // learn from flash which outcome stands, as after a power cut (a
    // remount asked for earlier in this call stands too).
    if (!unvoided.ok()) needs_remount_ = true;
    return unvoided.ok() ? s : unvoided;
  }

  // Everything is on flash: update the index, deletes first so that a batch
  // which frees entries can add as many. The index points at the last copy.
  for (int pass = 0; pass < 2; ++pass) {
    uint32_t slot = first_slot;
    size_t value_end = first_end;
    for (const BatchOp& op : ops) {
      if (Overridden(op, end)) continue;
      const size_t region = OpRegion(op);
      slot += copies_;
      value_end -= copies_ * region;
      if (op.is_delete == (pass == 0)) {
        if (op.is_delete) {
          const size_t pos = Find(op.key);
          if (pos != capacity_) IndexErase(pos);
        } else {
          CAIRN_TRY(IndexSet(op.key, PackLocation(active_, slot - 1,
                                                  value_end + region, region)));
        }
      }
    }
  }
  // Never below zero, should an entry read differently than when it was
  // counted (a bit flipped in between).
  const ptrdiff_t live = static_cast<ptrdiff_t>(live_bytes_) + delta;
  live_bytes_ = live > 0 ? static_cast<size_t>(live) : 0;
  return Status::Ok();
}

// --------------------------------------------------------------- public API

Status Store::Prepare() {
  if (needs_remount_) {
    // A mount that fails (a read error, say) is tried again next time.
    // It reads what the last mount read: damage found then is not new.
    const uint16_t found = corruption_found_;
    const uint16_t repaired = corruption_repaired_;
    const Status s = DoInit();
    corruption_found_ = found;
    corruption_repaired_ = repaired;
    needs_remount_ = !s.ok();
    return s;
  }
  return initialized_ ? Status::Ok() : Status::FailedPrecondition();
}

Status Store::Put(Key key, std::span<const std::byte> value) {
  // A size past 32 bits stays too large.
  const BatchOp op{
      key, value.data(),
      static_cast<uint32_t>(std::min<size_t>(value.size(), UINT32_MAX)), false};
  return WriteOps(std::span(&op, 1), false);
}

Status Store::Delete(Key key) {
  const BatchOp op{key, nullptr, 0, true};
  return WriteOps(std::span(&op, 1), false);
}

Status Store::Commit(const BatchBase& batch) {
  return WriteOps(batch.ops(), true);
}

StatusWithSize Store::Get(Key key, std::span<std::byte> out,
                          size_t offset) const {
  return Read(key, out, offset, false);
}

Status Store::GetExact(Key key, std::span<std::byte> out) const {
  const StatusWithSize r = Get(key, out);
  // A value of another size is too large (RESOURCE_EXHAUSTED) or too small.
  return r.status().IsResourceExhausted() || (r.ok() && r.size() != out.size())
             ? Status::InvalidArgument()
             : r.status();
}

StatusWithSize Store::ValueSize(Key key) const {
  return Read(key, {}, 0, true);
}

// Get(), or with `size_only` ValueSize(): reads the newest entry of `key`
// from its location and then, unless `size_only`, its value.
StatusWithSize Store::Read(Key key, std::span<std::byte> out, size_t offset,
                           bool size_only) const {
  LockGuard guard(lock_);
  if (!initialized_) return StatusWithSize(Status::FailedPrecondition(), 0);
  const size_t pos = Find(key);
  if (pos == capacity_) return StatusWithSize(Status::NotFound(), 0);
  uint32_t loc = index_[pos].location;
  Entry e;
  Status s = ReadEntry(loc, key, e);
  if (s.ok() && size_only) return StatusWithSize(e.size);
  if (s.ok() && offset > e.size) s = Status::OutOfRange();
  const size_t rest = s.ok() ? e.size - offset : 0;
  const size_t n = std::min(rest, out.size());
  if (s.ok()) s = ReadGoodCopy(loc, key, e, out.first(n), offset);
  if (!s.ok()) {
    // A checksum mismatch that a read of the value found.
    if (s.IsDataLoss() && !size_only) ++corruption_found_;
    // A read that fails is reported like a damaged entry.
    return StatusWithSize(s.IsInternal() ? Status::DataLoss() : s, 0);
  }
  if (n < rest) return StatusWithSize(Status::ResourceExhausted(), rest);
  return StatusWithSize(n);
}

bool Store::Contains(Key key) const {
  LockGuard guard(lock_);
  return Find(key) != capacity_;
}

Status Store::ReclaimOne() { return Reclaim(false); }

Status Store::FullMaintenance() { return Reclaim(true); }

// ReclaimOne(), or with `full` FullMaintenance().
Status Store::Reclaim(bool full) {
  LockGuard guard(lock_);
  CAIRN_TRY(Prepare());
  for (size_t i = 0; full && i < key_count_; ++i) {
    const IndexEntry& item = index_[i];
    Entry e;
    uint32_t loc = item.location;
    Status s = ReadEntry(loc, item.key, e);
    if (s.ok()) s = ReadGoodCopy(loc, item.key, e, {}, 0);
    if (s.IsUnavailable()) return s;
    if (!s.ok()) ++corruption_found_;
  }
  // With a full ring, every data sector is retired once (its live entries
  // copied forward). With a free sector beyond the one kept free (as the
  // first round finds the ring) nothing is reclaimed: freeing a sector
  // inside the ring that mount reads would leave, should its erase be cut,
  // garbage that mount takes for data.
  for (uint32_t i = 0; i < (full ? data_sectors_ : 1u); ++i) {
    if (i == 0 && data_sectors_ + 1u < UsableSectors()) break;
    CAIRN_TRY(ActivateOrRemount());
  }
  return Status::Ok();
}

Stats Store::GetStats() const {
  LockGuard guard(lock_);
  Stats st;
  st.live_keys = key_count_;
  st.max_keys = capacity_;
  st.sector_count = sectors_;
  st.bad_sectors = bad_sectors_;
  st.corruption_found = corruption_found_;
  st.corruption_repaired = corruption_repaired_;
  if (!initialized_) return st;
  EnsureLiveBytes().IgnoreError();
  const size_t slots_end = SectorHeader() + size_t{slots_} * unit_;
  const size_t active_free =
      active_closed_ || value_end_ < slots_end ? 0 : value_end_ - slots_end;
  const size_t usable = UsableBytes();
  const size_t written = data_sectors_ * usable - active_free;
  st.live_bytes = live_bytes_;
  st.free_bytes = active_free + (UsableSectors() - data_sectors_) * usable;
  st.reclaimable_bytes = written > live_bytes_ ? written - live_bytes_ : 0;
  return st;
}

Status Store::ReadEraseCounts(std::span<uint32_t> out) const {
  LockGuard guard(lock_);
  if (out.size() < partition_->sector_count()) {
    return Status::InvalidArgument();
  }
  for (uint32_t s = 0; s < partition_->sector_count(); ++s) {
    uint32_t count = 0;
    Status st = ReadFormat(s, count);
    if (!st.ok() && !st.IsDataLoss()) return st;  // a read failed
    out[s] = count;  // still 0 if the format unit is not valid
  }
  return Status::Ok();
}

Store::Item Store::iterator::operator*() const {
  LockGuard guard(store_->lock_);
  const size_t at = std::min<size_t>(position_, store_->key_count_);
  return Item(store_, at < store_->key_count_ ? store_->index_[at].key : 0);
}

size_t Store::iterator::Clamp() const {
  LockGuard guard(store_->lock_);
  return std::min<size_t>(position_, store_->key_count_);
}

}  // namespace cairn::kvs
