// The tail rule (docs/format.md, "Writing an entry"): the last entry of the
// active sector counts only if its tail byte was programmed, and an entry
// whose tail byte is the erased value is followed by a seal marker. This
// catches a torn last write that passes its 16-bit checksum by chance
// (bug 5 in docs/reliability.md) without spending a byte on other writes.
#include <memory>
#include <optional>

#include "cairn/checksum.h"
#include "cairn/kvs/key_value_store.h"
#include "kvs/kvs_test_util.h"

namespace cairn::kvs {
namespace {

using test::Bytes;
using test::GetString;
using test::MakeValue;
using test::MatchesShadow;
using test::Next;
using test::Shadow;

constexpr size_t kSector = 512;
constexpr size_t kSectors = 6;
using Flash = RamFlash<kSector, kSectors>;
using Kvs = KeyValueStore<16>;

std::string ReadString(const Store& kvs, Key key) {
  std::string out;
  const StatusWithSize r = GetString(kvs, key, out);
  return r.ok() ? out : "<" + std::string(r.status().str()) + ">";
}

// The newest slot naming `key` in the active sector (the highest sequence
// number cannot be read here, so the sector whose slots end last is taken:
// tests below write `key` last).
std::optional<test::SlotInfo> LastSlotOf(const FlashPartition& p,
                                         std::span<const std::byte> image,
                                         Key key) {
  std::optional<test::SlotInfo> found;
  for (uint32_t s = 0; s < p.sector_count(); ++s) {
    const auto slots = test::ScanSlots(p, image, s);
    if (!slots.empty() && slots.back().header.key == key &&
        !slots.back().header.is_seal()) {
      found = slots.back();
    }
  }
  return found;
}

TEST(KvsTailRule, SealFollowsOnlyAnEntryWhoseTailByteIsErased) {
  Flash flash;
  FlashPartition partition(flash);
  Kvs kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  flash.ResetCounters();
  ASSERT_EQ(kvs.Put(1, Bytes("abcd")), Status::Ok());
  const uint64_t plain = flash.counters().bytes_programmed;
  flash.ResetCounters();
  ASSERT_EQ(kvs.Put(2, Bytes("abc\xFF")), Status::Ok());
  // One more 8-byte slot: the seal.
  EXPECT_EQ(flash.counters().bytes_programmed, plain + 8);

  Kvs again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(ReadString(again, 1), "abcd");
  EXPECT_EQ(ReadString(again, 2), "abc\xFF");
  EXPECT_EQ(again.GetStats().corruption_found, 0u);
}

// A value of `size` bytes under `key` (last byte not 0xFF) that passes its
// CRC even when its last three bytes read erased.
std::string TornTailCollider(Key key, size_t size, uint64_t x) {
  std::string value = MakeValue(size, x);
  const uint16_t seed = format::EntryCrcSeed(key, static_cast<uint16_t>(size));
  const uint16_t prefix = Crc16::Update(seed, Bytes(value).first(size - 3));
  const uint16_t torn = Crc16::Update(prefix, Bytes("\xFF\xFF\xFF"));
  for (;;) {
    for (size_t i = size - 3; i < size; ++i) {
      value[i] = static_cast<char>(Next(x) >> 56);
    }
    if (value.back() != '\xFF' &&
        Crc16::Update(prefix, Bytes(value).last(3)) == torn) {
      return value;
    }
  }
}

// Bug 5, value form: a write torn three bytes before its end whose checksum
// still matches. The old value must stay.
TEST(KvsTailRule, TornValueThatPassesItsChecksumIsDropped) {
  constexpr Key kKey = 9;
  const std::string torn_value = TornTailCollider(kKey, 20, 0x7a11);
  Flash flash;
  FlashPartition partition(flash);
  {
    Kvs kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(1, Bytes("other")), Status::Ok());
    ASSERT_EQ(kvs.Put(kKey, Bytes("old value")), Status::Ok());
    ASSERT_EQ(kvs.Put(kKey, Bytes(torn_value)), Status::Ok());
  }
  const auto slot = LastSlotOf(partition, flash.bytes(), kKey);
  ASSERT_TRUE(slot.has_value());
  ASSERT_EQ(slot->value_size, 20u);
  // What a power cut three bytes before the end of the value leaves.
  for (size_t i = 17; i < 20; ++i) {
    flash.bytes()[slot->value_address + i] = std::byte{0xFF};
  }
  Kvs kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  EXPECT_EQ(ReadString(kvs, kKey), "old value");
  EXPECT_EQ(ReadString(kvs, 1), "other");
  // The torn slot stays the last thing in its sector; writes go on.
  ASSERT_EQ(kvs.Put(kKey, Bytes("new")), Status::Ok());
  Kvs again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(ReadString(again, kKey), "new");
}

// Bug 5, header form (what the per-write sweep found at cut 2,127 of
// 512 x 6 B, alignment 8): a header torn before its last byte, whose CRC
// field (low byte written, high byte still erased) matches the CRC of the
// still-erased value.
TEST(KvsTailRule, TornHeaderWhoseChecksumMatchesErasedValueIsDropped) {
  constexpr size_t kSize = 12;
  const std::string erased(kSize, '\xFF');
  Key key = 100;
  uint16_t erased_crc = 0;
  for (;; ++key) {
    erased_crc = Crc16::Update(format::EntryCrcSeed(key, kSize), Bytes(erased));
    if (erased_crc >> 8 == 0xFF) break;
  }
  std::string value;
  for (uint64_t x = 1;; ++x) {
    value = MakeValue(kSize, x);
    const uint16_t crc =
        Crc16::Update(format::EntryCrcSeed(key, kSize), Bytes(value));
    if ((crc & 0xFF) == (erased_crc & 0xFF) && crc >> 8 != 0xFF &&
        value.back() != '\xFF') {
      break;
    }
  }
  Flash flash;
  FlashPartition partition(flash);
  {
    Kvs kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    ASSERT_EQ(kvs.Put(key, Bytes("old value")), Status::Ok());
    ASSERT_EQ(kvs.Put(key, Bytes(value)), Status::Ok());
  }
  const auto slot = LastSlotOf(partition, flash.bytes(), key);
  ASSERT_TRUE(slot.has_value());
  flash.bytes()[slot->header_address + 7] = std::byte{0xFF};
  for (size_t i = 0; i < kSize; ++i) {
    flash.bytes()[slot->value_address + i] = std::byte{0xFF};
  }
  Kvs kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  EXPECT_EQ(ReadString(kvs, key), "old value");
}

// An acknowledged write whose tail byte is erased survives every later
// state: with its seal, after the seal's program failed (the write is
// voided and done again), and across reclaims that carry it.
TEST(KvsTailRule, SealFailureIsRetried) {
  Flash flash;
  FlashPartition partition(flash);
  Kvs kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ASSERT_EQ(kvs.Put(1, Bytes("one")), Status::Ok());
  // Programs of a Put: header, value, seal.
  flash.FailNext(FlashOp::kProgram, 2, Status::Internal());
  ASSERT_EQ(kvs.Put(2, Bytes("two\xFF")), Status::Ok());
  flash.ClearFaults();
  EXPECT_EQ(ReadString(kvs, 2), "two\xFF");
  Kvs again(partition);
  ASSERT_EQ(again.Init(), Status::Ok());
  EXPECT_EQ(ReadString(again, 1), "one");
  EXPECT_EQ(ReadString(again, 2), "two\xFF");
}

class KvsTailRuleCopies : public ::testing::TestWithParam<uint8_t> {};

// Every value ends in the erased byte, so every write needs a seal, and so
// does the last copy of every reclaim (which the mutex stress test found
// being applied as an entry).
TEST_P(KvsTailRuleCopies, ReclaimsCarryEntriesWithErasedTails) {
  Flash flash;
  FlashPartition partition(flash);
  Options options;
  options.copies = GetParam();
  Shadow shadow;
  auto kvs = std::make_unique<Kvs>(partition, options);
  ASSERT_EQ(kvs->Init(), Status::Ok());
  uint64_t x = 0x5ea1;
  for (int i = 0; i < 600; ++i) {
    const Key key = static_cast<Key>(Next(x) % 8);
    std::string value = MakeValue(1 + Next(x) % 24, Next(x));
    value.back() = '\xFF';
    ASSERT_EQ(kvs->Put(key, Bytes(value)), Status::Ok()) << "write " << i;
    shadow[key] = value;
    if (i % 50 == 49) {
      kvs = std::make_unique<Kvs>(partition, options);
      ASSERT_EQ(kvs->Init(), Status::Ok()) << "write " << i;
      ASSERT_TRUE(MatchesShadow(*kvs, shadow)) << "write " << i;
      EXPECT_EQ(kvs->GetStats().corruption_found, 0u);
    }
  }
  ASSERT_EQ(kvs->FullMaintenance(), Status::Ok());
  kvs = std::make_unique<Kvs>(partition, options);
  ASSERT_EQ(kvs->Init(), Status::Ok());
  EXPECT_TRUE(MatchesShadow(*kvs, shadow));
}

INSTANTIATE_TEST_SUITE_P(Copies, KvsTailRuleCopies, ::testing::Values(1, 2),
                         [](const auto& info) {
                           return "x" + std::to_string(info.param);
                         });

// A power cut at every operation of a write whose value ends in the erased
// byte, in both tear modes: the key reads its old or its new value.
TEST(KvsTailRule, PowerCutAtEveryStepOfASealedWrite) {
  Flash flash;
  FlashPartition partition(flash);
  const std::string old = "old value";
  const std::string fresh = "fresh value\xFF";
  int mounts = 0, fresh_seen = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0;; ++cut) {
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      {
        Kvs kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_EQ(kvs.Put(5, Bytes(old)), Status::Ok());
        flash.CutPowerAt(cut, mode);
        kvs.Put(5, Bytes(fresh)).IgnoreError();
      }
      const bool cut_hit = flash.power_is_cut();
      flash.PowerOn();
      flash.ClearFaults();
      Kvs kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok()) << "cut " << cut;
      const std::string got = ReadString(kvs, 5);
      EXPECT_TRUE(got == old || got == fresh) << "cut " << cut << ": " << got;
      fresh_seen += got == fresh;
      ++mounts;
      if (!cut_hit) break;
    }
  }
  EXPECT_GT(mounts, 8);
  EXPECT_GT(fresh_seen, 1);  // at least the two runs the cut never reached
}

