// ONNX control flow and sequences where the model's structure decides them at import. If whose
// condition is a constant or follows from static shapes (the dynamo exporter's atleast_1d asks
// "is the rank 0?" inside hstack/vstack) imports the taken branch inline. Sequences exist only
// during import, as lists of tensors (ImportContext::define_sequence): SequenceConstruct,
// SequenceEmpty, SequenceAt, SequenceLength, SequenceInsert, SequenceErase, SplitToSequence and
// ConcatFromSequence move tensors between lists, and SequenceMap inlines its body once per
// element. A condition or a position computed from tensor values stays Unsupported, saying so.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "ir/shape_values.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

using ::onnx::GraphProto;
using ::onnx::NodeProto;

constexpr int kMaxStaticDepth = 32;
constexpr int64_t kMaxStaticElements = 64;
// Sequences are unrolled at import: a longer one (SplitToSequence of a long axis, a
// SequenceMap over it) would make a graph too large to run well, or a hostile file exhaust
// memory.
constexpr size_t kMaxSequenceLength = 4096;
constexpr size_t kMaxInlinedNodes = 100000;  // SequenceMap: elements x body nodes

using Numbers = std::vector<double>;

// a op b elementwise, one side possibly a single number.
template <typename Op>
std::optional<Numbers> combine(const std::optional<Numbers>& a, const std::optional<Numbers>& b,
                               Op op) {
  if (!a || !b || a->empty() || b->empty() ||
      (a->size() != b->size() && a->size() != 1 && b->size() != 1)) {
    return std::nullopt;  // empty or mismatched: no static answer (found by fuzz_onnx)
  }
  Numbers out(std::max(a->size(), b->size()));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = op((*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]) ? 1.0 : 0.0;
  }
  return out;
}

// What a Cast to `dtype` makes of static numbers.
Numbers cast_numbers(Numbers numbers, DType dtype) {
  for (double& x : numbers) {
    if (dtype == DType::Bool) x = x != 0 ? 1 : 0;
    if (is_integral(dtype) && dtype != DType::Bool) x = std::trunc(x);
  }
  return numbers;
}

// Numbers an If condition is built from, where the graph states them without running it:
// constants, shape facts (ir::shape_entries, Size of a value of static shape), and
// comparisons, logic and casts of those. Nullopt otherwise.
std::optional<Numbers> static_numbers(const ir::Value* value, int depth) {
  if (value == nullptr || depth > kMaxStaticDepth) return std::nullopt;
  if (value->is_constant()) {
    if (value->constant->numel() > kMaxStaticElements) return std::nullopt;
    return value->constant->to_double_vector();
  }
  if (value->dtype == DType::Int64) {
    if (auto entries = ir::shape_entries(value)) {
      Numbers numbers;
      for (const ir::ShapeEntry& entry : *entries) {
        if (entry.inferred || !entry.dim.is_static()) return std::nullopt;
        numbers.push_back(double(entry.dim.value));
      }
      return numbers;
    }
  }
  const ir::Node* node = value->producer;
  if (node == nullptr) return std::nullopt;
  auto input = [&](size_t i) { return static_numbers(node->input(i), depth + 1); };
  const std::string& op = node->op;
  if (op == "Size") {
    const ir::Value* x = node->input(0);
    if (x == nullptr || !x->shape.rank_known() || !x->shape.is_static()) return std::nullopt;
    return Numbers{double(element_count(x->shape.static_dims()))};
  }
  if (op == "Cast") {
    auto numbers = input(0);
    if (!numbers) return std::nullopt;
    return cast_numbers(*numbers, DType(node->attr_int("to", int64_t(DType::Float32))));
  }
  if (op == "Not") {
    auto numbers = input(0);
    if (!numbers) return std::nullopt;
    for (double& x : *numbers) x = x == 0 ? 1 : 0;
    return numbers;
  }
  if (op == "Equal") return combine(input(0), input(1), [](double a, double b) { return a == b; });
  if (op == "Less") return combine(input(0), input(1), [](double a, double b) { return a < b; });
  if (op == "Greater") return combine(input(0), input(1), [](double a, double b) { return a > b; });
  if (op == "And") return combine(input(0), input(1), [](double a, double b) { return a && b; });
  if (op == "Or") return combine(input(0), input(1), [](double a, double b) { return a || b; });
  return std::nullopt;
}

