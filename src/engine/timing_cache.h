// The timing cache: layer timings by signature (op, attributes, input dims and dtypes,
// precision, GPU architecture), kept in a JSON file so that rebuilding a model, or building
// another with the same layers, times nothing twice.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/precision.h"
#include "ir/graph.h"

namespace kiln::engine {

class TimingCache {
 public:
  TimingCache() = default;
  // Reads `path` if it exists (a missing file is an empty cache). Throws InvalidArgument
  // naming the file if it is not a timing cache.
  static TimingCache load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;

  // nullopt: not timed yet. A layer the GPU could not run is cached as "unavailable".
  std::optional<std::optional<double>> find(const std::string& key) const;
  void insert(const std::string& key, std::optional<double> ms) { entries_[key] = ms; }
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, std::optional<double>> entries_;
};

// The cache key of `node` run in `precision` on `architecture`: everything that decides the
// kernel and its speed, nothing that does not (names, weight values).
std::string layer_signature(const ir::Node& node, Precision precision,
                            const std::string& architecture);

}  // namespace kiln::engine
