// cairn ls | check [--repair] | dump
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "blob.h"
#include "commands.h"
#include "scan.h"

namespace cairn::tool {

namespace fmtk = kvs::format;

namespace {

// A copy of `image` in which the activation unit of the one sector holding
// entries behind an unreadable unit (Init's DATA_LOSS when no unit reads)
// is rewritten as the first activation, so that the library can mount the
// copy and read them; nullptr if there is no such sector, or more than one
// (their order and slot counts are lost with their units: a copy that
// guessed could read older values as current).
std::unique_ptr<Image> RebuiltActivation(
    const Image& image, const PartitionSpec& spec,
    std::vector<std::string>* log = nullptr) {
  const KvsScan scan = ScanKvs(image, spec);
  const SectorInfo* garbled = nullptr;
  for (const SectorInfo& si : scan.sectors) {
    if (si.format_state != kvs::format::UnitState::kValid ||
        si.activation_state != kvs::format::UnitState::kInvalid ||
        si.slots.empty()) {
      continue;
    }
    if (garbled != nullptr) return nullptr;
    garbled = &si;
  }
  if (garbled == nullptr) return nullptr;
  std::unique_ptr<Image> copy = image.Clone();
  std::array<std::byte, 8> unit;
  kvs::format::EncodeActivationUnit({1, 0}, unit);
  std::copy(unit.begin(), unit.end(),
            copy->flash().bytes().begin() + garbled->address +
                kvs::format::UnitSize(image.layout().alignment));
  if (log) {
    log->push_back(fmt::format(
        "rebuilt the unreadable activation unit of sector {} in a copy to "
        "read its {} entries",
        garbled->index, garbled->slots.size()));
  }
  return copy;
}

// What a mount by the library says about a kvs partition.
struct KvsHealth {
  Status mount;
  // The mount failed (DATA_LOSS), but succeeds on a copy with the
  // activation unit rebuilt: the rest is what that copy reads.
  bool rebuilt = false;
  size_t keys = 0;
  std::vector<kvs::Key> lost;  // keys whose Get returns DATA_LOSS
  kvs::Stats stats;
};

KvsHealth MountHealth(const Image& original, const PartitionSpec& spec) {
  // Mount a copy: a mount repairs power-cut residue, which `check` without
  // --repair must not write back.
  std::unique_ptr<Image> copy = original.Clone();
  KvsHealth h;
  auto kvs = std::make_unique<KvsHandle>(*copy, spec);
  h.mount = kvs->Init();
  if (h.mount.IsDataLoss()) {
    if (std::unique_ptr<Image> rebuilt = RebuiltActivation(original, spec)) {
      copy = std::move(rebuilt);
      kvs = std::make_unique<KvsHandle>(*copy, spec);
      h.rebuilt = kvs->Init().ok();
    }
  }
  if (!h.mount.ok() && !h.rebuilt) return h;
  for (kvs::Key key : kvs->Keys()) {
    ++h.keys;
    Bytes value;
    if (kvs->TryGet(key, value).IsDataLoss()) h.lost.push_back(key);
  }
  h.stats = kvs->store().GetStats();
  return h;
}

std::string KeyText(const Image& image, kvs::Key key) {
  std::string name = image.NameOf(key);
  return name.empty() ? fmt::format("key 0x{:08x}", key)
                      : fmt::format("key 0x{:08x} ({})", key, name);
}

// Every finding of one partition, library view merged in.
std::vector<Finding> CheckKvs(const Image& image, const PartitionSpec& spec,
                              KvsHealth* health_out = nullptr) {
  KvsScan scan = ScanKvs(image, spec);
  KvsHealth health = MountHealth(image, spec);
  std::vector<Finding> out;
  std::set<kvs::Key> lost(health.lost.begin(), health.lost.end());
  std::set<kvs::Key> reported;
  for (Finding f : scan.findings) {
    // Checksum mismatches: data loss only if it is the key's live value.
    if (f.severity == Severity::kProblem &&
        f.affected.rfind("key 0x", 0) == 0) {
      kvs::Key key = kvs::Key(std::stoul(f.affected.substr(6), nullptr, 16));
      if (lost.count(key)) {
        f.severity = Severity::kLoss;
        f.affected = KeyText(image, key) + ": its current value is lost";
        reported.insert(key);
      } else {
        f.affected =
            KeyText(image, key) + ": an older, superseded value (nothing lost)";
      }
    }
    out.push_back(f);
  }
  size_t base = size_t{spec.first_sector} * image.layout().sector_size;
  if (health.rebuilt) {
    out.push_back(
        {Severity::kProblem, spec.name, base,
         fmt::format("the store cannot be mounted ({}); its {} keys read "
                     "back from a copy with the activation unit rebuilt, as "
                     "check --repair does",
                     health.mount.str(), health.keys),
         "every key of the partition, until it is repaired"});
  } else if (!health.mount.ok()) {
    out.push_back(
        {Severity::kLoss, spec.name, base,
         fmt::format("the store cannot be mounted ({})", health.mount.str()),
         "every key of the partition"});
  }
  for (kvs::Key key : health.lost) {
    if (reported.count(key)) continue;
    out.push_back({Severity::kLoss, spec.name, base,
                   "value unreadable (DATA_LOSS on read)",
                   KeyText(image, key)});
  }
  if (health_out) *health_out = health;
  return out;
}

std::vector<Finding> CheckBlob(Image& image, const PartitionSpec& spec) {
  std::vector<Finding> out;
  size_t base = size_t{spec.first_sector} * image.layout().sector_size;
  try {
    BlobHandle h(image, spec, false, false);
    BlobRecord r = h.Record();
    if (!r.present) return out;
    if (r.status.code() == StatusCode::kUnimplemented) {
      out.push_back({Severity::kProblem, spec.name, base,
                     fmt::format("metadata record version {} is newer than "
                                 "this tool reads",
                                 r.version),
                     "blob"});
    } else if (!r.status.ok()) {
      out.push_back(
          {Severity::kLoss, spec.name, base,
           r.complete && !r.checksum_ok
               ? fmt::format("blob checksum mismatch (CRC-32 0x{:08x} "
                             "recorded over {} bytes)",
                             r.checksum, r.size)
               : fmt::format("metadata record unreadable ({})", r.status.str()),
           r.file_name.empty() ? "the blob" : "blob \"" + r.file_name + "\""});
    } else if (!r.complete) {
      out.push_back({Severity::kNote, spec.name, base,
                     "an incomplete blob write (interrupted or abandoned); "
                     "readers see no blob until it is resumed or rewritten",
                     ""});
    }
  } catch (const Error& e) {
    out.push_back({Severity::kLoss, spec.name, base,
                   fmt::format("cannot open: {}", e.what()), "the blob"});
  }
  return out;
}

std::vector<Finding> CheckAll(Image& image) {
  std::vector<Finding> all;
  // Blobs are checked as they read once their metadata partitions are
  // repaired: with an activation unit rebuilt where a repair rebuilds it.
  std::unique_ptr<Image> view;
  for (const PartitionSpec& p : image.layout().partitions) {
    if (p.kind != PartitionKind::kKvs) continue;
    KvsHealth health;
    std::vector<Finding> f = CheckKvs(image, p, &health);
    all.insert(all.end(), f.begin(), f.end());
    if (health.rebuilt) view = RebuiltActivation(view ? *view : image, p);
  }
  for (const PartitionSpec& p : image.layout().partitions) {
    if (p.kind != PartitionKind::kBlob) continue;
    std::vector<Finding> f = CheckBlob(view ? *view : image, p);
    all.insert(all.end(), f.begin(), f.end());
  }
  return all;
}

Severity Worst(const std::vector<Finding>& findings) {
  Severity worst = Severity::kNote;
  for (const Finding& f : findings) worst = std::max(worst, f.severity);
  return worst;
}

void PrintFindings(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    fmt::print("  {:<9} {:<12} 0x{:08x}  {}{}\n", SeverityName(f.severity),
               f.partition, f.address, f.what,
               f.affected.empty()
                   ? ""
                   : "\n" + std::string(37, ' ') + "affects: " + f.affected);
  }
}

// Rewrites a kvs partition from what the library can read: every readable
// key survives, lost keys are dropped (reported), erase counts are kept.
std::vector<std::string> RepairKvs(Image& image, const PartitionSpec& spec) {
  std::vector<std::string> log;
  KvsHandle kvs(image, spec);
  Status s = kvs.Init();
  // With entries behind an unreadable activation unit, mount refuses
  // (DATA_LOSS): the keys are read from a copy with the unit rebuilt.
  std::unique_ptr<Image> rebuilt;
  std::unique_ptr<KvsHandle> copy;
  if (s.IsDataLoss() && (rebuilt = RebuiltActivation(image, spec, &log))) {
    copy = std::make_unique<KvsHandle>(*rebuilt, spec);
    s = copy->Init();
  }
  if (!s.ok()) {
    throw Error(kExitDataLoss,
                fmt::format("cannot repair '{}': the store cannot be mounted "
                            "({}); nothing was changed",
                            spec.name, s.str()));
  }
  const KvsHandle& source = copy ? *copy : kvs;
  std::vector<std::pair<kvs::Key, Bytes>> keep;
  for (kvs::Key key : source.Keys()) {
    Bytes value;
    Status g = source.TryGet(key, value);
    if (g.ok()) {
      keep.emplace_back(key, std::move(value));
    } else {
      log.push_back(fmt::format("dropped {} ({}): its value was already lost",
                                KeyText(image, key), g.str()));
    }
  }
  s = kvs.store().Format();
  if (!s.ok()) Fail(s, fmt::format("repair: formatting '{}'", spec.name));
  for (const auto& [key, value] : keep) {
    s = kvs.store().Put(key, value);
    if (!s.ok()) {
      Fail(s, fmt::format("repair: rewriting {} in '{}'", KeyText(image, key),
                          spec.name));
    }
  }
  log.push_back(
      fmt::format("rewrote '{}': {} keys kept", spec.name, keep.size()));
  return log;
}

std::vector<std::string> RepairBlob(Image& image, const PartitionSpec& spec) {
  std::vector<std::string> log;
  BlobHandle h(image, spec, false, true);
  BlobRecord r = h.Record();
  if (!r.present || (r.status.ok() && r.complete)) return log;
  if (!r.status.ok()) {
    blob::BlobWriter writer(h.store());
    Status s = writer.Open();
    if (s.ok()) s = writer.Discard();
    writer.Abandon();
    if (!s.ok())
      Fail(s, fmt::format("repair: discarding blob '{}'", spec.name));
    log.push_back(fmt::format("discarded the corrupt blob of '{}'", spec.name));
  }
  return log;
}

}  // namespace

