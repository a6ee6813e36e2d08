// Constant folding: nodes whose inputs are all constants become constants, computed by the
// CPU reference kernels. Large results stay as nodes so that engines do not bloat.
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

// Total output elements, or -1 when a shape is still unknown.
int64_t output_elements(const ir::Node& node) {
  int64_t total = 0;
  for (const ir::Value* output : node.outputs) {
    if (!output->shape.is_static()) return -1;
    total += element_count(output->shape.static_dims());
  }
  return total;
}

}  // namespace

int fold_constants(ir::Graph& graph) {
  int folded = 0;
  for (ir::Node* node : graph.nodes()) {
    if (!ir::find_schema(node->op) || !all_inputs_constant(*node)) continue;
    if (cpu::find_kernel(node->op) == nullptr) {
      log_debug("fold_constants: no CPU kernel for ", node->describe(), "; left as a node");
      continue;
    }
    // Constant inputs give static output shapes; infer them here so that the size guard
    // works even when the caller has not run inference since the inputs became constant.
    if (output_elements(*node) < 0) ir::infer_node(*node);
    int64_t elements = output_elements(*node);
    if (elements < 0 || elements > kMaxFoldedElements) continue;
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
