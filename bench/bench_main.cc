// cairn_bench: runs the standard workloads W1..W6, prints a table with the
// targets next to the measured figures, and writes bench.json.
//
//   cairn_bench [--quick] [--json PATH] [--markdown PATH] [--NAME=VALUE...]
//
// --sabotage alters W1's shadow copy so that its verification fails (a test
// that failures are caught and reported by the exit status).
// NAME=VALUE carries figures measured outside this program by
// scripts/bench.sh: kvs_text, blob_text, fs_text, text, data, bss (from
// arm-none-eabi-size) and target_kvs_object_bytes, target_partition_bytes,
// target_index_entry_bytes (sizeof on the 32-bit target), kvs_linked_text,
// blob_linked_text, app_text (the minimal firmware of bench/target_app.cc);
// cross=1 says the cross compiler was present. Exit status: 0 if every workload
// that ran verified, 1 otherwise, 2 on a usage error.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "workloads.h"

namespace cairn::bench {
namespace {

constexpr const char* kNumericFlags[] = {
    "kvs_text",
    "blob_text",
    "fs_text",
    "text",
    "data",
    "bss",
    "target_kvs_object_bytes",
    "target_partition_bytes",
    "target_index_entry_bytes",
    "kvs_linked_text",
    "blob_linked_text",
    "app_text",
    "cross",
};

struct Options {
  bool quick = false;
  bool sabotage = false;
  std::string json_path = "bench.json";
  std::string markdown_path;
  std::map<std::string, uint64_t> numbers;
};

bool ParseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--sabotage") {
      options.sabotage = true;
    } else if (arg == "--json" && i + 1 < argc) {
      options.json_path = argv[++i];
    } else if (arg == "--markdown" && i + 1 < argc) {
      options.markdown_path = argv[++i];
    } else if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      const std::string name = arg.substr(2, arg.find('=') - 2);
      const std::string value = arg.substr(arg.find('=') + 1);
      bool known = false;
      for (const char* flag : kNumericFlags) known |= name == flag;
      char* end = nullptr;
      const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
      if (!known || value.empty() || *end != '\0') {
        std::fprintf(stderr, "cairn_bench: bad argument %s\n", arg.c_str());
        return false;
      }
      options.numbers[name] = n;
    } else {
      std::fprintf(stderr,
                   "usage: cairn_bench [--quick] [--json PATH] "
                   "[--markdown PATH] [--NAME=VALUE...]\n");
      return false;
    }
  }
  return true;
}

std::string Fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

// ---- code size and RAM -------------------------------------------------

struct CodeSize {
  bool measured = false;
  uint64_t kvs_text = 0, blob_text = 0, fs_text = 0, text = 0, data = 0,
           bss = 0;
  // From the minimal firmware of bench/target_app.cc (0: not linked).
  uint64_t kvs_linked_text = 0, blob_linked_text = 0, app_text = 0;
};

struct Ram {
  HostRam host;
  bool target_measured = false;
  uint64_t target_kvs_object_bytes = 0;
  uint64_t target_partition_bytes = 0;
  uint64_t target_index_entry_bytes = 0;
  uint64_t host_total() const {
    return host.kvs_object_bytes + host.partition_bytes;
  }
  uint64_t target_total() const {
    return target_kvs_object_bytes + target_partition_bytes;
  }
};

// ---- targets ------------------------------------------------------------

enum class Verdict { kPass, kFail, kNotMeasured };

struct Target {
  std::string what;
  std::string limit;
  std::string measured;
  Verdict verdict = Verdict::kNotMeasured;
  std::string note;
};

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kNotMeasured:
      break;
  }
  return "n/a";
}

const WorkloadResult* Find(const std::vector<WorkloadResult>& results,
                           const char* name) {
  for (const auto& r : results) {
    if (r.name == name && r.ran) return &r;
  }
  return nullptr;
}

