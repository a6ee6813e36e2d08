// Evaluation of the straight-line TorchScript subset into IR (see script_interpreter.h).
#include "frontends/torchscript/script_interpreter.h"

#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"

namespace kiln::torchscript {
namespace {

using Kind = ScriptValue::Kind;
constexpr int kMaxCallDepth = 64;

// Builtins that need no ATen node: names as the source spells them.
bool is_namespace(const std::string& name) {
  return name == "torch" || name == "ops" || name == "CONSTANTS" || name == "annotate" ||
         name == "int" || name == "float" || name == "bool" || name == "getattr" ||
         name == "uninitialized" || name == "len" || name == "math" || name == "__torch__";
}

}  // namespace

ScriptInterpreter::ScriptInterpreter(ScriptEnvironment environment,
                                     torch::ConversionContext& context)
    : environment_(std::move(environment)), context_(context), aten_(context) {}

std::string ScriptInterpreter::where(const Frame& frame) const {
  std::string text = frame.owner ? frame.owner->file : std::string("code");
  text += " line " + std::to_string(frame.line);
  std::string owner = frame.owner ? frame.owner->name.substr(frame.owner->name.rfind('.') + 1) : "";
  text += " (" + (frame.module_path.empty() ? std::string("top module") : frame.module_path) +
          (owner.empty() ? "" : " " + owner) + ")";
  return text;
}

const ClassDef& ScriptInterpreter::class_of(const PickleValue& module) const {
  std::string name = module.text;
  size_t space = name.find(' ');
  if (space != std::string::npos) name[space] = '.';
  auto it = environment_.classes->find(name);
  if (it == environment_.classes->end()) {
    fail(ErrorKind::InvalidModel, environment_.label, ": the archive has no source for class '",
         name, "' under code/");
  }
  return it->second;
}

ScriptValue ScriptInterpreter::call_method(const ScriptValue& module, const std::string& name,
                                           std::vector<ScriptValue> arguments) {
  if (module.kind != Kind::Module) {
    fail(ErrorKind::InvalidModel, environment_.label, ": .", name, "() called on a ",
         kind_name(module.kind));
  }
  const ClassDef& owner = class_of(*module.module);
  auto it = owner.methods.find(name);
  if (it == owner.methods.end()) {
    fail(ErrorKind::InvalidModel, environment_.label, ": class ", owner.name, " (", owner.file,
         ") has no method '", name, "'");
  }
  return invoke(owner, it->second, &module, module.text, std::move(arguments), {});
}

ScriptValue ScriptInterpreter::call_function(
    const std::string& qualified_name, Frame& caller, std::vector<ScriptValue> arguments,
    std::vector<std::pair<std::string, ScriptValue>> keywords) {
  size_t dot = qualified_name.rfind('.');
  auto owner = environment_.classes->find(qualified_name.substr(0, dot));
  if (owner == environment_.classes->end() ||
      !owner->second.methods.count(qualified_name.substr(dot + 1))) {
    unsupported(caller, "call of '", qualified_name,
                "', which the archive's code/ does not define");
  }
  const Method& function = owner->second.methods.at(qualified_name.substr(dot + 1));
  return invoke(owner->second, function, nullptr, caller.module_path, std::move(arguments),
                std::move(keywords));
}

ScriptValue ScriptInterpreter::invoke(const ClassDef& owner, const Method& method,
                                      const ScriptValue* self, const std::string& module_path,
                                      std::vector<ScriptValue> arguments,
                                      std::vector<std::pair<std::string, ScriptValue>> keywords) {
  Frame frame{&owner, &method, module_path, {}, method.line};
  struct OnStack {  // frames_ lists this frame while it runs
    std::vector<Frame*>& frames;
    ~OnStack() { frames.pop_back(); }
  } on_stack{frames_};
  frames_.push_back(&frame);
  if (++depth_ > kMaxCallDepth)
    unsupported(frame, "calls nest deeper than ", kMaxCallDepth, " levels (recursion?)");
  if (arguments.size() > method.parameters.size()) {
    unsupported(frame, owner.name, ".", method.name, " takes ", method.parameters.size(),
                " arguments but is called with ", arguments.size());
  }
  if (self != nullptr) frame.locals["self"] = *self;
  for (size_t i = 0; i < arguments.size(); ++i)
    frame.locals[method.parameters[i]] = std::move(arguments[i]);
  for (auto& [name, value] : keywords) {
    bool known = false;
    for (const std::string& parameter : method.parameters) known = known || parameter == name;
    if (!known) unsupported(frame, owner.name, ".", method.name, " has no parameter '", name, "'");
    frame.locals[name] = std::move(value);
  }
  for (size_t i = 0; i < method.parameters.size(); ++i) {
    if (frame.locals.count(method.parameters[i])) continue;
    const Expr* fallback = i < method.defaults.size() ? method.defaults[i].get() : nullptr;
    if (fallback == nullptr)
      unsupported(frame, owner.name, ".", method.name, " needs argument '", method.parameters[i],
                  "'");
    frame.locals[method.parameters[i]] = evaluate(*fallback, frame);
  }
  std::optional<ScriptValue> result = run(frame, method.body);
  --depth_;
  return result ? *result : ScriptValue{};
}

bool ScriptInterpreter::condition(const Statement& statement, Frame& frame) {
  ScriptValue value = evaluate(*statement.value, frame);
  frame.line = statement.line;
  if (value.kind == Kind::None) return false;
  if (value.is_number() && value.kind != Kind::Constant) return value.as_double() != 0;
  if (value.kind == Kind::String || value.kind == Kind::List || value.kind == Kind::Tuple) {
    return !value.text.empty() || !value.items.empty();
  }
  unsupported(frame, "'", statement.construct, "' on a ", kind_name(value.kind), " in ",
              frame.owner->name, ".", frame.method->name,
              " cannot be resolved while building the graph (it depends on tensor values): Kiln "
              "imports straight-line TorchScript (use torch.jit.trace, or move data-dependent "
              "control flow out of the model)");
}

std::optional<ScriptValue> ScriptInterpreter::run(Frame& frame,
                                                  const std::vector<Statement>& statements) {
  for (const Statement& statement : statements) {
    frame.line = statement.line;
    switch (statement.kind) {
      case Statement::Kind::Pass:
        break;
      case Statement::Kind::Unsupported:
        unsupported(frame, "'", statement.construct, "' in ", frame.owner->name, ".",
                    frame.method->name,
                    " is not supported: Kiln imports straight-line "
                    "TorchScript (use torch.jit.trace, or move data-dependent control flow out of "
                    "the model)");
      case Statement::Kind::Return:
        return evaluate(*statement.value, frame);
      case Statement::Kind::If: {
        const auto& branch = condition(statement, frame) ? statement.body : statement.orelse;
        if (std::optional<ScriptValue> result = run(frame, branch)) return result;
        break;
      }
      case Statement::Kind::Assign: {
        ScriptValue value = evaluate(*statement.value, frame);
        if (!statement.unpack) {
          if (!statement.targets.empty()) frame.locals[statement.targets[0]] = std::move(value);
          break;
        }
        if ((value.kind != Kind::Tuple && value.kind != Kind::List) ||
            value.items.size() != statement.targets.size()) {
          unsupported(frame, "unpacking a ", kind_name(value.kind), " of ", value.items.size(),
                      " values into ", statement.targets.size(), " names");
        }
        for (size_t i = 0; i < statement.targets.size(); ++i)
          frame.locals[statement.targets[i]] = value.items[i];
        break;
      }
    }
  }
  return std::nullopt;
}

ScriptValue ScriptInterpreter::evaluate(const Expr& expr, Frame& frame) {
  frame.line = expr.line;
  switch (expr.kind) {
    case Expr::Kind::Name: {
      auto it = frame.locals.find(expr.text);
      if (it != frame.locals.end()) return it->second;
      if (expr.text == "None") return ScriptValue{};
      if (expr.text == "True" || expr.text == "False")
        return ScriptValue::of_bool(expr.text == "True");
      // TorchScript's code spells float infinity and NaN constants as bare names.
      if (expr.text == "inf") return ScriptValue::of_float(std::numeric_limits<double>::infinity());
      if (expr.text == "nan")
        return ScriptValue::of_float(std::numeric_limits<double>::quiet_NaN());
      if (is_namespace(expr.text)) return ScriptValue::callable(expr.text);
      unsupported(frame, "'", expr.text, "' is read before it is assigned");
    }
    case Expr::Kind::Int:
      return ScriptValue::of_int(expr.integer);
    case Expr::Kind::Float:
      return ScriptValue::of_float(expr.number);
    case Expr::Kind::String: {
      ScriptValue v;
      v.kind = Kind::String;
      v.text = expr.text;
      return v;
    }
    case Expr::Kind::Attribute:
      return latest(attribute(evaluate(*expr.base, frame), expr.text, frame));
    case Expr::Kind::Call:
      return call(expr, frame);
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      ScriptValue v;
      v.kind = expr.kind == Expr::Kind::List ? Kind::List : Kind::Tuple;
      for (const ExprPtr& item : expr.items) v.items.push_back(evaluate(*item, frame));
      return v;
    }
    case Expr::Kind::Subscript: {
      ScriptValue base = evaluate(*expr.base, frame);
      ScriptValue index = evaluate(*expr.items.at(0), frame);
      if ((base.kind != Kind::List && base.kind != Kind::Tuple) || index.kind != Kind::Int) {
        unsupported(frame, "indexing a ", kind_name(base.kind), " with a ", kind_name(index.kind),
                    " (only lists and tuples by a static int)");
      }
      int64_t i = index.integer < 0 ? index.integer + static_cast<int64_t>(base.items.size())
                                    : index.integer;
      if (i < 0 || i >= static_cast<int64_t>(base.items.size()))
        unsupported(frame, "index ", index.integer, " is out of range");
      return base.items[static_cast<size_t>(i)];
    }
    case Expr::Kind::Negate: {
      ScriptValue operand = evaluate(*expr.base, frame);
      return arithmetic("*", operand, ScriptValue::of_int(-1), frame);
    }
    case Expr::Kind::Binary:
      return arithmetic(expr.text, evaluate(*expr.base, frame), evaluate(*expr.items.at(0), frame),
                        frame);
  }
  return ScriptValue{};
}

