// Build progress on stderr for `kiln build` and `kiln sweep`.
#pragma once

#include "engine/build_engine.h"

namespace kiln::cli {

// One line that rewrites itself on a terminal; a line per tenth of the work otherwise.
engine::BuildProgress progress_printer(bool quiet);

}  // namespace kiln::cli
