#include "scan.h"

#include <fmt/format.h>

#include <algorithm>

#include "cairn/checksum.h"

namespace cairn::tool {

namespace fmtk = kvs::format;
using fmtk::UnitState;

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kNote:
      return "note";
    case Severity::kProblem:
      return "PROBLEM";
    case Severity::kLoss:
      return "DATA LOSS";
  }
  return "?";
}

namespace {

bool AllErased(std::span<const std::byte> bytes, std::byte erased) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [&](std::byte b) { return b == erased; });
}

size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

// The tail rule of format.md for the last slot of an active sector: true if
// the sector's version has it, another slot would fit after `slot` and the
// entry's tail byte reads erased.
bool TailErasedAt(std::span<const std::byte> flash, const Layout& l,
                  const SectorInfo& si, const SlotInfo& slot) {
  const size_t unit = fmtk::UnitSize(l.alignment);
  const size_t slots_end =
      fmtk::SectorHeaderBytes(l.alignment) + (size_t{slot.index} + 2) * unit;
  if (si.format_state == UnitState::kValid &&
      si.format.version < fmtk::kSealVersion) {
    return false;
  }
  if (slot.value_address - si.address < slots_end) return false;
  size_t tail = slot.address + 7;
  if (slot.region_bytes != 0) {
    tail = slot.value_address + (slot.header.is_extended()
                                     ? AlignUp(slot.value_size, l.alignment) + 3
                                     : slot.value_size - 1);
  }
  return flash[tail] == std::byte{l.erased};
}

