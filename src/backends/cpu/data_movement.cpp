// CPU reference kernels that move elements without computing on them: Reshape, Transpose,
// Concat, Split, Expand, Squeeze, Unsqueeze, Flatten, Trilu. They work on every dtype by
// moving bytes; Slice and Gather live in slice_gather.cpp.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/slice_gather.h"

namespace kiln::cpu {
namespace {

int64_t product(const Dims& dims, size_t begin, size_t end) {
  int64_t result = 1;
  for (size_t d = begin; d < end; ++d) result *= dims[d];
  return result;
}

// ONNX Reshape: 0 copies the input dim (unless allowzero), one -1 is inferred.
Dims reshape_dims(const ir::Node& node, const Dims& in_dims, const std::vector<int64_t>& shape) {
  const bool allow_zero = node.attr_int("allowzero", 0) != 0;
  Dims out;
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t dim = shape[i];
    if (dim == 0 && !allow_zero) {
      check(i < in_dims.size(), ErrorKind::InvalidArgument, node.describe(), ": shape[", i,
            "] = 0 copies an input dim, but the input has rank ", in_dims.size());
      dim = in_dims[i];
    }
    if (dim == -1) {
      check(inferred < 0, ErrorKind::InvalidArgument, node.describe(), ": shape ",
            dims_to_string(shape), " has more than one -1");
      inferred = static_cast<int64_t>(i);
    } else {
      check(dim >= 0, ErrorKind::InvalidArgument, node.describe(), ": shape ",
            dims_to_string(shape), " has a negative dim other than -1");
      known *= dim;
    }
    out.push_back(dim);
  }
  const int64_t count = element_count(in_dims);
  if (inferred >= 0) {
    check(known != 0 && count % known == 0, ErrorKind::InvalidArgument, node.describe(),
          ": cannot infer the -1 in shape ", dims_to_string(shape), " for an input of dims ",
          dims_to_string(in_dims));
    out[static_cast<size_t>(inferred)] = count / known;
  }
  check(element_count(out) == count, ErrorKind::InvalidArgument, node.describe(),
        ": cannot reshape ", dims_to_string(in_dims), " to ", dims_to_string(shape));
  return out;
}

// Reshape-like ops share the input's bytes: Tensor copies on write, so this is safe.
std::vector<Tensor> reshape_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = required_input(node, inputs, 0);
  const std::vector<int64_t> shape = int_values(node, required_input(node, inputs, 1), "shape");
  return {data.reshaped(reshape_dims(node, data.dims(), shape))};
}

std::vector<Tensor> flatten_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += x.rank();
  check(axis >= 0 && axis <= x.rank(), ErrorKind::InvalidModel, node.describe(), ": axis ",
        node.attr_int("axis", 1), " is out of range for rank ", x.rank());
  const size_t split = static_cast<size_t>(axis);
  return {x.reshaped({product(x.dims(), 0, split), product(x.dims(), split, x.dims().size())})};
}

std::vector<Tensor> squeeze_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const std::vector<int64_t> axes = node_axes(node, node.attr_ints("axes"), x.rank());
  Dims out;
  for (int64_t d = 0; d < x.rank(); ++d) {
    const int64_t dim = x.dims()[static_cast<size_t>(d)];
    const bool listed = std::binary_search(axes.begin(), axes.end(), d);
    check(!listed || dim == 1, ErrorKind::InvalidArgument, node.describe(),
          ": cannot squeeze axis ", d, " of dims ", dims_to_string(x.dims()),
          ", its size is not 1");
    const bool squeezed = axes.empty() ? dim == 1 : listed;
    if (!squeezed) out.push_back(dim);
  }
  return {x.reshaped(out)};
}

std::vector<Tensor> unsqueeze_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const std::vector<int64_t> given = node.attr_ints("axes");
  check(!given.empty(), ErrorKind::InvalidModel, node.describe(), " has no axes");
  const int64_t out_rank = x.rank() + static_cast<int64_t>(given.size());
  const std::vector<int64_t> axes = node_axes(node, given, out_rank);
  Dims out;
  size_t next_input_dim = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    const bool inserted = std::binary_search(axes.begin(), axes.end(), d);
    out.push_back(inserted ? 1 : x.dims()[next_input_dim++]);
  }
  return {x.reshaped(out)};
}

std::vector<Tensor> transpose_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const size_t rank = x.dims().size();
  std::vector<int64_t> perm(rank);
  std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the axes
  perm = node.attr_ints("perm", perm);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(rank);
  std::iota(identity.begin(), identity.end(), 0);
  check(sorted == identity, ErrorKind::InvalidModel, node.describe(), ": perm ",
        dims_to_string(perm), " is not a permutation of the ", rank, " input axes");
  const Strides dense = contiguous_strides(x.dims());
  Dims out_dims(rank);
  Strides strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    out_dims[i] = x.dims()[static_cast<size_t>(perm[i])];
    strides[i] = dense[static_cast<size_t>(perm[i])];
  }
  return {strided_copy(x, out_dims, strides)};
}

