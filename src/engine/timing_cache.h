// The timing cache: layer timings by signature (op, attributes, input dims and dtypes,
// precision, GPU architecture), and the generated kernels NVRTC compiled (cubins by kernel
// name, per architecture and compiler), kept in a JSON file so that rebuilding a model, or
// building another with the same layers, times and compiles nothing twice.
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

  // Compiled generated kernels (cubins) by kernel name, for one `toolchain` (the GPU
  // architecture and compiler version, kernel_toolchain in the driver): a kernel's name is a
  // hash of its source, so the same name under the same toolchain is the same cubin.
  std::map<std::string, std::string> kernels(const std::string& toolchain) const;
  void insert_kernels(const std::string& toolchain,
                      const std::map<std::string, std::string>& cubins);
  size_t kernel_count() const;

 private:
  std::map<std::string, std::optional<double>> entries_;
  std::map<std::string, std::map<std::string, std::string>> kernels_;  // by toolchain, name
};

// The cache key of `node` run in `precision` on `architecture`: everything that decides the
// kernel and its speed, nothing that does not (names, weight values).
std::string layer_signature(const ir::Node& node, Precision precision,
                            const std::string& architecture);

}  // namespace kiln::engine
