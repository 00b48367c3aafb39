// The key-value store: 32-bit keys, byte-string values, on a FlashPartition.
//
// Log-structured and power-loss safe: an entry is appended to the active
// sector and becomes visible only once fully written; sectors are used in a
// strict ring so every sector is erased within one of every other; reclaiming
// the oldest sector copies its live entries forward and erases it. RAM is
// fixed at construction: 8 bytes of index per key (caller-owned) plus a few
// dozen bytes of state. See docs/api.md and docs/format.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/batch.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key.h"
#include "cairn/lock.h"
#include "cairn/status.h"
#include "cairn/status_with_size.h"

namespace cairn::kvs {

// One index slot in RAM: the key and where its newest entry lives.
struct IndexEntry {
  Key key;
  uint32_t location;
};

struct Options {
  // Put/Delete/Commit may reclaim a sector (copy + erase) when they need
  // room. When false they return RESOURCE_EXHAUSTED instead and the caller
  // runs ReclaimOne() at a convenient time.
  bool reclaim_on_put = true;
  // Init() erases and formats a partition that holds something else (not
  // cairn, or a newer format) instead of refusing it.
  bool format_if_unusable = false;
  // Optional lock taken around every call (nullptr: none).
  Lock* lock = nullptr;
  // Redundancy: every entry is written this many times (1 to kMaxCopies),
  // as consecutive slots. A read whose newest copy fails its checksum falls
  // back to an older copy of the same write, and a reclaim carries a good
  // copy forward; each copy costs its full footprint. Init() returns
  // INVALID_ARGUMENT for any other count.
  uint8_t copies = 1;
};

inline constexpr uint8_t kMaxCopies = 3;

struct Stats {
  size_t live_bytes = 0;         // flash bytes of the newest entries
  size_t reclaimable_bytes = 0;  // written bytes a reclaim would free
  size_t free_bytes = 0;         // never-written bytes ready for entries
  size_t live_keys = 0;
  size_t max_keys = 0;
  size_t sector_count = 0;
  size_t bad_sectors = 0;
  uint32_t corruption_found = 0;     // entries or sectors found damaged
  uint32_t corruption_repaired = 0;  // of those, repaired (mount, or a
                                     // read served by another copy)
};

class Store {
 public:
  Store(FlashPartition& partition, std::span<IndexEntry> index,
        const Options& options = Options());
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Mounts the partition: formats an erased one, repairs what a power cut
  // left behind, refuses a foreign partition (FAILED_PRECONDITION) or a
  // newer format (UNIMPLEMENTED) unless Options::format_if_unusable.
  // INVALID_ARGUMENT: the geometry cannot hold a store.
  // RESOURCE_EXHAUSTED: the flash holds more keys than the index can.
  Status Init();
  // Erases the whole partition and starts an empty store.
  Status Format();
  bool initialized() const { return initialized_; }

  // Writes `value` under `key` (replacing any older value) atomically.
  // INVALID_ARGUMENT: value larger than max_value_size().
  // RESOURCE_EXHAUSTED: no room (index or flash); nothing changed.
  Status Put(Key key, std::span<const std::byte> value);
  // Writes the bytes of a trivially-copyable value.
  template <typename T>
  requires(std::is_trivially_copyable_v<T> &&
           !std::is_convertible_v<const T&, std::span<const std::byte>>) Status
      Put(Key key, const T& value) {
    return Put(key, std::as_bytes(std::span<const T, 1>(&value, 1)));
  }

  // Reads the value of `key` from byte `offset` into `out`. The size is the
  // number of bytes copied. RESOURCE_EXHAUSTED (size = the bytes needed:
  // value size - offset) when `out` is too small for the rest of the value:
  // `out` then holds its first bytes. NOT_FOUND, DATA_LOSS (checksum mismatch),
  // OUT_OF_RANGE (offset past the end).
  StatusWithSize Get(Key key, std::span<std::byte> out,
                     size_t offset = 0) const;
  // Reads a trivially-copyable value; INVALID_ARGUMENT if the stored size
  // differs from sizeof(T).
  template <typename T>
  requires std::is_trivially_copyable_v<T> Status Get(Key key, T* value)
  const {
    return GetExact(key, std::as_writable_bytes(std::span<T, 1>(value, 1)));
  }
  StatusWithSize ValueSize(Key key) const;
  // NOT_FOUND if the key has no value.
  Status Delete(Key key);
  bool Contains(Key key) const;

  // Applies every operation of `batch` or none of them. INVALID_ARGUMENT if
  // an operation is invalid or the batch cannot fit one sector (see
  // max_batch_bytes()); RESOURCE_EXHAUSTED if the store has no room.
  Status Commit(const BatchBase& batch);

  // Reclaims the oldest sector now (copies its live entries forward and
  // erases it), so later writes need not. For idle time.
  Status ReclaimOne();
  // Verifies every live entry; once the ring is full (no free sector beyond
  // the one always kept free), also reclaims every data sector once.
  Status FullMaintenance();

