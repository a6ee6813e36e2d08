// Importers for elementwise math, comparisons, logic, matrix products, casts, CumSum and
// CumProd.
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

// Cast.to is an ONNX TensorProto code; Kiln's Cast holds a Kiln DType code.
int64_t kiln_dtype_code(OnnxNode& node, int64_t onnx_code) {
  std::optional<DType> dtype = dtype_from_onnx(onnx_code);
  if (!dtype) {
    node.unsupported("converts to ", onnx_dtype_name(onnx_code), "; Kiln supports ",
                     supported_onnx_dtypes());
  }
  return static_cast<int64_t>(*dtype);
}

// saturate and round_mode only change conversions to float8 types, which Kiln lacks.
void import_cast(OnnxNode& node) {
  node.allow_attributes({"to", "saturate", "round_mode"});
  if (!node.has_attr("to")) node.invalid("has no 'to' attribute");
  int64_t to = kiln_dtype_code(node, node.attr_int("to", 0));
  node.emit("Cast", {node.required_input(0, "input")}, {{"to", to}});
}

void import_cast_like(OnnxNode& node) {
  node.allow_attributes({"saturate", "round_mode"});
  ir::Value* target = node.required_input(1, "target_type");
  if (target->dtype == DType::Undefined) {
    node.unsupported("the dtype of its target_type input '", target->name,
                     "' is unknown at import");
  }
  node.emit("Cast", {node.required_input(0, "input")},
            {{"to", static_cast<int64_t>(target->dtype)}});
}

// CumSum and CumProd (opset 26): ONNX passes the axis as an input (a one-element tensor);
// Kiln holds it as an attribute.
OpImporter cumulative(const char* op) {
  return [op](OnnxNode& node) {
    node.allow_attributes({"exclusive", "reverse"});
    std::vector<int64_t> axis = node.constant_ints(1, "axis");
    if (axis.size() != 1) node.invalid("its axis input must hold one value, not ", axis.size());
    AttrMap attrs = node.copied_attrs({"exclusive", "reverse"});
    attrs["axis"] = axis[0];
    node.emit(op, {node.required_input(0, "x")}, std::move(attrs));
  };
}

}  // namespace

void add_math_ops(OpTable& table) {
  for (const char* op :
       {"Relu",  "Erf",   "Tanh",    "Sigmoid", "Neg",   "Exp",    "Log",  "Sqrt", "Reciprocal",
        "Not",   "IsNaN", "Add",     "Sub",     "Mul",   "Div",    "Pow",  "Max",  "Min",
        "Equal", "Less",  "Greater", "And",     "Where", "MatMul", "Clip", "Abs"}) {
    table[op] = {same_op({}), 1};
  }
  table["HardSwish"] = {same_op({}), 14};
  table["Mod"] = {same_op({"fmod"}), 10};
  for (const char* op : {"Sin", "Cos", "Tan", "Asin", "Acos", "Atan"}) table[op] = {same_op({}), 7};
  for (const char* op : {"Floor", "Ceil"}) table[op] = {same_op({}), 1};
  for (const char* op : {"Sign", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"}) {
    table[op] = {same_op({}), 9};
  }
  table["IsInf"] = {same_op({"detect_negative", "detect_positive"}), 10};
  table["Round"] = {same_op({}), 11};
  table["Gelu"] = {same_op({"approximate"}), 20};
  table["HardSigmoid"] = {same_op({"alpha", "beta"}), 1};
  table["Gemm"] = {same_op({"alpha", "beta", "transA", "transB"}), 1};
  table["Cast"] = {import_cast, 1};
  table["CastLike"] = {import_cast_like, 15};
  table["CumSum"] = {cumulative("CumSum"), 11};
  table["CumProd"] = {cumulative("CumProd"), 26};
}

}  // namespace kiln::onnx
