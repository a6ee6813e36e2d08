// torch.fft converters against the transform's definition summed in double (norms, padding,
// one-sided, inverse, real inverse), complex parts and slices, and a complex tensor refused by
// any other converter.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::HasSubstr;

Tensor ramp(const Dims& dims) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(std::cos(float(i) * 0.61f) + 0.2f);
  return Tensor::from_vector(dims, values);
}

// X[k] = scale * sum_j x[j] e^(sign 2 pi i j k / n) of one row of `x` ([rows, length]).
std::complex<double> dft(const std::vector<std::complex<double>>& row, int64_t n, int64_t k,
                         bool inverse, double scale) {
  std::complex<double> sum = 0;
  for (int64_t j = 0; j < std::min<int64_t>(n, int64_t(row.size())); ++j)
    sum += row[size_t(j)] *
           std::polar(1.0, (inverse ? 2.0 : -2.0) * std::numbers::pi * double(j * k) / double(n));
  return sum * scale;
}

// rfft(x, n=6, dim=-1, norm="ortho") of x [3, 4]: zero-padded to 6, 4 coefficients kept;
// real and imag of it.
TEST(AtenFft, OneSidedPaddedOrtho) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 4});
  ir::Value* spectrum = h.convert("aten.fft_rfft.default",
                                  {arg("self", x), arg("n", int64_t{6}), arg("dim", int64_t{-1}),
                                   arg("norm", std::string("ortho"))},
                                  "spectrum");
  ASSERT_TRUE(h.context.is_complex(spectrum));
  ir::Value* re = h.convert("aten.real.default", {arg("self", spectrum)}, "re");
  ir::Value* im = h.convert("aten.imag.default", {arg("self", spectrum)}, "im");
  Tensor input = ramp({3, 4});
  auto results = h.run({re, im}, {{"x", input}});
  ASSERT_EQ(results[0].dims(), (Dims{3, 4}));
  std::vector<double> values = input.to_double_vector(), got_re = results[0].to_double_vector(),
                      got_im = results[1].to_double_vector();
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<std::complex<double>> row(values.begin() + r * 4, values.begin() + r * 4 + 4);
    for (int64_t k = 0; k < 4; ++k) {
      std::complex<double> want = dft(row, 6, k, false, 1.0 / std::sqrt(6.0));
      EXPECT_NEAR(got_re[size_t(r * 4 + k)], want.real(), 1e-5);
      EXPECT_NEAR(got_im[size_t(r * 4 + k)], want.imag(), 1e-5);
    }
  }
}

// fftn over dims [0, 1] then core ATen's _fft_c2c inverse with normalization 2 (1 / n per
// dim) gives the input back; view_as_real is the [..., 2] pair.
TEST(AtenFft, FftnThenInverseIsTheIdentity) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 5});
  ir::Value* forward = h.convert("aten.fft_fftn.default",
                                 {arg("self", x), arg("dim", std::vector<int64_t>{0, 1})}, "fwd");
  ir::Value* back = h.convert("aten._fft_c2c.default",
                              {arg("self", forward), arg("dim", std::vector<int64_t>{0, 1}),
                               arg("normalization", int64_t{2}), arg("forward", false)},
                              "back");
  ir::Value* pair = h.convert("aten.view_as_real.default", {arg("self", back)}, "pair");
  EXPECT_FALSE(h.context.is_complex(pair));
  Tensor input = ramp({3, 5});
  Tensor result = h.run_one(pair, {{"x", input}});
  ASSERT_EQ(result.dims(), (Dims{3, 5, 2}));
  std::vector<double> want = input.to_double_vector(), got = result.to_double_vector();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[2 * i], want[i], 1e-5);
    EXPECT_NEAR(got[2 * i + 1], 0.0, 1e-5);
  }
}

// irfft of a spectrum built as fft(x)'s first coefficients plus noise in the imaginary parts
// of the zero-frequency and, n even, the Nyquist coefficient (which a real inverse ignores, as
// PyTorch's C2R does): n even (8, 5 coefficients), n odd (7, cut from 5 to 4) and n longer than
// the spectrum (12: zeros after it), norm "backward", against the sum over the full Hermitian
// spectrum in double. A slice along the spectrum's own dim keeps it complex.
TEST(AtenFft, RealInverseOfOneSidedSpectra) {
  for (int64_t n : {8, 7, 12}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    AtenHarness h;
    ir::Value* pair = h.input("pair", DType::Float32, Dims{2, 5, 2});
    h.context.mark_complex(pair);
    ir::Value* rows = h.convert("aten.slice.Tensor",
                                {arg("self", pair), arg("dim", int64_t{0}),
                                 arg("start", int64_t{0}), arg("end", int64_t{2})},
                                "rows");
    ASSERT_TRUE(h.context.is_complex(rows));
    ir::Value* signal = h.convert("aten.fft_irfft.default",
                                  {arg("self", rows), arg("n", n), arg("dim", int64_t{-1})});
    ASSERT_FALSE(h.context.is_complex(signal));
    Tensor spectrum = ramp({2, 5, 2});
    Tensor result = h.run_one(signal, {{"pair", spectrum}});
    ASSERT_EQ(result.dims(), (Dims{2, n}));
    std::vector<double> s = spectrum.to_double_vector(), got = result.to_double_vector();
    const int64_t kept = std::min<int64_t>(5, n / 2 + 1);
    for (int64_t r = 0; r < 2; ++r) {
      std::vector<std::complex<double>> full(size_t(n), 0.0);  // the Hermitian spectrum
      for (int64_t k = 0; k < kept; ++k) {
        std::complex<double> c(s[size_t((r * 5 + k) * 2)], s[size_t((r * 5 + k) * 2 + 1)]);
        if (k == 0 || 2 * k == n) c = c.real();
        full[size_t(k)] = c;
        if (k > 0) full[size_t(n - k)] = std::conj(c);
      }
      for (int64_t t = 0; t < n; ++t) {
        double want = dft(full, n, t, true, 1.0 / double(n)).real();
        EXPECT_NEAR(got[size_t(r * n + t)], want, 1e-5) << r << ", " << t;
      }
    }
  }
}

// rfft2 then core ATen's _fft_c2r over both dims (normalization 2, the last dim's size given)
// gives the input back, odd last dim included.
TEST(AtenFft, Rfft2ThenC2rIsTheIdentity) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 4, 7});
  ir::Value* forward = h.convert("aten.fft_rfft2.default", {arg("self", x)}, "fwd");
  ir::Value* back = h.convert("aten._fft_c2r.default",
                              {arg("self", forward), arg("dim", std::vector<int64_t>{1, 2}),
                               arg("normalization", int64_t{2}), arg("last_dim_size", int64_t{7})},
                              "back");
  Tensor input = ramp({2, 4, 7});
  Tensor result = h.run_one(back, {{"x", input}});
  ASSERT_EQ(result.dims(), (Dims{2, 4, 7}));
  std::vector<double> want = input.to_double_vector(), got = result.to_double_vector();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5);
}

// A complex tensor reaching a converter that does not take complex values is refused,
// naming it, rather than computed on as if its pair were real.
TEST(AtenFft, ComplexTensorsReachOnlyComplexConverters) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{4});
  ir::Value* spectrum = h.convert("aten.fft_fft.default", {arg("self", x)}, "spectrum");
  EXPECT_THAT(h.conversion_error("aten.exp.default", {arg("self", spectrum)}),
              HasSubstr("argument 'self' is a complex tensor"));
}

}  // namespace
}  // namespace kiln::torch
