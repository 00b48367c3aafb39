// Wear-out campaign: random workloads (puts, deletes, batches, values of
// many sizes) run until the flash wears out under them, in both wear modes
// (programs fail with INTERNAL, or succeed but leave random bits
// unprogrammed), on several geometries, with power cuts mixed in.
//
// Invariants:
//  - every acknowledged value reads back exactly, before and after every
//    remount, however many sectors have gone bad (never DATA_LOSS, never a
//    wrong or older value);
//  - a refused write (RESOURCE_EXHAUSTED) changes nothing; any other failed
//    write is all-or-nothing after a remount;
//  - the store notices bad sectors (Stats::bad_sectors) and ends refusing
//    writes with RESOURCE_EXHAUSTED, still mounting and still reading.
// The blob store on a wearing partition: a Close() that returns OK stores
// exactly the bytes written; otherwise the reader never returns other bytes
// as OK.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "blob/blob_rig.h"
#include "cairn/blob/blob_store.h"
#include "cairn/kvs/format.h"
#include "reliability/reliability_rig.h"

namespace cairn::reliability {
namespace {

struct WearCase {
  Geometry geometry;
  WearMode mode;
  uint64_t seed;
};

std::string Name(const WearCase& c) {
  return Describe(c.geometry) +
         (c.mode == WearMode::kFail ? ", programs fail" : ", bad bits");
}

class WearRun {
 public:
  explicit WearRun(const WearCase& c)
      : c_(c), heap_(c.geometry, c.seed), rng_(c.seed) {}

  void Run() {
    const kvs::Key keys = 10;
    const size_t max_len = std::min<size_t>(c_.geometry.sector_size / 8, 200);
    ASSERT_TRUE(Mount().ok());
    // One sector wears out early, then all of them a few erases later.
    heap_.flash().SetEndurance(rng_.Below(c_.geometry.sectors), 4, c_.mode);
    bool all_set = false;
    int refused_in_a_row = 0;
    uint64_t i = 0;
    for (; i < 200000 && refused_in_a_row < 40; ++i) {
      if (!all_set && i == 1500) {
        uint32_t most = 0;
        for (size_t s = 0; s < c_.geometry.sectors; ++s) {
          most = std::max(most, heap_.flash().lifetime_erases(s));
        }
        heap_.flash().SetEnduranceAll(most + 2 + rng_.Below(4), c_.mode);
        all_set = true;
      }
      Op op;
      const kvs::Key key = static_cast<kvs::Key>(rng_.Below(keys));
      const uint64_t r = rng_.Below(10);
      if (r == 0 && model_.count(key)) {
        op.changes.push_back({key, std::nullopt});
      } else if (r < 3) {
        op.batch = true;
        for (int k = 0; k < 3; ++k) {
          op.changes.push_back({static_cast<kvs::Key>(rng_.Below(keys)),
                                RandomValue(rng_, max_len / 2, i)});
        }
      } else {
        op.changes.push_back({key, RandomValue(rng_, max_len, i)});
      }
      Model after = model_;
      ApplyToModel(after, op);

      const bool cut = rng_.Below(25) == 0;
      if (cut) heap_.flash().CutPowerAt(rng_.Below(30), TearMode::kRandomBits);
      const Status s = Execute(*store_, op);
      const bool hit = heap_.flash().power_is_cut();
      if (trace_ != nullptr && i >= std::strtoull(trace_, nullptr, 10)) {
        std::printf("op %llu: %s%s%s, bad sectors %zu\n", (unsigned long long)i,
                    op.batch ? "batch" : "write", hit ? " (cut)" : "", s.str(),
                    store_->GetStats().bad_sectors);
      }
      heap_.flash().PowerOn();
      heap_.flash().ClearFaults();
      if (s.ok()) {
        ++acknowledged_;
        refused_in_a_row = 0;
        model_ = after;
      } else {
        ++refused_in_a_row;
        if (s.IsResourceExhausted() && !hit) {
          ++exhausted_;
          last_refusal_ = s;
          bad_sectors_ = store_->GetStats().bad_sectors;
        } else {
          ++failed_;
          // Either outcome is allowed: settle it by remounting.
          ops_ = i;
          ASSERT_TRUE(Remount().ok()) << Name(c_) << " op " << i;
          ASSERT_NO_FATAL_FAILURE(CheckEither(after, i));
          continue;
        }
      }
      if (hit || i % 97 == 0) {
        ops_ = i;
        ASSERT_TRUE(Remount().ok()) << Name(c_) << " op " << i;
        ASSERT_NO_FATAL_FAILURE(CheckEither(after, i));
      }
    }
    ops_ = i;
    // The end state: refusing writes, mounting and reading.
    EXPECT_EQ(refused_in_a_row, 40)
        << Name(c_) << ": still writing after " << i << " operations";
    EXPECT_TRUE(last_refusal_.IsResourceExhausted()) << last_refusal_.str();
    // The store had noticed when it last refused a write (a sector whose
    // programs fail cannot carry a bad-sector marker, so a mount after a
    // power cut may have to find it again).
    EXPECT_GT(bad_sectors_, 0u) << Name(c_);
    ASSERT_TRUE(Remount().ok());
    ASSERT_NO_FATAL_FAILURE(CheckEither(model_, i));
    const Status more = store_->Put(0, Value(4, std::byte{1}));
    if (more.ok()) {
      model_[0] = Value(4, std::byte{1});
    } else {
      EXPECT_TRUE(more.IsResourceExhausted()) << more.str();
    }
    ASSERT_TRUE(Remount().ok());
    ASSERT_NO_FATAL_FAILURE(CheckEither(model_, i));
  }

