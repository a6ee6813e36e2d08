// Importers for ONNX ops Kiln writes as several core ops (ir/composite_ops.h): comparisons
// with equality, Xor, Sum/Mean, activations, LogSoftmax, Hardmax, the Lp and log-sum
// reductions, LpNormalization, OneHot and Einsum.
#include <cmath>

#include "ir/composite_ops.h"
#include "ir/einsum.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

using Composite = ir::Value* (*)(ir::CoreOpBuilder&, ir::Value*, ir::Value*);

OpImporter binary(Composite composite) {
  return [composite](OnnxNode& node) {
    node.allow_attributes({});
    OnnxOpBuilder builder(node);
    composite(builder, node.required_input(0, "A"), node.required_input(1, "B"));
  };
}

void import_sum(OnnxNode& node) {
  node.allow_attributes({});
  std::vector<ir::Value*> inputs = node.all_inputs();
  if (inputs.empty()) node.invalid("has no inputs");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) node.invalid("input ", i, " is absent");
  }
  if (inputs.size() == 1) return node.alias_output(0, inputs[0]);
  OnnxOpBuilder builder(node);
  ir::sum_of(builder, inputs);
}

// Mean = Sum / n.
void import_mean(OnnxNode& node) {
  node.allow_attributes({});
  std::vector<ir::Value*> inputs = node.all_inputs();
  if (inputs.empty()) node.invalid("has no inputs");
  if (inputs.size() == 1) return node.alias_output(0, inputs[0]);
  ir::Value* total = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) total = node.add("Add", {total, inputs[i]});
  node.emit("Div", {total, node.scalar(double(inputs.size()), total->dtype)});
}

// One-input activations with float attributes (name, default).
using Activation = std::function<void(ir::CoreOpBuilder&, ir::Value*, const OnnxNode&)>;
OpImporter activation(std::vector<std::string_view> attributes, Activation build) {
  return [attributes, build](OnnxNode& node) {
    node.allow_attributes(attributes);
    OnnxOpBuilder builder(node);
    build(builder, node.required_input(0, "X"), node);
  };
}

void add_activations(OpTable& table) {
  table["Elu"] = {activation({"alpha"},
                             [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                               ir::elu(b, x, node.attr_float("alpha", 1.0));
                             }),
                  1};
  table["Celu"] = {activation({"alpha"},
                              [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                                double alpha = node.attr_float("alpha", 1.0);
                                ir::elu(b, x, alpha, 1.0, 1.0 / alpha);
                              }),
                   12};
  table["Selu"] = {activation({"alpha", "gamma"},
                              [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                                ir::elu(b, x, node.attr_float("alpha", 1.67326319217681884765625),
                                        node.attr_float("gamma", 1.05070102214813232421875));
                              }),
                   1};
  table["LeakyRelu"] = {activation({"alpha"},
                                   [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                                     ir::leaky_relu(
                                         b, x, b.scalar(node.attr_float("alpha", 0.01), x->dtype));
                                   }),
                        1};
  table["ThresholdedRelu"] = {
      activation({"alpha"},
                 [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                   ir::threshold(b, x, node.attr_float("alpha", 1.0), 0.0);
                 }),
      10};
  table["Shrink"] = {activation({"bias", "lambd"},
                                [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode& node) {
                                  ir::shrink(b, x, node.attr_float("bias", 0.0),
                                             node.attr_float("lambd", 0.5));
                                }),
                     9};
  table["Softsign"] = {activation({}, [](ir::CoreOpBuilder& b, ir::Value* x,
                                         const OnnxNode&) { ir::softsign(b, x); }),
                       1};
  table["Softplus"] = {activation({}, [](ir::CoreOpBuilder& b, ir::Value* x,
                                         const OnnxNode&) { ir::softplus(b, x, 1.0, INFINITY); }),
                       1};
  table["Mish"] = {
      activation({}, [](ir::CoreOpBuilder& b, ir::Value* x, const OnnxNode&) { ir::mish(b, x); }),
      18};
  table["PRelu"] = {[](OnnxNode& node) {
                      node.allow_attributes({});
                      OnnxOpBuilder builder(node);
                      ir::leaky_relu(builder, node.required_input(0, "X"),
                                     node.required_input(1, "slope"));
                    },
                    1};
}

