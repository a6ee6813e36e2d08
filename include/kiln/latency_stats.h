// Summary statistics of per-run latencies for `kiln bench`: min, median, tail percentiles
// and the throughput they imply.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct LatencyStats {
  int64_t count = 0;
  double min_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  double inferences_per_second = 0;  // 1000 / mean_ms: runs back to back
};

// The q-th percentile (0 ≤ q ≤ 100) of `samples`, interpolating linearly between the two
// nearest ranks (as numpy.percentile does by default). Throws InvalidArgument when empty.
double percentile(std::vector<double> samples, double q);

// Statistics of latencies in milliseconds. Throws InvalidArgument when empty.
LatencyStats latency_stats(const std::vector<double>& latencies_ms);

}  // namespace kiln
