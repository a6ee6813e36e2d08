// The import driver: checks the model's versions, defines inputs and initializers, imports
// nodes in dependency order through the op table, and collects every unsupported node.
#include "onnx_graph_import.h"

#include <functional>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "ir/op_schema.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TypeProto;

std::string qualified_op_type(const NodeProto& node) {
  return is_default_domain(node.domain()) ? node.op_type() : node.domain() + "." + node.op_type();
}

void check_ir_version(const ModelProto& model, const std::string& label) {
  check(model.has_ir_version() && model.ir_version() > 0, ErrorKind::InvalidModel, label,
        " is not an ONNX model: it has no ir_version (is the file corrupt, or another format?)");
}

int64_t default_opset(const ModelProto& model, const std::string& label) {
  std::optional<int64_t> opset;
  for (const auto& entry : model.opset_import()) {
    if (is_default_domain(entry.domain())) opset = entry.version();
  }
  check(opset.has_value(), ErrorKind::InvalidModel, label,
        " imports no opset of the default ONNX domain");
  check(*opset >= kMinOpset && *opset <= kMaxOpset, ErrorKind::Unsupported, label,
        " uses ONNX opset ", *opset, "; Kiln supports opsets ", kMinOpset, " to ", kMaxOpset,
        " (re-export the model with an opset in that range)");
  return *opset;
}

ir::Shape shape_from_proto(const ::onnx::TensorShapeProto& proto, const std::string& what) {
  std::vector<ir::Dim> dims;
  for (const auto& dim : proto.dim()) {
    if (dim.has_dim_value()) {
      check(dim.dim_value() >= 0, ErrorKind::InvalidModel, what, " has a negative dim ",
            dim.dim_value());
      dims.push_back(ir::Dim::fixed(dim.dim_value()));
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      dims.push_back(ir::Dim::named(dim.dim_param()));
    } else {
      dims.push_back(ir::Dim::unknown());
    }
  }
  return ir::Shape(std::move(dims));
}

class GraphImporter {
 public:
  GraphImporter(const GraphProto& graph_proto, ImportContext& context)
      : proto_(graph_proto), context_(context), graph_(context.graph()) {}

  std::vector<UnsupportedOp> run() {
    add_initializers();
    add_inputs();
    plan_value_names();
    for (size_t index : ordered_nodes()) {
      const NodeProto& node = proto_.node(static_cast<int>(index));
      import_node(node, unique_node_name(node, index));
    }
    add_outputs();
    return unsupported_;
  }

 private:
  void add_initializers() {
    for (const auto& initializer : proto_.initializer()) {
      const std::string& name = initializer.name();
      check(!name.empty(), ErrorKind::InvalidModel, context_.label(),
            ": an initializer has no name");
      Tensor tensor = context_.read_tensor(initializer, "initializer '" + name + "'");
      context_.define(name, graph_.add_constant(name, std::move(tensor)));
    }
    check(proto_.sparse_initializer_size() == 0, ErrorKind::Unsupported, context_.label(),
          " has sparse initializers, which Kiln does not read; store them dense");
  }

  // Inputs that are also initializers are weights with a default value; Kiln keeps them
  // constant.
  void add_inputs() {
    for (const auto& input : proto_.input()) {
      const std::string& name = input.name();
      std::string what = context_.label() + ": graph input '" + name + "'";
      check(!name.empty(), ErrorKind::InvalidModel, context_.label(),
            ": a graph input has no name");
      ir::Value* existing = context_.find(name);
      if (existing && existing->is_constant()) continue;
      check(input.type().has_tensor_type(), ErrorKind::Unsupported, what,
            " is not a tensor; Kiln supports tensor inputs only");
      const auto& tensor_type = input.type().tensor_type();
      check(tensor_type.elem_type() != 0, ErrorKind::InvalidModel, what,
            " declares no element type");
      DType dtype = require_dtype(tensor_type.elem_type(), what);
      ir::Shape shape =
          tensor_type.has_shape() ? shape_from_proto(tensor_type.shape(), what) : ir::Shape();
      context_.define(name, graph_.add_input(name, dtype, std::move(shape)));
    }
  }

