// What the ATen probe calls share (aten_probes.cpp, aten_probes_creation.cpp): the scope a
// probe's graph and conversion context live in, and the call description.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "frontends/torch/aten_node.h"

namespace kiln::torch::probes {

using Kind = OutputSlot::Kind;

// One probe's graph and conversion context, with helpers that define its inputs.
struct ProbeScope {
  ir::Graph graph;
  ConversionContext context{graph, "probe"};

  ir::Value* input(const std::string& name, DType dtype, ir::Shape shape) {
    ir::Value* value = graph.add_input(name, dtype, std::move(shape));
    context.define_tensor(name, value);
    return value;
  }
  NamedArgument tensor(const std::string& argument, DType dtype, const Dims& dims) {
    return {argument, input(argument, dtype, ir::Shape::from_dims(dims)), argument};
  }
  NamedArgument f32(const std::string& argument, const Dims& dims) {
    return tensor(argument, DType::Float32, dims);
  }
  NamedArgument list(const std::string& argument, const std::vector<Dims>& shapes) {
    TensorList values;
    for (size_t i = 0; i < shapes.size(); ++i) {
      std::string name = argument + std::to_string(i);
      values.push_back(input(name, DType::Float32, ir::Shape::from_dims(shapes[i])));
    }
    return {argument, values, {}};
  }
  // A size known only at run time: an int64 [1] graph input named after its symbol.
  SymInt dynamic_size(const std::string& symbol) {
    return SymInt{0, input(symbol, DType::Int64, ir::Shape::from_dims({1})), symbol};
  }
};

inline NamedArgument value(std::string argument, Argument given) {
  return {std::move(argument), std::move(given), {}};
}

struct ProbeCall {
  std::string name;
  std::function<std::vector<NamedArgument>(ProbeScope&)> arguments;
  // Slots whose names start with "unused" are not read by anything (saved statistics).
  std::vector<OutputSlot> outputs = {{Kind::Tensor, {"out"}}};
  // Tried only when the other calls emitted no op: mixed dtypes make float ops add Casts,
  // which says nothing about their usual form, but show what a cast-only op becomes.
  bool fallback = false;
};

using Ints = std::vector<int64_t>;

// Calls by family: ops that create, cast, size and copy tensors (aten_probes_creation.cpp).
std::vector<ProbeCall> creation_calls();
// Ops written as several core ops that read arguments of their own (aten_probes_composite.cpp).
std::vector<ProbeCall> composite_calls();

}  // namespace kiln::torch::probes
