// Index-driven kernels: GatherElements, GatherND, ScatterElements, ScatterND, CumSum, CumProd. Data
// movement is done by element size, so every dtype works; the scans and scatter reductions run
// in the tensor's own type (float32/64 or ints; integer sums and products wrap).
#include <cstring>
#include <type_traits>

#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"
#include "core/error.h"
#include "ir/scatter_rules.h"
#include "ir/shape.h"

namespace kiln::cpu {
namespace {

std::vector<int64_t> row_major_strides(const Dims& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int64_t i = static_cast<int64_t>(dims.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * dims[i + 1];
  }
  return strides;
}

int64_t wrap_index(int64_t index, int64_t size, const ir::Node& node) {
  int64_t wrapped = index < 0 ? index + size : index;
  check(wrapped >= 0 && wrapped < size, ErrorKind::Runtime, node.describe(), ": index ", index,
        " is out of range for an axis of size ", size);
  return wrapped;
}

// out[i][j][k] = data[i][index[i][j][k]][k] for axis 1 (and likewise for any axis).
std::vector<Tensor> gather_elements(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = inputs.at(0);
  std::vector<int64_t> indices = inputs.at(1).to_int64_vector();
  const Dims& index_dims = inputs[1].dims();
  check(index_dims.size() == data.dims().size(), ErrorKind::Runtime, node.describe(),
        ": indices rank ", index_dims.size(), " differs from data rank ", data.rank());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), data.rank(), node.describe());
  Tensor out(data.dtype(), index_dims);
  size_t element = dtype_size(data.dtype());
  auto data_strides = row_major_strides(data.dims());
  auto index_strides = row_major_strides(index_dims);
  const auto* source = static_cast<const uint8_t*>(data.raw());
  auto* target = static_cast<uint8_t*>(out.raw_mutable());
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    int64_t offset = 0, remainder = flat;
    for (size_t d = 0; d < index_dims.size(); ++d) {
      int64_t coordinate = remainder / index_strides[d];
      remainder %= index_strides[d];
      if (static_cast<int64_t>(d) == axis) {
        coordinate = wrap_index(indices[flat], data.dims()[d], node);
      } else {
        check(coordinate < data.dims()[d], ErrorKind::Runtime, node.describe(),
              ": indices dims exceed data dims on axis ", d);
      }
      offset += coordinate * data_strides[d];
    }
    std::memcpy(target + flat * element, source + offset * element, element);
  }
  return {out};
}

// ONNX GatherND: the last indices dim addresses the leading dims of data after batch_dims.
std::vector<Tensor> gather_nd(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = inputs.at(0);
  const Tensor& index_tensor = inputs.at(1);
  std::vector<int64_t> indices = index_tensor.to_int64_vector();
  int64_t batch_dims = node.attr_int("batch_dims", 0);
  int64_t index_rank = index_tensor.rank();
  check(index_rank >= 1 && batch_dims < index_rank && batch_dims < data.rank(), ErrorKind::Runtime,
        node.describe(), ": invalid indices rank ", index_rank, " for batch_dims ", batch_dims);
  int64_t depth = index_tensor.dims().back();
  check(depth >= 1 && batch_dims + depth <= data.rank(), ErrorKind::Runtime, node.describe(),
        ": indices address ", depth, " dims but data has rank ", data.rank());
  Dims out_dims(index_tensor.dims().begin(), index_tensor.dims().end() - 1);
  for (int64_t d = batch_dims + depth; d < data.rank(); ++d) out_dims.push_back(data.dims()[d]);
  Tensor out(data.dtype(), out_dims);

  auto data_strides = row_major_strides(data.dims());
  int64_t slice_elements = 1;
  for (int64_t d = batch_dims + depth; d < data.rank(); ++d) slice_elements *= data.dims()[d];
  int64_t batch_count = 1;
  for (int64_t d = 0; d < batch_dims; ++d) batch_count *= data.dims()[d];
  int64_t lookups = index_tensor.numel() / depth;
  int64_t lookups_per_batch = lookups / std::max<int64_t>(batch_count, 1);
  int64_t batch_stride = batch_dims > 0 ? data_strides[batch_dims - 1] : data.numel();
  size_t element = dtype_size(data.dtype());
  const auto* source = static_cast<const uint8_t*>(data.raw());
  auto* target = static_cast<uint8_t*>(out.raw_mutable());
  for (int64_t lookup = 0; lookup < lookups; ++lookup) {
    int64_t batch = lookups_per_batch ? lookup / lookups_per_batch : 0;
    int64_t offset = batch * batch_stride;
    for (int64_t k = 0; k < depth; ++k) {
      int64_t axis = batch_dims + k;
      offset +=
          wrap_index(indices[lookup * depth + k], data.dims()[axis], node) * data_strides[axis];
    }
    std::memcpy(target + lookup * slice_elements * element, source + offset * element,
                slice_elements * element);
  }
  return {out};
}

