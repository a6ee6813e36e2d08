// Pieces of `kiln build` that `kiln sweep` and `kiln debug-precision` reuse (build_support.h).
#include "build_support.h"

#include <unistd.h>

#include <cstdio>

#include "commands.h"

#ifdef KILN_HAS_CUDA
#include "backends/cuda/layer_timer.h"
#endif

namespace kiln::cli {

std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes) {
#ifdef KILN_HAS_CUDA
  if (backend == Backend::Cuda) return std::make_unique<cuda::GpuLayerTimer>(workspace_bytes);
#endif
  (void)backend;
  (void)workspace_bytes;
  return nullptr;
}

engine::BuildProgress progress_printer(bool quiet) {
  if (quiet) return {};
  bool terminal = isatty(fileno(stderr)) != 0;
  return
      [terminal, last = size_t(-1)](const std::string& stage, size_t done, size_t total) mutable {
        if (total == 0) return;
        size_t tenth = done * 10 / total;
        if (terminal) {
          std::fprintf(stderr, "\r%s %zu/%zu", stage.c_str(), done, total);
          if (done == total) std::fprintf(stderr, "\n");
        } else if (tenth != last || done == total) {
          std::fprintf(stderr, "%s %zu/%zu\n", stage.c_str(), done, total);
        }
        last = tenth;
      };
}

InputArguments parse_input_arguments(const std::vector<std::string>& inputs,
                                     const std::vector<std::string>& dims) {
  return parse_argument([&] {
    InputArguments parsed;
    for (const std::string& text : inputs) parsed.specs.push_back(parse_input_spec(text));
    for (const std::string& text : dims) parsed.dim_sizes.insert(parse_dim_size(text));
    return parsed;
  });
}

std::map<std::string, Tensor> model_inputs(const ir::Graph& graph, const InputArguments& arguments,
                                           uint64_t seed,
                                           std::map<std::string, std::string>* sources,
                                           const DimSizes& fallback) {
  std::map<std::string, Tensor> inputs = load_input_files(arguments.specs, graph, sources);
  DimSizes dim_sizes = arguments.dim_sizes;
  for (const auto& [symbol, size] : dim_sizes_from_inputs(graph, inputs))
    dim_sizes.emplace(symbol, size);
  dim_sizes.insert(fallback.begin(), fallback.end());  // only symbols still unsized
  for (const ir::Value* input : graph.inputs()) {
    if (inputs.count(input->name)) continue;
    inputs.emplace(input->name, make_random_input(graph, *input, seed, dim_sizes));
    if (sources) (*sources)[input->name] = "random (seed " + std::to_string(seed) + ")";
  }
  return inputs;
}

}  // namespace kiln::cli
