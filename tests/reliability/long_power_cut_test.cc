// The long power-cut campaign: random workloads on several geometries with
// a power cut in (almost) every operation.
//
// Unlike the exhaustive sweep of tests/kvs/kvs_power_cut_test.cc (which
// replays one workload from the start for every cut point), the campaign
// rolls on: before each operation a cut is armed at a random flash operation
// inside the expected span of that operation (prefix or random-bit tear,
// chosen at random); when it hits, power returns (sometimes after a second
// cut during the recovery mount and its first write), the store is mounted
// again and compared with the shadow model; the workload then continues from
// the recovered state. A cut point costs one operation and one mount, so
// millions are affordable.
//
// Invariants after every cut:
//  - the mount succeeds;
//  - the keys equal the model before the interrupted operation or after it
//    in full (a batch all or nothing); nothing else changed;
//  - an operation that returned OK is there even if the cut hit after it;
//  - every few hundred operations, a clean remount equals the model exactly
//    and FullMaintenance succeeds.
// One outcome is counted apart: a torn value whose random bits happen to
// give the CRC-16 of the value written (docs/reliability.md, "Known
// issues"), which no 16-bit check can tell from a complete write. The
// campaign checks that the values that differ have exactly that CRC, prints
// them as collisions and goes on; anything else is a violation.
//
// Default (ctest): a few thousand cut points, a few seconds. Long mode
// (`long_power_cut_test --long` or CAIRN_LONG=1; CAIRN_SCALE=n multiplies
// it): about two million cut points. Counts are printed either way.
// CAIRN_SEED=n (n > 0) mixes n into every campaign's seed, for runs that
// explore other workloads than the documented ones.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cairn/checksum.h"
#include "reliability/reliability_rig.h"

namespace cairn::reliability {
namespace {

constexpr kvs::Key kRecoveryKey = 1000;  // written during recovery only

struct Campaign {
  Geometry geometry;
  uint64_t ops;
  kvs::Key keys;
  size_t max_len;
  uint64_t seed;
};

struct Counts {
  uint64_t ops = 0;
  uint64_t acknowledged = 0;
  uint64_t cuts_armed = 0;
  uint64_t cuts_hit = 0;
  uint64_t second_cuts = 0;
  uint64_t took_effect = 0;  // interrupted operations found applied
  uint64_t rolled_back = 0;  // interrupted operations found not applied
  uint64_t full_checks = 0;
  uint64_t violations = 0;  // neither before nor after
  uint64_t collisions = 0;  // after, but for torn values passing the CRC-16
  uint64_t flash_ops = 0;
  uint64_t sector_erases = 0;
};

Op MakeOp(Rng& rng, const Model& model, kvs::Key keys, size_t max_len,
          uint64_t n) {
  Op op;
  const uint64_t r = rng.Below(100);
  const kvs::Key key = static_cast<kvs::Key>(rng.Below(keys));
  if (r < 15 && model.count(key)) {
    op.changes.push_back({key, std::nullopt});
  } else if (r < 35) {
    op.batch = true;
    const size_t k = 2 + rng.Below(4);
    for (size_t i = 0; i < k; ++i) {
      const kvs::Key bk = static_cast<kvs::Key>(rng.Below(keys));
      if (rng.Below(4) == 0) {
        op.changes.push_back({bk, std::nullopt});
      } else {
        op.changes.push_back({bk, RandomValue(rng, max_len / 2, n)});
      }
    }
  } else {
    op.changes.push_back({key, RandomValue(rng, max_len, n)});
  }
  return op;
}

// True if `got` equals `after` except for values of the length and the
// CRC-16 of the value written: torn values that pass the entry's checksum.
bool OnlyChecksumCollisions(const Model& got, const Model& after) {
  if (got.size() != after.size()) return false;
  bool any = false;
  for (const auto& [key, value] : after) {
    const auto it = got.find(key);
    if (it == got.end()) return false;
    if (it->second == value) continue;
    if (it->second.size() != value.size()) return false;
    const uint16_t seed =
        kvs::format::EntryCrcSeed(key, kvs::format::SizeCodeFor(value.size()));
    if (Crc16::Update(seed, it->second) != Crc16::Update(seed, value)) {
      return false;
    }
    any = true;
  }
  return any;
}

class Runner {
 public:
  explicit Runner(const Campaign& c)
      : c_(c), heap_(c.geometry, c.seed), rng_(c.seed) {}

