// RAII owners of CUDA resources (device buffers, streams, events, cuBLASLt and cuDNN
// handles) and device queries. Nothing here is global: whoever needs one owns one.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>
#include <functional>

namespace kiln::cuda {

// True when the CUDA runtime finds at least one device (false, not an error, without one).
bool cuda_device_available();
// Compute capability of the current device as major * 10 + minor (e.g. 90 for an H100).
int compute_capability();

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Owns a handle; Destroy is the library's destroy function, called when non-null.
template <typename Handle, auto Destroy>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle handle) : handle_(handle) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  Handle get() const { return handle_; }
  void reset() {
    if (handle_ != nullptr) Destroy(handle_);  // errors on teardown cannot be thrown
    handle_ = nullptr;
  }

 private:
  Handle handle_ = nullptr;
};

void destroy_stream(cudaStream_t stream);
void destroy_event(cudaEvent_t event);
void destroy_cublaslt(cublasLtHandle_t handle);
void destroy_cudnn(cudnnHandle_t handle);
void destroy_graph_exec(cudaGraphExec_t exec);

using Stream = UniqueHandle<cudaStream_t, destroy_stream>;
using Event = UniqueHandle<cudaEvent_t, destroy_event>;
using CublasLtHandle = UniqueHandle<cublasLtHandle_t, destroy_cublaslt>;
using CudnnHandle = UniqueHandle<cudnnHandle_t, destroy_cudnn>;
using GraphExec = UniqueHandle<cudaGraphExec_t, destroy_graph_exec>;

// Copies host bytes to the device and returns once they have landed. (A plain cudaMemcpy
// from pageable memory may return before its DMA completes, and Kiln's streams do not wait
// for the legacy default stream.)
void upload_blocking(void* device, const void* host, size_t bytes);

Stream create_stream();       // non-blocking with respect to the legacy default stream
Event create_event();         // for ordering only
Event create_timing_event();  // for cudaEventElapsedTime
// Whether `stream` is capturing a CUDA graph now: algorithm timing (which synchronizes) waits
// for an uncaptured launch.
bool stream_is_capturing(cudaStream_t stream);
// Captures what `launches` enqueues on `stream` (thread-local capture mode) as an
// instantiated CUDA graph. Throws what `launches` throws, leaving the stream usable.
GraphExec capture_graph(cudaStream_t stream, const std::function<void()>& launches);
CublasLtHandle create_cublaslt();
CudnnHandle create_cudnn(cudaStream_t stream);

}  // namespace kiln::cuda
