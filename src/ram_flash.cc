#include "cairn/flash/ram_flash.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace cairn {
namespace {

// Number of sectors the caller's buffers can actually back; 0 (an invalid
// geometry, so every call fails) when a buffer is too small.
size_t UsableSectors(size_t sector_size, size_t sector_count, size_t alignment,
                     bool ecc, std::span<std::byte> storage,
                     std::span<uint8_t> programmed,
                     std::span<uint32_t> sector_erases,
                     std::span<uint32_t> lifetime_erases) {
  if (sector_size == 0 || sector_count == 0 || alignment == 0) return 0;
  if (sector_size > std::numeric_limits<size_t>::max() / sector_count) {
    return 0;
  }
  const size_t bytes = sector_size * sector_count;
  const size_t units = bytes / alignment;
  // With ECC the map of unreadable units follows the map of programmed ones.
  const size_t map_bytes = (units + 7) / 8 * (ecc ? 2 : 1);
  if (storage.size() < bytes || programmed.size() < map_bytes ||
      sector_erases.size() < sector_count ||
      lifetime_erases.size() < sector_count) {
    return 0;
  }
  return sector_count;
}

// Bits of a byte that are in the programmed (non-erased) state.
inline uint8_t ProgrammedBits(std::byte value, std::byte erased) {
  return static_cast<uint8_t>(value ^ erased);
}

// True if programming `data` over `old` only moves bits away from the
// erased state (8 bytes at a time: this runs on every simulated program).
bool BitRuleHolds(const std::byte* old, const std::byte* data, size_t n,
                  uint8_t erased) {
  const uint64_t e = erased * 0x0101010101010101ULL;
  uint64_t violation = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t o, d;
    std::memcpy(&o, old + i, 8);
    std::memcpy(&d, data + i, 8);
    // Bits programmed in `old` but asked to be erased in `data`.
    violation |= (o ^ e) & ~(d ^ e);
  }
  for (; i < n; ++i) {
    violation |=
        static_cast<uint8_t>(ProgrammedBits(old[i], std::byte{erased}) &
                             ~ProgrammedBits(data[i], std::byte{erased}));
  }
  return violation == 0;
}

}  // namespace

RamFlashBase::RamFlashBase(size_t sector_size, size_t sector_count,
                           const Config& config, std::span<std::byte> storage,
                           std::span<uint8_t> programmed,
                           std::span<uint32_t> sector_erases,
                           std::span<uint32_t> lifetime_erases)
    : FlashMemory(
          sector_size,
          UsableSectors(sector_size, sector_count, config.alignment, config.ecc,
                        storage, programmed, sector_erases, lifetime_erases),
          config.alignment, config.erased_value),
      config_(config) {
  const size_t sectors = this->sector_count();
  if (sectors != 0) {
    storage_ = storage.first(sector_size * sectors);
    const size_t map_bytes = (storage_.size() / config.alignment + 7) / 8;
    programmed_ = programmed.first(map_bytes);
    if (config.ecc) unreadable_ = programmed.subspan(map_bytes, map_bytes);
    sector_erases_ = sector_erases.first(sectors);
    lifetime_erases_ = lifetime_erases.first(sectors);
  }
  std::fill(sector_erases_.begin(), sector_erases_.end(), 0u);
  std::fill(lifetime_erases_.begin(), lifetime_erases_.end(), 0u);
  Reseed(config.seed);
  Reset();
  if (config.memory_mapped && !config.ecc && !storage_.empty()) {
    set_mapped_base(storage_.data());
  }
}

// ---------------------------------------------------------------- counters

void RamFlashBase::ResetCounters() {
  counters_ = FlashCounters();
  operations_ = 0;
  std::fill(sector_erases_.begin(), sector_erases_.end(), 0u);
}

uint32_t RamFlashBase::sector_erases(size_t sector) const {
  return sector < sector_erases_.size() ? sector_erases_[sector] : 0;
}

uint32_t RamFlashBase::lifetime_erases(size_t sector) const {
  return sector < lifetime_erases_.size() ? lifetime_erases_[sector] : 0;
}

// --------------------------------------------------------- fault injection

