// FlatFileSystem: several blob stores seen as one flat directory of files.
//
// File i is blob store stores[i]: its id is i, its size the stored blob's
// size and its name the blob's file name (possibly empty). A store without a
// valid blob is not a file. The view owns nothing and keeps no state, so it
// always shows what the stores hold; it follows the stores' rules (a file
// cannot be deleted while it is being read, nor read while it is written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "cairn/blob/blob_store.h"
#include "cairn/result.h"
#include "cairn/status.h"
#include "cairn/status_with_size.h"

namespace cairn::fs {

struct FileInfo {
  uint32_t id = 0;         // index of the blob store
  size_t size = 0;         // bytes of the blob
  size_t name_length = 0;  // full length of the name (may exceed the buffer)
};

class FlatFileSystem {
 public:
  // Longest name Find() can match.
  static constexpr size_t kMaxFindNameLength = 64;

  explicit FlatFileSystem(std::span<blob::BlobStore* const> stores)
      : stores_(stores) {}

  // Ids run from 0 to max_files() - 1.
  size_t max_files() const { return stores_.size(); }

  // Size and name of file `id`; the name is copied into `name` (truncated to
  // its size, no terminator). NOT_FOUND: no such id or no blob stored there.
  Result<FileInfo> Stat(uint32_t id, std::span<char> name) const;

  // Calls fn(const FileInfo&, std::string_view name) for every file, in id
  // order, with the name in `name_buffer` (truncated to fit). Returns the
  // number of files.
  template <typename Fn>
  size_t List(std::span<char> name_buffer, Fn&& fn) const {
    size_t count = 0;
    for (uint32_t id = 0; id < stores_.size(); ++id) {
      const Result<FileInfo> info = Stat(id, name_buffer);
      if (!info.ok()) continue;
      const size_t shown = info->name_length < name_buffer.size()
                               ? info->name_length
                               : name_buffer.size();
      fn(*info, std::string_view(name_buffer.data(), shown));
      ++count;
    }
    return count;
  }

  // Id of the first file called `name`. NOT_FOUND if none (or the name is
  // longer than kMaxFindNameLength).
  Result<uint32_t> Find(std::string_view name) const;

  // Reads file `id` from `offset` into `out`; the size is the number of bytes
  // read (less than out.size() only at the end of the file). NOT_FOUND: no
  // such file. OUT_OF_RANGE: offset at or past the end. FAILED_PRECONDITION:
  // the file is being written.
  StatusWithSize Read(uint32_t id, size_t offset,
                      std::span<std::byte> out) const;

  // Deletes file `id` (discards the blob; its sectors are erased by the next
  // write). NOT_FOUND: no such file. FAILED_PRECONDITION: the file is open.
  Status Delete(uint32_t id) const;

 private:
  blob::BlobStore* Store(uint32_t id) const {
    return id < stores_.size() ? stores_[id] : nullptr;
  }

  std::span<blob::BlobStore* const> stores_;
};

}  // namespace cairn::fs
