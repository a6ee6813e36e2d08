// Numpy broadcasting and strided index iteration for CPU kernels: broadcast dims, element
// strides that repeat broadcast axes, a row-major walker, and a broadcasting element map.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"

namespace kiln::cpu {

// Element strides (not bytes), one per axis.
using Strides = std::vector<int64_t>;

// Row-major strides of a dense tensor of `dims`.
Strides contiguous_strides(const Dims& dims);

// The numpy broadcast of several dims; throws InvalidArgument naming `context` (e.g. the
// node's describe()) when two dims differ and neither is 1.
Dims broadcast_dims(const std::vector<Dims>& shapes, const std::string& context);

// Strides for reading a dense tensor of `in_dims` as if it had `out_dims` (right-aligned,
// stride 0 on axes that are broadcast). `out_dims` must be a broadcast of `in_dims`.
Strides broadcast_strides(const Dims& in_dims, const Dims& out_dims);

// Visits the elements [begin, end) of a row-major iteration over `dims`, calling
// fn(offsets) with offsets[k] = base[k] + sum_d index[d] * strides[k][d] for each operand k.
// The innermost axis runs in a tight loop; outer axes advance like an odometer.
template <size_t N, typename Fn>
void for_each_strided(const Dims& dims, const std::array<Strides, N>& strides, int64_t begin,
                      int64_t end, Fn&& fn, std::array<int64_t, N> base = {}) {
  if (begin >= end) return;
  const size_t rank = dims.size();
  std::array<int64_t, N> offsets = base;
  if (rank == 0) {
    fn(static_cast<const std::array<int64_t, N>&>(offsets));
    return;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t rest = begin;
  for (size_t d = rank; d-- > 0;) {
    index[d] = rest % dims[d];
    rest /= dims[d];
    for (size_t k = 0; k < N; ++k) offsets[k] += index[d] * strides[k][d];
  }
  const size_t last = rank - 1;
  int64_t remaining = end - begin;
  while (true) {
    const int64_t run = std::min(dims[last] - index[last], remaining);
    for (int64_t i = 0; i < run; ++i) {
      fn(static_cast<const std::array<int64_t, N>&>(offsets));
      for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][last];
    }
    remaining -= run;
    if (remaining == 0) return;
    index[last] += run;
    // Carry into outer axes; `remaining > 0` guarantees the outermost axis never overflows.
    for (size_t d = last; index[d] == dims[d] && d > 0; --d) {
      for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d - 1] - dims[d] * strides[k][d];
      index[d] = 0;
      ++index[d - 1];
    }
  }
}

// A new tensor of `out_dims` and in.dtype() whose element i is the element of `in` at
// base_offset + sum_d index_i[d] * strides[d]: transposes, expands and slices in one routine.
// Moves elements by their byte size, so it works for every dtype.
Tensor strided_copy(const Tensor& in, const Dims& out_dims, const Strides& strides,
                    int64_t base_offset = 0);

// Loops at least this long are split across threads by map_broadcast.
inline constexpr int64_t kParallelGrain = int64_t{1} << 15;

template <typename T>
using TensorArg = const Tensor&;

// out[i] = fn(in_0[...], in_1[...], ...) over the numpy broadcast of the inputs' dims, e.g.
// map_broadcast<bool, float, float>(node.describe(), std::less<>{}, a, b). Input k must hold
// In_k. Large outputs are computed on several threads, so `fn` must not throw: validate
// (divisors, indices) before calling.
template <typename Out, typename... In, typename Fn>
Tensor map_broadcast(const std::string& context, Fn&& fn, TensorArg<In>... inputs) {
  constexpr size_t N = sizeof...(In);
  const Dims out_dims = broadcast_dims({inputs.dims()...}, context);
  Tensor out(DTypeOf<Out>::value, out_dims);
  Out* out_data = out.data_mutable<Out>();
  const std::tuple<const In*...> in_data{inputs.template data<In>()...};
  const bool all_dense = ((inputs.dims() == out_dims) && ...);
  const std::array<Strides, N> strides{broadcast_strides(inputs.dims(), out_dims)...};

  auto apply_at = [&]<size_t... K>(std::index_sequence<K...>, const std::array<int64_t, N>& at) {
    return fn(std::get<K>(in_data)[at[K]]...);
  };
  parallel_for(out.numel(), kParallelGrain, [&](int64_t begin, int64_t end) {
    if (all_dense) {
      std::array<int64_t, N> at{};
      for (int64_t i = begin; i < end; ++i) {
        at.fill(i);
        out_data[i] = apply_at(std::index_sequence_for<In...>{}, at);
      }
      return;
    }
    int64_t i = begin;
    for_each_strided<N>(out_dims, strides, begin, end, [&](const std::array<int64_t, N>& at) {
      out_data[i++] = apply_at(std::index_sequence_for<In...>{}, at);
    });
  });
  return out;
}

}  // namespace kiln::cpu
