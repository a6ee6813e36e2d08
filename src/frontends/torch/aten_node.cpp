// ConversionContext and AtenNode: argument readers, output binding and node emission shared
// by every ATen converter.
#include "frontends/torch/aten_node.h"

#include <algorithm>

#include "ir/op_schema.h"

namespace kiln::torch {
namespace {

// A short name of an argument's kind for messages.
std::string_view kind_name(const Argument& argument) {
  static constexpr std::string_view kNames[] = {"None",         "tensor",
                                                "int",          "float",
                                                "bool",         "string",
                                                "int list",     "float list",
                                                "bool list",    "tensor list",
                                                "symbolic int", "symbolic int list",
                                                "scalar type",  "device/layout/format"};
  return kNames[argument.index()];
}

}  // namespace

ConversionContext::ConversionContext(ir::Graph& graph, std::string label)
    : graph_(graph), label_(std::move(label)) {}

void ConversionContext::define_tensor(const std::string& name, ir::Value* value) {
  check(value != nullptr, ErrorKind::InvalidModel, label_, ": tensor '", name,
        "' is bound to nothing");
  check(tensors_.count(name) == 0 && sym_ints_.count(name) == 0, ErrorKind::InvalidModel, label_,
        ": the value name '", name, "' is defined twice");
  tensors_[name] = value;
}

ir::Value* ConversionContext::find_tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

void ConversionContext::define_sym_int(const std::string& name, SymInt value) {
  check(tensors_.count(name) == 0 && sym_ints_.count(name) == 0, ErrorKind::InvalidModel, label_,
        ": the value name '", name, "' is defined twice");
  sym_ints_[name] = std::move(value);
}

const SymInt* ConversionContext::find_sym_int(const std::string& name) const {
  auto it = sym_ints_.find(name);
  return it == sym_ints_.end() ? nullptr : &it->second;
}

void ConversionContext::redefine_tensor(const std::string& name, ir::Value* value) {
  auto it = tensors_.find(name);
  check(it != tensors_.end() && value != nullptr, ErrorKind::InvalidModel, label_,
        ": cannot rebind the undefined tensor '", name, "'");
  it->second = value;
}

void ConversionContext::define_view(const std::string& name, TensorView view) {
  views_of_[view.base].push_back(name);
  views_[name] = std::move(view);
}

void ConversionContext::write_back_views(AtenNode& node, const std::string& name) {
  std::set<std::string> written = {name};
  std::string current = name;
  for (auto it = views_.find(current); it != views_.end(); it = views_.find(current)) {
    const TensorView& view = it->second;
    ir::Value* base = find_tensor(view.base);
    if (base == nullptr) break;  // the base is not a tensor the model names
    redefine_tensor(view.base, view.write_back(node, base, find_tensor(current)));
    current = view.base;
    written.insert(current);
  }
  read_views_again(node, current, written);
}

void ConversionContext::read_views_again(AtenNode& node, const std::string& base,
                                         const std::set<std::string>& written) {
  auto it = views_of_.find(base);
  if (it == views_of_.end()) return;
  for (const std::string& name : it->second) {
    if (written.count(name) == 0 && find_tensor(name) != nullptr) {
      redefine_tensor(name, views_.at(name).read(node, find_tensor(base)));
    }
    read_views_again(node, name, written);
  }
}

ir::Value* ConversionContext::constant(const std::string& base, Tensor tensor) {
  return graph_.add_constant(graph_.unique_name(base), std::move(tensor));
}

AtenNode::AtenNode(ConversionContext& context, std::string target, std::string name,
                   std::string source, std::vector<NamedArgument> arguments,
                   std::vector<OutputSlot> outputs)
    : context_(context),
      target_(std::move(target)),
      name_(std::move(name)),
      source_(std::move(source)),
      arguments_(std::move(arguments)),
      outputs_(std::move(outputs)) {}

std::string AtenNode::describe() const {
  std::string text = "node '" + name_ + "' (" + target_ + ")";
  if (!source_.empty()) text += " at " + source_;
  return text;
}

const Argument* AtenNode::find(std::string_view name) const {
  for (const NamedArgument& argument : arguments_) {
    if (argument.name == name) return &argument.value;
  }
  return nullptr;
}

bool AtenNode::has(std::string_view name) const {
  const Argument* argument = find(name);
  return argument != nullptr && !std::holds_alternative<NoneArg>(*argument);
}

const Argument& AtenNode::required(std::string_view name) const {
  const Argument* argument = find(name);
  if (argument == nullptr || std::holds_alternative<NoneArg>(*argument)) {
    invalid("the required argument '", name, "' is missing");
  }
  return *argument;
}

// What takes complex tensors (aten_fft.cpp, aten_complex.cpp), for refusals.
constexpr const char* kComplexOps =
    "FFTs, views, slices, copies, + - * /, conj, abs, real, imag and view_as_real";

ir::Value* AtenNode::tensor(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* value = std::get_if<ir::Value*>(&argument)) {
    if (!complex_aware_ && *value != nullptr && context_.is_complex(*value)) {
      unsupported("argument '", name, "' is a complex tensor, which Kiln takes only into ",
                  kComplexOps);
    }
    return *value;
  }
  invalid("argument '", name, "' should be a tensor, got ", kind_name(argument));
}