int CmdCheck(const std::string& path, const ImageOptions& options, bool repair,
             bool json) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  std::vector<Finding> findings = CheckAll(*image);
  Severity worst = Worst(findings);
  bool problems = std::any_of(
      findings.begin(), findings.end(),
      [](const Finding& f) { return f.severity != Severity::kNote; });
  std::vector<std::string> log;
  std::vector<Finding> after;
  if (repair && problems) {
    // Blobs first (their metadata lives in a kvs partition), then kvs, then
    // the blobs whose metadata could not be read before.
    std::vector<const PartitionSpec*> blobs_later;
    for (const PartitionSpec& p : image->layout().partitions) {
      if (p.kind != PartitionKind::kBlob) continue;
      try {
        std::vector<std::string> l = RepairBlob(*image, p);
        log.insert(log.end(), l.begin(), l.end());
      } catch (const Error&) {
        blobs_later.push_back(&p);
      }
    }
    for (const PartitionSpec& p : image->layout().partitions) {
      if (p.kind != PartitionKind::kKvs) continue;
      bool damaged = false;
      for (const Finding& f : findings) {
        damaged |= f.partition == p.name && f.severity != Severity::kNote;
      }
      if (!damaged) continue;
      std::vector<std::string> l = RepairKvs(*image, p);
      log.insert(log.end(), l.begin(), l.end());
    }
    for (const PartitionSpec* p : blobs_later) {
      try {
        std::vector<std::string> l = RepairBlob(*image, *p);
        log.insert(log.end(), l.begin(), l.end());
      } catch (const Error& e) {
        log.push_back(
            fmt::format("blob '{}' left as is: {}", p->name, e.what()));
      }
    }
    after = CheckAll(*image);
    if (Worst(after) != Severity::kNote &&
        std::any_of(after.begin(), after.end(), [](const Finding& f) {
          return f.severity != Severity::kNote;
        })) {
      throw Error(kExitInternal,
                  "repair did not leave a consistent image; the file was not "
                  "changed");
    }
    image->Save(path);
  }
  int rc = kExitOk;
  if (worst == Severity::kLoss) {
    rc = kExitDataLoss;
  } else if (problems && !repair) {
    rc = kExitInconsistent;
  }
  if (json) {
    nlohmann::json j;
    j["image"] = path;
    j["findings"] = nlohmann::json::array();
    for (const Finding& f : findings) {
      j["findings"].push_back({{"severity", SeverityName(f.severity)},
                               {"partition", f.partition},
                               {"address", f.address},
                               {"what", f.what},
                               {"affected", f.affected}});
    }
    j["repaired"] = repair && problems;
    j["repair_log"] = log;
    j["result"] = rc == kExitDataLoss       ? "data loss"
                  : rc == kExitInconsistent ? "inconsistent"
                  : repair && problems      ? "repaired"
                                            : "ok";
    j["exit_code"] = rc;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("checked {} ({} partitions, {})\n", path,
               image->layout().partitions.size(), image->layout().Describe());
    if (findings.empty()) fmt::print("  no findings\n");
    PrintFindings(findings);
    for (const std::string& line : log) fmt::print("  repair: {}\n", line);
  }
  if (!json) {
    fmt::print("{}\n", rc == kExitOk && !(repair && problems) ? "result: OK"
                       : rc == kExitOk ? "result: REPAIRED (nothing was lost)"
                       : rc == kExitDataLoss
                           ? (repair ? "result: DATA LOSS (repaired; the "
                                       "lost values are gone)"
                                     : "result: DATA LOSS")
                           : "result: INCONSISTENT (no data lost; run with "
                             "--repair)");
  }
  return rc;
}

