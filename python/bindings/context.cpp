// Context.run for the Python module (objects.h): host arrays through the CPU reference or the
// GPU runtime's copying run(); GPU tensors bound in place (zero copy) or, with CUDA graphs,
// copied through the context's own buffers so that the captured graph's addresses hold.
#include "context_gpu.h"
#include "core/error.h"

namespace kiln::python {

Context::Context(std::shared_ptr<EngineData> data, const std::string& backend, bool cuda_graph,
                 size_t cached_shapes)
    : data_(std::move(data)), backend_(driver::resolve_backend(backend)), cuda_graph_(cuda_graph) {
  check(cached_shapes > 0, ErrorKind::InvalidArgument, "cached_shapes must be at least 1");
  if (backend_ == driver::Backend::Cpu) {
    check(!cuda_graph, ErrorKind::InvalidArgument,
          "cuda_graph needs the cuda backend (this context runs on the CPU)");
    const engine::LoadedEngine& loaded = data_->loaded;
    cpu_.emplace(ir::copy_graph(loaded.graph), loaded.config.enabled_precisions,
                 loaded.config.strongly_typed, /*keep_precisions=*/true);
    return;
  }
#ifdef KILN_HAS_CUDA
  gpu_ = std::make_unique<Gpu>();
  gpu_->engine = data_->gpu_engine();
  gpu_->capacity = cached_shapes;
#endif
}

Context::~Context() = default;

const char* Context::backend() const { return driver::backend_name(backend_); }

nb::dict Context::run(const nb::dict& inputs, const std::optional<nb::dict>& outputs,
                      std::optional<uintptr_t> stream, const std::set<std::string>& bf16_views,
                      const std::optional<std::string>& framework) {
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  check(lock.owns_lock(), ErrorKind::InvalidArgument,
        "this context is running on another thread: make one context per thread "
        "(engine.context())");
  Arrays arrays = read_arrays(inputs, "input");
  std::map<std::string, Dims> dims = check_inputs(data_->loaded.graph, arrays);
  Framework returned = result_framework(inputs, framework);
  size_t on_gpu = 0;
  for (const auto& [name, array] : arrays) on_gpu += on_cuda(array) ? 1 : 0;
  if (on_gpu == 0) {
    check(!outputs.has_value(), ErrorKind::InvalidArgument,
          "outputs= takes GPU tensors for a run on GPU tensors; these inputs are host arrays");
    return run_host(arrays, dims, bf16_views, returned);
  }
  if (on_gpu != inputs.size())
    throw nb::value_error("the inputs mix host arrays and GPU tensors: give all of one kind");
  if (backend_ != driver::Backend::Cuda)
    throw nb::value_error(
        "this context runs on the CPU: give host arrays, or make a context with "
        "backend='cuda' for GPU tensors");
  return run_device(arrays, outputs, dims, stream.value_or(0), returned);
}

std::map<std::string, std::pair<Dims, std::string>> Context::output_specs(
    const std::map<std::string, Dims>& input_dims) {
  check(backend_ == driver::Backend::Cuda, ErrorKind::InvalidArgument,
        "output_specs is for contexts on the GPU");
  std::map<std::string, std::pair<Dims, std::string>> specs;
#ifdef KILN_HAS_CUDA
  std::lock_guard<std::mutex> lock(mutex_);
  cuda::ExecutionContext& context = gpu_->get(input_dims, cuda_graph_);
  for (const std::string& name : context.output_names()) {
    const cuda::DeviceTensor& planned = context.output(name);
    specs[name] = {planned.dims, std::string(dtype_name(planned.dtype))};
  }
#else
  (void)input_dims;
#endif
  return specs;
}

nb::dict Context::run_host(const Arrays& inputs, const std::map<std::string, Dims>& dims,
                           const std::set<std::string>& bf16_views, Framework framework) {
  std::map<std::string, Tensor> tensors;
  for (const ir::Value* input : data_->loaded.graph.inputs()) {
    if (input->is_constant()) continue;
    tensors.emplace(input->name, host_tensor(inputs.at(input->name), input->name, input->dtype,
                                             bf16_views.contains(input->name)));
  }
  std::map<std::string, Tensor> results;
  if (cpu_) {
    nb::gil_scoped_release release;
    results = cpu_->run(tensors);
  } else {
#ifdef KILN_HAS_CUDA
    nb::gil_scoped_release release;
    cuda::ExecutionContext& context = gpu_->get(dims, cuda_graph_);
    std::vector<Tensor> values = context.run(tensors);
    std::vector<std::string> names = context.output_names();
    for (size_t i = 0; i < values.size(); ++i) results.emplace(names[i], std::move(values[i]));
#else
    (void)dims;
#endif
  }
  nb::dict named;
  for (const ir::Value* output : data_->loaded.graph.outputs()) {
    named[output->name.c_str()] = host_array(results.at(output->name), framework);
  }
  return named;
}

}  // namespace kiln::python