// After a Put of `fresh` under `key` that power cut `cut` interrupted:
// powers on, mounts, and expects every key of `before` to read its value
// there, except `key`, which may also read `fresh`.
void ExpectOldOrNew(RamFlashBase& flash, FlashPartition& partition,
                    const Shadow& before, Key key, const std::string& fresh,
                    uint64_t cut) {
  flash.PowerOn();
  flash.ClearFaults();
  Kvs kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok()) << "cut " << cut;
  for (const auto& [k, v] : before) {
    const std::string got = ReadString(kvs, k);
    if (k == key) {
      EXPECT_TRUE(got == v || got == fresh) << "cut " << cut;
    } else {
      EXPECT_EQ(got, v) << "key " << k << ", cut " << cut;
    }
  }
}

// A reclaim that carries entries whose tail bytes are erased (every value
// here ends in 0xFF), cut at every flash operation of the Put that runs it:
// the copies' seal must be on flash before the commit, or the last copy
// would be taken for a torn write once its source sector is retired.
TEST(KvsTailRule, PowerCutDuringAReclaimOfSealedEntries) {
  // Keys 0-5 are written once (cold: a reclaim must carry them), 6 and 7
  // over and over.
  auto key_of = [](int i) { return static_cast<Key>(i < 6 ? i : 6 + i % 2); };
  Flash flash;
  FlashPartition partition(flash);
  auto value = [](int i) {
    std::string v = MakeValue(4 + static_cast<size_t>(i) % 13, 0xC0DE + i);
    v.back() = '\xFF';
    return v;
  };
  // Replays updates [0, n) on a fresh flash; returns the model.
  auto replay = [&](int n) {
    flash.Reset();
    flash.ClearFaults();
    flash.PowerOn();
    Shadow shadow;
    Kvs kvs(partition);
    EXPECT_EQ(kvs.Init(), Status::Ok());
    for (int i = 0; i < n; ++i) {
      const Key key = key_of(i);
      EXPECT_EQ(kvs.Put(key, Bytes(value(i))), Status::Ok()) << i;
      shadow[key] = value(i);
    }
    return shadow;
  };
  // The first update whose Put retires a sector that holds cold keys (it
  // erases one and runs many flash operations).
  int target = -1;
  uint64_t ops = 0;
  {
    replay(0);
    Kvs kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (int i = 0; target < 0 && i < 2000; ++i) {
      const uint64_t erases = flash.counters().sector_erases;
      const uint64_t before = flash.operation_count();
      ASSERT_EQ(kvs.Put(key_of(i), Bytes(value(i))), Status::Ok());
      if (flash.counters().sector_erases > erases &&
          flash.operation_count() - before > 30) {
        target = i;
        ops = flash.operation_count() - before;
      }
    }
  }
  ASSERT_GT(target, 0);
  int checked = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0; cut < ops; ++cut) {
      const Shadow before = replay(target);
      const Key key = key_of(target);
      {
        Kvs kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        flash.CutPowerAt(cut, mode);
        kvs.Put(key, Bytes(value(target))).IgnoreError();
      }
      ExpectOldOrNew(flash, partition, before, key, value(target), cut);
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(2 * ops));
}

