// libFuzzer target: arbitrary bytes as a Kiln engine file. read_engine maps a path, so the
// bytes go through a file in /dev/shm. Any outcome but a kiln::Error (a crash, a sanitizer
// report, another exception type) is a bug. Good seeds: engines `kiln build` writes from
// the fixtures in tests/models/fixtures (with -p fp32,bf16 for prepared weights).
// Three inputs in four (by their last byte) get their trailing checksum recomputed, so that
// mutations reach the header, manifest and weight checks behind it instead of stopping there.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"
#include "engine/engine_file.h"

namespace {

// 64-bit FNV-1a, as the engine file's checksum.
uint64_t fnv1a(const uint8_t* bytes, size_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/dev/shm/kiln_fuzz_engine_" + std::to_string(::getpid()) + ".kiln";
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size > sizeof(uint64_t) && data[size - 1] % 4 != 0) {
    uint64_t checksum = fnv1a(data, size - sizeof(uint64_t));
    std::memcpy(bytes.data() + size - sizeof(uint64_t), &checksum, sizeof checksum);
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  try {
    kiln::engine::LoadedEngine engine = kiln::engine::read_engine(path);
    kiln::engine::check_engine_architecture(engine.header, path, "sm_90", "fuzz GPU");
  } catch (const kiln::Error&) {
    // Rejecting malformed input with a clear error is the expected outcome.
  }
  return 0;
}