  Counts Run() {
    if (!Mount()) return counts_;
    double average = 16;  // flash operations per store operation
    for (uint64_t i = 0; i < c_.ops; ++i) {
      const Op op = MakeOp(rng_, model_, c_.keys, c_.max_len, i);
      const TearMode mode =
          rng_.Below(2) == 0 ? TearMode::kPrefix : TearMode::kRandomBits;
      const uint64_t window = std::max<uint64_t>(4, 2 * average);
      const bool arm = rng_.Below(16) != 0;  // some operations run clean
      if (arm) {
        flash().CutPowerAt(rng_.Below(window), mode);
        ++counts_.cuts_armed;
      }
      const uint64_t start = flash().operation_count();
      const Status s = Execute(*store_, op);
      ++counts_.ops;
      const bool hit = flash().power_is_cut();
      if (!hit) {
        flash().ClearFaults();
        const double used =
            static_cast<double>(flash().operation_count() - start);
        average = 0.95 * average + 0.05 * used;
      }
      Model after = model_;
      ApplyToModel(after, op);
      if (s.ok()) {
        ++counts_.acknowledged;
        model_ = after;
      } else if (!hit && !s.IsResourceExhausted()) {
        ADD_FAILURE() << Describe(c_.geometry) << ": op " << i
                      << " failed without a cut: " << s.str();
        return counts_;
      }
      if (hit) {
        ++counts_.cuts_hit;
        last_op_ = op.batch               ? "batch of"
                   : op.changes[0].second ? "put"
                                          : "delete";
        for (const auto& [k, v] : op.changes) {
          last_op_ += " " + std::to_string(k) +
                      (v ? "=" + std::to_string(v->size()) + "B" : "(del)");
        }
        if (!Recover(mode, s.ok(), after, i)) return counts_;
      }
      if ((i + 1) % 400 == 0 && !FullCheck(i)) return counts_;
    }
    FullCheck(c_.ops);
    counts_.flash_ops = flash().operation_count();
    counts_.sector_erases = flash().counters().sector_erases;
    return counts_;
  }

 private:
  RamFlashBase& flash() { return heap_.flash(); }

  bool Mount() {
    store_.reset();
    store_.emplace(heap_.partition());
    const Status s = store_->Init();
    if (!s.ok()) {
      ADD_FAILURE() << Describe(c_.geometry) << ": mount: " << s.str()
                    << " after " << counts_.ops
                    << " operations (last cut in: " << last_op_ << ")\n"
                    << DescribeSectors(flash(), c_.geometry);
    }
    return s.ok();
  }

  // Power returns after a cut in operation `i`; `after` is the model with
  // the operation applied.
  bool Recover(TearMode mode, bool acknowledged, const Model& after,
               uint64_t i) {
    flash().PowerOn();
    flash().ClearFaults();
    const bool second = rng_.Below(4) == 0;
    if (second) {  // a second cut while recovering
      ++counts_.second_cuts;
      flash().CutPowerAt(rng_.Below(48), mode);
      store_.reset();
      store_.emplace(heap_.partition());
      if (store_->Init().ok()) {
        store_->Put(kRecoveryKey, Value(5, std::byte{0x5A})).IgnoreError();
      }
      flash().PowerOn();
      flash().ClearFaults();
    }
    if (!Mount()) return false;
    Model got;  // a key that fails to read holds the status name
    ReadAllMarked(*store_, c_.keys, got);
    if (got == after) {
      ++counts_.took_effect;
    } else if (got == model_ && !acknowledged) {
      ++counts_.rolled_back;
    } else if (OnlyChecksumCollisions(got, after)) {
      ++counts_.collisions;
      std::printf("%s: CRC-16 collision after a %s tear in op %llu: %s\n%s",
                  Describe(c_.geometry).c_str(),
                  mode == TearMode::kPrefix ? "prefix" : "random-bit",
                  (unsigned long long)i, last_op_.c_str(),
                  Diff(got, model_, after, c_.keys).c_str());
    } else {
      // Counted, reported (the first few in full), and the campaign goes on
      // from what the store now holds, to measure how often it happens.
      if (++counts_.violations > 5) {
        model_ = got;
        return true;
      }
      ADD_FAILURE() << Describe(c_.geometry) << ": after cut in op " << i
                    << " the store is neither before nor after"
                    << (acknowledged ? " (op was acknowledged)" : "")
                    << (second ? " (second cut in recovery)" : "")
                    << (mode == TearMode::kPrefix ? " prefix" : " random-bit")
                    << " tear in: " << last_op_ << "\n"
                    << Diff(got, model_, after, c_.keys)
                    << DescribeSectors(flash(), c_.geometry);
      model_ = got;
      return true;
    }
    model_ = got;
    return true;
  }

