// An ExportedProgram (models/model.json) → IR: the header and schema version, the graph
// signature (weights, buffers, constants, user inputs and outputs) and the ATen nodes.
#include "frontends/pt2/pt2_program.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "frontends/pt2/pt2_higher_order.h"
#include "frontends/pt2/pt2_importer.h"
#include "frontends/pt2/pt2_nodes.h"
#include "frontends/pt2/pt2_tensors.h"
#include "frontends/torch/aten_ops.h"
#include "ir/op_schema.h"

namespace kiln::pt2 {
namespace {

Pt2Info read_info(const Json& program, const std::string& where) {
  Pt2Info info;
  const Json& version = object_member(program, "schema_version", where);
  std::string at = path_of(where, "schema_version");
  info.schema_major = int_value(member(version, "major", at), path_of(at, "major"));
  info.schema_minor = int_value(member(version, "minor", at), path_of(at, "minor"));
  if (const Json* torch_version = optional_member(program, "torch_version", where)) {
    info.torch_version = string_value(*torch_version, path_of(where, "torch_version"));
  }
  bool known = false;
  std::string supported;
  for (int64_t major : kSupportedSchemaMajors) {
    known = known || major == info.schema_major;
    supported += (supported.empty() ? "" : ", ") + std::to_string(major);
  }
  if (!known) {
    fail(ErrorKind::Unsupported, where, ": export schema version ", info.schema_major, ".",
         info.schema_minor,
         (info.torch_version.empty() ? "" : " (PyTorch " + info.torch_version + ")"),
         " is not supported; Kiln reads schema major ", supported, " (PyTorch 2.11 writes 8.x)");
  }
  if (const Json* verifiers = optional_member(program, "verifiers", where)) {
    if (!verifiers->is_array()) malformed(path_of(where, "verifiers"), "expected a list");
    for (size_t i = 0; i < verifiers->size(); ++i) {
      info.verifiers.push_back(
          string_value((*verifiers)[i], path_of(path_of(where, "verifiers"), i)));
    }
  }
  if (const Json* ranges = optional_member(program, "range_constraints", where)) {
    if (!ranges->is_object()) malformed(path_of(where, "range_constraints"), "expected an object");
    for (auto it = ranges->begin(); it != ranges->end(); ++it) {
      SymbolRange range;
      auto bound = [&](const char* key) -> std::optional<int64_t> {
        if (!it->is_object()) return std::nullopt;
        auto found = it->find(key);  // unbounded ranges hold null or a huge float
        if (found == it->end() || !found->is_number_integer()) return std::nullopt;
        return found->get<int64_t>();
      };
      range.min = bound("min_val");
      range.max = bound("max_val");
      info.symbol_ranges[it.key()] = range;
    }
  }
  return info;
}

class ProgramImporter {
 public:
  ProgramImporter(const Pt2Archive& archive, const Json& graph_module, ir::Graph& graph,
                  const std::string& where, const Pt2ImportOptions& options)
      : archive_(archive),
        options_(options),
        where_(where),
        graph_json_(object_member(graph_module, "graph", where)),
        signature_(object_member(graph_module, "signature", where)),
        flat_(inline_higher_order(graph_json_, path_of(where, "graph"))),
        tensor_values_(flat_.tensor_values),
        context_(graph, archive.label()),
        weights_(archive, "data/weights"),
        constants_(archive, "data/constants") {}

  void run() {
    context_.set_layout_lookup([this](const std::string& name) {
      std::optional<TensorMeta> meta = meta_of(name);
      return meta && meta->strides
                 ? std::optional<torch::StorageLayout>({*meta->strides, meta->storage_offset})
                 : std::nullopt;
    });
    bind_inputs();
    const Json& nodes = flat_.nodes;  // with mode-only wrappers' subgraphs spliced in
    mark_uses(nodes);
    check_supported(nodes);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!options_.keep_unsupported) {
        convert_node(nodes[i], i);
        continue;
      }
      try {
        convert_node(nodes[i], i);
      } catch (const Error& error) {
        if (error.kind() != ErrorKind::Unsupported) throw;
        keep_as_placeholder(nodes[i], i, error.what());
      }
    }
    bind_outputs();
  }

