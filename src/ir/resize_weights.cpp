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

std::vector<double> resize_source_coordinates(const std::string& mode, int64_t in, int64_t out,
                                              double scale, double resized_length) {
  std::vector<double> sources;
  for (int64_t o = 0; o < out; ++o) {
    double position = static_cast<double>(o);
    double half = (position + 0.5) / scale - 0.5;
    if (mode == "half_pixel") {
      sources.push_back(half);
    } else if (mode == "pytorch_half_pixel") {
      sources.push_back(resized_length > 1 ? half : 0.0);
    } else if (mode == "align_corners") {
      sources.push_back(resized_length == 1 ? 0.0
                                            : position * double(in - 1) / (resized_length - 1));
    } else if (mode == "asymmetric") {
      sources.push_back(position / scale);
    } else if (mode == "half_pixel_symmetric") {
      double adjustment = resized_length / (scale * double(in));
      double center = double(in) / 2;
      sources.push_back(center * (1 - adjustment) + half);
    } else {
      return {};
    }
  }
  return sources;
}

std::vector<double> cubic_resize_weights(int64_t in, const std::vector<double>& sources, double a,
                                         bool exclude_outside) {
  auto near = [a](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };       // |x| <= 1
  auto far = [a](double x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };  // 1 < |x| < 2
  int64_t out = static_cast<int64_t>(sources.size());
  std::vector<double> matrix(static_cast<size_t>(in * out), 0.0);
  for (int64_t o = 0; o < out; ++o) {
    double source = sources[static_cast<size_t>(o)];
    double floor = std::floor(source);
    double t = source - floor;
    double weights[4] = {far(t + 1), near(t), near(1 - t), far(2 - t)};
    double total = 0;
    for (int64_t j = 0; j < 4; ++j) {
      int64_t tap = static_cast<int64_t>(floor) - 1 + j;
      bool outside = tap < 0 || tap >= in;
      if (exclude_outside && outside) weights[j] = 0;
      total += weights[j];
    }
    for (int64_t j = 0; j < 4; ++j) {
      int64_t tap = std::clamp<int64_t>(static_cast<int64_t>(floor) - 1 + j, 0, in - 1);
      double weight = exclude_outside && total != 0 ? weights[j] / total : weights[j];
      matrix[static_cast<size_t>(tap * out + o)] += weight;
    }
  }
  return matrix;
}

}  // namespace kiln::ir
