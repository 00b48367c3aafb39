#include "cairn/blob/blob_store.h"

#include <algorithm>
#include <cstring>

namespace cairn::blob {
namespace {

void Put32(std::byte* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>(value >> (8 * i));
  }
}

uint32_t Get32(const std::byte* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  }
  return value;
}

}  // namespace

BlobStore::BlobStore(std::string_view name, FlashPartition& partition,
                     ChecksumAlgorithm* checksum, kvs::Store& kvs,
                     std::span<std::byte> write_buffer, size_t flash_write_size,
                     Lock* lock)
    : partition_(&partition),
      checksum_(checksum),
      kvs_(&kvs),
      buffer_(write_buffer),
      lock_(lock),
      key_(MetadataKey(name)),
      flash_write_size_(static_cast<uint32_t>(flash_write_size)) {}

// ---- setup and state ----

Status BlobStore::Init() {
  LockGuard guard(lock_);
  return Ready();
}

Status BlobStore::Ready() {
  if (initialized_) return Status::Ok();
  CAIRN_TRY(partition_->CheckValid());
  const size_t unit = flash_write_size_;
  if (unit == 0 || unit % partition_->alignment() != 0 ||
      unit > partition_->sector_size() || buffer_.size() % unit != 0) {
    return Status::InvalidArgument();
  }
  if (!kvs_->initialized()) return Status::FailedPrecondition();
  Load().IgnoreError();  // an unusable record just means "no blob"
  initialized_ = true;
  return Status::Ok();
}

// Decides from the metadata record (and the bytes, when there is a checksum)
// whether a valid blob is stored.
Status BlobStore::Load() {
  valid_size_ = 0;
  corrupt_ = false;
  std::array<std::byte, kMetadataHeaderBytes> header;
  const StatusWithSize got = kvs_->Get(key_, std::span<std::byte>(header));
  if (!got.ok() && !got.status().IsResourceExhausted()) {
    corrupt_ = !got.status().IsNotFound();
    return got.status();
  }
  if (got.size() < kMetadataHeaderBytes ||
      header[0] != std::byte{kMetadataVersion}) {
    corrupt_ = true;
    return Status::DataLoss();
  }
  const uint8_t flags = static_cast<uint8_t>(header[1]);
  if ((flags & kFlagComplete) == 0) return Status::NotFound();
  const size_t size = Get32(&header[2]);
  corrupt_ = true;
  if (size > partition_->size_bytes()) return Status::DataLoss();
  if (checksum_ != nullptr) {
    if ((flags & kFlagChecksum) == 0) return Status::DataLoss();
    CAIRN_TRY(ChecksumOfFlash(size));
    if (checksum_->value() != Get32(&header[6])) return Status::DataLoss();
  }
  corrupt_ = false;
  valid_size_ = size;
  return Status::Ok();
}

bool BlobStore::HasData() { return ReadableDataBytes() != 0; }

size_t BlobStore::ReadableDataBytes() {
  LockGuard guard(lock_);
  return Ready().ok() ? valid_size_ : 0;
}

StatusWithSize BlobStore::GetFileName(std::span<char> out) {
  LockGuard guard(lock_);
  if (const Status status = Ready(); !status.ok()) {
    return StatusWithSize(status, 0);
  }
  if (valid_size_ == 0) return StatusWithSize(Status::NotFound(), 0);
  return kvs_->Get(key_, std::as_writable_bytes(out), kMetadataHeaderBytes);
}

// ---- writing ----

void BlobStore::ResetWrite() {
  flushed_ = 0;
  buffered_ = 0;
  started_ = false;
  failed_ = false;
  if (checksum_ != nullptr) checksum_->Reset();
}

Status BlobStore::OpenWrite(std::span<std::byte> metadata) {
  LockGuard guard(lock_);
  CAIRN_TRY(Ready());
  if (writer_open_ || readers_ != 0) return Status::FailedPrecondition();
  ResetWrite();
  metadata_ = metadata;
  name_length_ = 0;
  writer_open_ = true;
  return Status::Ok();
}

StatusWithSize BlobStore::ResumeWrite(std::span<std::byte> metadata) {
  LockGuard guard(lock_);
  const Status status = Resume(metadata);
  return StatusWithSize(status, status.ok() ? flushed_ : 0);
}

