// Power-cut sweeps and fault injection for the blob store.
//
// Every scenario starts from a flash holding a complete blob A and writes a
// blob B over it. Power is cut at every flash operation index of that write
// (reads, programs and erases, including the key-value store's), both with
// prefix tears and with random-bit tears. After power returns the key-value
// store is remounted and a fresh BlobStore is built, as after a reboot; the
// blob must then be A, B, nothing, or an incomplete write that Resume()
// continues to a B whose checksum matches. A valid-looking wrong blob fails
// the test.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "blob/blob_rig.h"
#include "cairn/blob/blob_store.h"

namespace cairn::blob {
namespace {

using testing::FilledBytes;
using testing::Geometry;
using testing::RandomBytes;
using testing::ReadBlob;
using testing::Rig;

constexpr size_t kBufferBytes = 1024;

Geometry SweepGeometry(size_t sector_size = 512, size_t alignment = 4,
                       bool ecc = false) {
  Geometry g;
  g.sector_size = sector_size;
  g.blob_sectors = 7;
  g.kvs_sectors = 4;
  g.alignment = alignment;
  g.ecc = ecc;
  return g;
}

enum class Mode { kBuffered, kDeferred, kZeroBuffer };

struct Variant {
  const char* name;
  Mode mode;
  size_t flash_write_size;
  size_t buffer_bytes;  // 0 or a multiple of flash_write_size <= 256
  size_t chunk;
  bool checksum;
  size_t sector_size = 512;
  size_t alignment = 4;
  bool ecc = false;
};

struct Outcome {
  size_t old_blob = 0;
  size_t new_blob = 0;
  size_t nothing = 0;
  size_t resumed = 0;
};

class Scenario {
 public:
  explicit Scenario(const Variant& v)
      : variant_(v),
        rig_(SweepGeometry(v.sector_size, v.alignment, v.ecc)),
        old_(RandomBytes(Whole(1700), 0xA)),
        new_(RandomBytes(Whole(2900), 0xB)) {}

  // Without a write buffer every write is a multiple of the write size.
  size_t Whole(size_t n) const {
    return variant_.mode == Mode::kZeroBuffer
               ? n / variant_.flash_write_size * variant_.flash_write_size
               : n;
  }

  BlobStore& MakeStore() {
    store_.reset();
    store_.emplace("sweep", rig_.blob_partition,
                   variant_.checksum ? &crc_ : nullptr, rig_.store(),
                   std::span(buffer_).first(variant_.buffer_bytes),
                   variant_.flash_write_size);
    return *store_;
  }

  // Formats everything and stores blob A.
  void Prepare() {
    rig_.flash.Reset();
    rig_.flash.ClearFaults();
    ASSERT_EQ(Status::Ok(), rig_.MountKvs());
    BlobStore& store = MakeStore();
    BlobWriterWithBuffer<16> writer(store);
    ASSERT_EQ(Status::Ok(), writer.Open());
    ASSERT_EQ(Status::Ok(), writer.SetFileName("old"));
    ASSERT_EQ(Status::Ok(), WriteFrom(writer, old_, 0));
    ASSERT_EQ(Status::Ok(), writer.Close());
    // Reboot so the sweep starts from a mounted, idle system.
    ASSERT_EQ(Status::Ok(), rig_.MountKvs());
    ASSERT_EQ(Status::Ok(), MakeStore().Init());
  }

  // Writes blob B from `offset` to its end through `writer` (which must be
  // a DeferredWriter in deferred mode).
  Status WriteFrom(BlobWriter& writer, const std::vector<std::byte>& data,
                   size_t offset) {
    std::span<const std::byte> rest = std::span(data).subspan(offset);
    size_t count = 0;
    while (!rest.empty()) {
      size_t n = std::min(variant_.chunk, rest.size());
      if (variant_.mode == Mode::kZeroBuffer && n % variant_.flash_write_size) {
        n = rest.size() < variant_.flash_write_size
                ? rest.size()
                : n / variant_.flash_write_size * variant_.flash_write_size;
      }
      Status status = writer.Write(rest.first(n));
      if (variant_.mode == Mode::kDeferred && status.IsResourceExhausted()) {
        // Flush keeps a partial chunk: queue what fits now.
        CAIRN_TRY(static_cast<DeferredWriter&>(writer).Flush());
        n = std::min(n, writer.ConservativeWriteLimit());
        status = writer.Write(rest.first(n));
      }
      CAIRN_TRY(status);
      rest = rest.subspan(n);
      if (variant_.mode == Mode::kDeferred && ++count % 3 == 0) {
        CAIRN_TRY(static_cast<DeferredWriter&>(writer).Flush());
      }
    }
    return Status::Ok();
  }

