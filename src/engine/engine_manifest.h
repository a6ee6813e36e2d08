// The engine's manifest: a graph as JSON (values, constants, nodes, attributes) whose
// tensors point into the weight section by offset.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::engine {

constexpr uint64_t kWeightAlignment = 256;

// A tensor to be written at `offset` in the weight section (shares the bytes it names, or
// owns a converted copy).
struct WeightBlob {
  Tensor tensor;
  uint64_t offset;
};

struct Manifest {
  nlohmann::json json;
  std::vector<WeightBlob> weights;
  uint64_t weights_size = 0;  // the weight section's length, padding included
};

// Describes `graph`; its constants and tensor attributes become blobs of the weight section.
// A float constant read only by layers whose precision stores a narrower dtype S (all bf16,
// say) becomes one blob converted to S, marked "stored_dtype": the prepared weight.
Manifest graph_to_manifest(const ir::Graph& graph);

// The weight section of a read file, kept alive by `keep_alive`.
struct WeightSection {
  std::shared_ptr<const void> keep_alive;
  const uint8_t* bytes = nullptr;
  uint64_t size = 0;
};

struct ManifestGraph {
  ir::Graph graph;  // prepared weights widened back to their declared dtypes on first read
  std::map<std::string, Tensor> prepared_weights;  // by value name, mapped, in the stored dtype
};

// Rebuilds the graph; tensors are mapped from `weights`. Throws InvalidModel naming `file`
// for an inconsistent manifest (bad offsets, names, dtypes).
ManifestGraph manifest_to_graph(const nlohmann::json& manifest, const WeightSection& weights,
                                const std::string& file);

}  // namespace kiln::engine
