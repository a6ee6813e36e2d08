// Spatial sampling written in core ops: affine_grid_generator (F.affine_grid) as a product of
// a constant base grid with theta, and grid_sampler (F.grid_sample, 2-D, bilinear or nearest,
// zeros or border padding) as index arithmetic and a batched GatherND of each corner: spatial
// transformer networks, optical flow warps, deformable sampling.
#include <cmath>
#include <string>
#include <vector>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// PyTorch's normalized coordinates of `size` pixels: -1 and 1 at the corners' centres
// (align_corners) or edges.
std::vector<double> linspace_coordinates(int64_t size, bool align_corners) {
  std::vector<double> values(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    double step = size > 1 ? 2.0 * double(i) / double(size - 1) - 1.0 : 0.0;
    values[size_t(i)] = align_corners ? step : step * double(size - 1) / double(size);
  }
  return values;
}

// affine_grid_generator(theta [N, 2, 3], size [N, C, H, W], align_corners): [N, H, W, 2],
// each pixel's (x, y, 1) times theta^T.
void convert_affine_grid(AtenNode& node) {
  ir::Value* theta = node.tensor("theta");
  std::vector<int64_t> size = node.ints("size");
  if (size.size() != 4) node.unsupported("a ", size.size() - 2, "-D grid (2-D only)");
  const int64_t height = size[2], width = size[3];
  const bool align_corners = node.bool_arg("align_corners", false);
  std::vector<double> xs = linspace_coordinates(width, align_corners);
  std::vector<double> ys = linspace_coordinates(height, align_corners);
  std::vector<double> base;
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x)
      base.insert(base.end(), {xs[size_t(x)], ys[size_t(y)], 1.0});
  }
  DType dtype = dtype_of(node, theta);
  ir::Value* grid = node.constant(Tensor::from_vector<double>({height * width, 3}, base).to(dtype));
  ir::Value* transposed =
      node.add("Transpose", {theta}, {{"perm", std::vector<int64_t>{0, 2, 1}}});  // [N, 3, 2]
  ir::Value* points = node.add("MatMul", {grid, transposed});                     // [N, H*W, 2]
  node.set_output(0, node.add("Reshape", {points, int64_constant(node, {0, height, width, 2})}));
}

// grid_sampler(input [N, C, H, W], grid [N, Ho, Wo, 2], interpolation_mode (0 bilinear,
// 1 nearest), padding_mode (0 zeros, 1 border), align_corners).
class GridSampler {
 public:
  explicit GridSampler(AtenNode& node) : node_(node) {}

  void convert() {
    ir::Value* input = node_.tensor("input");
    ir::Value* grid = node_.tensor("grid");
    const int64_t mode = node_.int_arg("interpolation_mode", 0);
    const int64_t padding = node_.int_arg("padding_mode", 0);
    if (mode != 0 && mode != 1) node_.unsupported("interpolation_mode ", mode, " (bicubic)");
    if (padding != 0 && padding != 1) node_.unsupported("padding_mode ", padding, " (reflection)");
    if (rank_of(node_, input) != 4 || !input->shape.is_static() || !grid->shape.is_static())
      node_.unsupported("input ", input->shape.to_string(), " (2-D, static sizes)");
    Dims dims = input->shape.static_dims();
    channels_ = dims[1];
    height_ = dims[2];
    width_ = dims[3];
    dtype_ = dtype_of(node_, input);
    border_ = padding == 1;
    const bool align_corners = node_.bool_arg("align_corners", false);
    Dims out = grid->shape.static_dims();  // [N, Ho, Wo, 2]
    // The input as rows of channels: [N, H*W, C].
    pixels_ = node_.add(
        "Reshape", {node_.add("Transpose", {input}, {{"perm", std::vector<int64_t>{0, 2, 3, 1}}}),
                    int64_constant(node_, {0, height_ * width_, channels_})});
    ir::Value* x = source(coordinate(grid, 0), width_, align_corners);  // [N, Ho, Wo]
    ir::Value* y = source(coordinate(grid, 1), height_, align_corners);
    ir::Value* sampled = nullptr;  // [N, Ho*Wo, C]
    if (mode == 1) {
      sampled = corner(node_.add("Round", {x}), node_.add("Round", {y}), nullptr);
    } else {
      ir::Value* x0 = node_.add("Floor", {x});
      ir::Value* y0 = node_.add("Floor", {y});
      ir::Value* x1 = node_.add("Add", {x0, number(1)});
      ir::Value* y1 = node_.add("Add", {y0, number(1)});
      ir::Value* wx1 = node_.add("Sub", {x, x0});
      ir::Value* wy1 = node_.add("Sub", {y, y0});
      ir::Value* wx0 = node_.add("Sub", {number(1), wx1});
      ir::Value* wy0 = node_.add("Sub", {number(1), wy1});
      sampled =
          node_.add("Add", {node_.add("Add", {corner(x0, y0, node_.add("Mul", {wx0, wy0})),
                                              corner(x1, y0, node_.add("Mul", {wx1, wy0}))}),
                            node_.add("Add", {corner(x0, y1, node_.add("Mul", {wx0, wy1})),
                                              corner(x1, y1, node_.add("Mul", {wx1, wy1}))})});
    }
    ir::Value* image =
        node_.add("Reshape", {sampled, int64_constant(node_, {0, out[1], out[2], channels_})});
    node_.set_output(0,
                     node_.add("Transpose", {image}, {{"perm", std::vector<int64_t>{0, 3, 1, 2}}}));
  }