  // The operation under test: a whole write of B (Open .. Close).
  Status WriteNew() {
    BlobStore& store = *store_;
    DeferredWriterWithBuffer<16> deferred(store);
    BlobWriterWithBuffer<16> plain(store);
    BlobWriter& writer = variant_.mode == Mode::kDeferred
                             ? static_cast<BlobWriter&>(deferred)
                             : static_cast<BlobWriter&>(plain);
    CAIRN_TRY(writer.Open());
    CAIRN_TRY(writer.SetFileName("new"));
    const Status status = WriteFrom(writer, new_, 0);
    if (!status.ok()) {
      writer.Abandon();
      return status;
    }
    return writer.Close();
  }

  // Erase() first (so the write itself need not erase), then B.
  Status EraseThenWriteNew() {
    BlobWriterWithBuffer<16> writer(*store_);
    CAIRN_TRY(writer.Open());
    CAIRN_TRY(writer.Erase());
    CAIRN_TRY(writer.SetFileName("new"));
    const Status status = WriteFrom(writer, new_, 0);
    if (!status.ok()) {
      writer.Abandon();
      return status;
    }
    return writer.Close();
  }

  // Discard() of the stored blob A.
  Status DiscardOld() {
    BlobWriter writer(*store_);
    CAIRN_TRY(writer.Open());
    const Status status = writer.Discard();
    writer.Abandon();
    return status;
  }

  // Resume of an interrupted write of B, then the rest, then Close.
  Status ResumeNew() {
    BlobStore& store = *store_;
    DeferredWriterWithBuffer<16> deferred(store);
    BlobWriterWithBuffer<16> plain(store);
    BlobWriter& writer = variant_.mode == Mode::kDeferred
                             ? static_cast<BlobWriter&>(deferred)
                             : static_cast<BlobWriter&>(plain);
    const StatusWithSize resumed = writer.Resume();
    CAIRN_TRY(resumed.status());
    const Status status = WriteFrom(writer, new_, resumed.size());
    if (!status.ok()) {
      writer.Abandon();
      return status;
    }
    return writer.Close();
  }

  // Leaves an abandoned write of B that reached `bytes` bytes.
  void AbandonNewAfter(size_t bytes) {
    BlobStore& store = *store_;
    BlobWriterWithBuffer<16> writer(store);
    ASSERT_EQ(Status::Ok(), writer.Open());
    ASSERT_EQ(Status::Ok(), writer.SetFileName("new"));
    std::vector<std::byte> part(new_.begin(), new_.begin() + Whole(bytes));
    ASSERT_EQ(Status::Ok(), WriteFrom(writer, part, 0));
    writer.Abandon();
    ASSERT_EQ(Status::Ok(), rig_.MountKvs());
    ASSERT_EQ(Status::Ok(), MakeStore().Init());
  }

