// Discrete Fourier transforms written in core ops, shared by the ONNX DFT importer and the
// ATen FFT converters: a complex tensor is a pair of real ones, and the transform along one
// axis is products with constant cosine and sine matrices (exact in float32 arithmetic,
// O(n^2) per signal: FNet's token mixing and short frames, not a fast transform).
#pragma once

#include "ir/composite_ops.h"

namespace kiln::ir {

// Longest transform written as matrices ([n, n] constants).
inline constexpr int64_t kMaxDftLength = 8192;

// A complex tensor as its real and imaginary parts; `im` null for a real one.
struct ComplexParts {
  Value* re = nullptr;
  Value* im = nullptr;
};

struct DftAxis {
  int64_t axis = 0;  // of the parts, whose rank is `rank`
  int64_t rank = 0;
  int64_t length = 0;    // the parts' size along `axis`
  int64_t points = 0;    // n: the signal cut or zero-padded to this
  int64_t outputs = 0;   // coefficients kept: n, or n / 2 + 1 (onesided)
  bool inverse = false;  // e^(+i 2 pi j k / n) rather than e^(-i ...)
  double scale = 1.0;    // 1, 1 / n or 1 / sqrt(n), as the caller's normalization says
};

// A complex tensor stored as a pair (a trailing dim of 2, as ONNX and view_as_real spell it):
// its real (0) or imaginary (1) part, one rank lower.
Value* pair_part(CoreOpBuilder& b, Value* pair, int64_t rank, int64_t index);
// `parts` (of rank `rank`) as such a pair, its node the builder's `finish` (the composite's
// result); a missing imaginary part is zeros.
Value* pair_of(CoreOpBuilder& b, ComplexParts parts, int64_t rank);

// The transform of `x` along one axis.
ComplexParts dft_along(CoreOpBuilder& b, ComplexParts x, const DftAxis& how);
// The real signal of how.points samples whose one-sided spectrum along the axis is `x` (the
// inverse transform of a real signal: torch.fft.irfft, PyTorch's C2R): the spectrum cut or
// zero-padded to n / 2 + 1 coefficients, each but the first (and, n even, the last) counted
// with its conjugate twin; the imaginary parts of those two do not count, as in PyTorch.
// how.outputs is not read.
Value* real_inverse_dft_along(CoreOpBuilder& b, ComplexParts x, const DftAxis& how);

}  // namespace kiln::ir