// Imports `body`'s nodes into the graph as part of `outer`, its formal inputs bound to
// `arguments`, its nodes named under `scope`; returns the ONNX names of its outputs, which stay
// defined (tensors or sequences) until `forget_body` drops every name the body defined.
class InlinedBody {
 public:
  InlinedBody(OnnxNode& outer, const GraphProto& body, const std::vector<ir::Value*>& arguments,
              const std::string& scope)
      : outer_(outer), body_(body), context_(outer.context()) {
    if (size_t(body.input_size()) != arguments.size()) {
      outer.invalid("its subgraph '", body.name(), "' takes ", body.input_size(),
                    " inputs; the op gives it ", arguments.size());
    }
    // A constructor that throws runs no destructor: forget what was defined before rethrowing.
    try {
      import_body(arguments, scope);
    } catch (...) {
      forget_defined();
      throw;
    }
  }
  ~InlinedBody() { forget_defined(); }
  InlinedBody(const InlinedBody&) = delete;
  InlinedBody& operator=(const InlinedBody&) = delete;

  // Output `index` as a tensor; InvalidModel if it is a sequence or undefined.
  ir::Value* tensor(int index) const {
    if (index >= body_.output_size()) outer_.invalid("its subgraph has no output ", index);
    const std::string& name = body_.output(index).name();
    ir::Value* value = context_.find(name);
    if (value == nullptr) {
      outer_.invalid("its subgraph '", body_.name(), "' output '", name, "' is not a tensor ",
                     "any node, input or initializer defines");
    }
    return value;
  }
  const std::vector<ir::Value*>* sequence(int index) const {
    if (index >= body_.output_size()) return nullptr;
    return context_.find_sequence(body_.output(index).name());
  }

 private:
  void define(const std::string& name, ir::Value* value) {
    context_.define(name, value);
    defined_.push_back(name);
  }

  void import_body(const std::vector<ir::Value*>& arguments, const std::string& scope) {
    for (const auto& initializer : body_.initializer()) {
      Tensor tensor = context_.read_tensor(initializer, "initializer '" + initializer.name() + "'");
      ir::Graph& graph = context_.graph();
      define(initializer.name(),
             graph.add_constant(graph.unique_name(initializer.name()), std::move(tensor)));
    }
    for (int i = 0; i < body_.input_size(); ++i) {
      define(body_.input(i).name(), arguments[size_t(i)]);
    }
    for (const NodeProto& node : body_.node()) {
      for (const std::string& input : node.input()) context_.mark_used(input);
    }
    for (const auto& output : body_.output()) context_.mark_used(output.name());
    for (int i = 0; i < body_.node_size(); ++i) import(body_.node(i), scope, i);
  }

  void forget_defined() {
    for (const std::string& name : defined_) context_.forget(name);
    defined_.clear();
  }

  void import(const NodeProto& proto, const std::string& scope, int index) {
    const OpEntry* entry = find_node_importer(proto);
    if (entry == nullptr) {
      outer_.unsupported("its subgraph '", body_.name(), "' has a ", proto.op_type(),
                         " node, which Kiln does not import");
    }
    std::string base =
        proto.name().empty() ? proto.op_type() + "_" + std::to_string(index) : proto.name();
    // The names this node defines are forgotten with the body, even where its import fails
    // part way; a name defined before it (an invalid, non-SSA model) is left alone.
    std::vector<std::string> fresh;
    for (const std::string& output : proto.output()) {
      if (!output.empty() && !is_defined(output)) fresh.push_back(output);
    }
    OnnxNode node(context_, proto, scope + "/" + base);
    try {
      entry->import(node);
    } catch (...) {
      remember_defined(fresh);
      throw;
    }
    remember_defined(fresh);
  }

