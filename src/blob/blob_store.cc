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
  Load();  // an unusable record just means "no blob"
  initialized_ = true;
  return Status::Ok();
}

// Reads the metadata record into `record` (the header at least; a name that
// does not fit is left out) and sets `length` to the bytes read. NOT_FOUND:
// no record. DATA_LOSS: unreadable or not a version-1 record.
Status BlobStore::ReadRecord(std::span<std::byte> record, size_t& length) {
  const StatusWithSize got = kvs_->Get(key_, record);
  length = got.ok() ? got.size() : kMetadataHeaderBytes;
  if (got.status().IsNotFound()) return got.status();
  if ((!got.ok() && !got.status().IsResourceExhausted()) ||
      got.size() < kMetadataHeaderBytes ||
      record[0] != std::byte{kMetadataVersion}) {
    return Status::DataLoss();
  }
  return Status::Ok();
}

// Decides from the metadata record (and the bytes, when there is a checksum)
// whether a valid blob is stored.
void BlobStore::Load() {
  valid_size_ = 0;
  std::array<std::byte, kMetadataHeaderBytes> header;
  size_t length;
  Status status = ReadRecord(header, length);
  size_t size = 0;
  if (status.ok()) {
    const uint8_t flags = static_cast<uint8_t>(header[1]);
    size = Get32(&header[2]);
    if ((flags & kFlagComplete) == 0) {
      status = Status::NotFound();  // a write in progress or interrupted
    } else if (size > partition_->size_bytes() ||
               (checksum_ != nullptr && (flags & kFlagChecksum) == 0)) {
      status = Status::DataLoss();
    } else if (checksum_ != nullptr) {
      status = ChecksumOfFlash(size);
      if (status.ok() && checksum_->value() != Get32(&header[6])) {
        status = Status::DataLoss();
      }
    }
  }
  corrupt_ = !status.ok() && !status.IsNotFound();
  if (status.ok()) valid_size_ = size;
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

Status BlobStore::OpenWrite(BlobWriter* writer) {
  LockGuard guard(lock_);
  CAIRN_TRY(Ready());
  if (writer_ != nullptr || readers_ != 0) return Status::FailedPrecondition();
  ResetWrite();
  name_length_ = 0;
  writer_ = writer;
  return Status::Ok();
}

StatusWithSize BlobStore::ResumeWrite(BlobWriter* writer) {
  LockGuard guard(lock_);
  const Status status = Resume(writer);
  return StatusWithSize(status, status.ok() ? flushed_ : 0);
}

Status BlobStore::Resume(BlobWriter* writer) {
  CAIRN_TRY(Ready());
  if (writer_ != nullptr || readers_ != 0) return Status::FailedPrecondition();

  // The record must describe an incomplete blob written with the same
  // checksum setting. It is read into the writer's buffer so that the file
  // name survives (a buffer too small for the name drops the name).
  std::array<std::byte, kMetadataHeaderBytes> header;
  std::span<std::byte> record = writer->metadata_.size() >= header.size()
                                    ? writer->metadata_
                                    : std::span<std::byte>(header);
  size_t length;
  const Status status = ReadRecord(record, length);
  if (status.IsNotFound()) return Status::FailedPrecondition();
  CAIRN_TRY(status);
  const uint8_t flags = static_cast<uint8_t>(record[1]);
  if ((flags & kFlagComplete) != 0 ||
      ((flags & kFlagChecksum) != 0) != (checksum_ != nullptr)) {
    return Status::FailedPrecondition();
  }

  // The furthest written point lies in the last sector that is not erased
  // (one that does not read, DATA_LOSS twice: an ECC word a cut program
  // left, is not). Back up past that sector and one full sector before it, and
  // erase from there to the end (units beyond may have been programmed with
  // bytes that read as erased).
  ResetWrite();
  const size_t sector = partition_->sector_size();
  size_t used = partition_->sector_count();
  for (; used > 0; --used) {
    Result<bool> erased = partition_->IsErased((used - 1) * sector, sector);
    if (erased.status().IsDataLoss()) {
      erased = partition_->IsErased((used - 1) * sector, sector);
    }
    if (erased.status().IsDataLoss()) break;
    CAIRN_TRY(erased.status());
    if (!*erased) break;
  }
  const size_t first = used >= 2 ? used - 2 : 0;
  CAIRN_TRY(partition_->Erase(first, partition_->sector_count() - first));
  flushed_ = first * sector;
  if (checksum_ != nullptr) CAIRN_TRY(ChecksumOfFlash(flushed_));

  name_length_ = static_cast<uint16_t>(
      record.data() == header.data() ? 0 : length - kMetadataHeaderBytes);
  started_ = true;
  erased_ = false;
  valid_size_ = 0;
  writer_ = writer;
  return Status::Ok();
}

Status BlobStore::CloseWrite(const BlobWriter* writer) {
  LockGuard guard(lock_);
  if (writer_ != writer) return Status::FailedPrecondition();
  const Status status = Finish();
  writer_ = nullptr;
  return status;
}

// Programs what is buffered, checks the bytes on flash against the running
// checksum, then stores the complete record.
Status BlobStore::Finish() {
  if (failed_) return Status::DataLoss();
  if (buffered_ != 0) {
    CAIRN_TRY(Commit(buffer_.first(buffered_)));
    buffered_ = 0;
  }
  if (!started_) return Status::Ok();  // nothing written: old blob untouched
  if (checksum_ != nullptr) {
    const uint32_t expected = checksum_->value();
    const Status check = ChecksumOfFlash(flushed_);
    if (check.ok() && checksum_->value() != expected) {
      // The flash holds other bytes than were written: the blob must not
      // be resumed from them (Resume takes the checksum from the flash).
      DeleteRecord().IgnoreError();
      return Fail();
    }
    if (!check.ok()) return Fail();
  }
  if (!PutRecord(true).ok()) return Fail();
  started_ = false;
  valid_size_ = flushed_;
  return Status::Ok();
}

void BlobStore::AbandonWrite(const BlobWriter* writer) {
  LockGuard guard(lock_);
  if (writer_ == writer) writer_ = nullptr;
}

Status BlobStore::EraseBlob(const BlobWriter* writer) {
  LockGuard guard(lock_);
  if (writer_ != writer) return Status::FailedPrecondition();
  ResetWrite();
  Status status = DeleteRecord();
  if (status.ok() && !erased_) status = partition_->EraseAll();
  erased_ = status.ok();
  failed_ = !status.ok();
  return status;
}

Status BlobStore::DiscardBlob(const BlobWriter* writer) {
  LockGuard guard(lock_);
  if (writer_ != writer) return Status::FailedPrecondition();
  ResetWrite();
  const Status status = DeleteRecord();
  failed_ = !status.ok();
  return status;
}

Status BlobStore::SetFileName(const BlobWriter* writer, std::string_view name) {
  LockGuard guard(lock_);
  if (writer_ != writer) return Status::FailedPrecondition();
  if (name.size() > MaxFileNameLength(writer)) {
    return Status::ResourceExhausted();
  }
  if (!name.empty()) {  // the name buffer may be absent or header-sized
    std::memcpy(writer_->metadata_.data() + kMetadataHeaderBytes, name.data(),
                name.size());
  }
  name_length_ = static_cast<uint16_t>(name.size());
  return Status::Ok();
}

size_t BlobStore::MaxFileNameLength(const BlobWriter* writer) const {
  if (writer_ != writer) return 0;
  const size_t limit =
      std::min(writer->metadata_.size(), kvs_->max_value_size());
  return limit > kMetadataHeaderBytes ? limit - kMetadataHeaderBytes : 0;
}

Status BlobStore::CheckWritable(const BlobWriter* writer) const {
  if (writer_ != writer) return Status::FailedPrecondition();
  return failed_ ? Status::DataLoss() : Status::Ok();
}

Status BlobStore::Fail() {
  failed_ = true;
  return Status::DataLoss();
}

Status BlobStore::Write(const BlobWriter* writer,
                        std::span<const std::byte> data, bool deferred) {
  LockGuard guard(lock_);
  CAIRN_TRY(CheckWritable(writer));
  if (data.size() > partition_->size_bytes() - flushed_ - buffered_) {
    return Status::OutOfRange();
  }
  if (deferred) {
    if (data.size() > buffer_.size() - buffered_) {
      return Status::ResourceExhausted();
    }
  } else if (buffer_.empty()) {
    if (data.size() % flash_write_size_ != 0) return Status::InvalidArgument();
    return data.empty() ? Status::Ok() : Commit(data);
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

Status BlobStore::Flush(const BlobWriter* writer) {
  LockGuard guard(lock_);
  CAIRN_TRY(CheckWritable(writer));
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
  if (!started_ && !Begin().ok()) return Fail();
  while (!data.empty()) {
    const auto chunk =
        data.first(std::min(data.size(), partition_->sector_size()));
    if (!partition_->ProgramPadded(flushed_, chunk).ok()) return Fail();
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
  // The blob is gone only once its record is: a failed delete leaves it.
  if (kvs_->Contains(key_)) CAIRN_TRY(kvs_->Delete(key_));
  valid_size_ = 0;
  corrupt_ = false;
  return Status::Ok();
}

Status BlobStore::PutRecord(bool complete) {
  std::array<std::byte, kMetadataHeaderBytes> header;
  std::span<std::byte> record =
      writer_->metadata_.size() >= kMetadataHeaderBytes ? writer_->metadata_
                                                        : header;
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

size_t BlobStore::WriteLimit(const BlobWriter* writer, bool deferred) const {
  LockGuard guard(lock_);
  if (!CheckWritable(writer).ok()) return 0;
  const size_t room = partition_->size_bytes() - flushed_ - buffered_;
  return deferred ? std::min(room, buffer_.size() - buffered_) : room;
}

// ---- reading ----

Status BlobStore::OpenRead() {
  LockGuard guard(lock_);
  CAIRN_TRY(Ready());
  if (writer_ != nullptr) return Status::FailedPrecondition();
  if (valid_size_ == 0) Load();  // retry: a read may have failed at Init
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

Status BlobWriter::Open() { return store_->OpenWrite(this); }

StatusWithSize BlobWriter::Resume() { return store_->ResumeWrite(this); }

Status BlobWriter::Close() { return store_->CloseWrite(this); }

void BlobWriter::Abandon() { store_->AbandonWrite(this); }

Status BlobWriter::Erase() { return store_->EraseBlob(this); }

Status BlobWriter::Discard() { return store_->DiscardBlob(this); }

Status BlobWriter::SetFileName(std::string_view name) {
  return store_->SetFileName(this, name);
}

size_t BlobWriter::MaxFileNameLength() const {
  return store_->MaxFileNameLength(this);
}

size_t BlobWriter::position() const {
  return is_open() ? store_->flushed_ + store_->buffered_ : 0;
}

uint32_t BlobWriter::CurrentChecksum() const {
  return is_open() && store_->checksum_ != nullptr ? store_->checksum_->value()
                                                   : 0;
}

size_t BlobWriter::ConservativeWriteLimit() const {
  return store_->WriteLimit(this, false);
}

Status BlobWriter::DoWrite(std::span<const std::byte> data) {
  return store_->Write(this, data, false);
}

Status DeferredWriter::Flush() { return store_->Flush(this); }

size_t DeferredWriter::ConservativeWriteLimit() const {
  return store_->WriteLimit(this, true);
}

Status DeferredWriter::DoWrite(std::span<const std::byte> data) {
  return store_->Write(this, data, true);
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