// A sector wears out and takes the free one's place, so the store makes
// room by moving the oldest sector's entries into the active one
// (FreeOldest) and erasing it. Every value ends in the erased byte; a power
// cut at every operation of the Put that does this must leave the moved
// entries readable, so the last of them must be sealed before its source
// is erased.
class KvsTailRuleWear : public ::testing::TestWithParam<int> {};

TEST_P(KvsTailRuleWear, EntriesMovedWithoutAFreeSectorKeepTheirSeal) {
  const int variant = GetParam();
  const Key cold_keys = static_cast<Key>(2 + variant % 6);
  auto value = [](int i) {
    std::string v = MakeValue(1 + static_cast<size_t>(i) % 20, 100 + i);
    v.back() = '\xFF';
    return v;
  };
  // Runs `n` writes on `flash` (fresh); returns the model.
  auto run = [&](RamFlash<512, 8>& flash, int n) {
    FlashPartition partition(flash);
    Kvs kvs(partition);
    Shadow shadow;
    EXPECT_EQ(kvs.Init(), Status::Ok());
    for (Key key = 0; key < cold_keys; ++key) {
      shadow[key] = value(-1 - static_cast<int>(key));
      EXPECT_EQ(kvs.Put(key, Bytes(shadow[key])), Status::Ok());
    }
    flash.SetEndurance(static_cast<size_t>(variant % 8),
                       2 + static_cast<uint32_t>(variant % 3), WearMode::kFail);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(kvs.Put(10 + i % 2, Bytes(value(i))), Status::Ok()) << i;
      shadow[10 + i % 2] = value(i);
    }
    return shadow;
  };
  // The write during which a sector goes bad, and its flash operations.
  int target = -1;
  uint64_t ops = 0;
  {
    RamFlash<512, 8> flash;
    run(flash, 0);
    FlashPartition partition(flash);
    Kvs kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    for (int i = 0; target < 0 && i < 1000; ++i) {
      const uint64_t before = flash.operation_count();
      const uint32_t bad = kvs.GetStats().bad_sectors;
      ASSERT_EQ(kvs.Put(10 + i % 2, Bytes(value(i))), Status::Ok()) << i;
      if (kvs.GetStats().bad_sectors > bad) {
        target = i;
        ops = flash.operation_count() - before;
      }
    }
  }
  ASSERT_GE(target, 0);
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0; cut < ops; ++cut) {
      RamFlash<512, 8> flash;
      const Shadow before = run(flash, target);
      FlashPartition partition(flash);
      {
        Kvs kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        flash.CutPowerAt(cut, mode);
        kvs.Put(10 + target % 2, Bytes(value(target))).IgnoreError();
      }
      ExpectOldOrNew(flash, partition, before, 10 + target % 2, value(target),
                     cut);
    }
  }
}

