// Broadcast dims and strides, and the byte-moving strided copy shared by data movement ops.
#include "backends/cpu/broadcast.h"

#include <cstring>

#include "core/error.h"
#include "core/strides.h"

namespace kiln::cpu {
namespace {

// Copies one element of kSize bytes per visit; memcpy of a constant size compiles to a move
// and, unlike a typed pointer, is valid for every element type.
template <size_t kSize>
void copy_elements(const std::byte* in, std::byte* out, const Dims& dims, const Strides& strides,
                   int64_t base_offset, int64_t count) {
  parallel_for(count, kParallelGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for_each_strided<1>(dims, {strides}, begin, end,
                        [&](const std::array<int64_t, 1>& at) {
                          std::memcpy(out + (i++) * kSize, in + at[0] * kSize, kSize);
                        },
                        {base_offset});
  });
}

}  // namespace

Strides contiguous_strides(const Dims& dims) { return row_major_strides(dims); }

Dims broadcast_dims(const std::vector<Dims>& shapes, const std::string& context) {
  size_t rank = 0;
  for (const Dims& dims : shapes) rank = std::max(rank, dims.size());
  Dims out(rank, 1);
  for (const Dims& dims : shapes) {
    const size_t shift = rank - dims.size();
    for (size_t d = 0; d < dims.size(); ++d) {
      int64_t& target = out[shift + d];
      if (dims[d] == target || dims[d] == 1) continue;
      if (target != 1) {
        std::string all;
        for (const Dims& each : shapes) all += (all.empty() ? "" : " and ") + dims_to_string(each);
        fail(ErrorKind::InvalidArgument, context, ": cannot broadcast dims ", all,
             " (each axis must match or be 1)");
      }
      target = dims[d];
    }
  }
  return out;
}

Strides broadcast_strides(const Dims& in_dims, const Dims& out_dims) {
  check(in_dims.size() <= out_dims.size(), ErrorKind::InvalidArgument, "cannot broadcast ",
        dims_to_string(in_dims), " to ", dims_to_string(out_dims));
  const Strides dense = contiguous_strides(in_dims);
  const size_t shift = out_dims.size() - in_dims.size();
  Strides strides(out_dims.size(), 0);
  for (size_t d = 0; d < in_dims.size(); ++d) {
    check(in_dims[d] == out_dims[shift + d] || in_dims[d] == 1, ErrorKind::InvalidArgument,
          "cannot broadcast ", dims_to_string(in_dims), " to ", dims_to_string(out_dims));
    strides[shift + d] = in_dims[d] == 1 ? 0 : dense[d];
  }
  return strides;
}

Tensor strided_copy(const Tensor& in, const Dims& out_dims, const Strides& strides,
                    int64_t base_offset) {
  check(strides.size() == out_dims.size(), ErrorKind::InvalidArgument,
        "strided_copy: ", strides.size(), " strides for dims ", dims_to_string(out_dims));
  Tensor out(in.dtype(), out_dims);
  if (out.numel() == 0) return out;
  const auto* src = static_cast<const std::byte*>(in.raw());
  auto* dst = static_cast<std::byte*>(out.raw_mutable());
  switch (dtype_size(in.dtype())) {
    case 1:
      copy_elements<1>(src, dst, out_dims, strides, base_offset, out.numel());
      break;
    case 2:
      copy_elements<2>(src, dst, out_dims, strides, base_offset, out.numel());
      break;
    case 4:
      copy_elements<4>(src, dst, out_dims, strides, base_offset, out.numel());
      break;
    case 8:
      copy_elements<8>(src, dst, out_dims, strides, base_offset, out.numel());
      break;
    default:
      fail(ErrorKind::Unsupported, "strided_copy: element size ", dtype_size(in.dtype()), " of ",
           dtype_name(in.dtype()));
  }
  return out;
}

}  // namespace kiln::cpu
