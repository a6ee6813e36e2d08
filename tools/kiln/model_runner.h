// Loads a model or engine for `kiln run` and `kiln bench` and runs it on the chosen backend:
// the CPU reference (CpuSession) or, in builds with CUDA, the GPU (cuda::CudaExecutor).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cli {

enum class Backend { Cpu, Cuda };
const char* backend_name(Backend backend);

// "cpu" or "cuda"; "" picks cuda when this build has CUDA and a device is present, else cpu.
// Throws Unsupported (exit status 1) for "cuda" without CUDA support or without a device.
Backend resolve_backend(const std::string& requested);

class ModelRunner {
 public:
  // A model runs in `precisions`; an engine (.kiln) in the precisions it was built with.
  ModelRunner(const std::string& path, std::set<Precision> precisions, bool strongly_typed,
              Backend backend);
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  // Builds what the backend needs for inputs of these dims (the CUDA executor: weights
  // uploaded, arena planned), so that timed runs do not include it. run() calls it itself.
  void prepare(const std::map<std::string, Tensor>& inputs);
  // Runs once; returns every graph output by name. On CUDA the first run fixes the input
  // dims (the executor is built for them); later runs must give the same dims.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  const ir::Graph& graph() const;
  Backend backend() const { return backend_; }
  const std::set<Precision>& precisions() const { return precisions_; }
  bool strongly_typed() const { return strongly_typed_; }
  // Nodes the CUDA executor ran on the host after the last run (empty on the CPU).
  std::vector<std::string> host_nodes() const;

 private:
  struct Engines;  // the CpuSession or the CUDA graph and executor
  Backend backend_;
  std::set<Precision> precisions_;
  bool strongly_typed_;
  std::unique_ptr<Engines> engines_;
};

}  // namespace kiln::cli
