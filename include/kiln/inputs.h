// Model inputs from the command line: "NAME=FILE" specs, tensor files, "--dim NAME=SIZE"
// (and a build's "--dim NAME=MIN:OPT:MAX").
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "kiln/kiln.h"

namespace kiln {

// "NAME=FILE" names one input; a bare "FILE.safetensors" supplies every input it holds by
// tensor name. In "NAME=FILE.safetensors" the tensor NAME is taken from the file.
struct InputSpec {
  std::string name;  // empty for a bare .safetensors file
  std::filesystem::path file;
};
InputSpec parse_input_spec(std::string_view text);  // throws InvalidArgument
// "batch=4" → {"batch", 4}; the size must be a non-negative integer.
std::pair<std::string, int64_t> parse_dim_size(std::string_view text);

// A build's --dim: "batch=8" (time at 8) or "batch=1:8:32" (valid from 1 to 32, timed at 8).
struct DimSpec {
  std::string name;
  int64_t size = 0;                   // the size layers are timed at (OPT)
  std::optional<ir::DimRange> range;  // MIN..MAX, when given
};
// Throws InvalidArgument naming the text unless MIN <= OPT <= MAX.
DimSpec parse_dim_spec(std::string_view text);

// Reads the files the specs name. Every name must be a graph input; a float tensor of
// another float type (or an integer of another integer type) is converted to the input's
// dtype with a warning, since numpy saves float64 and int64 by default. If `sources` is
// given, it receives the file each input came from.
std::map<std::string, Tensor> load_input_files(
    const std::vector<InputSpec>& specs, const ir::Graph& graph,
    std::map<std::string, std::string>* sources = nullptr);

// Sizes that given inputs fix for symbolic dims ({"batch": 3} from an input of dims [3, 4]
// declared [batch, 4]), so that random inputs sharing a symbol agree. Throws
// InvalidArgument if two inputs disagree on a symbol or a tensor's rank is wrong.
DimSizes dim_sizes_from_inputs(const ir::Graph& graph, const std::map<std::string, Tensor>& inputs);

}  // namespace kiln
