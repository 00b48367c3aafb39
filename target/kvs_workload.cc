// Key-value store workload with power cuts, run on a RamFlash in target RAM.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/batch.h"
#include "cairn/kvs/key_value_store.h"
#include "semihosting.h"
#include "stack.h"
#include "workloads.h"

namespace target {
namespace {

using cairn::FlashPartition;
using cairn::RamFlashBase;
using cairn::Status;
using cairn::TearMode;
namespace kvs = cairn::kvs;

constexpr size_t kKeys = kModelKeys;
constexpr size_t kMaxValue = kMaxValueBytes;
constexpr size_t kIndexSlots = kModelKeys + 8;
constexpr size_t kBatchOps = 4;

kvs::Key KeyOf(size_t k) {
  return static_cast<kvs::Key>(0x10000u + k * 0x9E3779B1u);
}

struct Value {
  bool present = false;
  uint8_t size = 0;
  std::byte bytes[kMaxValue] = {};

  bool operator==(const Value& other) const {
    if (present != other.present) return false;
    if (!present) return true;
    return size == other.size && std::memcmp(bytes, other.bytes, size) == 0;
  }
};

// A write that was interrupted by a power cut: after the next mount every
// key it touched must show the old value, or every key the new one.
struct Pending {
  size_t count = 0;
  size_t key[kBatchOps] = {};
  Value value[kBatchOps];
};

struct Model {
  Value values[kKeys];
  Pending pending;
};

Model model;

struct Totals {
  uint32_t boots = 0;
  uint32_t cuts = 0;
  uint32_t cuts_in_mount = 0;
  uint32_t torn_resolved_new = 0;
  uint32_t torn_resolved_old = 0;
  uint32_t ops = 0;
  uint32_t puts = 0;
  uint32_t deletes = 0;
  uint32_t commits = 0;
  uint32_t gets = 0;
  uint32_t reclaims = 0;
  // The power cut that ended the previous boot, for failure reports.
  bool last_cut_in_mount = false;
  uint64_t last_cut_at = 0;
  bool last_cut_random_bits = false;
};

void ArmCut(RamFlashBase& flash, Rng& rng, uint32_t range, Totals& totals,
            bool in_mount) {
  totals.last_cut_in_mount = in_mount;
  totals.last_cut_at = rng.Below(range);
  totals.last_cut_random_bits = rng.Below(2) != 0;
  flash.CutPowerAt(totals.last_cut_at, totals.last_cut_random_bits
                                           ? TearMode::kRandomBits
                                           : TearMode::kPrefix);
}

void Fail(const char* what, size_t k, Status status) {
  out() << "FAIL kvs: " << what << " (key #" << k << ", status " << status.str()
        << ")\n";
}

// What the store holds for key #k right now.
Status ReadValue(const kvs::Store& store, size_t k, Value& value) {
  value = Value();
  cairn::StatusWithSize result = Measured(stack_figures().get, [&] {
    return store.Get(KeyOf(k), std::span<std::byte>(value.bytes));
  });
  if (result.status().IsNotFound()) return Status::Ok();
  if (!result.ok()) return result.status();
  value.present = true;
  value.size = static_cast<uint8_t>(result.size());
  return Status::Ok();
}

// Prints how `actual` differs from `want` when both have the same size.
void PrintDifference(const Value& actual, const Value& want, const char* what) {
  if (!actual.present || !want.present || actual.size != want.size) return;
  size_t differ = 0;
  size_t first = want.size;
  for (size_t b = 0; b < want.size; ++b) {
    if (actual.bytes[b] != want.bytes[b]) {
      ++differ;
      if (first == want.size) first = b;
    }
  }
  if (differ == 0) return;
  out() << "    " << differ << " bytes differ from the " << what
        << " value; first at byte " << first << ": read "
        << unsigned{static_cast<uint8_t>(actual.bytes[first])} << ", written "
        << unsigned{static_cast<uint8_t>(want.bytes[first])} << "\n";
}

// Resolves an interrupted write and checks every key and the iteration.
bool CheckStore(const kvs::Store& store, Totals& totals) {
  Pending& pending = model.pending;
  if (pending.count > 0) {
    bool all_new = true;
    bool all_old = true;
    Value actual[kBatchOps];
    for (size_t i = 0; i < pending.count; ++i) {
      if (Status s = ReadValue(store, pending.key[i], actual[i]); !s.ok()) {
        Fail("reading a key of an interrupted write", pending.key[i], s);
        return false;
      }
      all_new = all_new && actual[i] == pending.value[i];
      all_old = all_old && actual[i] == model.values[pending.key[i]];
    }
    if (!all_new && !all_old) {
      Fail("an interrupted write is neither all old nor all new",
           pending.key[0], Status::DataLoss());
      for (size_t i = 0; i < pending.count; ++i) {
        const Value& before = model.values[pending.key[i]];
        const Value& after = pending.value[i];
        out() << "  key #" << pending.key[i] << " ("
              << Hex{KeyOf(pending.key[i])} << "): old "
              << (before.present ? int{before.size} : -1) << " B, new "
              << (after.present ? int{after.size} : -1) << " B, read "
              << (actual[i].present ? int{actual[i].size} : -1) << " B = "
              << (actual[i] == before  ? "old"
                  : actual[i] == after ? "new"
                                       : "neither")
              << " (-1: absent)\n";
        PrintDifference(actual[i], after, "new");
      }
      return false;
    }
    if (all_new) {
      for (size_t i = 0; i < pending.count; ++i) {
        model.values[pending.key[i]] = pending.value[i];
      }
      ++totals.torn_resolved_new;
    } else {
      ++totals.torn_resolved_old;
    }
    pending.count = 0;
  }

  size_t expected_keys = 0;
  for (size_t k = 0; k < kKeys; ++k) {
    Value actual;
    if (Status s = ReadValue(store, k, actual); !s.ok()) {
      Fail("Get after mount", k, s);
      return false;
    }
    if (!(actual == model.values[k])) {
      Fail("value differs from the model after mount", k, Status::DataLoss());
      const Value& want = model.values[k];
      out() << "  key #" << k << " (" << Hex{KeyOf(k)} << "): expected "
            << (want.present ? int{want.size} : -1) << " B, read "
            << (actual.present ? int{actual.size} : -1) << " B (-1: absent)\n";
      PrintDifference(actual, want, "expected");
      return false;
    }
    if (model.values[k].present) ++expected_keys;
  }
  if (store.size() != expected_keys) {
    Fail("size() differs from the model", store.size(), Status::Internal());
    return false;
  }
  size_t seen = 0;
  for (const auto& item : store) {
    bool known = false;
    for (size_t k = 0; k < kKeys; ++k) {
      if (KeyOf(k) == item.key()) known = model.values[k].present;
    }
    if (!known) {
      Fail("iteration yields a key the model lacks", seen, Status::Internal());
      return false;
    }
    ++seen;
  }
  if (seen != expected_keys) {
    Fail("iteration count differs from the model", seen, Status::Internal());
    return false;
  }
  return true;
}

void RandomValue(Rng& rng, Value& value) {
  value.present = true;
  value.size = static_cast<uint8_t>(1 + rng.Below(kMaxValue));
  for (size_t i = 0; i < value.size; ++i) {
    value.bytes[i] = static_cast<std::byte>(rng.Next() >> 56);
  }
}

enum class BootEnd { kDone, kPowerCut, kFailed };

// One power-on: mount, check, then run operations until the budget is spent
// or the armed power cut strikes.
BootEnd Boot(const KvsConfig& config, RamFlashBase& flash, Rng& rng,
             Totals& totals, bool last) {
  ++totals.boots;
  FlashPartition partition(flash);
  kvs::KeyValueStore<kIndexSlots> store(partition);

  // One boot in eight loses power during the mount itself (the mount may
  // be finishing an interrupted reclaim or erase).
  const bool cut_in_mount = !last && rng.Below(8) == 0;
  if (cut_in_mount) ArmCut(flash, rng, 48, totals, true);
  Status init = Measured(stack_figures().init, [&] { return store.Init(); });
  if (flash.power_is_cut()) {
    ++totals.cuts;
    ++totals.cuts_in_mount;
    return BootEnd::kPowerCut;
  }
  flash.ClearFaults();
  if (!init.ok()) {
    Fail("Init", 0, init);
    return BootEnd::kFailed;
  }
  if (!CheckStore(store, totals)) return BootEnd::kFailed;
  if (last) return BootEnd::kDone;

  // Most boots end with a power cut at a random flash operation.
  if (rng.Below(6) != 0) {
    ArmCut(flash, rng, config.ops_per_boot * 6, totals, false);
  }

  Pending& pending = model.pending;
  for (uint32_t op = 0; op < config.ops_per_boot; ++op) {
    ++totals.ops;
    const uint32_t choice = rng.Below(100);
    Status status;
    pending.count = 0;
    if (choice < 50) {  // Put
      ++totals.puts;
      pending.count = 1;
      pending.key[0] = rng.Below(kKeys);
      RandomValue(rng, pending.value[0]);
      const Value& v = pending.value[0];
      status = Measured(stack_figures().put, [&] {
        return store.Put(KeyOf(pending.key[0]),
                         std::span<const std::byte>(v.bytes, v.size));
      });
    } else if (choice < 60) {  // Delete
      ++totals.deletes;
      pending.count = 1;
      pending.key[0] = rng.Below(kKeys);
      pending.value[0] = Value();
      status = Measured(stack_figures().del,
                        [&] { return store.Delete(KeyOf(pending.key[0])); });
      if (status.IsNotFound() && !model.values[pending.key[0]].present) {
        status = Status::Ok();
      }
    } else if (choice < 75) {  // Commit of 2..4 distinct keys
      ++totals.commits;
      kvs::Batch<kBatchOps> batch;
      pending.count = 2 + rng.Below(kBatchOps - 1);
      const size_t first = rng.Below(kKeys);
      const size_t stride = 1 + rng.Below(kKeys / kBatchOps - 1);
      for (size_t i = 0; i < pending.count; ++i) {
        pending.key[i] = (first + i * stride) % kKeys;
        Value& v = pending.value[i];
        if (rng.Below(4) == 0) {
          v = Value();
          // Deleting an absent key in a batch: keep the batch valid by
          // only deleting keys the model holds.
          if (!model.values[pending.key[i]].present) RandomValue(rng, v);
        } else {
          RandomValue(rng, v);
        }
        Status added =
            v.present ? batch.Put(KeyOf(pending.key[i]),
                                  std::span<const std::byte>(v.bytes, v.size))
                      : batch.Delete(KeyOf(pending.key[i]));
        if (!added.ok()) {
          Fail("Batch add", pending.key[i], added);
          return BootEnd::kFailed;
        }
      }
      status =
          Measured(stack_figures().commit, [&] { return store.Commit(batch); });
    } else if (choice < 95) {  // Get and compare
      ++totals.gets;
      const size_t k = rng.Below(kKeys);
      Value actual;
      status = ReadValue(store, k, actual);
      if (status.ok() && !(actual == model.values[k])) {
        Fail("Get returned a value the model does not hold", k,
             Status::DataLoss());
        return BootEnd::kFailed;
      }
    } else {  // Reclaim a sector at an idle moment
      ++totals.reclaims;
      status =
          Measured(stack_figures().reclaim, [&] { return store.ReclaimOne(); });
      if (!status.ok() && !flash.power_is_cut() && !status.IsDataLoss() &&
          !status.IsUnavailable()) {
        status = Status::Ok();  // nothing to reclaim is not an error
      }
    }

    if (status.ok()) {
      for (size_t i = 0; i < pending.count; ++i) {
        model.values[pending.key[i]] = pending.value[i];
      }
      pending.count = 0;
    }
    if (flash.power_is_cut()) {
      // An acknowledged write is already in the model; an unacknowledged
      // one stays pending until the next mount shows which way it went.
      ++totals.cuts;
      return BootEnd::kPowerCut;
    }
    if (!status.ok()) {
      Fail("operation failed without a power cut",
           pending.count > 0 ? pending.key[0] : 0, status);
      return BootEnd::kFailed;
    }
  }
  flash.ClearFaults();
  return BootEnd::kDone;
}

}  // namespace

bool RunKvsWorkload(const KvsConfig& config) {
  out() << "kvs[" << config.name << "]: " << config.sector_count << " x "
        << config.sector_size << " B sectors, alignment " << config.alignment
        << ", " << config.boots << " boots x " << config.ops_per_boot
        << " ops\n";
  if (config.sector_size * config.sector_count > kArenaBytes ||
      config.sector_count > kArenaSectors) {
    out() << "FAIL kvs: geometry larger than the test's flash buffers\n";
    return false;
  }
  RamFlashBase::Config flash_config;
  flash_config.alignment = config.alignment;
  flash_config.seed = config.seed;
  const size_t bytes = config.sector_size * config.sector_count;
  FlashArena& arena = flash_arena();
  RamFlashBase flash(config.sector_size, config.sector_count, flash_config,
                     arena.storage.first(bytes),
                     arena.programmed.first((bytes + 7) / 8),
                     arena.sector_erases.first(config.sector_count),
                     arena.lifetime_erases.first(config.sector_count));
  if (flash.sector_count() != config.sector_count) {
    out() << "FAIL kvs: RamFlash refused the geometry\n";
    return false;
  }

  model = Model();
  Rng rng(config.seed);
  Totals totals;
  bool previous_cut = false;
  for (uint32_t boot = 0; boot <= config.boots; ++boot) {
    flash.PowerOn();
    const uint64_t operations = flash.operation_count();
    const BootEnd end = Boot(config, flash, rng, totals, boot == config.boots);
    if (end == BootEnd::kFailed) {
      out() << "FAIL kvs[" << config.name << "]: seed "
            << Hex{static_cast<uint32_t>(config.seed)} << ", boot " << boot
            << " (flash operations " << operations << ".."
            << flash.operation_count() << ")";
      if (previous_cut) {
        out() << "; the boot before lost power at operation "
              << totals.last_cut_at << " of its "
              << (totals.last_cut_in_mount ? "mount" : "workload") << " ("
              << (totals.last_cut_random_bits ? "random-bits" : "prefix")
              << " tear)";
      }
      out() << "\n";
      return false;
    }
    previous_cut = end == BootEnd::kPowerCut;
  }

  uint32_t min_erases = UINT32_MAX;
  uint32_t max_erases = 0;
  for (size_t s = 0; s < config.sector_count; ++s) {
    const uint32_t n = flash.sector_erases(s);
    if (n < min_erases) min_erases = n;
    if (n > max_erases) max_erases = n;
  }
  const cairn::FlashCounters& c = flash.counters();
  out() << "kvs[" << config.name << "]: PASS " << totals.boots << " mounts, "
        << totals.cuts << " power cuts (" << totals.cuts_in_mount
        << " during mount), interrupted writes resolved "
        << totals.torn_resolved_new << " new / " << totals.torn_resolved_old
        << " old\n";
  out() << "kvs[" << config.name << "]: " << totals.ops
        << " ops: " << totals.puts << " put, " << totals.deletes << " delete, "
        << totals.commits << " commit, " << totals.gets << " get, "
        << totals.reclaims << " reclaim\n";
  out() << "kvs[" << config.name << "]: flash " << c.bytes_programmed
        << " B programmed in " << c.program_calls << " calls, "
        << c.sector_erases << " sector erases (per sector " << min_erases
        << ".." << max_erases << "), " << c.bytes_read << " B read\n";
  return true;
}

}  // namespace target
