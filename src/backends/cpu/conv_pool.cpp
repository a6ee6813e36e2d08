// CPU reference kernels for Conv (im2col + the shared GEMM), MaxPool, AveragePool and
// GlobalAveragePool, over 1 to 3 spatial dims. Conv adds its bias and its residual Z (input 3,
// set by passes::fuse_conv_residual), then applies a "fused_activation" (Relu). Nodes with
// channels_last=1 (NHWC data and Z, KRSC weights) run the same code on transposed copies: a
// reference, not a fast path.
#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "backends/cpu/channels_last.h"
#include "backends/cpu/float_types.h"
#include "backends/cpu/fused_activation.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/window_geometry.h"
#include "core/parallel.h"

namespace kiln::cpu {
namespace {

Dims spatial_dims_of(const Dims& dims) { return Dims(dims.begin() + 2, dims.end()); }

void check_image_input(const ir::Node& node, const Tensor& x) {
  check(x.rank() >= 3, ErrorKind::InvalidModel, node.describe(),
        ": input must be (N, C, spatial...), got ", dims_to_string(x.dims()));
}

// Lays out the receptive fields of `channels` planes of one image as a matrix with one row
// per (channel, kernel offset) and one column per output position; padding reads as zero.
template <typename T>
void im2col(const T* image, int64_t channels, const WindowGeometry& g, T* col) {
  const WindowDim& d = g.dims[0];
  const WindowDim& h = g.dims[1];
  const WindowDim& w = g.dims[2];
  for (int64_t c = 0; c < channels; ++c) {
    const T* plane = image + c * g.in_volume();
    for (int64_t kd = 0; kd < d.kernel; ++kd) {
      for (int64_t kh = 0; kh < h.kernel; ++kh) {
        for (int64_t kw = 0; kw < w.kernel; ++kw) {
          for (int64_t od = 0; od < d.out; ++od) {
            int64_t id = od * d.stride - d.pad_begin + kd * d.dilation;
            for (int64_t oh = 0; oh < h.out; ++oh, col += w.out) {
              int64_t ih = oh * h.stride - h.pad_begin + kh * h.dilation;
              if (id < 0 || id >= d.in || ih < 0 || ih >= h.in) {
                std::fill(col, col + w.out, T{});
                continue;
              }
              const T* row = plane + (id * h.in + ih) * w.in;
              for (int64_t ow = 0; ow < w.out; ++ow) {
                int64_t iw = ow * w.stride - w.pad_begin + kw * w.dilation;
                col[ow] = (iw >= 0 && iw < w.in) ? row[iw] : T{};
              }
            }
          }
        }
      }
    }
  }
}

// out += bias (per output channel), then += residual (element for element), then the fused
// activation: cuDNN's order, in the kernel's type.
template <typename T>
void apply_conv_epilogue(const ir::Node& node, Tensor& out, const Tensor& bias,
                         const Tensor& residual) {
  int64_t batch = out.dim(0), out_channels = out.dim(1);
  int64_t out_volume = out.numel() / std::max<int64_t>(1, batch * out_channels);
  FusedActivation activation = fused_activation_of(node, false);
  T* out_data = out.data_mutable<T>();
  if (bias.defined()) {
    check(bias.numel() == out_channels && bias.dtype() == out.dtype(), ErrorKind::InvalidModel,
          node.describe(), ": bias must be ", dtype_name(out.dtype()), " with ", out_channels,
          " elements, got ", dtype_name(bias.dtype()), " ", dims_to_string(bias.dims()));
    const T* b_data = bias.data<T>();
    for (int64_t plane = 0; plane < batch * out_channels; ++plane) {
      T value = b_data[plane % out_channels];
      T* dst = out_data + plane * out_volume;
      for (int64_t i = 0; i < out_volume; ++i) dst[i] += value;
    }
  }
  if (residual.defined()) {
    check(residual.dims() == out.dims() && residual.dtype() == out.dtype(), ErrorKind::InvalidModel,
          node.describe(), ": residual Z must be ", dtype_name(out.dtype()), " ",
          dims_to_string(out.dims()), " like the output, got ", dtype_name(residual.dtype()), " ",
          dims_to_string(residual.dims()));
    const T* z_data = residual.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) out_data[i] += z_data[i];
  }
  apply_fused_activation(node, activation, out_data, out.numel());
}

template <typename T>
Tensor conv_typed(const ir::Node& node, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& residual) {
  check_image_input(node, x);
  check(weight.rank() == x.rank(), ErrorKind::InvalidModel, node.describe(), ": weight ",
        dims_to_string(weight.dims()), " and input ", dims_to_string(x.dims()),
        " must have the same rank");
  check(weight.dtype() == x.dtype(), ErrorKind::InvalidModel, node.describe(), ": weight is ",
        dtype_name(weight.dtype()), " but input is ", dtype_name(x.dtype()));
  int64_t batch = x.dim(0), channels = x.dim(1), out_channels = weight.dim(0);
  int64_t group = node.attr_int("group", 1);
  check(group >= 1 && channels % group == 0 && out_channels % group == 0 &&
            weight.dim(1) == channels / group,
        ErrorKind::InvalidModel, node.describe(), ": group ", group, " does not fit input ",
        dims_to_string(x.dims()), " and weight ", dims_to_string(weight.dims()),
        " (need C % group == 0, M % group == 0, W.dim(1) == C / group)");
  Dims kernel = spatial_dims_of(weight.dims());
  if (node.has_attr("kernel_shape")) {
    check(node.attr_ints("kernel_shape") == kernel, ErrorKind::InvalidModel, node.describe(),
          ": kernel_shape ", dims_to_string(node.attr_ints("kernel_shape")),
          " disagrees with the weight ", dims_to_string(weight.dims()));
  }
  WindowGeometry g = resolve_window(node, spatial_dims_of(x.dims()), kernel, false);
  fused_activation_of(node, false);  // an unsupported activation fails before the work

  Dims out_dims{batch, out_channels};
  for (int64_t dim : g.out_spatial()) out_dims.push_back(dim);
  Tensor out(x.dtype(), out_dims);
  int64_t group_channels = channels / group, group_out = out_channels / group;
  int64_t col_rows = group_channels * g.kernel_volume(), out_volume = g.out_volume();
  // A 1x1 kernel with unit strides and no padding reads the input planes as they are.
  bool direct = g.kernel_volume() == 1 && out_volume == g.in_volume();
  const T* x_data = x.data<T>();
  const T* w_data = weight.data<T>();
  T* out_data = out.data_mutable<T>();

  auto operands = [&](int64_t item, std::vector<T>& col) {
    int64_t image = item / group, g_index = item % group;
    const T* input = x_data + (image * channels + g_index * group_channels) * g.in_volume();
    const T* columns = input;
    if (!direct) {
      col.resize(static_cast<size_t>(col_rows * out_volume));
      im2col(input, group_channels, g, col.data());
      columns = col.data();
    }
    return GemmOperands<T>{w_data + g_index * group_out * col_rows, columns,
                           out_data + (image * out_channels + g_index * group_out) * out_volume};
  };
  int64_t items = batch * group;
  if (items >= static_cast<int64_t>(std::thread::hardware_concurrency())) {
    // Many (image, group) pairs: one thread per block of them, each with its own buffer.
    parallel_for(items, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> col;
      for (int64_t item = begin; item < end; ++item) {
        GemmOperands<T> ops = operands(item, col);
        gemm_serial(ops.a, ops.b, ops.c, group_out, out_volume, col_rows);
      }
    });
  } else {
    // Few pairs: split the output channels of each product across threads instead.
    std::vector<T> col;
    for (int64_t item = 0; item < items; ++item) {
      gemm_batched<T>({operands(item, col)}, group_out, out_volume, col_rows);
    }
  }
  apply_conv_epilogue<T>(node, out, bias, residual);
  return out;
}