  // After a reboot: checks the blob is A, B, nothing or resumable; completes
  // a resumable write. Records what it found.
  void CheckAfterReboot(Outcome& outcome, const std::string& where) {
    rig_.flash.ClearFaults();
    rig_.flash.PowerOn();
    ASSERT_EQ(Status::Ok(), rig_.MountKvs()) << where;
    BlobStore& store = MakeStore();
    ASSERT_EQ(Status::Ok(), store.Init()) << where;
    if (store.HasData()) {
      std::vector<std::byte> got;
      ASSERT_EQ(Status::Ok(), ReadBlob(store, got)) << where;
      char name[8];
      const StatusWithSize n = store.GetFileName(name);
      ASSERT_TRUE(n.ok()) << where;
      const std::string file(name, n.size());
      if (got == old_) {
        EXPECT_EQ("old", file) << where;
        ++outcome.old_blob;
      } else {
        ASSERT_TRUE(got == new_) << "valid blob with wrong bytes " << where;
        EXPECT_EQ("new", file) << where;
        ++outcome.new_blob;
      }
      return;
    }
    BlobReader reader(store);
    EXPECT_NE(Status::Ok(), reader.Open()) << where;
    BlobWriterWithBuffer<16> writer(store);
    const StatusWithSize resumed = writer.Resume();
    if (resumed.status().IsFailedPrecondition()) {
      ++outcome.nothing;
      return;
    }
    ASSERT_EQ(Status::Ok(), resumed.status()) << where;
    ASSERT_LE(resumed.size(), new_.size()) << where;
    if (variant_.checksum) {
      const uint32_t expect =
          Crc32::Compute(std::span(new_).first(resumed.size()));
      ASSERT_EQ(expect, writer.CurrentChecksum())
          << "resumed over wrong bytes " << where;
    }
    ASSERT_EQ(Status::Ok(), WriteFrom(writer, new_, resumed.size())) << where;
    ASSERT_EQ(Status::Ok(), writer.Close()) << where;
    ++outcome.resumed;
    // Reboot again: the completed blob is B, its checksum checked on load.
    ASSERT_EQ(Status::Ok(), rig_.MountKvs()) << where;
    BlobStore& again = MakeStore();
    ASSERT_TRUE(again.HasData()) << where;
    std::vector<std::byte> got;
    ASSERT_EQ(Status::Ok(), ReadBlob(again, got)) << where;
    ASSERT_TRUE(got == new_) << "resumed blob differs " << where;
    char name[8];
    const StatusWithSize n = again.GetFileName(name);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ("new", std::string(name, n.size())) << where;
  }

  const Variant& variant() const { return variant_; }
  Rig& rig() { return rig_; }
  const std::vector<std::byte>& old_blob() const { return old_; }
  const std::vector<std::byte>& new_blob() const { return new_; }