Status BlobStore::Resume(std::span<std::byte> metadata) {
  CAIRN_TRY(Ready());
  if (writer_open_ || readers_ != 0) return Status::FailedPrecondition();

  // The record must describe an incomplete blob written with the same
  // checksum setting. It is read into the writer's buffer so that the file
  // name survives; a buffer too small for the name drops the name.
  std::array<std::byte, kMetadataHeaderBytes> header;
  std::span<std::byte> record =
      metadata.size() >= kMetadataHeaderBytes ? metadata : header;
  const StatusWithSize got = kvs_->Get(key_, record);
  if (got.status().IsNotFound()) return Status::FailedPrecondition();
  if (!got.ok() && !got.status().IsResourceExhausted()) return got.status();
  const uint8_t flags = static_cast<uint8_t>(record[1]);
  if (got.size() < kMetadataHeaderBytes ||
      record[0] != std::byte{kMetadataVersion} ||
      (flags & kFlagComplete) != 0 ||
      ((flags & kFlagChecksum) != 0) != (checksum_ != nullptr)) {
    return Status::FailedPrecondition();
  }

  // The furthest written point lies in the last sector that is not erased.
  // Back up past that sector and one full sector before it, and erase from
  // there to the end (units beyond may have been programmed with bytes
  // that read as erased).
  ResetWrite();
  const size_t sector = partition_->sector_size();
  size_t used = partition_->sector_count();
  for (; used > 0; --used) {
    const Result<bool> erased =
        partition_->IsErased((used - 1) * sector, sector);
    if (!erased.ok()) return erased.status();
    if (!*erased) break;
  }
  const size_t first = used >= 2 ? used - 2 : 0;
  CAIRN_TRY(partition_->Erase(first, partition_->sector_count() - first));
  const size_t resume = first * sector;
  if (checksum_ != nullptr) CAIRN_TRY(ChecksumOfFlash(resume));

  metadata_ = metadata;
  name_length_ =
      static_cast<uint16_t>(record.data() == metadata.data() && got.ok()
                                ? got.size() - kMetadataHeaderBytes
                                : 0);
  flushed_ = resume;
  started_ = true;
  erased_ = false;
  valid_size_ = 0;
  writer_open_ = true;
  return Status::Ok();
}

Status BlobStore::CloseWrite() {
  LockGuard guard(lock_);
  if (!writer_open_) return Status::FailedPrecondition();
  writer_open_ = false;
  if (failed_) return Status::DataLoss();
  if (buffered_ != 0) {
    CAIRN_TRY(Commit(buffer_.first(buffered_)));
    buffered_ = 0;
  }
  if (!started_) return Status::Ok();  // nothing written: old blob untouched
  if (checksum_ != nullptr) {
    const uint32_t expected = checksum_->value();
    if (!ChecksumOfFlash(flushed_).ok() || checksum_->value() != expected) {
      failed_ = true;
      return Status::DataLoss();
    }
  }
  if (!PutRecord(true).ok()) {
    failed_ = true;
    return Status::DataLoss();
  }
  started_ = false;
  valid_size_ = flushed_;
  return Status::Ok();
}

void BlobStore::AbandonWrite() {
  LockGuard guard(lock_);
  writer_open_ = false;
  buffered_ = 0;
}

Status BlobStore::EraseBlob() {
  LockGuard guard(lock_);
  if (!writer_open_) return Status::FailedPrecondition();
  ResetWrite();
  Status status = DeleteRecord();
  if (status.ok() && !erased_) status = partition_->EraseAll();
  erased_ = status.ok();
  failed_ = !status.ok();
  return status;
}

Status BlobStore::DiscardBlob() {
  LockGuard guard(lock_);
  if (!writer_open_) return Status::FailedPrecondition();
  ResetWrite();
  const Status status = DeleteRecord();
  failed_ = !status.ok();
  return status;
}

Status BlobStore::SetFileName(std::string_view name) {
  LockGuard guard(lock_);
  if (!writer_open_) return Status::FailedPrecondition();
  if (name.size() > MaxFileNameLength()) return Status::ResourceExhausted();
  std::memcpy(metadata_.data() + kMetadataHeaderBytes, name.data(),
              name.size());
  name_length_ = static_cast<uint16_t>(name.size());
  return Status::Ok();
}

size_t BlobStore::MaxFileNameLength() const {
  const size_t limit = std::min(metadata_.size(), kvs_->max_value_size());
  return limit > kMetadataHeaderBytes ? limit - kMetadataHeaderBytes : 0;
}

Status BlobStore::CheckWritable() const {
  if (!writer_open_) return Status::FailedPrecondition();
  return failed_ ? Status::DataLoss() : Status::Ok();
}

