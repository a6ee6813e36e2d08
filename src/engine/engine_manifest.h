// The engine's manifest: a graph as JSON (values, constants, nodes, attributes) whose
// tensors point into the weight section by offset.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::engine {

constexpr uint64_t kWeightAlignment = 256;

// A tensor to be written at `offset` in the weight section.
struct WeightBlob {
  const Tensor* tensor;
  uint64_t offset;
};

struct Manifest {
  nlohmann::json json;
  std::vector<WeightBlob> weights;
  uint64_t weights_size = 0;  // the weight section's length, padding included
};

// Describes `graph`; its constants and tensor attributes become blobs of the weight section.
Manifest graph_to_manifest(const ir::Graph& graph);

// The weight section of a read file, kept alive by `keep_alive`.
struct WeightSection {
  std::shared_ptr<const void> keep_alive;
  const uint8_t* bytes = nullptr;
  uint64_t size = 0;
};

// Rebuilds the graph; tensors are mapped from `weights`. Throws InvalidModel naming `file`
// for an inconsistent manifest (bad offsets, names, dtypes).
ir::Graph manifest_to_graph(const nlohmann::json& manifest, const WeightSection& weights,
                            const std::string& file);

}  // namespace kiln::engine
