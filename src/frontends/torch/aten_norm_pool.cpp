// rms_norm (torch.nn.RMSNorm) and adaptive pooling, as core ops. Adaptive average pooling is
// linear per dim (pools, or products with bin-averaging matrices); adaptive max pooling
// takes, per output, the max over a bin [floor(o L / out), ceil((o + 1) L / out)); max is
// separable, so each spatial dim is pooled in turn by a Gather of every bin's positions
// (short bins repeat their last position) and a ReduceMax.
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// The machine epsilon PyTorch's rms_norm adds when eps is None.
double dtype_epsilon(DType type) {
  switch (type) {
    case DType::Float16:
      return 0.0009765625;
    case DType::BFloat16:
      return 0.0078125;
    case DType::Float64:
      return std::numeric_limits<double>::epsilon();
    default:
      return static_cast<double>(std::numeric_limits<float>::epsilon());
  }
}

// rms_norm(input, normalized_shape, weight, eps): x / sqrt(mean(x²) + eps) over the trailing
// dims, computed in float32 for half types (as PyTorch's reference), then times weight.
void convert_rms_norm(AtenNode& node) {
  ir::Value* x = node.tensor("input");
  DType type = dtype_of(node, x);
  if (!is_floating(type)) node.unsupported("rms_norm of ", dtype_name(type));
  int64_t rank = rank_of(node, x);
  int64_t count = static_cast<int64_t>(node.ints("normalized_shape").size());
  if (count > rank) node.invalid("normalized_shape has more dims than the input");
  std::vector<int64_t> axes;
  for (int64_t i = rank - count; i < rank; ++i) axes.push_back(i);
  double eps = node.has("eps") ? node.float_arg("eps", 0.0) : dtype_epsilon(type);
  DType compute = type == DType::Float16 || type == DType::BFloat16 ? DType::Float32 : type;
  ir::Value* wide = cast_to(node, x, compute);
  ir::Value* mean_square = node.add("ReduceMean", {node.add("Mul", {wide, wide})},
                                    {{"axes", axes}, {"keepdims", int64_t{1}}});
  ir::Value* root =
      node.add("Sqrt", {node.add("Add", {mean_square, scalar_constant(node, eps, compute)})});
  ir::Value* normalized = cast_to(node, node.add("Div", {wide, root}), type);
  if (ir::Value* weight = node.optional_tensor("weight")) {
    normalized = node.add("Mul", {normalized, weight});
  }
  node.set_output(0, normalized);
}

// The [size, outputs] matrix whose column o averages adaptive pooling bin o of a dim of
// `size`: rows floor(o * size / outputs) to ceil((o + 1) * size / outputs), as PyTorch bins.
Tensor bin_averages(int64_t size, int64_t outputs, DType dtype) {
  std::vector<double> matrix(static_cast<size_t>(size * outputs), 0.0);
  for (int64_t o = 0; o < outputs; ++o) {
    int64_t start = o * size / outputs;
    int64_t end = ((o + 1) * size + outputs - 1) / outputs;
    for (int64_t i = start; i < end; ++i)
      matrix[static_cast<size_t>(i * outputs + o)] = 1.0 / double(end - start);
  }
  return Tensor::from_vector<double>({size, outputs}, matrix).to(dtype);
}

