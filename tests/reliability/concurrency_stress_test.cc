// Concurrency stress: one key-value store and one blob store shared by
// several threads through the mutex lock policy (Options::lock and the blob
// store's lock set to a cairn::MutexLock). Run under ThreadSanitizer by
// `make tsan` (scripts/tsan.sh); in the normal build it checks the same
// invariants without the race detector.
//
// Threads:
//  - writers: each owns a disjoint range of keys and Puts, Deletes and
//    Commits batches on them, then reads its own keys back: a writer always
//    sees its own latest acknowledged value;
//  - readers: iterate over every key and Get each value; every value is
//    self-checking (key, writer, sequence and a checksum), so a torn or
//    mixed-up read shows up; DATA_LOSS is never acceptable (no corruption);
//  - a maintenance thread: ReclaimOne, FullMaintenance, GetStats;
//  - a blob writer queues bytes with a DeferredWriter while a flusher thread
//    calls Flush(); blob readers read the blob whenever no writer is open
//    and check it.
// At the end a remount must find exactly every writer's last values.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "blob/blob_rig.h"
#include "cairn/blob/blob_store.h"
#include "cairn/checksum.h"
#include "cairn/host/mutex_lock.h"
#include "reliability/reliability_rig.h"

namespace cairn::reliability {
namespace {

constexpr int kWriters = 3;
constexpr kvs::Key kKeysPerWriter = 8;

bool LongStress() { return LongMode(); }

// [key 4][writer 1][sequence 4][payload n][crc32 4]
Value MakeValue(kvs::Key key, int writer, uint32_t sequence, size_t n) {
  Value v(9 + n + 4);
  std::memcpy(v.data(), &key, 4);
  v[4] = static_cast<std::byte>(writer);
  std::memcpy(v.data() + 5, &sequence, 4);
  for (size_t i = 0; i < n; ++i) {
    v[9 + i] = static_cast<std::byte>((sequence * 31 + i * 7 + key) & 0xFF);
  }
  const uint32_t crc = Crc32::Compute(std::span(v).first(9 + n));
  std::memcpy(v.data() + 9 + n, &crc, 4);
  return v;
}

bool ValidValue(kvs::Key key, std::span<const std::byte> v) {
  if (v.size() < 13) return false;
  uint32_t crc;
  std::memcpy(&crc, v.data() + v.size() - 4, 4);
  if (Crc32::Compute(v.first(v.size() - 4)) != crc) return false;
  kvs::Key stored;
  std::memcpy(&stored, v.data(), 4);
  return stored == key;
}

// Blob contents: generation g, byte i = (g * 13 + i * 5) & 0xFF.
std::vector<std::byte> BlobData(uint32_t generation, size_t size) {
  std::vector<std::byte> d(size);
  for (size_t i = 0; i < size; ++i) {
    d[i] = static_cast<std::byte>((generation * 13 + i * 5) & 0xFF);
  }
  if (size >= 4) std::memcpy(d.data(), &generation, 4);
  return d;
}

bool ValidBlob(const std::vector<std::byte>& d) {
  if (d.size() < 4) return false;
  uint32_t generation;
  std::memcpy(&generation, d.data(), 4);
  return d == BlobData(generation, d.size());
}

TEST(ConcurrencyStress, StoresSharedByManyThreads) {
  const int rounds = LongStress() ? 20000 : 1500;
  // Two devices (say internal flash and an SPI NOR): the simulator, like a
  // flash driver, is not itself thread-safe, and the two stores hold
  // different locks.
  HeapFlash kvs_flash({1024, 8, 4}, 1);
  HeapFlash blob_flash({1024, 4, 4}, 2);
  MutexLock kvs_lock, blob_lock;
  kvs::Options options;
  options.lock = &kvs_lock;
  std::optional<kvs::KeyValueStore<64>> store;
  store.emplace(kvs_flash.partition(), options);
  ASSERT_TRUE(store->Init().ok());
  Crc32Checksum crc;
  blob::BlobStoreBuffer<128> blobs("stress", blob_flash.partition(), &crc,
                                   *store, 32, &blob_lock);
  ASSERT_TRUE(blobs.Init().ok());

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::atomic<uint64_t> reads{0}, writes{0}, blob_reads{0}, flushes{0};
  std::vector<std::map<kvs::Key, Value>> models(kWriters);
  auto fail = [&](const char* what, int code) {
    if (errors.fetch_add(1) < 10) {
      std::fprintf(stderr, "stress failure: %s (%d)\n", what, code);
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Rng rng(0x5000 + w);
      auto& model = models[w];
      const kvs::Key base = 100 * (w + 1);
      std::vector<std::byte> buffer(256);
      for (int i = 0; i < rounds && errors == 0; ++i) {
        const kvs::Key key = base + rng.Below(kKeysPerWriter);
        const uint64_t r = rng.Below(10);
        Status s;
        std::map<kvs::Key, std::optional<Value>> change;
        if (r == 0) {
          s = store->Delete(key);
          if (s.IsNotFound() && !model.count(key)) continue;
          change[key] = std::nullopt;
        } else if (r < 3) {
          kvs::Batch<4> batch;
          std::vector<Value> values;
          values.reserve(3);
          for (int k = 0; k < 3; ++k) {
            const kvs::Key bk = base + rng.Below(kKeysPerWriter);
            values.push_back(MakeValue(bk, w, i, rng.Below(60)));
            batch.Put(bk, values.back()).IgnoreError();
            change[bk] = values.back();
          }
          s = store->Commit(batch);
        } else {
          Value v = MakeValue(key, w, i, rng.Below(120));
          s = store->Put(key, v);
          change[key] = v;
        }
        if (s.IsResourceExhausted()) continue;
        if (!s.ok()) {
          fail("write", static_cast<int>(s.code()));
          break;
        }
        ++writes;
        for (auto& [k, v] : change) {
          if (v) {
            model[k] = *v;
          } else {
            model.erase(k);
          }
        }
        // Read back my own keys: always my latest values.
        const StatusWithSize got = store->Get(key, buffer);
        const auto it = model.find(key);
        if (it == model.end()) {
          if (!got.status().IsNotFound()) fail("deleted key readable", 0);
        } else if (!got.ok() || got.size() != it->second.size() ||
                   !std::equal(it->second.begin(), it->second.end(),
                               buffer.begin())) {
          fail("own value wrong", static_cast<int>(got.status().code()));
        }
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      std::vector<std::byte> buffer(256);
      while (!stop && errors == 0) {
        for (const kvs::Store::Item item : *store) {
          const StatusWithSize got = item.Get(buffer);
          if (got.status().IsNotFound()) continue;  // deleted meanwhile
          ++reads;
          if (item.key() == blobs.metadata_key()) continue;
          if (!got.ok()) {
            fail("read", static_cast<int>(got.status().code()));
          } else if (!ValidValue(item.key(),
                                 std::span(buffer).first(got.size()))) {
            fail("torn or mixed value", static_cast<int>(item.key()));
          }
        }
      }
    });
  }
  threads.emplace_back([&] {  // maintenance
    int i = 0;
    while (!stop && errors == 0) {
      const Status s =
          ++i % 8 == 0 ? store->FullMaintenance() : store->ReclaimOne();
      if (!s.ok() && !s.IsResourceExhausted()) {
        fail("maintenance", static_cast<int>(s.code()));
      }
      const kvs::Stats stats = store->GetStats();
      if (stats.live_keys > stats.max_keys) fail("stats", 0);
      std::this_thread::yield();
    }
  });

  // Blob writer + flusher, handshaking around Open/Close so that the
  // DeferredWriter object itself is only used while it is open.
  blob::DeferredWriterWithBuffer<16> writer(blobs);
  std::atomic<int> phase{0};  // 0 idle, 1 open (flusher may run), 2 stopping
  std::atomic<bool> flusher_idle{true};
  threads.emplace_back([&] {  // flusher
    while (!stop && errors == 0) {
      if (phase.load() == 1) {
        flusher_idle = false;
        if (phase.load() == 1) {
          const Status s = writer.Flush();
          ++flushes;
          if (!s.ok()) fail("flush", static_cast<int>(s.code()));
        }
        flusher_idle = true;
      }
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {  // blob readers
    std::vector<std::byte> data;
    while (!stop && errors == 0) {
      const Status s = blob::testing::ReadBlob(blobs, data, 77);
      if (s.ok()) {
        ++blob_reads;
        if (!ValidBlob(data))
          fail("blob content", static_cast<int>(data.size()));
      } else if (!s.IsFailedPrecondition() && !s.IsNotFound()) {
        fail("blob read", static_cast<int>(s.code()));
      }
      std::this_thread::yield();
    }
  });
  const int blob_rounds = LongStress() ? 400 : 30;
  for (uint32_t gen = 1;
       gen <= static_cast<uint32_t>(blob_rounds) && errors == 0; ++gen) {
    Status s = writer.Open();
    if (s.IsFailedPrecondition()) {  // a reader is open
      --gen;
      std::this_thread::yield();
      continue;
    }
    if (!s.ok()) {
      fail("blob open", static_cast<int>(s.code()));
      break;
    }
    phase = 1;
    const std::vector<std::byte> data = BlobData(gen, 500 + gen * 37 % 3000);
    std::span<const std::byte> rest(data);
    while (!rest.empty() && errors == 0) {
      const size_t n = std::min<size_t>(rest.size(), 1 + gen % 16);
      s = writer.Write(rest.first(n));
      if (s.IsResourceExhausted()) {  // wait for the flusher
        std::this_thread::yield();
        continue;
      }
      if (!s.ok()) {
        fail("blob write", static_cast<int>(s.code()));
        break;
      }
      rest = rest.subspan(n);
    }
    phase = 2;
    while (!flusher_idle) std::this_thread::yield();
    s = writer.Close();
    phase = 0;
    if (!s.ok()) fail("blob close", static_cast<int>(s.code()));
    // Leave the blob readers a moment with a complete blob.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  threads[0].join();
  for (int w = 1; w < kWriters; ++w) threads[w].join();
  stop = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  ASSERT_EQ(errors.load(), 0);

  // A remount finds every writer's last values.
  store.emplace(kvs_flash.partition(), options);
  ASSERT_TRUE(store->Init().ok());
  std::vector<std::byte> buffer(256);
  for (int w = 0; w < kWriters; ++w) {
    for (kvs::Key k = 100 * (w + 1); k < 100 * (w + 1) + kKeysPerWriter; ++k) {
      const StatusWithSize got = store->Get(k, buffer);
      const auto it = models[w].find(k);
      if (it == models[w].end()) {
        EXPECT_TRUE(got.status().IsNotFound()) << k;
      } else {
        ASSERT_TRUE(got.ok()) << k << ": " << got.status().str();
        EXPECT_EQ(Value(buffer.begin(), buffer.begin() + got.size()),
                  it->second);
      }
    }
  }
  std::printf(
      "stress: %llu writes, %llu reads, %llu blob reads, %llu "
      "flushes, %d blobs\n",
      (unsigned long long)writes.load(), (unsigned long long)reads.load(),
      (unsigned long long)blob_reads.load(), (unsigned long long)flushes.load(),
      blob_rounds);
}

}  // namespace
}  // namespace cairn::reliability