  // Records which names are read, and gives the producer of an Identity/Dropout chain that
  // ends in a graph output the output's name, so removing them keeps output names.
  void plan_value_names() {
    std::map<std::string, std::string> alias_source;
    std::set<std::string> produced;
    for (const NodeProto& node : proto_.node()) {
      for (const std::string& input : node.input()) context_.mark_used(input);
      bool alias = is_default_domain(node.domain()) &&
                   (node.op_type() == "Identity" || node.op_type() == "Dropout");
      if (alias && node.input_size() > 0 && node.output_size() > 0) {
        alias_source[node.output(0)] = node.input(0);
      } else {
        produced.insert(node.output().begin(), node.output().end());
      }
    }
    std::set<std::string> output_names, claimed;
    for (const auto& output : proto_.output()) {
      context_.mark_used(output.name());
      output_names.insert(output.name());
      type_hints_[output.name()] = &output.type();
    }
    for (const auto& info : proto_.value_info()) type_hints_.emplace(info.name(), &info.type());
    for (const std::string& output : output_names) {
      std::string root = output;
      for (size_t step = 0; step <= alias_source.size() && alias_source.count(root); ++step) {
        root = alias_source[root];
      }
      if (root != output && produced.count(root) && !output_names.count(root) &&
          claimed.insert(root).second) {
        context_.prefer_name(root, output);
      }
    }
  }

  // ONNX requires nodes in topological order; exporters sometimes break it. Kahn's order,
  // taking the earliest ready node first, keeps a sorted model's order.
  std::vector<size_t> ordered_nodes() const {
    size_t count = static_cast<size_t>(proto_.node_size());
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < count; ++i) {
      for (const std::string& output : proto_.node(static_cast<int>(i)).output()) {
        if (output.empty()) continue;
        check(producer.emplace(output, i).second, ErrorKind::InvalidModel, context_.label(),
              ": value '", output, "' is produced by two nodes");
      }
    }
    std::vector<std::vector<size_t>> readers(count);
    std::vector<size_t> waiting(count, 0);
    for (size_t i = 0; i < count; ++i) {
      for (const std::string& input : names_read(proto_.node(static_cast<int>(i)))) {
        auto it = producer.find(input);
        if (input.empty() || it == producer.end()) continue;
        readers[it->second].push_back(i);
        ++waiting[i];
      }
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < count; ++i) {
      if (waiting[i] == 0) ready.push(i);
    }
    std::vector<size_t> order;
    while (!ready.empty()) {
      size_t next = ready.top();
      ready.pop();
      order.push_back(next);
      for (size_t reader : readers[next]) {
        if (--waiting[reader] == 0) ready.push(reader);
      }
    }
    for (size_t i = 0; i < count && order.size() < count; ++i) {
      const NodeProto& stuck = proto_.node(static_cast<int>(i));
      check(waiting[i] == 0, ErrorKind::InvalidModel, context_.label(), ": the graph has a cycle ",
            "through node '", stuck.name(), "' (", stuck.op_type(), ")");
    }
    return order;
  }

  // What a node reads: its inputs, and the outer values its subgraphs (If's branches,
  // SequenceMap's body) read, which must exist before it imports them inline.
  static std::vector<std::string> names_read(const NodeProto& node) {
    std::vector<std::string> names(node.input().begin(), node.input().end());
    for (const auto& attribute : node.attribute()) {
      if (attribute.type() != ::onnx::AttributeProto::GRAPH) continue;
      for (const NodeProto& inner : attribute.g().node()) {
        std::vector<std::string> inner_names = names_read(inner);
        names.insert(names.end(), inner_names.begin(), inner_names.end());
      }
    }
    return names;
  }

  std::string unique_node_name(const NodeProto& node, size_t index) {
    std::string base =
        node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
    std::string name = base;
    for (int suffix = 1; !node_names_.insert(name).second; ++suffix) {
      name = base + "_" + std::to_string(suffix);
    }
    return name;
  }

  void import_node(const NodeProto& proto, std::string name) {
    OnnxNode node(context_, proto, std::move(name));
    const OpEntry* entry = find_node_importer(proto);
    if (!entry) {
      record_unsupported(node, "");
      add_unsupported_node(node);
      return;
    }
    if (context_.opset() < entry->since_opset) {
      node.invalid("ONNX defines ", proto.op_type(), " from opset ", entry->since_opset,
                   " on, but the model imports opset ", context_.opset());
    }
    size_t nodes_before = graph_.node_count();
    try {
      entry->import(node);
    } catch (const Error& error) {
      if (error.kind() != ErrorKind::Unsupported) throw;
      roll_back(node, nodes_before);
      record_unsupported(node, error.what());
      add_unsupported_node(node);
    }
  }

  // Undoes a partial import, so the node can be kept whole as an "onnx.<OpType>" node.
  void roll_back(const OnnxNode& node, size_t nodes_before) {
    std::vector<ir::Node*> nodes = graph_.nodes();
    for (size_t i = nodes.size(); i-- > nodes_before;) graph_.remove_node(nodes[i]);
    for (const std::string& output : node.proto().output()) context_.forget(output);
  }

  void record_unsupported(const OnnxNode& node, std::string reason) {
    context_.note_unsupported();
    std::string op_type = qualified_op_type(node.proto());
    auto it = std::find_if(unsupported_.begin(), unsupported_.end(),
                           [&](const UnsupportedOp& op) { return op.op_type == op_type; });
    if (it == unsupported_.end()) it = unsupported_.insert(unsupported_.end(), {op_type, {}, {}});
    it->node_names.push_back(node.name());
    std::string prefix = context_.label() + ": ";
    if (reason.starts_with(prefix)) reason.erase(0, prefix.size());
    if (!reason.empty()) it->reasons.push_back(std::move(reason));
  }

  // An op Kiln cannot run, kept so that `kiln inspect` can show the whole model (and so
  // that nodes after it still import and report their own problems).
  void add_unsupported_node(OnnxNode& node) {
    AttrMap attrs;
    for (const auto& attribute : node.proto().attribute()) {
      try {
        attrs[attribute.name()] = node.attr_value(attribute);
      } catch (const Error&) {
        // Subgraphs, string lists and the like have no Kiln form; inspect shows the rest.
      }
    }
    // Sequence inputs (ONNX sequence ops keep them as lists of tensors) have no IR value.
    std::vector<ir::Value*> inputs;
    for (size_t i = 0; i < node.input_count(); ++i) {
      bool sequence = context_.find_sequence(node.proto().input(static_cast<int>(i))) != nullptr;
      inputs.push_back(sequence ? nullptr : node.input(i));
    }
    ir::Node* kept =
        node.emit("onnx." + qualified_op_type(node.proto()), std::move(inputs), std::move(attrs));
    for (size_t i = 0; i < kept->outputs.size(); ++i) {
      auto hint = type_hints_.find(node.proto().output(static_cast<int>(i)));
      if (hint != type_hints_.end()) apply_type_hint(*hint->second, *kept->outputs[i]);
    }
  }

  // value_info types, for values whose producer has no schema to infer them.
  void apply_type_hint(const TypeProto& type, ir::Value& value) const {
    if (!type.has_tensor_type()) return;
    if (auto dtype = dtype_from_onnx(type.tensor_type().elem_type())) value.dtype = *dtype;
    if (type.tensor_type().has_shape()) {
      try {
        value.shape = shape_from_proto(type.tensor_type().shape(), value.name);
      } catch (const Error&) {
        // A broken hint is no worse than none.
      }
    }
  }

  void add_outputs() {
    check(proto_.output_size() > 0, ErrorKind::InvalidModel, context_.label(),
          ": the graph has no outputs");
    for (const auto& output : proto_.output()) {
      ir::Value* value = context_.find(output.name());
      check(value != nullptr, ErrorKind::InvalidModel, context_.label(), ": graph output '",
            output.name(), "' is not produced by any node, input or initializer");
      graph_.add_output(value);
    }
  }

  const GraphProto& proto_;
  ImportContext& context_;
  ir::Graph& graph_;
  std::set<std::string> node_names_;
  std::map<std::string, const TypeProto*> type_hints_;
  std::vector<UnsupportedOp> unsupported_;
};