// adaptive_avg_pool2d: GlobalAveragePool for 1x1, AveragePool when the sizes divide evenly,
// else two products with constant bin-averaging matrices (pooling is linear per dim): over
// the width, then over the height, transposing between.
void convert_adaptive_avg_pool2d(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  auto output_size = per_spatial_dim(node, node.ints("output_size"), 2, "output_size");
  if (output_size == std::vector<int64_t>{1, 1}) {
    return node.set_output(0, node.add("GlobalAveragePool", {x}));
  }
  int64_t rank = rank_of(node, x);
  const ir::Dim& height = x->shape[rank - 2];
  const ir::Dim& width = x->shape[rank - 1];
  if (rank == 4 && height.is_static() && width.is_static() && height.value % output_size[0] == 0 &&
      width.value % output_size[1] == 0) {
    std::vector<int64_t> kernel{height.value / output_size[0], width.value / output_size[1]};
    return node.set_output(
        0, node.add("AveragePool", {x}, {{"kernel_shape", kernel}, {"strides", kernel}}));
  }
  if ((rank != 3 && rank != 4) || !height.is_static() || !width.is_static() ||
      !is_floating(x->dtype)) {
    node.unsupported("output_size ", dims_to_string(output_size), " for input ",
                     x->shape.to_string(), " (uneven bins need static height and width)");
  }
  std::vector<int64_t> swap(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) swap[static_cast<size_t>(d)] = d;
  std::swap(swap[static_cast<size_t>(rank - 1)], swap[static_cast<size_t>(rank - 2)]);
  ir::Value* columns =
      node.add("MatMul", {x, node.constant(bin_averages(width.value, output_size[1], x->dtype))});
  ir::Value* flipped = node.add("Transpose", {columns}, {{"perm", swap}});
  ir::Value* rows = node.add(
      "MatMul", {flipped, node.constant(bin_averages(height.value, output_size[0], x->dtype))});
  node.set_output(0, node.add("Transpose", {rows}, {{"perm", swap}}));
}

// adaptive_avg_pool3d over [N, C, D, H, W] or [C, D, H, W] (video networks' heads): one
// output is GlobalAveragePool; otherwise each spatial axis in turn is moved last and
// multiplied by its bin-averaging matrix, which covers even and uneven bins alike.
void convert_adaptive_avg_pool3d(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  auto output_size = per_spatial_dim(node, node.ints("output_size"), 3, "output_size");
  int64_t rank = rank_of(node, x);
  if (rank != 4 && rank != 5) node.invalid("input of rank ", rank, " (expected 4-D or 5-D)");
  if (output_size == std::vector<int64_t>{1, 1, 1} && rank == 5) {
    return node.set_output(0, node.add("GlobalAveragePool", {x}));
  }
  if (!is_floating(x->dtype)) node.unsupported("a ", dtype_name(x->dtype), " input");
  ir::Value* pooled = x;
  for (int64_t i = 0; i < 3; ++i) {
    int64_t axis = rank - 3 + i;
    const ir::Dim& length = x->shape[axis];
    if (!length.is_static()) {
      node.unsupported("output_size ", dims_to_string(output_size), " for input ",
                       x->shape.to_string(), " (pooling needs static spatial dims)");
    }
    std::vector<int64_t> swap(static_cast<size_t>(rank));
    for (int64_t d = 0; d < rank; ++d) swap[static_cast<size_t>(d)] = d;
    std::swap(swap[static_cast<size_t>(axis)], swap[static_cast<size_t>(rank - 1)]);
    ir::Value* last = node.add("Transpose", {pooled}, {{"perm", swap}});
    ir::Value* averaged = node.add(
        "MatMul",
        {last, node.constant(bin_averages(length.value, output_size[size_t(i)], x->dtype))});
    pooled = node.add("Transpose", {averaged}, {{"perm", swap}});
  }
  node.set_output(0, pooled);
}

// adaptive_avg_pool1d over the last axis of [N, C, L] or [C, L]: one output is ReduceMean;
// L splitting evenly into k-wide bins is a Reshape to [..., outputs, k] and ReduceMean over
// k; uneven bins are one product with the bin-averaging matrix.
void convert_adaptive_avg_pool1d(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  auto output_size = per_spatial_dim(node, node.ints("output_size"), 1, "output_size");
  int64_t outputs = output_size[0];
  int64_t rank = rank_of(node, x);
  if (rank != 2 && rank != 3)
    node.invalid("input of rank ", rank, " (expected [N, C, L] or [C, L])");
  if (outputs <= 0) node.invalid("output_size ", outputs);
  std::map<std::string, ir::AttrValue> last_axis{{"axes", std::vector<int64_t>{rank - 1}},
                                                 {"keepdims", int64_t{1}}};
  if (outputs == 1) return node.set_output(0, node.add("ReduceMean", {x}, last_axis));
  const ir::Dim& length = x->shape[rank - 1];
  if (!length.is_static() || !is_floating(x->dtype)) {
    node.unsupported("output_size ", outputs, " for input ", x->shape.to_string(),
                     " (more than one bin needs a static float length)");
  }
  if (length.value % outputs == 0) {
    std::vector<int64_t> binned(static_cast<size_t>(rank - 1), 0);  // 0 copies N and C
    binned.push_back(outputs);
    binned.push_back(length.value / outputs);
    ir::Value* bins = node.add("Reshape", {x, int64_constant(node, binned)});
    last_axis = {{"axes", std::vector<int64_t>{rank}}, {"keepdims", int64_t{0}}};
    return node.set_output(0, node.add("ReduceMean", {bins}, last_axis));
  }
  ir::Value* matrix = node.constant(bin_averages(length.value, outputs, x->dtype));
  node.set_output(0, node.add("MatMul", {x, matrix}));
}

