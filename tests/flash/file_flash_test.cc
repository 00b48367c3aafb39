#include "cairn/host/file_flash.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "cairn/flash/flash_partition.h"

namespace cairn {

[[maybe_unused]] static void PrintTo(Status status, std::ostream* os) {
  *os << status.str();
}

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

Bytes Fill(size_t n, uint8_t value) { return Bytes(n, std::byte{value}); }

class FileFlashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cairn_file_flash_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ / name; }

  static Bytes FileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Bytes out;
    for (std::istreambuf_iterator<char> it(in), end; it != end; ++it) {
      out.push_back(static_cast<std::byte>(*it));
    }
    return out;
  }

  static void WriteFile(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

  fs::path dir_;
};

TEST_F(FileFlashTest, CreateWritesAnErasedImage) {
  const std::string path = Path("a.img");
  ASSERT_EQ(FileFlash::Create(path, 4096, 3, 4, std::byte{0xFF}), Status::Ok());
  EXPECT_EQ(FileBytes(path), Fill(3 * 4096, 0xFF));
  ASSERT_EQ(FileFlash::Create(path, 256, 2, 1, std::byte{0x00}), Status::Ok());
  EXPECT_EQ(FileBytes(path), Fill(512, 0x00));  // replaced, not appended

  // A large sector (bigger than Create's internal chunk).
  ASSERT_EQ(FileFlash::Create(path, 128 * 1024, 2, 256, std::byte{0xFF}),
            Status::Ok());
  EXPECT_EQ(fs::file_size(path), 256u * 1024u);
}

TEST_F(FileFlashTest, OpenReportsGeometryAndContents) {
  const std::string path = Path("a.img");
  ASSERT_EQ(FileFlash::Create(path, 1024, 4, 16, std::byte{0xFF}),
            Status::Ok());
  Status status = Status::Internal();
  auto flash = FileFlash::Open(path, 1024, 16, std::byte{0xFF}, &status);
  ASSERT_EQ(status, Status::Ok());
  ASSERT_NE(flash, nullptr);
  EXPECT_EQ(flash->sector_size(), 1024u);
  EXPECT_EQ(flash->sector_count(), 4u);
  EXPECT_EQ(flash->alignment(), 16u);
  EXPECT_EQ(flash->erased_value(), std::byte{0xFF});
  EXPECT_EQ(flash->path(), path);
  EXPECT_FALSE(flash->read_only());
  EXPECT_EQ(flash->bytes().size(), 4096u);
  EXPECT_EQ(flash->mapped_base(), flash->bytes().data());
}

TEST_F(FileFlashTest, ProgramsAndErasesAreWrittenThroughAndSurviveReopen) {
  const std::string path = Path("a.img");
  ASSERT_EQ(FileFlash::Create(path, 256, 4, 4, std::byte{0xFF}), Status::Ok());
  Bytes data(16);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 3);
  {
    Status status;
    auto flash = FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status);
    ASSERT_NE(flash, nullptr);
    ASSERT_EQ(flash->Program(260, data), Status::Ok());
    ASSERT_EQ(flash->Program(0, Fill(256, 0x00)), Status::Ok());
    // On disk already, while the flash is still open.
    Bytes disk = FileBytes(path);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), disk.begin() + 260));
    EXPECT_EQ(disk[0], std::byte{0x00});
    ASSERT_EQ(flash->Erase(0, 1), Status::Ok());
    disk = FileBytes(path);
    EXPECT_EQ(Bytes(disk.begin(), disk.begin() + 256), Fill(256, 0xFF));
    EXPECT_EQ(flash->Sync(), Status::Ok());
    // The in-memory view agrees.
    Bytes out(16);
    ASSERT_EQ(flash->Read(260, out), Status::Ok());
    EXPECT_EQ(out, data);
    EXPECT_EQ(flash->mapped_base()[260], data[0]);
  }
  Status status;
  auto again = FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status);
  ASSERT_NE(again, nullptr);
  Bytes out(16);
  ASSERT_EQ(again->Read(260, out), Status::Ok());
  EXPECT_EQ(out, data);
  ASSERT_EQ(again->Read(0, out), Status::Ok());
  EXPECT_EQ(out, Fill(16, 0xFF));
}

TEST_F(FileFlashTest, EnforcesTheBitRule) {
  for (uint8_t erased : {0xFF, 0x00}) {
    const std::string path = Path("rule.img");
    ASSERT_EQ(FileFlash::Create(path, 256, 2, 1, std::byte{erased}),
              Status::Ok());
    Status status;
    auto flash = FileFlash::Open(path, 256, 1, std::byte{erased}, &status);
    ASSERT_NE(flash, nullptr);
    const uint8_t half = 0x0F;
    ASSERT_EQ(flash->Program(0, Fill(1, erased ^ 0xF0)), Status::Ok());
    // Moving more bits away from erased is fine ...
    EXPECT_EQ(flash->Program(0, Fill(1, erased ^ 0xF0 ^ half)), Status::Ok());
    // ... moving any back toward erased is not, and changes nothing.
    EXPECT_EQ(flash->Program(0, Fill(1, erased ^ 0x0F)),
              Status::FailedPrecondition());
    EXPECT_EQ(flash->Program(0, Fill(4, erased)), Status::FailedPrecondition());
    EXPECT_EQ(FileBytes(path)[0],
              std::byte{static_cast<uint8_t>(erased ^ 0xFF)});
    EXPECT_EQ(flash->bytes()[0],
              std::byte{static_cast<uint8_t>(erased ^ 0xFF)});
    EXPECT_EQ(FileBytes(path)[1], std::byte{erased});
  }
}