bool AtenNode::is_complex_dtype(std::string_view name) const {
  const Argument* argument = find(name);
  const auto* other = argument != nullptr ? std::get_if<OtherArg>(argument) : nullptr;
  return other != nullptr && other->description.starts_with("dtype complex");
}

std::string AtenNode::tensor_name(std::string_view name) const {
  for (const NamedArgument& argument : arguments_) {
    if (argument.name == name) return argument.tensor_name;
  }
  return {};
}

ir::Value* AtenNode::optional_tensor(std::string_view name) const {
  return has(name) ? tensor(name) : nullptr;
}

TensorList AtenNode::tensors(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* list = std::get_if<TensorList>(&argument)) {
    for (const ir::Value* value : *list) {
      if (!complex_aware_ && value != nullptr && context_.is_complex(value))
        unsupported("argument '", name, "' holds complex tensor '", value->name,
                    "', which Kiln takes only into ", kComplexOps);
    }
    return *list;
  }
  invalid("argument '", name, "' should be a tensor list, got ", kind_name(argument));
}

int64_t AtenNode::int_arg(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* value = std::get_if<int64_t>(&argument)) return *value;
  if (auto* value = std::get_if<bool>(&argument)) return *value ? 1 : 0;
  if (auto* value = std::get_if<SymInt>(&argument)) {
    if (value->is_static()) return value->value;
    unsupported("argument '", name,
                "' is a size known only at run time; Kiln needs a "
                "fixed value here (export with this dim static)");
  }
  invalid("argument '", name, "' should be an int, got ", kind_name(argument));
}

int64_t AtenNode::int_arg(std::string_view name, int64_t fallback) const {
  return has(name) ? int_arg(name) : fallback;
}

double AtenNode::float_arg(std::string_view name, double fallback) const {
  if (!has(name)) return fallback;
  const Argument& argument = required(name);
  if (auto* value = std::get_if<double>(&argument)) return *value;
  if (std::holds_alternative<int64_t>(argument) || std::holds_alternative<bool>(argument) ||
      std::holds_alternative<SymInt>(argument)) {
    return static_cast<double>(int_arg(name));
  }
  invalid("argument '", name, "' should be a float, got ", kind_name(argument));
}

bool AtenNode::bool_arg(std::string_view name, bool fallback) const {
  if (!has(name)) return fallback;
  const Argument& argument = required(name);
  if (auto* value = std::get_if<bool>(&argument)) return *value;
  if (auto* value = std::get_if<int64_t>(&argument)) return *value != 0;
  invalid("argument '", name, "' should be a bool, got ", kind_name(argument));
}

std::string AtenNode::string_arg(std::string_view name, const std::string& fallback) const {
  if (!has(name)) return fallback;
  const Argument& argument = required(name);
  if (auto* value = std::get_if<std::string>(&argument)) return *value;
  invalid("argument '", name, "' should be a string, got ", kind_name(argument));
}

std::vector<int64_t> AtenNode::ints(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* values = std::get_if<std::vector<int64_t>>(&argument)) return *values;
  if (std::holds_alternative<int64_t>(argument)) return {int_arg(name)};
  if (std::holds_alternative<std::vector<SymInt>>(argument)) {
    std::vector<int64_t> values;
    for (const SymInt& size : sym_ints(name)) {
      if (!size.is_static()) {
        unsupported("argument '", name,
                    "' holds a size known only at run time; Kiln "
                    "needs fixed values here");
      }
      values.push_back(size.value);
    }
    return values;
  }
  invalid("argument '", name, "' should be an int list, got ", kind_name(argument));
}

std::vector<int64_t> AtenNode::ints(std::string_view name, std::vector<int64_t> fallback) const {
  return has(name) ? ints(name) : fallback;
}

SymInt AtenNode::sym_int(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* value = std::get_if<SymInt>(&argument)) return *value;
  return SymInt::fixed(int_arg(name));
}

std::optional<SymInt> AtenNode::optional_sym_int(std::string_view name) const {
  if (!has(name)) return std::nullopt;
  return sym_int(name);
}

