#include "cairn/host/file_flash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

namespace cairn {
namespace {

bool ValidGeometry(size_t sector_size, size_t sector_count, size_t alignment) {
  return sector_size != 0 && sector_count != 0 && alignment != 0 &&
         alignment <= FlashMemory::kMaxAlignment &&
         sector_size % alignment == 0 &&
         sector_size <= std::numeric_limits<size_t>::max() / sector_count;
}

Status FromErrno(int error) {
  if (error == ENOENT || error == ENOTDIR) return Status::NotFound();
  if (error == EISDIR) return Status::InvalidArgument();
  return Status::Internal();
}

// pwrite/pread until done, retrying short transfers and EINTR.
bool WriteAll(int fd, const std::byte* data, size_t length, off_t offset) {
  while (length > 0) {
    const ssize_t n = ::pwrite(fd, data, length, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

bool ReadAll(int fd, std::byte* data, size_t length, off_t offset) {
  while (length > 0) {
    const ssize_t n = ::pread(fd, data, length, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

Status FileFlash::Create(const std::string& path, size_t sector_size,
                         size_t sector_count, size_t alignment,
                         std::byte erased) {
  if (!ValidGeometry(sector_size, sector_count, alignment)) {
    return Status::InvalidArgument();
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno);
  const std::vector<std::byte> chunk(std::min<size_t>(sector_size, 1 << 16),
                                     erased);
  const size_t total = sector_size * sector_count;
  bool ok = true;
  for (size_t offset = 0; ok && offset < total; offset += chunk.size()) {
    const size_t n = std::min(chunk.size(), total - offset);
    ok = WriteAll(fd, chunk.data(), n, static_cast<off_t>(offset));
  }
  if (::close(fd) != 0) ok = false;
  return ok ? Status::Ok() : Status::Internal();
}

std::unique_ptr<FileFlash> FileFlash::Open(const std::string& path,
                                           size_t sector_size, size_t alignment,
                                           std::byte erased, Status* status,
                                           Access access) {
  Status local;
  Status& result = status != nullptr ? *status : local;
  const bool read_only = access == Access::kReadOnly;
  if (!ValidGeometry(sector_size, 1, alignment)) {
    result = Status::InvalidArgument();
    return nullptr;
  }
  const int fd =
      ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    result = FromErrno(errno);
    return nullptr;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    result = Status::Internal();
    ::close(fd);
    return nullptr;
  }
  const size_t size = static_cast<size_t>(info.st_size);
  if (!S_ISREG(info.st_mode) || info.st_size <= 0 || size % sector_size != 0) {
    result = Status::InvalidArgument();
    ::close(fd);
    return nullptr;
  }
  std::vector<std::byte> contents(size);
  if (!ReadAll(fd, contents.data(), size, 0)) {
    result = Status::Internal();
    ::close(fd);
    return nullptr;
  }
  result = Status::Ok();
  return std::unique_ptr<FileFlash>(new FileFlash(path, fd, std::move(contents),
                                                  sector_size, alignment,
                                                  erased, read_only));
}

FileFlash::FileFlash(std::string path, int fd, std::vector<std::byte> contents,
                     size_t sector_size, size_t alignment, std::byte erased,
                     bool read_only)
    : FlashMemory(sector_size, contents.size() / sector_size, alignment,
                  erased),
      path_(std::move(path)),
      fd_(fd),
      contents_(std::move(contents)),
      read_only_(read_only) {
  set_mapped_base(contents_.data());
}

FileFlash::~FileFlash() { ::close(fd_); }

Status FileFlash::Sync() {
  return ::fsync(fd_) == 0 ? Status::Ok() : Status::Internal();
}

Status FileFlash::WriteThrough(size_t address, size_t length) {
  return WriteAll(fd_, contents_.data() + address, length,
                  static_cast<off_t>(address))
             ? Status::Ok()
             : Status::Internal();
}

Status FileFlash::DoRead(size_t address, std::span<std::byte> out) {
  std::copy_n(contents_.data() + address, out.size(), out.data());
  return Status::Ok();
}

Status FileFlash::DoProgram(size_t address, std::span<const std::byte> data) {
  if (read_only_) return Status::FailedPrecondition();
  std::byte* dst = contents_.data() + address;
  const std::byte e = erased_value();
  for (size_t i = 0; i < data.size(); ++i) {
    // A programmed bit may not return to the erased state.
    if (((dst[i] ^ e) & ~(data[i] ^ e)) != std::byte{0}) {
      return Status::FailedPrecondition();
    }
  }
  const std::vector<std::byte> previous(dst, dst + data.size());
  std::copy(data.begin(), data.end(), dst);
  const Status status = WriteThrough(address, data.size());
  if (!status.ok()) std::copy(previous.begin(), previous.end(), dst);
  return status;
}

Status FileFlash::DoErase(size_t first_sector, size_t count) {
  if (read_only_) return Status::FailedPrecondition();
  const size_t begin = first_sector * sector_size();
  const size_t length = count * sector_size();
  std::byte* dst = contents_.data() + begin;
  const std::vector<std::byte> previous(dst, dst + length);
  std::fill_n(dst, length, erased_value());
  const Status status = WriteThrough(begin, length);
  if (!status.ok()) std::copy(previous.begin(), previous.end(), dst);
  return status;
}

}  // namespace cairn