// x max-pooled along `axis` into `outputs` adaptive bins.
ir::Value* adaptive_max_along(AtenNode& node, ir::Value* x, int64_t axis, int64_t outputs) {
  const ir::Dim& dim = x->shape[axis];
  if (!dim.is_static()) node.unsupported("adaptive max pooling over a dim known only at run time");
  int64_t length = dim.value;
  if (outputs <= 0 || length <= 0) node.invalid("adaptive pooling of ", length, " into ", outputs);
  if (outputs == length) return x;
  int64_t widest = 0;
  std::vector<std::pair<int64_t, int64_t>> bins;
  for (int64_t o = 0; o < outputs; ++o) {
    int64_t start = (o * length) / outputs;
    int64_t end = ((o + 1) * length + outputs - 1) / outputs;
    bins.emplace_back(start, end);
    widest = std::max(widest, end - start);
  }
  std::vector<int64_t> positions;
  for (const auto& [start, end] : bins) {
    for (int64_t k = 0; k < widest; ++k) positions.push_back(std::min(start + k, end - 1));
  }
  ir::Value* index = node.constant(Tensor::from_vector<int64_t>(Dims{outputs, widest}, positions));
  ir::Value* gathered = node.add("Gather", {x, index}, {{"axis", axis}});
  return node.add("ReduceMax", {gathered},
                  {{"axes", std::vector<int64_t>{axis + 1}}, {"keepdims", int64_t{0}}});
}

// adaptive_max_pool1d / 2d / 3d (self, output_size) → (values, indices); the indices serve
// max_unpool and training only.
AtenConverter adaptive_max_pool(int64_t spatial) {
  return [spatial](AtenNode& node) {
    if (node.output_count() > 1 && node.output_needed(1)) {
      node.unsupported("the indices output of adaptive max pooling is used");
    }
    ir::Value* x = node.tensor("self");
    int64_t rank = rank_of(node, x);
    if (rank != spatial + 1 && rank != spatial + 2) {
      node.invalid("input of rank ", rank, " for ", spatial, "-D adaptive pooling");
    }
    std::vector<int64_t> sizes = node.ints("output_size");
    if (sizes.size() == 1 && spatial > 1) sizes.assign(static_cast<size_t>(spatial), sizes[0]);
    if (static_cast<int64_t>(sizes.size()) != spatial)
      node.invalid("output_size needs ", spatial, " sizes");
    for (int64_t d = 0; d < spatial; ++d) {
      x = adaptive_max_along(node, x, rank - spatial + d, sizes[static_cast<size_t>(d)]);
    }
    node.set_output(0, x);
  };
}

}  // namespace

void add_norm_pool_ops(AtenTable& table) {
  table["aten.rms_norm.default"] = convert_rms_norm;
  table["aten.adaptive_avg_pool1d.default"] = convert_adaptive_avg_pool1d;
  table["aten.adaptive_avg_pool2d.default"] = convert_adaptive_avg_pool2d;
  table["aten._adaptive_avg_pool2d.default"] = convert_adaptive_avg_pool2d;
  table["aten.adaptive_avg_pool3d.default"] = convert_adaptive_avg_pool3d;
  table["aten.adaptive_max_pool1d.default"] = adaptive_max_pool(1);
  table["aten.adaptive_max_pool2d.default"] = adaptive_max_pool(2);
  table["aten.adaptive_max_pool3d.default"] = adaptive_max_pool(3);
}

}  // namespace kiln::torch
