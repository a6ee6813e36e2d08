// Reading one node of a torch.export graph for the shared ATen converters: its arguments as
// Kiln values, its output slots, and a source location from its metadata.
#pragma once

#include <string>
#include <vector>

#include "frontends/pt2/pt2_json.h"
#include "frontends/torch/aten_node.h"

namespace kiln::pt2 {

// One Argument union ({"as_tensor": {...}}, {"as_ints": [...]}, ...) as a converter argument;
// tensor and size names resolve through `context`.
torch::Argument read_argument(const Json& argument, const torch::ConversionContext& context,
                              const std::string& where);
// The model's name for a tensor argument, or "" for other kinds.
std::string tensor_argument_name(const Json& argument);
std::vector<torch::OutputSlot> read_output_slots(const Json& outputs, const std::string& where);
// Every tensor and size name that `argument` reads.
void collect_reads(const Json& argument, std::vector<std::string>& names);
// "fc1 (Linear), File \".../linear.py\", line 134, in forward: return F.linear(...)", from
// the node's nn_module_stack (innermost module) and stack_trace (last frame); "" if neither.
std::string node_source(const Json& node);

}  // namespace kiln::pt2
