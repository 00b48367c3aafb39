// Shared pieces of the reliability campaign tests: a simulated flash with
// heap storage and any geometry, a shadow model of the key-value store, a
// deterministic generator and the long-mode switch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/flash/ram_flash.h"
#include "cairn/kvs/format.h"
#include "cairn/kvs/key_value_store.h"
#include "gtest/gtest.h"

namespace cairn::reliability {

// `--long` on the command line or CAIRN_LONG=1: the campaign sizes.
inline bool LongMode() {
  for (const std::string& arg : ::testing::internal::GetArgvs()) {
    if (arg == "--long") return true;
  }
  const char* env = std::getenv("CAIRN_LONG");
  return env != nullptr && env[0] == '1';
}

// CAIRN_SCALE=n multiplies the long campaign (default 1).
inline uint64_t Scale() {
  const char* env = std::getenv("CAIRN_SCALE");
  const uint64_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 1;
  return n == 0 ? 1 : n;
}

// xorshift64*
class Rng {
 public:
  explicit Rng(uint64_t seed) : x_(seed == 0 ? 1 : seed) {}
  uint64_t Next() {
    x_ ^= x_ >> 12;
    x_ ^= x_ << 25;
    x_ ^= x_ >> 27;
    return x_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t x_;
};

struct Geometry {
  size_t sector_size;
  size_t sectors;
  size_t alignment;
  bool eeprom = false;
  bool erased_zero = false;
  bool ecc = false;  // cuts leave unreadable ECC words (RamFlash ecc)
};

inline std::string Describe(const Geometry& g) {
  return std::to_string(g.sectors) + " x " + std::to_string(g.sector_size) +
         " B, align " + std::to_string(g.alignment) +
         (g.eeprom ? ", EEPROM" : "") + (g.erased_zero ? ", erased 0x00" : "") +
         (g.ecc ? ", ECC" : "");
}

// A RamFlashBase whose buffers live on the heap.
class HeapFlash {
 public:
  HeapFlash(const Geometry& g, uint64_t seed)
      : storage_(g.sector_size * g.sectors),
        programmed_((storage_.size() + 7) / 8),
        erases_(g.sectors),
        lifetime_(g.sectors),
        flash_(g.sector_size, g.sectors, Config(g, seed), storage_, programmed_,
               erases_, lifetime_),
        partition_(flash_) {}

  static RamFlashBase::Config Config(const Geometry& g, uint64_t seed) {
    RamFlashBase::Config c;
    c.alignment = g.alignment;
    c.eeprom = g.eeprom;
    c.erased_value = g.erased_zero ? std::byte{0x00} : std::byte{0xFF};
    c.ecc = g.ecc;
    c.seed = seed;
    return c;
  }

  RamFlashBase& flash() { return flash_; }
  FlashPartition& partition() { return partition_; }