// LogSoftmax and Hardmax: axis over one dim since opset 13 (before, a 2-D coercion).
OpImporter along_axis(ir::Value* (*composite)(ir::CoreOpBuilder&, ir::Value*, int64_t)) {
  return [composite](OnnxNode& node) {
    node.allow_attributes({"axis"});
    if (node.opset() < 13) {
      node.unsupported("opset ", node.opset(),
                       " flattens the input to 2-D around axis; Kiln "
                       "imports the opset 13 form (re-export with opset 13 or later)");
    }
    OnnxOpBuilder builder(node);
    ir::Value* x = node.required_input(0, "input");
    if (!x->shape.rank_known()) node.unsupported("an input of unknown rank");
    composite(builder, x, node.attr_int("axis", -1));
  };
}

void import_lp_normalization(OnnxNode& node) {
  node.allow_attributes({"axis", "p"});
  int64_t p = node.attr_int("p", 2);
  if (p != 1 && p != 2) node.invalid("p=", p, "; ONNX allows 1 or 2");
  ir::Value* x = node.required_input(0, "input");
  if (!x->shape.rank_known()) node.unsupported("an input of unknown rank");
  OnnxOpBuilder builder(node);
  ir::lp_normalize(builder, x, node.attr_int("axis", -1), p);
}

// InstanceNormalization(input [N, C, D...], scale [C], B [C]): each (sample, channel) plane
// normalized over its spatial dims, then scaled and shifted per channel (PyTorch exports
// GroupNorm as this over a reshaped input).
void import_instance_normalization(OnnxNode& node) {
  node.allow_attributes({"epsilon"});
  ir::Value* x = node.required_input(0, "input");
  ir::Value* scale = node.required_input(1, "scale");
  ir::Value* shift = node.required_input(2, "B");
  if (!x->shape.rank_known() || x->shape.rank() < 3)
    node.unsupported("an input of unknown rank or rank below 3 (N, C, D...)");
  int64_t rank = x->shape.rank();
  std::vector<int64_t> axes;
  for (int64_t axis = 2; axis < rank; ++axis) axes.push_back(axis);
  OnnxOpBuilder builder(node);
  ir::CoreOpBuilder& b = builder;  // the base's default attributes
  using Values = std::vector<ir::Value*>;
  ir::CompositeAttrs keep = {{"axes", axes}, {"keepdims", int64_t{1}}};
  ir::Value* mean = b.add("ReduceMean", Values{x}, keep);
  ir::Value* centered = b.add("Sub", Values{x, mean});
  ir::Value* squares = b.add("Mul", Values{centered, centered});
  ir::Value* variance = b.add("ReduceMean", Values{squares}, keep);
  double epsilon = node.attr_float("epsilon", 1e-5);
  ir::Value* shifted = b.add("Add", Values{variance, b.scalar(epsilon, x->dtype)});
  ir::Value* deviation = b.add("Sqrt", Values{shifted});
  ir::Value* normalized = b.add("Div", Values{centered, deviation});
  std::vector<int64_t> per_channel(static_cast<size_t>(rank - 1), 1);
  per_channel[0] = -1;  // [C, 1, ..., 1]: broadcast over the spatial dims
  ir::Value* channel_shape =
      b.constant(Tensor::from_vector<int64_t>({rank - 1}, std::move(per_channel)));
  ir::Value* scale_c = b.add("Reshape", Values{scale, channel_shape});
  ir::Value* shift_c = b.add("Reshape", Values{shift, channel_shape});
  ir::Value* scaled = b.add("Mul", Values{normalized, scale_c});
  b.finish("Add", Values{scaled, shift_c});
}

// The ReduceSum attributes of a reduction whose axes are an input from opset 18 (before, an
// attribute).
ir::CompositeAttrs reduce_attrs(OnnxNode& node) {
  ir::CompositeAttrs attrs = node.copied_attrs({"keepdims", "noop_with_empty_axes"});
  if (node.opset() >= 18) {
    node.allow_attributes({"keepdims", "noop_with_empty_axes"});
    if (auto axes = node.optional_constant_ints(1, "axes")) attrs["axes"] = *axes;
  } else {
    node.allow_attributes({"axes", "keepdims", "noop_with_empty_axes"});
    if (node.has_attr("axes")) attrs["axes"] = node.attr_ints("axes");
  }
  return attrs;
}

