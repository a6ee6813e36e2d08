// libFuzzer target: arbitrary bytes as a Kiln engine file. read_engine maps a path, so the
// bytes go through a file in /dev/shm. Any outcome but a kiln::Error (a crash, a sanitizer
// report, another exception type) is a bug. Good seeds: engines `kiln build` writes from
// the fixtures in tests/models/fixtures (with -p fp32,bf16 for prepared weights).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/error.h"
#include "engine/engine_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/kiln_fuzz_engine_" + std::to_string(::getpid()) + ".kiln";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  try {
    kiln::engine::LoadedEngine engine = kiln::engine::read_engine(path);
    kiln::engine::check_engine_architecture(engine.header, path, "sm_90", "fuzz GPU");
  } catch (const kiln::Error&) {
    // Rejecting malformed input with a clear error is the expected outcome.
  }
  return 0;
}