std::vector<SymInt> AtenNode::sym_ints(std::string_view name) const {
  const Argument& argument = required(name);
  if (auto* values = std::get_if<std::vector<SymInt>>(&argument)) return *values;
  if (auto* values = std::get_if<std::vector<int64_t>>(&argument)) {
    std::vector<SymInt> sizes;
    for (int64_t value : *values) sizes.push_back(SymInt::fixed(value));
    return sizes;
  }
  if (std::holds_alternative<int64_t>(argument) || std::holds_alternative<SymInt>(argument)) {
    return {sym_int(name)};
  }
  invalid("argument '", name, "' should be a list of sizes, got ", kind_name(argument));
}

std::optional<DType> AtenNode::scalar_type(std::string_view name) const {
  if (!has(name)) return std::nullopt;
  const Argument& argument = required(name);
  if (auto* dtype = std::get_if<DType>(&argument)) return *dtype;
  if (is_complex_dtype(name))
    unsupported(std::get<OtherArg>(argument).description,
                " (complex tensors are taken only into FFTs)");
  invalid("argument '", name, "' should be a dtype, got ", kind_name(argument));
}

bool AtenNode::is_number(std::string_view name) const {
  const Argument* argument = find(name);
  return argument != nullptr &&
         (std::holds_alternative<int64_t>(*argument) || std::holds_alternative<double>(*argument) ||
          std::holds_alternative<bool>(*argument) || std::holds_alternative<SymInt>(*argument));
}

bool AtenNode::output_used(size_t index) const {
  if (index >= outputs_.size()) return false;
  for (const std::string& name : outputs_[index].names) {
    if (context_.is_used(name)) return true;
  }
  return false;
}

void AtenNode::set_output(size_t index, ir::Value* value) {
  if (index >= outputs_.size()) return;  // the model does not name this output
  const OutputSlot& slot = outputs_[index];
  if (slot.kind == OutputSlot::Kind::None) return;
  if (slot.kind != OutputSlot::Kind::Tensor || slot.names.size() != 1) {
    invalid("output ", index, " should be a single tensor");
  }
  context_.define_tensor(slot.names[0], value);
}

void AtenNode::set_outputs(size_t index, const std::vector<ir::Value*>& values) {
  if (index >= outputs_.size()) return;
  const OutputSlot& slot = outputs_[index];
  if (slot.kind != OutputSlot::Kind::TensorList || slot.names.size() != values.size()) {
    invalid("output ", index, " should be a list of ", values.size(), " tensors");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!slot.names[i].empty()) context_.define_tensor(slot.names[i], values[i]);
  }
}

void AtenNode::set_view_output(TensorView::Read read, TensorView::WriteBack write_back) {
  set_output(0, read(*this, tensor("self")));
  std::string base = tensor_name("self");
  if (base.empty() || outputs_.empty() || outputs_[0].kind != OutputSlot::Kind::Tensor) return;
  context_.define_view(outputs_[0].names.at(0),
                       TensorView{base, std::move(read), std::move(write_back)});
}

void AtenNode::set_sym_output(size_t index, SymInt value) {
  if (index >= outputs_.size()) return;
  const OutputSlot& slot = outputs_[index];
  if (slot.kind != OutputSlot::Kind::SymInt || slot.names.size() != 1) {
    invalid("output ", index, " should be a symbolic int");
  }
  context_.define_sym_int(slot.names[0], std::move(value));
}

ir::Value* AtenNode::add(const std::string& op, std::vector<ir::Value*> inputs,
                         std::map<std::string, ir::AttrValue> attrs) {
  return add_multi(op, std::move(inputs), std::move(attrs), 1).front();
}

std::vector<ir::Value*> AtenNode::add_multi(const std::string& op, std::vector<ir::Value*> inputs,
                                            std::map<std::string, ir::AttrValue> attrs,
                                            size_t count) {
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
  ir::Graph& graph = context_.graph();
  std::string node_name = graph.unique_name(name_);
  std::vector<std::string> output_names;
  for (size_t i = 0; i < count; ++i) {
    // Value names live apart from node names: the first output shares the node's name.
    output_names.push_back(count == 1 ? node_name : node_name + ":" + std::to_string(i));
  }
  ir::Node* node = graph.add_node(op, node_name, std::move(inputs), output_names);
  node->source = source_.empty() ? name_ : name_ + " at " + source_;
  node->attrs = std::move(attrs);
  bool inputs_typed = std::all_of(node->inputs.begin(), node->inputs.end(), [](ir::Value* v) {
    return v == nullptr || v->dtype != DType::Undefined;
  });
  if (inputs_typed) {
    try {
      ir::infer_node(*node);
    } catch (const Error& error) {
      // Inference names the IR node; say which model node it came from.
      fail(error.kind(), context_.label(), ": ", describe(), ": ", error.what());
    }
  }
  return node->outputs;
}

ir::Value* AtenNode::constant(Tensor tensor) {
  return context_.constant(name_ + ".const", std::move(tensor));
}

}  // namespace kiln::torch
