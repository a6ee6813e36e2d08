// libFuzzer target: arbitrary bytes as an ONNX model. Any outcome but a kiln::Error
// (a crash, a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  for (bool keep_unsupported : {false, true}) {
    kiln::onnx::ImportOptions options;
    options.keep_unsupported = keep_unsupported;
    try {
      kiln::onnx::import_onnx_model_bytes(bytes, {}, options, "fuzz.onnx");
    } catch (const kiln::Error&) {
      // Rejecting malformed input with a clear error is the expected outcome.
    }
  }
  return 0;
}
