// ATen upsampling (upsample_nearest1d/2d/3d, _upsample_nearest_exact1d/2d/3d,
// upsample_linear1d, upsample_bilinear2d, upsample_trilinear3d; .vec and .default) as the core
// Resize op over the last 1 to 3 dims, with PyTorch's conventions: nearest reads
// floor(dst * in / out), nearest-exact floor((dst + 0.5) * in / out), linear is half_pixel
// (clamping below 0 reads the edge as clamping the index does) or align_corners; bicubic
// (upsample_bicubic2d) and the antialiased resizes (_upsample_bilinear2d_aa,
// _upsample_bicubic2d_aa) as two products with constant weight matrices.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/resize_weights.h"

namespace kiln::torch {
namespace {

enum class Kind { Nearest, NearestExact, Linear };

// The scale of each spatial dim (0: none given): scale_factors of .vec, or scales_h and the
// like of .default.
std::vector<double> given_scales(AtenNode& node, size_t dims, bool vec) {
  std::vector<double> scales(dims, 0.0);
  if (vec) {
    const Argument* argument = node.find("scale_factors");
    if (argument == nullptr || std::holds_alternative<NoneArg>(*argument)) return scales;
    std::vector<double> values;
    if (const auto* floats = std::get_if<std::vector<double>>(argument)) values = *floats;
    if (const auto* ints = std::get_if<std::vector<int64_t>>(argument)) {
      values.assign(ints->begin(), ints->end());
    }
    if (values.size() != dims) {
      node.invalid("scale_factors holds ", values.size(), " values; it needs ", dims);
    }
    return values;
  }
  const std::vector<std::vector<const char*>> names = {
      {"scales"}, {"scales_h", "scales_w"}, {"scales_d", "scales_h", "scales_w"}};
  for (size_t d = 0; d < dims; ++d) scales[d] = node.float_arg(names[dims - 1][d], 0.0);
  return scales;
}

// Kiln's sizes (-1: floor(dim * scale)) and scales over every axis of x.
void resize_geometry(AtenNode& node, ir::Value* x, size_t dims, bool vec, bool align_corners,
                     std::vector<int64_t>& sizes, std::vector<double>& scales) {
  const int64_t rank = rank_of(node, x);
  if (rank != static_cast<int64_t>(dims) + 2) {
    node.invalid("needs an input of rank ", dims + 2, " (batch, channels and ", dims,
                 " spatial dims), not ", rank);
  }
  std::vector<double> given = given_scales(node, dims, vec);
  sizes.assign(static_cast<size_t>(rank), -1);
  scales.assign(static_cast<size_t>(rank), 1.0);
  const bool has_sizes = node.has("output_size");
  std::vector<SymInt> output_size;
  if (has_sizes) output_size = node.sym_ints("output_size");
  if (has_sizes && output_size.size() != dims) {
    node.invalid("output_size holds ", output_size.size(), " values; it needs ", dims);
  }
  for (size_t d = 0; d < dims; ++d) {
    const size_t axis = d + 2;
    const ir::Dim& dim = x->shape[static_cast<int64_t>(axis)];
    if (has_sizes) {
      if (!output_size[d].is_static()) node.unsupported("output_size is computed at run time");
      sizes[axis] = output_size[d].value;
    } else if (!(given[d] > 0)) {
      node.invalid("needs output_size or positive scale_factors");
    } else if (dim.is_static()) {
      sizes[axis] = static_cast<int64_t>(std::floor(static_cast<double>(dim.value) * given[d]));
    } else if (align_corners) {
      node.unsupported("align_corners with scale_factors needs static spatial dims");
    }
    // PyTorch uses a given scale for the coordinates, except with align_corners.
    scales[axis] = align_corners || !(given[d] > 0) ? 0.0 : given[d];
  }
}

AtenConverter upsample(Kind kind, size_t dims, bool vec) {
  return [kind, dims, vec](AtenNode& node) {
    ir::Value* x = node.tensor(vec ? "input" : "self");
    const bool align_corners = kind == Kind::Linear && node.bool_arg("align_corners", false);
    std::vector<int64_t> sizes;
    std::vector<double> scales;
    resize_geometry(node, x, dims, vec, align_corners, sizes, scales);
    std::map<std::string, ir::AttrValue> attrs = {{"sizes", sizes}, {"scales", scales}};
    if (kind == Kind::Linear) {
      attrs["mode"] = std::string("linear");
      attrs["coordinate_transformation_mode"] =
          std::string(align_corners ? "align_corners" : "half_pixel");
    } else {
      attrs["mode"] = std::string("nearest");
      const bool exact = kind == Kind::NearestExact;
      attrs["coordinate_transformation_mode"] = std::string(exact ? "half_pixel" : "asymmetric");
      attrs["nearest_mode"] = std::string(exact ? "round_prefer_ceil" : "floor");
    }
    node.set_output(0, node.add("Resize", {x}, std::move(attrs)));
  };
}

// The [in, out] matrix whose column o holds the bicubic weights output element o takes from
// each input element, as PyTorch's upsample_bicubic2d computes them (A = -0.75): source
// position (o + 0.5) * scale - 0.5 (align_corners: o * (in - 1) / (out - 1)), scale
// 1 / scale_factor where one is given, else in / out, its floor kept below `in` and the
// fraction within [0, 1]; taps past either end read the edge element.
Tensor bicubic_matrix(int64_t in, int64_t out, bool align_corners, double given_scale,
                      DType dtype) {
  double scale = align_corners     ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0)
                 : given_scale > 0 ? 1.0 / given_scale
                                   : double(in) / double(out);
  std::vector<double> sources;
  for (int64_t o = 0; o < out; ++o) {
    double source = align_corners ? scale * double(o) : scale * (double(o) + 0.5) - 0.5;
    double floor = std::min(std::floor(source), double(in - 1));
    sources.push_back(floor + std::clamp(source - floor, 0.0, 1.0));
  }
  return Tensor::from_vector<double>({in, out}, ir::cubic_resize_weights(in, sources, -0.75, false))
      .to(dtype);
}

// The [in, out] matrix of PyTorch's antialiased resize (_upsample_bilinear2d_aa and
// _upsample_bicubic2d_aa; Keys' cubic with a = -0.5), scale as bicubic_matrix reads it.
Tensor antialiased_matrix(int64_t in, int64_t out, bool align_corners, double given_scale,
                          bool cubic, DType dtype) {
  double scale = align_corners     ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0)
                 : given_scale > 0 ? 1.0 / given_scale
                                   : double(in) / double(out);
  return Tensor::from_vector<double>({in, out},
                                     ir::antialiased_resize_weights(in, out, scale, cubic))
      .to(dtype);
}

