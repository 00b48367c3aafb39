#include "common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace cairn::tool {

int ExitFor(Status status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kResourceExhausted:
      return kExitNoSpace;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return kExitBadInput;
    case StatusCode::kDataLoss:
      return kExitDataLoss;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnimplemented:
      return kExitNotImage;
    default:
      return kExitInternal;
  }
}

void Fail(Status status, const std::string& what) {
  throw Error(ExitFor(status), fmt::format("{}: {}", what, status.str()));
}

Bytes ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(kExitIo, fmt::format("'{}' is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(kExitIo, fmt::format("cannot open '{}': {}", path,
                                     std::strerror(errno)));
  }
  // Read in chunks (no tellg: pipes and devices have no size).
  constexpr size_t kLimit = size_t{1} << 31;
  Bytes data;
  std::array<char, 1 << 16> chunk;
  while (in) {
    in.read(chunk.data(), chunk.size());
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    if (data.size() + size_t(n) > kLimit) {
      throw Error(kExitIo, fmt::format("'{}' is larger than 2 GiB", path));
    }
    const std::byte* p = reinterpret_cast<const std::byte*>(chunk.data());
    data.insert(data.end(), p, p + n);
  }
  if (in.bad()) throw Error(kExitIo, fmt::format("cannot read '{}'", path));
  return data;
}

void WriteFileAtomic(const std::string& path, std::span<const std::byte> data) {
  std::string tmp = path + ".tmp-cairn";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Error(kExitIo, fmt::format("cannot write '{}': {}", tmp,
                                       std::strerror(errno)));
    }
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error(kExitIo, fmt::format("cannot write '{}'", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    throw Error(kExitIo, fmt::format("cannot replace '{}': {}", path,
                                     std::strerror(err)));
  }
}

std::string ToHex(std::span<const std::byte> data, bool spaced) {
  std::string out;
  out.reserve(data.size() * 3);
  static const char* kDigits = "0123456789abcdef";
  for (size_t i = 0; i < data.size(); ++i) {
    if (spaced && i != 0) out.push_back(' ');
    auto b = static_cast<uint8_t>(data[i]);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

static int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Bytes FromHex(std::string_view text) {
  std::string digits;
  std::string_view t = text;
  if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    t.remove_prefix(2);
  }
  for (char c : t) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ':') continue;
    if (HexDigit(c) < 0) {
      throw Error(kExitBadInput,
                  fmt::format("invalid hex digit '{}' in \"{}\"", c, text));
    }
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) {
    throw Error(kExitBadInput,
                fmt::format("odd number of hex digits in \"{}\"", text));
  }
  Bytes out(digits.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = std::byte(static_cast<uint8_t>(HexDigit(digits[2 * i]) * 16 +
                                            HexDigit(digits[2 * i + 1])));
  }
  return out;
}

static const char kB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string ToBase64(std::span<const std::byte> data) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) |
                 uint32_t(data[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint32_t(data[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Bytes FromBase64(std::string_view text) {
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  size_t count = 0;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      ++pad;
      ++count;
      continue;
    }
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr || pad != 0) {
      throw Error(kExitBadInput, fmt::format("invalid base64 \"{}\"", text));
    }
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    ++count;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(std::byte((acc >> bits) & 0xFF));
    }
  }
  if (count % 4 != 0 || pad > 2) {
    throw Error(kExitBadInput,
                fmt::format("invalid base64 length in \"{}\"", text));
  }
  return out;
}