std::vector<Tensor> conv_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(inputs.size() >= 2 && inputs[0].defined() && inputs[1].defined(), ErrorKind::InvalidModel,
        node.describe(), ": needs inputs X and W");
  Tensor bias = inputs.size() > 2 ? inputs[2] : Tensor();
  Tensor residual = inputs.size() > 3 ? inputs[3] : Tensor();
  bool nhwc = is_channels_last(node);
  Tensor x = nhwc ? to_channels_first(inputs[0]) : inputs[0];
  Tensor weight = nhwc ? to_channels_first(inputs[1]) : inputs[1];
  // Z lies as Y does: NHWC with channels_last=1, so it moves to NCHW with X.
  if (nhwc && residual.defined()) {
    check(residual.rank() == 4, ErrorKind::InvalidModel, node.describe(),
          ": residual Z must be 4-D [N, H, W, C] like the output, got ",
          dims_to_string(residual.dims()));
    residual = to_channels_first(residual);
  }
  Tensor y = visit_float_type(node, inputs[0].dtype(), [&](auto tag) {
    return conv_typed<decltype(tag)>(node, x, weight, bias, residual);
  });
  return {nhwc ? to_channels_last(y) : y};
}

enum class PoolKind { Max, Average };

// How many window taps of output position `o` land inside [low, high) along one dim.
int64_t taps_inside(const WindowDim& dim, int64_t o, int64_t low, int64_t high) {
  int64_t count = 0;
  for (int64_t k = 0; k < dim.kernel; ++k) {
    int64_t pos = o * dim.stride - dim.pad_begin + k * dim.dilation;
    count += (pos >= low && pos < high) ? 1 : 0;
  }
  return count;
}

