// Graph construction and rewriting primitives used by frontends and passes.
#include "ir/graph.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace kiln::ir {
namespace {

template <typename T>
const T* find_attr(const Node& node, const std::string& key) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return nullptr;
  const T* value = std::get_if<T>(&it->second);
  check(value != nullptr, ErrorKind::InvalidModel, "attribute '", key, "' of ", node.describe(),
        " has the wrong type");
  return value;
}

}  // namespace

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  const int64_t* value = find_attr<int64_t>(*this, key);
  return value ? *value : fallback;
}

double Node::attr_float(const std::string& key, double fallback) const {
  auto it = attrs.find(key);
  if (it != attrs.end() && std::holds_alternative<int64_t>(it->second)) {
    return static_cast<double>(std::get<int64_t>(it->second));
  }
  const double* value = find_attr<double>(*this, key);
  return value ? *value : fallback;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const std::string* value = find_attr<std::string>(*this, key);
  return value ? *value : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const auto* value = find_attr<std::vector<int64_t>>(*this, key);
  return value ? *value : fallback;
}

std::vector<double> Node::attr_floats(const std::string& key, std::vector<double> fallback) const {
  const auto* value = find_attr<std::vector<double>>(*this, key);
  return value ? *value : fallback;
}

const Tensor* Node::attr_tensor(const std::string& key) const {
  return find_attr<Tensor>(*this, key);
}

std::string Node::describe() const { return op + " node '" + name + "'"; }

std::string Graph::unique_name(const std::string& base) {
  std::string stem = base.empty() ? "v" : base;
  if (!value_names_.count(stem) && !name_counters_.count(stem)) {
    name_counters_[stem] = 0;
    return stem;
  }
  while (true) {
    std::string candidate = stem + "_" + std::to_string(++name_counters_[stem]);
    if (!value_names_.count(candidate)) return candidate;
  }
}

Value* Graph::new_value(const std::string& name) {
  std::string unique = value_names_.count(name) || name.empty() ? unique_name(name) : name;
  auto value = std::make_unique<Value>();
  value->name = unique;
  Value* raw = value.get();
  values_.push_back(std::move(value));
  value_names_[unique] = raw;
  return raw;
}

Value* Graph::add_input(const std::string& name, DType dtype, Shape shape) {
  check(!value_names_.count(name), ErrorKind::InvalidModel, "duplicate graph input '", name, "'");
  Value* value = new_value(name);
  value->dtype = dtype;
  value->shape = std::move(shape);
  value->is_graph_input = true;
  inputs_.push_back(value);
  return value;
}

Value* Graph::add_constant(const std::string& name, Tensor tensor) {
  Value* value = new_value(name);
  value->dtype = tensor.dtype();
  value->shape = Shape::from_dims(tensor.dims());
  value->constant = std::move(tensor);
  return value;
}

Node* Graph::add_node(const std::string& op, const std::string& name, std::vector<Value*> inputs,
                      const std::vector<std::string>& output_names) {
  return insert_node_before(nullptr, op, name, std::move(inputs), output_names);
}

Node* Graph::insert_node_before(const Node* before, const std::string& op, const std::string& name,
                                std::vector<Value*> inputs,
                                const std::vector<std::string>& output_names) {
  auto node = std::make_unique<Node>();
  node->op = op;
  node->name = name.empty() ? op + "_" + std::to_string(nodes_.size()) : name;
  node->inputs = std::move(inputs);
  for (const std::string& output_name : output_names) {
    Value* output = new_value(output_name.empty() ? node->name + "_out" : output_name);
    output->producer = node.get();
    node->outputs.push_back(output);
  }
  Node* raw = node.get();
  auto position = std::find_if(nodes_.begin(), nodes_.end(),
                               [before](const auto& n) { return n.get() == before; });
  nodes_.insert(position, std::move(node));
  return raw;
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> result;
  result.reserve(nodes_.size());
  for (const auto& node : nodes_) result.push_back(node.get());
  return result;
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> result;
  for (const auto& value : values_) result.push_back(value.get());
  return result;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = value_names_.find(name);
  return it == value_names_.end() ? nullptr : it->second;
}

std::vector<Node*> Graph::users(const Value* value) const {
  std::vector<Node*> result;
  for (const auto& node : nodes_) {
    if (std::find(node->inputs.begin(), node->inputs.end(), value) != node->inputs.end()) {
      result.push_back(node.get());
    }
  }
  return result;
}

bool Graph::is_graph_output(const Value* value) const {
  return std::find(outputs_.begin(), outputs_.end(), value) != outputs_.end();
}

void Graph::replace_all_uses(Value* old_value, Value* new_value) {
  for (auto& node : nodes_) {
    std::replace(node->inputs.begin(), node->inputs.end(), old_value, new_value);
  }
  std::replace(outputs_.begin(), outputs_.end(), old_value, new_value);
}

void Graph::remove_node(Node* node) {
  for (Value* output : node->outputs) {
    check(users(output).empty() && !is_graph_output(output), ErrorKind::Runtime, "cannot remove ",
          node->describe(), ": its output '", output->name, "' is still used");
    output->producer = nullptr;
  }
  auto it =
      std::find_if(nodes_.begin(), nodes_.end(), [node](const auto& n) { return n.get() == node; });
  check(it != nodes_.end(), ErrorKind::Runtime, node->describe(), " is not in the graph");
  nodes_.erase(it);
}

void Graph::remove_unused_values() {
  std::set<const Value*> used(inputs_.begin(), inputs_.end());
  used.insert(outputs_.begin(), outputs_.end());
  for (const auto& node : nodes_) {
    used.insert(node->inputs.begin(), node->inputs.end());
    used.insert(node->outputs.begin(), node->outputs.end());
  }
  std::erase_if(values_, [&](const std::unique_ptr<Value>& value) {
    if (used.count(value.get())) return false;
    value_names_.erase(value->name);
    return true;
  });
}

void Graph::sort_topologically() {
  std::set<const Value*> ready(inputs_.begin(), inputs_.end());
  for (const auto& value : values_) {
    if (value->is_constant()) ready.insert(value.get());
  }
  std::vector<std::unique_ptr<Node>> pending = std::move(nodes_);
  nodes_.clear();
  while (!pending.empty()) {
    auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& node) {
      return std::all_of(node->inputs.begin(), node->inputs.end(),
                         [&](const Value* v) { return v == nullptr || ready.count(v); });
    });
    if (it == pending.end()) {
      const Node& stuck = *pending.front();
      std::string missing;
      for (const Value* v : stuck.inputs) {
        if (v && !ready.count(v)) missing = v->name;
      }
      nodes_.insert(nodes_.end(), std::make_move_iterator(pending.begin()),
                    std::make_move_iterator(pending.end()));
      fail(ErrorKind::InvalidModel, stuck.describe(), " reads '", missing,
           "', which no node, input or initializer defines (or the graph has a cycle)");
    }
    ready.insert((*it)->outputs.begin(), (*it)->outputs.end());
    nodes_.push_back(std::move(*it));
    pending.erase(it);
  }
}

}  // namespace kiln::ir
