// KernelRunner: the launch context shared by the test process, and each runner's buffers.
#include "kernel_runner.h"

#include <algorithm>
#include <cstddef>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "backends/cuda/runtime/launch_resources.h"

namespace kiln::cuda_test {
namespace {

// 256 bytes keep the tensor where cudaMalloc and the executor's arena put one: 256-byte aligned.
constexpr size_t kGuardBytes = 256;

// Made on first use and kept to the end of the process: handles are slow to create, and the
// plan caches then hold what one test timed for the next, as an engine's would.
struct SharedLaunch {
  cuda::Stream stream = cuda::create_stream();
  cuda::LaunchResources resources{cuda::CudaExecutorOptions{}.workspace_bytes, stream.get()};
};

cuda::LaunchContext shared_context() {
  static SharedLaunch shared;
  return shared.resources.context();
}

bool all_poison(const std::vector<unsigned char>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0xFF; });
}

}  // namespace

KernelRunner::KernelRunner() : context_(shared_context()) {}

KernelRunner::~KernelRunner() {
  (void)cudaStreamSynchronize(context_.stream);  // a kernel may still use a buffer freed below
}

cuda::DeviceTensor KernelRunner::allocate(DType dtype, const Dims& dims, size_t offset,
                                          size_t bytes) {
  cuda::DeviceTensor device{dtype, dims, nullptr};
  buffers_.emplace_back(std::max<size_t>(bytes, 1));
  device.data = static_cast<std::byte*>(buffers_.back().data()) + offset;
  return device;
}

cuda::DeviceTensor KernelRunner::upload(const Tensor& tensor, int64_t shift) {
  size_t offset = size_t(shift) * dtype_size(tensor.dtype());
  cuda::DeviceTensor device =
      allocate(tensor.dtype(), tensor.dims(), offset, offset + tensor.nbytes());
  if (tensor.nbytes() > 0) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(device.data, tensor.raw(), tensor.nbytes(),
                                    cudaMemcpyHostToDevice, context_.stream));
    KILN_CUDA_CHECK(cudaStreamSynchronize(context_.stream));  // `tensor` may go away now
  }
  return device;
}

cuda::DeviceTensor KernelRunner::poisoned(DType dtype, const Dims& dims, int64_t shift) {
  size_t before = kGuardBytes + size_t(shift) * dtype_size(dtype);
  size_t tensor_bytes = size_t(element_count(dims)) * dtype_size(dtype);
  cuda::DeviceTensor device = allocate(dtype, dims, before, before + tensor_bytes + kGuardBytes);
  const cuda::DeviceBuffer& buffer = buffers_.back();
  KILN_CUDA_CHECK(cudaMemsetAsync(buffer.data(), 0xFF, buffer.size(), context_.stream));
  guarded_.push_back(
      {static_cast<const std::byte*>(buffer.data()), before, tensor_bytes, kGuardBytes});
  return device;
}

void KernelRunner::launch(const ir::Node& node, std::span<const cuda::DeviceTensor> inputs,
                          std::span<cuda::DeviceTensor> outputs) {
  cuda::CudaKernel kernel = cuda::find_cuda_kernel(node.op);
  check(kernel != nullptr, ErrorKind::Unsupported, node.describe(), ": no CUDA kernel");
  kernel(context_, node, inputs, outputs);
}

Tensor KernelRunner::download(const cuda::DeviceTensor& device) {
  Tensor host(device.dtype, device.dims);
  if (host.nbytes() > 0) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(host.raw_mutable(), device.data, host.nbytes(),
                                    cudaMemcpyDeviceToHost, context_.stream));
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(context_.stream));  // also reports a failed kernel
  return host;
}

std::string KernelRunner::overwritten_guards() {
  for (size_t i = 0; i < guarded_.size(); ++i) {
    const Guarded& guarded = guarded_[i];
    std::vector<unsigned char> before(guarded.before), after(guarded.after);
    KILN_CUDA_CHECK(cudaMemcpyAsync(before.data(), guarded.buffer, guarded.before,
                                    cudaMemcpyDeviceToHost, context_.stream));
    KILN_CUDA_CHECK(cudaMemcpyAsync(after.data(), guarded.buffer + guarded.before + guarded.tensor,
                                    guarded.after, cudaMemcpyDeviceToHost, context_.stream));
    KILN_CUDA_CHECK(cudaStreamSynchronize(context_.stream));
    std::string which = "poisoned tensor " + std::to_string(i);
    if (!all_poison(before)) return which + " was written before its first byte";
    if (!all_poison(after)) return which + " was written past its last byte";
  }
  return "";
}

}  // namespace kiln::cuda_test