ScriptValue ScriptInterpreter::attribute(const ScriptValue& base, const std::string& name,
                                         Frame& frame) {
  if (base.kind == Kind::Callable) {
    if (base.text == "CONSTANTS") {
      size_t index = 0;
      bool valid = name.size() > 1 && name[0] == 'c' && name.size() < 10;
      for (size_t i = 1; valid && i < name.size(); ++i) {
        valid = std::isdigit(static_cast<unsigned char>(name[i])) != 0;
        index = index * 10 + static_cast<size_t>(name[i] - '0');
      }
      if (!valid || index >= environment_.constants.size()) {
        unsupported(frame, "CONSTANTS.", name, " is not in constants.pkl (it holds ",
                    environment_.constants.size(), " values)");
      }
      return environment_.constants[index];
    }
    return ScriptValue::callable(base.text + "." + name);
  }
  if (base.kind != Kind::Module)
    unsupported(frame, "attribute '", name, "' of a ", kind_name(base.kind));
  const PickleValue* value = base.module->attribute(name);
  if (value == nullptr)
    unsupported(frame, "module '", base.text, "' has no attribute '", name, "'");
  std::string path = base.text.empty() ? name : base.text + "." + name;
  switch (value->kind) {
    case PickleValue::Kind::Object: {
      ScriptValue v;
      v.kind = Kind::Module;
      v.module = value;
      v.text = path;
      return v;
    }
    case PickleValue::Kind::Tensor:
      return ScriptValue::of_tensor(environment_.parameter(*value, path));
    case PickleValue::Kind::Int:
      return ScriptValue::of_int(value->integer);
    case PickleValue::Kind::Float:
      return ScriptValue::of_float(value->number);
    case PickleValue::Kind::Bool:
      return ScriptValue::of_bool(value->boolean);
    case PickleValue::Kind::None:
      return ScriptValue{};
    case PickleValue::Kind::String: {
      ScriptValue v;
      v.kind = Kind::String;
      v.text = value->text;
      return v;
    }
    case PickleValue::Kind::Tuple:
    case PickleValue::Kind::List: {
      ScriptValue v;
      v.kind = value->kind == PickleValue::Kind::Tuple ? Kind::Tuple : Kind::List;
      for (const PickleRef& item : value->items) {
        switch (item->kind) {
          case PickleValue::Kind::Int:
            v.items.push_back(ScriptValue::of_int(item->integer));
            break;
          case PickleValue::Kind::Float:
            v.items.push_back(ScriptValue::of_float(item->number));
            break;
          case PickleValue::Kind::Bool:
            v.items.push_back(ScriptValue::of_bool(item->boolean));
            break;
          default:
            unsupported(frame, "attribute '", path, "' holds a pickled ",
                        pickle_kind_name(item->kind));
        }
      }
      return v;
    }
    default:
      unsupported(frame, "attribute '", path, "' is a pickled ", pickle_kind_name(value->kind),
                  ", which Kiln does not read");
  }
}

