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
constexpr uint32_t kEngineFormatVersion = 1;

// How the engine was built: the enabled precisions and per-layer constraints.
struct BuildConfig {
  std::set<Precision> enabled_precisions{Precision::FP32};
  bool strongly_typed = false;
  // Keyed by node name or by op kind ("MatMul"); a name wins over an op kind.
  std::map<std::string, Precision> layer_precisions;
};

// What the file says about where it came from.
struct EngineHeader {
  uint32_t format_version = kEngineFormatVersion;
  std::string kiln_version;
  int cuda_version = 0;                  // 0 for an engine built without CUDA
  std::string gpu_architecture = "none";  // "sm_90"; "none" for an engine built without CUDA
};

struct LoadedEngine {
  ir::Graph graph;
  BuildConfig config;
  EngineHeader header;
};

// The Kiln version compiled into this library (PROJECT_VERSION).
std::string kiln_version();

// Writes `graph` (optimized, precisions assigned) and `config`. Throws InvalidArgument if
// the file cannot be written.
void write_engine(const std::filesystem::path& path, const ir::Graph& graph,
                  const BuildConfig& config);
// Reads an engine; weights stay in the mapped file. Throws InvalidModel naming the file for
// a wrong magic, another format version, or a truncated or corrupt file; the result is
// verified.
LoadedEngine read_engine(const std::filesystem::path& path);
// True if the file is named *.kiln or starts with the engine magic (cheap; reads 8 bytes),
// so that a damaged .kiln file gets the engine reader's error.
bool is_engine_file(const std::filesystem::path& path);

}  // namespace kiln::engine