  bool FullCheck(uint64_t i) {
    if (!Mount()) return false;
    Model got;
    ReadAllMarked(*store_, c_.keys, got);
    if (got != model_) {
      ADD_FAILURE() << Describe(c_.geometry) << ": clean remount at op " << i
                    << " differs from the model\n"
                    << Diff(got, model_, model_, c_.keys);
      return false;
    }
    const Status s = store_->FullMaintenance();
    if (!s.ok()) {
      ADD_FAILURE() << Describe(c_.geometry) << ": FullMaintenance at op " << i
                    << ": " << s.str();
      return false;
    }
    ++counts_.full_checks;
    return true;
  }

  Campaign c_;
  HeapFlash heap_;
  Rng rng_;
  Model model_;
  std::optional<kvs::KeyValueStore<64>> store_;
  Counts counts_;
  std::string last_op_;
};

std::vector<Campaign> Campaigns(uint64_t ops_small, uint64_t ops_large) {
  return {
      {{512, 6, 4}, ops_small, 24, 40, 0x1001},
      {{1024, 4, 16}, ops_small, 16, 120, 0x1002},
      {{4096, 4, 8}, ops_small, 32, 400, 0x1003},
      {{2048, 5, 1}, ops_small, 24, 200, 0x1004},
      {{256, 8, 1, true}, ops_small, 12, 24, 0x1005},
      {{8192, 3, 32, false, true}, ops_large, 24, 1200, 0x1006},
      {{65536, 3, 32}, ops_large, 24, 4000, 0x1007},
      {{1024, 6, 8, false, false, true}, ops_small, 16, 120, 0x1008},
      {{4096, 4, 16, false, false, true}, ops_small, 32, 400, 0x1009},
  };
}

TEST(LongPowerCut, RandomWorkloadsSurviveCutsOnEveryGeometry) {
  const bool long_mode = LongMode();
  const uint64_t scale = long_mode ? Scale() : 1;
  const uint64_t small = long_mode ? 300000 * scale : 560;
  const uint64_t large = long_mode ? 100000 * scale : 260;
  Counts total;
  // CAIRN_GEOMETRY=n runs only the n-th campaign (0-based), to reproduce.
  const char* only = std::getenv("CAIRN_GEOMETRY");
  size_t index = 0;
  for (const Campaign& c : Campaigns(small, large)) {
    if (only != nullptr && std::strtoul(only, nullptr, 10) != index++) {
      continue;
    }
    Campaign seeded = c;
    if (const char* seed = std::getenv("CAIRN_SEED")) {
      seeded.seed ^= std::strtoull(seed, nullptr, 10) * 0x9E3779B97F4A7C15ull;
    }
    Runner runner(seeded);
    const Counts n = runner.Run();
    std::printf(
        "%-32s ops %9llu  ack %9llu  cuts armed %9llu  hit %9llu "
        "(applied %llu, rolled back %llu)  second cuts %llu  "
        "clean checks %llu  sector erases %llu  CRC-16 collisions %llu  "
        "VIOLATIONS %llu\n",
        Describe(c.geometry).c_str(), (unsigned long long)n.ops,
        (unsigned long long)n.acknowledged, (unsigned long long)n.cuts_armed,
        (unsigned long long)n.cuts_hit, (unsigned long long)n.took_effect,
        (unsigned long long)n.rolled_back, (unsigned long long)n.second_cuts,
        (unsigned long long)n.full_checks, (unsigned long long)n.sector_erases,
        (unsigned long long)n.collisions, (unsigned long long)n.violations);
    total.ops += n.ops;
    total.cuts_hit += n.cuts_hit;
    total.second_cuts += n.second_cuts;
    total.sector_erases += n.sector_erases;
    total.violations += n.violations;
    total.collisions += n.collisions;
    EXPECT_GT(n.sector_erases, 2 * c.geometry.sectors)
        << "workload too small to reclaim on " << Describe(c.geometry);
  }
  std::printf(
      "long power-cut campaign%s: %llu operations, %llu cut points "
      "checked (%llu second cuts during recovery), %llu sector "
      "erases, %llu CRC-16 collisions, %llu violations\n",
      long_mode ? " (long)" : "", (unsigned long long)total.ops,
      (unsigned long long)total.cuts_hit, (unsigned long long)total.second_cuts,
      (unsigned long long)total.sector_erases,
      (unsigned long long)total.collisions,
      (unsigned long long)total.violations);
  std::fflush(stdout);
  if (only == nullptr) {
    EXPECT_GT(total.cuts_hit, long_mode ? 1000000u : 2000u);
  }
}

// The campaign sets apart only values that differ from the written one yet
// have its length and CRC-16; any other difference stays a violation.
TEST(LongPowerCut, OnlyTrueChecksumCollisionsAreSetApart) {
  const Value written = {std::byte{1}, std::byte{2}, std::byte{3},
                         std::byte{4}, std::byte{5}, std::byte{6}};
  const uint16_t seed =
      kvs::format::EntryCrcSeed(7, kvs::format::SizeCodeFor(written.size()));
  const uint16_t crc = Crc16::Update(seed, written);
  // Another value with the same CRC: vary the last three bytes.
  Value twin = written;
  for (uint32_t n = 1; n < (1u << 24); ++n) {
    twin[3] = std::byte(n >> 16);
    twin[4] = std::byte(n >> 8);
    twin[5] = std::byte(n);
    if (twin != written && Crc16::Update(seed, twin) == crc) break;
  }
  ASSERT_NE(twin, written);
  ASSERT_EQ(Crc16::Update(seed, twin), crc);

  const Model after = {{3, Value(4, std::byte{9})}, {7, written}};
  EXPECT_TRUE(OnlyChecksumCollisions({{3, after.at(3)}, {7, twin}}, after));
  EXPECT_FALSE(OnlyChecksumCollisions(after, after));  // nothing torn
  Value other = twin;
  other[0] ^= std::byte{1};
  EXPECT_FALSE(OnlyChecksumCollisions({{3, after.at(3)}, {7, other}}, after));
  EXPECT_FALSE(OnlyChecksumCollisions(
      {{3, after.at(3)}, {7, Value(written.begin(), written.end() - 1)}},
      after));
  EXPECT_FALSE(OnlyChecksumCollisions({{7, twin}}, after));  // key 3 lost
  // Key 3 kept its old value (half a batch) beside a collision.
  EXPECT_FALSE(
      OnlyChecksumCollisions({{3, Value(4, std::byte{8})}, {7, twin}}, after));
}

// 3 x 8 KiB, alignment 32, erased 0x00: at aa3146f the mount after a cut in
// a batch at operation 2,493 returns INTERNAL although the flash holds two
// valid data sectors and a free one.
TEST(LongPowerCut, RegressionMountAfterCut8K) {
  Campaign c = Campaigns(0, 2600)[5];
  Runner runner(c);
  const Counts n = runner.Run();
  EXPECT_EQ(n.ops, 2600u);
  EXPECT_EQ(n.violations, 0u);
}

}  // namespace
}  // namespace cairn::reliability