TEST_F(FileFlashTest, ChecksAlignmentAndBounds) {
  const std::string path = Path("a.img");
  ASSERT_EQ(FileFlash::Create(path, 512, 2, 8, std::byte{0xFF}), Status::Ok());
  Status status;
  auto flash = FileFlash::Open(path, 512, 8, std::byte{0xFF}, &status);
  ASSERT_NE(flash, nullptr);
  Bytes out(8);
  EXPECT_EQ(flash->Program(4, Fill(8, 0)), Status::InvalidArgument());
  EXPECT_EQ(flash->Program(8, Fill(4, 0)), Status::InvalidArgument());
  EXPECT_EQ(flash->Program(1024, Fill(8, 0)), Status::OutOfRange());
  EXPECT_EQ(flash->Read(1020, out), Status::OutOfRange());
  EXPECT_EQ(flash->Erase(2, 1), Status::OutOfRange());
  EXPECT_EQ(FileBytes(path), Fill(1024, 0xFF));

  // Through a partition too.
  FlashPartition part(*flash, 1, 1);
  ASSERT_EQ(part.ProgramPadded(0, Fill(3, 0x12)), Status::Ok());
  EXPECT_EQ(FileBytes(path)[512], std::byte{0x12});
  EXPECT_EQ(FileBytes(path)[515], std::byte{0xFF});
}

TEST_F(FileFlashTest, BadSizesAreInvalidArguments) {
  const std::string path = Path("odd.img");
  Status status;
  WriteFile(path, Fill(1000, 0xFF));
  EXPECT_EQ(FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status), nullptr);
  EXPECT_EQ(status, Status::InvalidArgument());

  WriteFile(path, Bytes());
  EXPECT_EQ(FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status), nullptr);
  EXPECT_EQ(status, Status::InvalidArgument());

  WriteFile(path, Fill(1024, 0xFF));
  for (auto [sector, alignment] : {std::pair<size_t, size_t>{0, 1},
                                   {256, 0},
                                   {256, 3},
                                   {1024, 512},
                                   {256, 512}}) {
    status = Status::Ok();
    EXPECT_EQ(
        FileFlash::Open(path, sector, alignment, std::byte{0xFF}, &status),
        nullptr)
        << sector << "/" << alignment;
    EXPECT_EQ(status, Status::InvalidArgument());
  }
  EXPECT_EQ(FileFlash::Create(path, 0, 4, 1, std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Create(path, 256, 0, 1, std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Create(path, 256, 4, 0, std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Create(path, 256, 4, 24, std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Create(path, 1024, 4, 512, std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Create(path, size_t{1} << 40, size_t{1} << 40, 1,
                              std::byte{0xFF}),
            Status::InvalidArgument());
  EXPECT_EQ(fs::file_size(path), 1024u);  // failed Creates left it alone

  // A directory is not an image.
  EXPECT_EQ(FileFlash::Open(dir_, 256, 4, std::byte{0xFF}, &status), nullptr);
  EXPECT_EQ(status, Status::InvalidArgument());
  EXPECT_EQ(FileFlash::Open(dir_, 256, 4, std::byte{0xFF}, &status,
                            FileFlash::Access::kReadOnly),
            nullptr);
  EXPECT_EQ(status, Status::InvalidArgument());
}

TEST_F(FileFlashTest, MissingFilesAreNotFound) {
  Status status;
  EXPECT_EQ(FileFlash::Open(Path("nope.img"), 256, 4, std::byte{0xFF}, &status),
            nullptr);
  EXPECT_EQ(status, Status::NotFound());
  EXPECT_EQ(FileFlash::Open(Path("nope.img"), 256, 4, std::byte{0xFF}, nullptr),
            nullptr);  // a null status is allowed
  EXPECT_EQ(
      FileFlash::Create(Path("no/such/dir.img"), 256, 4, 4, std::byte{0xFF}),
      Status::NotFound());
}

TEST_F(FileFlashTest, ReadOnlyOpenRefusesChanges) {
  const std::string path = Path("ro.img");
  ASSERT_EQ(FileFlash::Create(path, 256, 2, 4, std::byte{0xFF}), Status::Ok());
  {
    Status status;
    auto rw = FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status);
    ASSERT_NE(rw, nullptr);
    ASSERT_EQ(rw->Program(0, Fill(4, 0x21)), Status::Ok());
  }
  Status status;
  auto flash = FileFlash::Open(path, 256, 4, std::byte{0xFF}, &status,
                               FileFlash::Access::kReadOnly);
  ASSERT_NE(flash, nullptr);
  EXPECT_TRUE(flash->read_only());
  Bytes out(4);
  ASSERT_EQ(flash->Read(0, out), Status::Ok());
  EXPECT_EQ(out, Fill(4, 0x21));
  EXPECT_EQ(flash->Program(4, Fill(4, 0)), Status::FailedPrecondition());
  EXPECT_EQ(flash->Erase(0, 1), Status::FailedPrecondition());
  EXPECT_EQ(flash->bytes()[4], std::byte{0xFF});
  EXPECT_EQ(FileBytes(path)[0], std::byte{0x21});
}

TEST_F(FileFlashTest, OpensAnImageWrittenByAnotherTool) {
  const std::string path = Path("dump.img");
  Bytes image(2 * 4096);
  for (size_t i = 0; i < image.size(); ++i) image[i] = std::byte(i * 7);
  WriteFile(path, image);
  Status status;
  auto flash = FileFlash::Open(path, 4096, 1, std::byte{0xFF}, &status,
                               FileFlash::Access::kReadOnly);
  ASSERT_NE(flash, nullptr);
  EXPECT_EQ(flash->sector_count(), 2u);
  EXPECT_TRUE(std::equal(image.begin(), image.end(), flash->bytes().begin()));
}

}  // namespace
}  // namespace cairn
