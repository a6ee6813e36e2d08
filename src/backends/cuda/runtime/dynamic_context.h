// An execution context for an engine with symbolic dims that accepts any sizes in the
// engine's ranges: set_input_shape before enqueue, as with TensorRT. Each new set of sizes is
// specialized and planned once (an ExecutionContext: storage plan, arena, captured CUDA
// graph); the last `cached_shapes` are kept, so going back to a recent set of sizes re-plans
// nothing. Sizes outside a range are refused naming the dim (ir::check_input_dims). One thread
// at a time, like ExecutionContext.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>

#include "backends/cuda/runtime/execution_context.h"

namespace kiln::cuda {

class DynamicContext {
 public:
  explicit DynamicContext(std::shared_ptr<const Engine> engine, size_t cached_shapes = 4,
                          ContextOptions options = {});

  // The dims of input `name` for the next enqueue (checked when the context for them is made).
  void set_input_shape(const std::string& name, const Dims& dims);
  // The execution context for the shapes set so far, made (or moved to the front) on demand;
  // its input()/output() tensors and set_tensor_address serve the next enqueue. Throws
  // InvalidArgument naming an input whose symbolic dims were never set, or a size outside its
  // range.
  ExecutionContext& current();
  void enqueue(cudaStream_t stream) { current().enqueue(stream); }
  // Applies to every cached context and every one made later.
  void use_cuda_graph(bool enable);
  // How many sets of sizes are planned and kept now.
  size_t planned_shapes() const { return contexts_.size(); }

 private:
  std::shared_ptr<const Engine> engine_;
  size_t capacity_;
  ContextOptions options_;
  bool cuda_graph_ = false;
  std::map<std::string, Dims> shapes_;
  std::list<std::pair<std::map<std::string, Dims>, std::unique_ptr<ExecutionContext>>> contexts_;
};

}  // namespace kiln::cuda
