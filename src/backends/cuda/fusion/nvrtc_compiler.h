// NVRTC: CUDA C++ source to a cubin for one GPU architecture, at build time. Host-only (no
// GPU needed), so CI compiles every generated kernel too.
#pragma once

#include <string>

namespace kiln::cuda {

// Compiles `source` for compute capability `compute_capability` (90 for sm_90) and returns
// the cubin. Throws Runtime naming `what` (the fusion group) with NVRTC's log if the source
// does not compile, Cuda for any other NVRTC failure.
std::string compile_cubin(const std::string& source, const std::string& what,
                          int compute_capability);

// The NVRTC version as major * 1000 + minor * 10 (13000 for 13.0).
int nvrtc_version();

}  // namespace kiln::cuda
