// Index-driven nodes on the GPU: GatherElements, GatherND, ScatterElements, ScatterND, Trilu,
// CumSum and CumProd, with the CPU
// reference's semantics: attributes and shape checks here, the kernels in kernels/indexing.h.
// Scalars that are tensors (Trilu's k) are read on the device, so no launch waits for the host.
#include "backends/cuda/kernels/indexing.h"

#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "ir/scatter_rules.h"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

void check_rank(const Dims& dims, const std::string& what) {
  check(dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, what, ": rank ", dims.size(),
        " exceeds the CUDA kernels' limit of ", kMaxRank);
}

// GatherElements' and ScatterElements' geometry: data and indices (ScatterElements' updates
// share the indices' dims) of one rank, indices no larger than data off the axis.
GatherElementsGeometry elements_geometry(const ir::Node& node, const Dims& data_dims,
                                         const Dims& index_dims) {
  std::string what = node.describe();
  check_rank(data_dims, what);
  check(index_dims.size() == data_dims.size(), ErrorKind::Runtime, what, ": indices rank ",
        index_dims.size(), " differs from data rank ", data_dims.size());
  int64_t rank = int64_t(data_dims.size());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), rank, what);
  GatherElementsGeometry geometry;
  geometry.rank = int(rank);
  geometry.axis = int(axis);
  geometry.axis_size = data_dims[size_t(axis)];
  Dims data_strides = contiguous_strides(data_dims);
  for (size_t d = 0; d < size_t(rank); ++d) {
    check(int64_t(d) == axis || index_dims[d] <= data_dims[d], ErrorKind::Runtime, what,
          ": indices dims ", dims_to_string(index_dims), " exceed data dims ",
          dims_to_string(data_dims), " on axis ", d);
    geometry.index_dims[d] = index_dims[d];
    geometry.data_strides[d] = data_strides[d];
  }
  return geometry;
}

void gather_elements(LaunchContext& context, const ir::Node& node,
                     std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  GatherElementsGeometry geometry = elements_geometry(node, data.dims, indices.dims);
  int64_t n = out.numel();
  check(n == indices.numel(), ErrorKind::Runtime, what, ": output has ", n, " elements, indices ",
        indices.numel());
  if (n == 0) return;
  require_element_word(node, data.dtype);
  require_index_dtype(node, indices.dtype);
  launch_for(node, [&] {
    launch_gather_elements(data.dtype, indices.dtype, data.data, indices.data, out.data, geometry,
                           n, context.stream);
  });
}

// GatherND's geometry for data and indices (the last indices dim is the lookup depth).
GatherNdGeometry gather_nd_geometry(const ir::Node& node, const DeviceTensor& data,
                                    const DeviceTensor& indices, const DeviceTensor& out) {
  std::string what = node.describe();
  check_rank(data.dims, what);
  int64_t data_rank = int64_t(data.dims.size());
  int64_t index_rank = int64_t(indices.dims.size());
  int64_t batch_dims = node.attr_int("batch_dims", 0);
  check(index_rank >= 1 && batch_dims >= 0 && batch_dims < index_rank && batch_dims < data_rank,
        ErrorKind::Runtime, what, ": invalid indices rank ", index_rank, " for batch_dims ",
        batch_dims);
  int64_t depth = indices.dims.back();
  check(depth >= 1 && batch_dims + depth <= data_rank, ErrorKind::Runtime, what,
        ": indices address ", depth, " dims but data has rank ", data_rank);
  Dims data_strides = contiguous_strides(data.dims);
  GatherNdGeometry geometry;
  geometry.depth = int(depth);
  for (int64_t k = 0; k < depth; ++k) {
    geometry.axis_sizes[k] = data.dims[size_t(batch_dims + k)];
    geometry.axis_strides[k] = data_strides[size_t(batch_dims + k)];
  }
  for (int64_t d = batch_dims + depth; d < data_rank; ++d)
    geometry.slice_elements *= data.dims[size_t(d)];
  int64_t batch_count = 1;
  for (int64_t d = 0; d < batch_dims; ++d) batch_count *= data.dims[size_t(d)];
  int64_t lookups = indices.numel() / depth;
  geometry.lookups_per_batch = lookups / (batch_count > 0 ? batch_count : 1);
  geometry.batch_stride = batch_dims > 0 ? data_strides[size_t(batch_dims - 1)] : data.numel();
  check(out.numel() == lookups * geometry.slice_elements, ErrorKind::Runtime, what,
        ": output dims ", dims_to_string(out.dims), " do not match ", lookups, " lookups of ",
        geometry.slice_elements, " elements");
  return geometry;
}

void gather_nd(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  GatherNdGeometry geometry = gather_nd_geometry(node, data, indices, out);
  int64_t n = out.numel();
  if (n == 0) return;
  require_element_word(node, data.dtype);
  require_index_dtype(node, indices.dtype);
  launch_for(node, [&] {
    launch_gather_nd(data.dtype, indices.dtype, data.data, indices.data, out.data, geometry, n,
                     context.stream);
  });
}

