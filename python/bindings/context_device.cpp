// Context.run on GPU tensors (objects.h): every input and output stays on the device.
#include <chrono>

#include "context_gpu.h"
#include "core/error.h"
#ifdef KILN_HAS_CUDA
#include <cuda_runtime.h>

#include "backends/cuda/kernels/cuda_check.h"
#endif

namespace kiln::python {

#ifdef KILN_HAS_CUDA
namespace {

// A device tensor given for `what`: on `device`, contiguous, of `dtype` and `dims`.
void check_device_array(const InputArray& array, const std::string& what, int device, DType dtype,
                        const Dims* dims) {
  if (!on_cuda(array))
    throw nb::value_error((what + " is a host array; give GPU tensors here").c_str());
  if (array.device_id() != device)
    throw nb::value_error((what + " is on cuda:" + std::to_string(array.device_id()) +
                           ", but this context runs on cuda:" + std::to_string(device) +
                           " (the current device when the engine was first run)")
                              .c_str());
  if (!is_contiguous(array))
    throw nb::value_error((what + " is not contiguous: pass tensor.contiguous()").c_str());
  DType given = dtype_of(array.dtype(), what);
  if (given != dtype)
    throw nb::type_error((what + " is " + std::string(dtype_name(given)) + ", but the model " +
                          "has " + std::string(dtype_name(dtype)))
                             .c_str());
  if (dims != nullptr && dims_of(array) != *dims)
    throw nb::value_error(
        (what + " has shape " + shape_text(array) + ", but the output is " + dims_to_string(*dims))
            .c_str());
}

// Device memory of a result the caller did not provide, freed when Python drops the array
// (cudaFree waits for the device: pass outputs= to avoid it on a hot path).
nb::capsule device_allocation(size_t bytes, void** data) {
  KILN_CUDA_CHECK(cudaMalloc(data, bytes == 0 ? 1 : bytes));
  return nb::capsule(*data, [](void* pointer) noexcept { cudaFree(pointer); });
}

}  // namespace
#endif

#ifdef KILN_HAS_CUDA
// One run on `entry`'s context with the caller's device memory: inputs and outputs by name.
// The caller's tensors are bound in place for this run and unbound after it (the context
// never keeps an address Python may free). With CUDA graphs, only tensors at a steady address
// are bound (BindingPolicy); the others are copied through the context's own buffers, which
// the graph captured with them holds.
void Context::Gpu::launch(Entry& entry, const std::vector<Bound>& inputs,
                          const std::vector<Bound>& outputs, cudaStream_t caller, bool cuda_graph) {
  cuda::ExecutionContext& context = *entry.context;
  std::vector<const std::string*> bound;
  struct Copy {
    void* to;
    const void* from;
    size_t bytes;
  };
  std::vector<Copy> copies_in, copies_out;
  auto unbind = [&] {
    for (const std::string* name : bound) context.set_tensor_address(*name, nullptr);
  };
  auto bind = [&](const std::string& name, void* data) {
    if (cuda_graph && !entry.binding.bind(name, data)) return false;
    context.set_tensor_address(name, data);
    bound.push_back(&name);
    return true;
  };
  try {
    for (const Bound& input : inputs) {
      if (!bind(*input.name, input.data))
        copies_in.push_back({context.input(*input.name).data, input.data, input.bytes});
    }
    for (const Bound& output : outputs) {
      if (!context.can_bind(*output.name) || !bind(*output.name, output.data))
        copies_out.push_back({output.data, context.output(*output.name).data, output.bytes});
    }
    nb::gil_scoped_release release;
    // After binding: whether a graph for these addresses is captured decides the stream.
    if (cuda_graph && !context.replays_graph()) entry.binding.capturing();
    cudaStream_t stream = work_stream(caller, context, cuda_graph);
    for (const Copy& copy : copies_in) {
      KILN_CUDA_CHECK(
          cudaMemcpyAsync(copy.to, copy.from, copy.bytes, cudaMemcpyDeviceToDevice, stream));
    }
    context.enqueue(stream);
    for (const Copy& copy : copies_out) {
      KILN_CUDA_CHECK(
          cudaMemcpyAsync(copy.to, copy.from, copy.bytes, cudaMemcpyDeviceToDevice, stream));
    }
    join(caller, stream);
  } catch (...) {
    unbind();
    throw;
  }
  unbind();
}
#endif

nb::dict Context::run_device(const Arrays& inputs, const std::optional<nb::dict>& outputs,
                             const std::map<std::string, Dims>& dims, uintptr_t stream_handle,
                             Framework framework) {
#ifdef KILN_HAS_CUDA
  int device = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  Gpu::Entry& entry = gpu_->entry(dims, cuda_graph_);
  cuda::ExecutionContext& context = *entry.context;
  std::vector<std::string> input_names = context.input_names(),
                           output_names = context.output_names();
  std::vector<Gpu::Bound> bound_inputs, bound_outputs;
  for (const std::string& name : input_names) {
    const InputArray& array = inputs.at(name);
    const cuda::DeviceTensor& planned = context.input(name);
    check_device_array(array, "input '" + name + "'", device, planned.dtype, nullptr);
    bound_inputs.push_back({&name, const_cast<void*>(array.data()), planned.nbytes()});
  }
  nb::dict named;
  for (const std::string& name : output_names) {
    const cuda::DeviceTensor& planned = context.output(name);
    void* data = nullptr;
    if (outputs && outputs->contains(name.c_str())) {
      nb::object given = (*outputs)[name.c_str()];
      OutputArray array = as_output_array(given, "output '" + name + "'");
      check_device_array(InputArray(array), "output '" + name + "'", device, planned.dtype,
                         &planned.dims);
      data = array.data();
      named[name.c_str()] = given;
    } else {
      nb::capsule owner = device_allocation(planned.nbytes(), &data);
      named[name.c_str()] =
          device_array(data, planned.dtype, planned.dims, device, owner, framework);
    }
    bound_outputs.push_back({&name, data, planned.nbytes()});
  }
  gpu_->launch(entry, bound_inputs, bound_outputs, reinterpret_cast<cudaStream_t>(stream_handle),
               cuda_graph_);
  return named;
#else
  (void)inputs, (void)outputs, (void)dims, (void)stream_handle, (void)framework;
  fail(ErrorKind::Unsupported, "this kiln module was built without CUDA");
#endif
}

bool Context::run_torch(const std::vector<std::string>& input_names, const nb::tuple& inputs,
                        const std::vector<std::string>& output_names, const nb::tuple& outputs,
                        uintptr_t stream_handle) {
#ifdef KILN_HAS_CUDA
  if (backend_ != driver::Backend::Cuda || inputs.size() != input_names.size() ||
      outputs.size() != output_names.size())
    return false;
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  check(lock.owns_lock(), ErrorKind::InvalidArgument,
        "this context is running on another thread: make one context per thread "
        "(engine.context())");
  int device = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  // Plain torch CUDA tensors only, read from their attributes; anything else goes the general
  // way (run), which converts, copies or explains.
  std::vector<InputArray> in_arrays;
  std::map<std::string, Dims> dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::optional<InputArray> array = torch_cuda_input(inputs[i]);
    if (!array || array->device_id() != device || !is_contiguous(*array)) return false;
    dims.emplace(input_names[i], dims_of(*array));
    in_arrays.push_back(std::move(*array));
  }
  std::vector<OutputArray> out_arrays;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::optional<OutputArray> array = torch_cuda_output(outputs[i]);
    if (!array || array->device_id() != device) return false;
    out_arrays.push_back(std::move(*array));
  }
  Gpu::Entry& entry = gpu_->entry(dims, cuda_graph_);  // a new set of dims is checked here
  cuda::ExecutionContext& context = *entry.context;
  std::vector<Gpu::Bound> bound_inputs, bound_outputs;
  for (size_t i = 0; i < in_arrays.size(); ++i) {
    const cuda::DeviceTensor& planned = context.input(input_names[i]);
    check_device_array(in_arrays[i], "input '" + input_names[i] + "'", device, planned.dtype,
                       nullptr);
    bound_inputs.push_back(
        {&input_names[i], const_cast<void*>(in_arrays[i].data()), planned.nbytes()});
  }
  for (size_t i = 0; i < out_arrays.size(); ++i) {
    const cuda::DeviceTensor& planned = context.output(output_names[i]);
    check_device_array(InputArray(out_arrays[i]), "output '" + output_names[i] + "'", device,
                       planned.dtype, &planned.dims);
    bound_outputs.push_back({&output_names[i], out_arrays[i].data(), planned.nbytes()});
  }
  gpu_->launch(entry, bound_inputs, bound_outputs, reinterpret_cast<cudaStream_t>(stream_handle),
               cuda_graph_);
  return true;
