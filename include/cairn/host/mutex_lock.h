// MutexLock: a cairn::Lock backed by std::mutex, for host builds.
#pragma once

#include <mutex>

#include "cairn/lock.h"

namespace cairn {

class MutexLock final : public Lock {
 public:
  void lock() override { mutex_.lock(); }
  void unlock() override { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

}  // namespace cairn
