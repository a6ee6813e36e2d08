// The cache of timed cuDNN convolution algorithms per problem, owned next to a LaunchContext
// (like GemmPlanCache): a problem is timed once, then its winner is reused.
#pragma once

#include <cudnn.h>

#include <array>
#include <compare>
#include <cstdint>
#include <map>

#include "core/dtype.h"

namespace kiln::cuda {

// A 2-D convolution as cuDNN sees it (after any explicit padding of the input). Dims are
// logical whatever the layout: channels_last stores x and y as NHWC and w as K, R, S, C / groups.
struct ConvProblem {
  std::array<int64_t, 4> x{};  // N, C, H, W
  std::array<int64_t, 4> w{};  // K, C / groups, R, S
  bool channels_last = false;
  std::array<int64_t, 2> pad{}, stride{}, dilation{};
  int64_t groups = 1;
  DType dtype = DType::Float32;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace_size = 0;
  auto operator<=>(const ConvProblem&) const = default;
};

struct ConvPlan {
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // what the algorithm was timed with
};

class ConvPlanCache {
 public:
  const ConvPlan* find(const ConvProblem& problem) const {
    auto it = plans_.find(problem);
    return it == plans_.end() ? nullptr : &it->second;
  }
  void insert(const ConvProblem& problem, const ConvPlan& plan) { plans_[problem] = plan; }
  size_t size() const { return plans_.size(); }

 private:
  std::map<ConvProblem, ConvPlan> plans_;
};

}  // namespace kiln::cuda