void RamFlashBase::FailNext(FlashOp op, uint32_t n, Status status) {
  const size_t index = static_cast<size_t>(op);
  if (index >= fail_.size()) return;
  fail_[index].armed = true;
  fail_[index].remaining = n;
  fail_[index].status = status.ok() ? Status::Internal() : status;
}

void RamFlashBase::CutPowerAt(uint64_t n, TearMode mode) {
  cut_armed_ = true;
  cut_remaining_ = n;
  cut_mode_ = mode;
}

void RamFlashBase::ClearFaults() {
  for (PendingFailure& f : fail_) f = PendingFailure();
  cut_armed_ = false;
  cut_remaining_ = 0;
}

void RamFlashBase::FlipBit(size_t address, unsigned bit) {
  if (address >= storage_.size()) return;
  storage_[address] ^= std::byte{static_cast<uint8_t>(1u << (bit & 7u))};
}

void RamFlashBase::SetEndurance(size_t sector, uint32_t erases, WearMode mode) {
  endurance_ = erases;
  endurance_sector_ = sector;
  endurance_all_ = false;
  wear_mode_ = mode;
}

void RamFlashBase::SetEnduranceAll(uint32_t erases, WearMode mode) {
  endurance_ = erases;
  endurance_all_ = true;
  wear_mode_ = mode;
}

void RamFlashBase::Reset() {
  std::fill(storage_.begin(), storage_.end(), config_.erased_value);
  std::fill(programmed_.begin(), programmed_.end(), uint8_t{0});
  std::fill(unreadable_.begin(), unreadable_.end(), uint8_t{0});
}

// ----------------------------------------------------------------- helpers

uint64_t RamFlashBase::NextRandom() {
  // xorshift64*
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1DULL;
}

RamFlashBase::Verdict RamFlashBase::Intercept(FlashOp op, size_t bytes,
                                              Status& status) {
  if (power_cut_) {
    status = Status::Unavailable();
    return Verdict::kFail;
  }
  ++operations_;
  switch (op) {
    case FlashOp::kRead:
      ++counters_.read_calls;
      counters_.bytes_read += bytes;
      break;
    case FlashOp::kProgram:
      ++counters_.program_calls;
      counters_.bytes_programmed += bytes;
      break;
    case FlashOp::kErase:
      ++counters_.erase_calls;
      break;
  }

  bool fail = false;
  PendingFailure& pending = fail_[static_cast<size_t>(op)];
  if (pending.armed) {
    if (pending.remaining == 0) {
      pending.armed = false;
      fail = true;
      status = pending.status;
    } else {
      --pending.remaining;
    }
  }
  if (cut_armed_) {
    if (cut_remaining_ == 0) {
      cut_armed_ = false;
      power_cut_ = true;
      status = Status::Unavailable();
      return Verdict::kCut;
    }
    --cut_remaining_;
  }
  return fail ? Verdict::kFail : Verdict::kProceed;
}

bool RamFlashBase::Worn(size_t sector) const {
  return endurance_ != 0 && (endurance_all_ || sector == endurance_sector_) &&
         lifetime_erases_[sector] >= endurance_;
}

// The bitmap helpers work a bitmap byte at a time: `mask` selects the units
// of [unit, end) that live in the byte holding `unit`.
namespace {
inline uint8_t UnitMask(size_t unit, size_t end, size_t& next) {
  const unsigned lo = static_cast<unsigned>(unit & 7u);
  const size_t span = std::min<size_t>(8u - lo, end - unit);
  next = unit + span;
  return static_cast<uint8_t>(((1u << span) - 1u) << lo);
}

bool AnySet(std::span<const uint8_t> map, size_t first_unit, size_t end_unit) {
  size_t next = 0;
  for (size_t u = first_unit; u < end_unit; u = next) {
    if (map[u >> 3] & UnitMask(u, end_unit, next)) return true;
  }
  return false;
}

void SetUnits(std::span<uint8_t> map, size_t first_unit, size_t end_unit,
              bool value) {
  size_t next = 0;
  for (size_t u = first_unit; u < end_unit; u = next) {
    const uint8_t mask = UnitMask(u, end_unit, next);
    if (value) {
      map[u >> 3] |= mask;
    } else {
      map[u >> 3] &= static_cast<uint8_t>(~mask);
    }
  }
}
}  // namespace

