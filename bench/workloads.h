// The standard workloads W1..W6 (see docs/benchmarks.md): each returns the
// flash counters it caused, its host time and whether the data read back
// matched a shadow copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_util.h"

namespace cairn::bench {

struct WorkloadResult {
  std::string name;         // "W1"
  std::string description;  // one line for the table
  bool ran = false;         // false: not available in this build (e.g. blob)
  std::string note;         // why it did not run, or the first error

  // Counters of the measured phase (counters are reset at its start).
  uint64_t bytes_programmed = 0;
  uint64_t program_calls = 0;
  uint64_t erases = 0;  // sectors erased
  uint32_t erase_min = 0;
  uint32_t erase_max = 0;
  uint64_t bytes_read = 0;
  uint64_t read_calls = 0;
  uint64_t value_bytes = 0;  // value bytes the workload wrote
  double host_seconds = 0;
  bool verified = false;
  OpCost worst_op;

  // Writes of the measured phase, and the host time of its update loop only
  // (for the "us per update" figure of the table).
  uint64_t writes = 0;
  uint64_t updates = 0;
  double update_seconds = 0;
  double update_cpu_seconds = 0;  // process CPU time of the same loop

  // W3 and W6: one mount.
  bool has_mount = false;
  uint64_t mount_bytes_read = 0;
  uint64_t mount_read_calls = 0;
  double mount_host_seconds = 0;

  // W4 and W6: random reads.
  bool has_gets = false;
  uint64_t gets = 0;
  uint64_t get_bytes_read = 0;

  double write_amplification() const {
    return value_bytes == 0 ? 0.0
                            : static_cast<double>(bytes_programmed) /
                                  static_cast<double>(value_bytes);
  }
  double bytes_read_per_get() const {
    return gets == 0 ? 0.0
                     : static_cast<double>(get_bytes_read) /
                           static_cast<double>(gets);
  }
};

struct RunConfig {
  bool quick = false;  // fewer updates and reads, for the ctest
  // Test of the runner itself: W1's shadow copy is altered before the final
  // read-back, which must then fail verification.
  bool sabotage = false;
};

// W1 (updates), W3 (mount after W1) and W4 (reads after W1) share a flash,
// so they run together and return three results in that order.
std::vector<WorkloadResult> RunW1W3W4(const RunConfig& config);
WorkloadResult RunW2(const RunConfig& config);
WorkloadResult RunW5(const RunConfig& config);
WorkloadResult RunW6(const RunConfig& config);

// Figures of the W1 configuration on the host.
struct HostRam {
  size_t kvs_object_bytes = 0;     // sizeof(KeyValueStore<32>)
  size_t partition_bytes = 0;      // sizeof(FlashPartition)
  size_t index_bytes_per_key = 0;  // sizeof(IndexEntry)
};
HostRam MeasureHostRam();

}  // namespace cairn::bench