enum class Separable { Bicubic, BilinearAntialiased, BicubicAntialiased };

// upsample_bicubic2d and the antialiased _upsample_bilinear2d_aa / _upsample_bicubic2d_aa
// (.vec and .default): each is linear and separable, so it is two products with constant
// weight matrices, over the width and then the height (transposing between), as exact as the
// weights. Needs static spatial dims.
AtenConverter separable(Separable kind, bool vec) {
  return [kind, vec](AtenNode& node) {
    ir::Value* x = node.tensor(vec ? "input" : "self");
    const bool align_corners = node.bool_arg("align_corners", false);
    std::vector<int64_t> sizes;
    std::vector<double> scales;
    resize_geometry(node, x, 2, vec, align_corners, sizes, scales);
    DType dtype = dtype_of(node, x);
    if (!is_floating(dtype)) node.unsupported("a ", dtype_name(dtype), " input");
    const ir::Dim& height = x->shape[2];
    const ir::Dim& width = x->shape[3];
    if (!height.is_static() || !width.is_static() || sizes[2] < 0 || sizes[3] < 0)
      node.unsupported("input ", x->shape.to_string(), " (this resize needs static spatial dims)");
    auto matrix = [&](int64_t in, int64_t out, double scale) {
      if (kind == Separable::Bicubic) return bicubic_matrix(in, out, align_corners, scale, dtype);
      return antialiased_matrix(in, out, align_corners, scale,
                                kind == Separable::BicubicAntialiased, dtype);
    };
    const std::vector<int64_t> swap{0, 1, 3, 2};
    ir::Value* columns =
        node.add("MatMul", {x, node.constant(matrix(width.value, sizes[3], scales[3]))});
    ir::Value* flipped = node.add("Transpose", {columns}, {{"perm", swap}});
    ir::Value* rows =
        node.add("MatMul", {flipped, node.constant(matrix(height.value, sizes[2], scales[2]))});
    node.set_output(0, node.add("Transpose", {rows}, {{"perm", swap}}));
  };
}

}  // namespace

void add_resize_ops(AtenTable& table) {
  for (bool vec : {false, true}) {
    const std::string overload = vec ? ".vec" : ".default";
    table["aten.upsample_bicubic2d" + overload] = separable(Separable::Bicubic, vec);
    table["aten._upsample_bilinear2d_aa" + overload] =
        separable(Separable::BilinearAntialiased, vec);
    table["aten._upsample_bicubic2d_aa" + overload] = separable(Separable::BicubicAntialiased, vec);
  }
  for (size_t dims : {1, 2, 3}) {
    const std::string suffix = std::to_string(dims) + "d";
    for (bool vec : {false, true}) {
      const std::string overload = vec ? ".vec" : ".default";
      table["aten.upsample_nearest" + suffix + overload] = upsample(Kind::Nearest, dims, vec);
      table["aten._upsample_nearest_exact" + suffix + overload] =
          upsample(Kind::NearestExact, dims, vec);
    }
  }
  for (const std::string name :
       {"upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"}) {
    const size_t dims = name == "upsample_linear1d" ? 1 : name == "upsample_bilinear2d" ? 2 : 3;
    table["aten." + name + ".default"] = upsample(Kind::Linear, dims, false);
    table["aten." + name + ".vec"] = upsample(Kind::Linear, dims, true);
  }
}

}  // namespace kiln::torch
