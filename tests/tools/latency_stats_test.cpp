// Latency statistics for `kiln bench`: percentiles of known vectors against numpy.
#include "kiln/latency_stats.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace kiln {
namespace {

// Expected values from numpy 2.x: np.percentile(v, q) (linear interpolation, the default).
TEST(LatencyStats, PercentilesMatchNumpy) {
  std::vector<double> odd = {7, 1, 3, 10, 2, 5, 4, 9, 6, 8, 100};  // unsorted on purpose
  EXPECT_DOUBLE_EQ(percentile(odd, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(odd, 25), 3.5);
  EXPECT_DOUBLE_EQ(percentile(odd, 50), 6.0);
  EXPECT_DOUBLE_EQ(percentile(odd, 90), 10.0);
  EXPECT_NEAR(percentile(odd, 99), 91.0, 1e-9);
  EXPECT_DOUBLE_EQ(percentile(odd, 100), 100.0);

  std::vector<double> even = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(even, 50), 2.5);
  EXPECT_NEAR(percentile(even, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile(even, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({5.0}, 99), 5.0);
}

TEST(LatencyStats, SummaryAndThroughput) {
  // np.mean([7, 1, 3, 10, 2, 5, 4, 9, 6, 8, 100]) = 14.090909...
  LatencyStats stats = latency_stats({7, 1, 3, 10, 2, 5, 4, 9, 6, 8, 100});
  EXPECT_EQ(stats.count, 11);
  EXPECT_DOUBLE_EQ(stats.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(stats.max_ms, 100.0);
  EXPECT_DOUBLE_EQ(stats.median_ms, 6.0);
  EXPECT_DOUBLE_EQ(stats.p90_ms, 10.0);
  EXPECT_NEAR(stats.p99_ms, 91.0, 1e-9);
  EXPECT_NEAR(stats.mean_ms, 155.0 / 11.0, 1e-12);
  EXPECT_NEAR(stats.inferences_per_second, 1000.0 * 11.0 / 155.0, 1e-9);
}

TEST(LatencyStats, RejectsNoSamplesAndBadPercentiles) {
  EXPECT_THROW(latency_stats({}), Error);
  EXPECT_THROW(percentile({1.0}, 101), Error);
  EXPECT_THROW(percentile({1.0}, -1), Error);
}

}  // namespace
}  // namespace kiln
