// The GPU side of a Python Context (objects.h), shared by context.cpp and context_device.cpp.
#pragma once

#include <array>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "objects.h"
#ifdef KILN_HAS_CUDA
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/execution_context.h"
#endif

namespace kiln::python {

#ifdef KILN_HAS_CUDA
// With CUDA graphs, whether a caller's tensor is bound in place (a graph replayed with its
// address) or copied through the context's own buffer, which the graph captured without it
// holds. A tensor is bound when its address is one of the last two it came at: a static
// input, a preallocated output, or outputs alternating between two buffers (torch's allocator
// does that when the caller keeps the previous result) replay graphs captured once per
// address; an address seen for the first time is copied, so that tensors at ever new
// addresses never capture a graph per call. After kMaxCaptures captures a context copies
// everything, which one graph serves.
class BindingPolicy {
 public:
  static constexpr int kMaxCaptures = 16;
  bool bind(const std::string& name, void* address) {
    std::array<void*, 2>& recent = recent_[name];
    bool seen = recent[0] == address || recent[1] == address;
    if (recent[0] != address) recent = {address, recent[0]};
    return seen && captures_ <= kMaxCaptures;
  }
  // A run is about to capture a graph (or make the plain first run).
  void capturing() { ++captures_; }

 private:
  int captures_ = 0;
  std::map<std::string, std::array<void*, 2>> recent_;
};

// The runtime contexts of one Python Context, by input dims.
struct Context::Gpu {
  struct Entry {
    std::map<std::string, Dims> dims;
    std::unique_ptr<cuda::ExecutionContext> context;
    BindingPolicy binding;
  };
  // A caller's device memory for input or output `name` (launch).
  struct Bound {
    const std::string* name;
    void* data;
    size_t bytes;
  };
  std::shared_ptr<cuda::Engine> engine;
  size_t capacity = 4;
  // Most recently used first.
  std::list<Entry> contexts;
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
  // For timing `context` on `caller`: a few enqueues (planning, algorithm choice, graph
  // capture if wanted), waited for; returns the stream to enqueue the timed runs on.
  cudaStream_t warm_up(cudaStream_t caller, cuda::ExecutionContext& context, bool cuda_graph) {
    cudaStream_t warmup = work_stream(caller, context, cuda_graph);
    for (int i = 0; i < 3; ++i) context.enqueue(warmup);
    join(caller, warmup);
    KILN_CUDA_CHECK(cudaStreamSynchronize(caller));
    return work_stream(caller, context, cuda_graph);
  }
  // One run of `entry`'s context on the caller's memory, in order on `caller`
  // (context_device.cpp).
  void launch(Entry& entry, const std::vector<Bound>& inputs, const std::vector<Bound>& outputs,
              cudaStream_t caller, bool cuda_graph);
  static bool is_default_stream(cudaStream_t stream) {
    return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
  }

  Entry& entry(const std::map<std::string, Dims>& dims, bool cuda_graph) {
    for (auto it = contexts.begin(); it != contexts.end(); ++it) {
      if (it->dims != dims) continue;
      contexts.splice(contexts.begin(), contexts, it);
      return contexts.front();
    }
    auto context = std::make_unique<cuda::ExecutionContext>(engine, dims);
    if (cuda_graph) context->use_cuda_graph(true);  // throws naming nodes that run on the host
    if (contexts.size() >= capacity) contexts.pop_back();
    contexts.push_front(Entry{dims, std::move(context), {}});
    return contexts.front();
  }
  cuda::ExecutionContext& get(const std::map<std::string, Dims>& dims, bool cuda_graph) {
    return *entry(dims, cuda_graph).context;
  }
};
#else
struct Context::Gpu {};
#endif

}  // namespace kiln::python