std::vector<Target> EvaluateTargets(const std::vector<WorkloadResult>& results,
                                    const CodeSize& code, const Ram& ram,
                                    bool quick) {
  std::vector<Target> targets;
  // A target on a workload is only judged if the workload ran to the end
  // (verified); `full_only` ones are not comparable in quick mode.
  auto add = [&](const char* workload, std::string what, double limit,
                 int digits, bool full_only, auto measure) {
    Target t;
    t.what = std::string(workload) + " " + what;
    t.limit = "<= " + Fixed(limit, digits);
    const WorkloadResult* r = Find(results, workload);
    if (r == nullptr) {
      t.note = "did not run";
    } else if (!r->verified) {
      t.note = "workload failed";
    } else if (full_only && quick) {
      t.note = "quick mode";
    } else {
      const double value = measure(*r);
      t.measured = Fixed(value, digits);
      t.verdict = value <= limit ? Verdict::kPass : Verdict::kFail;
    }
    targets.push_back(t);
  };
  using R = const WorkloadResult&;
  add("W1", "write amplification", 1.51, 4, false,
      [](R r) { return r.write_amplification(); });
  add("W1", "sector erases", 60, 0, true,
      [](R r) { return static_cast<double>(r.erases); });
  add("W1", "erase spread (max-min)", 1, 0, true,
      [](R r) { return static_cast<double>(r.erase_max - r.erase_min); });
  add("W1", "worst Put bytes read", 4400, 0, false,
      [](R r) { return static_cast<double>(r.worst_op.bytes_read); });
  add("W2", "write amplification", 1.08, 4, false,
      [](R r) { return r.write_amplification(); });
  add("W3", "mount bytes read", 22000, 0, false,
      [](R r) { return static_cast<double>(r.mount_bytes_read); });
  add("W3", "mount read calls (sectors x 4)", 64, 0, false,
      [](R r) { return static_cast<double>(r.mount_read_calls); });
  add("W4", "bytes read per Get", 24, 2, false,
      [](R r) { return r.bytes_read_per_get(); });
  add("W5", "write amplification", 1.01, 4, false,
      [](R r) { return r.write_amplification(); });
  add("W6", "worst Put bytes read", 4400, 0, false,
      [](R r) { return static_cast<double>(r.worst_op.bytes_read); });
  add("W6", "bytes read per Get", 40, 2, false,
      [](R r) { return r.bytes_read_per_get(); });

  auto add_size = [&](std::string what, uint64_t value, uint64_t limit) {
    Target t;
    t.what = what;
    t.limit = "<= " + std::to_string(limit);
    if (code.measured) {
      t.measured = std::to_string(value);
      t.verdict = value <= limit ? Verdict::kPass : Verdict::kFail;
    } else {
      t.note = "no cross compiler";
    }
    targets.push_back(t);
  };
  add_size("KVS text (Cortex-M4, -Os)", code.kvs_text, 4096);
  add_size("blob text (Cortex-M4, -Os)", code.blob_text, 3072);

  Target t;
  t.what = "W1 RAM: store + partition (8 B/key + 64 B)";
  t.limit = "<= " + std::to_string(32 * 8 + 64);
  const uint64_t total =
      ram.target_measured ? ram.target_total() : ram.host_total();
  t.measured = std::to_string(total);
  t.note = ram.target_measured ? "32-bit target" : "host (64-bit) figure";
  t.verdict = total <= 32 * 8 + 64 ? Verdict::kPass : Verdict::kFail;
  targets.push_back(t);
  return targets;
}

// ---- output -------------------------------------------------------------

// Rows of cells printed as a Markdown table with padded columns (readable
// in a terminal as is).
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& row) {
    out << "|";
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      out << " " << cell << std::string(width[c] - cell.size(), ' ') << " |";
    }
    out << "\n";
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    line(rows[i]);
    if (i == 0) {
      out << "|";
      for (size_t w : width) out << std::string(w + 2, '-') << "|";
      out << "\n";
    }
  }
  return out.str();
}

