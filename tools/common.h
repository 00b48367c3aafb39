// Shared pieces of the cairn tool: exit codes, the error type every command
// throws, and small byte/number/text helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn::tool {

// The documented exit codes (docs/tool.md). Each failure class has its own.
enum Exit : int {
  kExitOk = 0,
  kExitInternal = 1,       // a bug or an unexpected library status
  kExitUsage = 2,          // bad command line
  kExitIo = 3,             // a file cannot be read or written
  kExitLayout = 4,         // bad layout file or geometry that does not fit
  kExitNotImage = 5,       // not a cairn image / corrupt or foreign record
  kExitNotFound = 6,       // unknown partition, key or blob
  kExitNoSpace = 7,        // value too large, partition or index full
  kExitBadInput = 8,       // malformed value, CSV line, hex, base64, number
  kExitDamaged = 9,        // write refused: the image is damaged (use --force)
  kExitDataLoss = 10,      // data was lost (check, get of a corrupt key)
  kExitTorture = 11,       // torture found a violated invariant
  kExitInconsistent = 12,  // check found problems but no data loss
};

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Maps a library status to the tool exit code that fits it best.
int ExitFor(Status status);
[[noreturn]] void Fail(Status status, const std::string& what);

using Bytes = std::vector<std::byte>;

Bytes ReadFile(const std::string& path);
// Writes atomically: a temporary file next to `path`, then rename().
void WriteFileAtomic(const std::string& path, std::span<const std::byte> data);

std::string ToHex(std::span<const std::byte> data, bool spaced = false);
// Accepts "0a1B", "0x0a1b", and whitespace/colons between byte pairs.
Bytes FromHex(std::string_view text);
std::string ToBase64(std::span<const std::byte> data);
Bytes FromBase64(std::string_view text);
Bytes FromString(std::string_view text);
std::string AsString(std::span<const std::byte> data);
bool IsPrintable(std::span<const std::byte> data);
// A short human preview: text in quotes, or hex.
std::string Preview(std::span<const std::byte> data, size_t max_chars = 24);

// Parses a decimal or 0x-hex unsigned number; throws kExitBadInput/kExitUsage.
uint64_t ParseUnsigned(std::string_view text, uint64_t max,
                       const std::string& what, int code = kExitBadInput);
// Encodes `text` as a little-endian integer of type `type` (u8..u64,
// i8..i64), range-checked.
Bytes EncodeTyped(std::string_view type, std::string_view text);
bool IsIntegerType(std::string_view type);
// Decodes a value of `type` (must have the right size) to decimal text.
std::string DecodeTyped(std::string_view type, std::span<const std::byte> v);

std::string Trim(std::string_view s);
std::string Lower(std::string_view s);

// A text bar of `width` cells for value/max.
std::string Bar(double fraction, size_t width);
std::string HumanBytes(uint64_t bytes);

}  // namespace cairn::tool
