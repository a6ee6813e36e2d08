// Recurrent layers (aten.lstm.input, aten.gru.input: nn.LSTM and nn.GRU, stacked,
// bidirectional, batch_first, LSTM projections) unrolled over their static number of time
// steps by ir/recurrent.h, layer by layer and direction by direction. Inference only: dropout
// between layers does not apply.
#include <string>
#include <vector>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/recurrent.h"

namespace kiln::torch {
namespace {

using Cell = ir::RecurrentCell;

void convert_rnn(AtenNode& node, Cell cell) {
  if (node.bool_arg("train", false)) node.unsupported("train=True (Kiln runs inference)");
  ir::Value* x = node.tensor("input");
  const bool batch_first = node.bool_arg("batch_first", false);
  const bool bidirectional = node.bool_arg("bidirectional", false);
  const bool has_biases = node.bool_arg("has_biases", true);
  const int64_t layers = node.int_arg("num_layers");
  const int64_t directions = bidirectional ? 2 : 1;
  if (rank_of(node, x) != 3) node.unsupported("an unbatched input (rank ", rank_of(node, x), ")");
  if (batch_first) x = node.add("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  if (!x->shape[0].is_static()) node.unsupported("a sequence length known only at run time");
  const int64_t steps = x->shape[0].value;
  TensorList params = node.tensors("params");
  const size_t per_direction = params.size() / size_t(layers * directions);
  const size_t base = has_biases ? 4 : 2;
  if (per_direction * size_t(layers * directions) != params.size() ||
      (per_direction != base && !(cell == Cell::Lstm && per_direction == base + 1)))
    node.invalid(params.size(), " weights for ", layers, " layers and ", directions, " directions");
  ir::Value* h0 = cell == Cell::Lstm ? node.tensors("hx").at(0) : node.tensor("hx");
  ir::Value* c0 = cell == Cell::Lstm ? node.tensors("hx").at(1) : nullptr;
  std::vector<ir::Value*> final_h, final_c;
  for (int64_t layer = 0; layer < layers; ++layer) {
    std::vector<ir::Value*> per_direction_outputs;
    for (int64_t d = 0; d < directions; ++d) {
      const size_t at = size_t(layer * directions + d) * per_direction;
      ir::RecurrentWeights w{params[at], params[at + 1]};
      if (has_biases) {
        w.b_ih = params[at + 2];
        w.b_hh = params[at + 3];
      }
      if (per_direction == base + 1) w.w_hr = params[at + base];
      if (!w.w_hh->shape.is_static()) node.unsupported("weights of unknown shape");
      const int64_t index = layer * directions + d;
      AtenOpBuilder builder(node);
      ir::RecurrentState state{ir::element_of(builder, h0, index),
                               c0 != nullptr ? ir::element_of(builder, c0, index) : nullptr};
      const int64_t hidden = w.w_hh->shape[0].value / (cell == Cell::Lstm ? 4 : 3);
      std::vector<ir::Value*> outputs =
          ir::recurrent_direction(builder, cell, x, steps, hidden, w, state, d == 1);
      per_direction_outputs.push_back(node.add("Concat", outputs, {{"axis", int64_t{0}}}));
      final_h.push_back(node.add("Unsqueeze", {state.h}, {{"axes", std::vector<int64_t>{0}}}));
      if (state.c != nullptr)
        final_c.push_back(node.add("Unsqueeze", {state.c}, {{"axes", std::vector<int64_t>{0}}}));
    }
    x = per_direction_outputs.size() == 1
            ? per_direction_outputs[0]
            : node.add("Concat", per_direction_outputs, {{"axis", int64_t{2}}});
  }
  if (batch_first) x = node.add("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  node.set_output(0, x);
  auto stacked = [&](const std::vector<ir::Value*>& states) {
    return states.size() == 1 ? states[0] : node.add("Concat", states, {{"axis", int64_t{0}}});
  };
  if (node.output_count() > 1 && node.output_used(1)) node.set_output(1, stacked(final_h));
  if (cell == Cell::Lstm && node.output_count() > 2 && node.output_used(2))
    node.set_output(2, stacked(final_c));
}

}  // namespace

void add_rnn_ops(AtenTable& table) {
  table["aten.lstm.input"] = [](AtenNode& node) { convert_rnn(node, Cell::Lstm); };
  table["aten.gru.input"] = [](AtenNode& node) { convert_rnn(node, Cell::Gru); };
}

}  // namespace kiln::torch
