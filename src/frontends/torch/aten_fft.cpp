// torch.fft in both .pt2 dialects and TorchScript: fft / ifft / rfft / irfft, fftn / ifftn /
// rfftn / irfftn, fft2 / ifft2 / rfft2 / irfft2, core ATen's _fft_c2c, _fft_r2c and _fft_c2r, and
// the complex tensors around them (a cast to a complex dtype, real, imag, view_as_real). A complex
// tensor is a real one with a trailing dim of 2 (ConversionContext::mark_complex); each transformed
// dim is products with constant cosine and sine matrices (ir/fourier.h). FNet's token mixing
// is fftn(x).real.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "frontends/torch/aten_complex.h"
#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/fourier.h"

namespace kiln::torch {
namespace {

int64_t static_rank(AtenNode& node, ir::Value* x) {
  if (!x->shape.is_static())
    node.unsupported("an FFT over ", x->shape.to_string(), " (dynamic sizes)");
  return rank_of(node, x);
}

// How a transform of n points is scaled: torch.fft's norm ("backward", the default, scales the
// inverse by 1 / n; "forward" the forward one; "ortho" both by 1 / sqrt(n)).
double norm_scale(AtenNode& node, const std::string& norm, bool inverse, int64_t n) {
  if (norm == "ortho") return 1.0 / std::sqrt(double(n));
  if (norm == "backward" || norm.empty()) return inverse ? 1.0 / double(n) : 1.0;
  if (norm == "forward") return inverse ? 1.0 : 1.0 / double(n);
  node.invalid("norm '", norm, "' (backward, forward or ortho)");
}

struct Transform {
  std::vector<int64_t> dims;    // axes of the input, normalized
  std::vector<int64_t> points;  // n per axis (-1: its own size)
  bool inverse = false;
  bool onesided = false;  // the last of `dims` keeps n / 2 + 1 coefficients (real input)
  std::function<double(int64_t n)> scale;
};

std::vector<int64_t> normalized_dims(AtenNode& node, std::vector<int64_t> dims, int64_t rank) {
  for (int64_t& dim : dims) dim = normalize_dim(node, dim, rank);
  return dims;
}

// One axis of a transform: `axis` of parts of `rank`, its n (`points`, -1: its own size).
ir::DftAxis dft_axis(AtenNode& node, ir::Value* part, int64_t rank, int64_t axis, int64_t points) {
  ir::DftAxis how;
  how.axis = axis;
  how.rank = rank;
  how.length = part->shape[size_t(axis)].value;
  how.points = points > 0 ? points : how.length;
  if (how.points > ir::kMaxDftLength)
    node.unsupported("an FFT of ", how.points, " points (Kiln writes at most ", ir::kMaxDftLength,
                     " as matrix products)");
  return how;
}

ir::ComplexParts transform_parts(AtenNode& node, AtenOpBuilder& b, ir::ComplexParts x,
                                 const Transform& t) {
  const int64_t rank = static_rank(node, x.re);
  if (t.onesided && x.im != nullptr) node.invalid("a one-sided transform of a complex tensor");
  // The one-sided dim first (from the real input), then the others on complex values.
  std::vector<size_t> order;
  if (!t.dims.empty()) order.push_back(t.dims.size() - 1);
  for (size_t i = 0; i + 1 < t.dims.size(); ++i) order.push_back(i);
  for (size_t i : order) {
    ir::DftAxis how = dft_axis(node, x.re, rank, t.dims[i], t.points[i]);
    how.outputs = t.onesided && i + 1 == t.dims.size() ? how.points / 2 + 1 : how.points;
    how.inverse = t.inverse;
    how.scale = t.scale(how.points);
    x = ir::dft_along(b, x, how);
  }
  return x;
}

void emit_transform(AtenNode& node, ir::ComplexParts x, const Transform& t) {
  AtenOpBuilder b(node);
  set_complex_output(node, transform_parts(node, b, x, t));
}

// The inverse of a real signal's transform (irfft, irfftn, irfft2, _fft_c2r): inverse complex
// transforms along all of t.dims but the last, then the real inverse along the last, whose
// t.points is the output length (-1: 2 (m - 1) for m coefficients).
void emit_real_inverse(AtenNode& node, ir::ComplexParts x, Transform t) {
  if (t.dims.empty()) node.invalid("an inverse real FFT over no dims");
  AtenOpBuilder b(node);
  const int64_t last = t.dims.back(), points = t.points.back();
  t.dims.pop_back();
  t.points.pop_back();
  t.inverse = true;
  t.onesided = false;
  if (!t.dims.empty()) x = transform_parts(node, b, x, t);
  const int64_t rank = static_rank(node, x.re);
  const int64_t coefficients = x.re->shape[size_t(last)].value;
  ir::DftAxis how = dft_axis(node, x.re, rank, last, points > 0 ? points : 2 * (coefficients - 1));
  if (how.points <= 0) node.invalid("an inverse real FFT of ", how.points, " points");
  how.inverse = true;
  how.scale = t.scale(how.points);
  node.set_output(0, ir::real_inverse_dft_along(b, x, how));
}

// fft_irfft(self, n, dim, norm).
void convert_irfft(AtenNode& node) {
  ir::ComplexParts x = parts_of(node, "self");
  Transform t;
  t.dims = normalized_dims(node, {node.int_arg("dim", -1)}, static_rank(node, x.re));
  t.points = {node.has("n") ? node.int_arg("n") : -1};
  std::string norm = node.string_arg("norm", "");
  t.scale = [&node, norm](int64_t n) { return norm_scale(node, norm, true, n); };
  emit_real_inverse(node, x, t);
}

// fft_fft / fft_ifft / fft_rfft(self, n, dim, norm).
AtenConverter fft_1d(bool inverse, bool onesided) {
  return [inverse, onesided](AtenNode& node) {
    ir::ComplexParts x = parts_of(node, "self");
    const int64_t rank = static_rank(node, x.re);
    Transform t;
    t.dims = normalized_dims(node, {node.int_arg("dim", -1)}, rank);
    t.points = {node.has("n") ? node.int_arg("n") : -1};
    t.inverse = inverse;
    t.onesided = onesided;
    std::string norm = node.string_arg("norm", "");
    t.scale = [&node, norm, inverse](int64_t n) { return norm_scale(node, norm, inverse, n); };
    emit_transform(node, x, t);
  };
}

// fft_fftn / fft_ifftn / fft_rfftn / fft_irfftn (every dim, or `dim`) and fft_fft2 /
// fft_ifft2 / fft_rfft2 / fft_irfft2 (the last two by default), `s` the points per dim.
enum class Signal { Complex, RealForward, RealInverse };  // fftn, rfftn, irfftn

AtenConverter fft_nd(bool inverse, bool two, Signal signal = Signal::Complex) {
  return [inverse, two, signal](AtenNode& node) {
    ir::ComplexParts x = parts_of(node, "self");
    const int64_t rank = static_rank(node, x.re);
    std::vector<int64_t> dims;
    if (node.has("dim")) {
      dims = node.ints("dim");
    } else if (two) {
      dims = {-2, -1};
    } else {
      for (int64_t axis = 0; axis < rank; ++axis) dims.push_back(axis);
    }
    Transform t;
    t.dims = normalized_dims(node, dims, rank);
    t.points = node.has("s") ? node.ints("s") : std::vector<int64_t>(dims.size(), -1);
    if (t.points.size() != t.dims.size())
      node.invalid("s has ", t.points.size(), " sizes for ", t.dims.size(), " dims");
    t.inverse = inverse;
    std::string norm = node.string_arg("norm", "");
    t.scale = [&node, norm, inverse](int64_t n) { return norm_scale(node, norm, inverse, n); };
    if (signal == Signal::RealInverse) return emit_real_inverse(node, x, t);
    t.onesided = signal == Signal::RealForward;
    emit_transform(node, x, t);
  };
}

// Core ATen's _fft_c2c(self, dim, normalization, forward) and _fft_r2c(self, dim,
// normalization, onesided): normalization 0 none, 1 by 1 / sqrt(n), 2 by 1 / n.
// _fft_c2r(self, dim, normalization, last_dim_size): the real inverse (emit_real_inverse).
void convert_fft_private(AtenNode& node) {
  const bool real_input = node.target() == "aten._fft_r2c.default";
  const bool real_output = node.target() == "aten._fft_c2r.default";
  ir::ComplexParts x = parts_of(node, "self");
  Transform t;
  t.dims = normalized_dims(node, node.ints("dim"), static_rank(node, x.re));
  t.points.assign(t.dims.size(), -1);
  t.inverse = !real_input && !node.bool_arg("forward", true);
  t.onesided = real_input && node.bool_arg("onesided", false);
  const int64_t mode = node.int_arg("normalization", 0);
  if (mode < 0 || mode > 2) node.invalid("normalization ", mode, " (0, 1 or 2)");
  t.scale = [mode](int64_t n) {
    return mode == 0 ? 1.0 : mode == 1 ? 1.0 / std::sqrt(double(n)) : 1.0 / double(n);
  };
  if (real_output) {
    if (!t.points.empty()) t.points.back() = node.int_arg("last_dim_size");
    return emit_real_inverse(node, x, t);
  }
  emit_transform(node, x, t);
}

void convert_real(AtenNode& node) { node.set_output(0, parts_of(node, "self").re); }

void convert_imag(AtenNode& node) {
  ir::ComplexParts x = parts_of(node, "self");
  if (x.im == nullptr) node.invalid("imag of a real tensor");
  node.set_output(0, x.im);
}

// view_as_real: the [..., 2] pair itself, now an ordinary real tensor.
void convert_view_as_real(AtenNode& node) {
  node.accept_complex();
  ir::Value* x = node.tensor("self");
  if (!node.context().is_complex(x)) node.invalid("view_as_real of a real tensor");
  // A value of its own (a Reshape to the same dims, a view), so that the pair stays complex.
  std::vector<int64_t> dims;
  for (const SymInt& size : sizes_of(node, x)) dims.push_back(size.value);
  node.set_output(0, node.add("Reshape", {x, int64_constant(node, dims)}));
}

// _to_copy / to to a complex dtype: a zero imaginary part beside a real tensor.
void convert_to_complex(AtenNode& node) {
  node.accept_complex();
  ir::Value* x = node.tensor("self");
  if (node.context().is_complex(x)) return node.set_output(0, x);
  set_complex_output(node, {x, nullptr});
}

}  // namespace

bool converts_to_complex(AtenNode& node) {
  if (!node.is_complex_dtype("dtype")) return false;
  convert_to_complex(node);
  return true;
}

void add_fft_ops(AtenTable& table) {
  table["aten.fft_fft.default"] = fft_1d(false, false);
  table["aten.fft_ifft.default"] = fft_1d(true, false);
  table["aten.fft_rfft.default"] = fft_1d(false, true);
  table["aten.fft_fftn.default"] = fft_nd(false, false);
  table["aten.fft_ifftn.default"] = fft_nd(true, false);
  table["aten.fft_fft2.default"] = fft_nd(false, true);
  table["aten.fft_ifft2.default"] = fft_nd(true, true);
  table["aten._fft_c2c.default"] = convert_fft_private;
  table["aten._fft_r2c.default"] = convert_fft_private;
  table["aten._fft_c2r.default"] = convert_fft_private;
  table["aten.fft_irfft.default"] = convert_irfft;
  table["aten.fft_rfftn.default"] = fft_nd(false, false, Signal::RealForward);
  table["aten.fft_rfft2.default"] = fft_nd(false, true, Signal::RealForward);
  table["aten.fft_irfftn.default"] = fft_nd(true, false, Signal::RealInverse);
  table["aten.fft_irfft2.default"] = fft_nd(true, true, Signal::RealInverse);
  table["aten.real.default"] = convert_real;
  table["aten.imag.default"] = convert_imag;
  table["aten.view_as_real.default"] = convert_view_as_real;
}

}  // namespace kiln::torch