std::string Report(const std::vector<WorkloadResult>& results,
                   const std::vector<Target>& targets, const CodeSize& code,
                   const Ram& ram, bool quick) {
  std::ostringstream out;
  out << "Workloads ("
      << (quick ? "QUICK mode: fewer updates and reads" : "full")
      << "), counters after formatting:\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"workload", "bytes programmed", "program calls", "erases (min..max)",
       "bytes read", "read calls", "WA", "worst op read/prog/erase", "host s",
       "verified"}};
  for (const auto& r : results) {
    if (!r.ran) {
      rows.push_back({r.name, "-", "-", "-", "-", "-", "-", "-", "-",
                      "not run: " + r.note});
      continue;
    }
    rows.push_back(
        {r.name, std::to_string(r.bytes_programmed),
         std::to_string(r.program_calls),
         std::to_string(r.erases) + " (" + std::to_string(r.erase_min) + ".." +
             std::to_string(r.erase_max) + ")",
         std::to_string(r.bytes_read), std::to_string(r.read_calls),
         r.value_bytes == 0 ? "-" : Fixed(r.write_amplification(), 4),
         std::to_string(r.worst_op.bytes_read) + "/" +
             std::to_string(r.worst_op.bytes_programmed) + "/" +
             std::to_string(r.worst_op.erases),
         Fixed(r.host_seconds, 4),
         r.verified ? "yes" : "NO" + (r.note.empty() ? "" : ": " + r.note)});
  }
  out << Table(rows) << "\n";

  std::vector<std::vector<std::string>> extra = {{"figure", "value"}};
  for (const auto& r : results) {
    if (!r.ran) continue;
    if (r.updates > 0) {
      const double n = static_cast<double>(r.updates);
      extra.push_back({r.name + " host us per update (wall / CPU)",
                       Fixed(r.update_seconds * 1e6 / n, 3) + " / " +
                           Fixed(r.update_cpu_seconds * 1e6 / n, 3)});
    }
    if (r.has_mount) {
      extra.push_back({r.name + " mount: bytes read / read calls / host ms",
                       std::to_string(r.mount_bytes_read) + " / " +
                           std::to_string(r.mount_read_calls) + " / " +
                           Fixed(r.mount_host_seconds * 1e3, 3)});
    }
    if (r.has_gets) {
      extra.push_back(
          {r.name + " bytes read per Get (" + std::to_string(r.gets) + " Gets)",
           Fixed(r.bytes_read_per_get(), 2)});
    }
  }
  if (code.measured) {
    extra.push_back({"code size text: kvs / blob / fs / library total",
                     std::to_string(code.kvs_text) + " / " +
                         std::to_string(code.blob_text) + " / " +
                         std::to_string(code.fs_text) + " / " +
                         std::to_string(code.text)});
    extra.push_back({"linked firmware (target_app.cc): kvs / blob / image text",
                     std::to_string(code.kvs_linked_text) + " / " +
                         std::to_string(code.blob_linked_text) + " / " +
                         std::to_string(code.app_text)});
    extra.push_back(
        {"code size data / bss (library)",
         std::to_string(code.data) + " / " + std::to_string(code.bss)});
  } else {
    extra.push_back({"code size", "not measured (no cross compiler)"});
  }
  extra.push_back({"RAM host: KeyValueStore<32> + FlashPartition",
                   std::to_string(ram.host.kvs_object_bytes) + " + " +
                       std::to_string(ram.host.partition_bytes) + " = " +
                       std::to_string(ram.host_total())});
  if (ram.target_measured) {
    extra.push_back({"RAM Cortex-M4: KeyValueStore<32> + FlashPartition",
                     std::to_string(ram.target_kvs_object_bytes) + " + " +
                         std::to_string(ram.target_partition_bytes) + " = " +
                         std::to_string(ram.target_total())});
  }
  extra.push_back(
      {"index bytes per key", std::to_string(ram.host.index_bytes_per_key)});
  out << Table(extra) << "\n";

  std::vector<std::vector<std::string>> trows = {
      {"target", "limit", "measured", "result"}};
  for (const auto& t : targets) {
    trows.push_back({t.what, t.limit, t.measured.empty() ? "-" : t.measured,
                     std::string(VerdictName(t.verdict)) +
                         (t.note.empty() ? "" : " (" + t.note + ")")});
  }
  out << "Targets:\n\n" << Table(trows);
  return out.str();
}

