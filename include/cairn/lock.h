// Lock: the small interface a store calls around every operation. The
// default (no lock object) costs nothing; host code can pass a MutexLock
// (cairn/host/mutex_lock.h), firmware its RTOS mutex.
#pragma once

namespace cairn {

class Lock {
 public:
  virtual void lock() = 0;
  virtual void unlock() = 0;

 protected:
  Lock() = default;
  ~Lock() = default;
};

// Holds `lock` (which may be null) for the lifetime of the guard.
class LockGuard {
 public:
  explicit LockGuard(Lock* lock) : lock_(lock) {
    if (lock_ != nullptr) lock_->lock();
  }
  ~LockGuard() {
    if (lock_ != nullptr) lock_->unlock();
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock* lock_;
};

}  // namespace cairn
