// What an op importer sees: the graph being built, ONNX value names → Kiln values, and one
// ONNX node with readers for its inputs and attributes and writers for its outputs.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ir/composite_ops.h"
#include "ir/graph.h"
#include "onnx/onnx.pb.h"
#include "onnx_tensor.h"

namespace kiln::onnx {

using AttrMap = std::map<std::string, ir::AttrValue>;

// Graph-wide state of one import.
class ImportContext {
 public:
  ImportContext(ir::Graph& graph, TensorReader& tensors, std::string label, int64_t opset);

  ir::Graph& graph() { return graph_; }
  const std::string& label() const { return label_; }  // the file, for messages
  int64_t opset() const { return opset_; }

  // ONNX names → Kiln values. Redefining a name is InvalidModel (ONNX graphs are SSA).
  void define(const std::string& onnx_name, ir::Value* value);
  void forget(const std::string& onnx_name);
  ir::Value* find(const std::string& onnx_name) const;  // null if undefined
  // ONNX sequence values (SequenceConstruct, SequenceMap, ...), which exist only during
  // import: the tensors they hold, in order. forget() drops them too.
  void define_sequence(const std::string& onnx_name, std::vector<ir::Value*> values);
  const std::vector<ir::Value*>* find_sequence(const std::string& onnx_name) const;

  // Names read by some node or listed as graph outputs (to tell whether an output is used).
  void mark_used(const std::string& onnx_name) { used_.insert(onnx_name); }
  bool is_used(const std::string& onnx_name) const { return used_.count(onnx_name) > 0; }
  // The Kiln name for a value the model calls `onnx_name` (an Identity removed in front of
  // a graph output passes the output's name back to the producer).
  void prefer_name(const std::string& onnx_name, const std::string& kiln_name);
  std::string value_name(const std::string& onnx_name) const;

  // Once a node is unsupported, values after it may be untyped or mistyped; inference
  // errors there are not the model's fault and are left to the final report.
  void note_unsupported() { saw_unsupported_ = true; }
  bool saw_unsupported() const { return saw_unsupported_; }

  // Reads a tensor; `what` ("initializer 'w'") is prefixed with the file in messages.
  Tensor read_tensor(const ::onnx::TensorProto& proto, const std::string& what);

 private:
  ir::Graph& graph_;
  TensorReader& tensors_;
  std::string label_;
  int64_t opset_;
  std::map<std::string, ir::Value*> values_;
  std::map<std::string, std::vector<ir::Value*>> sequences_;
  std::set<std::string> used_;
  std::map<std::string, std::string> preferred_names_;
  bool saw_unsupported_ = false;
};

// One ONNX node during its import.
class OnnxNode {
 public:
  OnnxNode(ImportContext& context, const ::onnx::NodeProto& proto, std::string name);

  const ::onnx::NodeProto& proto() const { return proto_; }
  const std::string& name() const { return name_; }
  const std::string& op_type() const { return proto_.op_type(); }
  int64_t opset() const { return context_.opset(); }
  ImportContext& context() { return context_; }
  std::string label() const;   // "node 'conv1' (Conv)"
  std::string source() const;  // "model.onnx:node 'conv1' (Conv)"

  // Inputs. Absent optional inputs (empty names, or beyond the list) are null.
  size_t input_count() const { return static_cast<size_t>(proto_.input_size()); }
  ir::Value* input(size_t index) const;
  ir::Value* required_input(size_t index, std::string_view what) const;
  std::vector<ir::Value*> all_inputs() const;
  // A constant integer input (axes, split sizes); Unsupported if computed at run time.
  std::vector<int64_t> constant_ints(size_t index, std::string_view what) const;
  std::optional<std::vector<int64_t>> optional_constant_ints(size_t index,
                                                             std::string_view what) const;

