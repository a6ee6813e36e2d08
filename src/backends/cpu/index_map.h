// Index maps for numpy-style broadcasting in the CPU kernels of matmul, conv and attention:
// for each element of a broadcast result, which element of a (smaller) source it reads; and
// gathers by one source index per output index on each axis (Pad, nearest Resize).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/broadcast.h"
#include "core/error.h"
#include "core/tensor.h"

namespace kiln::cpu {

// For every linear index of `target`, the linear index of `source` that broadcasts to it
// (dims aligned from the right; a source dim must be 1 or equal). `context` names the node
// and operand for the error message.
inline std::vector<int64_t> broadcast_source_index(const Dims& source, const Dims& target,
                                                   const std::string& context) {
  int64_t rank = static_cast<int64_t>(target.size());
  int64_t offset = rank - static_cast<int64_t>(source.size());
  check(offset >= 0, ErrorKind::InvalidModel, context, ": shape ", dims_to_string(source),
        " has more dims than ", dims_to_string(target));
  std::vector<int64_t> source_stride(static_cast<size_t>(rank), 0);
  int64_t stride = 1;
  for (int64_t axis = rank - 1; axis >= offset; --axis) {
    int64_t dim = source[static_cast<size_t>(axis - offset)];
    check(dim == 1 || dim == target[static_cast<size_t>(axis)], ErrorKind::InvalidModel, context,
          ": shape ", dims_to_string(source), " does not broadcast to ", dims_to_string(target));
    source_stride[static_cast<size_t>(axis)] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  std::vector<int64_t> index(static_cast<size_t>(element_count(target)));
  std::vector<int64_t> coord(static_cast<size_t>(rank), 0);
  int64_t source_index = 0;
  for (auto& entry : index) {
    entry = source_index;
    // Odometer step: bump the last coordinate, carrying into earlier ones.
    for (int64_t axis = rank - 1; axis >= 0; --axis) {
      auto a = static_cast<size_t>(axis);
      source_index += source_stride[a];
      if (++coord[a] < target[a]) break;
      source_index -= source_stride[a] * coord[a];
      coord[a] = 0;
    }
  }
  return index;
}

// The numpy broadcast of two shapes; fails naming `context` if they are incompatible.
inline Dims broadcast_dims(const Dims& a, const Dims& b, const std::string& context) {
  size_t rank = std::max(a.size(), b.size());
  Dims result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    check(da == db || da == 1 || db == 1, ErrorKind::InvalidModel, context, ": shapes ",
          dims_to_string(a), " and ", dims_to_string(b), " do not broadcast");
    result[i] = da == 1 ? db : da;
  }
  return result;
}

// A tensor of `out_dims` whose element (i0, i1, ...) is x's element (maps[0][i0], maps[1][i1],
// ...), copied bytewise (any dtype); where an axis's map holds -1 it is `fill` instead (one
// element of x's dtype; required when a map holds -1).
inline Tensor gather_by_axis_maps(const Tensor& x, const Dims& out_dims,
                                  const std::vector<std::vector<int64_t>>& maps,
                                  const Tensor* fill = nullptr) {
  Tensor out(x.dtype(), out_dims);
  const size_t rank = out_dims.size();
  const size_t width = dtype_size(x.dtype());
  const Strides in_strides = contiguous_strides(x.dims());
  const auto* in = static_cast<const unsigned char*>(x.raw());
  auto* result = static_cast<unsigned char*>(out.raw_mutable());
  Dims index(rank, 0);  // the output element's index, advanced like an odometer
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    int64_t offset = 0;
    bool filled = false;
    for (size_t d = 0; d < rank && !filled; ++d) {
      const int64_t source = maps[d][static_cast<size_t>(index[d])];
      filled = source < 0;
      offset += source * in_strides[d];
    }
    const void* from = filled ? fill->raw() : in + static_cast<size_t>(offset) * width;
    std::memcpy(result + static_cast<size_t>(flat) * width, from, width);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < out_dims[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace kiln::cpu