  bool is_defined(const std::string& name) const {
    return context_.find(name) != nullptr || context_.find_sequence(name) != nullptr;
  }
  void remember_defined(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      if (is_defined(name)) defined_.push_back(name);
    }
  }

  OnnxNode& outer_;
  const GraphProto& body_;
  ImportContext& context_;
  std::vector<std::string> defined_;
};

// Output `index` of `node` holds the inlined body's output `index`, tensor or sequence.
void take_body_output(OnnxNode& node, const InlinedBody& body, size_t index) {
  const std::string& name = node.proto().output(int(index));
  if (name.empty()) return;
  if (const std::vector<ir::Value*>* sequence = body.sequence(int(index))) {
    node.context().define_sequence(name, *sequence);
  } else {
    node.alias_output(index, body.tensor(int(index)));
  }
}

void import_if(OnnxNode& node) {
  node.allow_attributes({"then_branch", "else_branch"});
  ir::Value* condition = node.required_input(0, "cond");
  std::optional<Numbers> value = static_numbers(condition, 0);
  if (!value) {
    node.unsupported("its condition '", condition->name, "' is computed at run time from tensor ",
                     "values; Kiln imports If only where the condition is a constant or follows ",
                     "from static shapes");
  }
  if (value->size() != 1) node.invalid("its condition has ", value->size(), " elements, not one");
  const bool taken = (*value)[0] != 0;
  const GraphProto& branch = node.attr_graph(taken ? "then_branch" : "else_branch");
  if (branch.output_size() != int(node.output_count())) {
    node.invalid("its ", taken ? "then" : "else", " branch has ", branch.output_size(),
                 " outputs; the node has ", node.output_count());
  }
  // The branch's results take the If's output names (a graph output keeps its name).
  for (int i = 0; i < branch.output_size(); ++i) {
    const std::string& name = node.proto().output(i);
    if (!name.empty()) node.context().prefer_name(branch.output(i).name(), name);
  }
  InlinedBody body(node, branch, {}, node.name() + (taken ? "/then" : "/else"));
  for (size_t i = 0; i < node.output_count(); ++i) take_body_output(node, body, i);
}

const std::vector<ir::Value*>& sequence_input(OnnxNode& node, size_t index) {
  const std::string& name = index < node.input_count() ? node.proto().input(int(index)) : "";
  const std::vector<ir::Value*>* sequence = node.context().find_sequence(name);
  if (sequence == nullptr && node.context().find(name) != nullptr &&
      node.context().saw_unsupported()) {
    node.unsupported("input ", index, " ('", name, "') should be a sequence but comes from a ",
                     "node Kiln could not import");
  }
  if (sequence == nullptr) {
    node.invalid("input ", index, " ('", name, "') is not a sequence any node defines");
  }
  return *sequence;
}

void define_output_sequence(OnnxNode& node, std::vector<ir::Value*> values) {
  if (node.output_count() == 0) node.invalid("has no output");
  const std::string& name = node.proto().output(0);
  if (!name.empty()) node.context().define_sequence(name, std::move(values));
}

// A position input (SequenceAt, SequenceInsert, SequenceErase) as an index into `size`
// elements (`size` itself allowed where `end_ok`), or `fallback` when absent.
size_t position_input(const OnnxNode& node, size_t index, size_t size, bool end_ok,
                      size_t fallback) {
  if (node.input(index) == nullptr) return fallback;
  std::vector<int64_t> values = node.constant_ints(index, "position");
  if (values.size() != 1) node.invalid("position must hold one integer");
  int64_t position = values[0] < 0 ? values[0] + int64_t(size) : values[0];
  if (position < 0 || position > int64_t(size) || (!end_ok && position == int64_t(size))) {
    node.invalid("position ", values[0], " is out of range for a sequence of ", size, " tensors");
  }
  return size_t(position);
}

