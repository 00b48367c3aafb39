// The on-flash format is a contract: a checked-in image made by the helper
// below must decode, must be reproduced byte for byte by today's code, and
// its fields must sit where docs/format.md says.
//
// After an intended format change: bump format::kVersion, update
// docs/format.md, then regenerate with
//   CAIRN_REGENERATE_GOLDEN=1 build/asan/tests/kvs_golden_test
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cairn/checksum.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"

namespace cairn::kvs {
namespace {

constexpr size_t kSectorSize = 1024;
constexpr size_t kSectors = 4;
const char* const kGoldenPath =
    CAIRN_SOURCE_DIR "/tests/kvs/golden/v3_4k_a4.bin";
// The image version 2 wrote for the same workload (without the last Put).
const char* const kVersionTwoPath =
    CAIRN_SOURCE_DIR "/tests/kvs/golden/v2_4k_a4.bin";

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string Value(const Store& kvs, Key key) {
  std::array<std::byte, 256> buf;
  StatusWithSize r = kvs.Get(key, buf);
  if (!r.ok()) return std::string("<") + r.status().str() + ">";
  return std::string(reinterpret_cast<const char*>(buf.data()), r.size());
}

// The workload behind the golden image: plain puts, an update, a delete, a
// batch and enough writes to open more sectors.
void WriteGoldenWorkload(Store& kvs) {
  ASSERT_TRUE(kvs.Put(KeyFromName("wifi.ssid"), Bytes("cairn-lab")).ok());
  ASSERT_TRUE(kvs.Put(KeyFromName("boot.count"), uint32_t{42}).ok());
  ASSERT_TRUE(kvs.Put(7, Bytes("seven")).ok());
  ASSERT_TRUE(kvs.Put(KeyFromName("boot.count"), uint32_t{43}).ok());
  ASSERT_TRUE(kvs.Delete(7).ok());
  const std::string a = "a", bb = "bb";
  Batch<2> batch;
  ASSERT_TRUE(batch.Put(100, Bytes(a)).ok());
  ASSERT_TRUE(batch.Put(101, Bytes(bb)).ok());
  ASSERT_TRUE(kvs.Commit(batch).ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        kvs.Put(200, Bytes("log line " + std::to_string(i) + " ......")).ok());
  }
  ASSERT_TRUE(kvs.Put(201, Bytes("")).ok());
  // Its last byte is the erased value, so a seal marker follows it.
  ASSERT_TRUE(kvs.Put(202, Bytes("tail \xFF")).ok());
}

std::vector<std::byte> BuildImage() {
  RamFlash<kSectorSize, kSectors> flash;
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  EXPECT_TRUE(kvs.Init().ok());
  WriteGoldenWorkload(kvs);
  return std::vector<std::byte>(flash.bytes().begin(), flash.bytes().end());
}

std::vector<std::byte> ReadGolden(const char* path = kGoldenPath) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

void ExpectGoldenContents(const Store& kvs, bool version_two = false) {
  EXPECT_EQ(kvs.size(), version_two ? 6u : 7u);
  if (!version_two) {
    EXPECT_EQ(Value(kvs, 202), "tail \xFF");
  }
  EXPECT_EQ(Value(kvs, KeyFromName("wifi.ssid")), "cairn-lab");
  uint32_t count = 0;
  EXPECT_TRUE(kvs.Get(KeyFromName("boot.count"), &count).ok());
  EXPECT_EQ(count, 43u);
  EXPECT_FALSE(kvs.Contains(7));
  EXPECT_EQ(Value(kvs, 100), "a");
  EXPECT_EQ(Value(kvs, 101), "bb");
  EXPECT_EQ(Value(kvs, 200), "log line 39 ......");
  EXPECT_EQ(Value(kvs, 201), "");
}

uint32_t Le(const std::vector<std::byte>& img, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) {
    v = v << 8 | static_cast<uint32_t>(img[at + static_cast<size_t>(i)]);
  }
  return v;
}

TEST(KvsGolden, RegenerateWhenAsked) {
  const char* env = std::getenv("CAIRN_REGENERATE_GOLDEN");
  if (env == nullptr || env[0] != '1') GTEST_SKIP() << "not regenerating";
  const std::vector<std::byte> image = BuildImage();
  std::ofstream out(kGoldenPath, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(image.data()),
            static_cast<std::streamsize>(image.size()));
  ASSERT_TRUE(out.good());
}

