// Generated kernels on the device: a cubin (from NVRTC or an engine file) loaded as a CUDA
// library, and the launch of a generated pointwise kernel over FusedArgs.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "backends/cuda/fusion/fused_args.h"

namespace kiln::cuda {

// A loaded cubin; unloaded when destroyed. Not copyable.
class LoadedCubin {
 public:
  explicit LoadedCubin(const std::string& cubin);
  ~LoadedCubin();
  LoadedCubin(const LoadedCubin&) = delete;
  LoadedCubin& operator=(const LoadedCubin&) = delete;
  // The kernel `name` of the cubin; throws Cuda naming it if absent.
  cudaKernel_t kernel(const std::string& name) const;

 private:
  cudaLibrary_t library_ = nullptr;
};

// The kernel pair of one generated source: `scalar` handles one element per lane, `vector`
// handles `vector_width` consecutive ones (16-byte loads and stores).
struct GeneratedEntry {
  cudaKernel_t scalar = nullptr;
  cudaKernel_t vector = nullptr;
  int vector_width = 1;
  int64_t row_length = 0;  // 0: one thread per element(s); else row_lanes lanes per row
};

// The lanes that share a row of `row_length` elements in a generated row kernel whose lanes
// read `per_lane` elements at a time: the power of two covering the row, at most a warp (the
// generator writes it into each row kernel as kLanes, fusion/row_codegen.cpp), a warp then
// holding 32 / lanes rows and a block 4 warps; or, where a warp's lanes would each hold more
// than kMaxRowChunks loads of the row in registers, the whole block of 128 lanes for one row.
inline constexpr int kMaxRowChunks = 8;
inline constexpr int kBlockRowLanes = 128;
constexpr int row_lanes(int64_t row_length, int per_lane) {
  const int64_t needed = (row_length + per_lane - 1) / per_lane;
  int lanes = 1;
  while (lanes < 32 && lanes < needed) lanes *= 2;
  return needed > int64_t(lanes) * kMaxRowChunks ? kBlockRowLanes : lanes;
}

// Launches `entry` over args.count elements on `stream`; the vector kernel where `vector`
// (the caller checked the packed operands' alignment) and vector_width divides the count.
void launch_generated(const GeneratedEntry& entry, const FusedArgs& args, bool vector,
                      cudaStream_t stream);

}  // namespace kiln::cuda