  // Attributes. Each importer lists the attributes its op defines; any other is
  // InvalidModel, so that a misread attribute never silently changes the semantics.
  void allow_attributes(const std::vector<std::string_view>& names) const;
  bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t fallback) const;
  double attr_float(std::string_view name, double fallback) const;
  std::string attr_string(std::string_view name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(std::string_view name) const;
  std::vector<double> attr_floats(std::string_view name) const;
  std::optional<Tensor> attr_tensor(std::string_view name) const;
  // A graph attribute (If's branches, SequenceMap's body); InvalidModel if absent.
  const ::onnx::GraphProto& attr_graph(std::string_view name) const;
  // Any attribute as a Kiln value; Unsupported for graphs, strings lists and the like.
  ir::AttrValue attr_value(const ::onnx::AttributeProto& attribute) const;
  // The named attributes that are present, converted.
  AttrMap copied_attrs(const std::vector<std::string_view>& names) const;

  // Outputs.
  size_t output_count() const { return static_cast<size_t>(proto_.output_size()); }
  // True if output `index` is named and read by a node or the graph outputs.
  bool output_used(size_t index) const;
  // Adds the Kiln node for this ONNX node; its outputs take the ONNX outputs' names (the
  // first `output_count`, default all). Runs shape inference on it when its inputs are typed.
  ir::Node* emit(const std::string& op, std::vector<ir::Value*> inputs, AttrMap attrs = {},
                 std::optional<size_t> output_count = std::nullopt);
  // An intermediate node of an op Kiln expands into several (RMSNormalization), named after
  // this node; shape inference runs on it. Returns its one output.
  ir::Value* add(const std::string& op, std::vector<ir::Value*> inputs, AttrMap attrs = {});
  // A scalar constant `value` of `dtype`, for such expansions.
  ir::Value* scalar(double value, DType dtype);
  // Output `index` is `value` itself (Identity, Dropout).
  void alias_output(size_t index, ir::Value* value);
  // Output `index` is a constant (Constant).
  void constant_output(size_t index, Tensor tensor);

  template <typename... Parts>
  [[noreturn]] void unsupported(const Parts&... parts) const {
    fail(ErrorKind::Unsupported, context_.label(), ": ", label(), ": ", parts...);
  }
  template <typename... Parts>
  [[noreturn]] void invalid(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, context_.label(), ": ", label(), ": ", parts...);
  }

 private:
  void reconcile_weight_dtypes(const std::string& op, std::vector<ir::Value*>& inputs);
  void infer_emitted(ir::Node& node) const;
  const ::onnx::AttributeProto* find_attr(std::string_view name) const;
  const ::onnx::AttributeProto* typed_attr(std::string_view name, int type,
                                           const char* type_name) const;

  ImportContext& context_;
  const ::onnx::NodeProto& proto_;
  std::string name_;
};

// Where the shared composites of ir/ (composite_ops.h, recurrent.h) put their nodes:
// intermediate nodes are named after the ONNX node; the one `finish` adds takes its output's
// name.
class OnnxOpBuilder final : public ir::CoreOpBuilder {
 public:
  explicit OnnxOpBuilder(OnnxNode& node) : node_(node) {}
  ir::Value* add(const std::string& op, std::vector<ir::Value*> inputs,
                 ir::CompositeAttrs attrs) override {
    return node_.add(op, std::move(inputs), std::move(attrs));
  }
  ir::Value* finish(const std::string& op, std::vector<ir::Value*> inputs,
                    ir::CompositeAttrs attrs) override {
    return node_.emit(op, std::move(inputs), std::move(attrs), 1)->outputs[0];
  }
  ir::Value* constant(Tensor tensor) override {
    ir::Graph& graph = node_.context().graph();
    return graph.add_constant(graph.unique_name(node_.name() + "/constant"), std::move(tensor));
  }

 private:
  OnnxNode& node_;
};

// One import function per ONNX op type, found through a table.
using OpImporter = std::function<void(OnnxNode&)>;
struct OpEntry {
  OpImporter import;
  int64_t since_opset = 1;  // the first default-domain opset that defines the op
};
using OpTable = std::map<std::string, OpEntry, std::less<>>;

// Each op family's file adds its importers.
void add_math_ops(OpTable& table);
void add_nn_ops(OpTable& table);
void add_tensor_ops(OpTable& table);
void add_resize_ops(OpTable& table);
void add_attention_ops(OpTable& table);
void add_composite_ops(OpTable& table);  // ops written as several core ops
void add_recurrent_ops(OpTable& table);  // LSTM, GRU (ir/recurrent.h)
void add_dft_ops(OpTable& table);        // DFT as products with constant matrices
void add_layout_ops(OpTable& table);     // DepthToSpace, SpaceToDepth, EyeLike
void add_control_ops(OpTable& table);    // If on a static condition, sequences, SequenceMap
// The whole table; null if Kiln has no importer for `op_type`.
const OpEntry* find_op_importer(std::string_view op_type);
// Whether an ONNX domain is the default one ("" or "ai.onnx"), the only one Kiln imports.
bool is_default_domain(const std::string& domain);
// The importer for `node`: null for another domain or an op Kiln does not import.
const OpEntry* find_node_importer(const ::onnx::NodeProto& node);

// An importer for ops that map 1:1 onto the core op of the same name: all inputs and
// outputs, the listed attributes copied.
OpImporter same_op(std::vector<std::string_view> attributes);

}  // namespace kiln::onnx
