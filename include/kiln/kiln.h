// Kiln's public C++ API: load a model file into an optimized graph, and run it on the CPU
// reference backend in a chosen set of precisions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/precision.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln {

namespace cpu {
class Executor;
}

struct LoadOptions {
  bool optimize = true;  // run passes::optimize after import (fold, simplify, DCE, verify)
  // Import ops Kiln cannot run as placeholder nodes (op "onnx.<OpType>") and list them in
  // LoadedModel::unsupported instead of failing; such a graph is not optimized and cannot
  // run. For `kiln inspect`.
  bool keep_unsupported = false;
};

// An op type Kiln does not support yet, with the nodes that use it.
struct UnsupportedOp {
  std::string op_type;
  std::vector<std::string> node_names;
  std::vector<std::string> reasons;  // specific causes, where the op is known but not its form
};

struct LoadedModel {
  ir::Graph graph;
  std::string format;    // the frontend's description, e.g. "ONNX (torch.onnx.export)"
  std::string producer;  // "pytorch 2.11.0", where the file says
  int64_t opset = 0;     // ONNX default-domain opset; 0 for other formats
  bool optimized = false;
  std::vector<UnsupportedOp> unsupported;  // only with keep_unsupported
};

// Reads a model, choosing the frontend by file extension (.onnx, .pt2, .pt),
// then optimizes it unless options say otherwise or unsupported ops were kept. Throws
// Unsupported for an unknown or not yet supported format.
LoadedModel open_model(const std::filesystem::path& path, const LoadOptions& options = {});
// open_model(...).graph: the graph, ready for a CpuSession.
ir::Graph load_model(const std::filesystem::path& path, const LoadOptions& options = {});

// The model file extensions Kiln knows, with whether their frontend is available yet.
struct ModelFormat {
  std::string extension;  // ".onnx"
  std::string description;
  bool available;
};
std::vector<ModelFormat> model_formats();

// Runs a graph on the CPU reference backend. The session owns its graph: it assigns each
// layer a precision from `enabled` once, at construction, and emulates that precision's
// rounding on every run. With `keep_precisions` (for engines, whose layers already carry
// their chosen precisions) it assigns none and runs the graph's own.
class CpuSession {
 public:
  CpuSession(ir::Graph graph, std::set<Precision> enabled, bool strongly_typed,
             bool keep_precisions = false);
  ~CpuSession();
  CpuSession(CpuSession&&) noexcept;
  CpuSession& operator=(CpuSession&&) noexcept;

  // Inputs by graph input name; returns every graph output by name.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs) const;
  const ir::Graph& graph() const { return *graph_; }
  const std::set<Precision>& enabled_precisions() const { return enabled_; }

 private:
  std::unique_ptr<ir::Graph> graph_;  // on the heap: the executor keeps a reference to it
  std::unique_ptr<cpu::Executor> executor_;
  std::set<Precision> enabled_;
};

// Sizes for symbolic dims, by symbol name ("batch" → 4).
using DimSizes = std::map<std::string, int64_t>;

// Deterministic random inputs for every graph input. Symbolic or unknown dims are 1 unless
// `dim_sizes` names them. Floats ~ N(0, 1); bools are fair coins; integers lie in [0, n)
// where n is the size of the axis they index when the graph shows it (Gather indices),
// else [0, 2). The same seed gives the same tensors on every platform.
std::map<std::string, Tensor> make_random_inputs(const ir::Graph& graph, uint64_t seed,
                                                 const DimSizes& dim_sizes = {});
// The same for one graph input (make_random_inputs calls this for each).
Tensor make_random_input(const ir::Graph& graph, const ir::Value& input, uint64_t seed,
                         const DimSizes& dim_sizes = {});

// The concrete dims an input gets: static dims as they are, symbolic ones from `dim_sizes`
// or 1. Throws InvalidArgument if the input's rank is unknown.
Dims concrete_input_dims(const ir::Value& input, const DimSizes& dim_sizes);

}  // namespace kiln