ScriptValue ScriptInterpreter::arithmetic(const std::string& op, const ScriptValue& a,
                                          const ScriptValue& b, Frame& frame) {
  if (!a.is_number() || !b.is_number()) {
    unsupported(frame, "'", op, "' on a ", kind_name(a.kind), " and a ", kind_name(b.kind),
                " (static arithmetic works on numbers only)");
  }
  bool integral = a.is_integral_number() && b.is_integral_number();
  if (integral && op != "/") {
    int64_t x = a.as_int(), y = b.as_int();
    if ((op == "//" || op == "%") && y == 0) unsupported(frame, "division by zero");
    int64_t r = 0;
    if (op == "+")
      r = x + y;
    else if (op == "-")
      r = x - y;
    else if (op == "*")
      r = x * y;
    else if (op == "//")
      r = x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0);
    else if (op == "%")
      r = x - y * (x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0));
    else if (op == "**" && y >= 0)
      r = static_cast<int64_t>(std::llround(std::pow(double(x), double(y))));
    else if (op == "**")
      return ScriptValue::of_float(std::pow(double(x), double(y)));
    else
      unsupported(frame, "operator '", op, "'");
    return ScriptValue::of_int(r);
  }
  double x = a.as_double(), y = b.as_double();
  if (op == "+") return ScriptValue::of_float(x + y);
  if (op == "-") return ScriptValue::of_float(x - y);
  if (op == "*") return ScriptValue::of_float(x * y);
  if (op == "/") return ScriptValue::of_float(x / y);
  if (op == "//") return ScriptValue::of_float(std::floor(x / y));
  if (op == "**") return ScriptValue::of_float(std::pow(x, y));
  unsupported(frame, "operator '", op, "'");
}

