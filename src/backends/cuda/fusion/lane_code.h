// Per-thread code both generators emit (pointwise_codegen.cpp, row_codegen.cpp): vector loads
// of packed operands, one element's operand reads, the members' math, output packs.
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cuda/fusion/pointwise_codegen.h"

namespace kiln::cuda::lane {

// Register names of the values computed so far: operands "x3", members "v5".
using Names = std::map<const ir::Value*, std::string>;

// Declares pack p<j> for each input in `inputs` read as Pack or Inner, loaded at element
// `base` (Inner: at base % its size, or at `inner_base` where one is given).
void load_packs(std::ostringstream& out, const GroupSpec& group, const GeneratedKernel& kernel,
                const std::set<size_t>& inputs, const std::string& base,
                const std::string& inner_base = "");
// Reads lane l of each input in `inputs` into register x<j> (element index `i`).
void read_operands(std::ostringstream& out, const GroupSpec& group, const GeneratedKernel& kernel,
                   const std::set<size_t>& inputs, bool narrow_index, Names& names);
// Computes `nodes` (pointwise members) into v<k> registers, k their index in group.nodes.
void compute(std::ostringstream& out, const GroupSpec& group,
             const std::vector<const ir::Node*>& nodes, Names& names);
// Declares output packs q<k> for `outputs`, sets their lane l, stores them at `base`.
void declare_outputs(std::ostringstream& out, const GroupSpec& group,
                     const std::set<size_t>& outputs);
void set_outputs(std::ostringstream& out, const GroupSpec& group, const std::set<size_t>& outputs,
                 const Names& names);
void store_outputs(std::ostringstream& out, const GroupSpec& group, const std::set<size_t>& outputs,
                   const std::string& base);

// The inputs the given nodes read directly, by index in group.inputs.
std::set<size_t> inputs_read_by(const GroupSpec& group, const std::vector<const ir::Node*>& nodes);

}  // namespace kiln::cuda::lane
