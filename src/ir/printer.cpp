// The IR's readable text form: a header with the graph inputs, one line per constant and per
// node, and the outputs. %name is a computed value, @name a constant.
#include "ir/printer.h"

#include <sstream>

namespace kiln::ir {
namespace {

constexpr int64_t kSmallConstant = 8;     // constants this small always show their values
constexpr int64_t kValuesWhenAsked = 64;  // with_constant_values shows at most this many

std::string reference(const Value* value) {
  if (value == nullptr) return "none";
  return (value->is_constant() ? "@" : "%") + value->name;
}

std::string typed(const Value* value) {
  std::string dtype =
      value->dtype == DType::Undefined ? "?" : std::string(dtype_name(value->dtype));
  return reference(value) + ": " + dtype + value->shape.to_string();
}

void print_values(std::ostream& out, const Tensor& tensor, int64_t limit) {
  std::vector<double> values = tensor.to_double_vector();
  bool is_bool = tensor.dtype() == DType::Bool;
  bool as_list = tensor.rank() > 0;
  if (as_list) out << '[';
  int64_t shown = std::min<int64_t>(limit, static_cast<int64_t>(values.size()));
  for (int64_t i = 0; i < shown; ++i) {
    if (i) out << ", ";
    double value = values[static_cast<size_t>(i)];
    if (is_bool)
      out << (value != 0.0 ? "true" : "false");
    else
      out << value;
  }
  if (shown < static_cast<int64_t>(values.size())) {
    out << ", ... (" << values.size() - static_cast<size_t>(shown) << " more)";
  }
  if (as_list) out << ']';
}

template <typename T>
void print_list(std::ostream& out, const std::vector<T>& items) {
  out << '[';
  for (size_t i = 0; i < items.size(); ++i) out << (i ? ", " : "") << items[i];
  out << ']';
}

}  // namespace

void print_attribute(std::ostream& out, const Node& node, const std::string& key,
                     const AttrValue& value) {
  out << key << '=';
  if (node.op == "Cast" && key == "to" && std::holds_alternative<int64_t>(value)) {
    out << dtype_name(static_cast<DType>(std::get<int64_t>(value)));  // a Kiln DType code
  } else if (const auto* number = std::get_if<int64_t>(&value)) {
    out << *number;
  } else if (const auto* real = std::get_if<double>(&value)) {
    out << *real;
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    out << '"' << *text << '"';
  } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&value)) {
    print_list(out, *ints);
  } else if (const auto* reals = std::get_if<std::vector<double>>(&value)) {
    print_list(out, *reals);
  } else if (const auto* tensor = std::get_if<Tensor>(&value)) {
    out << dtype_name(tensor->dtype()) << dims_to_string(tensor->dims()) << ' ';
    print_values(out, *tensor, kSmallConstant);
  }
}

namespace {

void print_node(std::ostream& out, const Node& node) {
  out << "  ";
  for (size_t i = 0; i < node.outputs.size(); ++i) out << (i ? ", " : "") << typed(node.outputs[i]);
  out << " = " << node.op << '(';
  for (size_t i = 0; i < node.inputs.size(); ++i)
    out << (i ? ", " : "") << reference(node.inputs[i]);
  out << ')';
  if (!node.attrs.empty()) {
    out << " {";
    bool first = true;
    for (const auto& [key, value] : node.attrs) {
      if (!first) out << ", ";
      first = false;
      print_attribute(out, node, key, value);
    }
    out << '}';
  }
  out << "   # node " << node.name;
  if (node.precision) out << ", precision " << precision_name(*node.precision);
  out << '\n';
}

}  // namespace

std::string print_graph(const Graph& graph, bool with_constant_values) {
  std::ostringstream out;
  out << "graph " << graph.name << " (inputs: ";
  for (size_t i = 0; i < graph.inputs().size(); ++i)
    out << (i ? ", " : "") << typed(graph.inputs()[i]);
  out << ") {\n";
  for (const Value* value : graph.values()) {
    if (!value->is_constant()) continue;
    out << "  " << typed(value) << " = constant";
    const Tensor& tensor = *value->constant;
    if (tensor.numel() <= kSmallConstant || with_constant_values) {
      out << ' ';
      print_values(out, tensor, with_constant_values ? kValuesWhenAsked : kSmallConstant);
    }
    out << '\n';
  }
  for (const Node* node : graph.nodes()) print_node(out, *node);
  out << "}\noutputs: ";
  for (size_t i = 0; i < graph.outputs().size(); ++i)
    out << (i ? ", " : "") << reference(graph.outputs()[i]);
  out << '\n';
  return out.str();
}

}  // namespace kiln::ir
