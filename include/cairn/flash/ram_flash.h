// RamFlash: a faithful NOR flash simulator in RAM (no heap), with counters
// and deterministic fault injection. It is what every test, benchmark and
// power-cut sweep of cairn runs on.
//
// Rules it enforces (unless configured as EEPROM):
//  - a program can only move bits from the erased state to the programmed
//    state (0xFF-erased flash: only clear bits); asking for anything else
//    fails with FAILED_PRECONDITION and changes nothing;
//  - an alignment unit that was programmed cannot be programmed again before
//    the next erase (FAILED_PRECONDITION), unless `allow_reprogram` is set.
//
// Fault injection (all seeded by Config::seed, so runs repeat exactly):
//  - FailNext(op, n, status): the n-th next call of that kind (0 = the very
//    next one) fails with `status` and changes nothing;
//  - CutPowerAt(n, mode): the n-th next operation (reads, programs and erases
//    all count; 0 = the very next) is interrupted. An interrupted program
//    leaves a random-length prefix of its bytes (kPrefix) or a random subset
//    of its bit changes (kRandomBits); an interrupted erase leaves a random
//    prefix of the range erased (kPrefix) or random bits set toward erased
//    in every byte (kRandomBits); an interrupted read returns UNAVAILABLE.
//    From then on every call returns UNAVAILABLE until PowerOn();
//    With Config::ecc, the alignment units a cut left half changed (the
//    one a prefix tear stopped in, for an erase only if it does not read
//    erased; with random bits, every unit where a change did not complete)
//    then read DATA_LOSS until erased, as do the units where a program
//    into worn cells (WearMode::kBadBits) left bits unprogrammed;
//  - FlipBit(address, bit): toggles one stored bit (a retention error);
//  - SetEndurance(sector, k, mode): after the sector has been erased k times
//    in its life, programs there fail with INTERNAL (kFail) or succeed but
//    leave random bits unprogrammed (kBadBits).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/flash/flash_memory.h"
#include "cairn/status.h"

namespace cairn {

enum class FlashOp : uint8_t { kRead, kProgram, kErase };
enum class TearMode : uint8_t { kPrefix, kRandomBits };
enum class WearMode : uint8_t { kFail, kBadBits };

struct FlashCounters {
  uint64_t read_calls = 0;
  uint64_t bytes_read = 0;
  uint64_t program_calls = 0;
  uint64_t bytes_programmed = 0;
  uint64_t erase_calls = 0;    // calls to Erase()
  uint64_t sector_erases = 0;  // sectors erased (a call may erase several)
};

class RamFlashBase : public FlashMemory {
 public:
  struct Config {
    size_t alignment = 4;
    std::byte erased_value{0xFF};
    // Allow programming a unit twice between erases (some NOR parts do).
    bool allow_reprogram = false;
    // Byte-writable EEPROM: any program overwrites, no bit rule; Erase()
    // fills with the erased value.
    bool eeprom = false;
    // Expose the storage as a memory-mapped region (never with `ecc`).
    bool memory_mapped = true;
    // Flash with an error-correcting code per alignment unit (as on many
    // MCUs' internal flash): a cut program or erase leaves the units it was
    // changing with a code that does not match, and a read that touches one
    // fails with DATA_LOSS until an erase of that sector completes.
    bool ecc = false;
    uint64_t seed = 1;
  };

  // Storage and bookkeeping are caller-owned: `storage` holds
  // sector_size * sector_count bytes, `programmed` one bit per byte
  // (storage.size() / 8 bytes, rounded up; it needs one bit per alignment
  // unit, two with `ecc`, so an ECC flash needs an alignment of 2 or more
  // with that size), and the two erase arrays one entry per sector. The memory
  // starts erased. If a buffer is too small (or the geometry overflows), the
  // flash reports zero sectors and every call fails with INVALID_ARGUMENT
  // instead of touching memory.
  RamFlashBase(size_t sector_size, size_t sector_count, const Config& config,
               std::span<std::byte> storage, std::span<uint8_t> programmed,
               std::span<uint32_t> sector_erases,
               std::span<uint32_t> lifetime_erases);

  // ---- counters ----
  // Calls and bytes count every call that reached the powered chip, whatever
  // its outcome (bytes are the requested lengths). sector_erases and the
  // per-sector counts only count sectors whose erase completed.
  const FlashCounters& counters() const { return counters_; }
  // Zeroes the counters, operation_count() and the per-sector erase counts
  // (not the lifetime counts that drive wear-out).
  void ResetCounters();
  uint32_t sector_erases(size_t sector) const;
  uint32_t lifetime_erases(size_t sector) const;
  // Operations performed so far (every Read/Program/Erase that reached the
  // powered simulator; calls refused while power is cut do not count); a
  // sweep runs a workload once to learn how many cut points it has.
  uint64_t operation_count() const { return operations_; }