using Reduction =
    std::function<void(ir::CoreOpBuilder&, ir::Value*, ir::CompositeAttrs, OnnxNode&)>;
OpImporter reduction(Reduction build) {
  return [build](OnnxNode& node) {
    ir::CompositeAttrs attrs = reduce_attrs(node);
    OnnxOpBuilder builder(node);
    build(builder, node.required_input(0, "data"), std::move(attrs), node);
  };
}

void add_reductions(OpTable& table) {
  table["ReduceL1"] = {reduction([](ir::CoreOpBuilder& b, ir::Value* x, ir::CompositeAttrs attrs,
                                    OnnxNode&) { ir::reduce_l1(b, x, std::move(attrs)); }),
                       1};
  table["ReduceL2"] = {reduction([](ir::CoreOpBuilder& b, ir::Value* x, ir::CompositeAttrs attrs,
                                    OnnxNode&) { ir::reduce_l2(b, x, std::move(attrs)); }),
                       1};
  table["ReduceSumSquare"] = {
      reduction([](ir::CoreOpBuilder& b, ir::Value* x, ir::CompositeAttrs attrs, OnnxNode&) {
        ir::reduce_sum_square(b, x, std::move(attrs));
      }),
      1};
  table["ReduceLogSum"] = {
      reduction([](ir::CoreOpBuilder& b, ir::Value* x, ir::CompositeAttrs attrs, OnnxNode&) {
        b.finish("Log", {b.add("ReduceSum", {x}, std::move(attrs))});
      }),
      1};
  table["ReduceLogSumExp"] = {
      reduction([](ir::CoreOpBuilder& b, ir::Value* x, ir::CompositeAttrs attrs, OnnxNode&) {
        ir::reduce_log_sum_exp(b, x, std::move(attrs));
      }),
      1};
}

// depth must be a constant (it decides the output's shape); values is [off, on].
void import_one_hot(OnnxNode& node) {
  node.allow_attributes({"axis"});
  ir::Value* depth_value = node.required_input(1, "depth");
  if (!depth_value->is_constant()) {
    node.unsupported("input 1 (depth) is computed at run time; Kiln needs it to be a constant");
  }
  std::vector<double> depth = depth_value->constant->to_double_vector();
  if (depth.size() != 1) node.invalid("depth must hold one value, not ", depth.size());
  OnnxOpBuilder builder(node);
  ir::one_hot(builder, node.required_input(0, "indices"), static_cast<int64_t>(depth[0]),
              node.required_input(2, "values"), node.attr_int("axis", -1));
}

void import_einsum(OnnxNode& node) {
  node.allow_attributes({"equation"});
  if (!node.has_attr("equation")) node.invalid("has no equation attribute");
  std::vector<ir::Value*> operands = node.all_inputs();
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i]) node.invalid("input ", i, " is absent");
  }
  OnnxOpBuilder builder(node);
  try {
    ir::einsum(builder, node.attr_string("equation", ""), operands);
  } catch (const Error& error) {
    if (error.kind() == ErrorKind::Unsupported) node.unsupported(error.what());
    node.invalid(error.what());
  }
}

}  // namespace

void add_composite_ops(OpTable& table) {
  table["LessOrEqual"] = {binary(ir::less_or_equal), 12};
  table["GreaterOrEqual"] = {binary(ir::greater_or_equal), 12};
  table["Xor"] = {binary(ir::logical_xor), 1};
  // On the GPU the three core ops of Or become one generated kernel (docs/fusion.md).
  table["Or"] = {binary([](ir::CoreOpBuilder& b, ir::Value* a, ir::Value* c) {
                   return ir::logical_or(b, a, c);
                 }),
                 7};
  table["Sum"] = {import_sum, 1};
  table["Einsum"] = {import_einsum, 12};
  table["Mean"] = {import_mean, 1};
  add_activations(table);
  table["LogSoftmax"] = {along_axis(ir::log_softmax), 1};
  table["Hardmax"] = {along_axis(ir::hardmax), 1};
  table["LpNormalization"] = {import_lp_normalization, 1};
  table["InstanceNormalization"] = {import_instance_normalization, 6};
  add_reductions(table);
  table["OneHot"] = {import_one_hot, 9};
}

}  // namespace kiln::onnx
