#include "image.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "cairn/blob/blob_store.h"
#include "cairn/kvs/format.h"

namespace cairn::tool {

Image::Image(const Layout& layout, bool ecc) : layout_(layout), ecc_(ecc) {
  size_t bytes = layout.size_bytes();
  storage_.resize(bytes);
  // One bit per unit, twice with ECC (the map of units that do not read).
  programmed_.resize((bytes + 7) / 8 * (ecc ? 2 : 1));
  erases_.resize(layout.sector_count);
  lifetime_.resize(layout.sector_count);
  RamFlashBase::Config config;
  config.alignment = layout.alignment;
  config.erased_value = std::byte(layout.erased);
  config.memory_mapped = !ecc;
  config.ecc = ecc;
  flash_.emplace(layout.sector_size, layout.sector_count, config, storage_,
                 programmed_, erases_, lifetime_);
  if (flash_->sector_count() != layout.sector_count) {
    throw Error(kExitLayout,
                fmt::format("the flash simulator refused the geometry {}",
                            layout.Describe()));
  }
}

std::unique_ptr<Image> Image::Create(const Layout& layout, bool ecc) {
  std::unique_ptr<Image> image(new Image(layout, ecc));
  for (const PartitionSpec& p : layout.partitions) {
    if (p.kind != PartitionKind::kKvs) continue;
    KvsHandle kvs(*image, p);
    Status s = kvs.Init();
    if (!s.ok()) {
      throw Error(s.IsInvalidArgument() ? kExitLayout : ExitFor(s),
                  fmt::format("cannot format kvs partition '{}' ({}): {}",
                              p.name, layout.Describe(), s.str()));
    }
  }
  return image;
}

std::unique_ptr<Image> Image::Load(const std::string& path,
                                   const ImageOptions& options) {
  Bytes file = ReadFile(path);
  Layout recorded;
  size_t record_bytes = 0;
  bool has_record =
      DecodeRecord(file, recorded, record_bytes) == RecordState::kValid;
  size_t flash_bytes = file.size() - (has_record ? record_bytes : 0);
  Layout layout;
  if (!options.layout_path.empty()) {
    layout = ParseLayoutFile(options.layout_path);
    if (has_record) layout.key_names = recorded.key_names;
  } else if (options.sector_size != 0) {
    if (options.erased > 255) {
      throw Error(kExitUsage, fmt::format("--erased {} is not a byte value",
                                          options.erased));
    }
    layout.sector_size = options.sector_size;
    layout.alignment = options.alignment != 0 ? options.alignment : 4;
    layout.erased = options.erased >= 0 ? uint8_t(options.erased) : 0xFF;
    if (flash_bytes == 0 || flash_bytes % options.sector_size != 0) {
      throw Error(kExitLayout,
                  fmt::format("'{}' has {} bytes of flash, not a multiple of "
                              "the sector size {}",
                              path, flash_bytes, options.sector_size));
    }
    layout.sector_count = uint32_t(flash_bytes / options.sector_size);
    PartitionSpec p;
    p.name = Lower(options.kind) == "blob" ? "blob" : "kvs";
    p.kind = Lower(options.kind) == "blob" ? PartitionKind::kBlob
                                           : PartitionKind::kKvs;
    if (Lower(options.kind) != "blob" && Lower(options.kind) != "kvs") {
      throw Error(
          kExitUsage,
          fmt::format("--kind must be kvs or blob, not '{}'", options.kind));
    }
    p.first_sector = 0;
    p.sector_count = layout.sector_count;
    layout.partitions.push_back(p);
    if (has_record) layout.key_names = recorded.key_names;
    layout.Validate();
  } else if (has_record) {
    layout = recorded;
  } else {
    throw Error(kExitNotImage,
                fmt::format("'{}' is not a cairn image (no layout record); for "
                            "a raw dump pass --layout or --sector-size",
                            path));
  }
  if (layout.size_bytes() != flash_bytes) {
    throw Error(
        kExitLayout,
        fmt::format("'{}' holds {} bytes of flash but the layout "
                    "describes {} ({})",
                    path, flash_bytes, layout.size_bytes(), layout.Describe()));
  }
  std::unique_ptr<Image> image(new Image(layout, false));
  image->has_record_ = has_record;
  std::memcpy(image->flash_->bytes().data(), file.data(), flash_bytes);
  return image;
}

std::unique_ptr<Image> Image::Clone() const {
  std::unique_ptr<Image> copy(new Image(layout_, ecc_));
  copy->has_record_ = has_record_;
  std::copy(storage_.begin(), storage_.end(), copy->storage_.begin());
  if (ecc_) copy->programmed_ = programmed_;
  return copy;
}

void Image::Save(const std::string& path) const {
  Bytes out(flash_->bytes().begin(), flash_->bytes().end());
  if (has_record_) {
    Bytes record = EncodeRecord(layout_);
    out.insert(out.end(), record.begin(), record.end());
  }
  WriteFileAtomic(path, out);
}

void Image::SaveRaw(const std::string& path) const {
  WriteFileAtomic(path, flash_->bytes());
}

const PartitionSpec& Image::Partition(const std::string& name,
                                      std::optional<PartitionKind> kind) const {
  if (!name.empty()) {
    const PartitionSpec* p = layout_.Find(name);
    if (p == nullptr) {
      std::string known;
      for (const PartitionSpec& q : layout_.partitions) {
        known += (known.empty() ? "" : ", ") + q.name;
      }
      throw Error(kExitNotFound, fmt::format("no partition '{}' (the image "
                                             "has: {})",
                                             name, known));
    }
    if (kind && p->kind != *kind) {
      throw Error(kExitNotFound,
                  fmt::format("partition '{}' is a {} partition, not {}", name,
                              KindName(p->kind), KindName(*kind)));
    }
    return *p;
  }
  for (const PartitionSpec& p : layout_.partitions) {
    if (!kind || p.kind == *kind) return p;
  }
  throw Error(kExitNotFound, fmt::format("the image has no {} partition",
                                         kind ? KindName(*kind) : "usable"));
}

bool Image::AddKeyName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  if (std::find(layout_.key_names.begin(), layout_.key_names.end(), name) !=
      layout_.key_names.end()) {
    return false;
  }
  layout_.key_names.push_back(name);
  return true;
}

