// cairn kv put|get|del|ls|import|export
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "csv.h"
#include "scan.h"

namespace cairn::tool {
namespace {

// A Batch whose operations live in a vector (the tool may use the heap).
class VectorBatch : public kvs::BatchBase {
 public:
  explicit VectorBatch(std::span<kvs::BatchOp> ops) : BatchBase(ops) {}
};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHexNumber(std::string_view s) {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string KeyLabel(kvs::Key key) { return fmt::format("0x{:08x}", key); }

struct Mounted {
  std::unique_ptr<Image> image;
  const PartitionSpec* spec;
  std::unique_ptr<KvsHandle> kvs;
};

Mounted MountKvs(const std::string& path, const ImageOptions& options,
                 const std::string& partition, bool for_write, bool force) {
  Mounted m;
  m.image = Image::Load(path, options);
  m.spec = &m.image->Partition(partition, PartitionKind::kKvs);
  if (for_write) RefuseIfDamaged(*m.image, *m.spec, force);
  m.kvs = std::make_unique<KvsHandle>(*m.image, *m.spec);
  Status s = m.kvs->Init();
  if (!s.ok()) {
    if (s.IsFailedPrecondition()) {
      throw Error(kExitNotImage,
                  fmt::format("partition '{}' of '{}' does not hold a cairn "
                              "key-value store (foreign data or wrong "
                              "geometry)",
                              m.spec->name, path));
    }
    if (s.IsResourceExhausted()) {
      throw Error(kExitNoSpace,
                  fmt::format("partition '{}' holds more keys than its index "
                              "of {} (max_keys)",
                              m.spec->name, m.kvs->store().max_size()));
    }
    Fail(s, fmt::format("cannot mount kvs partition '{}'", m.spec->name));
  }
  return m;
}

void CheckPutStatus(Status s, const Mounted& m, const std::string& what,
                    size_t value_size) {
  if (s.ok()) return;
  if (s.IsResourceExhausted()) {
    throw Error(kExitNoSpace,
                fmt::format("{}: partition '{}' is full ({} keys of {}; "
                            "{} free bytes)",
                            what, m.spec->name, m.kvs->store().size(),
                            m.kvs->store().max_size(),
                            m.kvs->store().GetStats().free_bytes));
  }
  if (s.IsInvalidArgument()) {
    throw Error(kExitNoSpace,
                fmt::format("{}: value of {} bytes is larger than the {} "
                            "bytes an entry of '{}' can hold",
                            what, value_size, m.kvs->store().max_value_size(),
                            m.spec->name));
  }
  Fail(s, what);
}

Bytes ValueFromArgs(const KvValueArgs& v) {
  int given = int(v.text.has_value()) + int(v.hex.has_value()) +
              int(v.file.has_value()) + int(v.typed.has_value());
  if (given != 1) {
    throw Error(kExitUsage,
                "give exactly one value: VALUE, --hex, --file or one of "
                "--u8..--i64");
  }
  if (v.text) return FromString(*v.text);
  if (v.hex) return FromHex(*v.hex);
  if (v.file) return ReadFile(*v.file);
  return EncodeTyped(v.type, *v.typed);
}

// A value of a provisioning CSV row.
Bytes ValueFromCsv(std::string type, std::string encoding,
                   const std::string& value, const std::string& csv_dir,
                   const std::string& where) {
  type = Lower(type);
  encoding = Lower(encoding);
  auto decode = [&](const std::string& enc, std::string_view text) -> Bytes {
    if (IsIntegerType(enc)) return EncodeTyped(enc, text);
    if (enc == "string") return FromString(text);
    if (enc == "hex" || enc == "hex2bin") return FromHex(text);
    if (enc == "base64") return FromBase64(text);
    if (enc == "binary" || enc.empty()) return FromString(text);
    throw Error(kExitBadInput,
                fmt::format("{}: unknown encoding '{}' (u8..i64, string, hex, "
                            "base64, binary)",
                            where, enc));
  };
  try {
    if (type == "namespace") {
      throw Error(kExitBadInput,
                  fmt::format("{}: namespace rows are not supported (cairn "
                              "keys are flat; put the namespace in the key "
                              "name)",
                              where));
    }
    if (type == "file") {
      std::filesystem::path p(value);
      if (p.is_relative()) p = std::filesystem::path(csv_dir) / p;
      Bytes content = ReadFile(p.string());
      if (encoding.empty() || encoding == "binary") return content;
      return decode(encoding, AsString(content));
    }
    if (type == "data") {
      if (encoding.empty() || encoding == "binary") {
        throw Error(kExitBadInput,
                    fmt::format("{}: data rows need an encoding (u8..i64, "
                                "string, hex, base64)",
                                where));
      }
      return decode(encoding, value);
    }
    if (IsIntegerType(type) || type == "string" || type == "hex" ||
        type == "hex2bin" || type == "base64") {
      if (!encoding.empty() && encoding != type) {
        throw Error(kExitBadInput,
                    fmt::format("{}: type '{}' with encoding '{}'", where, type,
                                encoding));
      }
      return decode(type, value);
    }
    throw Error(kExitBadInput,
                fmt::format("{}: unknown type '{}' (data, file, u8..i64, "
                            "string, hex, base64)",
                            where, type));
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw Error(e.code(), fmt::format("{}: {}", where, msg));
  }
}

}  // namespace

kvs::Key ParseKey(const std::string& text, std::string* name) {
  std::string t = Trim(text);
  if (t.rfind("name:", 0) == 0) {
    t = t.substr(5);
  } else if (AllDigits(t) || IsHexNumber(t)) {
    if (name) name->clear();
    return kvs::Key(ParseUnsigned(t, 0xFFFFFFFFu, "key", kExitBadInput));
  }
  if (t.empty()) throw Error(kExitBadInput, "empty key");
  if (t.size() > 255) {
    throw Error(kExitBadInput, "key name longer than 255 characters");
  }
  if (name) *name = t;
  return kvs::KeyFromName(t);
}

int CmdKvPut(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key_text,
             const KvValueArgs& value_args, bool force) {
  std::string name;
  kvs::Key key = ParseKey(key_text, &name);
  Bytes value = ValueFromArgs(value_args);
  Mounted m = MountKvs(path, options, partition, true, force);
  if (value.size() > m.kvs->store().max_value_size()) {
    CheckPutStatus(Status::InvalidArgument(), m,
                   fmt::format("put {}", key_text), value.size());
  }
  CheckPutStatus(m.kvs->store().Put(key, value), m,
                 fmt::format("put {}", key_text), value.size());
  m.image->AddKeyName(name);
  m.image->Save(path);
  fmt::print("{} {}{} = {} bytes in '{}'\n", "put", KeyLabel(key),
             name.empty() ? "" : " (" + name + ")", value.size(), m.spec->name);
  return kExitOk;
}

int CmdKvGet(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key_text,
             bool hex, const std::string& as_type) {
  kvs::Key key = ParseKey(key_text, nullptr);
  Mounted m = MountKvs(path, options, partition, false, false);
  Bytes value;
  Status s = m.kvs->TryGet(key, value);
  if (s.IsNotFound()) {
    throw Error(kExitNotFound,
                fmt::format("key {} ({}) not found in '{}'", key_text,
                            KeyLabel(key), m.spec->name));
  }
  if (s.IsDataLoss()) {
    throw Error(kExitDataLoss,
                fmt::format("key {} ({}) in '{}' is corrupt (checksum "
                            "mismatch): its value is lost",
                            key_text, KeyLabel(key), m.spec->name));
  }
  if (!s.ok()) Fail(s, fmt::format("get {}", key_text));
  if (!as_type.empty()) {
    std::string t = Lower(as_type);
    if (t == "string") {
      fmt::print("{}\n", AsString(value));
    } else if (t == "hex") {
      fmt::print("{}\n", ToHex(value));
    } else if (t == "base64") {
      fmt::print("{}\n", ToBase64(value));
    } else {
      fmt::print("{}\n", DecodeTyped(t, value));
    }
  } else if (hex) {
    fmt::print("{}\n", ToHex(value));
  } else {
    std::fwrite(value.data(), 1, value.size(), stdout);
  }
  std::fflush(stdout);
  return kExitOk;
}

int CmdKvDel(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key_text,
             bool force) {
  kvs::Key key = ParseKey(key_text, nullptr);
  Mounted m = MountKvs(path, options, partition, true, force);
  Status s = m.kvs->store().Delete(key);
  if (s.IsNotFound()) {
    throw Error(kExitNotFound,
                fmt::format("key {} ({}) not found in '{}'", key_text,
                            KeyLabel(key), m.spec->name));
  }
  CheckPutStatus(s, m, fmt::format("del {}", key_text), 0);
  m.image->Save(path);
  fmt::print("deleted {}\n", KeyLabel(key));
  return kExitOk;
}

int CmdKvLs(const std::string& path, const ImageOptions& options,
            const std::string& partition, bool json) {
  Mounted m = MountKvs(path, options, partition, false, false);
  nlohmann::json out = nlohmann::json::array();
  struct Row {
    std::string key, name, size, preview;
  };
  std::vector<Row> rows;
  bool lost = false;
  for (kvs::Key key : m.kvs->Keys()) {
    Bytes value;
    Status s = m.kvs->TryGet(key, value);
    std::string name = m.image->NameOf(key);
    nlohmann::json j;
    j["key"] = KeyLabel(key);
    j["name"] = name.empty() ? nlohmann::json() : nlohmann::json(name);
    if (s.ok()) {
      j["size"] = value.size();
      j["hex"] = ToHex(value);
      if (IsPrintable(value)) j["text"] = AsString(value);
      rows.push_back({KeyLabel(key), name.empty() ? "-" : name,
                      std::to_string(value.size()), Preview(value)});
    } else {
      lost = lost || s.IsDataLoss();
      j["size"] = nullptr;
      j["error"] = s.str();
      rows.push_back({KeyLabel(key), name.empty() ? "-" : name, "?",
                      fmt::format("<{}>", s.str())});
    }
    out.push_back(j);
  }
  if (json) {
    fmt::print("{}\n", out.dump(2));
  } else {
    size_t wn = 4;
    for (const Row& r : rows) wn = std::max(wn, r.name.size());
    fmt::print("{:<10}  {:<{}}  {:>6}  {}\n", "KEY", "NAME", wn, "SIZE",
               "VALUE");
    for (const Row& r : rows) {
      fmt::print("{:<10}  {:<{}}  {:>6}  {}\n", r.key, r.name, wn, r.size,
                 r.preview);
    }
    kvs::Stats st = m.kvs->store().GetStats();
    fmt::print("{} keys in '{}'; {} live, {} reclaimable, {} free\n",
               rows.size(), m.spec->name, HumanBytes(st.live_bytes),
               HumanBytes(st.reclaimable_bytes), HumanBytes(st.free_bytes));
  }
  return lost ? kExitDataLoss : kExitOk;
}

int CmdKvImport(const std::string& path, const ImageOptions& options,
                const std::string& partition, const std::string& csv_path,
                bool non_atomic, bool force) {
  std::string text = AsString(ReadFile(csv_path));
  std::vector<CsvRow> rows = ParseCsv(text, csv_path);
  std::filesystem::path parent = std::filesystem::path(csv_path).parent_path();
  const std::string dir =
      parent.empty() ? std::string(1, '.') : parent.string();
  struct Item {
    size_t line;
    kvs::Key key;
    std::string name;
    Bytes value;
  };
  std::vector<Item> items;
  std::map<kvs::Key, size_t> seen;
  for (size_t r = 0; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    std::string where = fmt::format("{}:{}", csv_path, row.line);
    if (r == 0 && Lower(Trim(row.fields[0])) == "key") continue;  // header
    if (row.fields.size() != 4) {
      throw Error(kExitBadInput,
                  fmt::format("{}: expected 4 fields key,type,encoding,value; "
                              "found {}",
                              where, row.fields.size()));
    }
    Item item;
    item.line = row.line;
    try {
      item.key = ParseKey(row.fields[0], &item.name);
    } catch (const Error& e) {
      throw Error(e.code(), fmt::format("{}: {}", where, e.what()));
    }
    item.value =
        ValueFromCsv(row.fields[1], row.fields[2], row.fields[3], dir, where);
    auto [it, fresh] = seen.emplace(item.key, row.line);
    if (!fresh) {
      throw Error(kExitBadInput,
                  fmt::format("{}: key {} already set on line {}", where,
                              row.fields[0], it->second));
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) {
    throw Error(kExitBadInput, fmt::format("{}: no entries", csv_path));
  }
  Mounted m = MountKvs(path, options, partition, true, force);
  kvs::Store& store = m.kvs->store();
  for (const Item& item : items) {
    if (item.value.size() > store.max_value_size()) {
      throw Error(kExitNoSpace,
                  fmt::format("{}:{}: value of {} bytes is larger than the {} "
                              "bytes an entry of '{}' can hold",
                              csv_path, item.line, item.value.size(),
                              store.max_value_size(), m.spec->name));
    }
  }
  if (non_atomic) {
    for (const Item& item : items) {
      CheckPutStatus(store.Put(item.key, item.value), m,
                     fmt::format("{}:{}", csv_path, item.line),
                     item.value.size());
    }
  } else {
    std::vector<kvs::BatchOp> ops(items.size());
    VectorBatch batch(ops);
    for (const Item& item : items)
      batch.Put(item.key, item.value).IgnoreError();
    Status s = store.Commit(batch);
    if (s.IsInvalidArgument()) {
      size_t total = 0;
      for (const Item& item : items) total += item.value.size();
      throw Error(
          kExitNoSpace,
          fmt::format("{}: {} entries ({} value bytes) do not fit one "
                      "atomic batch (at most {} flash bytes); split "
                      "the CSV or pass --no-atomic",
                      csv_path, items.size(), total, store.max_batch_bytes()));
    }
    CheckPutStatus(s, m, fmt::format("import {}", csv_path), 0);
  }
  for (const Item& item : items) m.image->AddKeyName(item.name);
  m.image->Save(path);
  fmt::print("imported {} entries into '{}'{}\n", items.size(), m.spec->name,
             non_atomic ? "" : " (one atomic batch)");
  return kExitOk;
}

int CmdKvExport(const std::string& path, const ImageOptions& options,
                const std::string& partition, bool json,
                const std::string& out_path) {
  Mounted m = MountKvs(path, options, partition, false, false);
  std::string out;
  bool lost = false;
  nlohmann::json j = nlohmann::json::array();
  if (!json) out = "key,type,encoding,value\n";
  for (kvs::Key key : m.kvs->Keys()) {
    Bytes value;
    Status s = m.kvs->TryGet(key, value);
    std::string name = m.image->NameOf(key);
    if (!s.ok()) {
      lost = true;
      fmt::print(stderr, "cairn: skipping key {}: {}\n", KeyLabel(key),
                 s.str());
      continue;
    }
    if (json) {
      nlohmann::json e;
      e["key"] = KeyLabel(key);
      e["name"] = name.empty() ? nlohmann::json() : nlohmann::json(name);
      e["size"] = value.size();
      e["hex"] = ToHex(value);
      if (IsPrintable(value)) e["text"] = AsString(value);
      j.push_back(e);
    } else {
      // Names that look like numbers need the name: prefix to round-trip.
      std::string k = name.empty() ? KeyLabel(key) : name;
      if (!name.empty() && (AllDigits(name) || IsHexNumber(name) ||
                            name.rfind("name:", 0) == 0)) {
        k = "name:" + name;
      }
      bool text = IsPrintable(value);
      out +=
          fmt::format("{},data,{},{}\n", CsvField(k), text ? "string" : "hex",
                      CsvField(text ? AsString(value) : ToHex(value)));
    }
  }
  if (json) out = j.dump(2) + "\n";
  if (out_path.empty() || out_path == "-") {
    fmt::print("{}", out);
  } else {
    WriteFileAtomic(out_path, FromString(out));
  }
  return lost ? kExitDataLoss : kExitOk;
}

}  // namespace cairn::tool
