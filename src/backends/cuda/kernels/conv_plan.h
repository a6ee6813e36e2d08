// A 2-D convolution through cuDNN's convolution API over raw pointers (run_conv, in
// conv_plan.cpp) and the cache of timed algorithms per problem, owned next to the launch
// resources (like GemmPlanCache): a problem is timed once, then its winner is reused.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/dtype.h"

namespace kiln::cuda {

// A 2-D convolution as cuDNN sees it (after any explicit padding of the input). Dims are
// logical whatever the layout: channels_last stores x and y as NHWC and w as K, R, S, C / groups.
// The epilogue fields matter to the graph-API path (cudnn_conv.h), which fuses them into the
// convolution; the legacy path leaves them false and pad_end equal to pad.
struct ConvProblem {
  std::array<int64_t, 4> x{};  // N, C, H, W
  std::array<int64_t, 4> w{};  // K, C / groups, R, S
  bool channels_last = false;
  std::array<int64_t, 2> pad{}, stride{}, dilation{};
  std::array<int64_t, 2> pad_end{};  // after the last row / column
  int64_t groups = 1;
  DType dtype = DType::Float32;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace_size = 0;
  bool bias = false;       // + a per-channel bias
  bool residual = false;   // + a tensor shaped like y (a residual connection)
  bool relu = false;       // then max(0, ·)
  bool silu = false;       // or then x·sigmoid(x)
  bool graph_api = false;  // a cudnn_conv.h problem (its choices are engine configurations)
  auto operator<=>(const ConvProblem&) const = default;
};

struct ConvPlan {
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // what the algorithm was timed with
  // Read from an engine file (tuned_algorithms.h): checked against this cuDNN before first use.
  bool from_file = false;
  // A graph-API choice (cudnn_conv.h): cuDNN's engine id and knob choices; -1: a legacy one.
  int64_t engine = -1;
  std::vector<std::pair<int64_t, int64_t>> knobs;
};

// Shared by the execution contexts of an engine and safe from their threads (GemmPlanCache).
class ConvPlanCache {
 public:
  std::optional<ConvPlan> find(const ConvProblem& problem) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(problem);
    if (it == plans_.end()) return std::nullopt;
    return it->second;
  }
  // Remembers `plan` unless another thread remembered one first; returns the one kept.
  ConvPlan insert(const ConvProblem& problem, const ConvPlan& plan) {
    std::lock_guard<std::mutex> lock(mutex_);
    return plans_.try_emplace(problem, plan).first->second;
  }
  // A choice read from an engine file (replacing any other), to be checked before first use.
  void preload(const ConvProblem& problem, ConvPlan plan) {
    std::lock_guard<std::mutex> lock(mutex_);
    plan.from_file = true;
    plans_[problem] = plan;
  }
  // After the check: `problem`'s choice runs as it is (ok) or is timed again (not ok).
  void settle(const ConvProblem& problem, bool ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(problem);
    if (it == plans_.end() || !it->second.from_file) return;  // another thread settled it
    if (ok) {
      it->second.from_file = false;
    } else {
      plans_.erase(it);
    }
  }
  // Every choice, for the engine file.
  std::vector<std::pair<ConvProblem, ConvPlan>> entries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {plans_.begin(), plans_.end()};
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return plans_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::map<ConvProblem, ConvPlan> plans_;
};

// What run_conv runs with: the caller's cuDNN handle and stream, and the timed plans (null:
// take the heuristic's first usable choice, time nothing).
class ConvGraphCache;  // cudnn_conv.h

struct ConvResources {
  cudnnHandle_t cudnn = nullptr;
  cudaStream_t stream = nullptr;
  ConvPlanCache* plans = nullptr;
  ConvGraphCache* graphs = nullptr;  // built cuDNN graphs; null: legacy API only
};

// y (y_dims: N, K, H, W logically, in problem's layout) = conv(x, w) [+ bias (K elements,
// null: none)], then ReLU when `relu`: as one cuDNN conv-bias-ReLU call where cuDNN supports
// it, else convolution, bias and an in-place ReLU. x is already padded as `problem` says;
// `space` (space_size bytes, problem.workspace_size) is cuDNN's workspace. With plans set and
// no stream capture in progress, a new problem's algorithms are timed once (cuDNN's Find,
// which syncs). Throws LaunchError where cuDNN cannot run it (the caller names the node).
void run_conv(const ConvResources& resources, const ConvProblem& problem,
              const std::array<int64_t, 4>& y_dims, const void* x, const void* w, const void* bias,
              bool relu, void* y, void* space, size_t space_size);

// ConvTranspose as the data gradient of a convolution: dx (dx_dims: N, M, H, W) =
// conv_transpose(dy, w) [+ bias (M elements)], where `problem` is the forward convolution
// from dx to dy (problem.x = dx_dims, problem.w = [C, M / groups, R, S], y_dims = dy's N, C, H,
// W; NCHW, one pad per dim). The algorithm is cuDNN's heuristic's first usable one, exact FMA
// for FP32. Throws LaunchError where cuDNN cannot run it.
void run_conv_transpose(const ConvResources& resources, const ConvProblem& problem,
                        const std::array<int64_t, 4>& dy_dims, const void* dy, const void* w,
                        const void* bias, void* dx, void* space, size_t space_size);

}  // namespace kiln::cuda
