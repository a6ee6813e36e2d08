// CPU reference kernel for Pad (constant, reflect, edge, wrap; negative pads crop). It moves
// bytes, so it works on every dtype; the constant is converted to the input's dtype.
#include <string>

#include "backends/cpu/index_map.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"
#include "core/pad_index.h"

namespace kiln::cpu {
namespace {

PadMode pad_mode(const ir::Node& node) {
  const std::string mode = node.attr_string("mode", "constant");
  if (mode == "constant") return PadMode::Constant;
  if (mode == "reflect") return PadMode::Reflect;
  if (mode == "edge") return PadMode::Edge;
  if (mode == "wrap") return PadMode::Wrap;
  fail(ErrorKind::InvalidModel, node.describe(), ": mode '", mode,
       "' is not one of constant, reflect, edge, wrap");
}

// For every axis, the input index each output index reads (-1: the constant); checks the pads.
std::vector<std::vector<int64_t>> source_maps(const ir::Node& node, const Dims& in_dims,
                                              PadMode mode, Dims& out_dims) {
  const std::vector<int64_t> pads = node.attr_ints("pads");
  const size_t rank = in_dims.size();
  check(pads.size() == 2 * rank, ErrorKind::InvalidModel, node.describe(), ": pads ",
        dims_to_string(pads), " has ", pads.size(), " values; an input of rank ", rank, " needs ",
        2 * rank);
  std::vector<std::vector<int64_t>> maps(rank);
  out_dims.assign(rank, 0);
  for (size_t axis = 0; axis < rank; ++axis) {
    const int64_t size = in_dims[axis], begin = pads[axis], end = pads[axis + rank];
    check(size + begin + end >= 0, ErrorKind::InvalidArgument, node.describe(), ": pads ", begin,
          " and ", end, " crop more than the ", size, " elements of axis ", axis);
    check(mode == PadMode::Constant || size > 0 || (begin <= 0 && end <= 0),
          ErrorKind::InvalidArgument, node.describe(), ": axis ", axis,
          " is empty, so there is nothing to pad it with");
    check(mode != PadMode::Reflect || (begin < size && end < size), ErrorKind::InvalidArgument,
          node.describe(), ": reflect pads ", begin, " and ", end, " of axis ", axis,
          " must each be less than its size ", size, " (input dims ", dims_to_string(in_dims), ")");
    out_dims[axis] = size + begin + end;
    for (int64_t out = 0; out < out_dims[axis]; ++out) {
      maps[axis].push_back(pad_source_index(mode, out, begin, size));
    }
  }
  return maps;
}

std::vector<Tensor> pad_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const PadMode mode = pad_mode(node);
  Dims out_dims;
  const std::vector<std::vector<int64_t>> maps = source_maps(node, x.dims(), mode, out_dims);
  const Tensor fill = Tensor::scalar<double>(node.attr_float("value", 0.0)).to(x.dtype());
  return {gather_by_axis_maps(x, out_dims, maps, &fill)};
}

}  // namespace

void register_pad_kernels(KernelMap& map) { map["Pad"] = pad_kernel; }

}  // namespace kiln::cpu
