// The GPU side of a Python Context (objects.h), shared by context.cpp and context_device.cpp.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "objects.h"
#ifdef KILN_HAS_CUDA
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
