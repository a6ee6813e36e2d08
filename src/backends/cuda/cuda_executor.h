// Runs a whole graph on the GPU: shapes specialized to concrete input dims, each float value
// stored in its producer's precision, weights converted once, intermediates placed in one
// arena by passes::plan_arena (nothing allocated per run), every node launched on one stream.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cuda {

struct CudaExecutorOptions {
  size_t workspace_bytes = size_t(64) << 20;
  // Fill every computed value with 0xFF bytes (NaN for floats) before each run, so a kernel
  // that leaves outputs unwritten is caught by tests.
  bool poison_values = false;
};

class CudaExecutor {
 public:
  // `graph` should have precisions assigned (passes::assign_precisions); nodes without one
  // run in fp32. `input_dims` gives the concrete dims of every input with symbolic dims.
  CudaExecutor(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
               CudaExecutorOptions options = {});
  ~CudaExecutor();
  CudaExecutor(const CudaExecutor&) = delete;
  CudaExecutor& operator=(const CudaExecutor&) = delete;

  // Inputs by name in the model's dtypes and the dims given at construction; returns the
  // graph outputs in their declared dtypes.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);

  // "op 'name'" of each node that ran on the host through the CPU kernels (no CUDA kernel
  // for its op or dtypes), after the last run.
  std::vector<std::string> host_nodes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::cuda
