// cairn blob write|read|info|rm
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "blob.h"
#include "commands.h"
#include "scan.h"

namespace cairn::tool {

namespace {
constexpr size_t kMaxBlobName = 255;

uint32_t Get32(std::span<const std::byte> in, size_t at) {
  return uint32_t(in[at]) | uint32_t(in[at + 1]) << 8 |
         uint32_t(in[at + 2]) << 16 | uint32_t(in[at + 3]) << 24;
}
}  // namespace

size_t BlobWriteSize(const Layout& layout) {
  size_t size =
      (256 + layout.alignment - 1) / layout.alignment * layout.alignment;
  return std::min<size_t>(size, layout.sector_size);
}

BlobHandle::BlobHandle(Image& image, const PartitionSpec& spec, bool for_write,
                       bool force)
    : image_(&image), spec_(spec) {
  const PartitionSpec& meta = image.Partition(spec.meta, PartitionKind::kKvs);
  if (for_write) RefuseIfDamaged(image, meta, force);
  kvs_ = std::make_unique<KvsHandle>(image, meta);
  Status s = kvs_->Init();
  if (!s.ok()) {
    throw Error(s.IsFailedPrecondition() ? kExitNotImage : ExitFor(s),
                fmt::format("cannot mount '{}', the metadata partition of "
                            "blob '{}': {}",
                            meta.name, spec.name, s.str()));
  }
  partition_ = std::make_unique<FlashPartition>(
      image.flash(), spec.first_sector, spec.sector_count);
  buffer_.resize(BlobWriteSize(image.layout()));
  store_ =
      std::make_unique<blob::BlobStore>(spec.name, *partition_, &checksum_,
                                        kvs_->store(), buffer_, buffer_.size());
  s = store_->Init();
  // DATA_LOSS (a corrupt blob) still lets us inspect and rewrite it.
  if (!s.ok() && !s.IsDataLoss() && !s.IsNotFound()) {
    Fail(s, fmt::format("cannot open blob partition '{}'", spec.name));
  }
}

BlobRecord BlobHandle::Record() {
  BlobRecord r;
  Bytes value;
  r.status = kvs_->TryGet(blob::MetadataKey(spec_.name), value);
  if (r.status.IsNotFound()) {
    r.status = Status::Ok();
    return r;
  }
  r.present = true;
  if (!r.status.ok()) return r;
  if (value.size() < blob::kMetadataHeaderBytes) {
    r.status = Status::DataLoss();
    return r;
  }
  r.version = uint8_t(value[0]);
  uint8_t flags = uint8_t(value[1]);
  r.complete = flags & blob::kFlagComplete;
  r.has_checksum = flags & blob::kFlagChecksum;
  r.size = Get32(value, 2);
  r.checksum = Get32(value, 6);
  r.file_name = AsString(std::span(value).subspan(blob::kMetadataHeaderBytes));
  if (r.version != blob::kMetadataVersion) {
    r.status = Status::Unimplemented();
    return r;
  }
  if (r.complete) {
    if (r.size > partition_->size_bytes()) {
      r.status = Status::DataLoss();
      return r;
    }
    std::span<const std::byte> data = image_->bytes().subspan(
        size_t{spec_.first_sector} * image_->layout().sector_size, r.size);
    r.checksum_ok = !r.has_checksum || Crc32::Compute(data) == r.checksum;
    if (!r.checksum_ok) r.status = Status::DataLoss();
  }
  return r;
}

int CmdBlobWrite(const std::string& path, const ImageOptions& options,
                 const std::string& partition, const std::string& name,
                 const std::string& file, bool force) {
  Bytes data = ReadFile(file);
  std::string file_name =
      name.empty() ? std::filesystem::path(file).filename().string() : name;
  std::unique_ptr<Image> image = Image::Load(path, options);
  const PartitionSpec& spec = image->Partition(partition, PartitionKind::kBlob);
  BlobHandle h(*image, spec, true, force);
  if (data.size() > h.store().MaxDataSizeBytes()) {
    throw Error(kExitNoSpace,
                fmt::format("'{}' has {} bytes; blob partition '{}' holds at "
                            "most {}",
                            file, data.size(), spec.name,
                            h.store().MaxDataSizeBytes()));
  }
  if (file_name.size() > kMaxBlobName) {
    throw Error(kExitBadInput,
                fmt::format("file name longer than {} bytes", kMaxBlobName));
  }
  std::vector<std::byte> meta(blob::kMetadataHeaderBytes + kMaxBlobName);
  blob::BlobWriter writer(h.store(), meta);
  Status s = writer.Open();
  if (!s.ok()) Fail(s, fmt::format("cannot open a writer on '{}'", spec.name));
  s = writer.SetFileName(file_name);
  if (s.IsResourceExhausted()) {
    throw Error(kExitNoSpace,
                fmt::format("file name '{}' does not fit the metadata record "
                            "(at most {} bytes)",
                            file_name, writer.MaxFileNameLength()));
  }
  if (!s.ok()) Fail(s, "setting the file name");
  const size_t chunk = 4096;
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    size_t n = std::min(chunk, data.size() - pos);
    s = writer.Write(std::span(data).subspan(pos, n));
    if (!s.ok()) {
      writer.Abandon();
      if (s.IsOutOfRange()) {
        throw Error(kExitNoSpace,
                    fmt::format("blob partition '{}' is full", spec.name));
      }
      Fail(s, fmt::format("writing blob '{}'", spec.name));
    }
  }
  s = writer.Close();
  if (s.IsResourceExhausted()) {
    throw Error(kExitNoSpace,
                fmt::format("the metadata partition '{}' is full", spec.meta));
  }
  if (!s.ok()) Fail(s, fmt::format("closing blob '{}'", spec.name));
  image->Save(path);
  fmt::print("wrote {} bytes from {} to blob '{}' as \"{}\"\n", data.size(),
             file, spec.name, file_name);
  return kExitOk;
}