Status BlobStore::Write(std::span<const std::byte> data, bool deferred) {
  LockGuard guard(lock_);
  CAIRN_TRY(CheckWritable());
  if (data.size() > partition_->size_bytes() - flushed_ - buffered_) {
    return Status::OutOfRange();
  }
  if (deferred) {
    if (data.size() > buffer_.size() - buffered_) {
      return Status::ResourceExhausted();
    }
  } else if (buffer_.empty()) {
    if (data.size() % flash_write_size_ != 0) return Status::InvalidArgument();
    return Commit(data);
  }
  while (!data.empty()) {
    const size_t n = std::min(data.size(), buffer_.size() - buffered_);
    std::memcpy(buffer_.data() + buffered_, data.data(), n);
    buffered_ += n;
    data = data.subspan(n);
    if (!deferred) CAIRN_TRY(FlushWhole());
  }
  return Status::Ok();
}

Status BlobStore::Flush() {
  LockGuard guard(lock_);
  CAIRN_TRY(CheckWritable());
  return FlushWhole();
}

// Programs the whole flash-write-size chunks of the buffer and moves the
// remainder to its front.
Status BlobStore::FlushWhole() {
  const size_t n = buffered_ / flash_write_size_ * flash_write_size_;
  if (n == 0) return Status::Ok();
  CAIRN_TRY(Commit(buffer_.first(n)));
  buffered_ -= n;
  std::memmove(buffer_.data(), buffer_.data() + n, buffered_);
  return Status::Ok();
}

// Programs `data` at the end of the blob, at most a sector per operation (so
// that a torn program never spans more than two sectors), the last partial
// alignment unit padded. Any failure makes the blob unwritable.
Status BlobStore::Commit(std::span<const std::byte> data) {
  if (!started_ && !Begin().ok()) {
    failed_ = true;
    return Status::DataLoss();
  }
  while (!data.empty()) {
    const auto chunk =
        data.first(std::min(data.size(), partition_->sector_size()));
    if (!partition_->ProgramPadded(flushed_, chunk).ok()) {
      failed_ = true;
      return Status::DataLoss();
    }
    if (checksum_ != nullptr) checksum_->Update(chunk);
    flushed_ += chunk.size();
    data = data.subspan(chunk.size());
  }
  return Status::Ok();
}

// Starts a new blob on flash: invalidate the old record, erase, then record
// that a write is in progress (what Resume() looks for).
Status BlobStore::Begin() {
  CAIRN_TRY(DeleteRecord());
  if (!erased_) CAIRN_TRY(partition_->EraseAll());
  erased_ = false;
  CAIRN_TRY(PutRecord(false));
  started_ = true;
  return Status::Ok();
}

Status BlobStore::DeleteRecord() {
  valid_size_ = 0;
  corrupt_ = false;
  if (!kvs_->Contains(key_)) return Status::Ok();
  return kvs_->Delete(key_);
}

Status BlobStore::PutRecord(bool complete) {
  std::array<std::byte, kMetadataHeaderBytes> header;
  std::span<std::byte> record =
      metadata_.size() >= kMetadataHeaderBytes ? metadata_ : header;
  record[0] = std::byte{kMetadataVersion};
  record[1] = std::byte((complete ? kFlagComplete : 0) |
                        (checksum_ != nullptr ? kFlagChecksum : 0));
  Put32(&record[2], complete ? static_cast<uint32_t>(flushed_) : 0);
  Put32(&record[6], complete && checksum_ != nullptr ? checksum_->value() : 0);
  return kvs_->Put(key_, std::span<const std::byte>(record.first(
                             kMetadataHeaderBytes + name_length_)));
}

// Resets the checksum and feeds it the first `size` bytes of the partition.
Status BlobStore::ChecksumOfFlash(size_t size) {
  std::array<std::byte, 64> local;
  std::span<std::byte> scratch =
      buffer_.size() > local.size() ? buffer_ : std::span<std::byte>(local);
  checksum_->Reset();
  for (size_t offset = 0; offset < size;) {
    const auto chunk = scratch.first(std::min(size - offset, scratch.size()));
    CAIRN_TRY(partition_->Read(offset, chunk));
    checksum_->Update(chunk);
    offset += chunk.size();
  }
  return Status::Ok();
}

