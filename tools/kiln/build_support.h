// What `kiln build` and `kiln sweep` share: the GPU layer timer the builder measures with, and
// build progress on stderr.
#pragma once

#include <memory>

#include "engine/build_engine.h"
#include "model_runner.h"

namespace kiln::cli {

// A cuda::GpuLayerTimer on the cuda backend; null on the cpu (the heuristic decides).
std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes);

// One line that rewrites itself on a terminal; a line per tenth of the work otherwise.
engine::BuildProgress progress_printer(bool quiet);

}  // namespace kiln::cli