// The variants (which sector wears out, how soon, how many cold keys) whose
// FreeOldest ends with a moved entry that needs a seal: without it, all
// four lose a cold key at some cut.
INSTANTIATE_TEST_SUITE_P(Variants, KvsTailRuleWear,
                         ::testing::Values(4, 11, 12, 21));

// A reclaim copies a live entry into the free space of the active sector,
// where it counts at once, so the copy must leave room for the tail rule
// like a write does. Here the copy would have filled the sector exactly:
// cut after its header, the value read erased bytes, and a value whose CRC
// equals that of erased bytes read back as 20 x 0xFF with OK.
TEST(KvsTailRule, CopyIntoTheActiveSectorLeavesRoomForTheRule) {
  constexpr Key kKey = 1, kFiller = 2, kPad = 3, kTrigger = 4;
  const std::string collider = test::ErasedCrcCollider(kKey, 20, 0x5eed);
  RamFlash<1024, 4> flash;  // 1,008 usable bytes per sector
  FlashPartition partition(flash);
  uint64_t cuts = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    for (uint64_t cut = 0;; ++cut) {
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      Shadow before;
      {
        Kvs kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_EQ(kvs.Put(kKey, Bytes(collider)), Status::Ok());
        const std::string filler(200, 'f');
        while (kvs.GetStats().free_bytes >= 2016) {
          ASSERT_EQ(kvs.Put(kFiller, Bytes(filler)), Status::Ok());
        }
        // Leave the active sector exactly one slot and key 1's value free.
        const size_t active_free = kvs.GetStats().free_bytes - 1008;
        ASSERT_GE(active_free, 36u);
        const std::string pad(active_free - 36, 'p');
        ASSERT_EQ(kvs.Put(kPad, Bytes(pad)), Status::Ok());
        ASSERT_EQ(kvs.GetStats().free_bytes - 1008, 28u);
        before = {{kKey, collider}, {kFiller, filler}, {kPad, pad}};
        flash.CutPowerAt(cut, mode);
        kvs.Put(kTrigger, Bytes(std::string(100, 't'))).IgnoreError();
      }
      const bool was_cut = flash.power_is_cut();
      ASSERT_NO_FATAL_FAILURE(ExpectOldOrNew(flash, partition, before, kTrigger,
                                             std::string(100, 't'), cut));
      if (!was_cut) break;
      ++cuts;
    }
  }
  EXPECT_GT(cuts, 20u);
}

