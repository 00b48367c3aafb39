#include "cairn/checksum.h"

#include "crc_impl.h"

namespace cairn {

#if defined(CAIRN_CRC_SMALL) && CAIRN_CRC_SMALL
uint16_t Crc16::Update(uint16_t crc, std::span<const std::byte> data) {
  return crc_impl::Crc16Nibble(crc, data);
}
uint32_t Crc32::Update(uint32_t crc, std::span<const std::byte> data) {
  return crc_impl::Crc32Nibble(crc, data);
}
#else
uint16_t Crc16::Update(uint16_t crc, std::span<const std::byte> data) {
  return crc_impl::Crc16Table(crc, data);
}
uint32_t Crc32::Update(uint32_t crc, std::span<const std::byte> data) {
  return crc_impl::Crc32Table(crc, data);
}
#endif

}  // namespace cairn
