#include "cairn/fs/flat_file_system.h"

#include <array>

namespace cairn::fs {

Result<FileInfo> FlatFileSystem::Stat(uint32_t id, std::span<char> name) const {
  blob::BlobStore* store = Store(id);
  if (store == nullptr) return Status::NotFound();
  const size_t size = store->ReadableDataBytes();
  if (size == 0) return Status::NotFound();
  const StatusWithSize got = store->GetFileName(name);
  if (!got.ok() && !got.status().IsResourceExhausted()) return got.status();
  FileInfo info;
  info.id = id;
  info.size = size;
  info.name_length = got.size();
  return info;
}

Result<uint32_t> FlatFileSystem::Find(std::string_view name) const {
  std::array<char, kMaxFindNameLength> buffer;
  for (uint32_t id = 0; id < stores_.size(); ++id) {
    const Result<FileInfo> info = Stat(id, buffer);
    if (info.ok() && info->name_length == name.size() &&
        std::string_view(buffer.data(), name.size()) == name) {
      return id;
    }
  }
  return Status::NotFound();
}

StatusWithSize FlatFileSystem::Read(uint32_t id, size_t offset,
                                    std::span<std::byte> out) const {
  blob::BlobStore* store = Store(id);
  if (store == nullptr) return StatusWithSize(Status::NotFound(), 0);
  blob::BlobReader reader(*store);
  Status status = reader.Open();
  if (status.ok()) status = reader.Seek(offset);
  if (!status.ok()) return StatusWithSize(status, 0);
  const StatusWithSize got = reader.Read(out);
  reader.Close();
  return got;
}

Status FlatFileSystem::Delete(uint32_t id) const {
  blob::BlobStore* store = Store(id);
  if (store == nullptr || !store->HasData()) return Status::NotFound();
  blob::BlobWriter writer(*store);
  CAIRN_TRY(writer.Open());
  const Status status = writer.Discard();
  writer.Close().IgnoreError();
  return status;
}

}  // namespace cairn::fs