  void Print() {
    std::printf(
        "%-44s ops %6llu  acknowledged %6llu  refused %5llu  "
        "failed %4llu  bad sectors %zu  erases %llu\n",
        Name(c_).c_str(), (unsigned long long)ops_,
        (unsigned long long)acknowledged_, (unsigned long long)exhausted_,
        (unsigned long long)failed_, bad_sectors_,
        (unsigned long long)heap_.flash().counters().sector_erases);
  }

 private:
  Status Mount() {
    store_.reset();
    store_.emplace(heap_.partition());
    return store_->Init();
  }
  Status Remount() { return Mount(); }

  void CheckEither(const Model& after, uint64_t i) {
    Model got;
    std::string error;
    ASSERT_TRUE(ReadAll(*store_, 10, got, error))
        << Name(c_) << " op " << i << ": " << error;
    ASSERT_TRUE(got == model_ || got == after)
        << Name(c_) << " op " << i << ": a value was lost or changed\n"
        << Diff(got, after) << Sectors();
    model_ = got;
  }

  // Which keys differ, with the operation that wrote each version.
  std::string Diff(const Model& got, const Model& after) const {
    std::string out;
    auto tag = [](const Model& m, kvs::Key k) -> std::string {
      const auto it = m.find(k);
      if (it == m.end()) return "absent";
      uint64_t t = 0;
      for (size_t b = 0; b < 8 && b < it->second.size(); ++b) {
        t |= static_cast<uint64_t>(it->second[b]) << (8 * b);
      }
      return "op " + std::to_string(t) + " (" +
             std::to_string(it->second.size()) + " B)";
    };
    for (kvs::Key k = 0; k < 10; ++k) {
      const std::string g = tag(got, k), m = tag(model_, k), a = tag(after, k);
      if (g != m || g != a) {
        out += "  key " + std::to_string(k) + ": read " + g + ", before " + m +
               ", after " + a + "\n";
      }
    }
    return out;
  }

  // The header units of every sector as the mount sees them.
  std::string Sectors() {
    static const char* kStates[] = {"erased", "valid", "BAD", "newer",
                                    "invalid"};
    const Geometry& g = c_.geometry;
    const size_t unit = kvs::format::UnitSize(g.alignment);
    const kvs::format::GeometryTag tag{static_cast<uint32_t>(g.sector_size),
                                       static_cast<uint16_t>(g.alignment)};
    const std::byte erased = heap_.flash().erased_value();
    std::string out;
    for (size_t s = 0; s < g.sectors; ++s) {
      const std::byte* base = heap_.flash().bytes().data() + s * g.sector_size;
      kvs::format::FormatUnit fmt;
      kvs::format::ActivationUnit act;
      const auto fs = kvs::format::DecodeFormatUnit(
          std::span<const std::byte, 8>(base, 8), tag, erased, fmt);
      const auto as = kvs::format::DecodeActivationUnit(
          std::span<const std::byte, 8>(base + unit, 8), erased, act);
      out += "  sector " + std::to_string(s) + ": format " +
             kStates[static_cast<int>(fs)] + ", activation " +
             kStates[static_cast<int>(as)] +
             (as == kvs::format::UnitState::kValid
                  ? " seq " + std::to_string(act.sequence)
                  : "") +
             ", lifetime erases " +
             std::to_string(heap_.flash().lifetime_erases(s)) + "\n";
    }
    return out;
  }

