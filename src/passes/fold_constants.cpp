// Constant folding: nodes whose inputs are all constants become constants, computed by the
// CPU reference kernels. Large results stay as nodes so that engines do not bloat, except a
// rearrangement of a constant nobody else reads (a tied LM head's transposed embedding table),
// whose result replaces its input at no extra size. A Where on a uniform constant condition
// becomes Identity of the chosen input.
#include <set>
#include <string>

#include "backends/cpu/kernel.h"
#include "core/error.h"
#include "core/log.h"
#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// Outputs larger than this (in elements, all outputs together) are computed at run time.
constexpr int64_t kMaxFoldedElements = int64_t{16} << 20;

bool all_inputs_constant(const ir::Node& node) {
  bool any_present = false;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr) continue;
    if (!input->is_constant()) return false;
    any_present = true;
  }
  return any_present;
}

// Ops that only move or narrow their first input's elements: their outputs together are never
// larger (Split: a stacked expert weight's per-expert matrices).
bool rearranges(const ir::Node& node) {
  static const std::set<std::string, std::less<>> ops = {
      "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Identity", "Split"};
  return ops.contains(node.op) ||
         (node.op == "Cast" && !node.inputs.empty() && node.inputs[0] != nullptr &&
          !node.outputs.empty() &&
          dtype_size(node.outputs[0]->dtype) <= dtype_size(node.inputs[0]->dtype));
}

// True if folding `node` (all inputs constant, `elements` output elements) takes no more
// constant storage than it frees: it rearranges a constant that only it reads, whatever the
// size. Its outputs then replace its input in the engine.
bool folds_in_place(const ir::Graph& graph, const ir::Node& node, int64_t elements) {
  if (!rearranges(node) || (node.outputs.size() != 1 && node.op != "Split")) return false;
  const ir::Value* data = node.inputs[0];
  if (data == nullptr || graph.users(data).size() != 1 || graph.is_graph_output(data)) return false;
  return size_t(elements) * dtype_size(node.outputs[0]->dtype) <=
         size_t(data->constant->numel()) * dtype_size(data->constant->dtype());
}

// Total output elements, or -1 when a shape is still unknown.
int64_t output_elements(const ir::Node& node) {
  int64_t total = 0;
  for (const ir::Value* output : node.outputs) {
    if (!output->shape.is_static()) return -1;
    total += element_count(output->shape.static_dims());
  }
  return total;
}

// Where(c, a, b) with a constant c that is all true (all false) and `a` (`b`) already of
// the output's shape and dtype is bypassed to that input (bypass_node keeps a graph output's
// name), so the other input's producers die: an inlined torch.cond on a constant predicate
// keeps one branch. Returns whether it rewrote the graph.
bool select_constant_branch(ir::Graph& graph, ir::Node* node) {
  if (node->op != "Where" || node->inputs.size() != 3 || node->outputs.size() != 1) return false;
  const ir::Value* condition = node->inputs[0];
  if (condition == nullptr || !condition->is_constant() || condition->constant->numel() == 0)
    return false;
  Tensor flags = condition->constant->to(DType::Float64);
  const double* values = flags.data<double>();
  bool first = values[0] != 0;
  for (int64_t i = 1; i < flags.numel(); ++i) {
    if ((values[i] != 0) != first) return false;
  }
  ir::Value* chosen = node->inputs[first ? 1 : 2];
  const ir::Value& output = *node->outputs[0];
  if (chosen == nullptr || !chosen->shape.rank_known() || chosen->shape != output.shape ||
      chosen->dtype != output.dtype)
    return false;
  std::vector<ir::Value*> inputs = node->inputs;
  node->inputs = {chosen};
  if (bypass_node(graph, node)) return true;
  node->inputs = std::move(inputs);  // a graph input passed straight to a graph output: kept
  return false;
}

}  // namespace

int fold_constants(ir::Graph& graph) {
  int folded = 0;
  for (ir::Node* node : graph.nodes()) {
    if (select_constant_branch(graph, node)) {
      ++folded;
      continue;
    }
    if (!ir::find_schema(node->op) || !all_inputs_constant(*node)) continue;
    if (cpu::find_kernel(node->op) == nullptr) {
      log_debug("fold_constants: no CPU kernel for ", node->describe(), "; left as a node");
      continue;
    }
    // Constant inputs give static output shapes; infer them here so that the size guard
    // works even when the caller has not run inference since the inputs became constant.
    if (output_elements(*node) < 0) ir::infer_node(*node);
    int64_t elements = output_elements(*node);
    if (elements < 0 || (elements > kMaxFoldedElements && !folds_in_place(graph, *node, elements)))
      continue;
    std::vector<Tensor> inputs;
    for (const ir::Value* input : node->inputs) {
      inputs.push_back(input ? *input->constant : Tensor());
    }
    std::vector<Tensor> results;
    try {
      results = cpu::run_node(*node, inputs);
    } catch (const Error& error) {
      // A CPU kernel lacking a case (a dtype, say) must not fail the build: the node simply
      // runs on the device. Bad models (InvalidModel) are still reported.
      if (error.kind() != ErrorKind::Unsupported) throw;
      log_debug("fold_constants: left ", node->describe(), " as a node: ", error.what());
      continue;
    }
    replace_by_constants(graph, node, std::move(results));
    ++folded;
  }
  return folded;
}

}  // namespace kiln::passes
