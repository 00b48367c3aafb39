#include "layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cairn/checksum.h"
#include "csv.h"

namespace cairn::tool {

const char* KindName(PartitionKind kind) {
  return kind == PartitionKind::kKvs ? "kvs" : "blob";
}

const PartitionSpec* Layout::Find(const std::string& name) const {
  for (const PartitionSpec& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

static bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxPartitionName) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

void Layout::Validate() {
  auto fail = [](const std::string& m) { throw Error(kExitLayout, m); };
  if (sector_size == 0 || sector_size > (16u << 20)) {
    fail(
        fmt::format("layout: sector size {} is not in 1..16 MiB", sector_size));
  }
  if (alignment == 0 || alignment > 256) {
    fail(fmt::format("layout: alignment {} is not in 1..256", alignment));
  }
  if (sector_size % alignment != 0) {
    fail(
        fmt::format("layout: sector size {} is not a multiple of the "
                    "alignment {}",
                    sector_size, alignment));
  }
  if (sector_count == 0 || size_bytes() > (uint64_t{1} << 30)) {
    fail(fmt::format("layout: {} sectors of {} bytes is not in 1 B..1 GiB",
                     sector_count, sector_size));
  }
  if (partitions.empty()) fail("layout: no partitions");
  if (partitions.size() > kMaxPartitions) {
    fail(fmt::format("layout: more than {} partitions", kMaxPartitions));
  }
  std::set<std::string> names;
  std::vector<int> owner(sector_count, -1);
  for (size_t i = 0; i < partitions.size(); ++i) {
    PartitionSpec& p = partitions[i];
    if (!ValidName(p.name)) {
      fail(
          fmt::format("layout: partition name '{}' must be 1..{} of "
                      "[A-Za-z0-9_.-]",
                      p.name, kMaxPartitionName));
    }
    if (!names.insert(p.name).second) {
      fail(fmt::format("layout: partition name '{}' used twice", p.name));
    }
    if (p.sector_count == 0 ||
        uint64_t{p.first_sector} + p.sector_count > sector_count) {
      fail(fmt::format(
          "layout: partition '{}' (sectors {}..{}) does not fit "
          "the {} sectors of the flash",
          p.name, p.first_sector, uint64_t{p.first_sector} + p.sector_count - 1,
          sector_count));
    }
    for (uint32_t s = p.first_sector; s < p.first_sector + p.sector_count;
         ++s) {
      if (owner[s] >= 0) {
        fail(
            fmt::format("layout: partitions '{}' and '{}' overlap at "
                        "sector {}",
                        partitions[size_t(owner[s])].name, p.name, s));
      }
      owner[s] = int(i);
    }
    if (p.kind == PartitionKind::kKvs && p.sector_count < 2) {
      fail(
          fmt::format("layout: kvs partition '{}' needs at least 2 sectors "
                      "(one is always kept free)",
                      p.name));
    }
  }
  for (PartitionSpec& p : partitions) {
    if (p.kind != PartitionKind::kBlob) continue;
    if (p.meta.empty()) {
      for (const PartitionSpec& q : partitions) {
        if (q.kind == PartitionKind::kKvs) {
          p.meta = q.name;
          break;
        }
      }
    }
    const PartitionSpec* m = Find(p.meta);
    if (m == nullptr || m->kind != PartitionKind::kKvs) {
      fail(fmt::format(
          "layout: blob partition '{}' needs a kvs partition "
          "for its metadata (\"meta\"){}",
          p.name, p.meta.empty() ? "" : ", '" + p.meta + "' is not one"));
    }
  }
}

std::string Layout::Describe() const {
  return fmt::format("{} sectors x {} B, alignment {}, erased 0x{:02x}",
                     sector_count, sector_size, alignment, erased);
}

// ---- layout files ----

static uint64_t JsonNumber(const nlohmann::json& j, const char* field,
                           uint64_t max, const std::string& where,
                           bool required = true, uint64_t fallback = 0) {
  if (!j.contains(field)) {
    if (!required) return fallback;
    throw Error(kExitLayout, fmt::format("{}: missing \"{}\"", where, field));
  }
  const nlohmann::json& v = j[field];
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    if (n > max) {
      throw Error(kExitLayout,
                  fmt::format("{}: \"{}\" = {} is too large", where, field, n));
    }
    return n;
  }
  if (v.is_string()) {
    return ParseUnsigned(v.get<std::string>(), max,
                         fmt::format("{}: \"{}\"", where, field), kExitLayout);
  }
  throw Error(kExitLayout, fmt::format("{}: \"{}\" must be a non-negative "
                                       "number",
                                       where, field));
}

static PartitionKind ParseKind(const std::string& kind,
                               const std::string& where) {
  std::string k = Lower(Trim(kind));
  if (k == "kvs" || k == "kv") return PartitionKind::kKvs;
  if (k == "blob") return PartitionKind::kBlob;
  throw Error(kExitLayout,
              fmt::format("{}: kind '{}' is not kvs or blob", where, kind));
}

static Layout ParseJsonLayout(const std::string& text,
                              const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(kExitLayout,
                fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  if (!j.is_object()) {
    throw Error(kExitLayout, fmt::format("{}: expected a JSON object", origin));
  }
  Layout l;
  l.sector_size = uint32_t(JsonNumber(j, "sector_size", 16u << 20, origin));
  l.sector_count = uint32_t(JsonNumber(j, "sector_count", 1u << 20, origin));
  l.alignment = uint16_t(JsonNumber(j, "alignment", 256, origin, false, 4));
  l.erased = uint8_t(JsonNumber(j, "erased", 255, origin, false, 0xFF));
  if (!j.contains("partitions") || !j["partitions"].is_array()) {
    throw Error(kExitLayout,
                fmt::format("{}: missing \"partitions\" array", origin));
  }
  size_t i = 0;
  for (const nlohmann::json& pj : j["partitions"]) {
    std::string where = fmt::format("{}: partitions[{}]", origin, i++);
    if (!pj.is_object() || !pj.contains("name") || !pj["name"].is_string()) {
      throw Error(kExitLayout, fmt::format("{}: needs a \"name\"", where));
    }
    PartitionSpec p;
    p.name = pj["name"].get<std::string>();
    p.kind = ParseKind(pj.value("kind", std::string("kvs")), where);
    p.first_sector = uint32_t(JsonNumber(pj, "first", 1u << 20, where));
    p.sector_count = uint32_t(JsonNumber(pj, "count", 1u << 20, where));
    p.max_keys = uint16_t(JsonNumber(pj, "max_keys", 65535, where, false, 0));
    if (pj.contains("meta")) {
      if (!pj["meta"].is_string()) {
        throw Error(kExitLayout, fmt::format("{}: \"meta\" must be a "
                                             "partition name",
                                             where));
      }
      p.meta = pj["meta"].get<std::string>();
    }
    l.partitions.push_back(p);
  }
  return l;
}

static Layout ParseCsvLayout(const std::string& text,
                             const std::string& origin) {
  Layout l;
  bool have_geometry = false;
  for (const CsvRow& row : ParseCsv(text, origin)) {
    std::string where = fmt::format("{}:{}", origin, row.line);
    const auto& f = row.fields;
    std::string type = Lower(Trim(f[0]));
    auto num = [&](size_t i, uint64_t max, const char* what) {
      return ParseUnsigned(f[i], max, fmt::format("{}: {}", where, what),
                           kExitLayout);
    };
    if (type == "type" || type == "kind") continue;  // header row
    if (type == "geometry") {
      if (f.size() < 4 || f.size() > 5) {
        throw Error(kExitLayout,
                    fmt::format("{}: expected geometry,SECTOR_SIZE,"
                                "SECTOR_COUNT,ALIGNMENT[,ERASED]",
                                where));
      }
      l.sector_size = uint32_t(num(1, 16u << 20, "sector size"));
      l.sector_count = uint32_t(num(2, 1u << 20, "sector count"));
      l.alignment = uint16_t(num(3, 256, "alignment"));
      if (f.size() == 5) l.erased = uint8_t(num(4, 255, "erased value"));
      have_geometry = true;
    } else if (type == "kvs" || type == "blob") {
      if (f.size() < 4 || f.size() > 5) {
        throw Error(kExitLayout,
                    fmt::format("{}: expected {},NAME,FIRST,COUNT[,{}]", where,
                                type, type == "kvs" ? "MAX_KEYS" : "META"));
      }
      PartitionSpec p;
      p.kind = ParseKind(type, where);
      p.name = Trim(f[1]);
      p.first_sector = uint32_t(num(2, 1u << 20, "first sector"));
      p.sector_count = uint32_t(num(3, 1u << 20, "sector count"));
      if (f.size() == 5 && !Trim(f[4]).empty()) {
        if (p.kind == PartitionKind::kKvs) {
          p.max_keys = uint16_t(num(4, 65535, "max keys"));
        } else {
          p.meta = Trim(f[4]);
        }
      }
      l.partitions.push_back(p);
    } else {
      throw Error(kExitLayout,
                  fmt::format("{}: unknown row type '{}' (geometry, kvs or "
                              "blob)",
                              where, f[0]));
    }
  }
  if (!have_geometry) {
    throw Error(kExitLayout, fmt::format("{}: no geometry row", origin));
  }
  return l;
}

Layout ParseLayoutText(const std::string& text, const std::string& origin) {
  size_t first = text.find_first_not_of(" \t\r\n");
  Layout l = (first != std::string::npos && text[first] == '{')
                 ? ParseJsonLayout(text, origin)
                 : ParseCsvLayout(text, origin);
  l.Validate();
  return l;
}

Layout ParseLayoutFile(const std::string& path) {
  Bytes data = ReadFile(path);
  return ParseLayoutText(AsString(data), path);
}

// ---- the trailer record ----

namespace {

void Put8(Bytes& out, uint8_t v) { out.push_back(std::byte(v)); }
void Put16(Bytes& out, uint16_t v) {
  Put8(out, uint8_t(v));
  Put8(out, uint8_t(v >> 8));
}
void Put32(Bytes& out, uint32_t v) {
  Put16(out, uint16_t(v));
  Put16(out, uint16_t(v >> 16));
}
uint16_t Get16(std::span<const std::byte> in, size_t at) {
  return uint16_t(uint16_t(in[at]) | uint16_t(in[at + 1]) << 8);
}
uint32_t Get32(std::span<const std::byte> in, size_t at) {
  return uint32_t(Get16(in, at)) | uint32_t(Get16(in, at + 2)) << 16;
}

}  // namespace

Bytes EncodeRecord(const Layout& layout) {
  Bytes out;
  std::vector<std::string> names;
  size_t names_bytes = 0;
  for (const std::string& n : layout.key_names) {
    if (n.empty() || n.size() > 255) continue;
    if (names_bytes + 1 + n.size() > 65535) break;
    names.push_back(n);
    names_bytes += 1 + n.size();
  }
  for (char c : kRecordMagic) Put8(out, uint8_t(c));
  Put8(out, kRecordVersion);
  Put8(out, uint8_t(layout.partitions.size()));
  Put16(out, uint16_t(names_bytes));
  Put32(out, layout.sector_size);
  Put32(out, layout.sector_count);
  Put16(out, layout.alignment);
  Put8(out, layout.erased);
  Put8(out, 0);
  for (const PartitionSpec& p : layout.partitions) {
    char name[kMaxPartitionName] = {};
    std::memcpy(name, p.name.data(), std::min(p.name.size(), sizeof(name)));
    for (char c : name) Put8(out, uint8_t(c));
    Put32(out, p.first_sector);
    Put32(out, p.sector_count);
    Put8(out, uint8_t(p.kind));
    uint8_t meta = 0xFF;
    for (size_t i = 0; i < layout.partitions.size(); ++i) {
      if (p.kind == PartitionKind::kBlob && layout.partitions[i].name == p.meta)
        meta = uint8_t(i);
    }
    Put8(out, meta);
    Put16(out, p.max_keys);
  }
  for (const std::string& n : names) {
    Put8(out, uint8_t(n.size()));
    for (char c : n) Put8(out, uint8_t(c));
  }
  uint32_t total = uint32_t(out.size() + kRecordFooterBytes);
  Put32(out, total);
  uint32_t crc = Crc32::Compute(out);
  Put32(out, crc);
  for (char c : kRecordEndMagic) Put8(out, uint8_t(c));
  return out;
}

RecordState DecodeRecord(std::span<const std::byte> file, Layout& layout,
                         size_t& record_bytes) {
  auto corrupt = [](const std::string& why) {
    throw Error(kExitNotImage, "corrupt layout record: " + why);
  };
  if (file.size() < kRecordFooterBytes) return RecordState::kAbsent;
  std::span<const std::byte> footer = file.last(kRecordFooterBytes);
  if (std::memcmp(footer.data() + 8, kRecordEndMagic, 8) != 0) {
    return RecordState::kAbsent;
  }
  uint32_t total = Get32(footer, 0);
  if (total < kRecordHeaderBytes + kRecordFooterBytes || total > file.size()) {
    corrupt(fmt::format("length {} does not fit the file", total));
  }
  std::span<const std::byte> rec = file.last(total);
  if (Crc32::Compute(rec.first(total - 12)) != Get32(footer, 4)) {
    corrupt("CRC-32 mismatch");
  }
  if (std::memcmp(rec.data(), kRecordMagic, 8) != 0) corrupt("bad magic");
  if (uint8_t(rec[8]) != kRecordVersion) {
    corrupt(fmt::format("version {} is not supported (this tool reads {})",
                        uint8_t(rec[8]), kRecordVersion));
  }
  size_t count = uint8_t(rec[9]);
  size_t names_bytes = Get16(rec, 10);
  if (kRecordHeaderBytes + count * kRecordPartitionBytes + names_bytes +
          kRecordFooterBytes !=
      total) {
    corrupt("section lengths do not add up");
  }
  Layout l;
  l.sector_size = Get32(rec, 12);
  l.sector_count = Get32(rec, 16);
  l.alignment = Get16(rec, 20);
  l.erased = uint8_t(rec[22]);
  std::vector<uint8_t> metas;
  for (size_t i = 0; i < count; ++i) {
    size_t at = kRecordHeaderBytes + i * kRecordPartitionBytes;
    PartitionSpec p;
    const char* name = reinterpret_cast<const char*>(rec.data() + at);
    p.name.assign(name, strnlen(name, kMaxPartitionName));
    p.first_sector = Get32(rec, at + 16);
    p.sector_count = Get32(rec, at + 20);
    uint8_t kind = uint8_t(rec[at + 24]);
    if (kind != 1 && kind != 2) corrupt(fmt::format("partition kind {}", kind));
    p.kind = PartitionKind(kind);
    metas.push_back(uint8_t(rec[at + 25]));
    p.max_keys = Get16(rec, at + 26);
    l.partitions.push_back(p);
  }
  for (size_t i = 0; i < count; ++i) {
    if (metas[i] != 0xFF) {
      if (metas[i] >= count) corrupt("meta partition index out of range");
      l.partitions[i].meta = l.partitions[metas[i]].name;
    }
  }
  size_t at = kRecordHeaderBytes + count * kRecordPartitionBytes;
  size_t end = at + names_bytes;
  while (at < end) {
    size_t n = uint8_t(rec[at]);
    if (at + 1 + n > end) corrupt("names table overruns");
    l.key_names.emplace_back(reinterpret_cast<const char*>(rec.data() + at + 1),
                             n);
    at += 1 + n;
  }
  try {
    l.Validate();
  } catch (const Error& e) {
    corrupt(e.what());
  }
  if (l.size_bytes() + total != file.size()) {
    corrupt(
        fmt::format("the file has {} bytes, the record describes {} of "
                    "flash plus {} of record",
                    file.size(), l.size_bytes(), total));
  }
  layout = std::move(l);
  record_bytes = total;
  return RecordState::kValid;
}

}  // namespace cairn::tool