#else
  (void)input_names, (void)inputs, (void)output_names, (void)outputs, (void)stream_handle;
  return false;
#endif
}

std::pair<double, double> Context::time_enqueue(const std::map<std::string, Dims>& input_dims,
                                                int iterations, uintptr_t stream_handle) {
  check(iterations > 0, ErrorKind::InvalidArgument, "iterations must be positive");
#ifdef KILN_HAS_CUDA
  check(backend_ == driver::Backend::Cuda, ErrorKind::InvalidArgument,
        "time_enqueue is for contexts on the GPU");
  std::lock_guard<std::mutex> lock(mutex_);
  nb::gil_scoped_release release;
  cuda::ExecutionContext& context = gpu_->get(input_dims, cuda_graph_);
  auto caller = reinterpret_cast<cudaStream_t>(stream_handle);
  cudaStream_t stream = gpu_->warm_up(caller, context, cuda_graph_);
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now();
  double host_seconds = 0;
  for (int i = 0; i < iterations; ++i) {
    Clock::time_point call = Clock::now();
    context.enqueue(stream);
    host_seconds += std::chrono::duration<double>(Clock::now() - call).count();
  }
  gpu_->join(caller, stream);
  KILN_CUDA_CHECK(cudaStreamSynchronize(caller));
  double wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {host_seconds * 1e6 / iterations, wall_seconds * 1e6 / iterations};
#else
  (void)input_dims, (void)stream_handle;
  fail(ErrorKind::Unsupported, "this kiln module was built without CUDA");
#endif
}

