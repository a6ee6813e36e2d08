// Splits a loop over [0, count) across hardware threads. Threads are started per call, so
// use it for coarse work (rows of a matrix product, output channels of a convolution).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace kiln {

// Calls body(begin, end) on disjoint chunks that cover [0, count). `min_chunk` keeps tiny
// loops on the calling thread, where starting threads would cost more than the work.
inline void parallel_for(int64_t count, int64_t min_chunk,
                         const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
  int64_t hardware = std::max<int64_t>(1, std::thread::hardware_concurrency());
  int64_t workers = std::clamp<int64_t>(count / std::max<int64_t>(1, min_chunk), 1, hardware);
  if (workers == 1) {
    body(0, count);
    return;
  }
  int64_t chunk = (count + workers - 1) / workers;
  std::vector<std::jthread> threads;
  for (int64_t begin = chunk; begin < count; begin += chunk) {
    threads.emplace_back(
        [&body, begin, chunk, count] { body(begin, std::min(count, begin + chunk)); });
  }
  body(0, std::min(count, chunk));
}

}  // namespace kiln