TEST(KvsGolden, CheckedInImageDecodes) {
  const std::vector<std::byte> golden = ReadGolden();
  ASSERT_EQ(golden.size(), kSectorSize * kSectors) << kGoldenPath;
  RamFlash<kSectorSize, kSectors> flash;
  std::copy(golden.begin(), golden.end(), flash.bytes().begin());
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_TRUE(kvs.Init().ok());
  ExpectGoldenContents(kvs);
  EXPECT_EQ(kvs.GetStats().corruption_found, 0u);
}

// Rewrites the format unit of every sector of `img` to say `version`.
void SetVersion(std::vector<std::byte>& img, uint8_t version) {
  for (size_t s = 0; s < kSectors; ++s) {
    const size_t base = s * kSectorSize;
    img[base + 2] = std::byte{version};
    std::vector<std::byte> crc_input(img.begin() + base,
                                     img.begin() + base + 6);
    for (int i = 0; i < 4; ++i) {
      crc_input.push_back(std::byte(uint32_t{kSectorSize} >> 8 * i));
    }
    crc_input.push_back(std::byte{4});
    crc_input.push_back(std::byte{0});
    const uint16_t crc = Crc16::Compute(crc_input);
    img[base + 6] = std::byte(crc & 0xFF);
    img[base + 7] = std::byte(crc >> 8);
  }
}

void ExpectMounts(const std::vector<std::byte>& img, bool version_two) {
  ASSERT_EQ(img.size(), kSectorSize * kSectors);
  RamFlash<kSectorSize, kSectors> flash;
  std::copy(img.begin(), img.end(), flash.bytes().begin());
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_EQ(kvs.Init(), Status::Ok());
  ExpectGoldenContents(kvs, version_two);
  EXPECT_EQ(kvs.GetStats().corruption_found, 0u);
}

// The checked-in image of version 2 still mounts and reads, and so does
// the same image with its format units saying version 1 (the same layout
// before the size word gained its check byte).
TEST(KvsGolden, OlderVersionImagesStillMount) {
  std::vector<std::byte> img = ReadGolden(kVersionTwoPath);
  ExpectMounts(img, true);
  SetVersion(img, 1);
  ExpectMounts(img, true);
}

// A version-2 active sector whose last entry ends in an erased byte and
// has no seal after it (version 2 wrote none): the entry stands. The same
// bytes in a version-3 sector are a torn write (see TailRule tests).
TEST(KvsGolden, VersionTwoLastEntryNeedsNoSeal) {
  std::vector<std::byte> img = ReadGolden();
  // The seal is the last slot written; erase it.
  size_t seal_at = img.size();
  for (size_t at = 0; at + 8 <= img.size(); at += 8) {
    format::SlotHeader h;
    if (at % kSectorSize >= 16 &&
        format::DecodeSlot(std::span<const std::byte, 8>(&img[at], 8), h) &&
        format::IsSealMarker(h)) {
      seal_at = at;
    }
  }
  ASSERT_LT(seal_at, img.size());
  std::fill(img.begin() + seal_at, img.begin() + seal_at + 8, std::byte{0xFF});
  {
    RamFlash<kSectorSize, kSectors> flash;
    std::copy(img.begin(), img.end(), flash.bytes().begin());
    FlashPartition partition(flash);
    KeyValueStore<16> kvs(partition);
    ASSERT_EQ(kvs.Init(), Status::Ok());
    EXPECT_FALSE(kvs.Contains(202)) << "a version-3 sector must drop it";
  }
  SetVersion(img, 2);
  ExpectMounts(img, false);
}

TEST(KvsGolden, TodaysCodeWritesTheSameBytes) {
  const std::vector<std::byte> golden = ReadGolden();
  const std::vector<std::byte> image = BuildImage();
  ASSERT_EQ(golden.size(), image.size());
  size_t first_difference = image.size();
  for (size_t i = 0; i < image.size(); ++i) {
    if (golden[i] != image[i]) {
      first_difference = i;
      break;
    }
  }
  EXPECT_EQ(first_difference, image.size())
      << "the on-flash format changed at byte " << first_difference
      << ": bump format::kVersion, update docs/format.md, regenerate";
}

