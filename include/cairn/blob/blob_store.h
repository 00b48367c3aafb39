// Blob store: one large value (a firmware image, a crash dump, a certificate)
// per flash partition, written once in chunks and read back many times.
//
// The bytes of the blob fill its own FlashPartition from address 0. What is
// known about them (size, checksum, complete or still being written, an
// optional file name) is one record in a kvs::Store, under the key
// MetadataKey(name). docs/blob.md specifies the record byte by byte and the
// order of flash operations that keeps the store power-loss safe: the record
// never claims a complete blob over bytes that were changed after it was
// written.
//
// Users go through three stream classes: BlobWriter (buffered writes of any
// size), DeferredWriter (Write only queues into the buffer; Flush, possibly
// from another thread, programs it) and BlobReader (seekable reads and
// memory-mapped access). Any number of readers, or one writer, may be open.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "cairn/checksum.h"
#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key.h"
#include "cairn/kvs/key_value_store.h"
#include "cairn/lock.h"
#include "cairn/result.h"
#include "cairn/status.h"
#include "cairn/status_with_size.h"
#include "cairn/stream.h"

namespace cairn::blob {

// Version of the metadata record (first byte of the record).
inline constexpr uint8_t kMetadataVersion = 1;
// Bytes of the record before the file name.
inline constexpr size_t kMetadataHeaderBytes = 10;
// Bits of the flags byte of the record.
inline constexpr uint8_t kFlagComplete = 0x01;
inline constexpr uint8_t kFlagChecksum = 0x02;

// The key of a blob store's metadata record: KeyFromName("blob:" + name),
// i.e. 32-bit FNV-1a over the five bytes "blob:" followed by the name.
inline constexpr kvs::Key kMetadataKeyPrefixHash = kvs::KeyFromName("blob:");
constexpr kvs::Key MetadataKey(std::string_view name) {
  uint32_t hash = kMetadataKeyPrefixHash;
  for (char c : name) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x01000193u;
  }
  return hash;
}

class BlobWriter;
class DeferredWriter;
class BlobReader;

class BlobStore {
 public:
  // name: identifies the blob; the metadata key is MetadataKey(name).
  // partition: holds the blob's bytes, all of it, for this store only.
  // checksum: updated with every byte written and checked when the blob is
  //     closed and when it is loaded; nullptr for no integrity check.
  // kvs: holds the metadata record; it must be initialized before Init().
  // write_buffer: stages writes; its size must be a multiple of
  //     flash_write_size, or zero (then every Write must be a multiple of
  //     flash_write_size and DeferredWriter cannot queue anything).
  // flash_write_size: bytes per program operation; a multiple of the
  //     partition's alignment and at most one sector.
  // lock: taken around every operation (nullptr: none). Needed when a
  //     DeferredWriter is flushed from another thread than the one writing.
  BlobStore(std::string_view name, FlashPartition& partition,
            ChecksumAlgorithm* checksum, kvs::Store& kvs,
            std::span<std::byte> write_buffer, size_t flash_write_size,
            Lock* lock = nullptr);
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Checks the configuration and loads the metadata record; a complete blob
  // counts as stored only if its checksum matches the bytes on flash. Every
  // other call runs Init() first if it has not succeeded yet.
  // INVALID_ARGUMENT: bad partition, flash write size or buffer size.
  // FAILED_PRECONDITION: the key-value store is not initialized.
  Status Init();

  // True if a complete, valid blob of at least one byte is stored. Uses the
  // state loaded by Init() and kept by the writers; reads nothing.
  bool HasData();
  // Size of the stored valid blob; 0 when there is none.
  size_t ReadableDataBytes();
  // The most a blob can hold: the partition size.
  size_t MaxDataSizeBytes() const { return partition_->size_bytes(); }
  // Copies the stored blob's file name into `out` (no terminator); the size
  // is the name length. NOT_FOUND: no valid blob. RESOURCE_EXHAUSTED: `out`
  // is shorter than the name (it holds the first out.size() bytes; the size
  // is the name length).
  StatusWithSize GetFileName(std::span<char> out);

  kvs::Key metadata_key() const { return key_; }
  size_t flash_write_size() const { return flash_write_size_; }

 private:
  friend class BlobWriter;
  friend class DeferredWriter;
  friend class BlobReader;

