// Private: the CRC implementations. checksum.cc compiles one of them into the
// library; the tests include this header to check every variant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cairn::crc_impl {

// ---- CRC-16/CCITT-FALSE (MSB first) ----

constexpr uint16_t Crc16Step(uint16_t crc) {
  return (crc & 0x8000u) ? static_cast<uint16_t>((crc << 1) ^ 0x1021u)
                         : static_cast<uint16_t>(crc << 1);
}

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) crc = Crc16Step(crc);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 16> MakeCrc16Nibbles() {
  std::array<uint16_t, 16> table{};
  for (unsigned i = 0; i < 16; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 12);
    for (int bit = 0; bit < 4; ++bit) crc = Crc16Step(crc);
    table[i] = crc;
  }
  return table;
}

// Slice k: the register after a byte followed by k zero bytes, from 0.
constexpr std::array<std::array<uint16_t, 256>, 4> MakeCrc16Slices() {
  std::array<std::array<uint16_t, 256>, 4> slices{};
  slices[0] = MakeCrc16Table();
  for (size_t k = 1; k < slices.size(); ++k) {
    for (unsigned i = 0; i < 256; ++i) {
      const uint16_t prev = slices[k - 1][i];
      slices[k][i] = static_cast<uint16_t>((prev << 8) ^ slices[0][prev >> 8]);
    }
  }
  return slices;
}

// Four bytes per step (the CRC is linear, so each byte's contribution is
// looked up on its own and the four lookups do not wait on each other).
inline uint16_t Crc16Table(uint16_t crc, std::span<const std::byte> data) {
  static constexpr auto kSlices = MakeCrc16Slices();
  const std::byte* p = data.data();
  size_t n = data.size();
  for (; n >= 4; n -= 4, p += 4) {
    crc = static_cast<uint16_t>(
        kSlices[3][((crc >> 8) ^ static_cast<unsigned>(p[0])) & 0xFF] ^
        kSlices[2][(crc ^ static_cast<unsigned>(p[1])) & 0xFF] ^
        kSlices[1][static_cast<unsigned>(p[2])] ^
        kSlices[0][static_cast<unsigned>(p[3])]);
  }
  for (; n > 0; --n, ++p) {
    crc = static_cast<uint16_t>(
        (crc << 8) ^
        kSlices[0][((crc >> 8) ^ static_cast<unsigned>(*p)) & 0xFF]);
  }
  return crc;
}

inline uint16_t Crc16Nibble(uint16_t crc, std::span<const std::byte> data) {
  static constexpr std::array<uint16_t, 16> kTable = MakeCrc16Nibbles();
  for (std::byte b : data) {
    const unsigned v = static_cast<unsigned>(b);
    crc = static_cast<uint16_t>((crc << 4) ^ kTable[(crc >> 12) ^ (v >> 4)]);
    crc = static_cast<uint16_t>((crc << 4) ^ kTable[(crc >> 12) ^ (v & 0xF)]);
  }
  return crc;
}

// ---- CRC-32 (reflected, IEEE) on the raw register (no pre/post xor) ----

constexpr uint32_t Crc32Step(uint32_t crc) {
  return (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
}

constexpr std::array<uint32_t, 256> MakeCrc32Table() {
  std::array<uint32_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = Crc32Step(crc);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 16> MakeCrc32Nibbles() {
  std::array<uint32_t, 16> table{};
  for (unsigned i = 0; i < 16; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 4; ++bit) crc = Crc32Step(crc);
    table[i] = crc;
  }
  return table;
}

inline uint32_t Crc32TableRaw(uint32_t reg, std::span<const std::byte> data) {
  static constexpr std::array<uint32_t, 256> kTable = MakeCrc32Table();
  for (std::byte b : data) {
    reg = (reg >> 8) ^ kTable[(reg ^ static_cast<unsigned>(b)) & 0xFF];
  }
  return reg;
}

inline uint32_t Crc32NibbleRaw(uint32_t reg, std::span<const std::byte> data) {
  static constexpr std::array<uint32_t, 16> kTable = MakeCrc32Nibbles();
  for (std::byte b : data) {
    reg ^= static_cast<unsigned>(b);
    reg = (reg >> 4) ^ kTable[reg & 0xF];
    reg = (reg >> 4) ^ kTable[reg & 0xF];
  }
  return reg;
}

// Finished-value wrappers (CRC-32 applies the xor on the way in and out).
inline uint32_t Crc32Table(uint32_t crc, std::span<const std::byte> data) {
  return ~Crc32TableRaw(~crc, data);
}
inline uint32_t Crc32Nibble(uint32_t crc, std::span<const std::byte> data) {
  return ~Crc32NibbleRaw(~crc, data);
}

}  // namespace cairn::crc_impl
