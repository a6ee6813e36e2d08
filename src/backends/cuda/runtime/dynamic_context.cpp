// Execution contexts per set of input sizes, the recent ones kept (dynamic_context.h).
#include "backends/cuda/runtime/dynamic_context.h"

#include "core/error.h"

namespace kiln::cuda {

DynamicContext::DynamicContext(std::shared_ptr<const Engine> engine, size_t cached_shapes,
                               ContextOptions options)
    : engine_(std::move(engine)), capacity_(cached_shapes), options_(options) {
  check(engine_ != nullptr, ErrorKind::InvalidArgument, "dynamic context without an engine");
  check(capacity_ > 0, ErrorKind::InvalidArgument, "cached_shapes must be at least 1");
  // Inputs whose dims are all static need no set_input_shape.
  for (const ir::Value* input : engine_->graph().inputs()) {
    if (!input->is_constant() && input->shape.rank_known() && input->shape.is_static())
      shapes_[input->name] = input->shape.static_dims();
  }
}

void DynamicContext::set_input_shape(const std::string& name, const Dims& dims) {
  const ir::Value* input = engine_->graph().find_value(name);
  check(input != nullptr && input->is_graph_input && !input->is_constant(),
        ErrorKind::InvalidArgument, "the engine has no input '", name, "'");
  shapes_[name] = dims;
}

ExecutionContext& DynamicContext::current() {
  for (auto it = contexts_.begin(); it != contexts_.end(); ++it) {
    if (it->first != shapes_) continue;
    contexts_.splice(contexts_.begin(), contexts_, it);
    return *contexts_.front().second;
  }
  for (const ir::Value* input : engine_->graph().inputs()) {
    check(input->is_constant() || shapes_.contains(input->name), ErrorKind::InvalidArgument,
          "input '", input->name, "' has shape ", input->shape.to_string(),
          ": give its dims with set_input_shape before enqueue");
  }
  auto context = std::make_unique<ExecutionContext>(engine_, shapes_, options_);
  if (cuda_graph_) context->use_cuda_graph(true);
  if (contexts_.size() >= capacity_) contexts_.pop_back();
  contexts_.emplace_front(shapes_, std::move(context));
  return *contexts_.front().second;
}

void DynamicContext::use_cuda_graph(bool enable) {
  cuda_graph_ = enable;
  for (auto& [shapes, context] : contexts_) context->use_cuda_graph(enable);
}

}  // namespace kiln::cuda
