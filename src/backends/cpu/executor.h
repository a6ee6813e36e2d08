// Runs a whole graph on the CPU reference backend, emulating each layer's precision: a
// layer in bf16/fp16 sees its float inputs and weights rounded to that type and rounds its
// outputs to it; tf32 rounds the inputs of MatMul, Gemm and Conv only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu {

class Executor {
 public:
  explicit Executor(const ir::Graph& graph);
  // Inputs by graph input name; checks dtype and dims against the graph (symbolic dims take
  // any size, consistently). Returns the graph outputs in order, in their declared dtypes.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs) const;

 private:
  const ir::Graph& graph_;
};

}  // namespace kiln::cpu
