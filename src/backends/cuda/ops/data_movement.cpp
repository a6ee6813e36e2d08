// Data movement nodes: Reshape-like ops (a copy), and Transpose, Expand, Slice, Concat, Split
// as one strided copy each (source and destination walks computed here), plus Gather; the
// kernels are in kernels/data_movement.h. Also the executor's device-to-device copy.
#include "backends/cuda/kernels/data_movement.h"

#include <algorithm>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/kernel_types.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

// The elements of `src` that `walk`'s operand 0 visits, into the places of `dst` its operand 1
// visits; converted where the runtime stores dst in another float type (its storage plan folds
// a cast of the output into the copy).
void strided_copy(LaunchContext& context, const ir::Node& node, size_t element_size,
                  const DeviceTensor& src, DeviceTensor& dst, const StridedLoop& walk) {
  launch_for(node, [&] {
    if (src.dtype != dst.dtype) {
      launch_strided_convert(src.dtype, src.data, src.numel(), dst.dtype, dst.data, dst.numel(),
                             walk, context.stream);
      return;
    }
    launch_strided_copy(element_size, src.data, src.numel(), dst.data, dst.numel(), walk,
                        context.stream);
  });
}

// A copy over `dims`: the source read through `src_strides` from `src_offset`, the
// destination through `dst_strides` from `dst_offset`.
StridedLoop copy_loop(const Dims& dims, Dims src_strides, int64_t src_offset, Dims dst_strides,
                      int64_t dst_offset) {
  return {dims, {std::move(src_strides), std::move(dst_strides)}, {src_offset, dst_offset}};
}

void copy_node(LaunchContext& context, const ir::Node&, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  copy_tensor(context, outputs[0], inputs[0]);
}

void transpose(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  size_t rank = in.dims.size();
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    for (size_t axis = 0; axis < rank; ++axis) perm.push_back(int64_t(rank - 1 - axis));
  }
  Dims in_strides = contiguous_strides(in.dims);
  Dims strides(rank);
  for (size_t axis = 0; axis < rank; ++axis) strides[axis] = in_strides[size_t(perm[axis])];
  strided_copy(context, node, dtype_size(in.dtype), in, out,
               copy_loop(out.dims, strides, 0, contiguous_strides(out.dims), 0));
}

void expand(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  StridedLoop walk;
  launch_for(node, [&] {  // broadcast_strides names no node either
    walk = copy_loop(out.dims, broadcast_strides(in.dims, out.dims), 0,
                     contiguous_strides(out.dims), 0);
  });
  strided_copy(context, node, dtype_size(out.dtype), in, out, walk);
}

// Values of a constant int input (starts, ends, axes, steps); Unsupported (host fallback)
// when computed at run time.
std::vector<int64_t> constant_ints(const ir::Node& node, size_t index,
                                   std::vector<int64_t> fallback) {
  const ir::Value* value = node.input(index);
  if (value == nullptr) return fallback;
  check(value->is_constant(), ErrorKind::Unsupported, node.describe(), ": input ", index,
        " is computed at run time; the CUDA kernel needs it constant");
  return value->constant->to_int64_vector();
}

void slice(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  int64_t rank = int64_t(in.dims.size());
  std::vector<int64_t> starts = constant_ints(node, 1, {});
  std::vector<int64_t> axes(starts.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = int64_t(i);
  axes = constant_ints(node, 3, axes);
  std::vector<int64_t> steps = constant_ints(node, 4, std::vector<int64_t>(starts.size(), 1));
  Dims in_strides = contiguous_strides(in.dims);
  Dims strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t axis = size_t(axes[i] < 0 ? axes[i] + rank : axes[i]);
    int64_t dim = in.dims[axis];
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    start =
        steps[i] > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
    offset += start * in_strides[axis];
    strides[axis] = in_strides[axis] * steps[i];
  }
  strided_copy(context, node, dtype_size(in.dtype), in, out,
               copy_loop(out.dims, strides, offset, contiguous_strides(out.dims), 0));
}

void concat(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(out.dims.size()), what));
  Dims out_strides = contiguous_strides(out.dims);
  int64_t position = 0;
  for (const DeviceTensor& in : inputs) {
    check(in.dtype == out.dtype, ErrorKind::Unsupported, what, ": inputs of mixed storage");
    strided_copy(context, node, dtype_size(in.dtype), in, out,
                 copy_loop(in.dims, contiguous_strides(in.dims), 0, out_strides,
                           position * out_strides[axis]));
    position += in.dims[axis];
  }
}

void split(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  size_t axis = size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(in.dims.size()), what));
  Dims in_strides = contiguous_strides(in.dims);
  int64_t position = 0;
  for (DeviceTensor& out : outputs) {
    if (out.defined()) {
      strided_copy(context, node, dtype_size(in.dtype), in, out,
                   copy_loop(out.dims, in_strides, position * in_strides[axis],
                             contiguous_strides(out.dims), 0));
      position += out.dims[axis];
    }
  }
}

void gather(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(data.dims.size()), what));
  GatherShape shape{out.numel(), indices.numel(), data.dims[axis], 1};
  for (size_t d = axis + 1; d < data.dims.size(); ++d) shape.inner *= data.dims[d];
  check(indices.dtype == DType::Int64 || indices.dtype == DType::Int32, ErrorKind::Unsupported,
        what, ": indices must be int32 or int64");
  if (shape.count == 0) return;
  check(has_word_kernel(data.dtype), ErrorKind::Unsupported, what, ": element size ",
        dtype_size(data.dtype));
  launch_for(node, [&] {
    launch_gather(data.dtype, indices.dtype, data.data, indices.data, out.data, shape,
                  context.stream);
  });
}

}  // namespace

void copy_tensor(LaunchContext& context, DeviceTensor& dst, const DeviceTensor& src) {
  check(dst.nbytes() == src.nbytes(), ErrorKind::Runtime, "copy of ", src.nbytes(), " bytes into ",
        dst.nbytes());
  if (dst.data == src.data || src.nbytes() == 0) return;
  KILN_CUDA_CHECK(
      cudaMemcpyAsync(dst.data, src.data, src.nbytes(), cudaMemcpyDeviceToDevice, context.stream));
}

void register_data_movement_cuda_kernels(CudaKernelMap& map) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
    map[op] = copy_node;
  map["Transpose"] = transpose;
  map["Expand"] = expand;
  map["Slice"] = slice;
  map["Concat"] = concat;
  map["Split"] = split;
  map["Gather"] = gather;
}

}  // namespace kiln::cuda
