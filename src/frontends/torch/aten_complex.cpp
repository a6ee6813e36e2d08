// Views and arithmetic of complex tensors (aten_complex.h): view_as_complex, complex, polar,
// reshapes, and mul / add / sub / div / neg / conj / abs, each part by part, so that models that
// keep complex buffers (rotary embeddings as Meta's Llama code writes them: view_as_complex(q) *
// freqs_cis) convert. A converter of one of these ops takes the complex route only where an
// operand is complex; real operands go to the ordinary converter unchanged.
#include "frontends/torch/aten_complex.h"

#include <utility>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {

ir::ComplexParts parts_of(AtenNode& node, std::string_view name) {
  node.accept_complex();
  ir::Value* x = node.tensor(name);
  if (!node.context().is_complex(x)) return {x, nullptr};
  AtenOpBuilder b(node);
  const int64_t rank = rank_of(node, x);
  return {ir::pair_part(b, x, rank, 0), ir::pair_part(b, x, rank, 1)};
}

void set_complex_output(AtenNode& node, ir::ComplexParts parts) {
  AtenOpBuilder b(node);
  ir::Value* pair = ir::pair_of(b, parts, rank_of(node, parts.re));
  node.context().mark_complex(pair);
  node.set_output(0, pair);
}

namespace {

// Tensor argument `name`, read without the refusal node.tensor gives a converter that does
// not take complex tensors; null when absent or not a tensor.
const ir::Value* tensor_argument(AtenNode& node, std::string_view name) {
  const Argument* argument = node.find(name);
  const auto* value = argument != nullptr ? std::get_if<ir::Value*>(argument) : nullptr;
  return value != nullptr ? *value : nullptr;
}

bool is_complex_argument(AtenNode& node, std::string_view name) {
  const ir::Value* value = tensor_argument(node, name);
  return value != nullptr && node.context().is_complex(value);
}

// The parts of operand `name`, a tensor or a number (as a real scalar of `dtype`).
ir::ComplexParts operand_parts(AtenNode& node, std::string_view name, DType dtype) {
  if (node.is_number(name))
    return {scalar_constant(node, node.float_arg(name, 0.0), dtype), nullptr};
  ir::ComplexParts parts = parts_of(node, name);
  parts.re = cast_to(node, parts.re, dtype);
  if (parts.im != nullptr) parts.im = cast_to(node, parts.im, dtype);
  return parts;
}

// a * b, (ar + i ai)(br + i bi); a missing imaginary part is zero.
ir::ComplexParts multiply(AtenNode& node, ir::ComplexParts a, ir::ComplexParts b) {
  auto mul = [&](ir::Value* x, ir::Value* y) { return node.add("Mul", {x, y}); };
  ir::ComplexParts out{mul(a.re, b.re), nullptr};
  if (a.im != nullptr && b.im != nullptr) out.re = node.add("Sub", {out.re, mul(a.im, b.im)});
  if (a.im != nullptr) out.im = mul(a.im, b.re);
  if (b.im != nullptr)
    out.im = out.im ? node.add("Add", {out.im, mul(a.re, b.im)}) : mul(a.re, b.im);
  return out;
}

// The complex route of `op` ("Add", "Sub", "Mul", "Div") over self and other; add and sub
// scale other by alpha first.
void binary(AtenNode& node, const std::string& op) {
  // The complex operand's real type (a pair of float32 for complex64).
  const ir::Value* pair =
      tensor_argument(node, is_complex_argument(node, "self") ? "self" : "other");
  const DType dtype = pair->dtype;
  ir::ComplexParts a = operand_parts(node, "self", dtype);
  ir::ComplexParts b = operand_parts(node, "other", dtype);
  if (op == "Add" || op == "Sub") {
    const double alpha = node.float_arg("alpha", 1.0);
    if (alpha != 1.0) b = multiply(node, b, {scalar_constant(node, alpha, dtype), nullptr});
    ir::ComplexParts out{node.add(op, {a.re, b.re}), a.im};
    if (b.im != nullptr) {
      out.im = a.im ? node.add(op, {a.im, b.im}) : (op == "Add" ? b.im : node.add("Neg", {b.im}));
    }
    return set_complex_output(node, out);
  }
  if (op == "Mul") return set_complex_output(node, multiply(node, a, b));
  // a / b = a · conj(b) / |b|^2
  if (node.has("rounding_mode")) node.unsupported("a rounded division of complex tensors");
  ir::Value* norm = node.add("Mul", {b.re, b.re});
  if (b.im != nullptr) norm = node.add("Add", {norm, node.add("Mul", {b.im, b.im})});
  ir::ComplexParts conj{b.re, b.im ? node.add("Neg", {b.im}) : nullptr};
  ir::ComplexParts out = multiply(node, a, conj);
  out.re = node.add("Div", {out.re, norm});
  if (out.im != nullptr) out.im = node.add("Div", {out.im, norm});
  set_complex_output(node, out);
}

// `real` unless an operand of `names` is complex, then `complex`.
AtenConverter either(AtenConverter real, std::vector<std::string> names,
                     std::function<void(AtenNode&)> complex) {
  return [real = std::move(real), names = std::move(names),
          complex = std::move(complex)](AtenNode& node) {
    for (const std::string& name : names) {
      if (is_complex_argument(node, name)) return complex(node);
    }
    real(node);
  };
}

// view_as_complex(self [..., 2]): the same values, now complex.
void convert_view_as_complex(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<SymInt> sizes = sizes_of(node, x);
  if (sizes.empty() || !sizes.back().is_static() || sizes.back().value != 2) {
    node.invalid("view_as_complex needs a last dim of 2, got ", x->shape.to_string());
  }
  ir::Value* pair = reshape_to(node, x, sizes);  // a value of its own to mark
  node.context().mark_complex(pair);
  node.set_output(0, pair);
}

// view / reshape of a complex tensor to `sizes`: the pair's dim stays last.
void reshape_complex(AtenNode& node) {
  node.accept_complex();
  ir::Value* x = node.tensor("self");
  std::vector<SymInt> sizes = node.sym_ints(node.find("shape") != nullptr ? "shape" : "size");
  sizes.push_back(SymInt::fixed(2));
  ir::Value* pair = reshape_to(node, x, sizes);
  node.context().mark_complex(pair);
  node.set_output(0, pair);
}

void conj(AtenNode& node) {
  ir::ComplexParts x = parts_of(node, "self");
  if (x.im == nullptr) return node.set_output(0, x.re);
  set_complex_output(node, {x.re, node.add("Neg", {x.im})});
}

void negate(AtenNode& node) {
  ir::ComplexParts x = parts_of(node, "self");
  set_complex_output(node, {node.add("Neg", {x.re}), node.add("Neg", {x.im})});
}

// abs of a complex tensor: its magnitude, real.
void magnitude(AtenNode& node) {
  ir::ComplexParts x = parts_of(node, "self");
  ir::Value* squares =
      node.add("Add", {node.add("Mul", {x.re, x.re}), node.add("Mul", {x.im, x.im})});
  node.set_output(0, node.add("Sqrt", {squares}));
}

// An op that leaves a complex tensor as it is (a copy, an alias, resolving a conjugation that
// is always computed here).
void pass_through(AtenNode& node) {
  node.accept_complex();
  node.set_output(0, node.tensor("self"));
}

// complex(real, imag) and polar(abs, angle): a complex tensor from two real ones (broadcast).
void convert_complex(AtenNode& node) {
  ir::Value* re = node.tensor("real");
  ir::Value* im = node.tensor("imag");
  ir::Value* zero = scalar_constant(node, 0.0, dtype_of(node, re));
  // Broadcast each part to the other's shape: x + 0 · y.
  set_complex_output(node, {node.add("Add", {re, node.add("Mul", {im, zero})}),
                            node.add("Add", {im, node.add("Mul", {re, zero})})});
}

void convert_polar(AtenNode& node) {
  ir::Value* magnitude = node.tensor("abs");
  ir::Value* angle = node.tensor("angle");
  set_complex_output(node, {node.add("Mul", {magnitude, node.add("Cos", {angle})}),
                            node.add("Mul", {magnitude, node.add("Sin", {angle})})});
}

}  // namespace

