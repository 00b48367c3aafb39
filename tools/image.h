// An image file loaded into a simulated flash (RamFlashBase over vectors).
//
// Every command works on this in-memory copy and, if it changes anything,
// writes the whole file back atomically (temporary file + rename) only after
// the command succeeded: a failed or refused command never leaves a
// half-written image behind.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"
#include "common.h"
#include "layout.h"

namespace cairn::tool {

// How to interpret an image: the recorded layout unless overridden.
struct ImageOptions {
  std::string layout_path;  // --layout
  // Explicit geometry for raw dumps (--sector-size etc.); 0 = not given.
  uint32_t sector_size = 0;
  uint16_t alignment = 0;
  int erased = -1;
  std::string kind = "kvs";  // kind of the single partition of a raw dump
};

class Image {
 public:
  // A fresh, erased image with `layout`; kvs partitions get formatted.
  // With `ecc` the simulated flash has ECC (RamFlash Config::ecc): what a
  // power cut leaves half written reads DATA_LOSS until erased.
  static std::unique_ptr<Image> Create(const Layout& layout, bool ecc = false);
  // Loads `path`. Throws kExitIo, kExitNotImage, kExitLayout.
  static std::unique_ptr<Image> Load(const std::string& path,
                                     const ImageOptions& options);

  // An independent in-memory copy (to mount without touching this one); on
  // ECC flash the words that do not read do not read in the copy either.
  std::unique_ptr<Image> Clone() const;

  // Writes the flash contents (plus the record, unless the image was a raw
  // dump without one) to `path` atomically.
  void Save(const std::string& path) const;
  // Writes only the raw flash bytes.
  void SaveRaw(const std::string& path) const;

  const Layout& layout() const { return layout_; }
  Layout& layout() { return layout_; }
  bool has_record() const { return has_record_; }
  void set_has_record(bool value) { has_record_ = value; }
  RamFlashBase& flash() { return *flash_; }
  std::span<const std::byte> bytes() const { return flash_->bytes(); }

  // The partition named `name`, or the only/first one of `kind` when `name`
  // is empty. Throws kExitNotFound.
  const PartitionSpec& Partition(const std::string& name,
                                 std::optional<PartitionKind> kind) const;
  // Records a key name (for listings); returns true if it was new.
  bool AddKeyName(const std::string& name);
  // Known name of `key`, or "".
  std::string NameOf(kvs::Key key) const;

 private:
  Image(const Layout& layout, bool ecc);

  Layout layout_;
  bool has_record_ = true;
  std::vector<std::byte> storage_;
  bool ecc_ = false;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
  // Held in place and final: RamFlashBase has no virtual destructor.
  class Flash final : public RamFlashBase {
    using RamFlashBase::RamFlashBase;
  };
  std::optional<Flash> flash_;
};

// A mounted key-value store on one partition of an image.
class KvsHandle {
 public:
  // Mounts (Store::Init). `allow_format` formats an erased partition (Init
  // does that by itself); a foreign partition is refused.
  KvsHandle(Image& image, const PartitionSpec& spec);
  Status Init();
  kvs::Store& store() { return *store_; }
  const PartitionSpec& spec() const { return spec_; }
  FlashPartition& partition() { return *partition_; }

  // The whole value of `key`: throws kExitNotFound / kExitDataLoss.
  Bytes Get(kvs::Key key) const;
  // Like Get but returns the status instead of throwing.
  Status TryGet(kvs::Key key, Bytes& out) const;
  std::vector<kvs::Key> Keys() const;

 private:
  PartitionSpec spec_;
  std::unique_ptr<FlashPartition> partition_;
  std::vector<kvs::IndexEntry> index_;
  std::unique_ptr<kvs::Store> store_;
};

size_t IndexCapacity(const Layout& layout, const PartitionSpec& spec);

}  // namespace cairn::tool