// Decodes fields by the offsets docs/format.md gives, without format.h.
TEST(KvsGolden, FieldsSitWhereTheSpecSays) {
  const std::vector<std::byte> img = ReadGolden();
  ASSERT_EQ(img.size(), kSectorSize * kSectors);
  const size_t unit = 8;  // U for A = 4
  for (size_t s = 0; s < kSectors; ++s) {
    const size_t base = s * kSectorSize;
    // Format unit: magic, version, 24-bit erase count, CRC with geometry.
    EXPECT_EQ(img[base + 0], std::byte{'C'});
    EXPECT_EQ(img[base + 1], std::byte{'N'});
    EXPECT_EQ(img[base + 2], std::byte{format::kVersion});
    EXPECT_EQ(format::kVersion, 3);
    std::vector<std::byte> crc_input(img.begin() + base,
                                     img.begin() + base + 6);
    for (uint32_t v : {uint32_t{kSectorSize}}) {
      for (int i = 0; i < 4; ++i) crc_input.push_back(std::byte(v >> 8 * i));
    }
    crc_input.push_back(std::byte{4});
    crc_input.push_back(std::byte{0});
    EXPECT_EQ(Le(img, base + 6, 2), Crc16::Compute(crc_input)) << s;
  }
  // Sector 0 was activated first: sequence 1, no predecessor.
  EXPECT_EQ(Le(img, unit, 4), 1u);
  EXPECT_EQ(Le(img, unit + 4, 2), 0u);
  EXPECT_EQ(Le(img, unit + 6, 2),
            Crc16::Compute(std::span(img).subspan(unit, 6)) ^ 0x434Eu);
  // Slot 0: "wifi.ssid" = "cairn-lab", a plain entry; its value region is
  // the last 12 bytes of the sector (9 bytes padded to 4).
  const size_t slot0 = 2 * unit;
  EXPECT_EQ(Le(img, slot0, 4), KeyFromName("wifi.ssid"));
  const uint32_t info = Le(img, slot0 + 4, 2);
  EXPECT_EQ(info & 0x1FFFu, 9u);
  EXPECT_EQ((info >> 13) & 3u, 3u);
  int ones = 0;
  for (size_t i = 0; i < 6; ++i) {
    ones += __builtin_popcount(static_cast<unsigned>(img[slot0 + i]));
  }
  EXPECT_EQ(ones % 2, 1) << "parity must be odd";
  std::vector<std::byte> entry(img.begin() + slot0, img.begin() + slot0 + 4);
  entry.push_back(std::byte{9});
  entry.push_back(std::byte{0});
  const size_t value_at = kSectorSize - 12;
  entry.insert(entry.end(), img.begin() + value_at, img.begin() + value_at + 9);
  EXPECT_EQ(Le(img, slot0 + 6, 2), Crc16::Compute(entry));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&img[value_at]), 9),
            "cairn-lab");
  EXPECT_EQ(img[value_at + 9], std::byte{0xFF});  // padding is erased
  // The last two slots written: key 202 with a value ending in 0xFF, then a
  // seal marker (kind lost, size code 8190, key 0, no value).
  size_t last = 0;
  for (size_t s = 0; s < kSectors; ++s) {
    for (size_t at = s * kSectorSize + 2 * unit;; at += unit) {
      bool erased = true;
      for (size_t i = 0; i < 8; ++i) erased &= img[at + i] == std::byte{0xFF};
      if (erased) break;
      if (Le(img, at, 4) == 202) last = at;
    }
  }
  ASSERT_NE(last, 0u);
  const size_t seal = last + unit;
  EXPECT_EQ(Le(img, seal, 4), 0u);
  EXPECT_EQ(Le(img, seal + 4, 2) & 0x7FFFu, 8190u);
  const std::byte seal_fields[6] = {std::byte{0},    std::byte{0},
                                    std::byte{0},    std::byte{0},
                                    std::byte{0xFE}, std::byte{0x1F}};
  EXPECT_EQ(Le(img, seal + 6, 2), Crc16::Compute(seal_fields));
  EXPECT_NE(img[seal + 7], std::byte{0xFF});
}

