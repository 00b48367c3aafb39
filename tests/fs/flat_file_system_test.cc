#include "cairn/fs/flat_file_system.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "blob/blob_rig.h"

namespace cairn::fs {
namespace {

using blob::BlobReader;
using blob::BlobStore;
using blob::BlobStoreBuffer;
using blob::BlobWriterWithBuffer;
using blob::testing::Geometry;
using blob::testing::RandomBytes;
using blob::testing::Rig;

class FlatFileSystemTest : public ::testing::Test {
 protected:
  static Geometry Layout() {
    Geometry g;
    g.sector_size = 1024;
    g.kvs_sectors = 4;
    g.blob_sectors = 6;  // three blob partitions of two sectors
    return g;
  }

  FlatFileSystemTest()
      : rig_(Layout()),
        parts_{FlashPartition(rig_.flash, 4, 2),
               FlashPartition(rig_.flash, 6, 2),
               FlashPartition(rig_.flash, 8, 2)} {}

  void SetUp() override {
    ASSERT_EQ(Status::Ok(), rig_.MountKvs());
    Remount();
  }

  // Builds fresh blob stores (as after a reboot).
  void Remount() {
    for (size_t i = 0; i < 3; ++i) {
      stores_[i].reset();
      stores_[i].emplace("file" + std::to_string(i), parts_[i], &crc_,
                         rig_.store(), 64);
      pointers_[i] = &*stores_[i];
    }
  }

  void Store(size_t i, const std::string& name,
             const std::vector<std::byte>& data) {
    BlobWriterWithBuffer<24> writer(*stores_[i]);
    ASSERT_EQ(Status::Ok(), writer.Open());
    ASSERT_EQ(Status::Ok(), writer.SetFileName(name));
    ASSERT_EQ(Status::Ok(), writer.Write(data));
    ASSERT_EQ(Status::Ok(), writer.Close());
  }

  Rig rig_;
  Crc32Checksum crc_;
  FlashPartition parts_[3];
  std::optional<BlobStoreBuffer<128>> stores_[3];
  BlobStore* pointers_[3] = {};
};

TEST_F(FlatFileSystemTest, ListStatReadDelete) {
  FlatFileSystem fs(pointers_);
  EXPECT_EQ(3u, fs.max_files());
  char name[32];
  EXPECT_EQ(0u, fs.List(name, [](const FileInfo&, std::string_view) {}));
  EXPECT_EQ(Status::NotFound(), fs.Stat(0, name).status());
  EXPECT_EQ(Status::NotFound(), fs.Stat(7, name).status());

  const auto a = RandomBytes(1500, 1);
  const auto c = RandomBytes(2048, 3);
  Store(0, "boot.log", a);
  Store(2, "cert.der", c);

  std::map<uint32_t, std::pair<std::string, size_t>> listed;
  EXPECT_EQ(2u, fs.List(name, [&](const FileInfo& info, std::string_view n) {
    listed[info.id] = {std::string(n), info.size};
  }));
  ASSERT_EQ(2u, listed.size());
  EXPECT_EQ("boot.log", listed[0].first);
  EXPECT_EQ(1500u, listed[0].second);
  EXPECT_EQ("cert.der", listed[2].first);
  EXPECT_EQ(2048u, listed[2].second);

  Result<FileInfo> info = fs.Stat(2, name);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(2u, info->id);
  EXPECT_EQ(2048u, info->size);
  EXPECT_EQ(8u, info->name_length);
  char tiny[3];
  info = fs.Stat(2, tiny);  // the name is truncated, the rest still known
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(8u, info->name_length);
  EXPECT_EQ("cer", std::string(tiny, 3));

  Result<uint32_t> id = fs.Find("cert.der");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(2u, *id);
  EXPECT_EQ(Status::NotFound(), fs.Find("cert").status());
  EXPECT_EQ(Status::NotFound(), fs.Find("nope").status());

  std::vector<std::byte> out(700);
  StatusWithSize got = fs.Read(0, 1000, out);
  ASSERT_EQ(Status::Ok(), got.status());
  EXPECT_EQ(500u, got.size());
  EXPECT_TRUE(std::equal(a.begin() + 1000, a.end(), out.begin()));
  EXPECT_EQ(Status::OutOfRange(), fs.Read(0, 1500, out).status());
  EXPECT_EQ(Status::OutOfRange(), fs.Read(0, 1501, out).status());
  EXPECT_EQ(Status::NotFound(), fs.Read(1, 0, out).status());
  EXPECT_EQ(Status::NotFound(), fs.Read(9, 0, out).status());

  // Delete refuses an open file, then removes it (also after a reboot).
  {
    BlobReader reader(*stores_[0]);
    ASSERT_EQ(Status::Ok(), reader.Open());
    EXPECT_EQ(Status::FailedPrecondition(), fs.Delete(0));
  }
  EXPECT_EQ(Status::Ok(), fs.Delete(0));
  EXPECT_EQ(Status::NotFound(), fs.Delete(0));
  EXPECT_EQ(Status::NotFound(), fs.Delete(1));
  EXPECT_EQ(Status::NotFound(), fs.Stat(0, name).status());
  ASSERT_EQ(Status::Ok(), rig_.MountKvs());
  Remount();
  FlatFileSystem again(pointers_);
  EXPECT_EQ(1u, again.List(name, [](const FileInfo&, std::string_view) {}));
  EXPECT_EQ(Status::NotFound(), again.Stat(0, name).status());
  info = again.Stat(2, name);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(2048u, info->size);
}

TEST_F(FlatFileSystemTest, FileBeingWrittenIsNotReadable) {
  FlatFileSystem fs(pointers_);
  Store(1, "x", RandomBytes(100, 5));
  blob::BlobWriter writer(*stores_[1]);
  ASSERT_EQ(Status::Ok(), writer.Open());
  std::vector<std::byte> out(10);
  EXPECT_EQ(Status::FailedPrecondition(), fs.Read(1, 0, out).status());
  writer.Abandon();
  EXPECT_EQ(Status::Ok(), fs.Read(1, 0, out).status());
}

}  // namespace
}  // namespace cairn::fs