  std::vector<Pt2UnsupportedOp> take_unsupported() { return std::move(unsupported_); }

 private:
  std::string graph_path() const { return path_of(where_, "graph"); }

  // Declared metadata of a graph value, if the program lists it.
  std::optional<TensorMeta> meta_of(const std::string& name) const {
    auto it = tensor_values_.find(name);
    if (it == tensor_values_.end()) return std::nullopt;
    return read_tensor_meta(*it, path_of(path_of(graph_path(), "tensor_values"), name));
  }

  Tensor read_payload(const std::string& fqn, bool constants_first, const std::string& where,
                      bool* complex) {
    const PayloadReader& first = constants_first ? constants_ : weights_;
    const PayloadReader& second = constants_first ? weights_ : constants_;
    if (first.has(fqn)) return first.read(fqn, complex);
    if (second.has(fqn)) return second.read(fqn, complex);
    malformed(where, "'", fqn,
              "' is in neither data/weights/model_weights_config.json nor "
              "data/constants/model_constants_config.json");
  }

  // A weight bound to graph input `name`; its dtype and dims must match the declared ones.
  void bind_payload(const std::string& name, const std::string& fqn, bool constants_first,
                    const std::string& where) {
    bool complex = false;
    Tensor tensor = read_payload(fqn, constants_first, where, &complex);
    if (auto meta = meta_of(name)) {
      bool same = meta->dtype == tensor.dtype() && meta->complex == complex &&
                  meta->sizes.size() + (complex ? 1 : 0) == tensor.dims().size();
      for (size_t i = 0; same && i < meta->sizes.size(); ++i) {
        same = !meta->sizes[i].is_static() || meta->sizes[i].value == tensor.dims()[i];
      }
      if (!same) {
        malformed(where, "'", fqn, "' holds ", dtype_name(tensor.dtype()), " ",
                  dims_to_string(tensor.dims()), " but the graph declares '", name, "' as ",
                  dtype_name(meta->dtype), " ", ir::Shape(meta->sizes).to_string());
      }
    }
    ir::Value* constant = context_.graph().add_constant(fqn, std::move(tensor));
    if (complex) context_.mark_complex(constant);  // complex64 weights: a pair of reals
    context_.define_tensor(name, constant);
  }

  std::string spec_arg_name(const Json& body, const std::string& where) {
    const Json& arg = object_member(body, "arg", where);
    return string_value(member(arg, "name", path_of(where, "arg")), path_of(where, "arg.name"));
  }

  void bind_user_input(const Json& body, const std::string& where) {
    const Json& arg = member(body, "arg", where);
    auto [kind, value] = union_member(arg, path_of(where, "arg"));
    if (kind != "as_tensor") {
      fail(ErrorKind::Unsupported, where, ": user inputs of kind '", kind,
           "' (only tensors are supported; pass numbers as tensors or constants)");
    }
    std::string name = string_value(member(*value, "name", where), path_of(where, "arg.name"));
    auto meta = meta_of(name);
    if (!meta) malformed(where, "the user input '", name, "' has no entry in tensor_values");
    if (meta->complex) {
      fail(ErrorKind::Unsupported, where, ": user input '", name,
           "' is complex; pass torch.view_as_real of it and call view_as_complex in the model");
    }
    context_.define_tensor(name,
                           context_.graph().add_input(name, meta->dtype, ir::Shape(meta->sizes)));
  }

