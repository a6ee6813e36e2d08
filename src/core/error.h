// The one exception type Kiln throws. Its message names the file, node or tensor at fault
// and says what to do; its kind lets callers (and the CLI's exit code) tell causes apart.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln {

enum class ErrorKind {
  InvalidModel,     // the model file is malformed or inconsistent
  Unsupported,      // valid, but uses an op, dtype or feature Kiln does not support
  InvalidArgument,  // the caller passed something wrong (paths, shapes, flags)
  Runtime,          // something failed while running
  Cuda,             // a CUDA / cuBLAS / cuDNN / NVRTC call failed
};

std::string_view error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Builds a message from streamable parts: fail(ErrorKind::InvalidModel, "node ", name, ...).
template <typename... Parts>
[[noreturn]] void fail(ErrorKind kind, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(kind, message.str());
}

template <typename... Parts>
void check(bool condition, ErrorKind kind, const Parts&... parts) {
  if (!condition) fail(kind, parts...);
}

}  // namespace kiln