bool RamFlashBase::AnyProgrammed(size_t first_unit, size_t end_unit) const {
  return AnySet(programmed_, first_unit, end_unit);
}

void RamFlashBase::MarkProgrammed(size_t first_unit, size_t end_unit,
                                  bool value) {
  SetUnits(programmed_, first_unit, end_unit, value);
}

void RamFlashBase::MarkByContent(size_t begin, size_t end) {
  const size_t unit = alignment();
  const size_t first = begin / unit;
  const size_t last = (end + unit - 1) / unit;
  const std::byte erased = config_.erased_value;
  for (size_t u = first; u < last; ++u) {
    const std::byte* p = &storage_[u * unit];
    const bool dirty =
        std::any_of(p, p + unit, [erased](std::byte b) { return b != erased; });
    MarkProgrammed(u, u + 1, dirty);
  }
}

std::byte RamFlashBase::Target(std::byte old, std::byte data) const {
  if (config_.eeprom) return data;
  // NOR: the programmed bits of the result are the union of both.
  const std::byte e = config_.erased_value;
  return e ^ ((old ^ e) | (data ^ e));
}

void RamFlashBase::TearProgram(size_t address,
                               std::span<const std::byte> data) {
  std::byte* dst = &storage_[address];
  if (cut_mode_ == TearMode::kPrefix) {
    const size_t keep = static_cast<size_t>(NextRandom() % data.size());
    for (size_t i = 0; i < keep; ++i) dst[i] = Target(dst[i], data[i]);
    MarkUnreadable(address + keep);  // the unit programmed when power went
  } else {
    uint64_t bits = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      if ((i & 7u) == 0) bits = NextRandom();
      const std::byte target = Target(dst[i], data[i]);
      const std::byte mask{static_cast<uint8_t>(bits >> ((i & 7u) * 8))};
      dst[i] ^= (dst[i] ^ target) & mask;
      if (dst[i] != target) MarkUnreadable(address + i);
    }
  }
  if (!config_.eeprom) MarkByContent(address, address + data.size());
}

void RamFlashBase::TearErase(size_t begin, size_t end) {
  const std::byte erased = config_.erased_value;
  if (cut_mode_ == TearMode::kPrefix) {
    const size_t keep = static_cast<size_t>(NextRandom() % (end - begin));
    std::fill(&storage_[begin], &storage_[begin] + keep, erased);
    // The unit the erase stopped in, unless it reads erased all the same.
    const size_t unit = alignment();
    const std::byte* at = &storage_[(begin + keep) / unit * unit];
    if (std::any_of(at, at + unit, [&](std::byte b) { return b != erased; })) {
      MarkUnreadable(begin + keep);
    }
  } else {
    uint64_t bits = 0;
    for (size_t i = begin; i < end; ++i) {
      if (((i - begin) & 7u) == 0) bits = NextRandom();
      const std::byte mask{
          static_cast<uint8_t>(bits >> (((i - begin) & 7u) * 8))};
      // Bits in `mask` move to the erased state.
      storage_[i] = (storage_[i] & ~mask) | (erased & mask);
      if (storage_[i] != erased) MarkUnreadable(i);
    }
  }
  MarkByContent(begin, end);
}

void RamFlashBase::MarkUnreadable(size_t address) {
  const size_t unit = address / alignment();
  if (config_.ecc) SetUnits(unreadable_, unit, unit + 1, true);
}

