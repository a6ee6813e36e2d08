// Recurrent cells (LSTM, GRU) unrolled over a static number of time steps into core ops,
// shared by the ATen (nn.LSTM, nn.GRU) and ONNX (LSTM, GRU) frontends: each direction's input
// projection is one product over every step; each step adds the recurrent product and applies
// the gates. Weights come in PyTorch's layout and gate order (LSTM i, f, g, o; GRU r, z, n, the
// reset gate applied to the recurrent product with its bias unless the weights say otherwise).
#pragma once

#include <vector>

#include "ir/composite_ops.h"

namespace kiln::ir {

enum class RecurrentCell { Lstm, Gru };

struct RecurrentWeights {
  Value* w_ih = nullptr;  // [G*H, I]
  Value* w_hh = nullptr;  // [G*H, H] (LSTM with a projection: [4H, P])
  Value* b_ih = nullptr;  // [G*H] or null
  Value* b_hh = nullptr;  // [G*H] or null
  Value* w_hr = nullptr;  // LSTM projection [P, H], or null
  // GRU: the reset gate scales the recurrent product (PyTorch; ONNX linear_before_reset=1) or
  // the state before it (ONNX's default, linear_before_reset=0).
  bool reset_after_product = true;
};

// The state a direction carries: h [B, H] (or [B, P]), c [B, H] for an LSTM.
struct RecurrentState {
  Value* h = nullptr;
  Value* c = nullptr;
};

// One direction over `steps` ([T, B, I], `count` = T static) with `hidden` units, from `state`
// (updated to the final one): each step's h as [1, B, H], in time order (reverse: the last
// step is computed first). `lengths` ([B] integers, or null: every sequence is T long) ends
// each sequence early: from its length on, its state stays as it was and its output is 0, so
// the final state is the one after its last step, and a reverse direction starts at its
// last element (ONNX's sequence_lens).
std::vector<Value*> recurrent_direction(CoreOpBuilder& b, RecurrentCell cell, Value* steps,
                                        int64_t count, int64_t hidden, const RecurrentWeights& w,
                                        RecurrentState& state, bool reverse,
                                        Value* lengths = nullptr);

}  // namespace kiln::ir
