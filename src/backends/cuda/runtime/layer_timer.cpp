// GpuLayerTimer: one layer, rebuilt alone in a small graph with its float tensors retyped
// to the precision's storage dtype, launched through the same kernel table as the runtime.
#include "backends/cuda/runtime/layer_timer.h"

#include <algorithm>
#include <vector>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/runtime/gpu_engine.h"
#include "ir/op_schema.h"

namespace kiln::cuda {
namespace {

constexpr int kWarmupRuns = 2;
constexpr int kLaunchesPerReplay = 10;
constexpr int kTimedReplays = 7;

// The layer alone: float inputs become graph inputs of the storage dtype; other constants
// (indices, masks) keep their values, since they can decide what the kernel does.
ir::Graph isolate(const ir::Node& node, Precision precision) {
  ir::Graph graph;
  DType storage = precision_storage_dtype(precision);
  std::vector<ir::Value*> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* input = node.inputs[i];
    if (input == nullptr) {
      inputs.push_back(nullptr);
    } else if (!is_float_storage(input->dtype) && input->is_constant()) {
      inputs.push_back(graph.add_constant("in" + std::to_string(i), *input->constant));
    } else {
      DType dtype = is_float_storage(input->dtype) ? storage : input->dtype;
      inputs.push_back(graph.add_input("in" + std::to_string(i), dtype, input->shape));
    }
  }
  std::vector<std::string> outputs;
  for (size_t i = 0; i < node.outputs.size(); ++i) outputs.push_back("out" + std::to_string(i));
  ir::Node* copy = graph.add_node(node.op, node.name, inputs, outputs);
  copy->attrs = node.attrs;
  copy->precision = precision;
  ir::infer_graph(graph);
  for (ir::Value* output : copy->outputs) graph.add_output(output);
  return graph;
}

Stream timing_stream() {
  check(cuda_device_available(), ErrorKind::Cuda, "no CUDA device is available to time layers on");
  return create_stream();
}

}  // namespace

GpuLayerTimer::GpuLayerTimer(size_t workspace_bytes)
    : stream_(timing_stream()), resources_(workspace_bytes, stream_.get()) {
  compute_capability_ = resources_.context().compute_capability;  // the device it launches on
  int runtime = 0;
  KILN_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  gpu_.cuda_version = runtime;
  gpu_.gpu_architecture = architecture_name(compute_capability_);
  gpu_.gpu_name = device_name();
}

