// A model's inputs from the command line, as `kiln run`, `bench`, `sweep` and `debug-precision`
// take them: the options --input NAME=FILE, --dim NAME=SIZE and --seed, their parsing before
// the model is loaded, and then the tensors (given files first, random tensors for the rest).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/inputs.h"
#include "kiln/kiln.h"

namespace kiln::cli {

// The options' values, as CLI11 fills them.
struct InputOptions {
  std::vector<std::string> inputs;  // --input NAME=FILE
  std::vector<std::string> dims;    // --dim NAME=SIZE
  uint64_t seed = 0;                // --seed
};

// What --dim's help says a symbol it does not give is sized by.
enum class DimDefault {
  One,         // a model only: 1
  TunedSizes,  // an engine too: the sizes it was tuned at, else 1
};

// -i,--input, --dim and --seed.
void add_input_options(CLI::App* app, InputOptions* options, DimDefault dim_default);
// --dim and --seed only, for a command that reads no input files (bench: random inputs).
void add_random_input_options(CLI::App* app, InputOptions* options, DimDefault dim_default);

// The options parsed, before the model is loaded.
struct InputArguments {
  std::vector<InputSpec> specs;
  DimSizes dim_sizes;
  uint64_t seed = 0;
};
// Throws UsageError (exit status 2) naming the bad argument.
InputArguments parse_input_arguments(const InputOptions& options);

// The given files for `graph`'s inputs, random tensors (from the seed) for the rest. Symbols
// are sized by --dim, else by the files, else by `fallback` (an engine's tuned sizes), else 1.
// `sources` (optional) receives where each input came from.
std::map<std::string, Tensor> model_inputs(const ir::Graph& graph, const InputArguments& arguments,
                                           std::map<std::string, std::string>* sources = nullptr,
                                           const DimSizes& fallback = {});

}  // namespace kiln::cli
