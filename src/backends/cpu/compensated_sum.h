// A running sum in the element type with Kahan-style compensation: float32 accumulation (the
// contract) whose error stays near one rounding instead of growing with the length.
#pragma once

#include <cmath>
#include <type_traits>

namespace kiln::cpu {

template <typename T>
class CompensatedSum {
 public:
  void add(T x) {
    if constexpr (std::is_floating_point_v<T>) {
      // The previous step's lost low-order bits go into this addend (as in Kahan's method,
      // so the correction stays below one ulp of the sum); the new loss is computed exactly
      // whichever operand is larger (as in Neumaier's), and skipped once the sum is not
      // finite, where it would be NaN.
      const T addend = x + compensation_;
      const T total = sum_ + addend;
      compensation_ = !std::isfinite(total)                ? T(0)
                      : std::abs(sum_) >= std::abs(addend) ? (sum_ - total) + addend
                                                           : (addend - total) + sum_;
      sum_ = total;
    } else {
      sum_ = static_cast<T>(static_cast<std::make_unsigned_t<T>>(sum_) +
                            static_cast<std::make_unsigned_t<T>>(x));  // integers wrap
    }
  }
  T value() const { return sum_ + compensation_; }

 private:
  T sum_ = 0;
  T compensation_ = 0;
};

}  // namespace kiln::cpu
