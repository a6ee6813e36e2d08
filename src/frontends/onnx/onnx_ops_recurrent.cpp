// ONNX LSTM and GRU (what PyTorch's exporter writes for nn.LSTM and nn.GRU): forward, reverse
// or bidirectional, either layout, unrolled over their static number of steps by
// ir/recurrent.h. ONNX orders the gates LSTM i, o, f, c and GRU z, r, h; they are reordered
// into PyTorch's i, f, g, o and r, z, n; sequence_lens masks each step (recurrent.h). What the
// unrolled cells do not compute (peepholes, clipping, coupled input-forget gates, other
// activations) is refused by name.
#include <string>
#include <vector>

#include "ir/recurrent.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

using Cell = ir::RecurrentCell;

// The gate blocks of `x` (each `hidden` long along axis 0) in the order `order` names them.
ir::Value* reordered(OnnxOpBuilder& b, ir::Value* x, int64_t hidden,
                     const std::vector<int64_t>& order) {
  std::vector<ir::Value*> blocks;
  for (int64_t g : order) blocks.push_back(ir::slice_range(b, x, 0, g * hidden, (g + 1) * hidden));
  return b.add("Concat", blocks, {{"axis", int64_t{0}}});
}

void check_supported(OnnxNode& node, Cell cell) {
  if (cell == Cell::Lstm && node.input(7) != nullptr) node.unsupported("peephole weights P");
  if (node.has_attr("clip")) node.unsupported("clip");
  if (node.attr_int("input_forget", 0) != 0) node.unsupported("input_forget=1");
  if (node.has_attr("activations")) {
    const std::vector<std::string> defaults =
        cell == Cell::Lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                           : std::vector<std::string>{"Sigmoid", "Tanh"};
    const ::onnx::AttributeProto* attribute = nullptr;
    for (const auto& a : node.proto().attribute()) {
      if (a.name() == "activations") attribute = &a;
    }
    for (int i = 0; attribute != nullptr && i < attribute->strings_size(); ++i) {
      if (attribute->strings(i) != defaults[size_t(i) % defaults.size()])
        node.unsupported("activation ", attribute->strings(i));
    }
  }
}

void import_recurrent(OnnxNode& node, Cell cell) {
  node.allow_attributes({"activation_alpha", "activation_beta", "activations", "clip", "direction",
                         "hidden_size", "input_forget", "layout", "linear_before_reset"});
  check_supported(node, cell);
  const int64_t hidden = node.attr_int("hidden_size", 0);
  if (hidden <= 0) node.invalid("hidden_size ", hidden);
  const std::string direction = node.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    node.invalid("direction '", direction, "'");
  const int64_t directions = direction == "bidirectional" ? 2 : 1;
  const bool batch_major = node.attr_int("layout", 0) == 1;
  ir::Value* x = node.required_input(0, "X");
  if (batch_major) x = node.add("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  if (x->shape.rank() != 3 || !x->shape[0].is_static())
    node.unsupported("X ", x->shape.to_string(), " (the unrolled cell needs a static length)");
  const int64_t steps = x->shape[0].value;
  ir::Value* w = node.required_input(1, "W");
  ir::Value* r = node.required_input(2, "R");
  ir::Value* b = node.input(3);
  ir::Value* lengths = node.input(4);  // sequence_lens [B], or null: all T long
  ir::Value* initial_h = node.input(5);
  ir::Value* initial_c = cell == Cell::Lstm ? node.input(6) : nullptr;
  const std::vector<int64_t> order =
      cell == Cell::Lstm ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{1, 0, 2};
  const int64_t gates = int64_t(order.size());
  OnnxOpBuilder builder(node);
  // A zero state [B, H] for a missing initial state: B read from X at run time.
  auto zeros = [&]() {
    ir::Value* batch = ir::slice_range(builder, node.add("Shape", {x}), 0, 1, 2);
    ir::Value* width = builder.constant(Tensor::from_vector<int64_t>({1}, {hidden}));
    ir::Value* shape = node.add("Concat", {batch, width}, {{"axis", int64_t{0}}});
    return node.add("ConstantOfShape", {shape},
                    {{"value", Tensor::from_vector<float>({1}, {0.f}).to(x->dtype)}});
  };
  auto take = [&](ir::Value* value, int64_t index) {
    return ir::element_of(builder, value, index);
  };
  std::vector<ir::Value*> per_direction, final_h, final_c;
  for (int64_t d = 0; d < directions; ++d) {
    ir::RecurrentWeights weights{reordered(builder, take(w, d), hidden, order),
                                 reordered(builder, take(r, d), hidden, order)};
    weights.reset_after_product = node.attr_int("linear_before_reset", 0) != 0;
    if (b != nullptr) {
      ir::Value* biases = take(b, d);  // [2 G H]: W's then R's
      weights.b_ih =
          reordered(builder, ir::slice_range(builder, biases, 0, 0, gates * hidden), hidden, order);
      weights.b_hh = reordered(
          builder, ir::slice_range(builder, biases, 0, gates * hidden, 2 * gates * hidden), hidden,
          order);
    }
    ir::RecurrentState state{initial_h != nullptr ? take(initial_h, d) : zeros()};
    if (cell == Cell::Lstm) state.c = initial_c != nullptr ? take(initial_c, d) : zeros();
    const bool reverse = direction == "reverse" || d == 1;
    std::vector<ir::Value*> outputs =
        ir::recurrent_direction(builder, cell, x, steps, hidden, weights, state, reverse, lengths);
    ir::Value* sequence = node.add("Concat", outputs, {{"axis", int64_t{0}}});  // [T, B, H]
    per_direction.push_back(node.add("Unsqueeze", {sequence}, {{"axes", std::vector<int64_t>{1}}}));
    final_h.push_back(node.add("Unsqueeze", {state.h}, {{"axes", std::vector<int64_t>{0}}}));
    if (state.c != nullptr)
      final_c.push_back(node.add("Unsqueeze", {state.c}, {{"axes", std::vector<int64_t>{0}}}));
  }
  auto joined = [&](const std::vector<ir::Value*>& parts, int64_t axis) {
    return parts.size() == 1 ? parts[0] : node.add("Concat", parts, {{"axis", axis}});
  };
  ir::Value* y = joined(per_direction, 1);  // [T, D, B, H]
  ir::Value* y_h = joined(final_h, 0);      // [D, B, H]
  ir::Value* y_c = final_c.empty() ? nullptr : joined(final_c, 0);
  if (batch_major) {
    y = node.add("Transpose", {y}, {{"perm", std::vector<int64_t>{2, 0, 1, 3}}});
    y_h = node.add("Transpose", {y_h}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
    if (y_c != nullptr)
      y_c = node.add("Transpose", {y_c}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  }
  std::vector<ir::Value*> results = {y, y_h, y_c};
  for (size_t i = 0; i < node.output_count() && i < results.size(); ++i) {
    if (node.output_used(i) && results[i] != nullptr) node.alias_output(i, results[i]);
  }
}

}  // namespace

void add_recurrent_ops(OpTable& table) {
  table["LSTM"] = {[](OnnxNode& node) { import_recurrent(node, Cell::Lstm); }, 7};
  table["GRU"] = {[](OnnxNode& node) { import_recurrent(node, Cell::Gru); }, 7};
}

}  // namespace kiln::onnx