  void bind_inputs() {
    std::string at = path_of(where_, "signature");
    const Json& specs = array_member(signature_, "input_specs", at);
    for (size_t i = 0; i < specs.size(); ++i) {
      std::string where = path_of(path_of(at, "input_specs"), i);
      auto [kind, body] = union_member(specs[i], where);
      std::string inner = path_of(where, kind);
      if (kind == "user_input") {
        bind_user_input(*body, inner);
      } else if (kind == "parameter" || kind == "buffer" || kind == "tensor_constant") {
        const char* key = kind == "parameter" ? "parameter_name"
                          : kind == "buffer"  ? "buffer_name"
                                              : "tensor_constant_name";
        std::string fqn = string_value(member(*body, key, inner), path_of(inner, key));
        bind_payload(spec_arg_name(*body, inner), fqn, kind == "tensor_constant", inner);
      } else if (kind == "constant_input") {
        bind_constant_input(*body, inner);
      } else {
        fail(ErrorKind::Unsupported, where, ": inputs of kind '", kind,
             "' (custom objects, effect tokens) are not supported");
      }
    }
  }

  // A number fixed at export: integers serve as sizes; others are never read as tensors.
  void bind_constant_input(const Json& body, const std::string& where) {
    std::string name = string_value(member(body, "name", where), path_of(where, "name"));
    auto [kind, value] = union_member(member(body, "value", where), path_of(where, "value"));
    if (kind == "as_int") {
      context_.define_sym_int(name,
                              torch::SymInt::fixed(int_value(*value, path_of(where, "value"))));
    }
  }

