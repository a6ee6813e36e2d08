// The import context and the per-node readers and writers importers use.
#include "onnx_import_context.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "ir/op_schema.h"

namespace kiln::onnx {

using ::onnx::AttributeProto;

ImportContext::ImportContext(ir::Graph& graph, TensorReader& tensors, std::string label,
                             int64_t opset)
    : graph_(graph), tensors_(tensors), label_(std::move(label)), opset_(opset) {}

void ImportContext::define(const std::string& onnx_name, ir::Value* value) {
  bool added = values_.emplace(onnx_name, value).second;
  check(added, ErrorKind::InvalidModel, label_, ": value '", onnx_name,
        "' is defined twice (by two nodes, inputs or initializers)");
}

void ImportContext::forget(const std::string& onnx_name) {
  values_.erase(onnx_name);
  sequences_.erase(onnx_name);
}

void ImportContext::define_sequence(const std::string& onnx_name, std::vector<ir::Value*> values) {
  check(!values_.count(onnx_name) && !sequences_.count(onnx_name), ErrorKind::InvalidModel, label_,
        ": value '", onnx_name, "' is defined twice (by two nodes, inputs or initializers)");
  sequences_.emplace(onnx_name, std::move(values));
}

const std::vector<ir::Value*>* ImportContext::find_sequence(const std::string& onnx_name) const {
  auto it = sequences_.find(onnx_name);
  return it == sequences_.end() ? nullptr : &it->second;
}

ir::Value* ImportContext::find(const std::string& onnx_name) const {
  auto it = values_.find(onnx_name);
  return it == values_.end() ? nullptr : it->second;
}

void ImportContext::prefer_name(const std::string& onnx_name, const std::string& kiln_name) {
  preferred_names_[onnx_name] = kiln_name;
}

std::string ImportContext::value_name(const std::string& onnx_name) const {
  auto it = preferred_names_.find(onnx_name);
  return it == preferred_names_.end() ? onnx_name : it->second;
}

Tensor ImportContext::read_tensor(const ::onnx::TensorProto& proto, const std::string& what) {
  return tensors_.read(proto, label_ + ": " + what);
}

OnnxNode::OnnxNode(ImportContext& context, const ::onnx::NodeProto& proto, std::string name)
    : context_(context), proto_(proto), name_(std::move(name)) {}

std::string OnnxNode::label() const { return "node '" + name_ + "' (" + op_type() + ")"; }

std::string OnnxNode::source() const { return context_.label() + ":" + label(); }

ir::Value* OnnxNode::input(size_t index) const {
  if (index >= input_count() || proto_.input(static_cast<int>(index)).empty()) return nullptr;
  const std::string& onnx_name = proto_.input(static_cast<int>(index));
  ir::Value* value = context_.find(onnx_name);
  if (!value) invalid("reads '", onnx_name, "', which no node, input or initializer defines");
  return value;
}

ir::Value* OnnxNode::required_input(size_t index, std::string_view what) const {
  ir::Value* value = input(index);
  if (!value) invalid("input ", index, " (", what, ") is required but absent");
  return value;
}

std::vector<ir::Value*> OnnxNode::all_inputs() const {
  std::vector<ir::Value*> inputs;
  for (size_t i = 0; i < input_count(); ++i) inputs.push_back(input(i));
  return inputs;
}

std::optional<std::vector<int64_t>> OnnxNode::optional_constant_ints(size_t index,
                                                                     std::string_view what) const {
  ir::Value* value = input(index);
  if (!value) return std::nullopt;
  if (!value->is_constant()) {
    unsupported("input ", index, " (", what, ") is computed at run time; Kiln needs it to be ",
                "a constant (an initializer or Constant node)");
  }
  const Tensor& tensor = *value->constant;
  if (!is_integral(tensor.dtype())) {
    invalid("input ", index, " (", what, ") has dtype ", dtype_name(tensor.dtype()),
            "; it must be an integer tensor");
  }
  if (tensor.rank() > 1) invalid("input ", index, " (", what, ") must be 1-D");
  return tensor.to_int64_vector();
}

std::vector<int64_t> OnnxNode::constant_ints(size_t index, std::string_view what) const {
  std::optional<std::vector<int64_t>> values = optional_constant_ints(index, what);
  if (!values) invalid("input ", index, " (", what, ") is required but absent");
  return *values;
}

void OnnxNode::allow_attributes(const std::vector<std::string_view>& names) const {
  for (const AttributeProto& attribute : proto_.attribute()) {
    if (std::find(names.begin(), names.end(), attribute.name()) != names.end()) continue;
    std::string known;
    for (std::string_view name : names) known += (known.empty() ? "" : ", ") + std::string(name);
    invalid("has attribute '", attribute.name(), "', which ONNX ", op_type(), " at opset ", opset(),
            " does not define", known.empty() ? " (it takes none)" : " (it takes: " + known + ")");
  }
}

const AttributeProto* OnnxNode::find_attr(std::string_view name) const {
  for (const AttributeProto& attribute : proto_.attribute()) {
    if (attribute.name() == name) {
      if (!attribute.ref_attr_name().empty()) {
        unsupported("attribute '", name, "' refers to a function attribute; Kiln does not ",
                    "import ONNX functions");
      }
      return &attribute;
    }
  }
  return nullptr;
}

const AttributeProto* OnnxNode::typed_attr(std::string_view name, int type,
                                           const char* type_name) const {
  const AttributeProto* attribute = find_attr(name);
  if (attribute && attribute->type() != type) {
    invalid("attribute '", name, "' must be ", type_name, " but has type ",
            AttributeProto::AttributeType_Name(attribute->type()));
  }
  return attribute;
}

int64_t OnnxNode::attr_int(std::string_view name, int64_t fallback) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::INT, "an int");
  return attribute ? attribute->i() : fallback;
}