Bytes FromString(std::string_view text) {
  Bytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string AsString(std::span<const std::byte> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

bool IsPrintable(std::span<const std::byte> data) {
  for (std::byte b : data) {
    auto c = static_cast<unsigned char>(b);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string Preview(std::span<const std::byte> data, size_t max_chars) {
  if (data.empty()) return "(empty)";
  if (IsPrintable(data)) {
    std::string s = AsString(data);
    if (s.size() > max_chars) s = s.substr(0, max_chars - 3) + "...";
    return "\"" + s + "\"";
  }
  size_t n = std::min(data.size(), max_chars / 3);
  std::string s = ToHex(data.first(n), true);
  if (n < data.size()) s += " ...";
  return s;
}

uint64_t ParseUnsigned(std::string_view text, uint64_t max,
                       const std::string& what, int code) {
  std::string t = Trim(text);
  int base = 10;
  std::string_view digits = t;
  if (digits.size() > 2 && digits[0] == '0' &&
      (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                   value, base);
  if (digits.empty() || ec == std::errc::invalid_argument ||
      ptr != digits.data() + digits.size()) {
    throw Error(code, fmt::format("{}: \"{}\" is not a number", what, text));
  }
  if (ec == std::errc::result_out_of_range || value > max) {
    throw Error(code,
                fmt::format("{}: {} is out of range (max {})", what, t, max));
  }
  return value;
}

bool IsIntegerType(std::string_view type) {
  static const char* kTypes[] = {"u8", "u16", "u32", "u64",
                                 "i8", "i16", "i32", "i64"};
  for (const char* t : kTypes) {
    if (type == t) return true;
  }
  return false;
}

static size_t TypeBytes(std::string_view type) {
  return static_cast<size_t>(std::stoi(std::string(type.substr(1)))) / 8;
}

Bytes EncodeTyped(std::string_view type, std::string_view text) {
  if (!IsIntegerType(type)) {
    throw Error(kExitBadInput, fmt::format("unknown type '{}'", type));
  }
  size_t bytes = TypeBytes(type);
  unsigned bits = static_cast<unsigned>(bytes * 8);
  std::string t = Trim(text);
  uint64_t raw = 0;
  if (type[0] == 'u') {
    uint64_t max = bits == 64 ? std::numeric_limits<uint64_t>::max()
                              : (uint64_t{1} << bits) - 1;
    if (!t.empty() && t[0] == '-') {
      throw Error(kExitBadInput,
                  fmt::format("{} value {} is negative", type, t));
    }
    raw = ParseUnsigned(t, max, std::string(type) + " value");
  } else {
    bool negative = !t.empty() && t[0] == '-';
    std::string_view mag = t;
    if (negative || (!t.empty() && t[0] == '+')) mag.remove_prefix(1);
    uint64_t limit = uint64_t{1} << (bits - 1);  // |min|
    uint64_t m = ParseUnsigned(mag, negative ? limit : limit - 1,
                               std::string(type) + " value");
    raw = negative ? (~m + 1) : m;
  }
  Bytes out(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    out[i] = std::byte((raw >> (8 * i)) & 0xFF);
  }
  return out;
}

std::string DecodeTyped(std::string_view type, std::span<const std::byte> v) {
  if (!IsIntegerType(type)) {
    throw Error(kExitUsage, fmt::format("unknown type '{}'", type));
  }
  size_t bytes = TypeBytes(type);
  if (v.size() != bytes) {
    throw Error(kExitBadInput, fmt::format("value has {} bytes, {} needs {}",
                                           v.size(), type, bytes));
  }
  uint64_t raw = 0;
  for (size_t i = 0; i < bytes; ++i) raw |= uint64_t(v[i]) << (8 * i);
  if (type[0] == 'u') return std::to_string(raw);
  unsigned bits = static_cast<unsigned>(bytes * 8);
  if (bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~uint64_t{0} << bits;
  return std::to_string(static_cast<int64_t>(raw));
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

std::string Bar(double fraction, size_t width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  size_t eighths = static_cast<size_t>(fraction * double(width) * 8 + 0.5);
  static const char* kParts[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  std::string out;
  size_t full = eighths / 8;
  for (size_t i = 0; i < full; ++i) out += "█";
  size_t cells = full;
  if (eighths % 8 != 0 && full < width) {
    out += kParts[eighths % 8];
    ++cells;
  }
  for (; cells < width; ++cells) out += "·";
  return out;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 10 * 1024) return fmt::format("{} B", bytes);
  if (bytes < 10 * 1024 * 1024) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} MiB", bytes / (1024 * 1024));
}

}  // namespace cairn::tool
