// RAII owners of CUDA resources and device queries.
#include "backends/cuda/runtime/cuda_resources.h"

#include <utility>

#include "backends/cuda/kernels/cuda_check.h"

namespace kiln::cuda {

bool cuda_device_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return count > 0;
}

int compute_capability() {
  int device = 0;
  int major = 0;
  int minor = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return major * 10 + minor;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : size_(bytes) {
  if (bytes > 0) KILN_CUDA_CHECK(cudaMalloc(&data_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void destroy_stream(cudaStream_t stream) { cudaStreamDestroy(stream); }
void destroy_event(cudaEvent_t event) { cudaEventDestroy(event); }
void destroy_cublaslt(cublasLtHandle_t handle) { cublasLtDestroy(handle); }
void destroy_cudnn(cudnnHandle_t handle) { cudnnDestroy(handle); }
void destroy_graph_exec(cudaGraphExec_t exec) { cudaGraphExecDestroy(exec); }

void upload_blocking(void* device, const void* host, size_t bytes) {
  if (bytes == 0) return;
  KILN_CUDA_CHECK(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice));
  KILN_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
}

Stream create_stream() {
  cudaStream_t stream = nullptr;
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return Stream(stream);
}

Event create_event() {
  cudaEvent_t event = nullptr;
  KILN_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  return Event(event);
}

Event create_timing_event() {
  cudaEvent_t event = nullptr;
  KILN_CUDA_CHECK(cudaEventCreate(&event));
  return Event(event);
}

bool stream_is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  KILN_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  return status != cudaStreamCaptureStatusNone;
}

GraphExec capture_graph(cudaStream_t stream, const std::function<void()>& launches) {
  cudaGraph_t captured = nullptr;
  KILN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    launches();
  } catch (...) {
    (void)cudaStreamEndCapture(stream, &captured);
    if (captured != nullptr) cudaGraphDestroy(captured);
    (void)cudaGetLastError();
    throw;
  }
  KILN_CUDA_CHECK(cudaStreamEndCapture(stream, &captured));
  cudaGraphExec_t exec = nullptr;
  cudaError_t instantiated = cudaGraphInstantiate(&exec, captured, 0);
  cudaGraphDestroy(captured);
  KILN_CUDA_CHECK(instantiated);
  return GraphExec(exec);
}

CublasLtHandle create_cublaslt() {
  cublasLtHandle_t handle = nullptr;
  KILN_CUDA_CHECK(cublasLtCreate(&handle));
  return CublasLtHandle(handle);
}

CudnnHandle create_cudnn(cudaStream_t stream) {
  cudnnHandle_t handle = nullptr;
  KILN_CUDA_CHECK(cudnnCreate(&handle));
  CudnnHandle owner(handle);
  KILN_CUDA_CHECK(cudnnSetStream(handle, stream));
  return owner;
}

}  // namespace kiln::cuda