  void mark_uses(const Json& nodes) {
    std::vector<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Json& inputs =
          array_member(nodes[i], "inputs", path_of(path_of(graph_path(), "nodes"), i));
      for (const Json& input : inputs) {
        if (input.is_object() && input.contains("arg")) collect_reads(input["arg"], names);
      }
    }
    collect_reads(array_member(signature_, "output_specs", path_of(where_, "signature")), names);
    for (const std::string& name : names) context_.mark_used(name);
  }

  // Every target without a converter, with up to three nodes each, in one error.
  void check_supported(const Json& nodes) {
    std::map<std::string, std::vector<std::string>> missing, names;
    std::vector<std::string> order;
    for (size_t i = 0; i < nodes.size(); ++i) {
      std::string where = path_of(path_of(graph_path(), "nodes"), i);
      std::string target = normalize_target(
          string_value(member(nodes[i], "target", where), path_of(where, "target")));
      if (torch::find_aten_converter(target) != nullptr) continue;
      if (!missing.count(target)) order.push_back(target);
      std::string source = node_source(nodes[i]);
      missing[target].push_back("node '" + node_name(nodes[i], i) + "'" +
                                (source.empty() ? "" : " at " + source));
      names[target].push_back(node_name(nodes[i], i));
    }
    if (missing.empty()) return;
    if (options_.keep_unsupported) {
      for (const std::string& target : order) unsupported_.push_back({target, names[target], {}});
      return;
    }
    std::ostringstream message;
    message << archive_.label() << " uses " << order.size() << " ATen op"
            << (order.size() == 1 ? "" : "s") << " that Kiln does not support:";
    for (const std::string& target : order) {
      const auto& uses = missing[target];
      message << "\n  " << target << ": ";
      for (size_t i = 0; i < uses.size() && i < 3; ++i) message << (i ? "; " : "") << uses[i];
      if (uses.size() > 3) message << "; and " << uses.size() - 3 << " more";
    }
    throw Error(ErrorKind::Unsupported, message.str());
  }

  static std::string node_name(const Json& node, size_t index) {
    auto it = node.find("name");
    if (it != node.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
    return "node_" + std::to_string(index);
  }

  // A node Kiln cannot convert, kept for `kiln inspect`: op = its target (no schema), its
  // tensor inputs that exist, its outputs typed as the program declares them. A known target
  // refused for this node's form is listed with the reason.
  void keep_as_placeholder(const Json& node_json, size_t index, const std::string& reason) {
    std::string where = path_of(path_of(graph_path(), "nodes"), index);
    std::string target = normalize_target(
        string_value(member(node_json, "target", where), path_of(where, "target")));
    std::string name = node_name(node_json, index);
    std::string source = node_source(node_json);
    if (torch::find_aten_converter(target) != nullptr) {
      unsupported_.push_back({target, {name}, {reason}});
    }
    std::vector<ir::Value*> inputs;
    std::vector<std::string> read;
    for (const Json& input : array_member(node_json, "inputs", where)) {
      if (input.is_object() && input.contains("arg")) collect_reads(input["arg"], read);
    }
    for (const std::string& tensor : read) {
      if (ir::Value* value = context_.find_tensor(tensor)) inputs.push_back(value);
    }
    std::vector<std::string> names;
    for (const torch::OutputSlot& slot :
         read_output_slots(array_member(node_json, "outputs", where), path_of(where, "outputs"))) {
      if (slot.kind != torch::OutputSlot::Kind::Tensor &&
          slot.kind != torch::OutputSlot::Kind::TensorList)
        continue;  // a list's elements are outputs too: later nodes read them by name
      for (const std::string& output : slot.names) {
        if (!output.empty() && !context_.find_tensor(output)) names.push_back(output);
      }
    }
    ir::Graph& graph = context_.graph();
    ir::Node* node = graph.add_node(target, graph.unique_name(name), inputs, names);
    node->source = source;
    for (ir::Value* value : node->outputs) {
      try {
        if (auto meta = meta_of(value->name); meta && !meta->complex) {
          value->dtype = meta->dtype;
          value->shape = ir::Shape(meta->sizes);
        }
      } catch (const Error&) {  // a dtype Kiln lacks (complex): the value stays untyped
      }
      context_.define_tensor(value->name, value);
    }
  }

  void convert_node(const Json& node_json, size_t index) {
    std::string where = path_of(path_of(graph_path(), "nodes"), index);
    std::string target = normalize_target(
        string_value(member(node_json, "target", where), path_of(where, "target")));
    const torch::AtenConverter* converter = torch::find_aten_converter(target);
    if (converter == nullptr) {  // listed by check_supported, which threw unless we keep them
      keep_as_placeholder(node_json, index, "");
      return;
    }
    std::vector<torch::NamedArgument> arguments;
    const Json& inputs = array_member(node_json, "inputs", where);
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string at = path_of(path_of(where, "inputs"), i);
      const Json& arg = member(inputs[i], "arg", at);
      arguments.push_back({string_value(member(inputs[i], "name", at), path_of(at, "name")),
                           read_argument(arg, context_, path_of(at, "arg")),
                           tensor_argument_name(arg)});
    }
    auto outputs =
        read_output_slots(array_member(node_json, "outputs", where), path_of(where, "outputs"));
    torch::AtenNode node(context_, target, node_name(node_json, index), node_source(node_json),
                         std::move(arguments), outputs);
    (*converter)(node);
    for (const torch::OutputSlot& slot : outputs) check_output(node, slot);
  }

  // A used output must be defined, with the dtype the program declares for it.
  void check_output(const torch::AtenNode& node, const torch::OutputSlot& slot) {
    for (const std::string& name : slot.names) {
      if (name.empty() || !context_.is_used(name)) continue;
      if (slot.kind == torch::OutputSlot::Kind::SymInt) {
        if (context_.find_sym_int(name) == nullptr)
          node.unsupported("size output '", name, "' was not produced");
        continue;
      }
      ir::Value* value = context_.find_tensor(name);
      if (value == nullptr) node.unsupported("output '", name, "' was not produced");
      if (context_.is_complex(value)) continue;  // declared complex64: a pair of reals here
      auto meta = meta_of(name);
      if (meta && value->dtype != DType::Undefined && value->dtype != meta->dtype) {
        node.unsupported("Kiln computes '", name, "' as ", dtype_name(value->dtype),
                         " where the program declares ", dtype_name(meta->dtype));
      }
    }
  }

  void bind_outputs() {
    std::string at = path_of(where_, "signature");
    const Json& specs = array_member(signature_, "output_specs", at);
    std::vector<ir::Value*> outputs;
    for (size_t i = 0; i < specs.size(); ++i) {
      std::string where = path_of(path_of(at, "output_specs"), i);
      auto [kind, body] = union_member(specs[i], where);
      std::string inner = path_of(where, kind);
      if (kind != "user_output") unsupported_output(kind, *body, where);
      auto [arg_kind, arg] = union_member(member(*body, "arg", inner), path_of(inner, "arg"));
      if (arg_kind != "as_tensor") {
        fail(ErrorKind::Unsupported, where, ": the model returns a value of kind '", arg_kind,
             "'; Kiln supports tensor outputs only");
      }
      std::string name = string_value(member(*arg, "name", inner), path_of(inner, "arg.name"));
      ir::Value* value = context_.find_tensor(name);
      if (value == nullptr) malformed(where, "the output '", name, "' is never defined");
      outputs.push_back(value);
    }
    context_.graph().set_outputs(std::move(outputs));
  }

  [[noreturn]] void unsupported_output(const std::string& kind, const Json& body,
                                       const std::string& where) {
    std::string what;
    for (const char* key : {"buffer_name", "user_input_name", "parameter_name"}) {
      if (body.is_object() && body.contains(key) && body[key].is_string()) {
        what = " of '" + body[key].get<std::string>() + "'";
      }
    }
    fail(ErrorKind::Unsupported, where, ": the program has a '", kind, "' output", what,
         " (it mutates state or trains); Kiln imports inference programs whose only outputs "
         "are user outputs: export without in-place updates of buffers or inputs");
  }

  const Pt2Archive& archive_;
  const Pt2ImportOptions& options_;
  std::vector<Pt2UnsupportedOp> unsupported_;
  std::string where_;
  const Json& graph_json_;
  const Json& signature_;
  FlatGraph flat_;
  const Json& tensor_values_;
  torch::ConversionContext context_;
  PayloadReader weights_;
  PayloadReader constants_;
};