// The extended size word of docs/format.md: the example bytes, every single
// flipped bit corrected, every pair of flipped bits rejected.
TEST(KvsFormatCodes, ExtendedSizeWord) {
  std::array<std::byte, 4> word;
  format::EncodeExtendedSize(12000, word);
  EXPECT_EQ(word, (std::array<std::byte, 4>{std::byte{0xE0}, std::byte{0x2E},
                                            std::byte{0x00}, std::byte{0x29}}));
  for (uint32_t n : {8190u, 12000u, 65535u, 131064u, 0xABCDEFu}) {
    format::EncodeExtendedSize(n, word);
    uint32_t got = 0;
    ASSERT_EQ(format::DecodeExtendedSize(word, got), format::SizeState::kValid);
    EXPECT_EQ(got, n);
    for (unsigned a = 0; a < 32; ++a) {
      std::array<std::byte, 4> one = word;
      one[a / 8] ^= std::byte(1u << (a % 8));
      ASSERT_EQ(format::DecodeExtendedSize(one, got),
                format::SizeState::kRepaired)
          << n << " bit " << a;
      EXPECT_EQ(got, n) << n << " bit " << a;
      for (unsigned b = a + 1; b < 32; ++b) {
        std::array<std::byte, 4> two = one;
        two[b / 8] ^= std::byte(1u << (b % 8));
        EXPECT_EQ(format::DecodeExtendedSize(two, got),
                  format::SizeState::kInvalid)
            << n << " bits " << a << ", " << b;
      }
    }
  }
}

// The seal marker: kind lost, size code 8190, a key chosen so that the high
// byte of its CRC (its own tail byte) is not the erased value.
TEST(KvsFormatCodes, SealMarker) {
  for (unsigned e = 0; e < 256; ++e) {
    const std::byte erased{static_cast<uint8_t>(e)};
    const format::SlotHeader h = format::SealMarker(erased);
    EXPECT_TRUE(h.is_seal());
    EXPECT_TRUE(format::IsSealMarker(h));
    EXPECT_FALSE(h.is_extended());
    EXPECT_FALSE(h.is_tombstone());
    std::array<std::byte, 8> raw;
    format::EncodeSlot(h, raw);
    EXPECT_NE(raw[7], erased) << e;
  }
  format::SlotHeader h = format::SealMarker(std::byte{0xFF});
  h.crc ^= 1;
  EXPECT_FALSE(format::IsSealMarker(h));
  // A lost marker is not a seal.
  EXPECT_FALSE(format::IsSealMarker(
      {5, 0, format::Kind::kLost, format::EntryCrcSeed(5, 0)}));
}

// The void marker: kind lost, size code 8191, the value end in the key field
// and the CRC of an entry without a value.
TEST(KvsFormatCodes, VoidMarker) {
  std::array<std::byte, 8> raw;
  format::EncodeSlot(format::VoidMarker(0x3F0), raw);
  EXPECT_EQ(Le(std::vector<std::byte>(raw.begin(), raw.end()), 0, 4), 0x3F0u);
  EXPECT_EQ(static_cast<unsigned>(raw[4]), 0xFFu);
  EXPECT_EQ(static_cast<unsigned>(raw[5]) & 0x7Fu, 0x1Fu);  // kind 0
  format::SlotHeader h;
  ASSERT_TRUE(format::DecodeSlot(raw, h));
  EXPECT_TRUE(format::IsVoidMarker(h));
  EXPECT_FALSE(h.is_tombstone());
  EXPECT_EQ(h.crc, format::EntryCrcSeed(0x3F0, format::kSizeTombstone));
  // A tombstone and a lost marker are not void markers.
  EXPECT_FALSE(
      format::IsVoidMarker({5, format::kSizeTombstone, format::Kind::kPlain,
                            format::EntryCrcSeed(5, format::kSizeTombstone)}));
  EXPECT_FALSE(format::IsVoidMarker(
      {5, 0, format::Kind::kLost, format::EntryCrcSeed(5, 0)}));
  // Nor is one whose CRC does not match.
  h.crc ^= 1;
  EXPECT_FALSE(format::IsVoidMarker(h));
}

}  // namespace
}  // namespace cairn::kvs
