// W5: one 32 KiB blob written through BlobWriter in 256-byte chunks, then
// read back. Built with the blob store only (CAIRN_BENCH_HAVE_BLOB).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "workloads.h"

#if CAIRN_BENCH_HAVE_BLOB
#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"
#endif

namespace cairn::bench {

#if CAIRN_BENCH_HAVE_BLOB
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBlobBytes = 32 * 1024;
constexpr size_t kChunk = 256;
constexpr uint64_t kSeed = 0xb10b;
// G1, split: sectors 0..3 hold the key-value store with the metadata record,
// sectors 4..15 (48 KiB) the blob.
constexpr size_t kKvsSectors = 4;
constexpr size_t kBlobSectors = 12;

struct BlobRig {
  RamFlash<4096, kKvsSectors + kBlobSectors> flash;
  FlashPartition kvs_partition{flash, 0, kKvsSectors};
  FlashPartition blob_partition{flash, kKvsSectors, kBlobSectors};
  kvs::KeyValueStore<8> kvs{kvs_partition};
  Crc32Checksum crc;
  blob::BlobStoreBuffer<kChunk> blob{"w5", blob_partition, &crc, kvs};
};

std::string Describe(const char* what, Status status) {
  return std::string(what) + ": " + status.str();
}

// Reads the whole blob through a BlobReader and compares it with `expected`.
bool ReadBack(blob::BlobStore& store, const std::vector<std::byte>& expected,
              std::string& note) {
  blob::BlobReader reader(store);
  if (Status s = reader.Open(); !s.ok()) {
    note = Describe("BlobReader::Open", s);
    return false;
  }
  std::array<std::byte, kChunk> out{};
  size_t offset = 0;
  while (offset < expected.size()) {
    StatusWithSize got = reader.Read(out);
    if (!got.ok() || got.size() == 0 || offset + got.size() > expected.size() ||
        std::memcmp(out.data(), expected.data() + offset, got.size()) != 0) {
      note = got.ok() ? "blob read back wrong data"
                      : Describe("BlobReader::Read", got.status());
      return false;
    }
    offset += got.size();
  }
  // The stream must end exactly there.
  if (StatusWithSize end = reader.Read(out); end.ok() && end.size() != 0) {
    note = "blob longer than written";
    return false;
  }
  reader.Close();
  if (store.ReadableDataBytes() != expected.size()) {
    note = "ReadableDataBytes() differs from the bytes written";
    return false;
  }
  return true;
}

}  // namespace

WorkloadResult RunW5(const RunConfig&) {
  WorkloadResult w5;
  w5.name = "W5";
  w5.description = "32 KiB blob in 256 B chunks through BlobWriter";
  w5.ran = true;

  auto rig = std::make_unique<BlobRig>();
  if (Status s = rig->kvs.Init(); !s.ok()) {
    w5.note = Describe("kvs Init", s);
    return w5;
  }
  if (Status s = rig->blob.Init(); !s.ok()) {
    w5.note = Describe("BlobStore::Init", s);
    return w5;
  }
  rig->flash.ResetCounters();

  XorShift64Star fill(kSeed ^ kFillSeedMask);
  std::vector<std::byte> data(kBlobBytes);
  for (size_t offset = 0; offset < data.size(); offset += kChunk) {
    FillValue(fill, std::span<std::byte>(data).subspan(offset, kChunk));
  }

  WorstOp worst;
  bool ok = true;
  const Clock::time_point start = Clock::now();
  {
    blob::BlobWriter writer(rig->blob);
    Status s = Measured(rig->flash, worst, [&] { return writer.Open(); });
    if (!s.ok()) {
      w5.note = Describe("BlobWriter::Open", s);
      ok = false;
    }
    for (size_t offset = 0; ok && offset < data.size(); offset += kChunk) {
      std::span<const std::byte> chunk(data.data() + offset, kChunk);
      s = Measured(rig->flash, worst, [&] { return writer.Write(chunk); });
      if (!s.ok()) {
        w5.note = Describe("BlobWriter::Write", s);
        ok = false;
      }
      ++w5.writes;
    }
    if (ok) {
      s = Measured(rig->flash, worst, [&] { return writer.Close(); });
      if (!s.ok()) {
        w5.note = Describe("BlobWriter::Close", s);
        ok = false;
      }
    }
  }
  w5.value_bytes = ok ? kBlobBytes : 0;
  ok = ok && ReadBack(rig->blob, data, w5.note);
  w5.host_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  w5.worst_op = worst.worst;
  const FlashCounters& c = rig->flash.counters();
  w5.bytes_programmed = c.bytes_programmed;
  w5.program_calls = c.program_calls;
  w5.erases = c.sector_erases;
  w5.bytes_read = c.bytes_read;
  w5.read_calls = c.read_calls;
  w5.erase_min = UINT32_MAX;
  for (size_t s = 0; s < rig->flash.sector_count(); ++s) {
    w5.erase_min = std::min(w5.erase_min, rig->flash.sector_erases(s));
    w5.erase_max = std::max(w5.erase_max, rig->flash.sector_erases(s));
  }
  if (!ok) return w5;

  // Not counted: a fresh key-value store and blob store on the same flash
  // (as after a reboot) must find the same blob.
  kvs::KeyValueStore<8> kvs(rig->kvs_partition);
  Crc32Checksum crc;
  blob::BlobStoreBuffer<kChunk> again("w5", rig->blob_partition, &crc, kvs);
  if (Status s = kvs.Init(); !s.ok()) {
    w5.note = Describe("remount: kvs Init", s);
    return w5;
  }
  if (Status s = again.Init(); !s.ok()) {
    w5.note = Describe("remount: BlobStore::Init", s);
    return w5;
  }
  w5.verified = ReadBack(again, data, w5.note);
  return w5;
}

#else

WorkloadResult RunW5(const RunConfig&) {
  WorkloadResult w5;
  w5.name = "W5";
  w5.description = "32 KiB blob in 256 B chunks through BlobWriter";
  w5.note = "blob store not in this build";
  return w5;
}

#endif

}  // namespace cairn::bench