// The range constraints of the inputs' symbolic dims, as the graph's declared ranges.
// torch.export gives a dim it was not told the bounds of [2, int_oo]: it specializes sizes 0
// and 1 away while tracing, but the traced graph computes size 1 the same way, and a batch of
// one is the commonest deployment, so a declared minimum of 2 is taken as 1.
void declare_dim_ranges(const Pt2Info& info, ir::Graph& graph) {
  for (const ir::Value* input : graph.inputs()) {
    if (!input->shape.rank_known()) continue;
    for (const ir::Dim& dim : input->shape.dims()) {
      if (!dim.is_symbolic()) continue;
      auto found = info.symbol_ranges.find(dim.symbol);
      if (found == info.symbol_ranges.end()) continue;
      ir::DimRange range;
      range.min = std::max<int64_t>(0, found->second.min.value_or(0));
      if (range.min == 2) range.min = 1;
      range.max = found->second.max.value_or(-1);
      if (range.max >= 0 && range.max < range.min) continue;  // inconsistent: declare nothing
      graph.dim_ranges[dim.symbol] = range;
    }
  }
}

}  // namespace

Pt2ImportResult import_program(const Pt2Archive& archive, const Pt2ImportOptions& options) {
  std::string where = archive.label() + ": models/model.json";
  Json program = parse_json(*archive.read("models/model.json", "the program"), where);
  Pt2ImportResult result;
  result.graph.name =
      archive.root().empty() ? "model" : archive.root().substr(0, archive.root().size() - 1);
  result.info = read_info(program, where);
  const Json& graph_module = object_member(program, "graph_module", where);
  ProgramImporter importer(archive, graph_module, result.graph, path_of(where, "graph_module"),
                           options);
  importer.run();
  result.unsupported = importer.take_unsupported();
  declare_dim_ranges(result.info, result.graph);
  result.graph.remove_unused_values();
  // Around placeholders (keep_unsupported), what reads an untyped one stays untyped.
  ir::infer_graph(result.graph, /*allow_unknown_ops=*/!result.unsupported.empty());
  return result;
}

}  // namespace kiln::pt2
