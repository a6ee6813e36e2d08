// Slice (with ONNX's clamping of starts and ends, negative steps included) and Gather (with
// negative indices wrapping and out-of-range indices reported). Both move bytes, any dtype.
#include "backends/cpu/slice_gather.h"

#include <algorithm>
#include <cstring>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/kernel_util.h"

namespace kiln::cpu {
namespace {

struct AxisSlice {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};

// ONNX clamping: negative starts/ends count from the end; then starts and ends are clamped
// to [0, dim] for positive steps and to [0, dim - 1] / [-1, dim - 1] for negative ones.
AxisSlice clamp_slice(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;  // cannot overflow: start < 0 and dim >= 0
  if (end < 0) end += dim;
  AxisSlice slice;
  slice.step = step;
  if (step > 0) {
    slice.start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end > slice.start) {
      slice.count = 1 + static_cast<int64_t>(static_cast<uint64_t>(end - slice.start - 1) /
                                             static_cast<uint64_t>(step));
    }
  } else if (dim > 0) {
    slice.start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    // The magnitude of the step in unsigned arithmetic, so that INT64_MIN does not overflow.
    const uint64_t magnitude = uint64_t{0} - static_cast<uint64_t>(step);
    if (slice.start > end) {
      slice.count =
          1 + static_cast<int64_t>(static_cast<uint64_t>(slice.start - end - 1) / magnitude);
    }
  }
  return slice;
}

}  // namespace

std::vector<Tensor> slice_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = required_input(node, inputs, 0);
  const std::vector<int64_t> starts = int_values(node, required_input(node, inputs, 1), "starts");
  const std::vector<int64_t> ends = int_values(node, required_input(node, inputs, 2), "ends");
  const Tensor* axes_input = optional_input(inputs, 3);
  const Tensor* steps_input = optional_input(inputs, 4);
  std::vector<int64_t> axes(starts.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
  if (axes_input) axes = int_values(node, *axes_input, "axes");
  const std::vector<int64_t> steps = steps_input ? int_values(node, *steps_input, "steps")
                                                 : std::vector<int64_t>(starts.size(), 1);
  check(
      ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
      ErrorKind::InvalidArgument, node.describe(), ": starts, ends, axes and steps have ",
      starts.size(), ", ", ends.size(), ", ", axes.size(), " and ", steps.size(),
      " values; they must have the same count");
  node_axes(node, axes, data.rank());  // rejects out-of-range and repeated axes

  const Strides dense = contiguous_strides(data.dims());
  Dims out_dims = data.dims();
  Strides strides = dense;
  int64_t base = 0;
  for (size_t i = 0; i < axes.size(); ++i) {
    check(steps[i] != 0, ErrorKind::InvalidArgument, node.describe(), ": a step is 0");
    const size_t axis = static_cast<size_t>(node_axis(node, axes[i], data.rank()));
    const AxisSlice slice = clamp_slice(starts[i], ends[i], steps[i], data.dims()[axis]);
    out_dims[axis] = slice.count;
    if (slice.count == 0) continue;
    // With two or more elements |step| < dim, so the product cannot overflow.
    strides[axis] = slice.count == 1 ? 0 : dense[axis] * slice.step;
    base += slice.start * dense[axis];
  }
  return {strided_copy(data, out_dims, strides, base)};
}

std::vector<Tensor> gather_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = required_input(node, inputs, 0);
  const Tensor& indices_tensor = required_input(node, inputs, 1);
  const std::vector<int64_t> indices = int_values(node, indices_tensor, "indices");
  const size_t axis = static_cast<size_t>(node_axis(node, node.attr_int("axis", 0), data.rank()));
  const int64_t dim = data.dims()[axis];

  Dims out_dims(data.dims().begin(), data.dims().begin() + static_cast<int64_t>(axis));
  out_dims.insert(out_dims.end(), indices_tensor.dims().begin(), indices_tensor.dims().end());
  out_dims.insert(out_dims.end(), data.dims().begin() + static_cast<int64_t>(axis) + 1,
                  data.dims().end());
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= data.dims()[d];
  for (size_t d = axis + 1; d < data.dims().size(); ++d) inner *= data.dims()[d];

  Tensor out(data.dtype(), out_dims);
  const size_t block = static_cast<size_t>(inner) * dtype_size(data.dtype());
  const auto* src = static_cast<const std::byte*>(data.raw());
  auto* dst = static_cast<std::byte*>(out.raw_mutable());
  const int64_t count = static_cast<int64_t>(indices.size());
  for (int64_t j = 0; j < count; ++j) {
    const int64_t index = indices[static_cast<size_t>(j)];
    check(index >= -dim && index < dim, ErrorKind::Runtime, node.describe(), ": index ", index,
          " is out of range for axis ", axis, " of size ", dim, " (data dims ",
          dims_to_string(data.dims()), ")");
  }
  for (int64_t o = 0; o < outer && block > 0; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      int64_t index = indices[static_cast<size_t>(j)];
      if (index < 0) index += dim;
      std::memcpy(dst + (o * count + j) * block, src + (o * dim + index) * block, block);
    }
  }
  return {out};
}

}  // namespace kiln::cpu
