// Wear-out: sectors stop taking programs after a few erases. The store must
// notice, stop using them, keep every acknowledged value readable, and end
// in RESOURCE_EXHAUSTED rather than corrupt anything.
#include <map>
#include <string>

#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"

namespace cairn::kvs {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

void ExpectAll(const Store& kvs, const std::map<Key, std::string>& shadow) {
  for (const auto& [key, value] : shadow) {
    std::array<std::byte, 128> buf;
    StatusWithSize r = kvs.Get(key, buf);
    ASSERT_TRUE(r.ok()) << "key " << key << ": " << r.status().str();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), r.size()),
              value)
        << "key " << key;
  }
}

class KvsWearTest : public ::testing::TestWithParam<WearMode> {};

TEST_P(KvsWearTest, WornSectorsAreRetiredAndNothingIsLost) {
  RamFlash<512, 8> flash;
  FlashPartition partition(flash);
  KeyValueStore<16> kvs(partition);
  ASSERT_TRUE(kvs.Init().ok());
  // Sector 2 wears out first, then every sector a few erases later.
  flash.SetEndurance(2, 3, GetParam());
  std::map<Key, std::string> shadow;
  Status last = Status::Ok();
  int writes = 0;
  for (; writes < 20000; ++writes) {
    if (writes == 3000) {
      uint32_t most = 0;
      for (size_t i = 0; i < 8; ++i) {
        most = std::max(most, flash.lifetime_erases(i));
      }
      flash.SetEnduranceAll(most + 3, GetParam());
    }
    const Key key = static_cast<Key>(writes % 10);
    const std::string value = "value " + std::to_string(writes);
    last = kvs.Put(key, Bytes(value));
    if (!last.ok()) break;
    shadow[key] = value;
  }
  EXPECT_EQ(last, Status::ResourceExhausted()) << last.str();
  EXPECT_GT(writes, 3000);
  EXPECT_GT(kvs.GetStats().bad_sectors, 0u);
  ExpectAll(kvs, shadow);
  // The state survives a remount. A write may still fit the active sector;
  // whatever is acknowledged is kept, and the store ends refusing writes.
  KeyValueStore<16> again(partition);
  ASSERT_TRUE(again.Init().ok());
  ExpectAll(again, shadow);
  Status more = Status::Ok();
  for (int i = 0; i < 200 && more.ok(); ++i) {
    const std::string value = "more " + std::to_string(i);
    more = again.Put(1, Bytes(value));
    if (more.ok()) shadow[1] = value;
  }
  EXPECT_EQ(more, Status::ResourceExhausted());
  ExpectAll(again, shadow);
}

INSTANTIATE_TEST_SUITE_P(Modes, KvsWearTest,
                         ::testing::Values(WearMode::kFail,
                                           WearMode::kBadBits));

}  // namespace
}  // namespace cairn::kvs
