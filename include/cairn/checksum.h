// Checksums: CRC-16/CCITT-FALSE and CRC-32 (IEEE 802.3), and the pluggable
// ChecksumAlgorithm interface the blob store uses.
//
// Each CRC has a fast table-driven and a size-lean (nibble table) variant;
// the library compiles one of them, chosen by CAIRN_CRC_SMALL (set for small
// targets by `make cross`). Both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cairn {

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.
// Check value over "123456789": 0x29B1.
struct Crc16 {
  static constexpr uint16_t kInitial = 0xFFFF;
  // Continues a CRC over `data`; start with kInitial.
  static uint16_t Update(uint16_t crc, std::span<const std::byte> data);
  static uint16_t Compute(std::span<const std::byte> data) {
    return Update(kInitial, data);
  }
};

// CRC-32 (IEEE): reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF.
// Check value over "123456789": 0xCBF43926. Update() takes and returns the
// finished value, so calls chain: Update(Update(0, a), b) == Compute(a + b).
struct Crc32 {
  static constexpr uint32_t kInitial = 0;
  static uint32_t Update(uint32_t crc, std::span<const std::byte> data);
  static uint32_t Compute(std::span<const std::byte> data) {
    return Update(kInitial, data);
  }
};

// A running checksum the blob store feeds with the bytes it writes.
class ChecksumAlgorithm {
 public:
  ChecksumAlgorithm(const ChecksumAlgorithm&) = delete;
  ChecksumAlgorithm& operator=(const ChecksumAlgorithm&) = delete;

  virtual void Reset() = 0;
  virtual void Update(std::span<const std::byte> data) = 0;
  // The checksum of everything since Reset(), as a 32-bit value.
  virtual uint32_t value() const = 0;

 protected:
  ChecksumAlgorithm() = default;
  ~ChecksumAlgorithm() = default;
};

class Crc16Checksum final : public ChecksumAlgorithm {
 public:
  Crc16Checksum() = default;
  void Reset() override { crc_ = Crc16::kInitial; }
  void Update(std::span<const std::byte> data) override {
    crc_ = Crc16::Update(crc_, data);
  }
  uint32_t value() const override { return crc_; }

 private:
  uint16_t crc_ = Crc16::kInitial;
};

class Crc32Checksum final : public ChecksumAlgorithm {
 public:
  Crc32Checksum() = default;
  void Reset() override { crc_ = Crc32::kInitial; }
  void Update(std::span<const std::byte> data) override {
    crc_ = Crc32::Update(crc_, data);
  }
  uint32_t value() const override { return crc_; }

 private:
  uint32_t crc_ = Crc32::kInitial;
};

}  // namespace cairn