// Minimal JSON writer: nested objects and arrays of numbers, strings and
// booleans, two spaces of indentation per level.
class Json {
 public:
  void Open(const std::string& key = "") { Begin(key, '{'); }
  void Close() { End('}'); }
  void OpenArray(const std::string& key) { Begin(key, '['); }
  void CloseArray() { End(']'); }
  void Number(const std::string& key, uint64_t value) {
    Key(key);
    out_ << value;
  }
  void Real(const std::string& key, double value) {
    Key(key);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.9g", value);
    out_ << buffer;
  }
  void Bool(const std::string& key, bool value) {
    Key(key);
    out_ << (value ? "true" : "false");
  }
  void String(const std::string& key, const std::string& value) {
    Key(key);
    out_ << "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') {
        out_ << '\\' << c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
        out_ << buffer;
      } else {
        out_ << c;
      }
    }
    out_ << "\"";
  }
  std::string str() const { return out_.str(); }

 private:
  void Begin(const std::string& key, char bracket) {
    Key(key);
    out_ << bracket;
    ++depth_;
    first_ = true;
  }
  void End(char bracket) {
    --depth_;
    if (!first_) out_ << "\n" << std::string(2 * depth_, ' ');
    out_ << bracket;
    first_ = false;
  }
  void Key(const std::string& key) {
    if (depth_ > 0) {
      if (!first_) out_ << ",";
      out_ << "\n" << std::string(2 * depth_, ' ');
    }
    first_ = false;
    if (!key.empty()) out_ << "\"" << key << "\": ";
  }
  std::ostringstream out_;
  bool first_ = true;
  int depth_ = 0;
};

