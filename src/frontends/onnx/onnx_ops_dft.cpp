// ONNX DFT: the discrete Fourier transform along one axis, as ONNX spells complex numbers (a
// trailing dim of 2: real, imaginary; 1 for a real input), through ir/fourier.h. Constant
// axis and dft_length (the axis an attribute before opset 20, an input since).
#include <cmath>
#include <vector>

#include "ir/fourier.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

void import_dft(OnnxNode& node) {
  node.allow_attributes({"axis", "inverse", "onesided"});
  ir::Value* x = node.required_input(0, "input");
  if (!x->shape.is_static()) node.unsupported("input ", x->shape.to_string(), " of unknown size");
  const Dims dims = x->shape.static_dims();
  const int64_t rank = int64_t(dims.size());
  if (rank < 2 || (dims.back() != 1 && dims.back() != 2))
    node.invalid("input ", dims_to_string(dims), " (the last dim must be 1, real, or 2, complex)");
  int64_t axis = node.opset() >= 20
                     ? node.optional_constant_ints(2, "axis").value_or(std::vector<int64_t>{-2})[0]
                     : node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1) node.invalid("axis ", axis, " of a rank-", rank, " input");
  auto given = node.optional_constant_ints(1, "dft_length");
  ir::DftAxis how;
  how.axis = axis;
  how.rank = rank - 1;  // of the parts
  how.length = dims[size_t(axis)];
  how.points = given && !given->empty() ? (*given)[0] : how.length;
  how.inverse = node.attr_int("inverse", 0) != 0;
  const bool onesided = node.attr_int("onesided", 0) != 0;
  const bool complex_input = dims.back() == 2;
  if (onesided && how.inverse)
    node.unsupported("onesided with inverse (an inverse real FFT from half a spectrum)");
  if (onesided && complex_input) node.invalid("onesided with a complex input");
  if (how.points < 1 || how.points > ir::kMaxDftLength)
    node.unsupported("dft_length ", how.points, " (Kiln writes DFTs of 1 to ", ir::kMaxDftLength,
                     " points as matrix products)");
  how.outputs = onesided ? how.points / 2 + 1 : how.points;
  how.scale = how.inverse ? 1.0 / double(how.points) : 1.0;
  OnnxOpBuilder b(node);
  ir::ComplexParts parts{ir::pair_part(b, x, rank, 0),
                         complex_input ? ir::pair_part(b, x, rank, 1) : nullptr};
  ir::ComplexParts out = ir::dft_along(b, parts, how);
  ir::pair_of(b, out, rank - 1);  // finished as the node's output
}

}  // namespace

void add_dft_ops(OpTable& table) { table["DFT"] = {import_dft, 17}; }

}  // namespace kiln::onnx