void RamFlashBase::ApplyBadBits(size_t address,
                                std::span<const std::byte> data) {
  // Writes `data`, but in worn sectors a random quarter of the bit changes
  // (at least one, if there is any) do not take.
  const size_t sector_size = this->sector_size();
  bool dropped_any = false;
  size_t first_change = data.size();
  uint8_t first_change_bits = 0;
  size_t i = 0;
  while (i < data.size()) {
    const size_t sector = (address + i) / sector_size;
    const size_t sector_end = (sector + 1) * sector_size - address;
    const size_t stop = std::min(data.size(), sector_end);
    const bool worn = Worn(sector);
    for (; i < stop; ++i) {
      std::byte& cell = storage_[address + i];
      const std::byte target = Target(cell, data[i]);
      if (!worn) {
        cell = target;
        continue;
      }
      const uint8_t change = static_cast<uint8_t>(cell ^ target);
      const uint64_t r = NextRandom();
      const uint8_t drop = static_cast<uint8_t>(change & (r >> 8) & (r >> 40));
      if (drop != 0) {
        dropped_any = true;
        MarkUnreadable(address + i);  // with ECC: its code no longer matches
      }
      if (change != 0 && first_change == data.size()) {
        first_change = i;
        first_change_bits = change;
      }
      cell ^= std::byte{static_cast<uint8_t>(change & ~drop)};
    }
  }
  if (!dropped_any && first_change != data.size()) {
    // Undo the lowest changed bit of the first changed byte.
    const uint8_t low =
        static_cast<uint8_t>(first_change_bits & (~first_change_bits + 1u));
    storage_[address + first_change] ^= std::byte{low};
    MarkUnreadable(address + first_change);
  }
}

// --------------------------------------------------------------- the chip

Status RamFlashBase::DoRead(size_t address, std::span<std::byte> out) {
  Status status;
  if (Intercept(FlashOp::kRead, out.size(), status) != Verdict::kProceed) {
    return status;
  }
  if (config_.ecc &&
      AnySet(unreadable_, AlignmentUnits(address, alignment()),
             (address + out.size() + alignment() - 1) / alignment())) {
    return Status::DataLoss();
  }
  std::memcpy(out.data(), &storage_[address], out.size());
  return Status::Ok();
}

Status RamFlashBase::DoProgram(size_t address,
                               std::span<const std::byte> data) {
  Status status;
  switch (Intercept(FlashOp::kProgram, data.size(), status)) {
    case Verdict::kProceed:
      break;
    case Verdict::kFail:
      return status;
    case Verdict::kCut:
      TearProgram(address, data);
      return status;
  }

  const size_t unit = alignment();
  const size_t first_unit = AlignmentUnits(address, unit);
  const size_t end_unit = AlignmentUnits(address + data.size(), unit);
  std::byte* dst = &storage_[address];
  if (!config_.eeprom) {
    if (!BitRuleHolds(dst, data.data(), data.size(),
                      static_cast<uint8_t>(config_.erased_value))) {
      return Status::FailedPrecondition();
    }
    if (!config_.allow_reprogram && AnyProgrammed(first_unit, end_unit)) {
      return Status::FailedPrecondition();
    }
  }

  bool worn = false;
  if (endurance_ != 0) {
    const size_t last_sector = (address + data.size() - 1) / sector_size();
    for (size_t s = address / sector_size(); s <= last_sector; ++s) {
      worn = worn || Worn(s);
    }
  }
  if (worn && wear_mode_ == WearMode::kFail) return Status::Internal();

  if (worn) {
    ApplyBadBits(address, data);
  } else {
    // Valid NOR programs and EEPROM writes both leave exactly `data`.
    std::memcpy(dst, data.data(), data.size());
  }
  if (!config_.eeprom) MarkProgrammed(first_unit, end_unit, true);
  return Status::Ok();
}

Status RamFlashBase::DoErase(size_t first_sector, size_t count) {
  Status status;
  const size_t begin = first_sector * sector_size();
  const size_t end = begin + count * sector_size();
  switch (Intercept(FlashOp::kErase, 0, status)) {
    case Verdict::kProceed:
      break;
    case Verdict::kFail:
      return status;
    case Verdict::kCut:
      TearErase(begin, end);
      return status;
  }
  std::fill(&storage_[begin], &storage_[begin] + (end - begin),
            config_.erased_value);
  MarkProgrammed(AlignmentUnits(begin, alignment()),
                 AlignmentUnits(end, alignment()), false);
  if (config_.ecc) {
    SetUnits(unreadable_, AlignmentUnits(begin, alignment()),
             AlignmentUnits(end, alignment()), false);
  }
  for (size_t s = first_sector; s < first_sector + count; ++s) {
    ++sector_erases_[s];
    ++lifetime_erases_[s];
  }
  counters_.sector_erases += count;
  return Status::Ok();
}

}  // namespace cairn
