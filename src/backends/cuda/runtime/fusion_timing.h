// The builder's fused-or-not choice: every fusion group timed as its generated kernel against
// its nodes run one by one (each side with the casts at its values), at the build's dims.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::cuda {

struct FusionTiming {
  std::string label;  // "Add+LayerNormalization"
  std::vector<std::string> members;
  double fused_ms = 0;
  double unfused_ms = 0;
  bool kept = true;  // false: slower fused, its nodes marked passes::kFusionAttribute "off"
};

// Times every fusion group of `graph` (precisions assigned) at `input_dims` on the current GPU
// and marks the nodes of each group that is not faster fused with fusion="off". Needs a GPU.
// `cubins` (optional; by kernel name, for this GPU and compiler): generated kernels compiled
// before, used instead of compiling them again; on return it also holds every kernel the
// timing compiled.
std::vector<FusionTiming> choose_fusion_by_timing(
    ir::Graph& graph, const std::map<std::string, Dims>& input_dims, size_t workspace_bytes,
    std::map<std::string, std::string>* cubins = nullptr);

}  // namespace kiln::cuda