 private:
  ir::Value* number(double value) { return scalar_constant(node_, value, dtype_); }

  // grid[..., k] as [N, Ho, Wo].
  ir::Value* coordinate(ir::Value* grid, int64_t k) {
    return node_.add("Squeeze", {slice_axis(node_, grid, 3, k, k + 1)},
                     {{"axes", std::vector<int64_t>{3}}});
  }

  // Normalized [-1, 1] to pixel coordinates (border padding: clamped into the image).
  ir::Value* source(ir::Value* normalized, int64_t size, bool align_corners) {
    ir::Value* shifted = node_.add("Add", {normalized, number(1)});
    ir::Value* pixel =
        align_corners ? node_.add("Mul", {shifted, number(0.5 * double(size - 1))})
                      : node_.add("Sub", {node_.add("Mul", {shifted, number(0.5 * double(size))}),
                                          number(0.5)});
    if (border_) pixel = node_.add("Clip", {pixel, number(0), number(double(size - 1))});
    return pixel;
  }

  // The input at integer pixel (x, y) ([N, Ho, Wo] floats), times `weight` where given, as
  // [N, Ho*Wo, C]; a pixel outside the image reads 0 (zeros padding).
  ir::Value* corner(ir::Value* x, ir::Value* y, ir::Value* weight) {
    ir::Value* inside = node_.add(
        "And",
        {node_.add("And", {greater_equal(x, 0.0), greater_equal(number(double(width_ - 1)), x)}),
         node_.add("And", {greater_equal(y, 0.0), greater_equal(number(double(height_ - 1)), y)})});
    ir::Value* cx = node_.add("Clip", {x, number(0), number(double(width_ - 1))});
    ir::Value* cy = node_.add("Clip", {y, number(0), number(double(height_ - 1))});
    ir::Value* flat = node_.add("Add", {node_.add("Mul", {cy, number(double(width_))}), cx});
    ir::Value* index = node_.add("Cast", {flat}, {{"to", int64_t(DType::Int64)}});
    index = node_.add("Reshape", {index, int64_constant(node_, {0, -1, 1})});  // [N, Ho*Wo, 1]
    ir::Value* values = node_.add("GatherND", {pixels_, index}, {{"batch_dims", int64_t{1}}});
    ir::Value* scale = node_.add("Cast", {inside}, {{"to", int64_t(dtype_)}});
    if (weight != nullptr) scale = node_.add("Mul", {scale, weight});
    scale = node_.add("Reshape", {scale, int64_constant(node_, {0, -1, 1})});
    return node_.add("Mul", {values, scale});
  }

  ir::Value* greater_equal(ir::Value* a, double b) { return greater_equal(a, number(b)); }
  ir::Value* greater_equal(ir::Value* a, ir::Value* b) {
    return node_.add("Not", {node_.add("Less", {a, b})});
  }

  AtenNode& node_;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  DType dtype_ = DType::Float32;
  bool border_ = false;
  ir::Value* pixels_ = nullptr;
};

}  // namespace

void add_sampling_ops(AtenTable& table) {
  table["aten.affine_grid_generator.default"] = convert_affine_grid;
  table["aten.grid_sampler.default"] = [](AtenNode& node) { GridSampler(node).convert(); };
  table["aten.grid_sampler_2d.default"] = [](AtenNode& node) { GridSampler(node).convert(); };
}

}  // namespace kiln::torch
