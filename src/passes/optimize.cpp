// The standard pass pipeline run on every imported graph before building.
#include "ir/op_schema.h"
#include "ir/verifier.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {
// Each round can only shrink the graph, so this bound is a safety net, not a tuning knob.
constexpr int kMaxRounds = 32;
}  // namespace

void optimize(ir::Graph& graph) {
  ir::infer_graph(graph);
  for (int round = 0; round < kMaxRounds; ++round) {
    int changes = simplify_shape_ops(graph);
    changes += fold_constants(graph);
    changes += simplify_constant_operands(graph);
    changes += eliminate_dead_code(graph);
    changes += recognize_attention(graph);
    changes += fold_repeated_kv_heads(graph);
    changes += simplify_attention_masks(graph);
    changes += move_transposes(graph);
    changes += sink_transposes_below_regions(graph);
    changes += collapse_layout_chains(graph);
    changes += fold_attention_transposes(graph);
    // Folding makes shape inputs constant, which sharpens shapes downstream (and the next
    // round's simplifications).
    ir::infer_graph(graph);
    if (changes == 0) break;
  }
  ir::verify(graph);
}

}  // namespace kiln::passes
