// Behaviour of every Store call through the public API on one geometry.
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"

namespace cairn::kvs {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string GetString(const Store& kvs, Key key) {
  std::array<std::byte, 512> buf;
  StatusWithSize r = kvs.Get(key, buf);
  EXPECT_TRUE(r.ok()) << r.status().str();
  return std::string(reinterpret_cast<const char*>(buf.data()), r.size());
}

class KvsBasicTest : public ::testing::Test {
 protected:
  RamFlash<1024, 6> flash_;
  FlashPartition partition_{flash_};
};

TEST_F(KvsBasicTest, FormatsErasedPartitionAndStartsEmpty) {
  KeyValueStore<16> kvs(partition_);
  ASSERT_TRUE(kvs.Init().ok());
  EXPECT_TRUE(kvs.empty());
  EXPECT_EQ(kvs.max_size(), 16u);
  EXPECT_FALSE(kvs.Contains(1));
  std::array<std::byte, 4> buf;
  EXPECT_EQ(kvs.Get(1, buf).status(), Status::NotFound());
}

TEST_F(KvsBasicTest, CallsBeforeInitFail) {
  KeyValueStore<16> kvs(partition_);
  EXPECT_EQ(kvs.Put(1, Bytes("x")), Status::FailedPrecondition());
  std::array<std::byte, 4> buf;
  EXPECT_EQ(kvs.Get(1, buf).status(), Status::FailedPrecondition());
}

TEST_F(KvsBasicTest, PutGetDeleteRoundTrip) {
  KeyValueStore<16> kvs(partition_);
  ASSERT_TRUE(kvs.Init().ok());
  ASSERT_TRUE(kvs.Put(7, Bytes("hello")).ok());
  EXPECT_TRUE(kvs.Contains(7));
  EXPECT_EQ(GetString(kvs, 7), "hello");
  EXPECT_EQ(kvs.ValueSize(7).size(), 5u);
  ASSERT_TRUE(kvs.Put(7, Bytes("world!")).ok());
  EXPECT_EQ(GetString(kvs, 7), "world!");
  ASSERT_TRUE(kvs.Delete(7).ok());
  EXPECT_FALSE(kvs.Contains(7));
  EXPECT_EQ(kvs.Delete(7), Status::NotFound());
}

TEST_F(KvsBasicTest, SurvivesRemount) {
  {
    KeyValueStore<16> kvs(partition_);
    ASSERT_TRUE(kvs.Init().ok());
    ASSERT_TRUE(kvs.Put(1, Bytes("one")).ok());
    ASSERT_TRUE(kvs.Put(2, Bytes("two")).ok());
    ASSERT_TRUE(kvs.Put(1, Bytes("uno")).ok());
    ASSERT_TRUE(kvs.Delete(2).ok());
    ASSERT_TRUE(kvs.Put(3, Bytes("")).ok());
  }
  KeyValueStore<16> kvs(partition_);
  ASSERT_TRUE(kvs.Init().ok());
  EXPECT_EQ(kvs.size(), 2u);
  EXPECT_EQ(GetString(kvs, 1), "uno");
  EXPECT_FALSE(kvs.Contains(2));
  EXPECT_TRUE(kvs.Contains(3));
  EXPECT_EQ(kvs.ValueSize(3).size(), 0u);
}

TEST_F(KvsBasicTest, ManyUpdatesReclaimAndLevelWear) {
  KeyValueStore<16> kvs(partition_);
  ASSERT_TRUE(kvs.Init().ok());
  flash_.ResetCounters();
  std::map<Key, std::string> shadow;
  for (int i = 0; i < 3000; ++i) {
    const Key key = static_cast<Key>(i % 11);
    const std::string value =
        "v" + std::to_string(i) + std::string(i % 40, 'x');
    ASSERT_TRUE(kvs.Put(key, Bytes(value)).ok()) << i;
    shadow[key] = value;
  }
  for (const auto& [key, value] : shadow) EXPECT_EQ(GetString(kvs, key), value);
  uint32_t lo = UINT32_MAX, hi = 0;
  for (size_t s = 0; s < 6; ++s) {
    lo = std::min(lo, flash_.sector_erases(s));
    hi = std::max(hi, flash_.sector_erases(s));
  }
  EXPECT_GT(hi, 5u);
  EXPECT_LE(hi - lo, 1u);
  KeyValueStore<16> again(partition_);
  ASSERT_TRUE(again.Init().ok());
  for (const auto& [key, value] : shadow) {
    EXPECT_EQ(GetString(again, key), value);
  }
}

TEST_F(KvsBasicTest, BatchAppliesAllOperations) {
  KeyValueStore<16> kvs(partition_);
  ASSERT_TRUE(kvs.Init().ok());
  ASSERT_TRUE(kvs.Put(1, Bytes("old")).ok());
  const std::string two = "two", three = "three";  // must outlive Commit
  Batch<4> batch;
  ASSERT_TRUE(batch.Put(2, Bytes(two)).ok());
  ASSERT_TRUE(batch.Put(3, Bytes(three)).ok());
  ASSERT_TRUE(batch.Delete(1).ok());
  ASSERT_TRUE(kvs.Commit(batch).ok());
  EXPECT_FALSE(kvs.Contains(1));
  EXPECT_EQ(GetString(kvs, 2), "two");
  KeyValueStore<16> again(partition_);
  ASSERT_TRUE(again.Init().ok());
  EXPECT_FALSE(again.Contains(1));
  EXPECT_EQ(GetString(again, 3), "three");
}

}  // namespace
}  // namespace cairn::kvs