  WearCase c_;
  HeapFlash heap_;
  Rng rng_;
  Model model_;
  std::optional<kvs::KeyValueStore<16>> store_;
  uint64_t ops_ = 0, acknowledged_ = 0, exhausted_ = 0, failed_ = 0;
  size_t bad_sectors_ = 0;
  Status last_refusal_ = Status::Ok();
  // CAIRN_TRACE=n prints every operation from the n-th on.
  const char* trace_ = std::getenv("CAIRN_TRACE");
};

class WearOut : public ::testing::TestWithParam<WearCase> {};

TEST_P(WearOut, AcknowledgedValuesSurviveUntilTheStoreRefusesWrites) {
  WearRun run(GetParam());
  run.Run();
  run.Print();
}

std::vector<WearCase> Cases() {
  std::vector<WearCase> cases;
  const Geometry geometries[] = {{512, 8, 4},
                                 {1024, 6, 16},
                                 {256, 10, 1, true},
                                 {4096, 5, 8},
                                 {1024, 6, 8, false, false, true}};
  // Three seeds each by default, more in long mode.
  const uint64_t seeds = LongMode() ? 40 : 3;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    for (const Geometry& g : geometries) {
      for (WearMode mode : {WearMode::kFail, WearMode::kBadBits}) {
        cases.push_back({g, mode, 0x3001 + seed});
      }
    }
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<WearCase>& info) {
  const Geometry& g = info.param.geometry;
  return std::to_string(g.sectors) + "x" + std::to_string(g.sector_size) +
         "_align" + std::to_string(g.alignment) + (g.eeprom ? "_eeprom" : "") +
         (g.ecc ? "_ecc" : "") +
         (info.param.mode == WearMode::kFail ? "_fail" : "_badbits") + "_seed" +
         std::to_string(info.param.seed - 0x3000);
}

INSTANTIATE_TEST_SUITE_P(Geometries, WearOut, ::testing::ValuesIn(Cases()),
                         CaseName);

// ---- blob store on a wearing partition ----

TEST(WearOutBlob, AWornBlobPartitionNeverYieldsWrongData) {
  for (int variant = 0; variant < 4; ++variant) {
    const WearMode mode = variant % 2 ? WearMode::kBadBits : WearMode::kFail;
    blob::testing::Geometry g;
    g.sector_size = 512;
    g.blob_sectors = 4;
    g.kvs_sectors = 4;
    g.ecc = variant >= 2;
    blob::testing::Rig rig(g);
    ASSERT_TRUE(rig.MountKvs().ok());
    // The blob sectors wear out after a few erases (the kvs sectors share
    // the setting but see far fewer erases).
    rig.flash.SetEnduranceAll(6, mode);
    Crc32Checksum crc;
    int stored = 0, refused = 0;
    std::vector<std::byte> current;
    for (int round = 0; round < 30; ++round) {
      blob::BlobStoreBuffer<64> store("wear", rig.blob_partition, &crc,
                                      rig.store(), 32);
      const std::vector<std::byte> data =
          blob::testing::RandomBytes(300 + round * 50, round + 1);
      blob::BlobWriter writer(store);
      Status s = writer.Open();
      if (s.ok()) s = writer.Erase();
      if (s.ok()) s = blob::testing::WriteInChunks(writer, data, 70);
      const Status close = writer.Close();
      if (s.ok()) s = close;
      if (s.ok()) {
        ++stored;
        current = data;
      } else {
        ++refused;
        current.clear();
      }
      // After a reboot, the blob is what was acknowledged or nothing.
      ASSERT_TRUE(rig.MountKvs().ok());
      blob::BlobStoreBuffer<64> again("wear", rig.blob_partition, &crc,
                                      rig.store(), 32);
      std::vector<std::byte> back;
      const Status read = blob::testing::ReadBlob(again, back);
      if (read.ok()) {
        ASSERT_EQ(back, current) << "round " << round;
      } else {
        ASSERT_TRUE(current.empty()) << "round " << round << ": " << read.str();
      }
    }
    std::printf("blob on worn flash (%s%s): %d blobs stored, %d refused\n",
                mode == WearMode::kFail ? "programs fail" : "bad bits",
                g.ecc ? ", ECC" : "", stored, refused);
    EXPECT_GT(stored, 0);
    EXPECT_GT(refused, 0);
  }
}

}  // namespace
}  // namespace cairn::reliability
