// Shared fixture for the blob store and flat file-system tests: one
// simulated flash (heap storage, any geometry) split into a key-value store
// partition at the front and a blob partition behind it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"

namespace cairn::blob::testing {

struct Geometry {
  size_t sector_size = 4096;
  size_t blob_sectors = 4;
  size_t alignment = 4;
  size_t kvs_sectors = 3;
  bool memory_mapped = true;
  bool eeprom = false;
  bool ecc = false;  // cuts leave unreadable ECC words (RamFlash ecc)
};

class Storage {
 public:
  explicit Storage(const Geometry& g)
      : storage_(g.sector_size * (g.kvs_sectors + g.blob_sectors)),
        programmed_((storage_.size() + 7) / 8),
        erases_(g.kvs_sectors + g.blob_sectors),
        lifetime_(erases_.size()) {}

 protected:
  std::vector<std::byte> storage_;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
};

inline RamFlashBase::Config FlashConfig(const Geometry& g) {
  RamFlashBase::Config config;
  config.alignment = g.alignment;
  config.memory_mapped = g.memory_mapped;
  config.eeprom = g.eeprom;
  config.ecc = g.ecc;
  return config;
}

// Flash + partitions + a mountable key-value store.
class Rig : private Storage {
 public:
  explicit Rig(const Geometry& g = Geometry())
      : Storage(g),
        geometry(g),
        flash(g.sector_size, g.kvs_sectors + g.blob_sectors, FlashConfig(g),
              storage_, programmed_, erases_, lifetime_),
        kvs_partition(flash, 0, g.kvs_sectors),
        blob_partition(flash, g.kvs_sectors, g.blob_sectors) {}

  // (Re)mounts the key-value store, as a reboot would.
  Status MountKvs() {
    kvs.reset();
    kvs.emplace(kvs_partition);
    return kvs->Init();
  }
  kvs::Store& store() { return *kvs; }

  Geometry geometry;
  RamFlashBase flash;
  FlashPartition kvs_partition;
  FlashPartition blob_partition;
  std::optional<kvs::KeyValueStore<16>> kvs;
};

inline std::vector<std::byte> RandomBytes(size_t n, uint64_t seed) {
  std::vector<std::byte> out(n);
  uint64_t x = seed == 0 ? 1 : seed;
  for (auto& b : out) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b = static_cast<std::byte>((x * 0x2545F4914F6CDD1Dull) >> 56);
  }
  return out;
}

inline std::vector<std::byte> FilledBytes(size_t n, uint8_t value) {
  return std::vector<std::byte>(n, std::byte{value});
}

// Writes `data` through `writer` in `chunk`-byte pieces.
inline Status WriteInChunks(Writer& writer, std::span<const std::byte> data,
                            size_t chunk) {
  while (!data.empty()) {
    const size_t n = std::min(chunk, data.size());
    CAIRN_TRY(writer.Write(data.first(n)));
    data = data.subspan(n);
  }
  return Status::Ok();
}

// Queues `data` through a DeferredWriter in `chunk`-byte pieces, flushing
// every `flush_every` writes and whenever the buffer is full.
inline Status DeferredWriteInChunks(DeferredWriter& writer,
                                    std::span<const std::byte> data,
                                    size_t chunk, size_t flush_every) {
  size_t count = 0;
  while (!data.empty()) {
    size_t n = std::min(chunk, data.size());
    Status status = writer.Write(data.first(n));
    if (status.IsResourceExhausted()) {
      // Flush keeps a partial chunk: queue what fits now.
      CAIRN_TRY(writer.Flush());
      n = std::min(n, writer.ConservativeWriteLimit());
      status = writer.Write(data.first(n));
    }
    CAIRN_TRY(status);
    data = data.subspan(n);
    if (flush_every != 0 && ++count % flush_every == 0) {
      CAIRN_TRY(writer.Flush());
    }
  }
  return Status::Ok();
}

// Reads the whole blob through a BlobReader in `chunk`-byte pieces.
inline Status ReadBlob(BlobStore& store, std::vector<std::byte>& out,
                       size_t chunk = 1000) {
  out.clear();
  BlobReader reader(store);
  CAIRN_TRY(reader.Open());
  std::vector<std::byte> piece(chunk);
  while (true) {
    const StatusWithSize got = reader.Read(piece);
    if (got.status().IsOutOfRange()) break;
    CAIRN_TRY(got.status());
    out.insert(out.end(), piece.begin(), piece.begin() + got.size());
  }
  reader.Close();
  return Status::Ok();
}

}  // namespace cairn::blob::testing