  Stats GetStats() const;
  // Erase counts of every sector, as recorded on flash (out.size() must be at
  // least the sector count; 0 where no valid format unit is left). INTERNAL
  // if a read fails.
  Status ReadEraseCounts(std::span<uint32_t> out) const;

  size_t size() const { return key_count_; }
  size_t max_size() const { return capacity_; }
  bool empty() const { return key_count_ == 0; }
  // Largest value one Put accepts, and the largest total flash footprint of
  // a batch (sum of entry footprints, see docs/api.md).
  size_t max_value_size() const;
  size_t max_batch_bytes() const;
  const FlashPartition& partition() const { return *partition_; }

  // Range-for over the live keys (in key order). Iterating while another
  // thread writes may skip or repeat keys but never reads out of bounds.
  class Item {
   public:
    Key key() const { return key_; }
    StatusWithSize Get(std::span<std::byte> out, size_t offset = 0) const {
      return store_->Get(key_, out, offset);
    }
    StatusWithSize ValueSize() const { return store_->ValueSize(key_); }

   private:
    friend class Store;
    Item(const Store* store, Key key) : store_(store), key_(key) {}
    const Store* store_;
    Key key_;
  };
  class iterator {
   public:
    Item operator*() const;
    iterator& operator++() {
      ++position_;
      return *this;
    }
    bool operator==(const iterator& other) const {
      return Clamp() == other.Clamp();
    }

   private:
    friend class Store;
    iterator(const Store* store, size_t position)
        : store_(store), position_(position) {}
    size_t Clamp() const;
    const Store* store_;
    size_t position_;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, SIZE_MAX); }

 private:
  struct Entry;
  struct Mount;
  struct Cursor;
  struct Units;
  struct ScanState;
  struct SectorInfo {
    uint16_t sequence;    // low 16 bits
    uint16_t prev_slots;  // 0xFFFF: no valid activation unit
  };
  static constexpr uint32_t kMaxBadSectors = 2;
  static constexpr uint32_t kNoLimit = 0xFFFFFFFFu;

  Status GetExact(Key key, std::span<std::byte> out) const;
  Status ReadAt(size_t address, std::span<std::byte> out) const;
  Result<bool> IsErasedAt(size_t address, size_t size) const;
  Status Prepare();

  // Geometry.
  Status CheckGeometry();
  format::GeometryTag Tag() const;
  size_t SectorAddress(uint32_t sector) const;
  size_t SectorHeader() const;
  size_t SlotAddress(uint32_t sector, uint32_t slot) const;
  bool IsBad(uint32_t sector) const;
  uint32_t RingNext(uint32_t sector) const;
  uint32_t RingPrev(uint32_t sector) const;
  uint32_t PackLocation(uint32_t sector, uint32_t slot, size_t value_end,
                        size_t region) const;
  uint32_t LocSector(uint32_t loc) const;
  uint32_t LocSlot(uint32_t loc) const;
  size_t LocValue(uint32_t loc) const;
  bool LocRegion(uint32_t loc, size_t& region) const;
  size_t UsableBytes() const;
  uint32_t UsableSectors() const;
  size_t Capacity() const;

  // Index (sorted by key).
  size_t LowerBound(Key key) const;
  size_t Find(Key key) const;  // position, or index_.size() if absent
  Status IndexSet(Key key, uint32_t location);
  void IndexErase(size_t position);

  // Reading.
  Status ReadHeaders(uint32_t sector, uint32_t slot,
                     std::span<std::byte> out) const;
  Status ReadSlot(uint32_t sector, uint32_t slot, size_t value_end,
                  std::span<const std::byte, 8> raw, Entry& entry) const;
  Status ReadEntry(uint32_t location, Key key, Entry& entry) const;
  StatusWithSize Read(Key key, std::span<std::byte> out, size_t offset,
                      bool size_only) const;
  Status ReadGoodCopy(uint32_t& location, Key key, Entry& entry,
                      std::span<std::byte> out, size_t offset) const;
  size_t Footprint(size_t region) const;
  Status CheckValue(const Entry& entry, std::span<std::byte> out,
                    size_t offset) const;
  Status ReadFormat(uint32_t sector, uint32_t& erase_count) const;
  static SectorInfo Facts(const Units& u);
  Status ReadUnits(uint32_t sector, Units& u, bool repair_activation) const;
  void DecodeUnits(Units& u) const;