KvsScan ScanKvs(const Image& image, const PartitionSpec& spec) {
  KvsScan scan;
  scan.spec = &spec;
  const Layout& l = image.layout();
  const size_t S = l.sector_size;
  const size_t align = l.alignment;
  const size_t unit = fmtk::UnitSize(align);
  const size_t header = fmtk::SectorHeaderBytes(align);
  const std::byte erased{l.erased};
  const fmtk::GeometryTag tag{uint32_t(S), uint16_t(align)};
  std::span<const std::byte> flash = image.bytes();
  auto TailErased = [&](const SectorInfo& si, const SlotInfo& slot) {
    return TailErasedAt(flash, l, si, slot);
  };
  auto add = [&](Severity sev, size_t address, std::string what,
                 std::string affected = "") {
    scan.findings.push_back(
        {sev, spec.name, address, std::move(what), std::move(affected)});
  };

  // ---- pass 1: decode every sector on its own ----
  for (uint32_t s = 0; s < spec.sector_count; ++s) {
    SectorInfo si;
    si.index = s;
    si.address = size_t{spec.first_sector + s} * S;
    std::span<const std::byte> sec = flash.subspan(si.address, S);
    if (S < header + unit) {
      scan.sectors.push_back(si);
      continue;
    }
    // Each unit as mount reads it: one that fails its CRC is corrected if
    // flipping a single bit makes it valid.
    std::array<std::byte, 8> raw;
    auto decode_format = [&] {
      return fmtk::DecodeFormatUnit(raw, tag, erased, si.format);
    };
    // As mount does: an activation naming more slots than a sector holds
    // is a torn write or foreign bytes.
    auto decode_activation = [&] {
      const UnitState state =
          fmtk::DecodeActivationUnit(raw, erased, si.activation);
      return state == UnitState::kValid &&
                     si.activation.prev_slots > (S - header) / unit
                 ? UnitState::kInvalid
                 : state;
    };
    auto read_unit = [&](size_t offset, UnitState& state, bool& corrected,
                         auto decode) {
      std::copy_n(sec.begin() + offset, raw.size(), raw.begin());
      state = decode();
      for (int bit = 0; state == UnitState::kInvalid && bit < 64; ++bit) {
        raw[bit / 8] ^= std::byte(1u << (bit % 8));
        if (decode() == UnitState::kValid) {
          state = UnitState::kValid;
          corrected = true;
        }
        raw[bit / 8] ^= std::byte(1u << (bit % 8));
      }
      if (!corrected) state = decode();
    };
    read_unit(0, si.format_state, si.format_corrected, decode_format);
    read_unit(unit, si.activation_state, si.activation_corrected,
              decode_activation);
    size_t value_end = S;
    bool damaged = false;
    for (uint32_t slot = 0;; ++slot) {
      const size_t slots_end = header + (size_t{slot} + 1) * unit;
      if (slots_end > (damaged ? S : value_end)) break;
      SlotInfo info;
      info.index = slot;
      info.address = si.address + header + size_t{slot} * unit;
      std::span<const std::byte, 8> raw(sec.data() + header + slot * unit, 8);
      if (AllErased(raw, erased)) break;
      info.decoded = fmtk::DecodeSlot(raw, info.header);
      if (info.decoded && fmtk::IsVoidMarker(info.header) &&
          info.header.key >= slots_end && info.header.key <= S &&
          info.header.key % align == 0) {
        // The store gave up on the slot before it; values go on below here.
        info.is_void = info.value_in_bounds = info.crc_ok = true;
        value_end = info.header.key;
        damaged = false;
        si.slots.push_back(info);
        continue;
      }
      if (info.decoded && fmtk::IsSealMarker(info.header)) {
        info.is_seal = info.value_in_bounds = info.crc_ok = true;
        info.value_address = si.address + value_end;
        si.slots.push_back(info);
        continue;
      }
      if (!info.decoded || damaged) {
        damaged = true;
        si.slots.push_back(info);
        continue;
      }
      const fmtk::SlotHeader& h = info.header;
      size_t size = h.size_code;
      bool ok = true;
      if (h.is_extended()) {
        const size_t len_unit = AlignUp(fmtk::kExtendedSizeBytes, align);
        if (value_end < len_unit) {
          ok = false;
        } else {
          uint32_t decoded = 0;
          ok = fmtk::DecodeExtendedSize(
                   std::span<const std::byte, 4>(
                       sec.data() + value_end - len_unit, 4),
                   decoded) != fmtk::SizeState::kInvalid;
          size = decoded;
          ok = ok && size > fmtk::kMaxInlineSize && size <= S;
        }
      } else if (h.is_tombstone()) {
        size = 0;
      }
      size_t region = (h.is_tombstone() || h.kind == fmtk::Kind::kLost)
                          ? 0
                          : fmtk::ValueRegionBytes(size, align);
      if (ok && (value_end < slots_end || value_end - slots_end < region)) {
        ok = false;
      }
      if (!ok) {
        damaged = true;
        si.slots.push_back(info);
        continue;
      }
      info.value_in_bounds = true;
      info.value_size = h.kind == fmtk::Kind::kLost ? 0 : size;
      info.region_bytes = region;
      info.value_address = si.address + value_end - region;
      uint16_t crc = fmtk::EntryCrcSeed(h.key, h.size_code);
      crc = Crc16::Update(crc,
                          flash.subspan(info.value_address, info.value_size));
      info.crc_ok = crc == h.crc;
      value_end -= region;
      si.slots.push_back(info);
    }
    si.value_low = value_end;
    si.damaged = damaged;
    if (!damaged) {
      const size_t gap_begin = header + si.slots.size() * unit;
      if (gap_begin < value_end &&
          !AllErased(sec.subspan(gap_begin, value_end - gap_begin), erased)) {
        si.garbage_in_free = true;
      }
    }
    scan.sectors.push_back(std::move(si));
  }

  // ---- pass 2: the ring, as a mount would see it ----
  const uint32_t n = spec.sector_count;
  uint32_t bad = 0;
  // The newest activation and the runner-up, among the units that read
  // cleanly ([0]) and among those corrected by one bit ([1]). A corrected
  // unit counts only inside the chain of the units that read cleanly (the
  // distances below): it could also be a torn activation. When none reads
  // cleanly the corrected ones are all there is (a young store, or a
  // retention error in every data sector).
  struct Pick {
    bool any = false;
    uint32_t index = 0, seq = 0;
  };
  Pick picks[2][2];
  for (const SectorInfo& si : scan.sectors) {
    if (si.format_state == UnitState::kBad) {
      ++bad;
    } else if (si.activation_state == UnitState::kValid) {
      Pick c{true, si.index, si.activation.sequence};
      Pick* const pair = picks[si.activation_corrected ? 1 : 0];
      if (!pair[0].any || c.seq > pair[0].seq) std::swap(c, pair[0]);
      if (c.any && (!pair[1].any || c.seq > pair[1].seq)) pair[1] = c;
    }
  }
  const Pick* const pair = picks[picks[0][0].any ? 0 : 1];
  const bool any_active = pair[0].any, any_second = pair[1].any;
  uint32_t newest = pair[0].index, newest_seq = pair[0].seq;
  const uint32_t second = pair[1].index, second_seq = pair[1].seq;
  auto is_bad = [&](uint32_t s) {
    return scan.sectors[s].format_state == UnitState::kBad;
  };
  auto prev = [&](uint32_t s) {
    for (uint32_t i = 0; i < n; ++i) {
      s = s == 0 ? n - 1 : s - 1;
      if (!is_bad(s)) break;
    }
    return s;
  };
  auto next = [&](uint32_t s) {
    for (uint32_t i = 0; i < n; ++i) {
      s = s + 1 == n ? 0 : s + 1;
      if (!is_bad(s)) break;
    }
    return s;
  };
  // As mount does: a torn activation unit that checks out right after a
  // chain's head is not the newest sector (it shows as a stale sector
  // outside the ring) if it is more than a ring ahead of that head and the
  // head continues a chain, or if it is a corrected unit (none read
  // cleanly) that names slots before it, the head continues a chain or is
  // the store's first sector, and the unit is not exactly one ahead or its
  // sector holds no slot.
  const bool corrected = pair == picks[1];
  if (any_second && newest == next(second) &&
      (newest_seq - second_seq > n || corrected)) {
    const SectorInfo& before = scan.sectors[prev(second)];
    const bool chain = before.activation_state == UnitState::kValid &&
                       before.activation.sequence == second_seq - 1;
    if ((newest_seq - second_seq > n && chain) ||
        (corrected && scan.sectors[newest].activation.prev_slots != 0 &&
         (chain || scan.sectors[second].activation.prev_slots == 0) &&
         (newest_seq - second_seq != 1 ||
          scan.sectors[newest].slots.empty()))) {
      newest = second;
      newest_seq = second_seq;
    }
  }
  // distance from the active sector for data sectors, -1 otherwise
  std::vector<int64_t> distance(n, -1);
  uint32_t oldest_distance = 0;
  if (any_active) {
    distance[newest] = 0;
    const uint32_t usable = n - bad;
    uint32_t s = newest;
    for (uint32_t d = 1; usable >= 1 && d + 1 < usable; ++d) {
      s = prev(s);
      const SectorInfo& si = scan.sectors[s];
      if (si.activation_state == UnitState::kValid &&
          si.activation.sequence == newest_seq - d) {
        oldest_distance = d;
      }
    }
    s = newest;
    for (uint32_t d = 1; d <= oldest_distance; ++d) {
      s = prev(s);
      distance[s] = d;
    }
  }

  bool all_erased_partition = true;
  bool unreadable_activation = false;  // entries behind it, reported
  for (const SectorInfo& si : scan.sectors) {
    std::span<const std::byte> sec = flash.subspan(si.address, S);
    const bool sector_erased = AllErased(sec, erased);
    all_erased_partition &= sector_erased;
    const size_t a = si.address;
    const int64_t d = distance[si.index];
    if (si.format_state == UnitState::kBad) {
      add(Severity::kNote, a, "sector is marked bad (worn out)");
      continue;
    }
    if (si.format_corrected) {
      add(Severity::kNote, a,
          "format unit with one flipped bit (corruption); mount corrects it");
    }
    if (si.activation_corrected && d >= 0) {
      add(Severity::kNote, a + unit,
          "activation unit with one flipped bit (corruption); mount corrects "
          "it");
    }
    if (si.format_state == UnitState::kNewer) {
      add(Severity::kProblem, a,
          fmt::format("format unit of a newer version ({}) than this tool "
                      "reads ({})",
                      si.format.version, fmtk::kVersion));
      continue;
    }
    if (d < 0) {
      // Not a data sector: whatever it holds is erased before it is used.
      if (si.format_state == UnitState::kErased && !sector_erased) {
        add(Severity::kNote, a,
            "partly erased sector (an interrupted erase); erased again "
            "before use");
      } else if (si.format_state == UnitState::kInvalid) {
        add(Severity::kNote, a,
            fmtk::HasMagic(sec.first<8>())
                ? "unused sector with a damaged format unit (an interrupted "
                  "erase or format); erased before use, its erase count is "
                  "lost"
                : "unused sector without a cairn format unit; erased before "
                  "use");
      } else if (si.activation_state == UnitState::kValid) {
        add(Severity::kNote, a,
            fmt::format("stale sector (sequence {}) outside the ring, left by "
                        "an interrupted reclaim; erased when reused",
                        si.activation.sequence));
      } else if (si.activation_state == UnitState::kInvalid && !any_active &&
                 !si.slots.empty()) {
        unreadable_activation = true;
        add(Severity::kProblem, a + unit,
            fmt::format("activation unit unreadable (more than one flipped "
                        "bit) in front of {} entries: Init() refuses the "
                        "store (DATA_LOSS)",
                        si.slots.size()));
      } else if (si.activation_state == UnitState::kInvalid) {
        add(Severity::kNote, a + unit,
            "unused sector with a torn activation unit (an interrupted "
            "reclaim); erased when reused");
      } else if (!si.slots.empty()) {
        add(Severity::kNote, a + header,
            fmt::format("{} uncommitted entries in a free sector (an "
                        "interrupted reclaim); erased when reused",
                        si.slots.size()));
      }
      continue;
    }
    if (si.format_state != UnitState::kValid) {
      add(Severity::kProblem, a,
          "format unit of a data sector damaged (its erase count is lost; "
          "the entries are intact)");
    }
    // A data sector.
    const bool active = d == 0;
    size_t limit = SIZE_MAX;
    if (!active) {
      const SectorInfo& nx = scan.sectors[next(si.index)];
      if (nx.activation_state == UnitState::kValid &&
          nx.activation.sequence == si.activation.sequence + 1) {
        limit = nx.activation.prev_slots;
      }
    }
    bool in_run = false;
    size_t run_start = 0;
    for (size_t i = 0; i < si.slots.size(); ++i) {
      const SlotInfo& slot = si.slots[i];
      scan.entries++;
      if (i >= limit) {
        add(Severity::kNote, slot.address,
            fmt::format("{} slots after the {} the next sector recorded as "
                        "committed (a torn write); ignored",
                        si.slots.size() - limit, limit));
        break;
      }
      const bool last = i + 1 == si.slots.size();
      std::string key =
          slot.decoded ? fmt::format("key 0x{:08x}", slot.header.key) : "";
      if (slot.is_void || slot.is_seal) {
        in_run = false;  // a batch it interrupted never happened
        continue;
      }
      if (!last && si.slots[i + 1].is_void) {
        add(Severity::kNote, slot.address,
            fmt::format("{}write cancelled by the store after a failed "
                        "program (void marker follows); ignored",
                        key.empty() ? "" : key + ": "));
        continue;
      }
      if (!slot.decoded || !slot.value_in_bounds) {
        scan.bad_entries++;
        in_run = false;  // what follows cannot be interpreted
        if (active && last) {
          add(Severity::kNote, slot.address,
              "torn entry header at the end of the active sector (power cut "
              "during a write); ignored");
        } else {
          add(Severity::kLoss, slot.address,
              !slot.decoded ? "entry header unreadable (parity mismatch)"
                            : "entry size does not fit the sector",
              fmt::format("{}the entry and the {} after it in this sector",
                          key.empty() ? "" : key + ": ",
                          si.slots.size() - i - 1));
        }
        break;  // what follows cannot be interpreted
      }
      if (active && last && slot.crc_ok && TailErased(si, slot)) {
        scan.bad_entries++;
        add(Severity::kNote, slot.address,
            fmt::format("torn entry for {} at the end of the active sector "
                        "(its last byte was never programmed); the previous "
                        "value stays",
                        key));
        continue;
      }
      if (!slot.crc_ok) {
        scan.bad_entries++;
        if (active && last) {
          add(Severity::kNote, slot.address,
              fmt::format("torn entry for {} at the end of the active sector "
                          "(power cut during a write); the previous value "
                          "stays",
                          key));
          continue;  // nothing in a torn header means anything
        } else {
          // Loss or not is settled by the caller with the library's view.
          add(Severity::kProblem, slot.address,
              fmt::format("value checksum mismatch ({} bytes at 0x{:x})",
                          slot.value_size, slot.value_address),
              key);
        }
      }
      if (slot.header.kind == fmtk::Kind::kBatchMember) {
        if (!in_run) run_start = i;
        in_run = true;
      } else {
        in_run = false;
      }
      if (slot.header.kind == fmtk::Kind::kLost) {
        add(Severity::kLoss, slot.address,
            "placeholder of a value lost earlier (carried by a reclaim)", key);
      }
    }
    if (in_run) {
      add(Severity::kNote, si.slots[run_start].address,
          active ? "unfinished batch at the end of the active sector (power "
                   "cut during a commit); not applied"
                 : "batch without its end entry; not applied");
    }
    if (si.garbage_in_free) {
      add(Severity::kProblem, a + header + si.slots.size() * unit,
          "non-erased bytes in the free space of a sector (corruption); a "
          "write there would fail");
    }
  }
  if (!any_active) {
    if (all_erased_partition) {
      scan.findings.clear();
      add(Severity::kNote, size_t{spec.first_sector} * S,
          "partition is erased; the store formats it on first use");
    } else if (!unreadable_activation) {
      add(Severity::kProblem, size_t{spec.first_sector} * S,
          "no activated sector: not a usable key-value store");
    }
  } else {
    // Data sectors whose header is unreadable leave a hole in the ring.
    uint32_t s = newest;
    for (uint32_t dd = 1; dd <= oldest_distance; ++dd) {
      s = prev(s);
      const SectorInfo& si = scan.sectors[s];
      if (!(si.activation_state == UnitState::kValid &&
            si.activation.sequence == newest_seq - dd)) {
        add(Severity::kLoss, si.address,
            fmt::format("sector {} of the ring (sequence {} expected) is "
                        "unreadable",
                        s, newest_seq - dd),
            "every entry written to it");
      }
    }
  }
  return scan;
}

void RefuseIfDamaged(const Image& image, const PartitionSpec& spec,
                     bool force) {
  KvsScan scan = ScanKvs(image, spec);
  for (const Finding& f : scan.findings) {
    if (f.severity == Severity::kNote) continue;
    if (force) {
      fmt::print(stderr,
                 "cairn: warning: partition '{}' is damaged ({} at 0x{:x}); "
                 "writing anyway (--force)\n",
                 spec.name, f.what, f.address);
      return;
    }
    throw Error(kExitDamaged,
                fmt::format("partition '{}' is damaged ({} at 0x{:x}); run "
                            "'cairn check --repair' first or pass --force",
                            spec.name, f.what, f.address));
  }
}

}  // namespace cairn::tool
