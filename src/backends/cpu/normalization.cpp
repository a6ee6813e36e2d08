// CPU reference kernels for LayerNormalization (with its optional Mean and InvStdDev outputs)
// and BatchNormalization in its inference form.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/compensated_sum.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"

namespace kiln::cpu {
namespace {

// A float parameter input converted to the computation type and checked to broadcast onto
// `target` without growing it (unidirectional broadcasting).
Tensor parameter(const ir::Node& node, const Tensor& tensor, DType dtype, const Dims& target,
                 const char* what) {
  check(broadcast_dims({tensor.dims(), target}, node.describe()) == target,
        ErrorKind::InvalidArgument, node.describe(), ": ", what, " of dims ",
        dims_to_string(tensor.dims()), " does not broadcast to ", dims_to_string(target));
  return tensor.to(dtype);
}

template <typename T>
std::vector<Tensor> layer_norm(const ir::Node& node, const std::vector<Tensor>& inputs,
                               int64_t axis) {
  const Tensor& x = inputs[0];
  const DType dtype = DTypeOf<T>::value;
  const Tensor scale = parameter(node, required_input(node, inputs, 1), dtype, x.dims(), "Scale");
  const Tensor* given_bias = optional_input(inputs, 2);
  const Tensor bias =
      given_bias ? parameter(node, *given_bias, dtype, x.dims(), "B") : Tensor::scalar<T>(T(0));
  const T epsilon = static_cast<T>(node.attr_float("epsilon", 1e-5));

  Dims stat_dims = x.dims();
  int64_t outer = 1, length = 1;
  for (size_t d = 0; d < stat_dims.size(); ++d) {
    if (static_cast<int64_t>(d) < axis) {
      outer *= stat_dims[d];
    } else {
      length *= stat_dims[d];
      stat_dims[d] = 1;
    }
  }
  Tensor y(dtype, x.dims()), mean(dtype, stat_dims), inv_std_dev(dtype, stat_dims);
  const T* in = x.data<T>();
  T* out = y.data_mutable<T>();
  T* means = mean.data_mutable<T>();
  T* inv_std_devs = inv_std_dev.data_mutable<T>();
  // Two passes per row (mean, then the mean of squared deviations) for an accurate variance.
  for (int64_t row = 0; row < outer; ++row) {
    const T* values = in + row * length;
    CompensatedSum<T> sum;
    for (int64_t k = 0; k < length; ++k) sum.add(values[k]);
    const T row_mean = sum.value() / static_cast<T>(length);
    CompensatedSum<T> squares;
    for (int64_t k = 0; k < length; ++k)
      squares.add((values[k] - row_mean) * (values[k] - row_mean));
    const T inv = T(1) / std::sqrt(squares.value() / static_cast<T>(length) + epsilon);
    for (int64_t k = 0; k < length; ++k) out[row * length + k] = (values[k] - row_mean) * inv;
    means[row] = row_mean;
    inv_std_devs[row] = inv;
  }
  const T* scales = scale.data<T>();
  const T* biases = bias.data<T>();
  const std::array<Strides, 2> strides{broadcast_strides(scale.dims(), x.dims()),
                                       broadcast_strides(bias.dims(), x.dims())};
  int64_t i = 0;
  for_each_strided<2>(x.dims(), strides, 0, x.numel(), [&](const std::array<int64_t, 2>& at) {
    out[i] = out[i] * scales[at[0]] + biases[at[1]];
    ++i;
  });

  std::vector<Tensor> outputs{y, mean, inv_std_dev};
  outputs.resize(std::clamp<size_t>(node.outputs.size(), 1, 3));
  return outputs;
}

std::vector<Tensor> layer_norm_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const int64_t axis = node_axis(node, node.attr_int("axis", -1), x.rank());
  return visit_float(node, x.dtype(),
                     [&](auto tag) { return layer_norm<decltype(tag)>(node, inputs, axis); });
}

// y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c], c the axis-1 index.
template <typename T>
Tensor batch_norm(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = inputs[0];
  const int64_t channels = x.dim(1);
  std::vector<const T*> params;  // scale, B, mean, var
  std::vector<Tensor> converted;
  const char* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t k = 1; k <= 4; ++k) {
    const Tensor& tensor = required_input(node, inputs, k);
    check(tensor.dims() == Dims{channels}, ErrorKind::InvalidArgument, node.describe(), ": ",
          names[k - 1], " has dims ", dims_to_string(tensor.dims()), ", expected [", channels, "]");
    converted.push_back(tensor.to(DTypeOf<T>::value));
  }
  for (const Tensor& tensor : converted) params.push_back(tensor.data<T>());
  const T epsilon = static_cast<T>(node.attr_float("epsilon", 1e-5));

  int64_t spatial = 1;
  for (size_t d = 2; d < x.dims().size(); ++d) spatial *= x.dims()[d];
  Tensor y(x.dtype(), x.dims());
  const T* in = x.data<T>();
  T* out = y.data_mutable<T>();
  for (int64_t c = 0; c < channels; ++c) {
    const T std_dev = std::sqrt(params[3][c] + epsilon);
    for (int64_t n = 0; n < x.dim(0); ++n) {
      const int64_t base = (n * channels + c) * spatial;
      for (int64_t k = 0; k < spatial; ++k) {
        out[base + k] = (in[base + k] - params[2][c]) / std_dev * params[0][c] + params[1][c];
      }
    }
  }
  return y;
}

std::vector<Tensor> batch_norm_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  check(node.attr_int("training_mode", 0) == 0 && node.outputs.size() <= 1, ErrorKind::Unsupported,
        node.describe(), ": only the inference form is supported (training_mode=0, one output)");
  check(x.rank() >= 2, ErrorKind::InvalidArgument, node.describe(),
        ": X must have at least 2 dims (N, C, ...), got ", dims_to_string(x.dims()));
  return {visit_float(node, x.dtype(),
                      [&](auto tag) { return batch_norm<decltype(tag)>(node, inputs); })};
}

}  // namespace

void register_normalization_kernels(KernelMap& map) {
  map["LayerNormalization"] = layer_norm_kernel;
  map["BatchNormalization"] = batch_norm_kernel;
}

}  // namespace kiln::cpu
