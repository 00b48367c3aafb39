// cairn torture: a random workload on a simulated flash with power cuts,
// checked against a shadow model after every remount.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "commands.h"
#include "scan.h"

namespace cairn::tool {

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed)
      : state_(seed == 0 ? 0x9E3779B97F4A7C15u : seed) {}
  uint64_t Next() {  // xorshift64*
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Du;
  }
  size_t Below(size_t n) { return n == 0 ? 0 : size_t(Next() % n); }

 private:
  uint64_t state_;
};

class VectorBatch : public kvs::BatchBase {
 public:
  explicit VectorBatch(std::span<kvs::BatchOp> ops) : BatchBase(ops) {}
};

using Model = std::map<kvs::Key, Bytes>;

struct Op {
  bool is_delete;
  kvs::Key key;
  Bytes value;
};

Model ApplyOps(Model model, const std::vector<Op>& ops) {
  for (const Op& op : ops) {
    if (op.is_delete) {
      model.erase(op.key);
    } else {
      model[op.key] = op.value;
    }
  }
  return model;
}

std::string Describe(const std::vector<Op>& ops) {
  std::string s;
  for (const Op& op : ops) {
    s += fmt::format(
        "{}{} 0x{:08x}{}", s.empty() ? "" : ", ", op.is_delete ? "del" : "put",
        op.key, op.is_delete ? "" : fmt::format(" ({} B)", op.value.size()));
  }
  return ops.size() > 1 ? "batch [" + s + "]" : s;
}

// Reads every key of the store; false (with `why`) on a read error.
bool ReadAll(KvsHandle& kvs, Model& out, std::string& why) {
  out.clear();
  for (kvs::Key key : kvs.Keys()) {
    Bytes value;
    Status s = kvs.TryGet(key, value);
    if (!s.ok()) {
      why = fmt::format("key 0x{:08x} reads {}", key, s.str());
      return false;
    }
    out[key] = std::move(value);
  }
  return true;
}

std::string Diff(const Model& got, const Model& want) {
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) return fmt::format("key 0x{:08x} is missing", k);
    if (it->second != v) {
      return fmt::format("key 0x{:08x} has {} B {} instead of {} B {}", k,
                         it->second.size(), Preview(it->second), v.size(),
                         Preview(v));
    }
  }
  for (const auto& [k, v] : got) {
    if (!want.count(k)) return fmt::format("key 0x{:08x} should not exist", k);
  }
  return "";
}

}  // namespace

