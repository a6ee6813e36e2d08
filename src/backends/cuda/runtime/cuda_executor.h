// Runs a whole graph on the GPU in one call: an Engine made from the graph and one
// ExecutionContext for the given input dims. For tests and tools that run a model once;
// applications keep an Engine and create contexts themselves (execution_context.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/runtime/execution_context.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cuda {

struct CudaExecutorOptions {
  size_t workspace_bytes = size_t(64) << 20;
  // Fill every computed value with 0xFF bytes (NaN for floats) before each run, so a kernel
  // that leaves outputs unwritten is caught by tests.
  bool poison_values = false;
  bool fuse_groups = true;  // ContextOptions::fuse_groups
};

class CudaExecutor {
 public:
  // `graph` should have precisions assigned (passes::assign_precisions); nodes without one
  // run in fp32. `input_dims` gives the concrete dims of every input with symbolic dims.
  CudaExecutor(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
               CudaExecutorOptions options = {});

  // Inputs by name in the model's dtypes and the dims given at construction; returns the
  // graph outputs in their declared dtypes.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs) {
    return context_->run(inputs);
  }

  // "op 'name'" of each node that runs on the host through the CPU kernels (no CUDA kernel
  // for its op or dtypes).
  std::vector<std::string> host_nodes() const { return context_->host_nodes(); }
  ExecutionContext& context() { return *context_; }

 private:
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<ExecutionContext> context_;
};

}  // namespace kiln::cuda
