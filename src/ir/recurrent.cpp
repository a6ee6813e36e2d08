// recurrent_direction (recurrent.h). Gates are cut from the step's [B, G*H] pre-activation
// with Slices (slice_range), so that every node has one output (CoreOpBuilder adds
// single-output nodes).
#include "ir/recurrent.h"

#include <string>

namespace kiln::ir {
namespace {

Value* transposed(CoreOpBuilder& b, Value* weight) {
  return b.add("Transpose", {weight}, {{"perm", std::vector<int64_t>{1, 0}}});
}

// Gate `g` ([B, H]) of a [B, G*H] pre-activation.
Value* gate(CoreOpBuilder& b, Value* gates, int64_t g, int64_t hidden) {
  return slice_range(b, gates, 1, g * hidden, (g + 1) * hidden);
}

// [T, B, 1] bools: step t is within sequence b (t < lengths[b]).
Value* step_masks(CoreOpBuilder& b, Value* lengths, int64_t count) {
  std::vector<int64_t> times(static_cast<size_t>(count));
  for (int64_t t = 0; t < count; ++t) times[static_cast<size_t>(t)] = t;
  Value* time = b.constant(Tensor::from_vector<int64_t>({count, 1}, times));
  Value* wide = b.add("Cast", {lengths}, {{"to", static_cast<int64_t>(DType::Int64)}});
  Value* valid = b.add("Less", {time, wide});  // [T, B]
  return b.add("Unsqueeze", {valid}, {{"axes", std::vector<int64_t>{2}}});
}

}  // namespace

std::vector<Value*> recurrent_direction(CoreOpBuilder& b, RecurrentCell cell, Value* steps,
                                        int64_t count, int64_t hidden, const RecurrentWeights& w,
                                        RecurrentState& state, bool reverse, Value* lengths) {
  const bool lstm = cell == RecurrentCell::Lstm;
  Value* projected = b.add("MatMul", {steps, transposed(b, w.w_ih)});  // [T, B, G*H]
  if (w.b_ih != nullptr) projected = b.add("Add", {projected, w.b_ih});
  if (lstm && w.b_hh != nullptr) projected = b.add("Add", {projected, w.b_hh});
  Value* recurrent = transposed(b, w.w_hh);
  Value* projection = w.w_hr != nullptr ? transposed(b, w.w_hr) : nullptr;
  std::vector<Value*> outputs(static_cast<size_t>(count));
  Value* masks = lengths != nullptr ? step_masks(b, lengths, count) : nullptr;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t t = reverse ? count - 1 - k : k;
    const RecurrentState before = state;
    Value* input = element_of(b, projected, t);                 // [B, G*H]
    Value* from_state = b.add("MatMul", {state.h, recurrent});  // [B, G*H]
    if (lstm) {
      Value* gates = b.add("Add", {input, from_state});
      Value* in_gate = b.add("Sigmoid", {gate(b, gates, 0, hidden)});
      Value* forget = b.add("Sigmoid", {gate(b, gates, 1, hidden)});
      Value* candidate = b.add("Tanh", {gate(b, gates, 2, hidden)});
      Value* out_gate = b.add("Sigmoid", {gate(b, gates, 3, hidden)});
      state.c = b.add("Add", {b.add("Mul", {forget, state.c}), b.add("Mul", {in_gate, candidate})});
      state.h = b.add("Mul", {out_gate, b.add("Tanh", {state.c})});
      if (projection != nullptr) state.h = b.add("MatMul", {state.h, projection});
    } else {
      if (w.b_hh != nullptr) from_state = b.add("Add", {from_state, w.b_hh});
      Value* reset = b.add(
          "Sigmoid", {b.add("Add", {gate(b, input, 0, hidden), gate(b, from_state, 0, hidden)})});
      Value* update = b.add(
          "Sigmoid", {b.add("Add", {gate(b, input, 1, hidden), gate(b, from_state, 1, hidden)})});
      Value* recalled = nullptr;  // the candidate's recurrent term
      if (w.reset_after_product) {
        recalled = b.add("Mul", {reset, gate(b, from_state, 2, hidden)});
      } else {                                        // W_hn (r * h) + b_hn
        Value* w_hn = gate(b, recurrent, 2, hidden);  // [H, H] of the transposed [H, 3H]
        recalled = b.add("MatMul", {b.add("Mul", {reset, state.h}), w_hn});
        if (w.b_hh != nullptr)
          recalled = b.add("Add", {recalled, slice_range(b, w.b_hh, 0, 2 * hidden, 3 * hidden)});
      }
      Value* candidate = b.add("Tanh", {b.add("Add", {gate(b, input, 2, hidden), recalled})});
      // h' = (1 - z) * n + z * h = n + z * (h - n)
      state.h =
          b.add("Add", {candidate, b.add("Mul", {update, b.add("Sub", {state.h, candidate})})});
    }
    Value* output = state.h;
    if (masks != nullptr) {  // past its length a sequence keeps its state and outputs 0
      Value* valid = element_of(b, masks, t);  // [B, 1]
      output = b.add("Where", {valid, state.h, b.scalar(0.0, state.h->dtype)});
      state.h = b.add("Where", {valid, state.h, before.h});
      if (state.c != nullptr) state.c = b.add("Where", {valid, state.c, before.c});
    }
    outputs[static_cast<size_t>(t)] =
        b.add("Unsqueeze", {output}, {{"axes", std::vector<int64_t>{0}}});
  }
  return outputs;
}

}  // namespace kiln::ir
