// libFuzzer target: arbitrary bytes as a torch.export (.pt2) archive. Any outcome but a
// kiln::Error (a crash, a sanitizer report, another exception type) is a bug. Good seeds:
// the .pt2 fixtures in tests/models/fixtures.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "frontends/pt2/pt2_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    kiln::pt2::import_pt2_bytes(bytes, "fuzz.pt2");
  } catch (const kiln::Error&) {
    // Rejecting malformed input with a clear error is the expected outcome.
  }
  return 0;
}
