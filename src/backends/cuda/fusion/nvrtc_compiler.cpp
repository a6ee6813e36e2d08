// NVRTC compile with every return code checked; the program is released on every path.
#include "backends/cuda/fusion/nvrtc_compiler.h"

#include <nvrtc.h>

#include <memory>
#include <vector>

#include "core/error.h"

namespace kiln::cuda {
namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  check(result == NVRTC_SUCCESS, ErrorKind::Cuda, "NVRTC ", call,
        " failed: ", nvrtcGetErrorString(result));
}

struct ProgramDeleter {
  void operator()(nvrtcProgram* program) const {
    nvrtcDestroyProgram(program);
    delete program;
  }
};

}  // namespace

std::string compile_cubin(const std::string& source, const std::string& what,
                          int compute_capability) {
  std::unique_ptr<nvrtcProgram, ProgramDeleter> program(new nvrtcProgram{});
  check_nvrtc(
      nvrtcCreateProgram(program.get(), source.c_str(), "kiln_fused.cu", 0, nullptr, nullptr),
      "nvrtcCreateProgram");
  std::string arch = "--gpu-architecture=sm_" + std::to_string(compute_capability);
  const char* options[] = {arch.c_str(), "--std=c++17"};
  nvrtcResult compiled = nvrtcCompileProgram(*program, 2, options);
  if (compiled != NVRTC_SUCCESS) {
    size_t log_size = 0;
    nvrtcGetProgramLogSize(*program, &log_size);
    std::string log(log_size, '\0');
    if (log_size > 0) nvrtcGetProgramLog(*program, log.data());
    fail(ErrorKind::Runtime, "the generated kernel for ", what, " does not compile (",
         nvrtcGetErrorString(compiled), "); this is a Kiln bug, please report it with the ",
         "model. NVRTC log:\n", log, "\nsource:\n", source);
  }
  size_t size = 0;
  check_nvrtc(nvrtcGetCUBINSize(*program, &size), "nvrtcGetCUBINSize");
  std::string cubin(size, '\0');
  check_nvrtc(nvrtcGetCUBIN(*program, cubin.data()), "nvrtcGetCUBIN");
  return cubin;
}

int nvrtc_version() {
  int major = 0, minor = 0;
  check_nvrtc(nvrtcVersion(&major, &minor), "nvrtcVersion");
  return major * 1000 + minor * 10;
}

}  // namespace kiln::cuda
