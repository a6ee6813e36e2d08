// What `kiln build` and `kiln sweep` share: the GPU layer timer the builder measures with, and
// build progress on stderr.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/build_engine.h"
#include "model_runner.h"

namespace kiln::cli {

// A cuda::GpuLayerTimer on the cuda backend; null on the cpu (the heuristic decides).
std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes);

// With a GPU (a timer): times each fusion group of `built` fused against node by node at the
// build's dims and marks the slower-fused ones to run node by node. Returns "N kept, M run
// node by node" for the build summary, or "" without a GPU.
std::string choose_fusion(engine::BuildResult& built, const engine::LayerTimer* timer);

// The generated kernels of `built`'s fusion groups compiled for the GPU it was timed on, by
// kernel name, for the engine file; empty for a build without a GPU (its engine compiles them
// when a GPU runtime loads it).
std::map<std::string, std::string> compile_engine_kernels(const engine::BuildResult& built,
                                                          const engine::LayerTimer* timer);

// One line that rewrites itself on a terminal; a line per tenth of the work otherwise.
engine::BuildProgress progress_printer(bool quiet);

}  // namespace kiln::cli
