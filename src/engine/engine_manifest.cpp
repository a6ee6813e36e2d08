// Graph ↔ JSON manifest for the engine file. Doubles are stored as their bit patterns so
// that attributes (infinities and NaNs included) come back exactly.
#include "engine/engine_manifest.h"

#include <bit>
#include <cstring>

#include "core/error.h"
#include "core/precision.h"
#include "ir/op_schema.h"

namespace kiln::engine {
namespace {

using Json = nlohmann::json;

uint64_t align_up(uint64_t value) {
  return (value + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
}

Json shape_to_json(const ir::Shape& shape) {
  if (!shape.rank_known()) return nullptr;
  Json dims = Json::array();
  for (const ir::Dim& dim : shape.dims()) {
    if (dim.is_static()) {
      dims.push_back(dim.value);
    } else if (dim.is_symbolic()) {
      dims.push_back(dim.symbol);
    } else {
      dims.push_back(nullptr);
    }
  }
  return dims;
}

ir::Shape shape_from_json(const Json& json) {
  if (json.is_null()) return ir::Shape();
  std::vector<ir::Dim> dims;
  for (const Json& dim : json) {
    if (dim.is_number_integer()) {
      dims.push_back(ir::Dim::fixed(dim.get<int64_t>()));
    } else if (dim.is_string()) {
      dims.push_back(ir::Dim::named(dim.get<std::string>()));
    } else {
      dims.push_back(ir::Dim::unknown());
    }
  }
  return ir::Shape(std::move(dims));
}

// The nodes reading each value.
std::map<const ir::Value*, std::vector<const ir::Node*>> users_of(const ir::Graph& graph) {
  std::map<const ir::Value*, std::vector<const ir::Node*>> users;
  for (const ir::Node* node : graph.nodes()) {
    for (const ir::Value* input : node->inputs) {
      if (input) users[input].push_back(node);
    }
  }
  return users;
}

// The narrower dtype a constant is stored in, if every layer reading it runs in a precision
// that stores that dtype: the GPU kernels read it so, and the CPU backend rounds it to those
// very values (it rounds every float input of a float-computing bf16/fp16 layer). Graph
// inputs (overridable defaults) and outputs keep their declared dtype.
std::optional<DType> prepared_dtype(const ir::Graph& graph, const ir::Value& value,
                                    const std::vector<const ir::Node*>& users) {
  if (!is_floating(value.dtype) || value.constant->dtype() != value.dtype || value.is_graph_input ||
      graph.is_graph_output(&value)) {
    return std::nullopt;
  }
  std::optional<DType> stored;
  for (const ir::Node* user : users) {
    const ir::OpSchema* schema = ir::find_schema(user->op);
    if (!user->precision || schema == nullptr || !schema->float_compute) return std::nullopt;
    DType dtype = precision_storage_dtype(*user->precision);
    if (stored && *stored != dtype) return std::nullopt;
    stored = dtype;
  }
  // Strictly narrower: widening it back then gives exactly the rounded values (fp16 → bf16
  // would not round-trip through fp16).
  if (!stored || dtype_size(*stored) >= dtype_size(value.dtype)) return std::nullopt;
  return stored;
}

class ManifestBuilder {
 public:
  Json tensor(const Tensor& tensor) {
    if (!tensor.defined()) return {{"undefined", true}};
    uint64_t offset = align_up(manifest_.weights_size);
    manifest_.weights.push_back({tensor, offset});
    manifest_.weights_size = offset + tensor.nbytes();
    return {{"offset", offset},
            {"bytes", tensor.nbytes()},
            {"dtype", std::string(dtype_name(tensor.dtype()))},
            {"dims", tensor.dims()}};
  }

  // A weight converted to `stored`; "dtype" stays the declared one.
  Json prepared(const Tensor& weight, DType stored) {
    Json json = tensor(weight.to(stored));
    json["dtype"] = std::string(dtype_name(weight.dtype()));
    json["stored_dtype"] = std::string(dtype_name(stored));
    return json;
  }

  Json attribute(const ir::AttrValue& value) {
    if (const auto* integer = std::get_if<int64_t>(&value)) return {{"int", *integer}};
    if (const auto* real = std::get_if<double>(&value))
      return {{"float", std::bit_cast<uint64_t>(*real)}};
    if (const auto* text = std::get_if<std::string>(&value)) return {{"string", *text}};
    if (const auto* ints = std::get_if<std::vector<int64_t>>(&value)) return {{"ints", *ints}};
    if (const auto* reals = std::get_if<std::vector<double>>(&value)) {
      Json bits = Json::array();
      for (double real : *reals) bits.push_back(std::bit_cast<uint64_t>(real));
      return {{"floats", bits}};
    }
    return {{"tensor", tensor(std::get<Tensor>(value))}};
  }

  Manifest build(const ir::Graph& graph) {
    std::map<const ir::Value*, std::vector<const ir::Node*>> users = users_of(graph);
    Json values = Json::array();
    for (const ir::Value* value : graph.values()) {
      if (value->producer) continue;  // node outputs are described with their node
      Json entry = {{"name", value->name},
                    {"dtype", std::string(dtype_name(value->dtype))},
                    {"shape", shape_to_json(value->shape)},
                    {"input", value->is_graph_input}};
      if (value->is_constant()) {
        std::optional<DType> stored = prepared_dtype(graph, *value, users[value]);
        entry["constant"] = stored ? prepared(*value->constant, *stored) : tensor(*value->constant);
      }
      values.push_back(entry);
    }
    Json nodes = Json::array();
    for (const ir::Node* node : graph.nodes()) {
      Json inputs = Json::array(), outputs = Json::array(), attrs = Json::object();
      for (const ir::Value* input : node->inputs) {
        inputs.push_back(input ? Json(input->name) : Json(nullptr));
      }
      for (const ir::Value* output : node->outputs) {
        outputs.push_back({{"name", output->name},
                           {"dtype", std::string(dtype_name(output->dtype))},
                           {"shape", shape_to_json(output->shape)}});
      }
      for (const auto& [key, value] : node->attrs) attrs[key] = attribute(value);
      nodes.push_back(
          {{"op", node->op},
           {"name", node->name},
           {"inputs", inputs},
           {"outputs", outputs},
           {"attrs", attrs},
           {"precision",
            node->precision ? Json(std::string(precision_name(*node->precision))) : Json(nullptr)},
           {"source", node->source}});
    }
    Json graph_inputs = Json::array(), graph_outputs = Json::array();
    for (const ir::Value* input : graph.inputs()) graph_inputs.push_back(input->name);
    for (const ir::Value* output : graph.outputs()) graph_outputs.push_back(output->name);
    manifest_.json = {{"name", graph.name},
                      {"values", values},
                      {"nodes", nodes},
                      {"inputs", graph_inputs},
                      {"outputs", graph_outputs}};
    if (!graph.dim_ranges.empty()) {
      Json ranges = Json::object();
      for (const auto& [symbol, range] : graph.dim_ranges) ranges[symbol] = {range.min, range.max};
      manifest_.json["dim_ranges"] = ranges;
    }
    manifest_.weights_size = align_up(manifest_.weights_size);
    return std::move(manifest_);
  }

 private:
  Manifest manifest_;
};

class GraphReader {
 public:
  GraphReader(const WeightSection& weights, const std::string& file)
      : weights_(weights), file_(file) {}

  DType dtype(const Json& json, bool allow_undefined) const {
    std::string name = json.get<std::string>();
    if (allow_undefined && name == dtype_name(DType::Undefined)) return DType::Undefined;
    std::optional<DType> dtype = dtype_from_name(name);
    if (!dtype) corrupt("unknown dtype '", name, "'");
    return *dtype;
  }

  Tensor tensor(const Json& json) const {
    if (json.contains("undefined")) return Tensor();
    return mapped(json, dtype(json.at("dtype"), false));
  }

  // The tensor at the entry's offset, whose bytes hold elements of `type`.
  Tensor mapped(const Json& json, DType type) const {
    Dims dims = json.at("dims").get<Dims>();
    uint64_t offset = json.at("offset").get<uint64_t>();
    uint64_t bytes = json.at("bytes").get<uint64_t>();
    uint64_t expected = static_cast<uint64_t>(element_count(dims)) * dtype_size(type);
    if (bytes != expected)
      corrupt("a tensor of ", dims_to_string(dims), " holds ", bytes, " bytes");
    if (offset > weights_.size || bytes > weights_.size - offset) {
      corrupt("a tensor at offset ", offset, " (", bytes, " bytes) lies outside the ",
              weights_.size, "-byte weight section");
    }
    return Tensor::from_mapped(type, std::move(dims), weights_.keep_alive, weights_.bytes + offset,
                               bytes);
  }

  // A value's constant. A prepared weight is kept as mapped; the graph's constant is widened
  // from it only when something reads it (the CPU backend), so that loading an engine costs no
  // host memory for weights the GPU runtime uploads narrow.
  Tensor constant(const Json& json, const std::string& name) {
    if (!json.contains("stored_dtype")) return tensor(json);
    DType declared = dtype(json.at("dtype"), false);
    DType stored = dtype(json.at("stored_dtype"), false);
    if (!is_floating(declared) || !is_floating(stored) ||
        dtype_size(stored) > dtype_size(declared)) {
      corrupt("value '", name, "' is stored as ", dtype_name(stored), " but declared ",
              dtype_name(declared), " (a prepared weight is a float type no wider than that)");
    }
    Dims dims = json.at("dims").get<Dims>();
    uint64_t bytes = json.at("bytes").get<uint64_t>();
    if (bytes != static_cast<uint64_t>(element_count(dims)) * dtype_size(stored)) {
      corrupt("value '", name, "' is stored as ", dtype_name(stored), " ", dims_to_string(dims),
              " in ", bytes, " bytes");
    }
    Tensor weight = mapped(json, stored);
    prepared_weights_[name] = weight;
    return Tensor::converted_on_first_read(weight, declared);
  }

  ir::AttrValue attribute(const Json& json) const {
    if (json.contains("int")) return json.at("int").get<int64_t>();
    if (json.contains("float")) return std::bit_cast<double>(json.at("float").get<uint64_t>());
    if (json.contains("string")) return json.at("string").get<std::string>();
    if (json.contains("ints")) return json.at("ints").get<std::vector<int64_t>>();
    if (json.contains("floats")) {
      std::vector<double> reals;
      for (const Json& bits : json.at("floats"))
        reals.push_back(std::bit_cast<double>(bits.get<uint64_t>()));
      return reals;
    }
    if (json.contains("tensor")) return tensor(json.at("tensor"));
    corrupt("an attribute of unknown kind: ", json.dump());
  }

  ir::Value* value(ir::Graph& graph, const std::string& name) const {
    ir::Value* found = graph.find_value(name);
    if (!found) corrupt("a node reads '", name, "', which no earlier entry defines");
    return found;
  }

  ManifestGraph read(const Json& json) {
    ir::Graph graph;
    graph.name = json.at("name").get<std::string>();
    const Json ranges = json.value("dim_ranges", Json::object());  // kept alive for items()
    for (const auto& [symbol, bounds] : ranges.items()) {
      ir::DimRange range{bounds.at(0).get<int64_t>(), bounds.at(1).get<int64_t>()};
      if (range.min < 0 || (range.max >= 0 && range.max < range.min))
        corrupt("dim '", symbol, "' has the range ", range.to_string());
      graph.dim_ranges[symbol] = range;
    }
    for (const Json& entry : json.at("values")) {
      std::string name = entry.at("name").get<std::string>();
      if (graph.find_value(name)) corrupt("value '", name, "' is listed twice");
      ir::Value* value = nullptr;
      if (entry.at("input").get<bool>()) {
        value = graph.add_input(name, dtype(entry.at("dtype"), true),
                                shape_from_json(entry.at("shape")));
        if (entry.contains("constant")) value->constant = constant(entry.at("constant"), name);
      } else if (entry.contains("constant")) {
        value = graph.add_constant(name, constant(entry.at("constant"), name));
      } else {
        continue;  // a value nothing produces and that is no input: nothing to keep
      }
      value->dtype = dtype(entry.at("dtype"), true);
      value->shape = shape_from_json(entry.at("shape"));
    }
    for (const Json& entry : json.at("nodes")) {
      std::vector<ir::Value*> inputs;
      for (const Json& input : entry.at("inputs")) {
        inputs.push_back(input.is_null() ? nullptr : value(graph, input.get<std::string>()));
      }
      std::vector<std::string> output_names;
      for (const Json& output : entry.at("outputs"))
        output_names.push_back(output.at("name").get<std::string>());
      ir::Node* node = graph.add_node(entry.at("op").get<std::string>(),
                                      entry.at("name").get<std::string>(), inputs, output_names);
      for (size_t i = 0; i < output_names.size(); ++i) {
        if (node->outputs[i]->name != output_names[i])
          corrupt("value '", output_names[i], "' is defined twice");
        const Json& output = entry.at("outputs")[i];
        node->outputs[i]->dtype = dtype(output.at("dtype"), true);
        node->outputs[i]->shape = shape_from_json(output.at("shape"));
      }
      for (const auto& [key, attr] : entry.at("attrs").items()) node->attrs[key] = attribute(attr);
      if (!entry.at("precision").is_null()) {
        std::string name = entry.at("precision").get<std::string>();
        std::optional<Precision> precision = precision_from_name(name);
        if (!precision) corrupt("node '", node->name, "' has unknown precision '", name, "'");
        node->precision = precision;
      }
      node->source = entry.at("source").get<std::string>();
    }
    std::vector<ir::Value*> outputs;
    for (const Json& name : json.at("outputs"))
      outputs.push_back(value(graph, name.get<std::string>()));
    graph.set_outputs(std::move(outputs));
    return {std::move(graph), std::move(prepared_weights_)};
  }

 private:
  template <typename... Parts>
  [[noreturn]] void corrupt(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, "engine file '", file_, "' has a corrupt manifest: ", parts...,
         " (rebuild it with 'kiln build')");
  }

  const WeightSection& weights_;
  std::string file_;
  std::map<std::string, Tensor> prepared_weights_;
};

}  // namespace

Manifest graph_to_manifest(const ir::Graph& graph) { return ManifestBuilder().build(graph); }

ManifestGraph manifest_to_graph(const nlohmann::json& manifest, const WeightSection& weights,
                                const std::string& file) {
  return GraphReader(weights, file).read(manifest);
}

}  // namespace kiln::engine