template <typename T>
T pool_window(const T* plane, const WindowGeometry& g, const int64_t (&o)[3], PoolKind kind,
              bool count_include_pad) {
  const WindowDim& d = g.dims[0];
  const WindowDim& h = g.dims[1];
  const WindowDim& w = g.dims[2];
  T max = -std::numeric_limits<T>::infinity();
  T sum = 0;
  for (int64_t kd = 0; kd < d.kernel; ++kd) {
    int64_t id = o[0] * d.stride - d.pad_begin + kd * d.dilation;
    if (id < 0 || id >= d.in) continue;
    for (int64_t kh = 0; kh < h.kernel; ++kh) {
      int64_t ih = o[1] * h.stride - h.pad_begin + kh * h.dilation;
      if (ih < 0 || ih >= h.in) continue;
      for (int64_t kw = 0; kw < w.kernel; ++kw) {
        int64_t iw = o[2] * w.stride - w.pad_begin + kw * w.dilation;
        if (iw < 0 || iw >= w.in) continue;
        T value = plane[(id * h.in + ih) * w.in + iw];
        sum += value;
        if (value > max || std::isnan(value)) max = std::isnan(max) ? max : value;
      }
    }
  }
  if (kind == PoolKind::Max) return max;
  // The divisor counts the padding too (but never the extra taps ceil_mode adds past it)
  // when count_include_pad is set, else only the taps that read the input.
  int64_t divisor = 1;
  for (int axis = 0; axis < kMaxSpatialDims; ++axis) {
    const WindowDim& dim = g.dims[static_cast<size_t>(axis)];
    divisor *= count_include_pad ? taps_inside(dim, o[axis], -dim.pad_begin, dim.in + dim.pad_end)
                                 : taps_inside(dim, o[axis], 0, dim.in);
  }
  return sum / static_cast<T>(divisor);
}

template <typename T>
Tensor pool_typed(const ir::Node& node, const Tensor& x, PoolKind kind) {
  check_image_input(node, x);
  check(node.has_attr("kernel_shape"), ErrorKind::InvalidModel, node.describe(),
        ": attribute kernel_shape is required");
  bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  bool count_include_pad = node.attr_int("count_include_pad", 0) != 0;
  WindowGeometry g =
      resolve_window(node, spatial_dims_of(x.dims()), node.attr_ints("kernel_shape"), ceil_mode);
  Dims out_dims{x.dim(0), x.dim(1)};
  for (int64_t dim : g.out_spatial()) out_dims.push_back(dim);
  Tensor out(x.dtype(), out_dims);
  const T* x_data = x.data<T>();
  T* out_data = out.data_mutable<T>();
  int64_t planes = x.dim(0) * x.dim(1);
  int64_t min_planes = std::max<int64_t>(1, (1 << 16) / (g.out_volume() * g.kernel_volume()));
  parallel_for(planes, min_planes, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* src = x_data + plane * g.in_volume();
      T* dst = out_data + plane * g.out_volume();
      int64_t o[3];
      for (o[0] = 0; o[0] < g.dims[0].out; ++o[0]) {
        for (o[1] = 0; o[1] < g.dims[1].out; ++o[1]) {
          for (o[2] = 0; o[2] < g.dims[2].out; ++o[2]) {
            *dst++ = pool_window(src, g, o, kind, count_include_pad);
          }
        }
      }
    }
  });
  return out;
}

template <PoolKind kind>
std::vector<Tensor> pool_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(!inputs.empty() && inputs[0].defined(), ErrorKind::InvalidModel, node.describe(),
        ": needs input X");
  check(node.outputs.size() <= 1, ErrorKind::Unsupported, node.describe(),
        ": the Indices output of MaxPool is not supported; remove it from the model");
  bool nhwc = is_channels_last(node);
  Tensor x = nhwc ? to_channels_first(inputs[0]) : inputs[0];
  Tensor y = visit_float_type(node, x.dtype(),
                              [&](auto tag) { return pool_typed<decltype(tag)>(node, x, kind); });
  return {nhwc ? to_channels_last(y) : y};
}

std::vector<Tensor> global_average_pool_kernel(const ir::Node& node,
                                               const std::vector<Tensor>& inputs) {
  check(!inputs.empty() && inputs[0].defined(), ErrorKind::InvalidModel, node.describe(),
        ": needs input X");
  bool nhwc = is_channels_last(node);
  Tensor x = nhwc ? to_channels_first(inputs[0]) : inputs[0];
  check_image_input(node, x);
  Tensor y = visit_float_type(node, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Dims out_dims(x.dims().size(), 1);
    out_dims[0] = x.dim(0);
    out_dims[1] = x.dim(1);
    Tensor out(x.dtype(), out_dims);
    int64_t volume = element_count(spatial_dims_of(x.dims()));
    const T* src = x.data<T>();
    T* dst = out.data_mutable<T>();
    for (int64_t plane = 0; plane < x.dim(0) * x.dim(1); ++plane) {
      T sum = 0;
      for (int64_t i = 0; i < volume; ++i) sum += src[plane * volume + i];
      dst[plane] = sum / static_cast<T>(volume);
    }
    return out;
  });
  return {nhwc ? to_channels_last(y) : y};
}

}  // namespace

void register_conv_pool_kernels(KernelMap& map) {
  map["Conv"] = conv_kernel;
  map["MaxPool"] = pool_kernel<PoolKind::Max>;
  map["AveragePool"] = pool_kernel<PoolKind::Average>;
  map["GlobalAveragePool"] = global_average_pool_kernel;
}

}  // namespace kiln::cpu
