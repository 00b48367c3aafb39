// Minimal byte streams: the blob classes implement these so that code can
// move data without knowing where it goes.
#pragma once

#include <cstddef>
#include <span>

#include "cairn/status.h"
#include "cairn/status_with_size.h"

namespace cairn {

class Writer {
 public:
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Writes all of `data` or returns an error (nothing is half-accepted
  // unless the implementation documents otherwise).
  Status Write(std::span<const std::byte> data) { return DoWrite(data); }
  // A likely lower bound of the bytes Write() would accept right now; 0 when
  // Write() would fail.
  virtual size_t ConservativeWriteLimit() const = 0;

 protected:
  Writer() = default;
  ~Writer() = default;
  virtual Status DoWrite(std::span<const std::byte> data) = 0;
};

class Reader {
 public:
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads up to `out.size()` bytes; OUT_OF_RANGE at the end of the stream.
  StatusWithSize Read(std::span<std::byte> out) { return DoRead(out); }
  virtual size_t ConservativeReadLimit() const = 0;

 protected:
  Reader() = default;
  ~Reader() = default;
  virtual StatusWithSize DoRead(std::span<std::byte> out) = 0;
};

// A reader that can jump: Seek() to an absolute offset, Tell() where it is.
class SeekableReader : public Reader {
 public:
  Status Seek(size_t offset) { return DoSeek(offset); }
  size_t Tell() const { return DoTell(); }

 protected:
  SeekableReader() = default;
  ~SeekableReader() = default;
  virtual Status DoSeek(size_t offset) = 0;
  virtual size_t DoTell() const = 0;
};

}  // namespace cairn
