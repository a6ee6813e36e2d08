// CPU reference kernels for ReduceMean/ReduceSum/ReduceMax/ReduceMin/ReduceProd, ArgMax/ArgMin,
// TopK and Softmax. Float sums accumulate in the input's type (float32 for float32) with
// compensated summation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/compensated_sum.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"

namespace kiln::cpu {
namespace {

// How a reduction walks its input: an outer walk over the kept axes (in output order) and
// an inner walk over the reduced axes, both as strides into the dense input.
struct ReductionPlan {
  Dims out_dims;
  Dims kept_dims;
  Strides kept_strides;
  Dims reduced_dims;
  Strides reduced_strides;
  int64_t reduced_count = 1;
};

ReductionPlan plan_reduction(const ir::Node& node, const Dims& in_dims,
                             const std::vector<int64_t>& axes) {
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  const int64_t rank = static_cast<int64_t>(in_dims.size());
  std::vector<bool> reduced(in_dims.size(), axes.empty());
  for (int64_t axis : node_axes(node, axes, rank)) reduced[static_cast<size_t>(axis)] = true;

  const Strides dense = contiguous_strides(in_dims);
  ReductionPlan plan;
  for (size_t d = 0; d < in_dims.size(); ++d) {
    if (reduced[d]) {
      plan.reduced_dims.push_back(in_dims[d]);
      plan.reduced_strides.push_back(dense[d]);
      plan.reduced_count *= in_dims[d];
      if (keepdims) plan.out_dims.push_back(1);
    } else {
      plan.kept_dims.push_back(in_dims[d]);
      plan.kept_strides.push_back(dense[d]);
      plan.out_dims.push_back(in_dims[d]);
    }
  }
  return plan;
}

// Sum (compensated for floats, wrapping for ints), mean, max and min over the reduced elements.
template <typename T>
struct SumReducer {
  CompensatedSum<T> sum;
  void add(T x) { sum.add(x); }
  T result(int64_t) const { return sum.value(); }
};

template <typename T>
struct MeanReducer {
  CompensatedSum<T> sum;
  void add(T x) { sum.add(x); }
  T result(int64_t count) const { return sum.value() / static_cast<T>(count); }
};

template <typename T>
struct MaxReducer {
  // The maximum of nothing is -inf (floats) or the lowest value (ints), as in ONNX.
  T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  void add(T x) {
    if (x > best || x != x) best = x;  // once NaN, `x > best` is false: NaN wins, as in PyTorch
  }
  T result(int64_t) const { return best; }
};

template <typename T>
struct MinReducer {
  // The minimum of nothing is +inf (floats) or the highest value (ints), as in ONNX.
  T best = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();
  void add(T x) {
    if (x < best || x != x) best = x;  // NaN wins and stays, as for the maximum
  }
  T result(int64_t) const { return best; }
};

// The product in the element type, in input order (1 over nothing; integers wrap).
template <typename T>
struct ProdReducer {
  T product = T(1);
  void add(T x) {
    if constexpr (std::is_integral_v<T>) {
      product = static_cast<T>(static_cast<uint64_t>(product) * static_cast<uint64_t>(x));
    } else {
      product *= x;
    }
  }
  T result(int64_t) const { return product; }
};

template <template <typename> class Reducer, typename T>
Tensor reduce(const Tensor& x, const ReductionPlan& plan) {
  Tensor out(x.dtype(), plan.out_dims);
  const T* in = x.data<T>();
  T* result = out.data_mutable<T>();
  int64_t out_index = 0;
  for_each_strided<1>(
      plan.kept_dims, {plan.kept_strides}, 0, out.numel(), [&](const std::array<int64_t, 1>& base) {
        Reducer<T> reducer;
        for_each_strided<1>(
            plan.reduced_dims, {plan.reduced_strides}, 0, plan.reduced_count,
            [&](const std::array<int64_t, 1>& at) { reducer.add(in[at[0]]); }, base);
        result[out_index++] = reducer.result(plan.reduced_count);
      });
  return out;
}

// `kIntegers`: whether int32/int64 inputs are accepted (sums and maxima, not means).
template <template <typename> class Reducer, bool kIntegers>
std::vector<Tensor> reduce_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const std::vector<int64_t> axes = node.attr_ints("axes");
  auto run = [&](auto tag) {
    using T = decltype(tag);
    if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) != 0) return x;
    return reduce<Reducer, T>(x, plan_reduction(node, x.dims(), axes));
  };
  if constexpr (kIntegers) {
    return {visit_numeric(node, x.dtype(), run)};
  } else {
    return {visit_float(node, x.dtype(), run)};
  }
}

// ArgMax (kMax) or ArgMin along one axis, as numpy's argmax/argmin: the first extreme index,
// or the last with `last`; NaN beats every number (the first NaN, or the last with `last`).
template <typename T, bool kMax>
Tensor arg_reduce(const Tensor& x, int64_t axis, bool keepdims, bool last) {
  Dims out_dims = x.dims();
  const int64_t length = out_dims[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < out_dims.size(); ++d) inner *= out_dims[d];
  if (keepdims) {
    out_dims[static_cast<size_t>(axis)] = 1;
  } else {
    out_dims.erase(out_dims.begin() + axis);
  }
  Tensor out(DType::Int64, out_dims);
  const T* in = x.data<T>();
  int64_t* result = out.data_mutable<int64_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* row = in + o * length * inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < length; ++k) {
        const T value = row[k * inner];
        const T held = row[best * inner];
        const bool value_nan = value != value, held_nan = held != held;
        const bool better = !held_nan && (value_nan || (kMax ? value > held : value < held));
        const bool tie = held_nan ? value_nan : (!value_nan && value == held);
        if (better || (last && tie)) best = k;
      }
      result[o * inner + i] = best;
    }
  }
  return out;
}