double OnnxNode::attr_float(std::string_view name, double fallback) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::FLOAT, "a float");
  return attribute ? attribute->f() : fallback;
}

std::string OnnxNode::attr_string(std::string_view name, const std::string& fallback) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::STRING, "a string");
  return attribute ? attribute->s() : fallback;
}

std::vector<int64_t> OnnxNode::attr_ints(std::string_view name) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::INTS, "a list of ints");
  if (!attribute) return {};
  return {attribute->ints().begin(), attribute->ints().end()};
}

std::vector<double> OnnxNode::attr_floats(std::string_view name) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::FLOATS, "a list of floats");
  if (!attribute) return {};
  return {attribute->floats().begin(), attribute->floats().end()};
}

std::optional<Tensor> OnnxNode::attr_tensor(std::string_view name) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::TENSOR, "a tensor");
  if (!attribute) return std::nullopt;
  return context_.read_tensor(attribute->t(), label() + " attribute '" + std::string(name) + "'");
}

const ::onnx::GraphProto& OnnxNode::attr_graph(std::string_view name) const {
  const AttributeProto* attribute = typed_attr(name, AttributeProto::GRAPH, "a graph");
  if (!attribute) invalid("needs the graph attribute '", name, "'");
  return attribute->g();
}

ir::AttrValue OnnxNode::attr_value(const AttributeProto& attribute) const {
  switch (attribute.type()) {
    case AttributeProto::INT:
      return attribute.i();
    case AttributeProto::FLOAT:
      return static_cast<double>(attribute.f());
    case AttributeProto::STRING:
      return attribute.s();
    case AttributeProto::INTS:
      return std::vector<int64_t>(attribute.ints().begin(), attribute.ints().end());
    case AttributeProto::FLOATS:
      return std::vector<double>(attribute.floats().begin(), attribute.floats().end());
    case AttributeProto::TENSOR:
      return context_.read_tensor(attribute.t(), label() + " attribute '" + attribute.name() + "'");
    default:
      unsupported("attribute '", attribute.name(), "' has type ",
                  AttributeProto::AttributeType_Name(attribute.type()),
                  ", which Kiln does not import");
  }
}

AttrMap OnnxNode::copied_attrs(const std::vector<std::string_view>& names) const {
  AttrMap attrs;
  for (std::string_view name : names) {
    if (const AttributeProto* attribute = find_attr(name)) {
      attrs[std::string(name)] = attr_value(*attribute);
    }
  }
  return attrs;
}

bool OnnxNode::output_used(size_t index) const {
  if (index >= output_count()) return false;
  const std::string& onnx_name = proto_.output(static_cast<int>(index));
  return !onnx_name.empty() && context_.is_used(onnx_name);
}

