// dft_along (fourier.h).
#include "ir/fourier.h"

#include <cmath>
#include <numbers>
#include <vector>

namespace kiln::ir {
namespace {

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

// The [k, n] matrix of w_j cos (or sin) of 2 pi j t / n, times `scale`, where w_j counts the
// coefficient j of a one-sided spectrum twice for its conjugate twin, once for j = 0 and, with
// n even, j = n / 2 (their own twins).
Tensor hermitian_twiddles(int64_t k, int64_t n, bool sine, double scale, DType dtype) {
  std::vector<double> values(static_cast<size_t>(k * n));
  for (int64_t j = 0; j < k; ++j) {
    const double twice = j == 0 || 2 * j == n ? 1.0 : 2.0;
    for (int64_t t = 0; t < n; ++t) {
      double angle = 2.0 * std::numbers::pi * double((j * t) % n) / double(n);
      values[size_t(j * n + t)] = twice * scale * (sine ? std::sin(angle) : std::cos(angle));
    }
  }
  return Tensor::from_vector<double>({k, n}, values).to(dtype);
}

// The transform axis of `part` moved last, and the signal there cut or zero-padded from
// how.length to `length` samples; `restore` gets the permutation back.
Value* signal_last(CoreOpBuilder& b, Value* part, const DftAxis& how, int64_t length,
                   std::vector<int64_t>& restore) {
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < how.rank; ++i)
    if (i != how.axis) perm.push_back(i);
  perm.push_back(how.axis);
  restore.assign(static_cast<size_t>(how.rank), 0);
  for (int64_t i = 0; i < how.rank; ++i) restore[size_t(perm[size_t(i)])] = i;
  Value* moved = b.add("Transpose", {part}, {{"perm", perm}});
  if (length != how.length) {  // zeros after the end, or a crop (a negative pad)
    std::vector<int64_t> pads(static_cast<size_t>(2 * how.rank), 0);
    pads.back() = length - how.length;
    moved = b.add("Pad", {moved}, {{"pads", pads}});
  }
  return moved;
}

}  // namespace

Value* pair_part(CoreOpBuilder& b, Value* pair, int64_t rank, int64_t index) {
  return b.add("Squeeze", {slice_range(b, pair, rank - 1, index, index + 1)},
               {{"axes", std::vector<int64_t>{rank - 1}}});
}

Value* pair_of(CoreOpBuilder& b, ComplexParts parts, int64_t rank) {
  std::vector<int64_t> last{rank};
  Value* re = b.add("Unsqueeze", {parts.re}, {{"axes", last}});
  if (parts.im == nullptr) {  // [..., 1] padded with one zero: exact whatever re holds
    std::vector<int64_t> pads(static_cast<size_t>(2 * (rank + 1)), 0);
    pads.back() = 1;
    return b.finish("Pad", {re}, {{"pads", pads}});
  }
  return b.finish("Concat", {re, b.add("Unsqueeze", {parts.im}, {{"axes", last}})},
                  {{"axis", rank}});
}

ComplexParts dft_along(CoreOpBuilder& b, ComplexParts x, const DftAxis& how) {
  std::vector<int64_t> restore;
  const DType dtype = x.re->dtype;
  const double sign = how.inverse ? 1.0 : -1.0;  // e^(sign i 2 pi j k / n) = cos + i s
  Value* cosine = b.constant(twiddles(how.points, how.outputs, false, how.scale, dtype));
  Value* sine = b.constant(twiddles(how.points, how.outputs, true, sign * how.scale, dtype));
  Value* re = signal_last(b, x.re, how, how.points, restore);
  // (re + i im)(cos + i s) = re cos - im s + i (re s + im cos)
  Value* out_re = b.add("MatMul", {re, cosine});
  Value* out_im = b.add("MatMul", {re, sine});
  if (x.im != nullptr) {
    Value* im = signal_last(b, x.im, how, how.points, restore);
    out_re = b.add("Sub", {out_re, b.add("MatMul", {im, sine})});
    out_im = b.add("Add", {out_im, b.add("MatMul", {im, cosine})});
  }
  return {b.add("Transpose", {out_re}, {{"perm", restore}}),
          b.add("Transpose", {out_im}, {{"perm", restore}})};
}

Value* real_inverse_dft_along(CoreOpBuilder& b, ComplexParts x, const DftAxis& how) {
  std::vector<int64_t> restore;
  const int64_t kept = how.points / 2 + 1;
  const DType dtype = x.re->dtype;
  // re(X e^(i a)) = re cos a - im sin a, each coefficient with its conjugate twin.
  Value* cosine = b.constant(hermitian_twiddles(kept, how.points, false, how.scale, dtype));
  Value* out = b.add("MatMul", {signal_last(b, x.re, how, kept, restore), cosine});
  if (x.im != nullptr) {
    Value* sine = b.constant(hermitian_twiddles(kept, how.points, true, how.scale, dtype));
    out = b.add("Sub", {out, b.add("MatMul", {signal_last(b, x.im, how, kept, restore), sine})});
  }
  return b.add("Transpose", {out}, {{"perm", restore}});
}

}  // namespace kiln::ir
