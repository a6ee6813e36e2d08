// Percentiles and throughput of measured latencies, for `kiln bench`.
#include "kiln/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace kiln {

double percentile(std::vector<double> samples, double q) {
  check(!samples.empty(), ErrorKind::InvalidArgument, "percentile of no samples");
  check(q >= 0 && q <= 100, ErrorKind::InvalidArgument, "percentile ", q, " is outside [0, 100]");
  std::sort(samples.begin(), samples.end());
  double rank = q / 100.0 * double(samples.size() - 1);
  size_t below = size_t(std::floor(rank));
  size_t above = std::min(below + 1, samples.size() - 1);
  double fraction = rank - double(below);
  return samples[below] + fraction * (samples[above] - samples[below]);
}

LatencyStats latency_stats(const std::vector<double>& latencies_ms) {
  check(!latencies_ms.empty(), ErrorKind::InvalidArgument, "no latencies were measured");
  LatencyStats stats;
  stats.count = int64_t(latencies_ms.size());
  auto [min_it, max_it] = std::minmax_element(latencies_ms.begin(), latencies_ms.end());
  stats.min_ms = *min_it;
  stats.max_ms = *max_it;
  stats.median_ms = percentile(latencies_ms, 50);
  stats.p90_ms = percentile(latencies_ms, 90);
  stats.p99_ms = percentile(latencies_ms, 99);
  stats.mean_ms =
      std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / double(latencies_ms.size());
  stats.inferences_per_second = stats.mean_ms > 0 ? 1000.0 / stats.mean_ms : 0.0;
  return stats;
}

}  // namespace kiln
