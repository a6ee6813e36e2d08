// Index expressions (index_code.h). Each output dim d maps to its input coordinate
// start[d] + step[d] * coordinate (step 0: broadcast); runs of dims that map unchanged become
// one term, ((e / stride) % size) * input stride, and the outermost term needs no modulo.
#include "backends/cuda/fusion/index_code.h"

#include <vector>

#include "core/error.h"
#include "core/strides.h"

namespace kiln::cuda::index_code {
namespace {

// One term of a sum: ((e / div) % mod) * mul, without the parts that do nothing.
std::string term(const std::string& e, int64_t div, int64_t mod, bool outermost, int64_t mul) {
  std::string text = e;
  if (div != 1) text = "(" + text + " / " + std::to_string(div) + ")";
  if (!outermost) text = "(" + text + " % " + std::to_string(mod) + ")";
  if (mul != 1) text = text + " * " + std::to_string(mul);
  return text;
}

// The affine map: element e of `out` reads in[start[d] + step[d] * coordinate_d(e)].
std::string affine(const std::string& e, const Dims& out, const Dims& in, const Dims& start,
                   const Dims& step) {
  check(out.size() == in.size() && start.size() == out.size() && step.size() == out.size(),
        ErrorKind::Runtime, "index map of ", dims_to_string(out), " onto ", dims_to_string(in),
        ": ranks differ");
  const Dims out_strides = row_major_strides(out), in_strides = row_major_strides(in);
  int64_t offset = 0;
  for (size_t d = 0; d < out.size(); ++d) offset += start[d] * in_strides[d];
  size_t first_varying = 0;  // the outermost dim over more than one element
  while (first_varying < out.size() && out[first_varying] == 1) ++first_varying;
  // A dim read as it is: its coordinate is the input's (a dim of one on both sides too).
  auto unchanged = [&](size_t d) {
    return start[d] == 0 && in[d] == out[d] && (step[d] == 1 || out[d] == 1);
  };
  std::vector<std::string> terms;
  for (size_t d = out.size(); d-- > 0;) {
    if (out[d] == 1 || step[d] == 0) continue;
    if (!unchanged(d)) {
      terms.push_back(term(e, out_strides[d], out[d], d == first_varying, step[d] * in_strides[d]));
      continue;
    }
    // Take the run of unchanged dims that ends at d: one coordinate over all of them.
    size_t a = d;
    int64_t size = out[d];
    while (a > 0 && unchanged(a - 1)) {
      --a;
      size *= out[a];
    }
    terms.push_back(term(e, out_strides[d], size, a <= first_varying, in_strides[d]));
    d = a;
  }
  std::string text;
  for (const std::string& part : terms) text += (text.empty() ? "" : " + ") + part;
  if (offset != 0 || text.empty()) text += (text.empty() ? "" : " + ") + std::to_string(offset);
  return "(" + text + ")";
}

}  // namespace

std::string broadcast(const std::string& e, const Dims& out, const Dims& in) {
  if (in == out) return e;
  check(passes::broadcasts_onto(in, out), ErrorKind::Runtime, dims_to_string(in),
        " does not broadcast onto ", dims_to_string(out));
  Dims padded(out.size() - in.size(), 1);
  padded.insert(padded.end(), in.begin(), in.end());
  Dims step(out.size(), 1);
  for (size_t d = 0; d < out.size(); ++d) step[d] = padded[d] == 1 ? 0 : 1;
  return affine(e, out, padded, Dims(out.size(), 0), step);
}

std::string slice(const std::string& e, const Dims& out, const Dims& in,
                  const passes::SliceWindow& window) {
  return affine(e, out, in, window.starts, window.steps);
}

std::string coordinate(const std::string& e, const Dims& dims, size_t axis) {
  Dims strides = row_major_strides(dims);
  bool outermost = true;
  for (size_t d = 0; d < axis; ++d) outermost &= dims[d] == 1;
  return term(e, strides[axis], dims[axis], outermost, 1);
}

std::string concat_piece(const std::string& e, const std::string& c, const Dims& out,
                         const Dims& piece, size_t axis, int64_t offset) {
  const int64_t inner = row_major_strides(out)[axis];
  int64_t outer = 1;
  for (size_t d = 0; d < axis; ++d) outer *= out[d];
  std::string text;
  if (outer > 1)
    text = "(" + e + " / " + std::to_string(inner * out[axis]) + ") * " +
           std::to_string(inner * piece[axis]) + " + ";
  std::string along = offset == 0 ? c : "(" + c + " - " + std::to_string(offset) + ")";
  text += inner == 1
              ? along
              : along + " * " + std::to_string(inner) + " + " + e + " % " + std::to_string(inner);
  return "(" + text + ")";
}

}  // namespace kiln::cuda::index_code