// With unsupported nodes kept, inference is best effort: what follows them may stay untyped.
void infer_around_unsupported(ir::Graph& graph) {
  for (ir::Node* node : graph.nodes()) {
    if (!ir::find_schema(node->op)) continue;
    try {
      ir::infer_node(*node);
    } catch (const Error& error) {
      log_debug("shape inference skipped for ", node->describe(), ": ", error.what());
    }
  }
}

}  // namespace

ImportResult import_model_proto(std::shared_ptr<const ModelProto> model,
                                const std::filesystem::path& base_folder, const std::string& label,
                                const ImportOptions& options) {
  check_ir_version(*model, label);
  ImportResult result;
  result.ir_version = model->ir_version();
  result.opset = default_opset(*model, label);
  result.producer = model->producer_name();
  if (!model->producer_version().empty()) result.producer += " " + model->producer_version();
  result.graph.name = model->graph().name();

  TensorReader tensors(base_folder, model);
  ImportContext context(result.graph, tensors, label, result.opset);
  std::vector<UnsupportedOp> unsupported = GraphImporter(model->graph(), context).run();
  if (!unsupported.empty() && !options.keep_unsupported) {
    throw Error(ErrorKind::Unsupported, describe_unsupported(label, unsupported));
  }
  result.graph.sort_topologically();
  if (unsupported.empty()) {
    try {
      ir::infer_graph(result.graph);
    } catch (const Error& error) {
      throw Error(error.kind(), label + ": " + error.what());
    }
  } else {
    infer_around_unsupported(result.graph);
  }
  result.unsupported = std::move(unsupported);
  return result;
}

}  // namespace kiln::onnx
