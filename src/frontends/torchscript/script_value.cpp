// Numeric views of script values.
#include "frontends/torchscript/script_value.h"

#include <cmath>

#include "core/error.h"

namespace kiln::torchscript {

bool ScriptValue::is_number() const {
  if (kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool) return true;
  return kind == Kind::Constant && constant && !complex && constant->numel() == 1 &&
         constant->dtype() != DType::Undefined;
}

double ScriptValue::as_double() const {
  switch (kind) {
    case Kind::Int:
      return static_cast<double>(integer);
    case Kind::Float:
      return number;
    case Kind::Bool:
      return boolean ? 1.0 : 0.0;
    case Kind::Constant:
      return constant->to_double_vector().at(0);
    default:
      fail(ErrorKind::InvalidModel, "expected a number, got a ", kind_name(kind));
  }
}

bool ScriptValue::is_integral_number() const {
  if (kind == Kind::Int || kind == Kind::Bool) return true;
  return kind == Kind::Constant && is_number() &&
         (is_integral(constant->dtype()) || constant->dtype() == DType::Bool);
}

int64_t ScriptValue::as_int() const {
  if (kind == Kind::Int) return integer;
  if (kind == Kind::Bool) return boolean ? 1 : 0;
  double value = as_double();
  return static_cast<int64_t>(std::trunc(value));
}

const char* kind_name(ScriptValue::Kind kind) {
  using Kind = ScriptValue::Kind;
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Tensor:
      return "tensor";
    case Kind::Constant:
      return "constant tensor";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Bool:
      return "bool";
    case Kind::String:
      return "string";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Module:
      return "module";
    case Kind::Device:
      return "device";
    case Kind::Callable:
      return "callable";
  }
  return "?";
}

}  // namespace kiln::torchscript