std::optional<double> GpuLayerTimer::time_layer(const ir::Node& node, Precision precision) {
  CudaKernel kernel = find_cuda_kernel(node.op);
  if (kernel == nullptr) return std::nullopt;
  ir::Graph graph = isolate(node, precision);
  const ir::Node& alone = *graph.nodes().front();
  std::vector<DeviceBuffer> buffers;
  std::vector<DeviceTensor> ins;
  std::vector<DeviceTensor> outs;
  auto allocate = [&](const ir::Value* value) {
    DeviceTensor tensor{value->dtype, value->shape.static_dims(), nullptr};
    buffers.emplace_back(tensor.nbytes());
    tensor.data = buffers.back().data();
    if (value->is_constant()) {
      upload_blocking(tensor.data, value->constant->raw(), tensor.nbytes());
    } else if (tensor.nbytes() > 0) {
      // 0x3F bytes are finite, ordinary values in every float dtype (about 0.75 to 1.8); a
      // bool input is all true (an attention mask that keeps every key, the common case);
      // other integers are 0 (valid indices).
      int fill = is_float_storage(tensor.dtype) ? 0x3F : tensor.dtype == DType::Bool ? 1 : 0;
      KILN_CUDA_CHECK(cudaMemsetAsync(tensor.data, fill, tensor.nbytes(), stream_.get()));
    }
    return tensor;
  };
  for (const ir::Value* input : alone.inputs)
    ins.push_back(input == nullptr ? DeviceTensor{} : allocate(input));
  for (const ir::Value* output : alone.outputs) outs.push_back(allocate(output));
  try {
    kernel(resources_.context(), alone, ins,
           outs);  // chooses and caches the algorithm, like the runtime
  } catch (const Error& error) {
    if (error.kind() != ErrorKind::Unsupported) throw;
    return std::nullopt;  // this precision is not available for this layer
  }
  for (int i = 0; i < kWarmupRuns; ++i) kernel(resources_.context(), alone, ins, outs);
  // Timed as the runtime replays it: launches captured in a CUDA graph, so that the host's
  // launch overhead (large next to a small layer's GPU time) is not what gets compared.
  GraphExec replay = capture_graph(stream_.get(), [&] {
    for (int i = 0; i < kLaunchesPerReplay; ++i) kernel(resources_.context(), alone, ins, outs);
  });
  KILN_CUDA_CHECK(cudaGraphLaunch(replay.get(), stream_.get()));  // warm-up
  std::vector<Event> marks;
  for (int i = 0; i <= kTimedReplays; ++i) marks.push_back(create_timing_event());
  KILN_CUDA_CHECK(cudaEventRecord(marks[0].get(), stream_.get()));
  for (int i = 0; i < kTimedReplays; ++i) {
    KILN_CUDA_CHECK(cudaGraphLaunch(replay.get(), stream_.get()));
    KILN_CUDA_CHECK(cudaEventRecord(marks[size_t(i) + 1].get(), stream_.get()));
  }
  KILN_CUDA_CHECK(cudaEventSynchronize(marks.back().get()));
  std::vector<float> times;
  for (int i = 0; i < kTimedReplays; ++i) {
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[size_t(i)].get(), marks[size_t(i) + 1].get()));
    times.push_back(ms / kLaunchesPerReplay);
  }
  std::nth_element(times.begin(), times.begin() + kTimedReplays / 2, times.end());
  return double(times[kTimedReplays / 2]);
}

std::vector<std::string> GpuLayerTimer::tactics(const ir::Node& node, Precision precision) {
  if (find_cuda_kernel(node.op) == nullptr) return {};
  ir::Graph graph = isolate(node, precision);
  const ir::Node& alone = *graph.nodes().front();
  std::vector<DeviceTensor> shapes;  // dims and dtypes only: nothing runs
  for (const ir::Value* input : alone.inputs) {
    shapes.push_back(input == nullptr ? DeviceTensor{}
                                      : DeviceTensor{input->dtype, input->shape.static_dims()});
  }
  try {
    return cuda_tactics(resources_.context(), alone, shapes);
  } catch (const Error& error) {
    if (error.kind() != ErrorKind::Unsupported) throw;
    return {};  // the layer runs one way or not at all in this precision
  }
}

double GpuLayerTimer::measured_bytes_per_ms() {
  if (bytes_per_ms_ > 0) return bytes_per_ms_;
  constexpr int64_t kElements = int64_t(16) << 20;
  DeviceBuffer from(size_t(kElements) * 4);
  DeviceBuffer to(size_t(kElements) * 2);
  DeviceTensor in{DType::Float32, {kElements}, from.data()};
  DeviceTensor out{DType::BFloat16, {kElements}, to.data()};
  KILN_CUDA_CHECK(cudaMemsetAsync(from.data(), 0, from.size(), stream_.get()));
  cast_tensor(resources_.context(), in, out);  // warm-up
  Event start = create_timing_event();
  Event stop = create_timing_event();
  constexpr int kRuns = 10;
  KILN_CUDA_CHECK(cudaEventRecord(start.get(), stream_.get()));
  for (int i = 0; i < kRuns; ++i) cast_tensor(resources_.context(), in, out);
  KILN_CUDA_CHECK(cudaEventRecord(stop.get(), stream_.get()));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  bytes_per_ms_ = double(kElements) * 6.0 * kRuns / std::max(ms, 1e-3f);
  return bytes_per_ms_;
}

double GpuLayerTimer::cast_ms(int64_t elements, DType from, DType to) {
  constexpr double kLaunchMs = 0.003;  // a kernel launch's fixed cost
  double bytes = double(elements) * double(dtype_size(from) + dtype_size(to));
  return kLaunchMs + bytes / measured_bytes_per_ms();
}

}  // namespace kiln::cuda