  // ---- fault injection ----
  // One pending failure per kind; a new call replaces it. An OK `status` is
  // treated as INTERNAL. If a cut and a failure hit the same call, the cut
  // wins.
  void FailNext(FlashOp op, uint32_t n, Status status);
  void CutPowerAt(uint64_t n, TearMode mode);
  // Cancels pending failures and cuts (not wear-out).
  void ClearFaults();
  bool power_is_cut() const { return power_cut_; }
  void PowerOn() { power_cut_ = false; }
  // Out-of-range addresses are ignored; `bit` is taken modulo 8.
  void FlipBit(size_t address, unsigned bit);
  // `erases` = 0 turns wear-out off. The latest SetEndurance* call wins.
  void SetEndurance(size_t sector, uint32_t erases, WearMode mode);
  void SetEnduranceAll(uint32_t erases, WearMode mode);

  // ---- raw access for tests and tools (no rules, no counters) ----
  std::span<std::byte> bytes() { return storage_; }
  std::span<const std::byte> bytes() const { return storage_; }
  // Erases everything and forgets which units were programmed.
  void Reset();
  // Reseeds the generator used for tears and bad bits.
  void Reseed(uint64_t seed) { rng_ = seed == 0 ? 1 : seed; }

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override;
  Status DoProgram(size_t address, std::span<const std::byte> data) override;
  Status DoErase(size_t first_sector, size_t count) override;

 private:
  enum class Verdict : uint8_t { kProceed, kFail, kCut };
  // Counts the operation and applies pending failures and cuts. kFail sets
  // `status`; kCut means power was cut by this very operation.
  Verdict Intercept(FlashOp op, size_t bytes, Status& status);
  uint64_t NextRandom();
  bool Worn(size_t sector) const;
  bool AnyProgrammed(size_t first_unit, size_t end_unit) const;
  void MarkProgrammed(size_t first_unit, size_t end_unit, bool value);
  // Marks every unit touching [begin, end) programmed iff it no longer reads
  // all-erased (used after tears, where the chip's state is what is left).
  void MarkByContent(size_t begin, size_t end);
  // The value a program of `data` over `old` leaves on a perfect chip.
  std::byte Target(std::byte old, std::byte data) const;
  void TearProgram(size_t address, std::span<const std::byte> data);
  void TearErase(size_t begin, size_t end);
  void ApplyBadBits(size_t address, std::span<const std::byte> data);
  // ECC: the unit holding `address` no longer reads.
  void MarkUnreadable(size_t address);

  Config config_;
  std::span<std::byte> storage_;
  std::span<uint8_t> programmed_;
  std::span<uint32_t> sector_erases_;
  std::span<uint32_t> lifetime_erases_;
  FlashCounters counters_;
  uint64_t operations_ = 0;
  uint64_t rng_ = 1;

  struct PendingFailure {
    bool armed = false;
    uint32_t remaining = 0;
    Status status;
  };
  std::array<PendingFailure, 3> fail_{};  // indexed by FlashOp
  bool cut_armed_ = false;
  uint64_t cut_remaining_ = 0;
  TearMode cut_mode_ = TearMode::kPrefix;
  bool power_cut_ = false;

  // Wear-out: `endurance_` applies to every sector (SetEnduranceAll) or to
  // `endurance_sector_` only (SetEndurance; the latest call wins).
  uint32_t endurance_ = 0;  // 0: never wears out
  size_t endurance_sector_ = 0;
  bool endurance_all_ = false;
  WearMode wear_mode_ = WearMode::kFail;

  // ECC: one bit per unit, set while the unit does not read (empty
  // without ECC).
  std::span<uint8_t> unreadable_;
};

namespace internal {
template <size_t kSectorSize, size_t kSectorCount>
struct RamFlashStorage {
  static constexpr size_t kBytes = kSectorSize * kSectorCount;
  std::array<std::byte, kBytes> storage_;
  std::array<uint8_t, (kBytes + 7) / 8> programmed_;
  std::array<uint32_t, kSectorCount> sector_erases_;
  std::array<uint32_t, kSectorCount> lifetime_erases_;
};
}  // namespace internal

// RamFlash with its storage inside the object (no heap): kSectorSize bytes
// times kSectorCount sectors. The storage base is constructed first.
template <size_t kSectorSize, size_t kSectorCount>
class RamFlash : private internal::RamFlashStorage<kSectorSize, kSectorCount>,
                 public RamFlashBase {
  using Storage = internal::RamFlashStorage<kSectorSize, kSectorCount>;

 public:
  explicit RamFlash(const Config& config = Config())
      : RamFlashBase(kSectorSize, kSectorCount, config, Storage::storage_,
                     Storage::programmed_, Storage::sector_erases_,
                     Storage::lifetime_erases_) {}
};

}  // namespace cairn
