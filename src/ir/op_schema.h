// One schema per core op: input/output counts, whether precision choices apply, and shape
// and type inference. docs/core_ops.md describes each op's semantics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

struct OpSchema {
  std::string op;
  int min_inputs = 0;
  int max_inputs = 0;  // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;  // -1: variadic (Split)
  // True for ops whose arithmetic runs in the layer's chosen precision (matmul, conv,
  // elementwise math, normalization). False for data movement and integer/shape ops.
  bool float_compute = false;
  // Sets dtype and shape on node.outputs from the inputs and attributes. Throws
  // InvalidModel (bad model) or Unsupported (valid but unsupported) naming the node.
  void (*infer)(Node& node) = nullptr;
};

const OpSchema* find_schema(std::string_view op);  // null if not a core op
// True for a core op whose arithmetic runs in the layer's chosen precision (its schema's
// float_compute); false for data movement, integer ops and ops without a schema.
bool is_float_compute(std::string_view op);
std::vector<std::string> core_op_names();

// Runs inference for one node / every node in order. Values with a dtype and shape already
// set (e.g. graph inputs) are refined, never widened.
// A node without a schema is an Unsupported error; infer_graph lists every such node
// (op, node name, source) at once. With allow_unknown_ops those nodes (e.g. "onnx.X"
// placeholders an importer left for ops it could not map) and whatever reads their untyped
// outputs are skipped instead, so tools can still inspect the rest of the graph.
void infer_node(Node& node);
void infer_graph(Graph& graph, bool allow_unknown_ops = false);

// True for "onnx.X": an ONNX op the importer kept as a placeholder because Kiln lacks it.
bool is_placeholder_op(std::string_view op);

// True for a Conv that is a vector projection: a 1x1 kernel over images of one position
// (static), one group, no pads, in either layout; [N, C_in] vectors times [C_out, C_in]
// weights (an SE block's layers). Only these take fused_activation "Sigmoid".
bool is_vector_projection(const Node& conv);

}  // namespace kiln::ir