size_t BlobStore::WriteLimit(bool deferred) const {
  LockGuard guard(lock_);
  if (!CheckWritable().ok()) return 0;
  const size_t room = partition_->size_bytes() - flushed_ - buffered_;
  return deferred ? std::min(room, buffer_.size() - buffered_) : room;
}

// ---- reading ----

Status BlobStore::OpenRead() {
  LockGuard guard(lock_);
  CAIRN_TRY(Ready());
  if (writer_open_) return Status::FailedPrecondition();
  if (valid_size_ == 0) {
    return corrupt_ ? Status::DataLoss() : Status::NotFound();
  }
  ++readers_;
  return Status::Ok();
}

void BlobStore::CloseRead() {
  LockGuard guard(lock_);
  --readers_;
}

// ---- BlobWriter / DeferredWriter ----

Status BlobWriter::Open() {
  if (open_) return Status::FailedPrecondition();
  CAIRN_TRY(store_->OpenWrite(metadata_));
  open_ = true;
  return Status::Ok();
}

StatusWithSize BlobWriter::Resume() {
  if (open_) return StatusWithSize(Status::FailedPrecondition(), 0);
  const StatusWithSize resumed = store_->ResumeWrite(metadata_);
  open_ = resumed.ok();
  return resumed;
}

Status BlobWriter::Close() {
  if (!open_) return Status::FailedPrecondition();
  open_ = false;
  return store_->CloseWrite();
}

void BlobWriter::Abandon() {
  if (open_) store_->AbandonWrite();
  open_ = false;
}

Status BlobWriter::Erase() {
  return open_ ? store_->EraseBlob() : Status::FailedPrecondition();
}

Status BlobWriter::Discard() {
  return open_ ? store_->DiscardBlob() : Status::FailedPrecondition();
}

Status BlobWriter::SetFileName(std::string_view name) {
  return open_ ? store_->SetFileName(name) : Status::FailedPrecondition();
}

size_t BlobWriter::MaxFileNameLength() const {
  return open_ ? store_->MaxFileNameLength() : 0;
}

size_t BlobWriter::position() const {
  return open_ ? store_->flushed_ + store_->buffered_ : 0;
}

uint32_t BlobWriter::CurrentChecksum() const {
  return open_ && store_->checksum_ != nullptr ? store_->checksum_->value() : 0;
}

size_t BlobWriter::ConservativeWriteLimit() const {
  return open_ ? store_->WriteLimit(false) : 0;
}

Status BlobWriter::DoWrite(std::span<const std::byte> data) {
  return open_ ? store_->Write(data, false) : Status::FailedPrecondition();
}

Status DeferredWriter::Flush() {
  return open_ ? store_->Flush() : Status::FailedPrecondition();
}

size_t DeferredWriter::ConservativeWriteLimit() const {
  return open_ ? store_->WriteLimit(true) : 0;
}

Status DeferredWriter::DoWrite(std::span<const std::byte> data) {
  return open_ ? store_->Write(data, true) : Status::FailedPrecondition();
}

// ---- BlobReader ----

Status BlobReader::Open() {
  if (open_) return Status::FailedPrecondition();
  CAIRN_TRY(store_->OpenRead());
  open_ = true;
  offset_ = 0;
  return Status::Ok();
}

void BlobReader::Close() {
  if (open_) store_->CloseRead();
  open_ = false;
}

Result<std::span<const std::byte>> BlobReader::GetMemoryMappedBlob() const {
  if (!open_) return Status::FailedPrecondition();
  const std::byte* base = store_->partition_->mapped_base();
  if (base == nullptr) return Status::Unimplemented();
  return std::span<const std::byte>(base, store_->valid_size_);
}

size_t BlobReader::ConservativeReadLimit() const {
  return open_ && offset_ < store_->valid_size_ ? store_->valid_size_ - offset_
                                                : 0;
}

// Readers need no lock: while one is open no writer can change the blob.
StatusWithSize BlobReader::DoRead(std::span<std::byte> out) {
  const size_t n = std::min(out.size(), ConservativeReadLimit());
  Status status = open_ ? Status::OutOfRange() : Status::FailedPrecondition();
  if (n != 0) status = store_->partition_->Read(offset_, out.first(n));
  if (!status.ok()) return StatusWithSize(status, 0);
  offset_ += n;
  return StatusWithSize(n);
}

Status BlobReader::DoSeek(size_t offset) {
  if (!open_) return Status::FailedPrecondition();
  if (offset > store_->valid_size_) return Status::OutOfRange();
  offset_ = offset;
  return Status::Ok();
}

}  // namespace cairn::blob