void add_complex_ops(AtenTable& table) {
  table["aten.complex.default"] = convert_complex;
  table["aten.polar.default"] = convert_polar;
  table["aten.view_as_complex.default"] = convert_view_as_complex;
  for (const char* target :
       {"aten.view.default", "aten.reshape.default", "aten._unsafe_view.default"})
    table[target] = either(table.at(target), {"self"}, reshape_complex);
  const std::pair<const char*, const char*> binaries[] = {
      {"aten.add.Tensor", "Add"}, {"aten.sub.Tensor", "Sub"}, {"aten.mul.Tensor", "Mul"},
      {"aten.div.Tensor", "Div"}, {"aten.add.Scalar", "Add"}, {"aten.sub.Scalar", "Sub"},
      {"aten.mul.Scalar", "Mul"}, {"aten.div.Scalar", "Div"}};
  for (auto [target, op] : binaries) {
    std::string name = op;
    table[target] =
        either(table.at(target), {"self", "other"}, [name](AtenNode& node) { binary(node, name); });
  }
  // Copies and aliases of a complex tensor are that tensor.
  for (const char* target : {"aten.clone.default", "aten.alias.default", "aten.detach.default",
                             "aten.contiguous.default", "aten.lift_fresh_copy.default"}) {
    table[target] = either(table.at(target), {"self"}, pass_through);
  }
  table["aten.neg.default"] = either(table.at("aten.neg.default"), {"self"}, negate);
  table["aten.abs.default"] = either(table.at("aten.abs.default"), {"self"}, magnitude);
  for (const char* target :
       {"aten.conj.default", "aten._conj.default", "aten.conj_physical.default"})
    table[target] = conj;
  // Conjugation is computed, never a lazy bit here: resolving it changes nothing.
  for (const char* target : {"aten.resolve_conj.default", "aten.resolve_neg.default"})
    table[target] = pass_through;
}

}  // namespace kiln::torch