template <bool kMax>
std::vector<Tensor> arg_reduce_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const int64_t axis = node_axis(node, node.attr_int("axis", 0), x.rank());
  check(x.dims()[static_cast<size_t>(axis)] > 0, ErrorKind::InvalidArgument, node.describe(),
        ": axis ", axis, " of input dims ", dims_to_string(x.dims()),
        " is empty, so it has no extreme index");
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  const bool last = node.attr_int("select_last_index", 0) != 0;
  return {visit_numeric(node, x.dtype(), [&](auto tag) {
    return arg_reduce<decltype(tag), kMax>(x, axis, keepdims, last);
  })};
}

// TopK's order: larger first (smaller first without `largest`), NaN above every number as in
// torch.topk, and equal elements by lower index first (ONNX).
template <typename T>
bool ranks_before(T a, int64_t a_index, T b, int64_t b_index, bool largest) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan != b_nan) return largest ? a_nan : b_nan;
  if (!a_nan && a != b) return largest ? a > b : a < b;
  return a_index < b_index;
}

// The first k elements of each line in that order and their indices; sorted=0 gives the same.
template <typename T>
std::vector<Tensor> top_k(const Tensor& x, int64_t axis, int64_t k, bool largest) {
  Dims out_dims = x.dims();
  const int64_t length = out_dims[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < out_dims.size(); ++d) inner *= out_dims[d];
  out_dims[static_cast<size_t>(axis)] = k;
  Tensor values(x.dtype(), out_dims), indices(DType::Int64, out_dims);
  const T* in = x.data<T>();
  T* value_out = values.data_mutable<T>();
  int64_t* index_out = indices.data_mutable<int64_t>();
  std::vector<int64_t> order(static_cast<size_t>(length));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* row = in + o * length * inner + i;
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        return ranks_before(row[a * inner], a, row[b * inner], b, largest);
      });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t at = (o * k + j) * inner + i;
        value_out[at] = row[order[static_cast<size_t>(j)] * inner];
        index_out[at] = order[static_cast<size_t>(j)];
      }
    }
  }
  return {values, indices};
}

std::vector<Tensor> top_k_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  check(x.rank() > 0, ErrorKind::InvalidArgument, node.describe(), ": TopK of a scalar");
  const int64_t axis = node_axis(node, node.attr_int("axis", -1), x.rank());
  const int64_t k = node.attr_int("k", 0);
  check(k >= 0 && k <= x.dims()[static_cast<size_t>(axis)], ErrorKind::InvalidArgument,
        node.describe(), ": k ", k, " is out of range for axis ", axis, " of input dims ",
        dims_to_string(x.dims()));
  const bool largest = node.attr_int("largest", 1) != 0;
  return visit_numeric(node, x.dtype(),
                       [&](auto tag) { return top_k<decltype(tag)>(x, axis, k, largest); });
}

// Softmax along one axis: exp(x - max) / sum, so that exp never overflows.
template <typename T>
Tensor softmax(const Tensor& x, int64_t axis) {
  const Dims& dims = x.dims();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  const int64_t length = dims.empty() ? 1 : dims[static_cast<size_t>(axis)];

  Tensor out(x.dtype(), dims);
  const T* in = x.data<T>();
  T* result = out.data_mutable<T>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * length * inner + i;
      T max = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < length; ++k) max = std::max(max, in[base + k * inner]);
      CompensatedSum<T> sum;
      for (int64_t k = 0; k < length; ++k) {
        const T e = std::exp(in[base + k * inner] - max);
        result[base + k * inner] = e;
        sum.add(e);
      }
      const T total = sum.value();
      for (int64_t k = 0; k < length; ++k) result[base + k * inner] /= total;
    }
  }
  return out;
}

std::vector<Tensor> softmax_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  // A scalar is treated as a one-element vector (its softmax is 1).
  const int64_t axis = node_axis(node, node.attr_int("axis", -1), std::max<int64_t>(x.rank(), 1));
  return {visit_float(node, x.dtype(), [&](auto tag) { return softmax<decltype(tag)>(x, axis); })};
}

}  // namespace

void register_reduction_kernels(KernelMap& map) {
  map["ReduceSum"] = reduce_kernel<SumReducer, true>;
  map["ReduceMean"] = reduce_kernel<MeanReducer, false>;
  map["ReduceMax"] = reduce_kernel<MaxReducer, true>;
  map["ReduceMin"] = reduce_kernel<MinReducer, true>;
  map["ReduceProd"] = reduce_kernel<ProdReducer, true>;
  map["ArgMax"] = arg_reduce_kernel<true>;
  map["TopK"] = top_k_kernel;
  map["ArgMin"] = arg_reduce_kernel<false>;
  map["Softmax"] = softmax_kernel;
}

}  // namespace kiln::cpu