// a + b or a * b; integers wrap (in unsigned arithmetic, so overflow is defined).
template <typename T>
T combine(T a, T b, bool product) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(product ? U(a) * U(b) : U(a) + U(b));
  } else {
    return product ? a * b : a + b;
  }
}

template <typename T>
void cumulative(const T* in, T* out, int64_t outer, int64_t length, int64_t inner, bool exclusive,
                bool reverse, bool product) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      T running = product ? T(1) : T(0);
      for (int64_t step = 0; step < length; ++step) {
        int64_t position = reverse ? length - 1 - step : step;
        int64_t at = (o * length + position) * inner + i;
        if (exclusive) out[at] = running;
        running = combine(running, in[at], product);
        if (!exclusive) out[at] = running;
      }
    }
  }
}

// ScatterElements' reductions; max and min propagate NaN.
using ir::ScatterReduction;

template <typename T>
T scatter_combine(T held, T update, ScatterReduction reduction) {
  if (reduction == ScatterReduction::None) return update;
  if (reduction == ScatterReduction::Add || reduction == ScatterReduction::Mul)
    return combine(held, update, reduction == ScatterReduction::Mul);
  if constexpr (std::is_floating_point_v<T>) {
    if (held != held) return held;
    if (update != update) return update;
  }
  bool take = reduction == ScatterReduction::Max ? update > held : update < held;
  return take ? update : held;
}

// A copy of data with updates[i] combined into element targets[i], in order.
Tensor scatter_into(const ir::Node& node, const Tensor& data, const Tensor& updates,
                    const std::vector<int64_t>& targets) {
  ScatterReduction reduction = ir::scatter_reduction(node);
  Tensor out = data.clone();
  if (reduction == ScatterReduction::None) {
    size_t element = dtype_size(data.dtype());
    const auto* source = static_cast<const uint8_t*>(updates.raw());
    auto* target = static_cast<uint8_t*>(out.raw_mutable());
    for (size_t i = 0; i < targets.size(); ++i)
      std::memcpy(target + targets[i] * element, source + i * element, element);
    return out;
  }
  visit_numeric(node, data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* source = updates.data<T>();
    T* target = out.data_mutable<T>();
    for (size_t i = 0; i < targets.size(); ++i)
      target[targets[i]] = scatter_combine(target[targets[i]], source[i], reduction);
  });
  return out;
}