std::string ToJson(const std::vector<WorkloadResult>& results,
                   const std::vector<Target>& targets, const CodeSize& code,
                   const Ram& ram, bool quick, bool all_verified) {
  Json j;
  j.Open();
  j.Number("schema", 1);
  j.String("mode", quick ? "quick" : "full");
  j.Open("geometry");
  j.Number("sector_size", 4096);
  j.Number("sector_count", 16);
  j.Number("alignment", 4);
  j.Number("erased_value", 255);
  j.Close();
  j.Open("workloads");
  for (const auto& r : results) {
    if (!r.ran) continue;
    j.Open(r.name);
    j.Number("bytes_programmed", r.bytes_programmed);
    j.Number("program_calls", r.program_calls);
    j.Number("erases", r.erases);
    j.Number("erase_min", r.erase_min);
    j.Number("erase_max", r.erase_max);
    j.Number("bytes_read", r.bytes_read);
    j.Number("read_calls", r.read_calls);
    j.Real("write_amplification", r.write_amplification());
    j.Real("host_seconds", r.host_seconds);
    j.Bool("verified", r.verified);
    j.Number("worst_op_bytes_read", r.worst_op.bytes_read);
    j.Number("worst_op_bytes_programmed", r.worst_op.bytes_programmed);
    j.Number("worst_op_erases", r.worst_op.erases);
    if (r.has_mount) {
      j.Number("mount_bytes_read", r.mount_bytes_read);
      j.Number("mount_read_calls", r.mount_read_calls);
      j.Real("mount_host_seconds", r.mount_host_seconds);
    }
    if (r.has_gets) j.Real("bytes_read_per_get", r.bytes_read_per_get());
    j.Close();
  }
  j.Close();
  j.OpenArray("not_run");
  for (const auto& r : results) {
    if (!r.ran) j.String("", r.name);
  }
  j.CloseArray();
  j.Open("code_size");
  j.Bool("measured", code.measured);
  j.Number("kvs_text", code.kvs_text);
  j.Number("blob_text", code.blob_text);
  j.Number("fs_text", code.fs_text);
  j.Number("text", code.text);
  j.Number("data", code.data);
  j.Number("bss", code.bss);
  j.Bool("blob_text_includes_fs", false);
  j.Number("kvs_linked_text", code.kvs_linked_text);
  j.Number("blob_linked_text", code.blob_linked_text);
  j.Number("app_text", code.app_text);
  j.Close();
  j.Open("ram");
  j.Number("kvs_object_bytes", ram.host.kvs_object_bytes);
  j.Number("index_bytes_per_key", ram.host.index_bytes_per_key);
  j.Number("partition_object_bytes", ram.host.partition_bytes);
  j.Number("total_bytes", ram.host_total());
  j.Bool("target_measured", ram.target_measured);
  j.Number("target_kvs_object_bytes", ram.target_kvs_object_bytes);
  j.Number("target_index_bytes_per_key", ram.target_index_entry_bytes);
  j.Number("target_partition_object_bytes", ram.target_partition_bytes);
  j.Number("target_total_bytes", ram.target_total());
  j.Close();
  j.OpenArray("targets");
  for (const auto& t : targets) {
    j.Open();
    j.String("what", t.what);
    j.String("limit", t.limit);
    j.String("measured", t.measured);
    j.String("result", VerdictName(t.verdict));
    j.Close();
  }
  j.CloseArray();
  j.Bool("all_verified", all_verified);
  j.Close();
  return j.str() + "\n";
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    std::fprintf(stderr, "cairn_bench: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, options)) return 2;
  RunConfig config;
  config.quick = options.quick;
  config.sabotage = options.sabotage;

  std::vector<WorkloadResult> results = RunW1W3W4(config);
  results.insert(results.begin() + 1, RunW2(config));
  results.push_back(RunW5(config));
  results.push_back(RunW6(config));

  auto number = [&](const char* name) {
    auto it = options.numbers.find(name);
    return it == options.numbers.end() ? 0 : it->second;
  };
  CodeSize code;
  code.measured = number("cross") != 0;
  code.kvs_text = number("kvs_text");
  code.blob_text = number("blob_text");
  code.fs_text = number("fs_text");
  code.text = number("text");
  code.data = number("data");
  code.bss = number("bss");
  code.kvs_linked_text = number("kvs_linked_text");
  code.blob_linked_text = number("blob_linked_text");
  code.app_text = number("app_text");
  Ram ram;
  ram.host = MeasureHostRam();
  ram.target_kvs_object_bytes = number("target_kvs_object_bytes");
  ram.target_partition_bytes = number("target_partition_bytes");
  ram.target_index_entry_bytes = number("target_index_entry_bytes");
  ram.target_measured = ram.target_kvs_object_bytes != 0;

  bool all_verified = true;
  for (const auto& r : results) all_verified &= !r.ran || r.verified;

  const auto targets = EvaluateTargets(results, code, ram, options.quick);
  const std::string report = Report(results, targets, code, ram, options.quick);
  std::fputs(report.c_str(), stdout);
  bool written = WriteFile(
      options.json_path,
      ToJson(results, targets, code, ram, options.quick, all_verified));
  if (!options.markdown_path.empty()) {
    written &= WriteFile(options.markdown_path, report);
  }
  if (!all_verified) {
    std::fprintf(stderr, "cairn_bench: a workload failed verification\n");
    return 1;
  }
  return written ? 0 : 1;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
