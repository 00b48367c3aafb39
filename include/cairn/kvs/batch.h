// Batch: several Puts and Deletes that Store::Commit() applies all or none,
// even across a power cut. No heap: the capacity is a template parameter and
// the values stay in caller memory until Commit() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cairn/kvs/key.h"
#include "cairn/status.h"

namespace cairn::kvs {

struct BatchOp {
  Key key;
  const std::byte* data;  // null for a delete
  uint32_t size;
  bool is_delete;
};

class BatchBase {
 public:
  BatchBase(const BatchBase&) = delete;
  BatchBase& operator=(const BatchBase&) = delete;

  // Queues a Put; the bytes are read at Commit() time. RESOURCE_EXHAUSTED
  // when the batch is full.
  Status Put(Key key, std::span<const std::byte> value) {
    return Add({key, value.data(), static_cast<uint32_t>(value.size()), false});
  }
  Status Delete(Key key) { return Add({key, nullptr, 0, true}); }
  void Clear() { size_ = 0; }

  size_t size() const { return size_; }
  size_t capacity() const { return ops_.size(); }
  bool empty() const { return size_ == 0; }
  std::span<const BatchOp> ops() const { return ops_.first(size_); }

 protected:
  explicit BatchBase(std::span<BatchOp> ops) : ops_(ops) {}
  ~BatchBase() = default;

 private:
  Status Add(const BatchOp& op) {
    if (size_ == ops_.size()) return Status::ResourceExhausted();
    ops_[size_++] = op;
    return Status::Ok();
  }

  std::span<BatchOp> ops_;
  size_t size_ = 0;
};

template <size_t kMaxOps = 8>
class Batch : public BatchBase {
 public:
  Batch() : BatchBase(storage_) {}

 private:
  BatchOp storage_[kMaxOps];
};

}  // namespace cairn::kvs