  Status Ready();
  void Load();
  Status ReadRecord(std::span<std::byte> record, size_t& length);
  Status OpenWrite(BlobWriter* writer);
  StatusWithSize ResumeWrite(BlobWriter* writer);
  Status Resume(BlobWriter* writer);
  Status CloseWrite(const BlobWriter* writer);
  Status Finish();
  void AbandonWrite(const BlobWriter* writer);
  Status EraseBlob(const BlobWriter* writer);
  Status DiscardBlob(const BlobWriter* writer);
  Status SetFileName(const BlobWriter* writer, std::string_view name);
  size_t MaxFileNameLength(const BlobWriter* writer) const;
  Status Write(const BlobWriter* writer, std::span<const std::byte> data,
               bool deferred);
  Status Flush(const BlobWriter* writer);
  size_t WriteLimit(const BlobWriter* writer, bool deferred) const;
  Status OpenRead();
  void CloseRead();

  void ResetWrite();
  Status CheckWritable(const BlobWriter* writer) const;
  Status Fail();
  Status FlushWhole();
  Status Commit(std::span<const std::byte> data);
  Status Begin();
  Status DeleteRecord();
  Status PutRecord(bool complete);
  Status ChecksumOfFlash(size_t size);

  FlashPartition* partition_;
  ChecksumAlgorithm* checksum_;
  kvs::Store* kvs_;
  std::span<std::byte> buffer_;
  Lock* lock_;
  BlobWriter* writer_ = nullptr;  // the open writer, if any
  kvs::Key key_;
  uint32_t flash_write_size_;

  size_t valid_size_ = 0;  // size of the stored valid blob, 0: none
  size_t flushed_ = 0;     // bytes of the blob being written on flash
  size_t buffered_ = 0;    // bytes waiting in the write buffer
  uint16_t readers_ = 0;
  uint16_t name_length_ = 0;
  bool initialized_ = false;
  bool corrupt_ = false;  // the record or the blob failed its check
  bool started_ = false;  // this write has its in-progress record on flash
  bool erased_ = false;   // the whole partition is known to be erased
  bool failed_ = false;   // a write failed: DATA_LOSS until erase/discard
};

// Writes a blob. Open() starts a new blob; nothing on flash changes until the
// first byte reaches flash (or Erase/Discard), and then the old blob is
// invalidated before its sectors are erased. A destroyed open writer closes.
//
// Write() stages bytes in the store's write buffer and programs every whole
// flash_write_size chunk at once. Its statuses: OK; FAILED_PRECONDITION (not
// open); OUT_OF_RANGE (the blob would not fit the partition; nothing
// written); INVALID_ARGUMENT (zero-size buffer and a length that is not a
// multiple of the flash write size); DATA_LOSS (this or an earlier flash or
// metadata write failed; the blob stays unwritable until Erase or Discard).
class BlobWriter : public Writer {
 public:
  // `metadata` holds the record while it is encoded, file name included; a
  // file name needs kMetadataHeaderBytes + its length (see
  // BlobWriterWithBuffer). Without one, blobs carry no name.
  explicit BlobWriter(BlobStore& store, std::span<std::byte> metadata = {})
      : store_(&store), metadata_(metadata) {}
  ~BlobWriter() {
    if (is_open()) Close().IgnoreError();
  }

  // FAILED_PRECONDITION: this writer, another writer or a reader is open.
  Status Open();
  // Opens the writer on the blob an abandoned or interrupted write left
  // behind, at its last safe point (see docs/blob.md), and returns the
  // number of bytes kept; continue writing from there. The running checksum
  // is recomputed from flash. FAILED_PRECONDITION: something is open, or
  // there is no incomplete blob written with the same checksum setting.
  // DATA_LOSS: the record is corrupt. Flash errors are returned as they are
  // (the writer stays closed; the write can be resumed later).
  StatusWithSize Resume();
  // Programs what is buffered (the last chunk padded to the alignment),
  // checks the checksum by reading the blob back and stores the complete
  // record. Closes the writer whatever the outcome. DATA_LOSS: a write or the
  // check failed; no valid blob is stored.
  Status Close();
  // Closes without finishing: buffered bytes are dropped and the blob stays
  // incomplete (invisible to readers) until Resume() or a new write.
  void Abandon();
  // Invalidates the stored blob and erases the partition (skipped if it is
  // known to be erased already) so that the next write need not. Returns the
  // key-value store's or the flash's error on failure.
  Status Erase();
  // Invalidates the stored blob and any write in progress without erasing.
  Status Discard();