int CmdTorture(const TortureArgs& args) {
  Layout layout = ParseLayoutFile(args.layout);
  std::unique_ptr<Image> image = Image::Create(layout, args.ecc);
  const PartitionSpec& spec =
      image->Partition(args.partition, PartitionKind::kKvs);
  RamFlashBase& flash = image->flash();
  Rng rng(args.seed);
  if (args.keys == 0) throw Error(kExitUsage, "--keys must be at least 1");
  std::vector<kvs::Key> keys;
  for (uint32_t i = 0; i < args.keys; ++i) {
    keys.push_back(kvs::KeyFromName(fmt::format("torture.{}", i)));
  }
  size_t max_value;
  {
    KvsHandle probe(*image, spec);
    if (!probe.Init().ok()) {
      throw Error(kExitLayout, fmt::format("partition '{}' cannot hold a "
                                           "store",
                                           spec.name));
    }
    if (probe.store().max_size() < args.keys) {
      throw Error(kExitUsage,
                  fmt::format("--keys {} exceeds the index of '{}' ({})",
                              args.keys, spec.name, probe.store().max_size()));
    }
    size_t usable = size_t{layout.sector_size} * (spec.sector_count - 2);
    max_value =
        std::min({probe.store().max_value_size(),
                  size_t{layout.sector_size} / 8, usable / (4 * args.keys)});
    if (max_value < 1) max_value = 1;
  }

  const bool bar = !args.quiet && isatty(STDOUT_FILENO);
  fmt::print(
      "torture: {} power cuts on '{}' ({}{}), {} keys, values up to {} "
      "B, seed {}\n",
      args.cuts, spec.name, layout.Describe(), args.ecc ? ", ECC" : "",
      args.keys, max_value, args.seed);
  std::fflush(stdout);

  Model model;
  uint64_t ops_done = 0, acknowledged = 0, cut_in_mount = 0, applied = 0,
           rolled_back = 0, full = 0, verified_keys = 0;
  uint32_t tears[2] = {0, 0};
  std::vector<std::string> violations;
  // The flash as the cut left it, before the remount: saved next to --out
  // for the first violation, so a failure can be replayed with dump/check.
  std::unique_ptr<Image> after_cut;
  std::string saved_cut;
  auto violate = [&](uint32_t cut, const std::string& what) {
    violations.push_back(fmt::format("cut {}: {}", cut, what));
    if (!args.out.empty() && saved_cut.empty() && after_cut) {
      saved_cut = fmt::format("{}.cut{}.img", args.out, cut);
      after_cut->Save(saved_cut);
    }
  };

  for (uint32_t cut = 0; cut < args.cuts && violations.size() < 10; ++cut) {
    TearMode mode = cut % 2 == 0 ? TearMode::kPrefix : TearMode::kRandomBits;
    ++tears[cut % 2];
    // One cut in five lands in the mount itself; the rest in the workload.
    const bool in_mount = rng.Below(5) == 0;
    if (in_mount) flash.CutPowerAt(rng.Below(64), mode);
    std::vector<Op> pending;
    {
      KvsHandle kvs(*image, spec);
      Status s = kvs.Init();
      if (s.ok() && !in_mount) flash.CutPowerAt(rng.Below(400), mode);
      if (!s.ok()) {
        if (flash.power_is_cut()) {
          ++cut_in_mount;
        } else {
          violate(cut, fmt::format("mount failed without a cut: {}", s.str()));
          break;
        }
      }
      for (int step = 0; s.ok() && step < 100000; ++step) {
        std::vector<Op> ops;
        size_t kind = rng.Below(100);
        size_t count = kind < 70 ? 1 : 2 + rng.Below(4);
        for (size_t i = 0; i < count; ++i) {
          Op op;
          op.key = keys[rng.Below(keys.size())];
          op.is_delete = rng.Below(100) < 15;
          if (!op.is_delete) {
            size_t limit =
                count == 1 ? max_value : std::max<size_t>(1, max_value / 4);
            op.value.resize(rng.Below(limit + 1));
            for (std::byte& b : op.value) b = std::byte(rng.Next() >> 56);
          }
          ops.push_back(std::move(op));
        }
        if (count == 1 && ops[0].is_delete && !model.count(ops[0].key)) {
          continue;  // Delete of an absent key: NOT_FOUND, nothing to test
        }
        if (count == 1) {
          s = ops[0].is_delete ? kvs.store().Delete(ops[0].key)
                               : kvs.store().Put(ops[0].key, ops[0].value);
        } else {
          std::vector<kvs::BatchOp> storage(ops.size());
          VectorBatch batch(storage);
          for (const Op& op : ops) {
            (op.is_delete ? batch.Delete(op.key) : batch.Put(op.key, op.value))
                .IgnoreError();
          }
          s = kvs.store().Commit(batch);
        }
        ++ops_done;
        if (s.ok()) {
          model = ApplyOps(model, ops);
          ++acknowledged;
        } else if (flash.power_is_cut()) {
          pending = ops;
        } else if (s.IsResourceExhausted()) {
          ++full;
          s = Status::Ok();
        } else {
          violate(cut, fmt::format("{} failed without a cut: {}", Describe(ops),
                                   s.str()));
          s = Status::Ok();
        }
      }
    }
    // Power returns: remount and compare with the model.
    flash.ClearFaults();
    flash.PowerOn();
    if (!args.out.empty()) after_cut = image->Clone();
    KvsHandle kvs(*image, spec);
    Status s = kvs.Init();
    if (!s.ok()) {
      violate(cut, fmt::format("mount after the cut failed: {}", s.str()));
      break;
    }
    Model got;
    std::string why;
    if (!ReadAll(kvs, got, why)) {
      violate(cut, why);
      break;
    }
    verified_keys += got.size();
    if (pending.empty()) {
      std::string d = Diff(got, model);
      if (!d.empty()) violate(cut, d);
    } else {
      Model after = ApplyOps(model, pending);
      if (Diff(got, after).empty()) {
        model = after;
        ++applied;
      } else if (Diff(got, model).empty()) {
        ++rolled_back;
      } else {
        violate(cut, fmt::format("interrupted {} left neither the old nor "
                                 "the new state: {}",
                                 Describe(pending), Diff(got, after)));
        model = got;
      }
    }
    if (bar) {
      size_t done = size_t(cut) + 1;
      fmt::print("\r  [{}] {}/{} cuts", Bar(double(done) / args.cuts, 30), done,
                 args.cuts);
      std::fflush(stdout);
    }
  }
  if (bar) fmt::print("\n");

  // The final image must also pass the structural check.
  KvsScan scan = ScanKvs(*image, spec);
  size_t notes = 0;
  for (const Finding& f : scan.findings) {
    if (f.severity == Severity::kNote) {
      ++notes;
    } else {
      violations.push_back(
          fmt::format("check of the final image: {} at "
                      "0x{:x}: {}",
                      SeverityName(f.severity), f.address, f.what));
    }
  }
  const uint32_t cuts_done = tears[0] + tears[1];
  fmt::print(
      "  cuts: {}{} (prefix tears {}, random-bit tears {}), {} during "
      "a mount\n",
      cuts_done,
      cuts_done == args.cuts
          ? ""
          : fmt::format(" of {}, stopped at a failure", args.cuts),
      tears[0], tears[1], cut_in_mount);
  fmt::print("  operations: {} ({} acknowledged, {} refused as full)\n",
             ops_done, acknowledged, full);
  fmt::print("  interrupted operations: {} completed, {} rolled back{}\n",
             applied, rolled_back,
             violations.empty() ? ", none half-applied" : "");
  fmt::print(
      "  verified after each remount: every acknowledged write, no "
      "other change ({} key reads)\n",
      verified_keys);
  fmt::print("  final image: {} keys, structural check {} ({} notes)\n",
             model.size(), scan.findings.size() == notes ? "clean" : "FAILED",
             notes);
  if (!args.out.empty()) {
    image->Save(args.out);
    fmt::print("  wrote the final image to {}\n", args.out);
  }
  if (!saved_cut.empty()) {
    fmt::print("  the flash right after the first failing cut: {}\n",
               saved_cut);
  }
  if (!violations.empty()) {
    for (const std::string& v : violations) fmt::print("  VIOLATION {}\n", v);
    fmt::print("torture: FAILED ({} violations)\n", violations.size());
    return kExitTorture;
  }
  fmt::print("torture: PASSED\n");
  return kExitOk;
}

}  // namespace cairn::tool