int CmdBlobRead(const std::string& path, const ImageOptions& options,
                const std::string& partition, const std::string& file) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  const PartitionSpec& spec = image->Partition(partition, PartitionKind::kBlob);
  BlobHandle h(*image, spec, false, false);
  blob::BlobReader reader(h.store());
  Status s = reader.Open();
  if (s.IsNotFound()) {
    throw Error(
        kExitNotFound,
        fmt::format("blob partition '{}' holds no complete blob", spec.name));
  }
  if (s.IsDataLoss()) {
    throw Error(kExitDataLoss,
                fmt::format("the blob in '{}' is corrupt (checksum mismatch)",
                            spec.name));
  }
  if (!s.ok()) Fail(s, fmt::format("opening blob '{}'", spec.name));
  Bytes out;
  std::array<std::byte, 4096> buf;
  for (;;) {
    StatusWithSize r = reader.Read(buf);
    out.insert(out.end(), buf.begin(), buf.begin() + long(r.size()));
    if (r.status().IsOutOfRange()) break;
    if (!r.ok()) Fail(r.status(), fmt::format("reading blob '{}'", spec.name));
    if (r.size() == 0) break;
  }
  reader.Close();
  if (file == "-") {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    WriteFileAtomic(file, out);
    fmt::print("read {} bytes from blob '{}' to {}\n", out.size(), spec.name,
               file);
  }
  return kExitOk;
}

int CmdBlobInfo(const std::string& path, const ImageOptions& options,
                const std::string& partition, bool json) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  const PartitionSpec& spec = image->Partition(partition, PartitionKind::kBlob);
  BlobHandle h(*image, spec, false, false);
  BlobRecord r = h.Record();
  std::string state = !r.present       ? "empty"
                      : !r.status.ok() ? "CORRUPT"
                      : r.complete     ? "complete"
                                       : "incomplete (write in progress)";
  if (json) {
    nlohmann::json j;
    j["partition"] = spec.name;
    j["meta"] = spec.meta;
    j["metadata_key"] = fmt::format("0x{:08x}", h.store().metadata_key());
    j["capacity"] = h.store().MaxDataSizeBytes();
    j["state"] = state;
    if (r.present && r.status.ok()) {
      j["size"] = r.size;
      j["file_name"] = r.file_name;
      j["checksum"] = fmt::format("0x{:08x}", r.checksum);
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("blob '{}' ({} capacity, metadata key 0x{:08x} in '{}')\n",
               spec.name, HumanBytes(h.store().MaxDataSizeBytes()),
               h.store().metadata_key(), spec.meta);
    fmt::print("  state:     {}\n", state);
    if (r.present && r.complete) {
      fmt::print("  file name: {}\n", r.file_name.empty() ? "-" : r.file_name);
      fmt::print("  size:      {} bytes\n", r.size);
      fmt::print("  checksum:  CRC-32 0x{:08x} ({})\n", r.checksum,
                 r.checksum_ok ? "matches" : "MISMATCH: the blob is corrupt");
    } else if (r.present && !r.status.ok()) {
      fmt::print("  error:     {}\n", r.status.str());
    }
  }
  return r.present && !r.status.ok() ? kExitDataLoss : kExitOk;
}

int CmdBlobRm(const std::string& path, const ImageOptions& options,
              const std::string& partition, bool force) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  const PartitionSpec& spec = image->Partition(partition, PartitionKind::kBlob);
  BlobHandle h(*image, spec, true, force);
  if (!h.Record().present) {
    throw Error(kExitNotFound,
                fmt::format("blob partition '{}' holds no blob", spec.name));
  }
  blob::BlobWriter writer(h.store());
  Status s = writer.Open();
  if (!s.ok()) Fail(s, fmt::format("cannot open a writer on '{}'", spec.name));
  s = writer.Erase();
  if (!s.ok()) Fail(s, fmt::format("erasing blob '{}'", spec.name));
  writer.Abandon();
  image->Save(path);
  fmt::print("removed the blob of '{}' (partition erased)\n", spec.name);
  return kExitOk;
}

}  // namespace cairn::tool