std::string Image::NameOf(kvs::Key key) const {
  for (const std::string& n : layout_.key_names) {
    if (kvs::KeyFromName(n) == key) return n;
  }
  for (const PartitionSpec& p : layout_.partitions) {
    if (p.kind == PartitionKind::kBlob && blob::MetadataKey(p.name) == key) {
      return "blob:" + p.name;
    }
  }
  return "";
}

size_t IndexCapacity(const Layout& layout, const PartitionSpec& spec) {
  if (spec.max_keys != 0) return spec.max_keys;
  // Every entry takes at least one slot: an upper bound of keys.
  size_t slot = kvs::format::UnitSize(layout.alignment);
  size_t bytes = size_t{layout.sector_size} * spec.sector_count;
  return std::clamp<size_t>(bytes / slot, 16, 1u << 20);
}

KvsHandle::KvsHandle(Image& image, const PartitionSpec& spec) : spec_(spec) {
  partition_ = std::make_unique<FlashPartition>(
      image.flash(), spec.first_sector, spec.sector_count);
  index_.resize(IndexCapacity(image.layout(), spec));
  kvs::Options options;
  options.format_if_unusable = false;
  store_ = std::make_unique<kvs::Store>(*partition_, index_, options);
}

Status KvsHandle::Init() { return store_->Init(); }

Status KvsHandle::TryGet(kvs::Key key, Bytes& out) const {
  StatusWithSize size = store_->ValueSize(key);
  if (!size.ok()) return size.status();
  out.assign(size.size(), std::byte{0});
  StatusWithSize got = store_->Get(key, out);
  if (!got.ok()) return got.status();
  out.resize(got.size());
  return Status::Ok();
}

Bytes KvsHandle::Get(kvs::Key key) const {
  Bytes out;
  Status s = TryGet(key, out);
  if (!s.ok()) {
    if (s.IsNotFound()) {
      throw Error(kExitNotFound, fmt::format("key 0x{:08x} not found in '{}'",
                                             key, spec_.name));
    }
    Fail(s, fmt::format("reading key 0x{:08x} in '{}'", key, spec_.name));
  }
  return out;
}

std::vector<kvs::Key> KvsHandle::Keys() const {
  std::vector<kvs::Key> keys;
  for (kvs::Store::Item item : *store_) keys.push_back(item.key());
  return keys;
}

}  // namespace cairn::tool
