// Layout permutations of 4-D tensors, moving whole elements as bytes.
#include "backends/cpu/channels_last.h"

#include <array>
#include <cstring>

#include "core/error.h"

namespace kiln::cpu {

Tensor permute_4d(const Tensor& tensor, const std::array<size_t, 4>& perm) {
  check(tensor.rank() == 4, ErrorKind::InvalidArgument,
        "layout change: expected a 4-D tensor, got ", dims_to_string(tensor.dims()));
  const Dims& in = tensor.dims();
  Dims out_dims{in[perm[0]], in[perm[1]], in[perm[2]], in[perm[3]]};
  std::array<int64_t, 4> in_strides{in[1] * in[2] * in[3], in[2] * in[3], in[3], 1};
  std::array<int64_t, 4> strides{in_strides[perm[0]], in_strides[perm[1]], in_strides[perm[2]],
                                 in_strides[perm[3]]};
  Tensor out(tensor.dtype(), out_dims);
  size_t size = dtype_size(tensor.dtype());
  const auto* src = static_cast<const char*>(tensor.raw());
  auto* dst = static_cast<char*>(out.raw_mutable());
  for (int64_t a = 0; a < out_dims[0]; ++a) {
    for (int64_t b = 0; b < out_dims[1]; ++b) {
      for (int64_t c = 0; c < out_dims[2]; ++c) {
        const char* row = src + (a * strides[0] + b * strides[1] + c * strides[2]) * int64_t(size);
        for (int64_t d = 0; d < out_dims[3]; ++d, dst += size) {
          std::memcpy(dst, row + d * strides[3] * int64_t(size), size);
        }
      }
    }
  }
  return out;
}

Tensor to_channels_last(const Tensor& tensor) { return permute_4d(tensor, {0, 2, 3, 1}); }

Tensor to_channels_first(const Tensor& tensor) { return permute_4d(tensor, {0, 3, 1, 2}); }

}  // namespace kiln::cpu
