// The GPU side of a Python Context (objects.h), shared by context.cpp and context_device.cpp.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "objects.h"
#ifdef KILN_HAS_CUDA
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/execution_context.h"
#endif

namespace kiln::python {

#ifdef KILN_HAS_CUDA
// The runtime contexts of one Python Context, by input dims.
struct Context::Gpu {
  std::shared_ptr<cuda::Engine> engine;
  size_t capacity = 4;
  // Most recently used first.
  std::list<std::pair<std::map<std::string, Dims>, std::unique_ptr<cuda::ExecutionContext>>>
      contexts;
  // CUDA graphs cannot be captured on the legacy default stream (torch's default): a graph
  // context runs on a stream of its own, ordered after and before the caller's by events.
  cuda::Stream side_stream;
  cuda::Event caller_ready, work_done;

  // The stream to enqueue on for work the caller ordered on `caller`: `caller` itself, or,
  // while `context` has a graph still to capture and `caller` cannot capture, the side stream
  // (made to wait for `caller`). A captured graph is replayed on `caller` directly.
  cudaStream_t work_stream(cudaStream_t caller, const cuda::ExecutionContext& context,
                           bool cuda_graph) {
    if (!cuda_graph || !is_default_stream(caller) || context.replays_graph()) return caller;
    if (!side_stream.get()) {
      side_stream = cuda::create_stream();
      caller_ready = cuda::create_event();
      work_done = cuda::create_event();
    }
    KILN_CUDA_CHECK(cudaEventRecord(caller_ready.get(), caller));
    KILN_CUDA_CHECK(cudaStreamWaitEvent(side_stream.get(), caller_ready.get(), 0));
    return side_stream.get();
  }
  // After enqueueing on work_stream(caller): the caller's stream waits for the work.
  void join(cudaStream_t caller, cudaStream_t work) {
    if (work == caller) return;
    KILN_CUDA_CHECK(cudaEventRecord(work_done.get(), work));
    KILN_CUDA_CHECK(cudaStreamWaitEvent(caller, work_done.get(), 0));
  }
  static bool is_default_stream(cudaStream_t stream) {
    return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
  }

  cuda::ExecutionContext& get(const std::map<std::string, Dims>& dims, bool cuda_graph) {
    for (auto it = contexts.begin(); it != contexts.end(); ++it) {
      if (it->first != dims) continue;
      contexts.splice(contexts.begin(), contexts, it);
      return *contexts.front().second;
    }
    auto context = std::make_unique<cuda::ExecutionContext>(engine, dims);
    if (cuda_graph) context->use_cuda_graph(true);  // throws naming nodes that run on the host
    if (contexts.size() >= capacity) contexts.pop_back();
    contexts.emplace_front(dims, std::move(context));
    return *contexts.front().second;
  }
};
#else
struct Context::Gpu {};
#endif

}  // namespace kiln::python