ScriptValue ScriptInterpreter::call(const Expr& expr, Frame& frame) {
  const Expr& callee = *expr.base;
  // annotate(T, x) and uninitialized(T): the type is not an expression to evaluate.
  if (callee.kind == Expr::Kind::Name && callee.text == "annotate" &&
      !frame.locals.count("annotate")) {
    if (expr.items.size() != 2) unsupported(frame, "annotate takes a type and a value");
    return evaluate(*expr.items[1], frame);
  }
  if (callee.kind == Expr::Kind::Name && callee.text == "uninitialized") return ScriptValue{};
  // (module).method(args): inline the submodule's method.
  if (callee.kind == Expr::Kind::Attribute) {
    ScriptValue base = evaluate(*callee.base, frame);
    if (base.kind == Kind::Module) {
      std::vector<ScriptValue> arguments;
      for (size_t i = 0; i < expr.items.size(); ++i) {
        if (!expr.keywords[i].empty()) unsupported(frame, "keyword arguments to module methods");
        arguments.push_back(evaluate(*expr.items[i], frame));
      }
      int line = frame.line;
      ScriptValue result = call_method(base, callee.text, std::move(arguments));
      frame.line = line;
      return result;
    }
  }
  ScriptValue function = evaluate(callee, frame);
  if (function.kind != Kind::Callable) unsupported(frame, "calling a ", kind_name(function.kind));
  std::vector<ScriptValue> positional;
  std::vector<std::pair<std::string, ScriptValue>> keywords;
  for (size_t i = 0; i < expr.items.size(); ++i) {
    ScriptValue value = evaluate(*expr.items[i], frame);
    if (expr.keywords[i].empty())
      positional.push_back(std::move(value));
    else
      keywords.emplace_back(expr.keywords[i], std::move(value));
  }
  frame.line = expr.line;
  return builtin(function.text, positional, keywords, frame, function.text);
}

}  // namespace kiln::torchscript