  // Mounting.
  Status DoInit();
  // How FormatAll treats each sector: format it as it is (erased flash),
  // recycle it (erase, keep its erase count), or wipe every sector first and
  // then format them all (content that is not this store's: a cut part way
  // leaves nothing of it that could pass for data).
  enum class Clear : uint8_t { kNone, kRecycle, kWipe };
  Status FormatAll(Clear clear, uint32_t first = 0);
  Status SectorFacts(Mount& m, uint32_t sector, SectorInfo& info,
                     bool* corrected = nullptr) const;
  Status Unwritten(uint32_t sector, bool& unwritten) const;
  Status ScanSector(Mount& m, uint32_t sector, uint32_t limit, bool active,
                    bool tail_rule);
  Status ApplyRun(uint32_t sector, uint32_t first, uint32_t stop,
                  size_t value_end);
  Status RepairSlot(uint32_t sector, uint32_t slot, size_t value_end,
                    std::span<const std::byte, 8> raw, Entry& e) const;
  bool ApplyDamaged(uint32_t sector, uint32_t slot,
                    std::span<const std::byte, 8> raw, bool keep_deletes);
  Status CheckLastCopy(const ScanState& st, Status own) const;
  Status LoseRun(ScanState& st, uint32_t stop);
  Status ConsumePending(ScanState& st);
  bool VoidEnd(const format::SlotHeader& h, uint32_t slot, size_t limit,
               size_t& value_end) const;
  Status Apply(uint32_t sector, uint32_t slot, size_t value_end,
               const Entry& e);

  // Writing.
  static bool Overridden(const BatchOp& op, const BatchOp* end);
  size_t OpRegion(const BatchOp& op) const;
  Status WriteOps(std::span<const BatchOp> ops, bool batch);
  Status MakeRoom(size_t bytes);
  Status Reclaim(bool full);
  Status ActivateOrRemount();
  Status PrepareFree(uint32_t sector);
  Status FreeOldest();
  Status MoveLive(uint32_t from, Cursor* spill);
  void MarkBad(uint32_t sector);
  void NoteBad(uint32_t sector);
  bool Fits(const Cursor& t, size_t bytes) const;
  size_t TailOffset(const Entry& e) const;
  Status SealIfOpen(Cursor& t);
  Status AppendEntry(Cursor& t, const format::SlotHeader& h,
                     std::span<const std::byte> value,
                     const Entry* from = nullptr);
  Status CopyValue(const Entry& from, size_t at, std::byte& tail) const;
  Status CopyEntry(Cursor& t, const IndexEntry& item, uint32_t& location);
  bool VoidFailed(Cursor& t, uint32_t first);
  Status ProgramVerified(size_t address, std::span<const std::byte> data) const;
  Status WriteFormat(uint32_t sector, uint32_t erase_count);
  Status WriteActivation(uint32_t sector, uint32_t sequence,
                         uint16_t prev_slots);
  Status Recycle(uint32_t sector);
  Status EnsureLiveBytes() const;
  Status LiveFootprint(const IndexEntry& item, size_t& bytes) const;

  // Field order packs the object: 52 bytes on a 32-bit target.
  FlashPartition* partition_;
  IndexEntry* index_;  // sorted by key
  Lock* lock_;
  uint32_t sequence_ = 0;   // sequence number of the active sector
  uint32_t value_end_ = 0;  // lowest value byte used in the active sector
  mutable uint32_t live_bytes_ = 0;  // footprint of the newest entries
  uint16_t capacity_;                // index entries
  uint16_t key_count_ = 0;
  uint16_t sectors_ = 0;
  uint16_t unit_ = 0;    // a header field: 8 bytes rounded up to alignment
  uint16_t active_ = 0;  // the sector being filled
  uint16_t data_sectors_ = 0;  // sectors holding entries, active included
  uint16_t slots_ = 0;         // committed slots of the active sector
  uint16_t bad_[kMaxBadSectors] = {};
  mutable uint16_t corruption_found_ = 0;
  mutable uint16_t corruption_repaired_ = 0;
  uint8_t bad_sectors_ = 0;
  uint8_t copies_;  // Options::copies
  // A location is [lost][region][sector][slot][value end] (PackLocation).
  uint8_t slot_bits_ = 0;
  uint8_t value_bits_ = 0;
  uint8_t region_shift_ = 0;  // lowest bit of the region field
  bool reclaim_on_put_ : 1;
  bool format_if_unusable_ : 1;
  mutable bool live_valid_ : 1 = false;
  bool initialized_ : 1 = false;
  bool active_closed_ : 1 = false;  // no more appends to the active sector
  bool needs_remount_ : 1 = false;  // a write failed: rebuild RAM from flash
  bool worn_out_ : 1 = false;       // too many bad sectors: reads only
};

namespace internal {
template <size_t kMaxKeys>
struct IndexStorage {
  std::array<IndexEntry, kMaxKeys> index_storage_;
};
}  // namespace internal

// A Store with its index inside the object: room for kMaxKeys keys.
template <size_t kMaxKeys>
class KeyValueStore : private internal::IndexStorage<kMaxKeys>, public Store {
 public:
  explicit KeyValueStore(FlashPartition& partition,
                         const Options& options = Options())
      : Store(partition, this->index_storage_, options) {}
};

}  // namespace cairn::kvs