// A reclaim copies an entry whose last byte is erased into the active
// sector; then the new sector fails twice and is marked bad, and the store
// frees the oldest sector, which held that entry's source. The copy must be
// sealed before the source is erased, or a power cut right after leaves the
// copy unsealed at the end of the active sector and the key is lost.
TEST(KvsTailRule, CopyLeftLastByAFailedReclaimIsSealedBeforeItsSourceGoes) {
  constexpr Key kKey = 1, kFiller = 2, kTrigger = 4;
  std::string value(20, 'k');
  value.back() = '\xFF';
  RamFlash<1024, 4> flash;
  FlashPartition partition(flash);
  uint64_t cases = 0;
  for (uint32_t fail = 0; fail < 4; ++fail) {
    for (uint64_t cut = 0;; ++cut) {
      flash.Reset();
      flash.ClearFaults();
      flash.PowerOn();
      flash.SetEnduranceAll(0, WearMode::kFail);
      {
        Kvs kvs(partition);
        ASSERT_EQ(kvs.Init(), Status::Ok());
        ASSERT_EQ(kvs.Put(kKey, Bytes(value)), Status::Ok());
        const std::string filler(200, 'f');
        while (kvs.GetStats().free_bytes >= 2016) {
          ASSERT_EQ(kvs.Put(kFiller, Bytes(filler)), Status::Ok());
        }
        // Sector 3 is the free one: its programs fail once it has been
        // erased again, and one program of this Put fails as well.
        flash.SetEndurance(3, 1, WearMode::kFail);
        flash.FailNext(FlashOp::kProgram, fail, Status::Internal());
        flash.CutPowerAt(cut, TearMode::kPrefix);
        kvs.Put(kTrigger, Bytes(std::string(900, 't'))).IgnoreError();
      }
      const bool was_cut = flash.power_is_cut();
      flash.PowerOn();
      flash.ClearFaults();
      flash.SetEnduranceAll(0, WearMode::kFail);
      Kvs kvs(partition);
      ASSERT_EQ(kvs.Init(), Status::Ok()) << "fail " << fail << " cut " << cut;
      EXPECT_EQ(ReadString(kvs, kKey), value)
          << "fail " << fail << " cut " << cut;
      ++cases;
      if (!was_cut) break;
    }
  }
  EXPECT_GT(cases, 100u);
}

}  // namespace
}  // namespace cairn::kvs