ir::Node* OnnxNode::emit(const std::string& op, std::vector<ir::Value*> inputs, AttrMap attrs,
                         std::optional<size_t> output_count) {
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
  size_t count = std::min(output_count.value_or(this->output_count()), this->output_count());
  if (!output_count) {  // trailing unnamed outputs are absent optional outputs
    while (count > 0 && proto_.output(static_cast<int>(count - 1)).empty()) --count;
  }
  if (count == 0) invalid("has no outputs");
  std::vector<std::string> output_names;
  for (size_t i = 0; i < count; ++i) {
    const std::string& onnx_name = proto_.output(static_cast<int>(i));
    output_names.push_back(onnx_name.empty() ? "" : context_.value_name(onnx_name));
  }
  reconcile_weight_dtypes(op, inputs);
  ir::Node* node = context_.graph().add_node(op, name_, std::move(inputs), output_names);
  node->source = source();
  node->attrs = std::move(attrs);
  for (size_t i = 0; i < count; ++i) {
    const std::string& onnx_name = proto_.output(static_cast<int>(i));
    if (!onnx_name.empty()) context_.define(onnx_name, node->outputs[i]);
  }
  infer_emitted(*node);
  return node;
}

// Inference as we go gives later importers dtypes (CastLike needs its target's). Nodes
// behind an unsupported one have untyped inputs; the final pass over the graph infers
// those, or the import fails first with the list of unsupported ops.
void OnnxNode::infer_emitted(ir::Node& node) const {
  bool inputs_typed = std::all_of(node.inputs.begin(), node.inputs.end(), [](ir::Value* v) {
    return v == nullptr || v->dtype != DType::Undefined;
  });
  if (!ir::find_schema(node.op) || !inputs_typed) return;
  try {
    ir::infer_node(node);
  } catch (const Error& error) {
    if (context_.saw_unsupported()) return;  // left untyped: the unsupported node is reported
    throw Error(error.kind(), context_.label() + ": " + error.what());  // name the file
  }
}

ir::Value* OnnxNode::add(const std::string& op, std::vector<ir::Value*> inputs, AttrMap attrs) {
  ir::Graph& graph = context_.graph();
  ir::Node* node = graph.add_node(op, graph.unique_name(name_ + "/" + op), std::move(inputs), {""});
  node->source = source();
  node->attrs = std::move(attrs);
  infer_emitted(*node);
  return node->outputs[0];
}

ir::Value* OnnxNode::scalar(double value, DType dtype) {
  ir::Graph& graph = context_.graph();
  return graph.add_constant(graph.unique_name(name_ + "/scalar"),
                            Tensor::from_vector<double>({}, {value}).to(dtype));
}

// torch.onnx.export (2.11, optimize=True) folds BatchNorm into Conv in float32 even when the
// model is bfloat16, leaving a bf16 activation next to float32 weights, which ONNX forbids.
// Converting such a weight to the activation's type is what the model meant; say so once.
void OnnxNode::reconcile_weight_dtypes(const std::string& op, std::vector<ir::Value*>& inputs) {
  const ir::OpSchema* schema = ir::find_schema(op);
  if (!schema || !schema->float_compute || op == "Pow") return;
  DType activation = DType::Undefined;
  for (const ir::Value* input : inputs) {
    if (input && !input->is_constant() && is_floating(input->dtype)) {
      activation = input->dtype;
      break;
    }
  }
  if (activation == DType::Undefined) return;
  for (ir::Value*& input : inputs) {
    if (!input || !input->is_constant() || !is_floating(input->dtype) ||
        input->dtype == activation) {
      continue;
    }
    std::string converted_name = input->name + "." + std::string(dtype_name(activation));
    ir::Value* converted = context_.graph().find_value(converted_name);
    if (!converted) {
      log_warn(context_.label(), ": weight '", input->name, "' is ", dtype_name(input->dtype),
               " but feeds ", op, " node '", name_, "' with ", dtype_name(activation),
               " activations; converted it to ", dtype_name(activation),
               " (the exporter mixed types)");
      converted = context_.graph().add_constant(converted_name, input->constant->to(activation));
    }
    input = converted;
  }
}

void OnnxNode::alias_output(size_t index, ir::Value* value) {
  if (index >= output_count()) invalid("has no output ", index);
  const std::string& onnx_name = proto_.output(static_cast<int>(index));
  if (!onnx_name.empty()) context_.define(onnx_name, value);
}

void OnnxNode::constant_output(size_t index, Tensor tensor) {
  if (index >= output_count()) invalid("has no output ", index);
  const std::string& onnx_name = proto_.output(static_cast<int>(index));
  if (onnx_name.empty()) return;
  ir::Value* value =
      context_.graph().add_constant(context_.value_name(onnx_name), std::move(tensor));
  context_.define(onnx_name, value);
}

OpImporter same_op(std::vector<std::string_view> attributes) {
  return [attributes](OnnxNode& node) {
    node.allow_attributes(attributes);
    node.emit(node.op_type(), node.all_inputs(), node.copied_attrs(attributes));
  };
}

}  // namespace kiln::onnx
