// From a storage plan's fusion groups to generated kernels: each group's operands with the
// dtypes and dims they are planned in, and the build-time compile of them all (the cubins an
// engine file keeps, so that loading it compiles nothing).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/cuda/fusion/pointwise_codegen.h"
#include "backends/cuda/runtime/plan/storage_plan.h"

namespace kiln::cuda {

// The plan options of the CUDA runtime: fusion on or off, and a fusible node without a CUDA
// kernel (Abs) a group of its own. Contexts, the build's compile and inspect all plan so.
PlanOptions cuda_plan_options(bool fuse_groups = true);

// One GroupSpec per plan.groups entry, in order: operands with their planned dtypes and dims.
std::vector<GroupSpec> group_specs(const StoragePlan& plan);

// One fusion group as `kiln inspect` shows it.
struct FusionGroupInfo {
  std::string label;   // its ops: "Add+LayerNormalization"
  std::string kernel;  // the generated kernel's name
  std::vector<std::string> nodes;
  int64_t row_length = 0;  // 0: elementwise
};

// The fusion groups of `graph` specialized to `input_dims`, as an execution context makes them.
std::vector<FusionGroupInfo> describe_fusion_groups(const ir::Graph& graph,
                                                    const std::map<std::string, Dims>& input_dims);

// The cubins (by kernel name) of every fusion group of `graph` specialized to `input_dims`,
// compiled by NVRTC for `compute_capability`, or taken from `known` (cubins for the same
// architecture and compiler, by kernel name) where it has them. No GPU needed.
std::map<std::string, std::string> compile_fusion_kernels(
    const ir::Graph& graph, const std::map<std::string, Dims>& input_dims, int compute_capability,
    const std::map<std::string, std::string>& known = {});

}  // namespace kiln::cuda