// out = data, then each update in index order into out[.., wrap(indices[.., j, ..]), ..] on
// `axis`: duplicates resolve in that order (for none, the last write wins).
std::vector<Tensor> scatter_elements(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = inputs.at(0);
  std::vector<int64_t> indices = inputs.at(1).to_int64_vector();
  const Tensor& updates = inputs.at(2);
  const Dims& update_dims = updates.dims();
  check(update_dims == inputs[1].dims() && update_dims.size() == data.dims().size(),
        ErrorKind::Runtime, node.describe(), ": indices ", dims_to_string(inputs[1].dims()),
        " and updates ", dims_to_string(update_dims), " must match, with data's rank ",
        data.rank());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), data.rank(), node.describe());
  auto data_strides = row_major_strides(data.dims());
  auto update_strides = row_major_strides(update_dims);
  std::vector<int64_t> targets(static_cast<size_t>(updates.numel()));
  for (int64_t flat = 0; flat < updates.numel(); ++flat) {
    int64_t offset = 0, remainder = flat;
    for (size_t d = 0; d < update_dims.size(); ++d) {
      int64_t coordinate = remainder / update_strides[d];
      remainder %= update_strides[d];
      if (static_cast<int64_t>(d) == axis) {
        coordinate = wrap_index(indices[flat], data.dims()[d], node);
      } else {
        check(coordinate < data.dims()[d], ErrorKind::Runtime, node.describe(),
              ": updates dims exceed data dims on axis ", d);
      }
      offset += coordinate * data_strides[d];
    }
    targets[static_cast<size_t>(flat)] = offset;
  }
  return {scatter_into(node, data, updates, targets)};
}

// ONNX ScatterND: out = data, then each lookup's slice of updates, in lookup order, into the
// slice its index tuple (the last indices dim) addresses.
std::vector<Tensor> scatter_nd(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& data = inputs.at(0);
  const Tensor& index_tensor = inputs.at(1);
  const Tensor& updates = inputs.at(2);
  std::vector<int64_t> indices = index_tensor.to_int64_vector();
  check(index_tensor.rank() >= 1, ErrorKind::Runtime, node.describe(), ": scalar indices");
  int64_t depth = index_tensor.dims().back();
  check(depth >= 1 && depth <= data.rank(), ErrorKind::Runtime, node.describe(),
        ": indices address ", depth, " dims but data has rank ", data.rank());
  int64_t lookups = index_tensor.numel() / depth;
  int64_t slice = 1;
  for (int64_t d = depth; d < data.rank(); ++d) slice *= data.dims()[d];
  check(updates.numel() == lookups * slice, ErrorKind::Runtime, node.describe(), ": updates ",
        dims_to_string(updates.dims()), " are not ", lookups, " slices of ", slice, " elements");
  auto data_strides = row_major_strides(data.dims());
  std::vector<int64_t> targets(static_cast<size_t>(updates.numel()));
  for (int64_t lookup = 0; lookup < lookups; ++lookup) {
    int64_t base = 0;
    for (int64_t k = 0; k < depth; ++k)
      base += wrap_index(indices[lookup * depth + k], data.dims()[k], node) * data_strides[k];
    for (int64_t e = 0; e < slice; ++e) targets[static_cast<size_t>(lookup * slice + e)] = base + e;
  }
  return {scatter_into(node, data, updates, targets)};
}

// CumSum and CumProd along the `axis` attribute, in input order.
std::vector<Tensor> scan(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& input = inputs.at(0);
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), std::max<int64_t>(input.rank(), 1),
                                    node.describe());
  int64_t outer = 1, inner = 1, length = input.rank() ? input.dims()[axis] : 1;
  for (int64_t d = 0; d < axis; ++d) outer *= input.dims()[d];
  for (int64_t d = axis + 1; d < input.rank(); ++d) inner *= input.dims()[d];
  Tensor out(input.dtype(), input.dims());
  bool exclusive = node.attr_int("exclusive", 0) != 0;
  bool reverse = node.attr_int("reverse", 0) != 0;
  bool product = node.op == "CumProd";
  auto run = [&](auto tag) {
    using T = decltype(tag);
    cumulative(input.data<T>(), out.data_mutable<T>(), outer, length, inner, exclusive, reverse,
               product);
  };
  visit_numeric(node, input.dtype(), run);
  return {out};
}

}  // namespace

void register_indexing_kernels(KernelMap& map) {
  map["GatherElements"] = gather_elements;
  map["GatherND"] = gather_nd;
  map["ScatterElements"] = scatter_elements;
  map["ScatterND"] = scatter_nd;
  map["CumSum"] = scan;
  map["CumProd"] = scan;
}

}  // namespace kiln::cpu
