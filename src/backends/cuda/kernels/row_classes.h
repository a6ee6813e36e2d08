// Row classes: how a product writes rows whose length is not a multiple of 16 bytes (GPT-2's
// 50257 logits) with cuBLASLt's fast kernels, whose TMA stores need a 16-byte-aligned base and
// row pitch. Rows r = c, c + G, c + 2G, ... (class c of G) are G rows apart, a pitch of G rows
// that is a multiple of 16 bytes; class c's first row starts `shift(c)` elements past an
// aligned address. Each class is one product over those rows, of `shift(c)` more columns, from
// that aligned address: its first `shift(c)` columns land on the end of the row before, which
// belongs to class c - 1. Running the classes from G - 1 down to 0 leaves every row right: a
// row's tail is overwritten by its own class after the class above wrote there. The extra
// leading columns are products with extra leading weight rows ([lead + N, K], lead >= every
// shift), which is what passes::pad_matmul_columns gives such a product.
// Pure arithmetic, shared by the storage plan (whether to fold) and the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>

namespace kiln::cuda {

inline constexpr int64_t kRowClassAlignment = 16;  // bytes

struct RowClasses {
  int64_t count = 1;      // G
  int64_t row_bytes = 0;  // one output row
  int64_t element = 1;    // bytes per output element

  // Columns class c writes before its rows' first: past the aligned address below it.
  int64_t shift(int64_t c) const { return (c * row_bytes % kRowClassAlignment) / element; }
  int64_t max_shift() const { return (kRowClassAlignment - element) / element; }
};

// The classes of output rows `kept` elements of `element` bytes long (count 1: rows already
// aligned). `element` must divide 16.
inline RowClasses row_classes(int64_t kept, size_t element) {
  RowClasses classes;
  classes.element = int64_t(element);
  classes.row_bytes = kept * classes.element;
  classes.count = kRowClassAlignment / std::gcd(kRowClassAlignment, classes.row_bytes);
  return classes;
}

// Whether a product of rows of `inner` elements of `ab_element` bytes, by a [lead + kept,
// inner] weight, written cropped to its last `kept` columns as `out_element`-byte elements,
// runs by row classes: every operand address and pitch then stays 16-byte aligned.
inline bool row_classes_fit(int64_t inner, size_t ab_element, int64_t lead, int64_t kept,
                            size_t out_element) {
  if (inner <= 0 || kept <= 0 || out_element == 0 || kRowClassAlignment % out_element != 0)
    return false;
  if (inner * int64_t(ab_element) % kRowClassAlignment != 0) return false;
  return lead >= row_classes(kept, out_element).max_shift();
}

}  // namespace kiln::cuda