std::vector<double> Context::time_device(const std::map<std::string, Dims>& input_dims,
                                         int iterations, uintptr_t stream_handle) {
  check(iterations > 0, ErrorKind::InvalidArgument, "iterations must be positive");
#ifdef KILN_HAS_CUDA
  check(backend_ == driver::Backend::Cuda, ErrorKind::InvalidArgument,
        "time_device is for contexts on the GPU");
  std::lock_guard<std::mutex> lock(mutex_);
  nb::gil_scoped_release release;
  cuda::ExecutionContext& context = gpu_->get(input_dims, cuda_graph_);
  auto caller = reinterpret_cast<cudaStream_t>(stream_handle);
  cudaStream_t stream = gpu_->warm_up(caller, context, cuda_graph_);
  cuda::Event start = cuda::create_timing_event(), stop = cuda::create_timing_event();
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    KILN_CUDA_CHECK(cudaEventRecord(start.get(), stream));
    context.enqueue(stream);
    KILN_CUDA_CHECK(cudaEventRecord(stop.get(), stream));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    times.push_back(ms);
  }
  gpu_->join(caller, stream);
  return times;
#else
  (void)input_dims, (void)stream_handle;
  fail(ErrorKind::Unsupported, "this kiln module was built without CUDA");
#endif
}

}  // namespace kiln::python
