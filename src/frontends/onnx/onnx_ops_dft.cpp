// ONNX DFT: the discrete Fourier transform along one axis, as ONNX spells complex numbers (a
// trailing dim of 2: real, imaginary; 1 for a real input). Written as products with constant
// cosine and sine matrices over the axis (exact in float32 arithmetic, O(n^2) per signal: what
// FNet's token mixing and short audio frames need, not a fast transform for long signals).
// Constant axis and dft_length (an attribute before opset 20, inputs since).
#include <cmath>
#include <numbers>
#include <vector>

#include "ir/composite_ops.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

// Longest transform written as matrices ([n, n] constants, four of them).
constexpr int64_t kMaxDftLength = 8192;

// The [n, m] matrix of cos (or sin) of 2 pi j k / n, times `scale`.
Tensor twiddles(int64_t n, int64_t m, bool sine, double scale, DType dtype) {
  std::vector<double> values(static_cast<size_t>(n * m));
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < m; ++k) {
      // j * k mod n keeps the angle small, so large indices lose no precision.
      double angle = 2.0 * std::numbers::pi * double((j * k) % n) / double(n);
      values[size_t(j * m + k)] = scale * (sine ? std::sin(angle) : std::cos(angle));
    }
  }
  return Tensor::from_vector<double>({n, m}, values).to(dtype);
}

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
  const int64_t length = dims[size_t(axis)];
  auto given = node.optional_constant_ints(1, "dft_length");
  const int64_t n = given && !given->empty() ? (*given)[0] : length;
  const bool inverse = node.attr_int("inverse", 0) != 0;
  const bool onesided = node.attr_int("onesided", 0) != 0;
  const bool complex_input = dims.back() == 2;
  if (onesided && (inverse || complex_input))
    node.invalid("onesided with ", inverse ? "inverse" : "a complex input");
  if (n < 1 || n > kMaxDftLength)
    node.unsupported("dft_length ", n, " (Kiln writes DFTs of 1 to ", kMaxDftLength,
                     " points as matrix products)");
  const int64_t outputs = onesided ? n / 2 + 1 : n;
  OnnxOpBuilder b(node);
  // The signal along the last axis: [..., length] parts, cut or zero-padded to n.
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < rank - 1; ++i)
    if (i != axis) perm.push_back(i);
  perm.push_back(axis);
  perm.push_back(rank - 1);  // the complex pair stays last
  ir::Value* moved = node.add("Transpose", {x}, {{"perm", perm}});
  auto part = [&](int64_t index) {  // [..., n] real or imaginary part of the signal
    ir::Value* piece = node.add("Squeeze", {ir::slice_range(b, moved, rank - 1, index, index + 1)},
                                {{"axes", std::vector<int64_t>{rank - 1}}});
    if (n != length) {  // zeros after the end, or a crop (a negative pad)
      std::vector<int64_t> pads(static_cast<size_t>(2 * (rank - 1)), 0);
      pads.back() = n - length;
      piece = node.add("Pad", {piece}, {{"pads", pads}});
    }
    return piece;
  };
  const DType dtype = x->dtype;
  const double scale = inverse ? 1.0 / double(n) : 1.0;
  const double sign = inverse ? 1.0 : -1.0;  // e^(sign i 2 pi j k / n)
  ir::Value* cosine = b.constant(twiddles(n, outputs, false, scale, dtype));
  ir::Value* sine = b.constant(twiddles(n, outputs, true, sign * scale, dtype));
  ir::Value* re = part(0);
  // (re + i im)(cos + i s) with s = sign * sin: re cos - im s, i (re s + im cos).
  ir::Value* out_re = node.add("MatMul", {re, cosine});
  ir::Value* out_im = node.add("MatMul", {re, sine});
  if (complex_input) {
    ir::Value* im = part(1);
    out_re = node.add("Sub", {out_re, node.add("MatMul", {im, sine})});
    out_im = node.add("Add", {out_im, node.add("MatMul", {im, cosine})});
  }
  std::vector<int64_t> pair_axis{rank - 1};
  ir::Value* pair = node.add("Concat",
                             {node.add("Unsqueeze", {out_re}, {{"axes", pair_axis}}),
                              node.add("Unsqueeze", {out_im}, {{"axes", pair_axis}})},
                             {{"axis", rank - 1}});
  std::vector<int64_t> restore(static_cast<size_t>(rank));  // undoes `perm`
  for (int64_t i = 0; i < rank; ++i) restore[size_t(perm[size_t(i)])] = i;
  node.emit("Transpose", {pair}, {{"perm", restore}});
}

}  // namespace

void add_dft_ops(OpTable& table) { table["DFT"] = {import_dft, 17}; }

}  // namespace kiln::onnx