std::vector<Tensor> expand_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const std::vector<int64_t> shape = int_values(node, required_input(node, inputs, 1), "shape");
  const Dims out_dims = broadcast_dims({x.dims(), shape}, node.describe());
  return {strided_copy(x, out_dims, broadcast_strides(x.dims(), out_dims))};
}

std::vector<Tensor> concat_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& first = required_input(node, inputs, 0);
  check(node.has_attr("axis"), ErrorKind::InvalidModel, node.describe(), " has no axis");
  const size_t axis = static_cast<size_t>(node_axis(node, node.attr_int("axis", 0), first.rank()));
  Dims out_dims = first.dims();
  out_dims[axis] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& input = required_input(node, inputs, k);
    Dims expected = out_dims;
    expected[axis] = input.rank() == first.rank() ? input.dims()[axis] : -1;
    check(input.dtype() == first.dtype() && input.dims() == expected, ErrorKind::InvalidArgument,
          node.describe(), ": input ", k, " (", dtype_name(input.dtype()), " ",
          dims_to_string(input.dims()), ") does not match input 0 (", dtype_name(first.dtype()),
          " ", dims_to_string(first.dims()), ") outside axis ", axis);
    out_dims[axis] += input.dims()[axis];
  }
  Tensor out(first.dtype(), out_dims);
  const int64_t outer = product(out_dims, 0, axis);
  const size_t row_bytes =
      static_cast<size_t>(product(out_dims, axis + 1, out_dims.size())) * dtype_size(first.dtype());
  auto* dst = static_cast<std::byte*>(out.raw_mutable());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& input : inputs) {
      const size_t block = static_cast<size_t>(input.dims()[axis]) * row_bytes;
      if (block == 0) continue;
      std::memcpy(dst, static_cast<const std::byte*>(input.raw()) + o * block, block);
      dst += block;
    }
  }
  return {out};
}

// Split sizes: the `split` attribute, or equal parts (the last one smaller when the axis does
// not divide evenly, as ONNX's num_outputs).
std::vector<int64_t> split_sizes(const ir::Node& node, int64_t dim, int64_t parts) {
  std::vector<int64_t> sizes = node.attr_ints("split");
  if (sizes.empty()) {
    const int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t k = 0; k < parts; ++k)
      sizes.push_back(std::clamp<int64_t>(dim - k * chunk, 0, chunk));
  }
  check(static_cast<int64_t>(sizes.size()) == parts, ErrorKind::InvalidModel, node.describe(),
        ": split lists ", sizes.size(), " sizes for ", parts, " outputs");
  int64_t total = 0;
  for (int64_t size : sizes) {
    check(size >= 0, ErrorKind::InvalidModel, node.describe(), ": negative split size");
    total += size;
  }
  check(total == dim, ErrorKind::InvalidArgument, node.describe(), ": split sizes ",
        dims_to_string(sizes), " do not add up to the axis size ", dim);
  return sizes;
}

std::vector<Tensor> split_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const size_t axis = static_cast<size_t>(node_axis(node, node.attr_int("axis", 0), x.rank()));
  const int64_t parts = std::max<int64_t>(1, static_cast<int64_t>(node.outputs.size()));
  const Strides strides = contiguous_strides(x.dims());
  std::vector<Tensor> outputs;
  int64_t start = 0;
  for (int64_t size : split_sizes(node, x.dims()[axis], parts)) {
    Dims dims = x.dims();
    dims[axis] = size;
    outputs.push_back(strided_copy(x, dims, strides, start * strides[axis]));
    start += size;
  }
  return outputs;
}

// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes.
std::vector<Tensor> trilu_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  check(x.rank() >= 2, ErrorKind::InvalidArgument, node.describe(),
        ": input must have at least 2 dims, got ", dims_to_string(x.dims()));
  const Tensor* k_input = optional_input(inputs, 1);
  const int64_t k = k_input ? scalar_int(node, *k_input, "k") : 0;
  const bool upper = node.attr_int("upper", 1) != 0;
  const int64_t rows = x.dim(-2), cols = x.dim(-1);
  const size_t element = dtype_size(x.dtype());
  Tensor out = x.clone();
  auto* bytes = static_cast<std::byte*>(out.raw_mutable());
  const int64_t matrices = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  for (int64_t m = 0; m < matrices; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = upper ? j - i >= k : j - i <= k;
        if (!keep) std::memset(bytes + ((m * rows + i) * cols + j) * element, 0, element);
      }
    }
  }
  return {out};
}

}  // namespace

void register_data_movement_kernels(KernelMap& map) {
  map["Reshape"] = reshape_kernel;
  map["Flatten"] = flatten_kernel;
  map["Squeeze"] = squeeze_kernel;
  map["Unsqueeze"] = unsqueeze_kernel;
  map["Transpose"] = transpose_kernel;
  map["Expand"] = expand_kernel;
  map["Concat"] = concat_kernel;
  map["Split"] = split_kernel;
  map["Trilu"] = trilu_kernel;
  map["Slice"] = slice_kernel;
  map["Gather"] = gather_kernel;
}

}  // namespace kiln::cpu
