// CPU reference kernels for shape ops: Shape, Size, ConstantOfShape and Range.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"

namespace kiln::cpu {
namespace {

// Shape with ONNX's start/end: negative values count from the end, then clamp to [0, rank].
std::vector<Tensor> shape_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const int64_t rank = x.rank();
  auto clamp_to_rank = [rank](int64_t value) {
    return std::clamp<int64_t>(value < 0 ? value + rank : value, 0, rank);
  };
  const int64_t start = clamp_to_rank(node.attr_int("start", 0));
  const int64_t end = clamp_to_rank(node.attr_int("end", rank));
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(x.dims()[static_cast<size_t>(d)]);
  return {Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims)};
}

std::vector<Tensor> size_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return {Tensor::scalar<int64_t>(required_input(node, inputs, 0).numel())};
}

// Fills a tensor of the given shape with the one element of the `value` attribute.
std::vector<Tensor> constant_of_shape_kernel(const ir::Node& node,
                                             const std::vector<Tensor>& inputs) {
  const std::vector<int64_t> dims = int_values(node, required_input(node, inputs, 0), "shape");
  for (int64_t dim : dims) {
    check(dim >= 0, ErrorKind::InvalidArgument, node.describe(), ": shape ", dims_to_string(dims),
          " has a negative dim");
  }
  const Tensor* given = node.attr_tensor("value");
  const Tensor value = given ? *given : Tensor::scalar<float>(0.0f);
  check(value.numel() == 1, ErrorKind::InvalidModel, node.describe(),
        ": the value attribute must hold one element, it has dims ", dims_to_string(value.dims()));
  Tensor out(value.dtype(), dims);
  const size_t element = dtype_size(value.dtype());
  auto* bytes = static_cast<std::byte*>(out.raw_mutable());
  for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(bytes + i * element, value.raw(), element);
  return {out};
}

// The number of elements of Range(start, limit, delta): max(ceil((limit - start) / delta), 0).
template <typename T>
int64_t range_count(T start, T limit, T delta) {
  if constexpr (std::is_integral_v<T>) {
    const int64_t span = int64_t{limit} - int64_t{start};
    const int64_t step = delta;
    if (step > 0) return span > 0 ? (span + step - 1) / step : 0;
    return span < 0 ? (-span - step - 1) / -step : 0;
  } else {
    // In double, as numpy.arange and PyTorch count, so that float32 borders agree with them.
    const double count = std::ceil((double(limit) - double(start)) / double(delta));
    if (!(count > 0)) return 0;
    // Anything this large fails the tensor size check with a clear message.
    return count < 0x1p62 ? static_cast<int64_t>(count) : int64_t{1} << 62;
  }
}

std::vector<Tensor> range_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor* scalars[3];
  const char* names[] = {"start", "limit", "delta"};
  for (size_t k = 0; k < 3; ++k) {
    scalars[k] = &required_input(node, inputs, k);
    check(scalars[k]->numel() == 1 && scalars[k]->dtype() == inputs[0].dtype(),
          ErrorKind::InvalidArgument, node.describe(), ": ", names[k], " must be a scalar of ",
          dtype_name(inputs[0].dtype()), ", got ", dtype_name(scalars[k]->dtype()), " ",
          dims_to_string(scalars[k]->dims()));
  }
  return {visit_numeric(node, inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T start = scalars[0]->data<T>()[0];
    const T limit = scalars[1]->data<T>()[0];
    const T delta = scalars[2]->data<T>()[0];
    check(delta != T(0), ErrorKind::InvalidArgument, node.describe(), ": delta is 0");
    const int64_t count = range_count(start, limit, delta);
    Tensor out(inputs[0].dtype(), {count});
    T* values = out.data_mutable<T>();
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    return out;
  })};
}

}  // namespace

void register_shape_kernels(KernelMap& map) {
  map["Shape"] = shape_kernel;
  map["Size"] = size_kernel;
  map["ConstantOfShape"] = constant_of_shape_kernel;
  map["Range"] = range_kernel;
}

}  // namespace kiln::cpu
