// CudaExecutor: an engine and one context, for running a graph once.
#include "backends/cuda/runtime/cuda_executor.h"

namespace kiln::cuda {

CudaExecutor::CudaExecutor(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
                           CudaExecutorOptions options)
    : engine_(std::make_shared<Engine>(ir::copy_graph(graph), std::map<std::string, Tensor>{},
                                       options.workspace_bytes)),
      context_(
          std::make_unique<ExecutionContext>(engine_, input_dims,
                                             ContextOptions{.poison_values = options.poison_values,
                                                            .fuse_groups = options.fuse_groups})) {}

}  // namespace kiln::cuda
