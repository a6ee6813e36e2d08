// The cuBLASLt and cuDNN algorithms an engine's contexts chose by timing, carried in the
// engine file: the build runs the engine once at its tuned sizes, stores every choice, and a
// process that loads the engine runs those choices instead of timing again. So `kiln run`,
// `kiln bench` and the Python module give the same bits from one engine file, and loading
// does not re-tune. Sizes the build did not run are still timed on first use.
#pragma once

#include <map>
#include <string>

#include "backends/cuda/runtime/gpu_engine.h"

namespace kiln::cuda {

// The engine's current choices as JSON text (with the cuBLASLt and cuDNN versions they were
// made with); "" when it has none.
std::string export_tuned_algorithms(const Engine& engine);

// Loads choices exported by export_tuned_algorithms into `engine`'s plan caches; each is
// checked against this cuBLASLt/cuDNN before its first use and re-timed if refused. Choices
// made with another cuBLASLt or cuDNN version are skipped (timed again). Returns how many
// were loaded. Throws InvalidModel naming `origin` for malformed text.
size_t import_tuned_algorithms(const Engine& engine, const std::string& text,
                               const std::string& origin);

// Runs the built `graph` once at `input_dims` on deterministic random inputs, timing every
// cuBLASLt product and cuDNN convolution it launches, and returns the choices
// (export_tuned_algorithms). `cubins` are the build's compiled generated kernels.
std::string tune_algorithms(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
                            size_t workspace_bytes,
                            const std::map<std::string, std::string>& cubins);

}  // namespace kiln::cuda
