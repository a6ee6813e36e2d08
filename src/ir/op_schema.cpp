// The op name → schema table, and shape/type inference over nodes and graphs. The schemas
// themselves live in schemas_<family>.cpp.
#include "ir/op_schema.h"

#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

const std::map<std::string, OpSchema, std::less<>>& schema_table() {
  static const std::map<std::string, OpSchema, std::less<>> table = [] {
    std::vector<OpSchema> schemas;
    add_elementwise_schemas(schemas);
    add_matmul_schemas(schemas);
    add_conv_pool_schemas(schemas);
    add_normalization_schemas(schemas);
    add_tensor_schemas(schemas);
    add_indexing_schemas(schemas);
    add_shape_schemas(schemas);
    add_resize_schemas(schemas);
    std::map<std::string, OpSchema, std::less<>> by_name;
    for (OpSchema& schema : schemas) by_name.emplace(schema.op, std::move(schema));
    return by_name;
  }();
  return table;
}

// Inference refines what is known and never widens it: an unknown inferred dim keeps the
// old dim, and a symbolic one keeps an old static size (e.g. from the model's value_info).
Shape refine_shape(const Shape& old_shape, const Shape& inferred) {
  if (!inferred.rank_known()) return old_shape;
  if (!old_shape.rank_known() || old_shape.rank() != inferred.rank()) return inferred;
  std::vector<Dim> dims = inferred.dims();
  for (size_t i = 0; i < dims.size(); ++i) {
    const Dim& old_dim = old_shape.dims()[i];
    bool keep_old = (!dims[i].is_static() && !dims[i].is_symbolic()) ||
                    (dims[i].is_symbolic() && old_dim.is_static());
    if (keep_old) dims[i] = old_dim;
  }
  return Shape(std::move(dims));
}

std::string unsupported_reason(const Node& node) {
  std::ostringstream out;
  if (is_placeholder_op(node.op)) {
    out << "ONNX op " << node.op.substr(5) << " (imported, but Kiln has no mapping for it)";
  } else {
    out << "op " << node.op << " (not a Kiln core op)";
  }
  out << " in node '" << node.name << "'";
  if (!node.source.empty()) out << " at " << node.source;
  return out.str();
}

void check_arity(const Node& node, const OpSchema& schema) {
  int inputs = static_cast<int>(node.inputs.size());
  int outputs = static_cast<int>(node.outputs.size());
  check(inputs >= schema.min_inputs && (schema.max_inputs < 0 || inputs <= schema.max_inputs),
        ErrorKind::InvalidModel, node.describe(), " has ", inputs, " inputs; ", node.op, " takes ",
        schema.min_inputs, " to ",
        schema.max_inputs < 0 ? std::string("any number") : std::to_string(schema.max_inputs));
  check(outputs >= schema.min_outputs && (schema.max_outputs < 0 || outputs <= schema.max_outputs),
        ErrorKind::InvalidModel, node.describe(), " has ", outputs, " outputs; ", node.op,
        " produces ", schema.min_outputs, " to ",
        schema.max_outputs < 0 ? std::string("any number") : std::to_string(schema.max_outputs));
  for (int i = 0; i < schema.min_inputs; ++i) {
    check(node.inputs[static_cast<size_t>(i)] != nullptr, ErrorKind::InvalidModel, node.describe(),
          ": required input ", i, " is absent");
  }
}

}  // namespace

const OpSchema* find_schema(std::string_view op) {
  const auto& table = schema_table();
  auto it = table.find(op);
  return it == table.end() ? nullptr : &it->second;
}

std::vector<std::string> core_op_names() {
  std::vector<std::string> names;
  for (const auto& [name, schema] : schema_table()) names.push_back(name);
  return names;
}

bool is_placeholder_op(std::string_view op) { return op.starts_with("onnx."); }

bool is_float_compute(std::string_view op) {
  const OpSchema* schema = find_schema(op);
  return schema != nullptr && schema->float_compute;
}

void infer_node(Node& node) {
  const OpSchema* schema = find_schema(node.op);
  if (schema == nullptr) fail(ErrorKind::Unsupported, "unsupported ", unsupported_reason(node));
  check_arity(node, *schema);
  for (const Value* input : node.inputs) {
    check(input == nullptr || input->dtype != DType::Undefined, ErrorKind::InvalidModel,
          node.describe(), ": input '", input ? input->name : "", "' has no dtype yet",
          " (its producer is unsupported, or runs after this node)");
  }
  std::vector<Shape> old_shapes;
  for (const Value* output : node.outputs) old_shapes.push_back(output->shape);
  schema->infer(node);
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    node.outputs[i]->shape = refine_shape(old_shapes[i], node.outputs[i]->shape);
  }
}

void infer_graph(Graph& graph, bool allow_unknown_ops) {
  std::vector<std::string> unsupported;
  for (const Node* node : graph.nodes()) {
    if (!find_schema(node->op)) unsupported.push_back(unsupported_reason(*node));
  }
  if (!unsupported.empty() && !allow_unknown_ops) {
    std::ostringstream message;
    message << "graph '" << graph.name << "' uses " << unsupported.size() << " unsupported op(s):";
    for (const std::string& reason : unsupported) message << "\n  " << reason;
    fail(ErrorKind::Unsupported, message.str());
  }
  // With allow_unknown_ops, nodes without a schema are skipped, and so is whatever reads an
  // untyped value they produce; the verifier still reports them later.
  std::set<const Value*> untyped;
  for (Node* node : graph.nodes()) {
    bool reads_untyped = false;
    for (const Value* input : node->inputs) {
      reads_untyped =
          reads_untyped || (input && untyped.count(input) && input->dtype == DType::Undefined);
    }
    if (!find_schema(node->op) || reads_untyped) {
      untyped.insert(node->outputs.begin(), node->outputs.end());
      continue;
    }
    infer_node(*node);
  }
}

}  // namespace kiln::ir
