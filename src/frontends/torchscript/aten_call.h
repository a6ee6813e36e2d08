// One torch.* call of TorchScript source as an ATen node: picks the overload by argument
// kinds, names the positional arguments from the schema table, runs the shared converter.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "frontends/torch/aten_node.h"
#include "frontends/torchscript/script_value.h"

namespace kiln::torchscript {

struct ScriptCall {
  std::string function;  // "linear", "add_"
  std::vector<ScriptValue> positional;
  std::vector<std::pair<std::string, ScriptValue>> keywords;
  std::string name;    // a readable, not necessarily unique, name for the node
  std::string source;  // "code/__torch__.py line 12 (fc1)"
};

class AtenCaller {
 public:
  explicit AtenCaller(torch::ConversionContext& context) : context_(context) {}
  // The call's result: a tensor, a list of tensors (split, unbind) or a tuple of tensors
  // (max.dim, min.dim: values and indices).
  ScriptValue call(const ScriptCall& call);
  // A graph tensor for a tensor-like value (constants become graph constants once).
  ir::Value* tensor_of(const ScriptValue& value, const std::string& name);

 private:
  torch::Argument argument(const std::string& name, const ScriptValue& value,
                           const ScriptCall& call);
  size_t list_length(const std::string& target, const std::map<std::string, ScriptValue>& args,
                     const ScriptCall& call);

  torch::ConversionContext& context_;
  std::map<const Tensor*, ir::Value*> constants_;
  int counter_ = 0;
};

}  // namespace kiln::torchscript