void import_sequence_construct(OnnxNode& node) {
  node.allow_attributes({});
  define_output_sequence(node, node.all_inputs());
}

void import_sequence_empty(OnnxNode& node) {
  node.allow_attributes({"dtype"});
  define_output_sequence(node, {});
}

void import_sequence_at(OnnxNode& node) {
  node.allow_attributes({});
  const std::vector<ir::Value*>& sequence = sequence_input(node, 0);
  node.required_input(1, "position");
  node.alias_output(0, sequence[position_input(node, 1, sequence.size(), false, 0)]);
}

void import_sequence_length(OnnxNode& node) {
  node.allow_attributes({});
  node.constant_output(0,
                       Tensor::from_vector<int64_t>({}, {int64_t(sequence_input(node, 0).size())}));
}

void import_sequence_insert(OnnxNode& node) {
  node.allow_attributes({});
  std::vector<ir::Value*> sequence = sequence_input(node, 0);
  ir::Value* tensor = node.required_input(1, "tensor");
  size_t at = position_input(node, 2, sequence.size(), true, sequence.size());
  if (sequence.size() >= kMaxSequenceLength) {
    node.unsupported("the sequence would exceed ", kMaxSequenceLength, " tensors");
  }
  sequence.insert(sequence.begin() + std::ptrdiff_t(at), tensor);
  define_output_sequence(node, std::move(sequence));
}

void import_sequence_erase(OnnxNode& node) {
  node.allow_attributes({});
  std::vector<ir::Value*> sequence = sequence_input(node, 0);
  if (sequence.empty()) node.invalid("erases from an empty sequence");
  size_t at = position_input(node, 1, sequence.size(), false, sequence.size() - 1);
  sequence.erase(sequence.begin() + std::ptrdiff_t(at));
  define_output_sequence(node, std::move(sequence));
}

void import_concat_from_sequence(OnnxNode& node) {
  node.allow_attributes({"axis", "new_axis"});
  const std::vector<ir::Value*>& sequence = sequence_input(node, 0);
  if (sequence.empty()) node.invalid("concatenates an empty sequence");
  const int64_t axis = node.attr_int("axis", 0);
  std::vector<ir::Value*> parts = sequence;
  if (node.attr_int("new_axis", 0) != 0) {
    // The new axis is inserted at `axis` of the result, whose rank is one more.
    for (ir::Value*& part : parts) {
      part = node.add("Unsqueeze", {part}, {{"axes", std::vector<int64_t>{axis}}});
    }
  }
  node.emit("Concat", parts, {{"axis", axis}});
}

