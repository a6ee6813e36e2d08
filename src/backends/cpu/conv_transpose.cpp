// CPU reference kernel for ConvTranspose (1 to 3 spatial dims, groups, dilations, pads,
// output_padding, output_shape): every input element scattered through the kernel into a
// float64 output, then the bias. A reference, not a fast path.
#include <vector>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/float_types.h"
#include "backends/cpu/kernel_registry.h"
#include "ir/conv_transpose_geometry.h"

namespace kiln::cpu {
namespace {

// The multi-index of `flat` in `dims`.
void unravel(int64_t flat, const Dims& dims, std::vector<int64_t>& index) {
  for (size_t d = dims.size(); d-- > 0;) {
    index[d] = flat % dims[d];
    flat /= dims[d];
  }
}

template <typename T>
Tensor conv_transpose_typed(const ir::Node& node, const Tensor& x, const Tensor& w,
                            const Tensor& bias) {
  Dims in_spatial(x.dims().begin() + 2, x.dims().end());
  ir::ConvTransposeGeometry g = ir::conv_transpose_geometry(node, in_spatial, w.dims());
  int64_t batch = x.dim(0), channels = x.dim(1), per_group_out = w.dim(1);
  check(channels == w.dim(0) && channels % g.group == 0, ErrorKind::InvalidModel, node.describe(),
        ": input channels ", channels, " do not match the weight ", dims_to_string(w.dims()),
        " and group ", g.group);
  int64_t out_channels = per_group_out * g.group, per_group_in = channels / g.group;
  size_t spatial = in_spatial.size();
  int64_t in_size = element_count(in_spatial), out_size = element_count(g.output);
  int64_t kernel_size = element_count(g.kernel);
  Strides out_strides = contiguous_strides(g.output);
  std::vector<double> y(size_t(batch * out_channels * out_size), 0.0);
  const T* xs = x.data<T>();
  const T* ws = w.data<T>();
  std::vector<int64_t> i_index(spatial), k_index(spatial);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      int64_t group = c / per_group_in;
      for (int64_t i = 0; i < in_size; ++i) {
        double value = double(xs[(n * channels + c) * in_size + i]);
        if (value == 0) continue;
        unravel(i, in_spatial, i_index);
        for (int64_t k = 0; k < kernel_size; ++k) {
          unravel(k, g.kernel, k_index);
          int64_t offset = 0;
          bool inside = true;
          for (size_t d = 0; d < spatial && inside; ++d) {
            int64_t o = i_index[d] * g.strides[d] + k_index[d] * g.dilations[d] - g.pads[d];
            inside = o >= 0 && o < g.output[d];
            offset += o * out_strides[d];
          }
          if (!inside) continue;
          for (int64_t m = 0; m < per_group_out; ++m) {
            double weight = double(ws[(c * per_group_out + m) * kernel_size + k]);
            int64_t channel = group * per_group_out + m;
            y[size_t((n * out_channels + channel) * out_size + offset)] += value * weight;
          }
        }
      }
    }
  }
  Dims out_dims = {batch, out_channels};
  out_dims.insert(out_dims.end(), g.output.begin(), g.output.end());
  Tensor result(x.dtype(), out_dims);
  T* out = result.data_mutable<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t m = 0; m < out_channels; ++m) {
      double shift = bias.defined() ? double(bias.data<T>()[m]) : 0.0;
      for (int64_t o = 0; o < out_size; ++o) {
        size_t at = size_t((n * out_channels + m) * out_size + o);
        out[at] = T(y[at] + shift);
      }
    }
  }
  return result;
}

std::vector<Tensor> conv_transpose_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(inputs.size() >= 2 && inputs[0].defined() && inputs[1].defined(), ErrorKind::InvalidModel,
        node.describe(), ": needs inputs X and W");
  check(inputs[0].rank() >= 3 && inputs[0].rank() == inputs[1].rank(), ErrorKind::InvalidModel,
        node.describe(), ": input ", dims_to_string(inputs[0].dims()), " and weight ",
        dims_to_string(inputs[1].dims()), " must be (N, C, spatial...) and (C, M/group, k...)");
  Tensor bias = inputs.size() > 2 ? inputs[2] : Tensor();
  return {visit_float_type(node, inputs[0].dtype(), [&](auto tag) {
    return conv_transpose_typed<decltype(tag)>(node, inputs[0], inputs[1], bias);
  })};
}

}  // namespace

void register_conv_transpose_kernels(KernelMap& map) {
  map["ConvTranspose"] = conv_transpose_kernel;
}

}  // namespace kiln::cpu
