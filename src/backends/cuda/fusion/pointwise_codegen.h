// The pointwise kernel generator: one fusion group (passes/fusion_groups.h) with the dtypes
// its outside values are stored in becomes CUDA C++ source for one kernel, which NVRTC
// compiles (nvrtc_compiler.h). The source depends on the group's ops, dtypes and broadcast
// kinds, never on sizes, which the launch passes (FusedArgs), so one compiled kernel serves
// every batch size whose broadcast kinds agree.
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/fusion/fused_args.h"
#include "ir/graph.h"

namespace kiln::cuda {

// A value the group reads from memory or writes to it, in the dtype it is stored in there.
struct FusedOperand {
  const ir::Value* value = nullptr;
  DType dtype = DType::Undefined;
  Dims dims;
};

struct PointwiseGroup {
  std::vector<const ir::Node*> nodes;  // in graph order
  Dims domain;                         // every node's output dims
  std::vector<FusedOperand> inputs;    // read (scalar constants excepted: is_inlined_scalar)
  std::vector<FusedOperand> outputs;   // written; dims == domain
};

struct GeneratedKernel {
  std::string name;    // the scalar entry point; name + "_v" handles vector_width elements
  std::string source;  // CUDA C++ for NVRTC, without includes
  int vector_width = 1;
  std::string label;  // "Add+Gelu" for people
};

// Throws Unsupported naming the node if a member is not something the generator expresses
// (passes::is_fusible_pointwise says beforehand), or InvalidArgument if the group has more
// inputs or outputs than FusedArgs holds.
GeneratedKernel generate_pointwise_kernel(const PointwiseGroup& group);

// How input `input` of `group` is indexed at a launch: element i of the domain reads
// (i / div) % mod.
struct BlockIndex {
  int64_t div = 1;
  int64_t mod = 1;
};
BlockIndex block_index(const Dims& input, const Dims& domain);

// The launch arguments for `group` with its tensors at these addresses.
FusedArgs fused_args(const PointwiseGroup& group, const std::vector<const void*>& inputs,
                     const std::vector<void*>& outputs);

}  // namespace kiln::cuda
