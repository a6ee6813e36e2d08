// TorchScript calls are positional (torch.linear(x, weight, bias)); this table gives, per
// torch.* function, its ATen overloads with argument names in schema order, so that calls
// become the named arguments that the shared ATen converters read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::torchscript {

// What a positional argument must be for an overload to match (add.Tensor vs add.Scalar).
enum class ArgKind { Any, Tensor, Number, Device, List, String };

struct SchemaArgument {
  std::string name;
  ArgKind kind = ArgKind::Any;
};

struct TorchOverload {
  std::string target;  // "aten.add.Tensor"
  std::vector<SchemaArgument> arguments;
  size_t required = 0;  // leading arguments a call must give
};

// The overloads of `function` ("linear", "add_"), most specific first; null when unknown.
const std::vector<TorchOverload>* find_torch_overloads(std::string_view function);
// Every function the table knows, for messages.
std::vector<std::string> torch_functions();

}  // namespace kiln::torchscript