  // Names the blob being written (copied). RESOURCE_EXHAUSTED: longer than
  // MaxFileNameLength(). FAILED_PRECONDITION: not open.
  Status SetFileName(std::string_view name);
  size_t MaxFileNameLength() const;

  // Bytes accepted so far (on flash or buffered).
  size_t position() const;
  // The running checksum of the bytes programmed so far (0 without one).
  uint32_t CurrentChecksum() const;
  bool is_open() const { return store_->writer_ == this; }

  size_t ConservativeWriteLimit() const override;

 protected:
  Status DoWrite(std::span<const std::byte> data) override;

  BlobStore* store_;

 private:
  friend class BlobStore;
  std::span<std::byte> metadata_;
};

// A BlobWriter whose Write() only queues bytes in the write buffer
// (RESOURCE_EXHAUSTED, nothing queued, when they do not fit). Flush()
// programs the whole flash_write_size chunks and keeps the remainder; Close()
// programs everything. Flush may run on another thread than Write when the
// store has a Lock.
class DeferredWriter : public BlobWriter {
 public:
  explicit DeferredWriter(BlobStore& store, std::span<std::byte> metadata = {})
      : BlobWriter(store, metadata) {}

  // FAILED_PRECONDITION: not open. DATA_LOSS: as for Write.
  Status Flush();
  // Free space in the write buffer (0 if a write would fail).
  size_t ConservativeWriteLimit() const override;

 private:
  Status DoWrite(std::span<const std::byte> data) override;
};

// Writers with room for a file name of up to kMaxFileNameLength bytes.
template <size_t kMaxFileNameLength>
class BlobWriterWithBuffer
    : private std::array<std::byte, kMetadataHeaderBytes + kMaxFileNameLength>,
      public BlobWriter {
  using Buffer =
      std::array<std::byte, kMetadataHeaderBytes + kMaxFileNameLength>;

 public:
  explicit BlobWriterWithBuffer(BlobStore& store)
      : BlobWriter(store, *static_cast<Buffer*>(this)) {}
};

template <size_t kMaxFileNameLength>
class DeferredWriterWithBuffer
    : private std::array<std::byte, kMetadataHeaderBytes + kMaxFileNameLength>,
      public DeferredWriter {
  using Buffer =
      std::array<std::byte, kMetadataHeaderBytes + kMaxFileNameLength>;

 public:
  explicit DeferredWriterWithBuffer(BlobStore& store)
      : DeferredWriter(store, *static_cast<Buffer*>(this)) {}
};

// Reads the stored blob. Open() refuses an incomplete or corrupt blob.
// Read() returns OUT_OF_RANGE at the end of the blob.
class BlobReader final : public SeekableReader {
 public:
  explicit BlobReader(BlobStore& store) : store_(&store) {}
  ~BlobReader() {
    if (open_) Close();
  }

  // FAILED_PRECONDITION: already open or a writer is open. NOT_FOUND: no
  // complete blob. DATA_LOSS: the stored blob failed its checksum.
  Status Open();
  void Close();
  bool is_open() const { return open_; }

  // The whole blob in the memory-mapped flash. UNIMPLEMENTED: the flash is
  // not mapped. FAILED_PRECONDITION: not open.
  Result<std::span<const std::byte>> GetMemoryMappedBlob() const;

  size_t ConservativeReadLimit() const override;

 private:
  StatusWithSize DoRead(std::span<std::byte> out) override;
  Status DoSeek(size_t offset) override;
  size_t DoTell() const override { return offset_; }

  BlobStore* store_;
  size_t offset_ = 0;
  bool open_ = false;
};

// A BlobStore that owns a write buffer of kBufferBytes (flash_write_size
// defaults to the whole buffer).
template <size_t kBufferBytes>
class BlobStoreBuffer : private std::array<std::byte, kBufferBytes>,
                        public BlobStore {
  using Buffer = std::array<std::byte, kBufferBytes>;

 public:
  BlobStoreBuffer(std::string_view name, FlashPartition& partition,
                  ChecksumAlgorithm* checksum, kvs::Store& kvs,
                  size_t flash_write_size = kBufferBytes, Lock* lock = nullptr)
      : BlobStore(name, partition, checksum, kvs, *static_cast<Buffer*>(this),
                  flash_write_size, lock) {}
};

}  // namespace cairn::blob
