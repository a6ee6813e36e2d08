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

// The typed pointer expression of an operand's slot ("in[2]", "out[0]") in KilnFusedArgs a.
std::string pointer(const FusedOperand& operand, const std::string& slot, bool output);
std::string input_slot(size_t j);

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

// The entry points of an elementwise kernel around kiln_body<V>(a, base): one element a
// thread, and `vector_width` (the vector entry).
std::string elementwise_entries(int vector_width);

// The inputs the given nodes read directly, by index in group.inputs.
std::set<size_t> inputs_read_by(const GroupSpec& group, const std::vector<const ir::Node*>& nodes);

}  // namespace kiln::cuda::lane
