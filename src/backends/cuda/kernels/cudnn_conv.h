// Channels-last convolutions through cuDNN's graph API (cudnn-frontend): the convolution and
// its epilogue (bias, a residual add, ReLU, the cast to the output type) as one cuDNN graph,
// so the fused result is written once. cuDNN's fast tensor-core engines for NHWC live here;
// the legacy API (conv_plan.h) stays as the fallback for the problems this path refuses.
//
// Engine choice: a new problem's candidate engine configurations (cuDNN's heuristics, then its
// fallback list) are built, each is timed on the caller's tensors, and the fastest is kept as
// its engine id and knobs in the shared ConvPlanCache, which the engine file stores; a
// process that loads the engine rebuilds exactly that configuration instead of timing again.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backends/cuda/kernels/conv_plan.h"

namespace kiln::cuda {

// Built graphs per problem, owned with one context's launch resources (like SdpaPlanCache):
// a built execution plan is tied to the handle it was built for. Not thread-safe.
class ConvGraphCache {
 public:
  ConvGraphCache();
  ~ConvGraphCache();
  ConvGraphCache(const ConvGraphCache&) = delete;
  ConvGraphCache& operator=(const ConvGraphCache&) = delete;

  struct Entry;
  std::map<ConvProblem, std::unique_ptr<Entry>>& entries() { return entries_; }

 private:
  std::map<ConvProblem, std::unique_ptr<Entry>> entries_;
};

// y = [relu](conv(x, w) [+ bias] [+ residual]) for a channels_last `problem` (x, residual and
// y NHWC, w K·R·S·C/groups, bias K elements), as one cuDNN graph on resources.stream, with
// problem.pad before and problem.pad_end after each spatial dim. Returns "" once launched;
// else, having launched nothing, why cuDNN's graph API does not run the problem (the caller
// then takes the legacy path). `space` is cuDNN's workspace. Throws LaunchError where an
// accepted problem fails to launch.
std::string run_conv_graph(const ConvResources& resources, const ConvProblem& problem,
                           const std::array<int64_t, 4>& y_dims, const void* x, const void* w,
                           const void* bias, const void* residual, void* y, void* space,
                           size_t space_size);

// How many convolutions this process launched through the graph API (tests and diagnostics
// tell the graph route from the legacy fallback by it).
int64_t cudnn_graph_conv_launches();

}  // namespace kiln::cuda
