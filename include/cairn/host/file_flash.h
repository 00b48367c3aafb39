// FileFlash (host only): a flash image file used as flash memory.
//
// The image is held in memory and every Program/Erase is written through to
// the file at once (pwrite), so a crash of the host process loses nothing
// that was acknowledged. Programs obey the NOR bit rule: a program may only
// move bits away from the erased value (FAILED_PRECONDITION otherwise).
// Whether a unit was already programmed is not tracked: an image carries no
// such state, and rewriting identical bits is harmless on the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cairn/flash/flash_memory.h"
#include "cairn/status.h"

namespace cairn {

class FileFlash final : public FlashMemory {
 public:
  enum class Access : uint8_t { kReadWrite, kReadOnly };

  // Writes a fresh, fully erased image of sector_size * sector_count bytes
  // to `path`, replacing any file there. INVALID_ARGUMENT for a geometry no
  // flash can have (zero sizes, alignment outside 1..256 or not dividing the
  // sector size); NOT_FOUND if the directory does not exist; INTERNAL for
  // other I/O errors.
  static Status Create(const std::string& path, size_t sector_size,
                       size_t sector_count, size_t alignment, std::byte erased);

  // Opens an existing image. Its size must be a non-zero multiple of
  // `sector_size` (INVALID_ARGUMENT otherwise, as for a bad geometry or a
  // path that is not a regular file); a missing file gives NOT_FOUND. On
  // failure returns nullptr; `status` (may be null) receives the outcome. With
  // Access::kReadOnly the file is opened read-only and Program/Erase fail with
  // FAILED_PRECONDITION.
  static std::unique_ptr<FileFlash> Open(const std::string& path,
                                         size_t sector_size, size_t alignment,
                                         std::byte erased, Status* status,
                                         Access access = Access::kReadWrite);

  ~FileFlash();

  // The current image (also the memory-mapped base).
  std::span<const std::byte> bytes() const { return contents_; }
  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // Flushes the file to stable storage (fsync); INTERNAL on failure.
  Status Sync();

 protected:
  Status DoRead(size_t address, std::span<std::byte> out) override;
  Status DoProgram(size_t address, std::span<const std::byte> data) override;
  Status DoErase(size_t first_sector, size_t count) override;

 private:
  FileFlash(std::string path, int fd, std::vector<std::byte> contents,
            size_t sector_size, size_t alignment, std::byte erased,
            bool read_only);

  // Writes contents_[address, address + length) to the file.
  Status WriteThrough(size_t address, size_t length);

  std::string path_;
  int fd_;
  std::vector<std::byte> contents_;
  bool read_only_;
};

}  // namespace cairn
