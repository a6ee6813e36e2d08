// The IR: a graph of nodes over SSA values. Values have a dtype and a shape; constants
// (weights) are values that carry a Tensor. Nodes are kept in topological order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"
#include "ir/shape.h"

namespace kiln::ir {

struct Node;

struct Value {
  std::string name;
  DType dtype = DType::Undefined;
  Shape shape;
  Node* producer = nullptr;        // null for graph inputs and constants
  std::optional<Tensor> constant;  // set for weights and folded values
  bool is_graph_input = false;

  bool is_constant() const { return constant.has_value(); }
};

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, Tensor>;

struct Node {
  std::string op;              // core op name, see docs/core_ops.md
  std::string name;            // unique within the graph; from the model where it had one
  std::vector<Value*> inputs;  // nullptr marks an absent optional input
  std::vector<Value*> outputs;
  std::map<std::string, AttrValue> attrs;
  std::optional<Precision> precision;  // set by assign_precisions; unset means fp32
  std::string source;                  // where it came from (file, node, Python line) for messages

  bool has_attr(const std::string& key) const { return attrs.count(key) > 0; }
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  double attr_float(const std::string& key, double fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  std::vector<double> attr_floats(const std::string& key, std::vector<double> fallback = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;  // null if absent
  // The input at `index`, or null when absent or beyond the inputs given.
  Value* input(size_t index) const { return index < inputs.size() ? inputs[index] : nullptr; }
  std::string describe() const;  // "Conv node 'conv1'" for messages
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  std::string name;
  // The declared ranges of symbolic input dims, by symbol (a .pt2's range constraints, or the
  // ranges an engine was built for); a symbol without one takes any size.
  std::map<std::string, DimRange> dim_ranges;

  Value* add_input(const std::string& name, DType dtype, Shape shape);
  Value* add_constant(const std::string& name, Tensor tensor);
  // Appends a node; creates its outputs with the given names (empty names are generated).
  Node* add_node(const std::string& op, const std::string& name, std::vector<Value*> inputs,
                 const std::vector<std::string>& output_names);
  // Inserts a node just before `before` in the node order.
  Node* insert_node_before(const Node* before, const std::string& op, const std::string& name,
                           std::vector<Value*> inputs,
                           const std::vector<std::string>& output_names);
  void add_output(Value* value) { outputs_.push_back(value); }
  void set_outputs(std::vector<Value*> outputs) { outputs_ = std::move(outputs); }

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  std::vector<Node*> nodes() const;  // topological order
  std::vector<Value*> values() const;
  Value* find_value(const std::string& name) const;  // null if none
  size_t node_count() const { return nodes_.size(); }

  // Nodes that read `value`, in order.
  std::vector<Node*> users(const Value* value) const;
  bool is_graph_output(const Value* value) const;
  // Points every reader of `old_value` (and the graph outputs) at `new_value`.
  void replace_all_uses(Value* old_value, Value* new_value);
  // Removes a node; its outputs must be unused. Returns the next node in order.
  void remove_node(Node* node);
  // Drops values that nothing produces, reads, or lists as input/output.
  void remove_unused_values();
  // Re-orders nodes topologically; throws InvalidModel on a cycle or a missing producer.
  void sort_topologically();
  std::string unique_name(const std::string& base);

 private:
  Value* new_value(const std::string& name);
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::map<std::string, Value*> value_names_;
  std::map<std::string, int> name_counters_;
};

// A copy of `graph`: same names, attributes, precisions and dtypes; constants share their
// bytes with the original. `input_shape`, when given, decides each graph input's shape.
Graph copy_graph(const Graph& graph, const std::function<Shape(const Value&)>& input_shape = {});

}  // namespace kiln::ir