// The tensors SplitToSequence makes: chunks along `axis` of the sizes `split` gives (none: one
// per element, squeezed unless keepdims; a scalar: equal chunks, the last shorter).
void import_split_to_sequence(OnnxNode& node) {
  node.allow_attributes({"axis", "keepdims"});
  ir::Value* x = node.required_input(0, "input");
  if (!x->shape.rank_known()) node.unsupported("its input's rank is unknown at import");
  const int64_t rank = x->shape.rank();
  int64_t axis = node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) node.invalid("axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  if (!x->shape[axis].is_static()) {
    node.unsupported("the size of its split axis ", axis, " is unknown at import");
  }
  const int64_t length = x->shape[axis].value;
  std::optional<std::vector<int64_t>> split = node.optional_constant_ints(1, "split");
  const bool squeeze = !split && node.attr_int("keepdims", 1) == 0;
  std::vector<int64_t> sizes;
  if (!split && size_t(length) > kMaxSequenceLength) {
    node.unsupported("it would split ", length, " tensors; Kiln unrolls sequences at import, up ",
                     "to ", kMaxSequenceLength);
  }
  if (!split) {
    sizes.assign(size_t(length), 1);
  } else if (node.input(1)->shape.rank_known() && node.input(1)->shape.rank() == 0) {
    if ((*split)[0] <= 0) node.invalid("split ", (*split)[0], " must be positive");
    if (size_t(length / (*split)[0]) > kMaxSequenceLength) {
      node.unsupported("it would split into more than ", kMaxSequenceLength,
                       " tensors; Kiln unrolls sequences at import");
    }
    for (int64_t start = 0; start < length; start += (*split)[0]) {
      sizes.push_back(std::min((*split)[0], length - start));
    }
  } else {
    sizes = *split;
  }
  std::vector<ir::Value*> chunks;
  ir::Graph& graph = node.context().graph();
  auto ints = [&](int64_t value) {
    return graph.add_constant(graph.unique_name(node.name() + "/bound"),
                              Tensor::from_vector<int64_t>({1}, {value}));
  };
  int64_t start = 0;
  for (int64_t size : sizes) {
    if (size < 0) node.invalid("split sizes must not be negative");
    ir::Value* chunk = node.add("Slice", {x, ints(start), ints(start + size), ints(axis)});
    if (squeeze) chunk = node.add("Squeeze", {chunk}, {{"axes", std::vector<int64_t>{axis}}});
    chunks.push_back(chunk);
    start += size;
  }
  if (start != length) node.invalid("split sizes add up to ", start, ", not ", length);
  define_output_sequence(node, std::move(chunks));
}

// SequenceMap: the body once per element of the first input (a sequence); each further input
// is a sequence of as many tensors (its element taken) or a tensor (given every time).
void import_sequence_map(OnnxNode& node) {
  node.allow_attributes({"body"});
  const GraphProto& body = node.attr_graph("body");
  const size_t count = sequence_input(node, 0).size();
  if (body.output_size() != int(node.output_count())) {
    node.invalid("its body has ", body.output_size(), " outputs; the node has ",
                 node.output_count());
  }
  if (count * size_t(std::max(body.node_size(), 1)) > kMaxInlinedNodes) {
    node.unsupported("its body of ", body.node_size(), " nodes over ", count, " tensors would ",
                     "inline more than ", kMaxInlinedNodes, " nodes");
  }
  std::vector<std::vector<ir::Value*>> outputs(node.output_count());
  for (size_t element = 0; element < count; ++element) {
    std::vector<ir::Value*> arguments;
    for (size_t i = 0; i < node.input_count(); ++i) {
      const std::vector<ir::Value*>* sequence =
          node.context().find_sequence(node.proto().input(int(i)));
      if (sequence != nullptr && sequence->size() != count) {
        node.invalid("input ", i, " has ", sequence->size(), " tensors; input 0 has ", count);
      }
      arguments.push_back(sequence != nullptr ? (*sequence)[element]
                                              : node.required_input(i, "additional input"));
    }
    InlinedBody inlined(node, body, arguments, node.name() + "/" + std::to_string(element));
    for (size_t out = 0; out < outputs.size(); ++out) {
      outputs[out].push_back(inlined.tensor(int(out)));
    }
  }
  for (size_t out = 0; out < outputs.size(); ++out) {
    const std::string& name = node.proto().output(int(out));
    if (!name.empty()) node.context().define_sequence(name, std::move(outputs[out]));
  }
}

}  // namespace

void add_control_ops(OpTable& table) {
  table["If"] = {import_if, 1};
  table["SequenceConstruct"] = {import_sequence_construct, 11};
  table["SequenceEmpty"] = {import_sequence_empty, 11};
  table["SequenceAt"] = {import_sequence_at, 11};
  table["SequenceLength"] = {import_sequence_length, 11};
  table["SequenceInsert"] = {import_sequence_insert, 11};
  table["SequenceErase"] = {import_sequence_erase, 11};
  table["ConcatFromSequence"] = {import_concat_from_sequence, 11};
  table["SplitToSequence"] = {import_split_to_sequence, 11};
  table["SequenceMap"] = {import_sequence_map, 17};
}

}  // namespace kiln::onnx
