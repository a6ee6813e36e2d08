// What TorchScript expressions evaluate to while Kiln builds a graph from them: graph
// tensors, archive constants, static numbers (sizes are static here), lists, tuples,
// module objects and names of callables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "frontends/torchscript/pickle_value.h"
#include "ir/graph.h"

namespace kiln::torchscript {

struct ScriptValue {
  enum class Kind {
    None,
    Tensor,
    Constant,
    Int,
    Float,
    Bool,
    String,
    List,
    Tuple,
    Module,
    Device,
    Callable
  };
  Kind kind = Kind::None;
  ir::Value* tensor = nullptr;             // Tensor
  std::shared_ptr<const Tensor> constant;  // Constant (constants.pkl: CONSTANTS.cN)
  int64_t integer = 0;                     // Int
  double number = 0;                       // Float
  bool boolean = false;                    // Bool
  std::string text;  // String; Callable: its dotted name ("torch.linear"); Module: its path
  std::vector<ScriptValue> items;       // List, Tuple
  const PickleValue* module = nullptr;  // Module: the pickled object
  // Constant: a complex one (a ComplexFloatStorage), held as its reals with a last dim of 2.
  bool complex = false;

  static ScriptValue of_tensor(ir::Value* value) {
    ScriptValue v;
    v.kind = Kind::Tensor;
    v.tensor = value;
    return v;
  }
  static ScriptValue of_int(int64_t value) {
    ScriptValue v;
    v.kind = Kind::Int;
    v.integer = value;
    return v;
  }
  static ScriptValue of_float(double value) {
    ScriptValue v;
    v.kind = Kind::Float;
    v.number = value;
    return v;
  }
  static ScriptValue of_bool(bool value) {
    ScriptValue v;
    v.kind = Kind::Bool;
    v.boolean = value;
    return v;
  }
  static ScriptValue callable(std::string name) {
    ScriptValue v;
    v.kind = Kind::Callable;
    v.text = std::move(name);
    return v;
  }

  bool is_tensor_like() const { return kind == Kind::Tensor || kind == Kind::Constant; }
  // Int, Float, Bool, or a one-element constant (traced code keeps some sizes as tensors).
  bool is_number() const;
  double as_double() const;
  bool is_integral_number() const;  // Int, Bool or an integer constant
  int64_t as_int() const;
};

const char* kind_name(ScriptValue::Kind kind);

}  // namespace kiln::torchscript
