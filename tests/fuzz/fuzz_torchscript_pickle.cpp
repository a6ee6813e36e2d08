// libFuzzer target: arbitrary bytes through Kiln's TorchScript pickle reader. Any outcome
// but a value or a kiln::Error (a crash, a sanitizer report, a leak, another exception
// type) is a bug. Good seeds: data.pkl, constants.pkl and traced_inputs.pkl from the .pt
// fixtures in tests/models/fixtures.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "frontends/torchscript/pickle_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kiln::torchscript::read_pickle(std::string_view(reinterpret_cast<const char*>(data), size),
                                   "fuzz.pkl");
  } catch (const kiln::Error&) {
    // Rejecting malformed input with a clear error is the expected outcome.
  }
  return 0;
}
