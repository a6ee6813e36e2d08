// Which core ops each ATen converter emits, found by running it on a fixed set of probe calls
// (small float32 tensors, typical arguments) rather than by a hand-kept mapping that drifts.
#pragma once

#include <string>
#include <vector>

namespace kiln::torch::probes {

struct AtenTrace {
  std::vector<std::string> probes_converted;  // names of the probe calls the converter took
  std::vector<std::string> core_ops;          // every op it emitted on them, in first-seen order
};

// Runs the converter of `target` (a key of the ATen table) on every probe call.
AtenTrace trace_aten_target(const std::string& target);

}  // namespace kiln::torch::probes