int CmdLs(const std::string& path, const ImageOptions& options, bool json) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  const Layout& l = image->layout();
  nlohmann::json j;
  j["geometry"] = {{"sector_size", l.sector_size},
                   {"sector_count", l.sector_count},
                   {"alignment", l.alignment},
                   {"erased", l.erased}};
  j["partitions"] = nlohmann::json::array();
  if (!json) {
    fmt::print("{}: {}{}\n", path, l.Describe(),
               image->has_record() ? "" : " (raw dump)");
  }
  bool loss = false;
  for (const PartitionSpec& p : l.partitions) {
    nlohmann::json pj;
    pj["name"] = p.name;
    pj["kind"] = KindName(p.kind);
    pj["first_sector"] = p.first_sector;
    pj["sector_count"] = p.sector_count;
    size_t bytes = size_t{p.sector_count} * l.sector_size;
    std::vector<Finding> findings;
    if (p.kind == PartitionKind::kKvs) {
      KvsHealth health;
      findings = CheckKvs(*image, p, &health);
      Severity worst = Worst(findings);
      bool bad = std::any_of(
          findings.begin(), findings.end(),
          [](const Finding& f) { return f.severity != Severity::kNote; });
      std::string state = !bad                       ? "healthy"
                          : worst == Severity::kLoss ? "DATA LOSS"
                                                     : "inconsistent";
      loss |= worst == Severity::kLoss;
      pj["health"] = state;
      pj["keys"] = nlohmann::json::array();
      if (!json) {
        fmt::print("\n{} [kvs] sectors {}-{}, {}: {}\n", p.name, p.first_sector,
                   p.first_sector + p.sector_count - 1, HumanBytes(bytes),
                   state);
      }
      if (health.mount.ok()) {
        // Mount a copy so listing never writes.
        std::unique_ptr<Image> copy = image->Clone();
        KvsHandle view(*copy, p);
        if (view.Init().ok()) {
          kvs::Stats st = view.store().GetStats();
          pj["live_bytes"] = st.live_bytes;
          pj["free_bytes"] = st.free_bytes;
          pj["reclaimable_bytes"] = st.reclaimable_bytes;
          if (!json) {
            fmt::print("  {} keys; {} live, {} reclaimable, {} free\n",
                       st.live_keys, HumanBytes(st.live_bytes),
                       HumanBytes(st.reclaimable_bytes),
                       HumanBytes(st.free_bytes));
          }
          for (kvs::Key key : view.Keys()) {
            Bytes value;
            Status s = view.TryGet(key, value);
            std::string name = image->NameOf(key);
            pj["keys"].push_back({{"key", fmt::format("0x{:08x}", key)},
                                  {"name", name},
                                  {"size", s.ok() ? nlohmann::json(value.size())
                                                  : nlohmann::json()},
                                  {"status", s.str()}});
            if (!json) {
              fmt::print(
                  "    0x{:08x}  {:<20} {:>6}  {}\n", key,
                  name.empty() ? "-" : name,
                  s.ok() ? std::to_string(value.size()) : "?",
                  s.ok() ? Preview(value) : fmt::format("<{}>", s.str()));
            }
          }
        }
      }
    } else {
      findings = CheckBlob(*image, p);
      bool bad = Worst(findings) == Severity::kLoss;
      loss |= bad;
      std::string state = bad ? "DATA LOSS" : "healthy";
      pj["health"] = state;
      std::string content = "empty";
      try {
        BlobHandle h(*image, p, false, false);
        BlobRecord r = h.Record();
        if (r.present && r.status.ok() && r.complete) {
          content = fmt::format("\"{}\", {} bytes, CRC-32 0x{:08x}",
                                r.file_name, r.size, r.checksum);
          pj["file_name"] = r.file_name;
          pj["size"] = r.size;
        } else if (r.present && r.status.ok()) {
          content = "incomplete write";
        } else if (r.present) {
          content = fmt::format("corrupt ({})", r.status.str());
        }
      } catch (const Error& e) {
        content = e.what();
      }
      pj["content"] = content;
      if (!json) {
        fmt::print("\n{} [blob] sectors {}-{}, {}: {}\n", p.name,
                   p.first_sector, p.first_sector + p.sector_count - 1,
                   HumanBytes(bytes), state);
        fmt::print("  {} (metadata in '{}')\n", content, p.meta);
      }
    }
    if (!json) {
      for (const Finding& f : findings) {
        if (f.severity == Severity::kNote) continue;
        fmt::print("  {}: {} at 0x{:x}\n", SeverityName(f.severity), f.what,
                   f.address);
      }
    }
    j["partitions"].push_back(pj);
  }
  if (json) fmt::print("{}\n", j.dump(2));
  return loss ? kExitDataLoss : kExitOk;
}

