// check_bench_json: checks that a bench.json written by cairn_bench is
// well-formed: every workload present with exactly its fields, numbers where
// numbers belong, every workload verified, code_size and ram complete.
//
//   check_bench_json PATH [--allow-missing NAME]...
//
// --allow-missing lets a workload be absent if the file lists it under
// "not_run" (the blob workload in a build without the blob store).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

int errors = 0;

void Fail(const std::string& message) {
  std::fprintf(stderr, "check_bench_json: %s\n", message.c_str());
  ++errors;
}

const std::vector<std::string> kCommon = {
    "bytes_programmed", "program_calls",       "erases",
    "erase_min",        "erase_max",           "bytes_read",
    "read_calls",       "write_amplification", "host_seconds",
    "verified",         "worst_op_bytes_read", "worst_op_bytes_programmed",
    "worst_op_erases"};
const std::vector<std::string> kMount = {"mount_bytes_read", "mount_read_calls",
                                         "mount_host_seconds"};
const std::string kPerGet = "bytes_read_per_get";

void CheckWorkload(const std::string& name, const json& w) {
  if (!w.is_object()) return Fail(name + " is not an object");
  std::set<std::string> expected(kCommon.begin(), kCommon.end());
  if (name == "W3" || name == "W6")
    expected.insert(kMount.begin(), kMount.end());
  if (name == "W4" || name == "W6") expected.insert(kPerGet);
  for (const auto& field : expected) {
    if (!w.contains(field)) {
      Fail(name + " lacks " + field);
    } else if (field == "verified") {
      if (!w[field].is_boolean())
        Fail(name + ".verified is not a boolean");
      else if (!w[field].get<bool>())
        Fail(name + " did not verify");
    } else if (!w[field].is_number() || w[field].get<double>() < 0) {
      Fail(name + "." + field + " is not a non-negative number");
    }
  }
  for (const auto& [key, value] : w.items()) {
    if (!expected.count(key)) Fail(name + " has unexpected field " + key);
  }
  if (w.contains("erase_min") && w.contains("erase_max") &&
      w["erase_min"].is_number() && w["erase_max"].is_number() &&
      w["erase_min"].get<double>() > w["erase_max"].get<double>()) {
    Fail(name + ": erase_min > erase_max");
  }
}

void CheckNumbers(const json& doc, const char* object,
                  const std::vector<std::string>& fields) {
  if (!doc.contains(object) || !doc[object].is_object()) {
    return Fail(std::string("missing object ") + object);
  }
  for (const auto& field : fields) {
    const json& o = doc[object];
    if (!o.contains(field) || !o[field].is_number_unsigned()) {
      Fail(std::string(object) + "." + field + " missing or not a count");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: check_bench_json PATH [--allow-missing NAME]...\n");
    return 2;
  }
  std::set<std::string> allow_missing;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) != "--allow-missing") {
      std::fprintf(stderr, "check_bench_json: bad argument %s\n", argv[i]);
      return 2;
    }
    allow_missing.insert(argv[i + 1]);
  }
  std::ifstream file(argv[1]);
  if (!file) {
    std::fprintf(stderr, "check_bench_json: cannot open %s\n", argv[1]);
    return 1;
  }
  json doc = json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::fprintf(stderr, "check_bench_json: %s is not a JSON object\n",
                 argv[1]);
    return 1;
  }
  std::set<std::string> not_run;
  if (doc.contains("not_run") && doc["not_run"].is_array()) {
    for (const auto& n : doc["not_run"]) {
      if (n.is_string()) not_run.insert(n.get<std::string>());
    }
  } else {
    Fail("missing array not_run");
  }
  if (!doc.contains("workloads") || !doc["workloads"].is_object()) {
    Fail("missing object workloads");
  } else {
    const json& workloads = doc["workloads"];
    for (const char* name : {"W1", "W2", "W3", "W4", "W5", "W6"}) {
      if (workloads.contains(name)) {
        CheckWorkload(name, workloads[name]);
      } else if (!(allow_missing.count(name) && not_run.count(name))) {
        Fail(std::string("workload ") + name + " missing");
      } else {
        std::printf("check_bench_json: %s not run in this build (allowed)\n",
                    name);
      }
    }
  }
  CheckNumbers(doc, "code_size",
               {"kvs_text", "blob_text", "text", "data", "bss"});
  CheckNumbers(doc, "ram",
               {"kvs_object_bytes", "index_bytes_per_key", "total_bytes"});
  if (!doc.contains("all_verified") || doc["all_verified"] != true) {
    Fail("all_verified is not true");
  }
  if (errors == 0)
    std::printf("check_bench_json: %s is well-formed\n", argv[1]);
  return errors == 0 ? 0 : 1;
}
