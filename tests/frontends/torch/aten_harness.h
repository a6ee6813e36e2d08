// Test helper: converts single ATen calls into a fresh graph and runs it on the CPU
// reference, so each converter can be checked against hand-computed values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "frontends/torch/aten_ops.h"
#include "ir/op_schema.h"
#include "ir/verifier.h"

namespace kiln::torch::testing {

class AtenHarness {
 public:
  AtenHarness() : context(graph, "test.pt2") {}

  ir::Value* input(const std::string& name, DType dtype, ir::Shape shape) {
    ir::Value* value = graph.add_input(name, dtype, std::move(shape));
    context.define_tensor(name, value);
    return value;
  }
  ir::Value* input(const std::string& name, DType dtype, const Dims& dims) {
    return input(name, dtype, ir::Shape::from_dims(dims));
  }

  // Converts `target` with `arguments`; its one tensor output is named `output`.
  ir::Value* convert(const std::string& target, std::vector<NamedArgument> arguments,
                     const std::string& output = "out") {
    return convert_slots(target, std::move(arguments), {{OutputSlot::Kind::Tensor, {output}}},
                         output);
  }
  ir::Value* convert_slots(const std::string& target, std::vector<NamedArgument> arguments,
                           std::vector<OutputSlot> outputs, const std::string& result = "") {
    for (const OutputSlot& slot : outputs) {
      for (const std::string& name : slot.names) context.mark_used(name);
    }
    const AtenConverter* converter = find_aten_converter(target);
    if (converter == nullptr) throw Error(ErrorKind::Unsupported, "no converter for " + target);
    AtenNode node(context, target, "node", "test.py:1", std::move(arguments), std::move(outputs));
    (*converter)(node);
    return result.empty() ? nullptr : context.find_tensor(result);
  }

  // The message of the error converting `target` throws, or "no error".
  std::string conversion_error(const std::string& target, std::vector<NamedArgument> arguments) {
    try {
      convert(target, std::move(arguments));
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  }

  // Runs the graph with `outputs` as its outputs.
  std::vector<Tensor> run(const std::vector<ir::Value*>& outputs,
                          const std::map<std::string, Tensor>& inputs) {
    graph.set_outputs(outputs);
    ir::infer_graph(graph);
    ir::verify(graph);
    return cpu::Executor(graph).run(inputs);
  }
  Tensor run_one(ir::Value* output, const std::map<std::string, Tensor>& inputs) {
    return run({output}, inputs).front();
  }

  // The ops of the graph's nodes, in order.
  std::vector<std::string> ops() const {
    std::vector<std::string> names;
    for (const ir::Node* node : graph.nodes()) names.push_back(node->op);
    return names;
  }

  ir::Graph graph;
  ConversionContext context;
};

// Float32 and int64 tensors of given values, and 0, 1, ..., count - 1.
inline Tensor floats(Dims dims, std::vector<float> values) {
  return Tensor::from_vector(dims, values);
}
inline Tensor int64s(Dims dims, std::vector<int64_t> values) {
  return Tensor::from_vector(dims, values);
}
inline std::vector<float> iota(int64_t count) {
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(static_cast<float>(i));
  return values;
}

inline NamedArgument arg(std::string name, Argument value) {
  return {std::move(name), std::move(value), {}};
}

}  // namespace kiln::torch::testing
