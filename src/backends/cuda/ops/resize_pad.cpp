// Pad and Resize nodes on the GPU: attributes read and checked as the CPU reference reads them
// (backends/cpu/pad.cpp, resize.cpp), then one launcher each (kernels/resize_pad.h). Resize's
// per-axis constants are worked out here in double, exactly as the reference works them out.
#include "backends/cuda/kernels/resize_pad.h"

#include <map>

#include "backends/cuda/kernels/kernel_types.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "ir/resize_rules.h"

namespace kiln::cuda {
namespace {

// The kernels read and write dense tensors of one dtype and at most kMaxRank axes.
void check_shapes(const ir::Node& node, const DeviceTensor& in, const DeviceTensor& out) {
  std::string what = node.describe();
  check(in.dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, what, ": rank ", in.dims.size(),
        " exceeds the CUDA kernels' limit of ", kMaxRank);
  check(in.dtype == out.dtype, ErrorKind::Unsupported, what, ": input ", dtype_name(in.dtype),
        " and output ", dtype_name(out.dtype), " differ");
  check(in.dims.size() == out.dims.size(), ErrorKind::Runtime, what, ": input dims ",
        dims_to_string(in.dims), " and output dims ", dims_to_string(out.dims), " differ in rank");
}

template <typename Choice>
Choice choice_of(const ir::Node& node, const char* attribute, const std::string& value,
                 const std::map<std::string, Choice, std::less<>>& choices) {
  auto it = choices.find(value);
  check(it != choices.end(), ErrorKind::InvalidModel, node.describe(), ": ", attribute, " '", value,
        "' is not one the CUDA kernel knows");
  return it->second;
}

// Pad's geometry, checked as the reference checks the pads.
PadGeometry pad_geometry(const ir::Node& node, const DeviceTensor& in, const DeviceTensor& out) {
  static const std::map<std::string, PadMode, std::less<>> modes = {{"constant", PadMode::Constant},
                                                                    {"reflect", PadMode::Reflect},
                                                                    {"edge", PadMode::Edge},
                                                                    {"wrap", PadMode::Wrap}};
  std::string what = node.describe();
  PadGeometry geometry;
  geometry.rank = int(in.dims.size());
  geometry.mode = choice_of(node, "mode", node.attr_string("mode", "constant"), modes);
  const std::vector<int64_t> pads = node.attr_ints("pads");
  const size_t rank = in.dims.size();
  check(pads.size() == 2 * rank, ErrorKind::InvalidModel, what, ": pads ", dims_to_string(pads),
        " has ", pads.size(), " values; an input of rank ", rank, " needs ", 2 * rank);
  for (size_t axis = 0; axis < rank; ++axis) {
    const int64_t size = in.dims[axis], begin = pads[axis], end = pads[axis + rank];
    check(geometry.mode == PadMode::Constant || size > 0 || (begin <= 0 && end <= 0),
          ErrorKind::InvalidArgument, what, ": axis ", axis,
          " is empty, so there is nothing to pad it with");
    check(geometry.mode != PadMode::Reflect || (begin < size && end < size),
          ErrorKind::InvalidArgument, what, ": reflect pads ", begin, " and ", end, " of axis ",
          axis, " must each be less than its size ", size);
    check(size + begin + end == out.dims[axis], ErrorKind::Runtime, what, ": pads ", begin, " and ",
          end, " of axis ", axis, " give ", size + begin + end, " elements, the output has ",
          out.dims[axis]);
    geometry.in_dims[axis] = size;
    geometry.out_dims[axis] = out.dims[axis];
    geometry.begins[axis] = begin;
  }
  return geometry;
}

void pad(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
         std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  check_shapes(node, in, out);
  PadGeometry geometry = pad_geometry(node, in, out);
  require_element_word(node, in.dtype);
  // The constant as the reference makes it: the double converted to the dtype the CPU kernel
  // sees (float32 for 16-bit floats, which the executor widens), then to the storage dtype.
  bool half = in.dtype == DType::Float16 || in.dtype == DType::BFloat16;
  Tensor fill = Tensor::scalar<double>(node.attr_float("value", 0.0))
                    .to(half ? DType::Float32 : in.dtype)
                    .to(in.dtype);
  launch_for(
      node, [&] { launch_pad(in.dtype, in.data, out.data, geometry, fill.raw(), context.stream); });
}

// Resize's geometry: per axis the reference's scale, length and offset (resize.cpp's
// axis_taps and source_coordinate), and whether the axis changes at all.
ResizeGeometry resize_geometry(const ir::Node& node, const DeviceTensor& in,
                               const DeviceTensor& out) {
  static const std::map<std::string, ResizeCoordinates, std::less<>> coordinates = {
      {"half_pixel", ResizeCoordinates::HalfPixel},
      {"half_pixel_symmetric", ResizeCoordinates::HalfPixelSymmetric},
      {"pytorch_half_pixel", ResizeCoordinates::PytorchHalfPixel},
      {"align_corners", ResizeCoordinates::AlignCorners},
      {"asymmetric", ResizeCoordinates::Asymmetric}};
  static const std::map<std::string, NearestRounding, std::less<>> roundings = {
      {"round_prefer_floor", NearestRounding::RoundPreferFloor},
      {"round_prefer_ceil", NearestRounding::RoundPreferCeil},
      {"floor", NearestRounding::Floor},
      {"ceil", NearestRounding::Ceil}};
  std::string what = node.describe();
  const ir::ResizeAttrs attrs = ir::resize_attrs(node, int64_t(in.dims.size()));
  ResizeGeometry geometry;
  geometry.rank = int(in.dims.size());
  geometry.linear = attrs.linear;
  geometry.coordinates =
      choice_of(node, "coordinate_transformation_mode", attrs.coordinates, coordinates);
  geometry.rounding = choice_of(node, "nearest_mode", attrs.nearest, roundings);
  for (size_t d = 0; d < in.dims.size(); ++d) {
    ResizeAxis& axis = geometry.axes[d];
    axis.in = in.dims[d];
    axis.out = ir::resized_dim(attrs, d, axis.in);
    check(axis.out == out.dims[d], ErrorKind::Runtime, what, ": axis ", d, " resizes to ", axis.out,
          " elements, the output has ", out.dims[d]);
    check(axis.in > 0 || axis.out == 0, ErrorKind::InvalidArgument, what, ": axis ", d,
          " is empty, so there is nothing to resize it to ", axis.out, " elements from");
    const double given = attrs.scales.empty() ? 0.0 : attrs.scales[d];
    axis.resized = !(axis.in == axis.out && (given == 0.0 || given == 1.0));
    if (axis.in == 0 || axis.out == 0) continue;  // nothing is launched
    axis.scale = given > 0 ? given : double(axis.out) / double(axis.in);
    axis.length = axis.scale * double(axis.in);
    const double adjustment = double(axis.out) / axis.length;
    axis.offset = double(axis.in) / 2.0 * (1.0 - adjustment);
  }
  return geometry;
}

void resize(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  check_shapes(node, in, out);
  ResizeGeometry geometry = resize_geometry(node, in, out);
  if (geometry.linear) {
    check(has_float_kernel(in.dtype) || in.dtype == DType::Float64, ErrorKind::Unsupported,
          node.describe(), ": linear mode has no CUDA kernel for ", dtype_name(in.dtype));
  } else {
    require_element_word(node, in.dtype);
  }
  launch_for(node, [&] { launch_resize(in.dtype, in.data, out.data, geometry, context.stream); });
}

}  // namespace

void register_resize_pad_cuda_kernels(CudaKernelMap& map) {
  map["Pad"] = pad;
  map["Resize"] = resize;
}

}  // namespace kiln::cuda
