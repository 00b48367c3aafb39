// A minimal firmware for the linked code-size figures of scripts/bench.sh
// (never run): it mounts a key-value store, puts, gets and deletes a value,
// and writes and reads a blob, on a flash driver that does nothing. Linked
// with --gc-sections against the cross-built library, it shows the code a
// typical product keeps; bench.sh sums the symbols of cairn::kvs and
// cairn::blob in the image.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/flash/flash_memory.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"

namespace {

class NullFlash final : public cairn::FlashMemory {
 public:
  NullFlash() : FlashMemory(4096, 16, 4, std::byte{0xFF}) {}

 protected:
  cairn::Status DoRead(size_t, std::span<std::byte>) override { return {}; }
  cairn::Status DoProgram(size_t, std::span<const std::byte>) override {
    return {};
  }
  cairn::Status DoErase(size_t, size_t) override { return {}; }
};

NullFlash flash;
cairn::FlashPartition kvs_partition(flash, 0, 4);
cairn::FlashPartition blob_partition(flash, 4, 12);
cairn::kvs::KeyValueStore<32> store(kvs_partition);
cairn::Crc32Checksum crc;
cairn::blob::BlobStoreBuffer<256> blobs("fw", blob_partition, &crc, store);

}  // namespace

int main() {
  if (!store.Init().ok()) return 1;
  std::array<std::byte, 16> value{};
  if (!store.Put(1u, std::span<const std::byte>(value)).ok()) return 2;
  if (!store.Get(1u, std::span<std::byte>(value)).ok()) return 3;
  if (!store.Delete(1u).ok()) return 4;

  if (!blobs.Init().ok()) return 5;
  {
    cairn::blob::BlobWriter writer(blobs);
    if (!writer.Open().ok()) return 6;
    if (!writer.Write(value).ok()) return 7;
    if (!writer.Close().ok()) return 8;
  }
  cairn::blob::BlobReader reader(blobs);
  if (!reader.Open().ok()) return 9;
  if (!reader.Read(value).ok()) return 10;
  reader.Close();
  return 0;
}
