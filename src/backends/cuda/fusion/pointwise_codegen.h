// The fusion-group kernel generator: one group (passes/fusion_groups.h) with the dtypes its
// outside values are stored in becomes CUDA C++ source for one kernel, which NVRTC compiles
// (nvrtc_compiler.h). A group without a row reduction becomes an elementwise kernel; a group
// around one (LayerNorm, Softmax) a kernel with one warp per row that keeps the row in
// registers (row_codegen.cpp). The source depends on the group's ops, dtypes, broadcast kinds
// and row length, never on the number of rows or elements, which the launch passes
// (FusedArgs), so one compiled kernel serves every batch size.
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/fusion/fused_args.h"
#include "backends/cuda/fusion/kernel_source.h"
#include "ir/graph.h"

namespace kiln::cuda {

// A value the group reads from memory or writes to it, in the dtype it is stored in there.
struct FusedOperand {
  const ir::Value* value = nullptr;
  DType dtype = DType::Undefined;
  Dims dims;
};

struct GroupSpec {
  std::vector<const ir::Node*> nodes;   // in graph order
  Dims domain;                          // every node's output dims
  std::vector<FusedOperand> inputs;     // read (scalar constants excepted: is_inlined_scalar)
  std::vector<FusedOperand> outputs;    // written; dims == domain
  const ir::Node* reduction = nullptr;  // the row reduction among `nodes`, if any
};

struct GeneratedKernel {
  std::string name;    // the scalar entry point; name + "_v" handles vector_width elements
  std::string source;  // CUDA C++ for NVRTC, without includes
  int vector_width = 1;
  int64_t row_length = 0;  // 0: elementwise (one thread per element); else one warp per row
  std::vector<source::Access> input_access;  // per input, how the kernel reads it
  std::string label;                         // "Add+LayerNormalization" for people

  // "fusion group Add+LayerNormalization": what a compile error names.
  std::string what() const { return "fusion group " + label; }
};

// Throws Unsupported naming the node if a member is not something the generator expresses
// (passes::is_fusible_pointwise / is_fusible_row_reduction say beforehand), or
// InvalidArgument if the group has more inputs or outputs than FusedArgs holds.
GeneratedKernel generate_kernel(const GroupSpec& group);

// The launch arguments for `group` with its tensors at these addresses.
FusedArgs fused_args(const GroupSpec& group, const std::vector<const void*>& inputs,
                     const std::vector<void*>& outputs);

// The rows-in-registers generator (row_codegen.cpp); generate_kernel calls it for a group
// with a reduction, with `kernel`'s input_access and label filled in.
GeneratedKernel generate_row_kernel(GeneratedKernel kernel, const GroupSpec& group);

// True for a group without a reduction that has a member over other dims than its domain (a
// slice, a concatenated piece, a broadcast value): indexed_codegen.cpp generates it.
bool is_index_group(const GroupSpec& group);

// The index-group generator (indexed_codegen.cpp); generate_kernel calls it.
GeneratedKernel generate_indexed_kernel(GeneratedKernel kernel, const GroupSpec& group);

// Elements per thread of the vector entry: 16 bytes of the narrowest packed operand.
int pack_width(const GroupSpec& group, const std::vector<source::Access>& access);

}  // namespace kiln::cuda
