// Writes the seed corpora of the fuzz targets (checked in under
// fuzz/corpus/<target>/). Deterministic: running it again rewrites the same
// files. Usage: fuzz_gen_corpus <corpus-dir>
//
//  fuzz_mount: images made by real stores (several geometries, a torn
//              write, a bit flip, an erased-0x00 part, EEPROM), trailing
//              erased bytes trimmed (the target leaves them erased);
//  fuzz_ops:   operation sequences built from the target's encoding;
//  fuzz_tool:  the same images as raw dumps (mode byte 1 + geometry).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"
#include "fuzz_common.h"

namespace cairn::fuzz {
namespace {

using Seed = std::vector<uint8_t>;

uint64_t Next(uint64_t& x) {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x * 0x2545F4914F6CDD1Dull;
}

uint8_t Log2(size_t n) {
  uint8_t b = 0;
  while ((size_t{1} << b) < n) ++b;
  return b;
}

void Save(const std::filesystem::path& dir, const std::string& name,
          const Seed& seed) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(seed.data()),
            static_cast<std::streamsize>(seed.size()));
}

struct ImageSpec {
  Geometry g;
  size_t ops;
  uint64_t seed;
  int cut_at = -1;   // cut power at this operation of the workload
  int flip_at = -1;  // flip a bit at this byte after the workload
};

// Runs a workload on a fresh store and returns the flash bytes with the
// trailing erased bytes trimmed.
std::vector<uint8_t> MakeImage(const ImageSpec& spec) {
  HeapFlash heap(spec.g, spec.seed);
  RamFlashBase& flash = heap.flash();
  FlashPartition partition(flash);
  {
    kvs::KeyValueStore<32> store(partition);
    if (!store.Init().ok()) return {};
    if (spec.cut_at >= 0) flash.CutPowerAt(spec.cut_at, TearMode::kRandomBits);
    uint64_t x = spec.seed;
    for (size_t i = 0; i < spec.ops && !flash.power_is_cut(); ++i) {
      const kvs::Key key = Next(x) % 10;
      const uint64_t r = Next(x) % 10;
      if (r == 0) {
        store.Delete(key).IgnoreError();
      } else if (r == 1) {
        kvs::Batch<3> batch;
        const std::vector<std::byte> a = Pattern(Next(x) % 20, i);
        batch.Put(key, a).IgnoreError();
        batch.Delete((key + 1) % 10).IgnoreError();
        batch.Put((key + 2) % 10, a).IgnoreError();
        store.Commit(batch).IgnoreError();
      } else {
        store.Put(key, Pattern(Next(x) % 40, i)).IgnoreError();
      }
    }
  }
  flash.PowerOn();
  flash.ClearFaults();
  if (spec.flip_at >= 0) flash.FlipBit(spec.flip_at, 3);
  std::vector<uint8_t> out(flash.bytes().size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(flash.bytes()[i]);
  }
  const uint8_t erased = spec.g.erased_zero ? 0x00 : 0xFF;
  while (!out.empty() && out.back() == erased) out.pop_back();
  return out;
}

// The geometry bytes fuzz_mount and fuzz_tool decode.
uint8_t AlignByte(const Geometry& g) {
  return static_cast<uint8_t>(Log2(g.alignment) | (g.erased_zero ? 0x40 : 0) |
                              (g.eeprom ? 0x80 : 0));
}