 private:
  Variant variant_;
  Rig rig_;
  Crc32Checksum crc_;
  std::array<std::byte, kBufferBytes> buffer_{};
  std::optional<BlobStore> store_;
  std::vector<std::byte> old_;
  std::vector<std::byte> new_;
};

const Variant kVariants[] = {
    {"buffered fws64 buf256 chunk100 crc32", Mode::kBuffered, 64, 256, 100,
     true},
    {"buffered fws4 buf64 chunk37 crc32", Mode::kBuffered, 4, 64, 37, true},
    {"deferred fws32 buf256 chunk90 crc32", Mode::kDeferred, 32, 256, 90, true},
    {"zero-buffer fws128 chunk256 crc32", Mode::kZeroBuffer, 128, 0, 256, true},
    {"buffered fws256 buf256 chunk300 no checksum", Mode::kBuffered, 256, 256,
     300, false},
    {"buffered sector768 align16 fws48 buf144 chunk200 crc32", Mode::kBuffered,
     48, 144, 200, true, 768, 16},
    {"deferred fws=sector512 buf1024 chunk700 crc32", Mode::kDeferred, 512,
     1024, 700, true},
    {"buffered ECC align8 fws64 buf256 chunk100 crc32", Mode::kBuffered, 64,
     256, 100, true, 512, 8, true},
};

class PowerCutTest : public ::testing::TestWithParam<size_t> {};

// Sweeps a cut over every operation of `run` (which starts from the state
// `setup` leaves).
void Sweep(Scenario& s, const std::function<void()>& setup,
           const std::function<Status()>& run, const char* what) {
  setup();
  if (::testing::Test::HasFatalFailure()) return;
  const uint64_t before = s.rig().flash.operation_count();
  ASSERT_EQ(Status::Ok(), run());
  const uint64_t ops = s.rig().flash.operation_count() - before;
  size_t checked = 0;
  for (TearMode mode : {TearMode::kPrefix, TearMode::kRandomBits}) {
    Outcome outcome;
    for (uint64_t cut = 0; cut < ops; ++cut) {
      setup();
      if (::testing::Test::HasFatalFailure()) return;
      s.rig().flash.Reseed(cut * 7 + 1);
      s.rig().flash.CutPowerAt(cut, mode);
      const Status status = run();
      EXPECT_TRUE(s.rig().flash.power_is_cut())
          << what << " cut " << cut << " did not happen";
      EXPECT_FALSE(status.ok())
          << what << " reported OK though power was cut at " << cut;
      const std::string where =
          std::string(s.variant().name) + " / " + what +
          (mode == TearMode::kPrefix ? " prefix" : " bits") + " cut " +
          std::to_string(cut);
      s.CheckAfterReboot(outcome, where);
      if (::testing::Test::HasFatalFailure()) return;
      ++checked;
    }
    std::printf(
        "[%s] %s, %s tears: %llu cut points checked -> old %zu, new %zu, "
        "none %zu, resumed %zu\n",
        s.variant().name, what,
        mode == TearMode::kPrefix ? "prefix" : "random-bit",
        static_cast<unsigned long long>(ops), outcome.old_blob,
        outcome.new_blob, outcome.nothing, outcome.resumed);
    EXPECT_EQ(ops, outcome.old_blob + outcome.new_blob + outcome.nothing +
                       outcome.resumed);
  }
  std::printf("[%s] %s: %zu cut points in total\n", s.variant().name, what,
              checked);
}

TEST_P(PowerCutTest, WriteOverCompleteBlob) {
  Scenario s(kVariants[GetParam()]);
  Sweep(
      s, [&] { s.Prepare(); }, [&] { return s.WriteNew(); }, "write+close");
}

TEST_P(PowerCutTest, ResumeAfterAbandon) {
  Scenario s(kVariants[GetParam()]);
  Sweep(
      s,
      [&] {
        s.Prepare();
        if (!::testing::Test::HasFatalFailure()) s.AbandonNewAfter(2000);
      },
      [&] { return s.ResumeNew(); }, "resume+close");
}

TEST_P(PowerCutTest, EraseThenWrite) {
  Scenario s(kVariants[GetParam()]);
  Sweep(
      s, [&] { s.Prepare(); }, [&] { return s.EraseThenWriteNew(); },
      "erase+write+close");
}

TEST(PowerCutDiscardTest, DiscardIsAllOrNothing) {
  Scenario s(kVariants[0]);
  Sweep(
      s, [&] { s.Prepare(); }, [&] { return s.DiscardOld(); }, "discard");
}

INSTANTIATE_TEST_SUITE_P(Variants, PowerCutTest,
                         ::testing::Range<size_t>(0, std::size(kVariants)));

// ---- fault injection: every read, program and erase failing in turn ----

class FaultTest : public ::testing::TestWithParam<size_t> {};

TEST_P(FaultTest, EveryOperationFailingInTurn) {
  Scenario s(kVariants[GetParam()]);
  s.Prepare();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  s.rig().flash.ResetCounters();
  ASSERT_EQ(Status::Ok(), s.WriteNew());
  const FlashCounters clean = s.rig().flash.counters();
  struct Kind {
    FlashOp op;
    uint64_t count;
    const char* name;
  };
  const Kind kinds[] = {{FlashOp::kProgram, clean.program_calls, "program"},
                        {FlashOp::kErase, clean.erase_calls, "erase"},
                        {FlashOp::kRead, clean.read_calls, "read"}};
  size_t total = 0;
  for (const Kind& kind : kinds) {
    Outcome outcome;
    size_t failed_runs = 0;
    for (uint64_t n = 0; n < kind.count; ++n) {
      s.Prepare();
      ASSERT_FALSE(::testing::Test::HasFatalFailure());
      s.rig().flash.FailNext(kind.op, static_cast<uint32_t>(n),
                             Status::Internal());
      const Status status = s.WriteNew();
      const std::string where = std::string(s.variant().name) + " " +
                                kind.name + " failure " + std::to_string(n);
      // Writes and Close report DATA_LOSS; nothing else is acceptable.
      EXPECT_TRUE(status.ok() || status.IsDataLoss())
          << where << ": " << status.str();
      if (!status.ok()) ++failed_runs;
      // Without a reboot the same instance never shows a wrong blob.
      s.rig().flash.ClearFaults();
      // After a reboot: A, B, nothing or resumable, never a wrong blob.
      s.CheckAfterReboot(outcome, where);
      ASSERT_FALSE(::testing::Test::HasFatalFailure());
      // And the store is writable again (Erase clears the error).
      BlobStore& store = s.MakeStore();
      BlobWriter writer(store);
      ASSERT_EQ(Status::Ok(), writer.Open()) << where;
      ASSERT_EQ(Status::Ok(), writer.Erase()) << where;
      ASSERT_EQ(Status::Ok(), writer.Write(s.new_blob())) << where;
      ASSERT_EQ(Status::Ok(), writer.Close()) << where;
      ++total;
    }
    std::printf(
        "[%s] %s failures: %llu steps checked, %zu reported DATA_LOSS -> old "
        "%zu, new %zu, none %zu, resumed %zu\n",
        s.variant().name, kind.name,
        static_cast<unsigned long long>(kind.count), failed_runs,
        outcome.old_blob, outcome.new_blob, outcome.nothing, outcome.resumed);
  }
  std::printf("[%s] fault steps in total: %zu\n", s.variant().name, total);
}

INSTANTIATE_TEST_SUITE_P(Variants, FaultTest,
                         ::testing::Range<size_t>(0, std::size(kVariants)));

// A failing erase or program seen directly through Erase() and Write().
TEST(BlobFaultTest, EraseFailureIsReportedAndSticky) {
  Rig rig(SweepGeometry());
  ASSERT_EQ(Status::Ok(), rig.MountKvs());
  Crc32Checksum crc;
  BlobStoreBuffer<64> store("erase-fail", rig.blob_partition, &crc,
                            rig.store());
  BlobWriter writer(store);
  ASSERT_EQ(Status::Ok(), writer.Open());
  rig.flash.FailNext(FlashOp::kErase, 0, Status::Internal());
  EXPECT_EQ(Status::Internal(), writer.Erase());
  const std::vector<std::byte> data = FilledBytes(100, 0x11);
  EXPECT_EQ(Status::DataLoss(), writer.Write(data));
  ASSERT_EQ(Status::Ok(), writer.Erase());
  ASSERT_EQ(Status::Ok(), writer.Write(data));
  ASSERT_EQ(Status::Ok(), writer.Close());
  EXPECT_TRUE(store.HasData());

  // A failing first erase inside a write is DATA_LOSS too.
  ASSERT_EQ(Status::Ok(), writer.Open());
  rig.flash.FailNext(FlashOp::kErase, 0, Status::Internal());
  EXPECT_EQ(Status::DataLoss(), writer.Write(data));
  EXPECT_EQ(Status::DataLoss(), writer.Close());
  EXPECT_FALSE(store.HasData());
}

// A read failing while a fresh store loads its blob hides the blob at most
// until the next reader Open(); it never shows wrong bytes.
TEST(BlobFaultTest, ReadFailureWhileLoading) {
  Rig rig(SweepGeometry());
  ASSERT_EQ(Status::Ok(), rig.MountKvs());
  Crc32Checksum crc;
  const std::vector<std::byte> data = RandomBytes(2500, 77);
  {
    BlobStoreBuffer<64> store("load", rig.blob_partition, &crc, rig.store());
    BlobWriter writer(store);
    ASSERT_EQ(Status::Ok(), writer.Open());
    ASSERT_EQ(Status::Ok(), writer.Write(data));
    ASSERT_EQ(Status::Ok(), writer.Close());
  }
  rig.flash.ResetCounters();
  {
    BlobStoreBuffer<64> store("load", rig.blob_partition, &crc, rig.store());
    ASSERT_EQ(Status::Ok(), store.Init());
  }
  const uint64_t reads = rig.flash.counters().read_calls;
  size_t hidden = 0;
  for (uint32_t n = 0; n < reads; ++n) {
    BlobStoreBuffer<64> store("load", rig.blob_partition, &crc, rig.store());
    rig.flash.FailNext(FlashOp::kRead, n, Status::Internal());
    ASSERT_EQ(Status::Ok(), store.Init());
    rig.flash.ClearFaults();
    if (!store.HasData()) ++hidden;
    std::vector<std::byte> got;
    ASSERT_EQ(Status::Ok(), ReadBlob(store, got)) << n;
    ASSERT_TRUE(got == data) << n;
    EXPECT_TRUE(store.HasData());
  }
  std::printf(
      "load read failures: %llu steps checked, %zu hid the blob "
      "until Open\n",
      static_cast<unsigned long long>(reads), hidden);
  EXPECT_EQ(reads, hidden);
}

}  // namespace
}  // namespace cairn::blob