 private:
  std::vector<std::byte> storage_;
  std::vector<uint8_t> programmed_;
  std::vector<uint32_t> erases_;
  std::vector<uint32_t> lifetime_;
  RamFlashBase flash_;
  FlashPartition partition_;
};

using Value = std::vector<std::byte>;
using Model = std::map<kvs::Key, Value>;

// One store operation: a Put, a Delete or a batch of them.
struct Op {
  bool batch = false;
  std::vector<std::pair<kvs::Key, std::optional<Value>>> changes;
};

inline void ApplyToModel(Model& model, const Op& op) {
  for (const auto& [k, v] : op.changes) {
    if (v) {
      model[k] = *v;
    } else {
      model.erase(k);
    }
  }
}

inline Status Execute(kvs::Store& store, const Op& op) {
  if (!op.batch) {
    const auto& [k, v] = op.changes[0];
    return v ? store.Put(k, *v) : store.Delete(k);
  }
  kvs::Batch<8> batch;
  for (const auto& [k, v] : op.changes) {
    const Status s = v ? batch.Put(k, *v) : batch.Delete(k);
    if (!s.ok()) return s;
  }
  return store.Commit(batch);
}

inline Value RandomValue(Rng& rng, size_t max_len, uint64_t tag) {
  Value v(rng.Below(max_len + 1) + 8);
  for (size_t i = 0; i < 8; ++i) v[i] = static_cast<std::byte>(tag >> (8 * i));
  for (size_t i = 8; i < v.size(); ++i) {
    v[i] = static_cast<std::byte>(rng.Next() >> 56);
  }
  return v;
}

// Reads keys [0, keys) into `out`; false (with `error`) if any read fails
// with anything but NOT_FOUND.
inline bool ReadAll(const kvs::Store& store, kvs::Key keys, Model& out,
                    std::string& error) {
  out.clear();
  std::vector<std::byte> buffer(store.max_value_size() + 8);
  for (kvs::Key k = 0; k < keys; ++k) {
    const StatusWithSize r = store.Get(k, buffer);
    if (r.status().IsNotFound()) continue;
    if (!r.ok()) {
      error = "key " + std::to_string(k) + ": " + r.status().str();
      return false;
    }
    out[k] = Value(buffer.begin(), buffer.begin() + r.size());
  }
  return true;
}

// The header units of every sector as a mount sees them.
inline std::string DescribeSectors(RamFlashBase& flash, const Geometry& g) {
  static const char* kStates[] = {"erased", "valid", "BAD", "newer", "invalid"};
  const size_t unit = kvs::format::UnitSize(g.alignment);
  const kvs::format::GeometryTag tag{static_cast<uint32_t>(g.sector_size),
                                     static_cast<uint16_t>(g.alignment)};
  std::string out;
  for (size_t s = 0; s < g.sectors; ++s) {
    const std::byte* base = flash.bytes().data() + s * g.sector_size;
    kvs::format::FormatUnit fmt;
    kvs::format::ActivationUnit act;
    const auto fs = kvs::format::DecodeFormatUnit(
        std::span<const std::byte, 8>(base, 8), tag, flash.erased_value(), fmt);
    const auto as = kvs::format::DecodeActivationUnit(
        std::span<const std::byte, 8>(base + unit, 8), flash.erased_value(),
        act);
    out += "  sector " + std::to_string(s) + ": format " +
           kStates[static_cast<int>(fs)] + ", activation " +
           kStates[static_cast<int>(as)];
    if (as == kvs::format::UnitState::kValid) {
      out += " seq " + std::to_string(act.sequence) + " prev_slots " +
             std::to_string(act.prev_slots);
    }
    out +=
        ", lifetime erases " + std::to_string(flash.lifetime_erases(s)) + "\n";
  }
  return out;
}

// Like ReadAll, but a key that reads with an error (DATA_LOSS...) gets the
// status name as its value, so that a campaign can count the failure and
// go on comparing (RandomValue() never makes such a value).
inline void ReadAllMarked(const kvs::Store& store, kvs::Key keys, Model& out) {
  out.clear();
  std::vector<std::byte> buffer(store.max_value_size() + 8);
  for (kvs::Key k = 0; k < keys; ++k) {
    const StatusWithSize r = store.Get(k, buffer);
    if (r.status().IsNotFound()) continue;
    if (!r.ok()) {
      const std::string name = r.status().str();
      out[k] =
          Value(reinterpret_cast<const std::byte*>(name.data()),
                reinterpret_cast<const std::byte*>(name.data()) + name.size());
      continue;
    }
    out[k] = Value(buffer.begin(), buffer.begin() + r.size());
  }
}

// The operation tag RandomValue() put in the first 8 bytes of a value.
inline std::string Tag(const Model& m, kvs::Key k) {
  const auto it = m.find(k);
  if (it == m.end()) return "absent";
  if (it->second.size() >= 8 && it->second[0] >= std::byte{'A'} &&
      it->second[0] <= std::byte{'Z'} && it->second[1] >= std::byte{'A'} &&
      it->second[1] <= std::byte{'Z'}) {  // a ReadAllMarked status
    return std::string(reinterpret_cast<const char*>(it->second.data()),
                       it->second.size());
  }
  uint64_t t = 0;
  for (size_t b = 0; b < 8 && b < it->second.size(); ++b) {
    t |= static_cast<uint64_t>(it->second[b]) << (8 * b);
  }
  return "op " + std::to_string(t) + " (" + std::to_string(it->second.size()) +
         " B)";
}

// Keys where `got` differs from `before` or `after`, with who wrote what.
inline std::string Diff(const Model& got, const Model& before,
                        const Model& after, kvs::Key keys) {
  std::string out;
  for (kvs::Key k = 0; k < keys; ++k) {
    const std::string g = Tag(got, k), b = Tag(before, k), a = Tag(after, k);
    if (g != b || g != a) {
      out += "  key " + std::to_string(k) + ": read " + g + ", before " + b +
             ", after " + a + "\n";
    }
    const auto it = got.find(k);
    const auto ib = before.find(k), ia = after.find(k);
    const bool as_before =
        ib != before.end() && it != got.end() && ib->second == it->second;
    const bool as_after =
        ia != after.end() && it != got.end() && ia->second == it->second;
    if (it != got.end() && !as_before && !as_after) {
      out += "    read  ";
      for (size_t i = 0; i < it->second.size() && i < 24; ++i) {
        out += "0123456789abcdef"[static_cast<uint8_t>(it->second[i]) >> 4];
        out += "0123456789abcdef"[static_cast<uint8_t>(it->second[i]) & 15];
      }
      if (ia != after.end()) {
        out += "\n    after ";
        for (size_t i = 0; i < ia->second.size() && i < 24; ++i) {
          out += "0123456789abcdef"[static_cast<uint8_t>(ia->second[i]) >> 4];
          out += "0123456789abcdef"[static_cast<uint8_t>(ia->second[i]) & 15];
        }
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace cairn::reliability
