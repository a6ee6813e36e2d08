// See resize_weights.h.
#include "ir/resize_weights.h"

#include <algorithm>
#include <cmath>

namespace kiln::ir {

std::vector<double> antialiased_resize_weights(int64_t in, int64_t out, double scale, bool cubic,
                                               double cubic_a) {
  double taps = cubic ? 4.0 : 2.0;
  double support = scale >= 1.0 ? taps * 0.5 * scale : taps * 0.5;
  double stretch = scale >= 1.0 ? 1.0 / scale : 1.0;
  auto filter = [cubic, a = cubic_a](double x) {
    x = std::abs(x);
    if (!cubic) return x < 1.0 ? 1.0 - x : 0.0;
    if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
  };
  std::vector<double> matrix(static_cast<size_t>(in * out), 0.0);
  for (int64_t o = 0; o < out; ++o) {
    double center = scale * (static_cast<double>(o) + 0.5);
    // PyTorch truncates toward zero here, then clamps to the input.
    int64_t first = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    int64_t last = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in);
    double total = 0;
    for (int64_t j = first; j < last; ++j) {
      total += filter((static_cast<double>(j) - center + 0.5) * stretch);
    }
    if (total == 0.0) continue;
    for (int64_t j = first; j < last; ++j) {
      double weight = filter((static_cast<double>(j) - center + 0.5) * stretch);
      matrix[static_cast<size_t>(j * out + o)] = weight / total;
    }
  }
  return matrix;
}

}  // namespace kiln::ir
