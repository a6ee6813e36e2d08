// What `kiln inspect --json` prints and the Python module's Model.summary() and
// Engine.inspect() return: a model's or an engine's description as JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine_file.h"
#include "kiln/kiln.h"

namespace kiln::driver {

// Format, producer, opset, inputs and outputs (symbolic dims by name), op histogram, weights
// and the ops Kiln does not support yet (with keep_unsupported).
nlohmann::json model_report(const LoadedModel& model);

// Header (Kiln and CUDA versions, GPU), build config, inputs and outputs, every layer with its
// chosen precision, tactic and the times the build measured, and the fusion groups at the
// dims the layers were timed at (as the CUDA runtime makes them; none without CUDA), each
// with whether the engine holds its compiled kernel.
nlohmann::json engine_report(const engine::LoadedEngine& loaded);

}  // namespace kiln::driver
