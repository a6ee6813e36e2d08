// How launchers in kernels/ report a failure without knowing the graph: a LaunchError whose
// message is what follows the node's description; the op adapters in ops/ rethrow it naming
// the node (ops/node_launch.h), so messages read "Softmax node 'x': kernel launch failed: …".
#pragma once

#include <sstream>

#include "core/error.h"

namespace kiln::cuda {

class LaunchError : public Error {
 public:
  using Error::Error;
};

template <typename... Parts>
[[noreturn]] void launch_fail(ErrorKind kind, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw LaunchError(kind, message.str());
}

template <typename... Parts>
void launch_check(bool condition, ErrorKind kind, const Parts&... parts) {
  if (!condition) launch_fail(kind, parts...);
}

// Throws LaunchError(Cuda) when the last kernel launch on this thread failed (a bad
// configuration shows up right where the kernel was launched).
void check_last_launch();

}  // namespace kiln::cuda
