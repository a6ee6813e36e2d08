// The versioned engine file: an optimized graph with its chosen precisions and weights,
// written once by `kiln build` and mapped (not copied) when read back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "core/precision.h"
#include "ir/graph.h"

namespace kiln::engine {

// The engine format this build writes and the only one it reads.
constexpr uint32_t kEngineFormatVersion = 3;  // 3: generated row kernels share warps

// How the engine was built: the enabled precisions and per-layer constraints.
struct BuildConfig {
  std::set<Precision> enabled_precisions{Precision::FP32};
  bool strongly_typed = false;
  // Keyed by node name or by op kind ("MatMul"); a name wins over an op kind.
  std::map<std::string, Precision> layer_precisions;
  // Scratch memory each execution context may give cuBLASLt / cuDNN / attention.
  size_t workspace_bytes = size_t(64) << 20;
  // 2-D convolutions and the work between them channels-last (NHWC; cuDNN graphs with fused
  // epilogues on the GPU, depthwise ones through Kiln's own kernel), else as the model has them
  // (NCHW; cuDNN's legacy API, the fallback). NHWC measured faster on every benchmark network
  // (H100: ResNet-50 batch 32 1.62 against 4.20 ms, ConvNeXt-Tiny 3.30 against 5.17,
  // EfficientNet-B0 2.02 against 4.80; bench/results/2026-12-06-h100-conv).
  bool channels_last = true;
  // The input dims the layers were timed at (symbolic dims fixed); empty for a build
  // without a GPU, whose precisions come from the documented heuristic.
  std::map<std::string, Dims> tuned_input_dims;
};

// What the builder measured: per layer (node name), the median time of each candidate
// precision it timed, in milliseconds. Empty for a build without a GPU.
using LayerTimings = std::map<std::string, std::map<Precision, double>>;

// What the file says about where it came from.
struct EngineHeader {
  uint32_t format_version = kEngineFormatVersion;
  std::string kiln_version;
  int cuda_version = 0;                   // 0 for an engine built without CUDA
  std::string gpu_architecture = "none";  // "sm_90"; "none" for an engine built without CUDA
  std::string gpu_name;                   // "NVIDIA H100 80GB HBM3"; empty without CUDA
};

struct LoadedEngine {
  ir::Graph graph;  // constants in their declared dtypes (what the CPU backend reads)
  BuildConfig config;
  EngineHeader header;
  LayerTimings layer_timings;
  // Weights the build stored already converted to the storage dtype of the precision every
  // layer reading them runs in (bf16 / fp16), mapped from the file, by value name. The GPU
  // runtime uploads these bytes as they are; `graph` holds the same values widened back,
  // converted only when first read (Tensor::converted_on_first_read), so that a reader that
  // uses only these (the GPU runtime) never holds the wide copy in host memory.
  std::map<std::string, Tensor> prepared_weights;
  // Generated kernels the build compiled for its GPU architecture (cubins), by kernel name;
  // empty for an engine built without a GPU (a GPU runtime compiles them when loading).
  std::map<std::string, std::string> kernels;
  // The cuBLASLt and cuDNN algorithms the build chose by timing, as JSON text written and read
  // by the GPU runtime (backends/cuda/runtime/tuned_algorithms.h); "" for none (an engine built
  // without a GPU, or before they were stored).
  std::string tuned_algorithms;
};

// The Kiln version compiled into this library (PROJECT_VERSION).
std::string kiln_version();

// Writes `graph` (optimized, precisions assigned) and `config`. Throws InvalidArgument if
// the file cannot be written.
// `header` gives the CUDA version, GPU architecture and name of the build (kiln_version and
// format_version are filled in). Float weights read only by layers whose precision stores
// them narrower (bf16, fp16) are written converted, once, as prepared_weights. `kernels` are
// compiled generated kernels (LoadedEngine::kernels), stored after the weights;
// `tuned_algorithms` JSON text (LoadedEngine::tuned_algorithms) stored in the header.
void write_engine(const std::filesystem::path& path, const ir::Graph& graph,
                  const BuildConfig& config, const EngineHeader& header = {},
                  const LayerTimings& layer_timings = {},
                  const std::map<std::string, std::string>& kernels = {},
                  const std::string& tuned_algorithms = "");
// Reads an engine; weights stay in the mapped file. Throws InvalidModel naming the file for
// a wrong magic, another format version, or a truncated or corrupt file; the result is
// verified. An engine built for any GPU architecture is read (the CPU backend can run it);
// the GPU runtime calls check_engine_architecture before running it.
LoadedEngine read_engine(const std::filesystem::path& path);
// Throws Unsupported naming `file`, the engine's architecture and CUDA version and this
// GPU's, and what to do (rebuild on this GPU), unless the engine was built without a GPU
// ("none") or for `gpu_architecture` (e.g. "sm_90").
void check_engine_architecture(const EngineHeader& header, const std::string& file,
                               const std::string& gpu_architecture, const std::string& gpu_name);
// True if the file is named *.kiln or starts with the engine magic (cheap; reads 8 bytes),
// so that a damaged .kiln file gets the engine reader's error.
bool is_engine_file(const std::filesystem::path& path);

}  // namespace kiln::engine
