// Calls that need no ATen node (casts, sizes, prim ops, static arithmetic on sizes), and
// the hand-off of every other torch.* / ops.aten.* call to the ATen caller.
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "core/error.h"
#include "frontends/torchscript/script_interpreter.h"
#include "ir/op_schema.h"

namespace kiln::torchscript {
namespace {

using Kind = ScriptValue::Kind;

// torch functions that are arithmetic on sizes when no argument is a graph tensor.
const char* static_operator(const std::string& function) {
  if (function == "add") return "+";
  if (function == "sub") return "-";
  if (function == "mul") return "*";
  if (function == "div") return "/";
  if (function == "floor_divide") return "//";
  if (function == "remainder") return "%";
  if (function == "pow") return "**";
  return nullptr;
}

// torch's unary math on a static number, computed in double; none for other functions.
std::optional<ScriptValue> static_unary(const std::string& function, const ScriptValue& value) {
  double x = value.as_double();
  if (value.is_integral_number() && (function == "abs" || function == "neg")) {
    return ScriptValue::of_int(function == "abs" ? std::llabs(value.as_int()) : -value.as_int());
  }
  // aten::ceil.float and floor.float give ints (math.ceil); round.float a float, half to even.
  if (function == "ceil" || function == "floor") {
    return ScriptValue::of_int(
        static_cast<int64_t>(function == "ceil" ? std::ceil(x) : std::floor(x)));
  }
  if (function == "round") return ScriptValue::of_float(std::nearbyint(x));
  static const std::map<std::string, double (*)(double), std::less<>> kMath = {
      {"sqrt", [](double v) { return std::sqrt(v); }},
      {"rsqrt", [](double v) { return 1.0 / std::sqrt(v); }},
      {"exp", [](double v) { return std::exp(v); }},
      {"log", [](double v) { return std::log(v); }},
      {"sin", [](double v) { return std::sin(v); }},
      {"cos", [](double v) { return std::cos(v); }},
      {"tanh", [](double v) { return std::tanh(v); }},
      {"abs", [](double v) { return std::fabs(v); }},
      {"neg", [](double v) { return -v; }},
      {"reciprocal", [](double v) { return 1.0 / v; }}};
  auto it = kMath.find(function);
  if (it == kMath.end()) return std::nullopt;
  return ScriptValue::of_float(it->second(x));
}

// torch functions whose result shares storage with part of their input.
bool is_partial_view(const std::string& function) {
  return function == "slice" || function == "select" || function == "narrow" ||
         function == "__getitem__" || function == "index" || function == "split" ||
         function == "chunk" || function == "unbind" || function == "diagonal" ||
         function == "as_strided" || function == "split_with_sizes" || function == "unfold";
}

bool any_graph_tensor(const std::vector<ScriptValue>& values) {
  for (const ScriptValue& value : values) {
    if (value.kind == Kind::Tensor) return true;
    if (value.kind == Kind::Constant && !value.is_number()) return true;
  }
  return false;
}

// Comparisons and logic on static values, as scripted code writes its conditions
// (torch.__is__(mask, None), torch.lt(p, 0.), torch.__not__(training)); none when the
// operands are graph tensors.
std::optional<ScriptValue> static_logic(
    const std::string& function, const std::vector<ScriptValue>& args,
    const std::vector<std::pair<std::string, ScriptValue>>& keywords) {
  if (!keywords.empty() || any_graph_tensor(args)) return std::nullopt;
  if (function == "format" && !args.empty() && args[0].kind == Kind::String) return args[0];
  if (function == "warn") return ScriptValue{};
  if (function == "__not__" && args.size() == 1 && args[0].is_number()) {
    return ScriptValue::of_bool(args[0].as_double() == 0);
  }
  if (args.size() != 2) return std::nullopt;
  const ScriptValue& a = args[0];
  const ScriptValue& b = args[1];
  if (function == "__is__" || function == "__isnot__") {
    bool same = false;
    if (a.kind == Kind::None || b.kind == Kind::None)
      same = a.kind == b.kind;
    else if (a.is_number() && b.is_number())
      same = a.as_double() == b.as_double();
    else
      return std::nullopt;
    return ScriptValue::of_bool(function == "__is__" ? same : !same);
  }
  if (!a.is_number() || !b.is_number()) return std::nullopt;
  double x = a.as_double(), y = b.as_double();
  if (function == "eq") return ScriptValue::of_bool(x == y);
  if (function == "ne") return ScriptValue::of_bool(x != y);
  if (function == "lt") return ScriptValue::of_bool(x < y);
  if (function == "gt") return ScriptValue::of_bool(x > y);
  if (function == "le") return ScriptValue::of_bool(x <= y);
  if (function == "ge") return ScriptValue::of_bool(x >= y);
  if (function == "__and__") return ScriptValue::of_bool(x != 0 && y != 0);
  if (function == "__or__") return ScriptValue::of_bool(x != 0 || y != 0);
  return std::nullopt;
}

}  // namespace

// A new value equal to `value`: a Reshape to its own shape, which optimize() removes.
ir::Value* ScriptInterpreter::fresh_value(ir::Value* value) {
  ir::Graph& graph = context_.graph();
  std::string name = graph.unique_name(value->name + "_clone");
  ir::Node* shape = graph.add_node("Shape", name + "_shape", {value}, {name + "_shape"});
  ir::infer_node(*shape);
  ir::Node* copy = graph.add_node("Reshape", name, {value, shape->outputs[0]}, {name});
  ir::infer_node(*copy);
  if (context_.is_complex(value)) context_.mark_complex(copy->outputs[0]);
  return copy->outputs[0];
}

ScriptValue ScriptInterpreter::builtin(const std::string& name,
                                       std::vector<ScriptValue>& positional,
                                       std::vector<std::pair<std::string, ScriptValue>>& keywords,
                                       Frame& frame, const std::string& hint) {
  auto argument = [&](size_t index) -> const ScriptValue& {
    if (index >= positional.size())
      unsupported(frame, name, " needs at least ", index + 1, " arguments");
    return positional[index];
  };
  if (name == "int" || name == "float" || name == "bool") {
    const ScriptValue& value = argument(0);
    if (!value.is_number())
      unsupported(frame, name, "() of a ", kind_name(value.kind), " (only static numbers)");
    if (name == "int") return ScriptValue::of_int(value.as_int());
    if (name == "float") return ScriptValue::of_float(value.as_double());
    return ScriptValue::of_bool(value.as_double() != 0);
  }
  if (name == "getattr") {
    const ScriptValue& attribute_name = argument(1);
    if (attribute_name.kind != Kind::String) unsupported(frame, "getattr with a non-string name");
    return latest(attribute(argument(0), attribute_name.text, frame));
  }
  if (name == "len") {
    const ScriptValue& value = argument(0);
    if (value.kind == Kind::List || value.kind == Kind::Tuple)
      return ScriptValue::of_int(static_cast<int64_t>(value.items.size()));
    if (value.kind == Kind::Tensor && value.tensor->shape.rank() > 0 &&
        value.tensor->shape[0].is_static()) {
      return ScriptValue::of_int(value.tensor->shape[0].value);
    }
    unsupported(frame, "len() of a ", kind_name(value.kind));
  }
  if (name == "ops.prim.NumToTensor" || name == "ops.prim.TupleUnpack" || name == "ops.aten.Int" ||
      name == "ops.prim.unchecked_cast") {
    return argument(0);
  }
  if (name == "ops.prim.TupleConstruct" || name == "ops.prim.ListConstruct") {
    ScriptValue v;
    v.kind = name == "ops.prim.TupleConstruct" ? Kind::Tuple : Kind::List;
    v.items = positional;
    return v;
  }
  if (name.starts_with("__torch__.")) return call_function(name, frame, positional, keywords);
  if (name == "ops.prim.RaiseException") {
    std::string message =
        positional.empty() || positional[0].kind != Kind::String ? "" : positional[0].text;
    unsupported(frame, "the model raises an exception here (", message, ")");
  }
  std::string function;
  if (name.starts_with("torch."))
    function = name.substr(6);
  else if (name.starts_with("ops.aten."))
    function = name.substr(9);
  else
    unsupported(frame, "call of '", name, "' is not supported");

  if (function == "device") {
    ScriptValue v;
    v.kind = Kind::Device;
    v.text = positional.empty() || positional[0].kind != Kind::String ? "cpu" : positional[0].text;
    return v;
  }
  if (function == "size" || function == "dim" || function == "numel") {
    ir::Value* tensor = aten_.tensor_of(argument(0), hint);
    if (tensor == nullptr)
      unsupported(frame, "torch.", function, " of a ", kind_name(positional[0].kind));
    const ir::Shape& shape = tensor->shape;
    // A complex tensor's last dim is its (re, im) pair, which torch does not count.
    int64_t rank = static_cast<int64_t>(shape.rank()) - (context_.is_complex(tensor) ? 1 : 0);
    if (function == "dim") return ScriptValue::of_int(rank);
    auto dim_size = [&](int64_t dim) {
      int64_t axis = dim < 0 ? dim + rank : dim;
      if (axis < 0 || axis >= rank)
        unsupported(frame, "torch.size dim ", dim, " of a rank-", rank, " tensor");
      const ir::Dim& size = shape[static_cast<size_t>(axis)];
      if (!size.is_static())
        unsupported(frame, "torch.size of dynamic dim ", dim, " of '", tensor->name, "'");
      return ScriptValue::of_int(size.value);
    };
    if (function == "numel") {
      int64_t count = 1;
      for (int64_t d = 0; d < rank; ++d) count *= dim_size(d).as_int();
      return ScriptValue::of_int(count);
    }
    if (positional.size() >= 2) return dim_size(argument(1).as_int());
    ScriptValue sizes;
    sizes.kind = Kind::List;
    for (int64_t d = 0; d < rank; ++d) sizes.items.push_back(dim_size(d));
    return sizes;
  }
  if (std::optional<ScriptValue> value = static_logic(function, positional, keywords))
    return *value;
  if (function == "contiguous" || function == "detach" || function == "clone") {
    // A size traced as a number (DeBERTa's relative positions) passes through like a tensor.
    if (!argument(0).is_tensor_like() && !argument(0).is_number())
      unsupported(frame, "torch.", function, " of a ", kind_name(positional[0].kind));
    // contiguous and detach alias their input; a clone does not, and names here are bound to
    // values: an in-place op on the clone would rebind the original's names too (z = x.clone();
    // z.add_(1) changed x). The clone of a graph tensor gets a value of its own.
    if (function == "clone" && positional[0].kind == Kind::Tensor) {
      return ScriptValue::of_tensor(fresh_value(positional[0].tensor));
    }
    return positional[0];
  }
  // to(number, [device,] dtype, ...) of a size traced as a number (DeBERTa's scale): the
  // number in that dtype's kind (ScalarType codes: 5, 6, 7, 15 float; 11 bool; others int).
  if (function == "to" && !positional.empty() && positional[0].is_number() &&
      !any_graph_tensor(positional)) {
    const ScriptValue* dtype =
        positional.size() > 1 && positional[1].kind == Kind::Int   ? &positional[1]
        : positional.size() > 2 && positional[2].kind == Kind::Int ? &positional[2]
                                                                   : nullptr;
    int64_t code = dtype != nullptr ? dtype->integer : -1;
    if (code == 5 || code == 6 || code == 7 || code == 15)
      return ScriptValue::of_float(positional[0].as_double());
    if (code == 11) return ScriptValue::of_bool(positional[0].as_double() != 0);
    if (code >= 0) return ScriptValue::of_int(positional[0].as_int());
    return positional[0];
  }
  // Unary math on a number traced as one (DeBERTa's torch.sqrt(float) of a head size).
  if (positional.size() == 1 && keywords.empty() && positional[0].is_number()) {
    if (std::optional<ScriptValue> value = static_unary(function, positional[0])) return *value;
  }
  // rsub(a, b) = b - a on sizes (Swin's window shifts: torch.rsub(int, int)).
  if (function == "rsub" && !any_graph_tensor(positional) && positional.size() == 2 &&
      keywords.empty()) {
    return arithmetic("-", positional[1], positional[0], frame);
  }
  // div(a, b, rounding_mode="floor"|"trunc") on sizes.
  if (function == "div" && !any_graph_tensor(positional) && positional.size() == 2 &&
      keywords.size() == 1 && keywords[0].first == "rounding_mode" &&
      keywords[0].second.kind == Kind::String) {
    const std::string& mode = keywords[0].second.text;
    if (mode == "floor") return arithmetic("//", positional[0], positional[1], frame);
    if (mode == "trunc") {
      ScriptValue quotient = arithmetic("/", positional[0], positional[1], frame);
      bool integral = positional[0].is_integral_number() && positional[1].is_integral_number();
      return integral ? ScriptValue::of_int(quotient.as_int())
                      : ScriptValue::of_float(static_cast<double>(quotient.as_int()));
    }
  }
  if (const char* op = static_operator(function); op != nullptr && !any_graph_tensor(positional) &&
                                                  positional.size() == 2 && keywords.empty()) {
    return arithmetic(op, positional[0], positional[1], frame);
  }
  // In-place arithmetic on a size traced as a number (Hiera's B = torch.mul_(B, 4) after
  // prim.NumToTensor): the new number, which the traced code binds to a new name.
  if (function.ends_with("_") && !positional.empty() && positional[0].is_number() &&
      !any_graph_tensor(positional) && positional.size() == 2 && keywords.empty()) {
    if (const char* op = static_operator(function.substr(0, function.size() - 1)))
      return arithmetic(op, positional[0], positional[1], frame);
  }
  ScriptCall call{function, positional, keywords,
                  (frame.module_path.empty() ? std::string() : frame.module_path + ".") + function,
                  environment_.label + ": " + where(frame)};
  bool in_place = function.ends_with("_") && !function.starts_with("__") && !positional.empty() &&
                  positional[0].kind == Kind::Tensor;
  if (in_place && partial_views_.count(positional[0].tensor)) {
    if (view_records_.count(positional[0].tensor)) return write_through_view(call, frame);
    unsupported(frame, "torch.", function,
                " writes into a part of another tensor that is not a slice or select with "
                "static bounds (an index, split or strided view); the TorchScript frontend "
                "cannot carry the write into that tensor: export the model with torch.export "
                "(.pt2), which can");
  }
  ScriptValue result = aten_.call(call);
  // A view of everything (x[:, :]) is its base's own value: no part of it.
  bool whole = result.kind == Kind::Tensor && !positional.empty() &&
               positional[0].kind == Kind::Tensor && result.tensor == positional[0].tensor;
  if (!whole) record_view(function, positional, keywords, result);
  if (is_partial_view(function) && !whole) {
    if (result.kind == Kind::Tensor) partial_views_.insert(result.tensor);
    for (const ScriptValue& item : result.items) {
      if (item.kind == Kind::Tensor) partial_views_.insert(item.tensor);
    }
  }
  // In-place ops (relu_, add_): names that held the operand now mean the result.
  if (function.ends_with("_") && !positional.empty() && positional[0].kind == Kind::Tensor &&
      result.kind == Kind::Tensor) {
    // A converter may hand back a value that other names hold (copy_ of a graph input): the
    // operand's names get a value of their own, so a later in-place op on them spares those.
    bool shared = result.tensor->producer == nullptr;
    for (size_t i = 1; i < positional.size(); ++i) {
      shared =
          shared || (positional[i].kind == Kind::Tensor && positional[i].tensor == result.tensor);
    }
    if (shared) result = ScriptValue::of_tensor(fresh_value(result.tensor));
    for (auto& [local, value] : frame.locals) {
      if (value.kind == Kind::Tensor && value.tensor == positional[0].tensor) value = result;
    }
  }
  return result;
}

}  // namespace kiln::torchscript
