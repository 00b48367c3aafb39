#include "cairn/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "crc_impl.h"

namespace cairn {
namespace {

std::span<const std::byte> AsBytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

constexpr std::string_view kCheck = "123456789";
constexpr std::string_view kFox = "The quick brown fox jumps over the lazy dog";

// Bit-at-a-time references, written independently of crc_impl.h.
uint16_t ReferenceCrc16(uint16_t crc, std::span<const std::byte> data) {
  for (std::byte b : data) {
    crc ^= static_cast<uint16_t>(static_cast<unsigned>(b) << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

uint32_t ReferenceCrc32(uint32_t crc, std::span<const std::byte> data) {
  crc = ~crc;
  for (std::byte b : data) {
    crc ^= static_cast<unsigned>(b);
    for (int i = 0; i < 8; ++i)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::vector<std::byte> Random(size_t n, uint64_t seed) {
  std::vector<std::byte> out(n);
  uint64_t x = seed | 1;
  for (std::byte& b : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = std::byte{static_cast<uint8_t>(x)};
  }
  return out;
}

using Crc16Fn = uint16_t (*)(uint16_t, std::span<const std::byte>);
using Crc32Fn = uint32_t (*)(uint32_t, std::span<const std::byte>);

// Every CRC-16 variant: the public one and both implementations.
const std::pair<const char*, Crc16Fn> kCrc16Variants[] = {
    {"public", &Crc16::Update},
    {"table", &crc_impl::Crc16Table},
    {"nibble", &crc_impl::Crc16Nibble},
};
// Every CRC-32 variant, all on the finished value.
uint32_t Crc32TableViaRaw(uint32_t crc, std::span<const std::byte> data) {
  return ~crc_impl::Crc32TableRaw(~crc, data);
}
uint32_t Crc32NibbleViaRaw(uint32_t crc, std::span<const std::byte> data) {
  return ~crc_impl::Crc32NibbleRaw(~crc, data);
}
const std::pair<const char*, Crc32Fn> kCrc32Variants[] = {
    {"public", &Crc32::Update},         {"table", &crc_impl::Crc32Table},
    {"nibble", &crc_impl::Crc32Nibble}, {"table raw", &Crc32TableViaRaw},
    {"nibble raw", &Crc32NibbleViaRaw},
};

TEST(Crc16, CheckValues) {
  EXPECT_EQ(Crc16::Compute(AsBytes(kCheck)), 0x29B1);
  EXPECT_EQ(Crc16::Update(Crc16::kInitial, AsBytes(kCheck)), 0x29B1);
  EXPECT_EQ(Crc16::Compute(AsBytes("A")), 0xB915);
  EXPECT_EQ(Crc16::Compute(AsBytes(kFox)), 0x8FDD);
  for (const auto& [name, fn] : kCrc16Variants) {
    EXPECT_EQ(fn(0xFFFF, AsBytes(kCheck)), 0x29B1) << name;
    EXPECT_EQ(fn(0xFFFF, AsBytes(kFox)), 0x8FDD) << name;
  }
}

TEST(Crc32, CheckValues) {
  EXPECT_EQ(Crc32::Compute(AsBytes(kCheck)), 0xCBF43926u);
  EXPECT_EQ(Crc32::Compute(AsBytes(kFox)), 0x414FA339u);
  EXPECT_EQ(Crc32::Compute(AsBytes("A")), 0xD3D99E8Bu);
  for (const auto& [name, fn] : kCrc32Variants) {
    EXPECT_EQ(fn(0, AsBytes(kCheck)), 0xCBF43926u) << name;
    EXPECT_EQ(fn(0, AsBytes(kFox)), 0x414FA339u) << name;
  }
  // The raw register form: conventional init and final xor applied outside.
  EXPECT_EQ(~crc_impl::Crc32TableRaw(0xFFFFFFFFu, AsBytes(kCheck)),
            0xCBF43926u);
  EXPECT_EQ(~crc_impl::Crc32NibbleRaw(0xFFFFFFFFu, AsBytes(kCheck)),
            0xCBF43926u);
}

TEST(Crc, EmptyInputLeavesTheValue) {
  EXPECT_EQ(Crc16::Compute({}), Crc16::kInitial);
  EXPECT_EQ(Crc32::Compute({}), 0u);
  for (const auto& [name, fn] : kCrc16Variants) {
    EXPECT_EQ(fn(0x1234, {}), 0x1234) << name;
  }
  for (const auto& [name, fn] : kCrc32Variants) {
    EXPECT_EQ(fn(0xDEADBEEF, {}), 0xDEADBEEFu) << name;
  }
}

TEST(Crc, AllVariantsAgreeWithTheBitwiseReference) {
  for (size_t n : {1, 2, 3, 7, 8, 15, 16, 17, 255, 256, 1000, 4099}) {
    const auto data = Random(n, n);
    const uint16_t want16 = ReferenceCrc16(0xFFFF, data);
    const uint32_t want32 = ReferenceCrc32(0, data);
    for (const auto& [name, fn] : kCrc16Variants) {
      EXPECT_EQ(fn(0xFFFF, data), want16) << name << " n=" << n;
    }
    for (const auto& [name, fn] : kCrc32Variants) {
      EXPECT_EQ(fn(0, data), want32) << name << " n=" << n;
    }
  }
}

TEST(Crc, IncrementalEqualsOneShotAtEverySplit) {
  const auto data = Random(300, 99);
  const std::span<const std::byte> all(data);
  for (size_t split = 0; split <= all.size(); ++split) {
    const auto a = all.first(split);
    const auto b = all.subspan(split);
    for (const auto& [name, fn] : kCrc16Variants) {
      ASSERT_EQ(fn(fn(0xFFFF, a), b), fn(0xFFFF, all)) << name << split;
    }
    for (const auto& [name, fn] : kCrc32Variants) {
      ASSERT_EQ(fn(fn(0, a), b), fn(0, all)) << name << split;
    }
  }
  // Byte by byte.
  uint16_t c16 = Crc16::kInitial;
  uint32_t c32 = Crc32::kInitial;
  for (size_t i = 0; i < all.size(); ++i) {
    c16 = Crc16::Update(c16, all.subspan(i, 1));
    c32 = Crc32::Update(c32, all.subspan(i, 1));
  }
  EXPECT_EQ(c16, Crc16::Compute(all));
  EXPECT_EQ(c32, Crc32::Compute(all));
}

TEST(Crc, DetectsSingleBitFlips) {
  auto data = Random(64, 5);
  const uint16_t c16 = Crc16::Compute(data);
  const uint32_t c32 = Crc32::Compute(data);
  for (size_t bit = 0; bit < data.size() * 8; ++bit) {
    data[bit / 8] ^= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
    EXPECT_NE(Crc16::Compute(data), c16) << bit;
    EXPECT_NE(Crc32::Compute(data), c32) << bit;
    data[bit / 8] ^= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
  }
}

TEST(Crc, TablesAreTheKnownOnes) {
  static_assert(crc_impl::MakeCrc16Table()[0] == 0);
  static_assert(crc_impl::MakeCrc16Table()[1] == 0x1021);
  static_assert(crc_impl::MakeCrc16Table()[255] == 0x1EF0);
  static_assert(crc_impl::MakeCrc32Table()[1] == 0x77073096u);
  static_assert(crc_impl::MakeCrc32Table()[255] == 0x2D02EF8Du);
  // The nibble tables are the byte tables' entries for 4-bit indices.
  constexpr auto t16 = crc_impl::MakeCrc16Table();
  constexpr auto n16 = crc_impl::MakeCrc16Nibbles();
  constexpr auto t32 = crc_impl::MakeCrc32Table();
  constexpr auto n32 = crc_impl::MakeCrc32Nibbles();
  for (unsigned i = 0; i < 16; ++i) {
    // Shifting a 16-bit nibble value 4 more times = the byte table at i<<4.
    uint16_t crc = n16[i];
    for (int k = 0; k < 4; ++k) crc = crc_impl::Crc16Step(crc);
    EXPECT_EQ(crc, t16[i << 4]) << i;
    uint32_t crc32 = n32[i];
    for (int k = 0; k < 4; ++k) crc32 = crc_impl::Crc32Step(crc32);
    EXPECT_EQ(crc32, t32[i]) << i;
  }
}

// ----------------------------------------------------- ChecksumAlgorithm

uint32_t RunThroughInterface(ChecksumAlgorithm& algorithm,
                             std::span<const std::byte> data, size_t chunk) {
  algorithm.Reset();
  while (!data.empty()) {
    const size_t n = std::min(chunk, data.size());
    algorithm.Update(data.first(n));
    data = data.subspan(n);
  }
  return algorithm.value();
}

TEST(ChecksumAlgorithm, Crc16Checksum) {
  Crc16Checksum crc;
  EXPECT_EQ(crc.value(), 0xFFFFu);
  crc.Update(AsBytes(kCheck));
  EXPECT_EQ(crc.value(), 0x29B1u);
  crc.Reset();
  EXPECT_EQ(crc.value(), 0xFFFFu);
  for (size_t chunk : {1, 2, 4, 5, 9}) {
    EXPECT_EQ(RunThroughInterface(crc, AsBytes(kCheck), chunk), 0x29B1u)
        << chunk;
  }
}

TEST(ChecksumAlgorithm, Crc32Checksum) {
  Crc32Checksum crc;
  EXPECT_EQ(crc.value(), 0u);
  crc.Update(AsBytes("1234"));
  crc.Update(AsBytes("56789"));
  EXPECT_EQ(crc.value(), 0xCBF43926u);
  crc.Reset();
  EXPECT_EQ(crc.value(), 0u);
  const auto data = Random(1000, 3);
  for (size_t chunk : {1, 3, 64, 1000}) {
    EXPECT_EQ(RunThroughInterface(crc, data, chunk), Crc32::Compute(data))
        << chunk;
  }
  crc.Update({});
  EXPECT_EQ(crc.value(), Crc32::Compute(data));
}

}  // namespace
}  // namespace cairn
