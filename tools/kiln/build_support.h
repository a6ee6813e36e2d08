// What `kiln build`, `kiln sweep` and `kiln debug-precision` share: the GPU layer timer the
// builder measures with, build progress on stderr, and a model's inputs from --input, --dim
// and --seed (given files first, random tensors for the rest).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/build_engine.h"
#include "kiln/inputs.h"
#include "kiln/kiln.h"
#include "model_runner.h"

namespace kiln::cli {

// A cuda::GpuLayerTimer on the cuda backend; null on the cpu (the heuristic decides).
std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes);

// One line that rewrites itself on a terminal; a line per tenth of the work otherwise.
engine::BuildProgress progress_printer(bool quiet);

// --input NAME=FILE and --dim NAME=SIZE, parsed before the model is loaded.
struct InputArguments {
  std::vector<InputSpec> specs;
  DimSizes dim_sizes;
};
// Throws UsageError (exit status 2) naming the bad argument.
InputArguments parse_input_arguments(const std::vector<std::string>& inputs,
                                     const std::vector<std::string>& dims);

// The given files for `graph`'s inputs, random tensors (from `seed`) for the rest. Symbols
// are sized by --dim, else by the files, else by `fallback` (an engine's tuned sizes), else 1.
// `sources` (optional) receives where each input came from.
std::map<std::string, Tensor> model_inputs(const ir::Graph& graph, const InputArguments& arguments,
                                           uint64_t seed,
                                           std::map<std::string, std::string>* sources = nullptr,
                                           const DimSizes& fallback = {});

}  // namespace kiln::cli
