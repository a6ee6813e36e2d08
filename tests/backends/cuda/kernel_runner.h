// The CUDA tests' one way to run a kernel from the table on test tensors: device copies,
// outputs poisoned with 0xFF bytes (NaN for floats, -1 for integers) and fenced by guard
// bytes, the launch, and the download. Buffers live as long as the runner.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cuda_test {

class KernelRunner {
 public:
  // Launches with a copy of one launch context shared by the whole test process (its stream,
  // cuBLASLt and cuDNN handles, the executor's default workspace and the plan caches), so
  // that library handles are made once; context() may be changed for this runner alone.
  KernelRunner();
  ~KernelRunner();  // waits for the stream, then frees every buffer
  KernelRunner(const KernelRunner&) = delete;
  KernelRunner& operator=(const KernelRunner&) = delete;

  // A device copy of `tensor`, starting `shift` elements into its buffer (1: aligned to no
  // pack, for the kernels' misaligned fallbacks). Returns once the bytes have landed.
  cuda::DeviceTensor upload(const Tensor& tensor, int64_t shift = 0);
  // A tensor filled with 0xFF bytes, so that an element the kernel leaves unwritten is caught,
  // with 0xFF guard bytes on either side, so that a write out of bounds is caught too
  // (overwritten_guards()). Queued on the stream: launches after it see the poison.
  cuda::DeviceTensor poisoned(DType dtype, const Dims& dims, int64_t shift = 0);
  // Queues the node's kernel from the table; Unsupported naming the node if it has none.
  void launch(const ir::Node& node, std::span<const cuda::DeviceTensor> inputs,
              std::span<cuda::DeviceTensor> outputs);
  // Waits for the stream, then copies `device` back.
  Tensor download(const cuda::DeviceTensor& device);
  // "" if every poisoned tensor's guard bytes are intact, else which tensor was written past.
  std::string overwritten_guards();

  cuda::LaunchContext& context() { return context_; }
  cudaStream_t stream() const { return context_.stream; }

 private:
  struct Guarded {
    const std::byte* buffer;
    size_t before;  // guard bytes before the tensor (the guard plus any shift)
    size_t tensor;  // the tensor's bytes
    size_t after;   // guard bytes after it
  };
  cuda::DeviceTensor allocate(DType dtype, const Dims& dims, size_t offset, size_t bytes);

  cuda::LaunchContext context_;
  std::vector<cuda::DeviceBuffer> buffers_;
  std::vector<Guarded> guarded_;
};

}  // namespace kiln::cuda_test
