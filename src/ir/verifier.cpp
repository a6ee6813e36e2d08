// Checks the IR invariants every pass must keep, collecting all problems (up to a limit)
// into one InvalidModel error so that a broken graph is diagnosed in one go.
#include "ir/verifier.h"

#include <set>
#include <sstream>

#include "core/error.h"
#include "ir/op_schema.h"

namespace kiln::ir {
namespace {

constexpr size_t kMaxProblems = 20;

class ProblemList {
 public:
  template <typename... Parts>
  void add(const Parts&... parts) {
    ++count_;
    if (problems_.size() >= kMaxProblems) return;
    std::ostringstream message;
    (message << ... << parts);
    problems_.push_back(message.str());
  }
  void throw_if_any(const Graph& graph) const {
    if (problems_.empty()) return;
    std::ostringstream message;
    message << "graph '" << graph.name << "' is invalid (" << count_ << " problem"
            << (count_ == 1 ? "" : "s") << "):";
    for (const std::string& problem : problems_) message << "\n  - " << problem;
    if (count_ > problems_.size())
      message << "\n  ... and " << count_ - problems_.size() << " more";
    throw Error(ErrorKind::InvalidModel, message.str());
  }

 private:
  std::vector<std::string> problems_;
  size_t count_ = 0;
};

void check_arity(const Node& node, const OpSchema& schema, ProblemList& problems) {
  int inputs = static_cast<int>(node.inputs.size());
  int outputs = static_cast<int>(node.outputs.size());
  if (inputs < schema.min_inputs || (schema.max_inputs >= 0 && inputs > schema.max_inputs)) {
    problems.add(
        node.describe(), " has ", inputs, " inputs; ", node.op, " takes ", schema.min_inputs,
        " to ",
        schema.max_inputs < 0 ? std::string("any number") : std::to_string(schema.max_inputs));
  }
  if (outputs < schema.min_outputs || (schema.max_outputs >= 0 && outputs > schema.max_outputs)) {
    problems.add(
        node.describe(), " has ", outputs, " outputs; ", node.op, " produces ", schema.min_outputs,
        " to ",
        schema.max_outputs < 0 ? std::string("any number") : std::to_string(schema.max_outputs));
  }
  for (int i = 0; i < schema.min_inputs && i < inputs; ++i) {
    if (node.inputs[static_cast<size_t>(i)] == nullptr) {
      problems.add(node.describe(), ": required input ", i, " is absent");
    }
  }
}

}  // namespace

void verify(const Graph& graph) {
  ProblemList problems;
  std::set<const Value*> defined;
  for (const Value* input : graph.inputs()) {
    defined.insert(input);
    if (input->dtype == DType::Undefined)
      problems.add("graph input '", input->name, "' has no dtype");
  }
  for (const Value* value : graph.values()) {
    if (value->is_constant()) {
      defined.insert(value);
      if (value->producer != nullptr) {
        problems.add("constant '", value->name, "' is also produced by ",
                     value->producer->describe());
      }
    }
  }
  std::set<std::string> node_names;
  for (const Node* node : graph.nodes()) {
    if (!node_names.insert(node->name).second)
      problems.add("two nodes are named '", node->name, "'");
    const OpSchema* schema = find_schema(node->op);
    if (schema == nullptr) {
      problems.add(node->describe(), ": ", is_placeholder_op(node->op) ? "ONNX op " : "op ",
                   is_placeholder_op(node->op) ? node->op.substr(5) : node->op,
                   " is not supported by Kiln");
    } else {
      check_arity(*node, *schema, problems);
    }
    for (const Value* input : node->inputs) {
      if (input != nullptr && !defined.count(input)) {
        problems.add(node->describe(), " reads '", input->name,
                     "', which is not a graph input, a constant, or the output of an earlier node");
      }
    }
    for (const Value* output : node->outputs) {
      if (defined.count(output)) {
        problems.add("value '", output->name, "' is defined twice (again by ", node->describe(),
                     ")");
      }
      if (output->producer != node) {
        problems.add("value '", output->name, "' lists another producer than ", node->describe());
      }
      if (output->dtype == DType::Undefined) {
        problems.add("output '", output->name, "' of ", node->describe(), " has no dtype");
      }
      defined.insert(output);
    }
  }
  if (graph.outputs().empty()) problems.add("the graph has no outputs");
  for (const Value* output : graph.outputs()) {
    if (output == nullptr) {
      problems.add("a graph output is null");
    } else if (!defined.count(output)) {
      problems.add("graph output '", output->name, "' is not produced by any node");
    }
  }
  problems.throw_if_any(graph);
}

}  // namespace kiln::ir
