// ConvTranspose geometry, following onnx/reference/ops/op_conv_transpose.py.
#include "ir/conv_transpose_geometry.h"

#include "core/error.h"

namespace kiln::ir {
namespace {

std::vector<int64_t> per_dim(const Node& node, const char* name, size_t spatial, int64_t fill) {
  std::vector<int64_t> values = node.attr_ints(name, std::vector<int64_t>(spatial, fill));
  check(values.size() == spatial, ErrorKind::InvalidModel, node.describe(), ": ", name, " has ",
        values.size(), " entries for ", spatial, " spatial dims");
  return values;
}

}  // namespace

ConvTransposeGeometry conv_transpose_geometry(const Node& node, const Dims& input,
                                              const Dims& weight) {
  size_t spatial = input.size();
  check(weight.size() == spatial + 2, ErrorKind::InvalidModel, node.describe(), ": weight ",
        dims_to_string(weight), " does not match ", spatial, " spatial dims");
  ConvTransposeGeometry geometry;
  geometry.kernel.assign(weight.begin() + 2, weight.end());
  if (node.has_attr("kernel_shape")) {
    check(node.attr_ints("kernel_shape") == geometry.kernel, ErrorKind::InvalidModel,
          node.describe(), ": kernel_shape does not match the weight's dims ",
          dims_to_string(weight));
  }
  geometry.strides = per_dim(node, "strides", spatial, 1);
  geometry.dilations = per_dim(node, "dilations", spatial, 1);
  std::vector<int64_t> output_padding = per_dim(node, "output_padding", spatial, 0);
  geometry.group = node.attr_int("group", 1);
  for (size_t d = 0; d < spatial; ++d) {
    check(geometry.strides[d] > 0 && geometry.dilations[d] > 0 && geometry.kernel[d] > 0,
          ErrorKind::InvalidModel, node.describe(),
          ": kernel sizes, strides and dilations must be positive");
  }
  // output_shape may list the spatial dims only, or N and C too.
  std::vector<int64_t> output_shape = node.attr_ints("output_shape", {});
  if (output_shape.size() == spatial + 2)
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  check(output_shape.empty() || output_shape.size() == spatial, ErrorKind::InvalidModel,
        node.describe(), ": output_shape has ", output_shape.size(), " entries for ", spatial,
        " spatial dims");
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  check(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" ||
            auto_pad == "SAME_LOWER",
        ErrorKind::InvalidModel, node.describe(), ": unknown auto_pad '", auto_pad, "'");
  auto full_size = [&](size_t d) {  // the output before any padding is taken off
    return geometry.strides[d] * (input[d] - 1) + output_padding[d] +
           (geometry.kernel[d] - 1) * geometry.dilations[d] + 1;
  };
  bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (node.has_attr("pads") || (!same && output_shape.empty()) || auto_pad == "VALID") {
    geometry.pads = node.has_attr("pads") && auto_pad != "VALID"
                        ? node.attr_ints("pads")
                        : std::vector<int64_t>(2 * spatial, 0);
    check(geometry.pads.size() == 2 * spatial, ErrorKind::InvalidModel, node.describe(),
          ": pads has ", geometry.pads.size(), " entries for ", spatial, " spatial dims");
    for (size_t d = 0; d < spatial; ++d) {
      geometry.output.push_back(output_shape.empty()
                                    ? full_size(d) - geometry.pads[d] - geometry.pads[d + spatial]
                                    : output_shape[d]);
    }
  } else {
    // Pads from the wanted output: SAME_* wants input * stride; the rest is taken off evenly,
    // the odd one at the end for SAME_UPPER, at the start otherwise.
    geometry.pads.assign(2 * spatial, 0);
    for (size_t d = 0; d < spatial; ++d) {
      int64_t wanted = output_shape.empty() ? input[d] * geometry.strides[d] : output_shape[d];
      int64_t total = full_size(d) - wanted;
      int64_t half = total / 2;  // Python's // floors: the same for total >= 0
      if (total < 0) half = -((-total + 1) / 2);
      bool upper = auto_pad == "SAME_UPPER";
      geometry.pads[d] = upper ? half : total - half;
      geometry.pads[d + spatial] = upper ? total - half : half;
      geometry.output.push_back(wanted);
    }
  }
  for (int64_t size : geometry.output) {
    check(size > 0, ErrorKind::InvalidModel, node.describe(), ": the output would be ",
          dims_to_string(geometry.output), "; check pads, strides and output_shape");
  }
  return geometry;
}

}  // namespace kiln::ir
