// CPU reference kernel for Resize, ONNX's semantics: each output index maps to a source
// coordinate by the coordinate transform; nearest rounds it (any dtype: bytes are copied),
// linear blends its two neighbours (float only), one axis after another. Source indices
// outside the input clamp to its edges.
#include <cmath>
#include <string>

#include "backends/cpu/index_map.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"
#include "ir/resize_rules.h"

namespace kiln::cpu {
namespace {

// Where output index `out` of an axis (input size `in`, output size `size`) reads from.
double source_coordinate(const ir::ResizeAttrs& attrs, int64_t out, double scale, int64_t in,
                         int64_t size) {
  const double x = static_cast<double>(out);
  const double length = scale * static_cast<double>(in);  // ONNX's output_width: may be fractional
  const std::string& mode = attrs.coordinates;
  if (mode == "asymmetric") return x / scale;
  if (mode == "align_corners") {
    return length == 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (length - 1.0);
  }
  if (mode == "pytorch_half_pixel") return length > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (mode == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(size) / length;
    const double offset = static_cast<double>(in) / 2.0 * (1.0 - adjustment);
    return offset + (x + 0.5) / scale - 0.5;
  }
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

int64_t clamp_index(int64_t index, int64_t in) {
  return std::min(std::max(index, int64_t{0}), in - 1);
}

// The input index that a nearest resize reads for source coordinate `x`.
int64_t nearest_index(const std::string& mode, double x, int64_t in) {
  const double floor = std::floor(x);
  const double ratio = x - floor;
  auto index = static_cast<int64_t>(floor);
  if (ratio != 0.0) {
    const bool up = mode == "ceil" || (mode == "round_prefer_floor" && ratio > 0.5) ||
                    (mode == "round_prefer_ceil" && ratio >= 0.5);
    if (up) ++index;
  }
  return clamp_index(index, in);
}

struct Tap {
  int64_t low = 0, high = 0;
  double weight = 0.0;  // of `high`; `low` gets 1 - weight
};

// For each output index of one axis, the input elements it reads.
std::vector<Tap> axis_taps(const ir::Node& node, const ir::ResizeAttrs& attrs, size_t axis,
                           int64_t in, int64_t size) {
  check(in > 0 || size == 0, ErrorKind::InvalidArgument, node.describe(), ": axis ", axis,
        " is empty, so there is nothing to resize it to ", size, " elements from");
  std::vector<Tap> taps;
  if (size == 0) return taps;
  const double given = attrs.scales.empty() ? 0.0 : attrs.scales[axis];
  const double scale = given > 0 ? given : static_cast<double>(size) / static_cast<double>(in);
  for (int64_t out = 0; out < size; ++out) {
    const double x = source_coordinate(attrs, out, scale, in, size);
    Tap tap;
    if (!attrs.linear) {
      tap.low = tap.high = nearest_index(attrs.nearest, x, in);
    } else {
      const double floor = std::floor(x);
      tap.low = clamp_index(static_cast<int64_t>(floor), in);
      tap.high = clamp_index(static_cast<int64_t>(floor) + 1, in);
      tap.weight = x - floor;
    }
    taps.push_back(tap);
  }
  return taps;
}

// Whether an axis is left as it is (same size, and a scale of 1 if one is given).
bool unchanged(const ir::ResizeAttrs& attrs, size_t axis, int64_t in, int64_t size) {
  const double given = attrs.scales.empty() ? 0.0 : attrs.scales[axis];
  return in == size && (given == 0.0 || given == 1.0);
}

Tensor resize_nearest(const ir::Node& node, const ir::ResizeAttrs& attrs, const Tensor& x,
                      const Dims& out_dims) {
  std::vector<std::vector<int64_t>> maps(out_dims.size());
  for (size_t d = 0; d < out_dims.size(); ++d) {
    for (const Tap& tap : axis_taps(node, attrs, d, x.dims()[d], out_dims[d]))
      maps[d].push_back(tap.low);
  }
  return gather_by_axis_maps(x, out_dims, maps);
}

// Linear: one axis at a time, in double, over the axes that change.
template <typename T>
Tensor resize_linear(const ir::Node& node, const ir::ResizeAttrs& attrs, const Tensor& x,
                     const Dims& out_dims) {
  Dims dims = x.dims();
  const T* source = x.data<T>();
  std::vector<double> values(source, source + x.numel());
  for (size_t axis = 0; axis < dims.size(); ++axis) {
    const int64_t in = dims[axis], size = out_dims[axis];
    if (unchanged(attrs, axis, in, size)) continue;
    const std::vector<Tap> taps = axis_taps(node, attrs, axis, in, size);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= dims[d];
    for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
    std::vector<double> next(static_cast<size_t>(outer * size * inner));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < size; ++i) {
        const Tap& tap = taps[static_cast<size_t>(i)];
        const double* low = values.data() + (o * in + tap.low) * inner;
        const double* high = values.data() + (o * in + tap.high) * inner;
        double* to = next.data() + (o * size + i) * inner;
        for (int64_t k = 0; k < inner; ++k) {
          to[k] = (1.0 - tap.weight) * low[k] + tap.weight * high[k];
        }
      }
    }
    values = std::move(next);
    dims[axis] = size;
  }
  Tensor out(x.dtype(), out_dims);
  T* result = out.data_mutable<T>();
  for (size_t i = 0; i < values.size(); ++i) result[i] = static_cast<T>(values[i]);
  return out;
}

std::vector<Tensor> resize_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const ir::ResizeAttrs attrs = ir::resize_attrs(node, static_cast<int64_t>(x.dims().size()));
  Dims out_dims;
  for (size_t d = 0; d < x.dims().size(); ++d) {
    out_dims.push_back(ir::resized_dim(attrs, d, x.dims()[d]));
  }
  if (!attrs.linear) return {resize_nearest(node, attrs, x, out_dims)};
  return {visit_float(node, x.dtype(), [&](auto tag) {
    return resize_linear<decltype(tag)>(node, attrs, x, out_dims);
  })};
}

}  // namespace

void register_resize_kernels(KernelMap& map) { map["Resize"] = resize_kernel; }

}  // namespace kiln::cpu
