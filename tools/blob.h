// Blob partitions as the tool sees them: a BlobStore named after the
// partition (metadata key MetadataKey(partition name)) with a CRC-32
// checksum, its record in the partition's "meta" kvs partition.
#pragma once

#include <memory>
#include <string>

#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "image.h"

namespace cairn::tool {

// The metadata record, decoded without the library (for info and check).
struct BlobRecord {
  bool present = false;  // a record exists
  Status status;         // how reading it went (DATA_LOSS: corrupt)
  uint8_t version = 0;
  bool complete = false;
  bool has_checksum = false;
  uint32_t size = 0;
  uint32_t checksum = 0;
  std::string file_name;
  bool checksum_ok = false;  // recomputed over the partition bytes
};

class BlobHandle {
 public:
  // Mounts the meta kvs partition and opens the blob store. Throws.
  BlobHandle(Image& image, const PartitionSpec& spec, bool for_write,
             bool force);
  blob::BlobStore& store() { return *store_; }
  KvsHandle& kvs() { return *kvs_; }
  const PartitionSpec& spec() const { return spec_; }
  BlobRecord Record();

 private:
  Image* image_;
  PartitionSpec spec_;
  std::unique_ptr<KvsHandle> kvs_;
  std::unique_ptr<FlashPartition> partition_;
  Crc32Checksum checksum_;
  std::vector<std::byte> buffer_;
  std::unique_ptr<blob::BlobStore> store_;
};

// The bytes per flash program the tool uses for blobs.
size_t BlobWriteSize(const Layout& layout);

}  // namespace cairn::tool