void MountAndToolSeeds(const std::filesystem::path& root) {
  const ImageSpec specs[] = {
      {{256, 4, 4, false, false}, 80, 11},
      {{256, 6, 16, false, false}, 120, 12},
      {{512, 3, 1, false, true}, 90, 13},
      {{1024, 2, 32, false, false}, 30, 14},
      {{256, 8, 8, false, false}, 150, 15, 400},
      {{256, 4, 4, false, false}, 60, 16, -1, 300},
      {{256, 5, 2, true, false}, 70, 17},
      {{512, 4, 4, false, false}, 100, 18, 777},
      {{256, 3, 1, false, false}, 40, 19},
      {{256, 2, 4, false, false}, 0, 20},
  };
  int n = 0;
  for (const ImageSpec& spec : specs) {
    const std::vector<uint8_t> image = MakeImage(spec);
    Seed mount = {Log2(spec.g.sector_size / 256),
                  static_cast<uint8_t>(spec.g.sectors - 2), AlignByte(spec.g),
                  static_cast<uint8_t>(n * 8 + (n % 4) * 2)};
    mount.insert(mount.end(), image.begin(), image.end());
    Save(root / "fuzz_mount", "seed-" + std::to_string(n), mount);

    // The tool reads whole sectors: pad the trimmed image back.
    std::vector<uint8_t> full = image;
    full.resize(spec.g.sector_size * spec.g.sectors,
                spec.g.erased_zero ? 0x00 : 0xFF);
    Seed tool = {1, Log2(spec.g.sector_size / 256), AlignByte(spec.g)};
    tool.insert(tool.end(), full.begin(), full.end());
    if (tool.size() <= 8192) {
      Save(root / "fuzz_tool", "raw-" + std::to_string(n), tool);
    }
    ++n;
  }
  // Not images at all.
  Save(root / "fuzz_mount", "empty", {});
  Save(root / "fuzz_tool", "empty", {});
  Save(root / "fuzz_tool", "text",
       {0, 0, 2, 'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
}

// fuzz_ops encoding (see fuzz_ops.cc): layout byte, then operations.
class OpsWriter {
 public:
  explicit OpsWriter(uint8_t layout) { seed_.push_back(layout); }
  OpsWriter& Put(uint8_t key, uint8_t len) { return Emit({0x00, key, len}); }
  OpsWriter& Delete(uint8_t key) { return Emit({0x02, key}); }
  // Members: {key, length} puts, or {0x80 | key, -1} deletes.
  OpsWriter& Batch(std::vector<std::pair<uint8_t, int>> members) {
    Emit({0x03, static_cast<uint8_t>(members.size() - 1)});
    for (const auto& [key, length] : members) {
      if (length < 0) {
        Emit({static_cast<uint8_t>(0x80 | key)});
      } else {
        Emit({key, static_cast<uint8_t>(length)});
      }
    }
    return *this;
  }
  OpsWriter& Blob(uint16_t size, uint8_t chunk, uint8_t flags, bool deferred) {
    return Emit({static_cast<uint8_t>(deferred ? 0x05 : 0x04),
                 static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8),
                 chunk, flags});
  }
  OpsWriter& ClearBlob(bool erase) {
    return Emit({0x06, erase ? uint8_t{1} : uint8_t{0}});
  }
  OpsWriter& Maintain(bool full) {
    return Emit({0x07, full ? uint8_t{1} : uint8_t{0}});
  }
  // Cuts the operation that follows at flash operation `n`.
  OpsWriter& Cut(uint16_t n, bool random_bits, bool second) {
    return Emit(
        {static_cast<uint8_t>(0x80 | (random_bits ? 1 : 0) | (second ? 2 : 0)),
         static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)});
  }
  OpsWriter& Flip(uint32_t address, uint8_t bit) {
    return Emit({0xC0, static_cast<uint8_t>(address),
                 static_cast<uint8_t>(address >> 8),
                 static_cast<uint8_t>(address >> 16),
                 static_cast<uint8_t>(address >> 24), bit});
  }
  OpsWriter& Remount() { return Emit({0xE0}); }
  OpsWriter& Raw(uint8_t b) { return Emit({b}); }
  const Seed& seed() const { return seed_; }

 private:
  OpsWriter& Emit(const std::vector<uint8_t>& bytes) {
    seed_.insert(seed_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  Seed seed_;
};

void OpsSeeds(const std::filesystem::path& dir) {
  int n = 0;
  auto save = [&](const OpsWriter& w) {
    Save(dir, "seed-" + std::to_string(n++), w.seed());
  };
  for (uint8_t layout = 0; layout < 5; ++layout) {
    OpsWriter w(layout);
    for (uint8_t i = 0; i < 20; ++i) w.Put(i % 12, (i * 7) % 49);
    w.Batch({{1, 10}, {2, 20}, {3, -1}});
    w.Remount();
    w.Blob(700, 33, 0, false).Remount();
    w.Cut(25, layout & 1, false).Put(5, 30);
    w.Cut(40, false, true).Batch({{4, 5}, {6, 7}, {8, -1}});
    w.Cut(120, true, false).Blob(900, 64, 0x06, true);
    w.Maintain(true).Remount();
    save(w);
  }
  // Long random sequences with cuts (no flips).
  for (uint64_t s = 1; s <= 6; ++s) {
    uint64_t x = s * 0x9E3779B97F4A7C15ull;
    OpsWriter w(static_cast<uint8_t>(s % 5));
    for (int i = 0; i < 40; ++i) {
      const uint64_t r = Next(x) % 100;
      if (r < 40) {
        w.Put(Next(x) % 12, Next(x) % 49);
      } else if (r < 50) {
        w.Delete(Next(x) % 12);
      } else if (r < 60) {
        w.Batch({{static_cast<uint8_t>(Next(x) % 12), 9},
                 {static_cast<uint8_t>(Next(x) % 12), 17},
                 {static_cast<uint8_t>(Next(x) % 12), -1}});
      } else if (r < 66) {
        w.Blob(Next(x) % 1500, 1 + Next(x) % 150, Next(x) & 0x3F, r & 1);
      } else if (r < 70) {
        w.ClearBlob(r & 1);
      } else if (r < 75) {
        w.Maintain(r & 1);
      } else if (r < 95) {
        w.Cut(Next(x) % 200, r & 1, r & 2).Put(Next(x) % 12, Next(x) % 49);
      } else {
        w.Remount();
      }
    }
    save(w);
  }
  // Bit flips.
  for (uint64_t s = 1; s <= 3; ++s) {
    OpsWriter w(static_cast<uint8_t>(s));
    for (uint8_t i = 0; i < 12; ++i) w.Put(i, 10 + i);
    w.Flip(static_cast<uint32_t>(40 + s * 16), 2).Remount();
    for (uint8_t i = 0; i < 12; ++i) w.Put(i, 20);
    w.Blob(600, 50, 0, false).Flip(static_cast<uint32_t>(3000 + s), 0);
    w.Remount().Maintain(true).Remount();
    save(w);
  }
}

}  // namespace
}  // namespace cairn::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  cairn::fuzz::MountAndToolSeeds(root);
  cairn::fuzz::OpsSeeds(root / "fuzz_ops");
  return 0;
}
