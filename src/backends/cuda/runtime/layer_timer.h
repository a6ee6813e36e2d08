// The builder's stopwatch on the GPU: runs one layer in isolation, in a given precision,
// on scratch buffers of its static shapes, and reports the median of timed runs (CUDA
// events), after letting cuBLASLt / cuDNN choose their algorithm as the runtime will.
#pragma once

#include <map>

#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/launch_resources.h"
#include "engine/build_engine.h"

namespace kiln::cuda {

class GpuLayerTimer : public engine::LayerTimer {
 public:
  explicit GpuLayerTimer(size_t workspace_bytes);
  std::optional<double> time_layer(const ir::Node& node, Precision precision) override;
  std::vector<std::string> tactics(const ir::Node& node, Precision precision) override;
  double cast_ms(int64_t elements, DType from, DType to) override;
  engine::EngineHeader gpu() const override { return gpu_; }
  int compute_capability() const override { return compute_capability_; }

 private:
  double measured_bytes_per_ms();

  engine::EngineHeader gpu_;
  int compute_capability_ = 0;
  Stream stream_;
  LaunchResources resources_;  // launches on stream_
  double bytes_per_ms_ = 0;    // measured copy bandwidth, on first use
};

}  // namespace kiln::cuda
