// Recurrent layers (aten.lstm.input, aten.gru.input: nn.LSTM and nn.GRU, stacked,
// bidirectional, batch_first, LSTM projections) unrolled over their static number of time
// steps into core ops: each layer's input projection is one product over every step; each step
// adds the recurrent product and applies the gates (PyTorch's order: LSTM i, f, g, o; GRU r,
// z, n). Inference only: dropout between layers does not apply.
#include <string>
#include <vector>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

enum class Cell { Lstm, Gru };

struct Weights {
  ir::Value* w_ih = nullptr;
  ir::Value* w_hh = nullptr;
  ir::Value* b_ih = nullptr;
  ir::Value* b_hh = nullptr;
  ir::Value* w_hr = nullptr;  // LSTM projection (proj_size), or null
};

ir::Value* transposed(AtenNode& node, ir::Value* weight) {
  return node.add("Transpose", {weight}, {{"perm", std::vector<int64_t>{1, 0}}});
}

// value[index] along axis 0, without that axis.
ir::Value* take(AtenNode& node, ir::Value* value, int64_t index) {
  ir::Value* piece = slice_axis(node, value, 0, index, index + 1);
  return node.add("Squeeze", {piece}, {{"axes", std::vector<int64_t>{0}}});
}

std::vector<ir::Value*> split_gates(AtenNode& node, ir::Value* gates, int64_t count,
                                    int64_t hidden) {
  return node.add_multi("Split", {gates},
                        {{"axis", int64_t{1}}, {"split", std::vector<int64_t>(count, hidden)}},
                        size_t(count));
}

struct State {
  ir::Value* h;
  ir::Value* c;  // LSTM only
};

// One direction of one layer over `steps` ([T, B, I]): the per-step hidden states in time
// order, and the final state.
std::vector<ir::Value*> run_direction(AtenNode& node, Cell cell, ir::Value* steps, int64_t count,
                                      const Weights& w, State& state, bool reverse) {
  const int64_t gates = cell == Cell::Lstm ? 4 : 3;
  const int64_t hidden = w.w_hh->shape[0].value / gates;
  ir::Value* projected = node.add("MatMul", {steps, transposed(node, w.w_ih)});  // [T, B, G*H]
  if (w.b_ih != nullptr) projected = node.add("Add", {projected, w.b_ih});
  if (cell == Cell::Lstm && w.b_hh != nullptr) projected = node.add("Add", {projected, w.b_hh});
  ir::Value* recurrent = transposed(node, w.w_hh);
  std::vector<ir::Value*> outputs(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t t = reverse ? count - 1 - k : k;
    ir::Value* input = take(node, projected, t);                       // [B, G*H]
    ir::Value* from_state = node.add("MatMul", {state.h, recurrent});  // [B, G*H]
    if (cell == Cell::Lstm) {
      std::vector<ir::Value*> g =
          split_gates(node, node.add("Add", {input, from_state}), 4, hidden);
      ir::Value* in_gate = node.add("Sigmoid", {g[0]});
      ir::Value* forget = node.add("Sigmoid", {g[1]});
      ir::Value* candidate = node.add("Tanh", {g[2]});
      ir::Value* out_gate = node.add("Sigmoid", {g[3]});
      state.c = node.add(
          "Add", {node.add("Mul", {forget, state.c}), node.add("Mul", {in_gate, candidate})});
      state.h = node.add("Mul", {out_gate, node.add("Tanh", {state.c})});
      if (w.w_hr != nullptr) state.h = node.add("MatMul", {state.h, transposed(node, w.w_hr)});
    } else {
      if (w.b_hh != nullptr) from_state = node.add("Add", {from_state, w.b_hh});
      std::vector<ir::Value*> x = split_gates(node, input, 3, hidden);
      std::vector<ir::Value*> h = split_gates(node, from_state, 3, hidden);
      ir::Value* reset = node.add("Sigmoid", {node.add("Add", {x[0], h[0]})});
      ir::Value* update = node.add("Sigmoid", {node.add("Add", {x[1], h[1]})});
      ir::Value* candidate =
          node.add("Tanh", {node.add("Add", {x[2], node.add("Mul", {reset, h[2]})})});
      // h' = (1 - z) * n + z * h = n + z * (h - n)
      state.h = node.add(
          "Add", {candidate, node.add("Mul", {update, node.add("Sub", {state.h, candidate})})});
    }
    outputs[static_cast<size_t>(t)] =
        node.add("Unsqueeze", {state.h}, {{"axes", std::vector<int64_t>{0}}});
  }
  return outputs;
}

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
      Weights w{params[at], params[at + 1]};
      if (has_biases) {
        w.b_ih = params[at + 2];
        w.b_hh = params[at + 3];
      }
      if (per_direction == base + 1) w.w_hr = params[at + base];
      if (!w.w_hh->shape.is_static()) node.unsupported("weights of unknown shape");
      const int64_t index = layer * directions + d;
      State state{take(node, h0, index), c0 != nullptr ? take(node, c0, index) : nullptr};
      std::vector<ir::Value*> outputs = run_direction(node, cell, x, steps, w, state, d == 1);
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