int CmdDump(const std::string& path, const ImageOptions& options,
            std::optional<uint32_t> sector, const std::string& partition) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  const Layout& l = image->layout();
  if (sector && *sector >= l.sector_count) {
    throw Error(kExitNotFound, fmt::format("sector {} is past the last one "
                                           "({})",
                                           *sector, l.sector_count - 1));
  }
  if (!partition.empty()) image->Partition(partition, std::nullopt);
  const size_t unit = fmtk::UnitSize(l.alignment);
  const std::byte erased{l.erased};
  auto state_name = [](fmtk::UnitState s) {
    switch (s) {
      case fmtk::UnitState::kErased:
        return "erased";
      case fmtk::UnitState::kValid:
        return "valid";
      case fmtk::UnitState::kBad:
        return "BAD-SECTOR marker";
      case fmtk::UnitState::kNewer:
        return "NEWER version";
      case fmtk::UnitState::kInvalid:
        return "INVALID";
    }
    return "?";
  };
  fmt::print("{}: {}\n", path, l.Describe());
  for (const PartitionSpec& p : l.partitions) {
    if (!partition.empty() && p.name != partition) continue;
    if (sector && (*sector < p.first_sector ||
                   *sector >= p.first_sector + p.sector_count)) {
      continue;
    }
    fmt::print("\n=== partition {} ({}), sectors {}-{} ===\n", p.name,
               KindName(p.kind), p.first_sector,
               p.first_sector + p.sector_count - 1);
    if (p.kind == PartitionKind::kBlob) {
      size_t base = size_t{p.first_sector} * l.sector_size;
      for (uint32_t s = 0; s < p.sector_count; ++s) {
        uint32_t abs = p.first_sector + s;
        if (sector && abs != *sector) continue;
        std::span<const std::byte> sec =
            image->bytes().subspan(size_t{abs} * l.sector_size, l.sector_size);
        size_t used = sec.size();
        while (used > 0 && sec[used - 1] == erased) --used;
        fmt::print(
            "sector {} @0x{:08x} (blob offset {}): {}\n", abs,
            size_t{abs} * l.sector_size, size_t{abs} * l.sector_size - base,
            used == 0 ? "erased"
                      : fmt::format("{} bytes written, then erased", used));
        for (size_t off = 0; off < std::min<size_t>(used, 64); off += 16) {
          fmt::print(
              "  +{:04x}: {}\n", off,
              ToHex(sec.subspan(off, std::min<size_t>(16, used - off)), true));
        }
        if (used > 64) fmt::print("  ...\n");
      }
      continue;
    }
    KvsScan scan = ScanKvs(*image, p);
    for (const SectorInfo& si : scan.sectors) {
      uint32_t abs = p.first_sector + si.index;
      if (sector && abs != *sector) continue;
      fmt::print("sector {} (partition sector {}) @0x{:08x}\n", abs, si.index,
                 si.address);
      fmt::print("  +0x{:04x} format unit:     {}", 0,
                 state_name(si.format_state));
      if (si.format_state == fmtk::UnitState::kValid) {
        fmt::print(" (version {}, erase count {})", si.format.version,
                   si.format.erase_count);
      }
      fmt::print("\n  +0x{:04x} activation unit: {}", unit,
                 state_name(si.activation_state));
      if (si.activation_state == fmtk::UnitState::kValid) {
        fmt::print(" (sequence {}, predecessor committed {} slots)",
                   si.activation.sequence, si.activation.prev_slots);
      }
      fmt::print("\n");
      for (const SlotInfo& slot : si.slots) {
        size_t rel = slot.address - si.address;
        if (!slot.decoded) {
          fmt::print("  +0x{:04x} slot {:<3} UNREADABLE header {}\n", rel,
                     slot.index,
                     ToHex(image->bytes().subspan(slot.address, 8), true));
          continue;
        }
        const fmtk::SlotHeader& h = slot.header;
        const char* kind = h.kind == fmtk::Kind::kPlain         ? "put"
                           : h.kind == fmtk::Kind::kBatchEnd    ? "batch-end"
                           : h.kind == fmtk::Kind::kBatchMember ? "batch"
                                                                : "LOST";
        if (slot.is_seal) {
          fmt::print(
              "  +0x{:04x} slot {:<3} {:<16} the entry before it is "
              "complete\n",
              rel, slot.index, "seal");
          continue;
        }
        if (slot.is_void) {
          fmt::print(
              "  +0x{:04x} slot {:<3} {:<16} values go on below +0x{:04x}\n",
              rel, slot.index, "void", h.key);
          continue;
        }
        if (h.is_tombstone())
          kind = h.kind == fmtk::Kind::kPlain      ? "delete"
                 : h.kind == fmtk::Kind::kBatchEnd ? "batch-end delete"
                                                   : "batch delete";
        std::string name = image->NameOf(h.key);
        std::string value;
        if (!slot.value_in_bounds) {
          value = "value region out of bounds";
        } else if (!h.is_tombstone() && h.kind != fmtk::Kind::kLost) {
          value = fmt::format("{} B @+0x{:04x} {} {}", slot.value_size,
                              slot.value_address - si.address,
                              slot.crc_ok ? "crc ok" : "CRC MISMATCH",
                              Preview(image->bytes().subspan(slot.value_address,
                                                             slot.value_size)));
        } else {
          value = slot.crc_ok ? "crc ok" : "CRC MISMATCH";
        }
        fmt::print("  +0x{:04x} slot {:<3} {:<16} key 0x{:08x}{} {}\n", rel,
                   slot.index, kind, h.key,
                   name.empty() ? "" : " (" + name + ")", value);
      }
      const size_t header = fmtk::SectorHeaderBytes(l.alignment);
      size_t slots_end = header + si.slots.size() * unit;
      if (si.damaged) {
        fmt::print(
            "  (after an unreadable slot the value positions are "
            "unknown)\n");
      } else if (si.value_low > slots_end) {
        fmt::print("  +0x{:04x}..+0x{:04x} free ({} bytes){}\n", slots_end,
                   si.value_low, si.value_low - slots_end,
                   si.garbage_in_free ? " NOT ERASED" : "");
      }
    }
    for (const Finding& f : scan.findings) {
      if (sector && (f.address / l.sector_size) != *sector) continue;
      fmt::print("  {} at 0x{:08x}: {}{}\n", SeverityName(f.severity),
                 f.address, f.what,
                 f.affected.empty() ? "" : " [" + f.affected + "]");
    }
  }
  return kExitOk;
}

}  // namespace cairn::tool