// A scatter's reduction (in ir::ScatterReduction's order, ir/scatter_rules.h) once its dtypes
// are checked and out holds a copy of data.
ScatterReduction prepare_scatter(LaunchContext& context, const ir::Node& node,
                                 const DeviceTensor& data, const DeviceTensor& indices,
                                 DeviceTensor& out) {
  auto reduction = static_cast<ScatterReduction>(ir::scatter_reduction(node));
  if (reduction == ScatterReduction::None) {
    require_element_word(node, data.dtype);
  } else {
    require_numeric_storage(node, data.dtype);
  }
  require_index_dtype(node, indices.dtype);
  copy_tensor(context, out, data);
  return reduction;
}

// ScatterElements: out = data (a device copy), then the kernel applies the updates.
void scatter_elements(LaunchContext& context, const ir::Node& node,
                      std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  const DeviceTensor& updates = inputs[2];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check(indices.dims == updates.dims, ErrorKind::Runtime, what, ": indices ",
        dims_to_string(indices.dims), " and updates ", dims_to_string(updates.dims), " differ");
  check(updates.dtype == data.dtype && out.dtype == data.dtype, ErrorKind::Runtime, what,
        ": data, updates and output dtypes differ");
  GatherElementsGeometry geometry = elements_geometry(node, data.dims, indices.dims);
  ScatterReduction reduction = prepare_scatter(context, node, data, indices, out);
  if (updates.numel() == 0) return;
  launch_for(node, [&] {
    launch_scatter_elements(data.dtype, indices.dtype, indices.data, updates.data, out.data,
                            geometry, reduction, context.stream);
  });
}

// ScatterND: out = data (a device copy), then the kernel applies the updates' slices.
void scatter_nd(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  const DeviceTensor& updates = inputs[2];
  DeviceTensor& out = outputs[0];
  check(updates.dtype == data.dtype && out.dtype == data.dtype, ErrorKind::Runtime, node.describe(),
        ": data, updates and output dtypes differ");
  // GatherND's geometry without batch dims; its output is the updates.
  GatherNdGeometry geometry = gather_nd_geometry(node, data, indices, updates);
  ScatterReduction reduction = prepare_scatter(context, node, data, indices, out);
  int64_t lookups = indices.numel() / indices.dims.back();
  launch_for(node, [&] {
    launch_scatter_nd(data.dtype, indices.dtype, indices.data, updates.data, out.data, geometry,
                      lookups, reduction, context.stream);
  });
}

void trilu(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check(in.dims.size() >= 2, ErrorKind::InvalidArgument, what,
        ": input must have at least 2 dims, got ", dims_to_string(in.dims));
  const int64_t* k = nullptr;
  if (inputs.size() > 1 && inputs[1].defined()) {
    check(inputs[1].dtype == DType::Int64, ErrorKind::Unsupported, what, ": k must be int64, got ",
          dtype_name(inputs[1].dtype));
    check(inputs[1].numel() == 1, ErrorKind::InvalidArgument, what,
          ": k must hold one value, got dims ", dims_to_string(inputs[1].dims));
    k = static_cast<const int64_t*>(inputs[1].data);
  }
  int64_t n = out.numel();
  if (n == 0) return;
  int64_t rows = in.dims[in.dims.size() - 2];
  int64_t cols = in.dims.back();
  bool upper = node.attr_int("upper", 1) != 0;
  require_element_word(node, in.dtype);
  launch_for(node, [&] {
    launch_trilu(in.dtype, in.data, k, out.data, n, rows, cols, upper, context.stream);
  });
}

// CumSum and CumProd along `axis` (an attribute in Kiln's IR).
void scan(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
          std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check(in.dtype == out.dtype, ErrorKind::Unsupported, what, ": input ", dtype_name(in.dtype),
        " and output ", dtype_name(out.dtype), " differ");
  int64_t rank = int64_t(in.dims.size());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), rank > 0 ? rank : 1, what);
  ScanShape shape;
  shape.length = rank > 0 ? in.dims[size_t(axis)] : 1;
  for (int64_t d = axis + 1; d < rank; ++d) shape.inner *= in.dims[size_t(d)];
  int64_t n = in.numel();
  if (n == 0) return;
  shape.lines = n / shape.length;
  shape.exclusive = node.attr_int("exclusive", 0) != 0;
  shape.reverse = node.attr_int("reverse", 0) != 0;
  shape.product = node.op == "CumProd";
  require_numeric_storage(node, in.dtype);
  launch_for(node, [&] { launch_scan(in.dtype, in.data, out.data, shape, context.stream); });
}

}  // namespace

void register_indexing_cuda_kernels(CudaKernelMap& map) {
  map["GatherElements"] = gather_elements;
  map["GatherND"] = gather_nd;
  map["ScatterElements"] = scatter_elements;
  map["ScatterND"] = scatter_nd;
  map["Trilu"] = trilu;
  map["CumSum"] = scan;
  map["CumProd"] = scan;
}

}  // namespace kiln::cuda
