// HostKernel (host_kernel.h): the host prelude stands in for CUDA's built-ins and the PTX
// conversions with the same rounding (bf16 and fp16 to nearest even), then the generator's own
// types, math helpers and kernel body follow unchanged.
#include "host_kernel.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "backends/cuda/fusion/kernel_source.h"

namespace kiln::cuda::testing {
namespace {

const char* const kHostPrelude = R"(#include <math.h>
#include <stdlib.h>
#include <string.h>
#define __device__
#define __forceinline__ inline
#define __global__
#define __launch_bounds__(n)
struct KilnHostIndex { unsigned int x; };
static KilnHostIndex blockIdx, threadIdx, blockDim;
extern "C" void kiln_host_set_thread(unsigned int block, unsigned int thread, unsigned int size) {
  blockIdx.x = block; threadIdx.x = thread; blockDim.x = size;
}
inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline float __shfl_xor_sync(unsigned int, float, int) { abort(); }  // row kernels only
inline void __syncthreads() { abort(); }
#define __shared__ static
)";

// cvt.rn.bf16.f32 and cvt.rn.f16.f32 / cvt.f32.f16: to nearest even, NaN stays NaN.
const char* const kHostConversions = R"(inline float kiln_from_bf16(unsigned short b) {
  return __uint_as_float(((unsigned int)b) << 16);
}
inline unsigned short kiln_to_bf16(float f) {
  unsigned int u; memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (unsigned short)(u >> 16);
}
inline float kiln_from_f16(unsigned short h) {
  _Float16 v; memcpy(&v, &h, 2); return (float)v;
}
inline unsigned short kiln_to_f16(float f) {
  _Float16 v = (_Float16)f; unsigned short h; memcpy(&h, &v, 2); return h;
}
)";

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>&1").c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  while (size_t read = fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, read);
  int status = pclose(pipe.release());
  if (status != 0) throw std::runtime_error(command + " failed:\n" + output);
  return output;
}

}  // namespace

HostKernel::HostKernel(const GeneratedKernel& kernel, const std::filesystem::path& directory)
    : vector_width_(kernel.vector_width) {
  const std::string& prelude = source::kPrelude;
  if (kernel.source.compare(0, prelude.size(), prelude) != 0 || kernel.row_length != 0)
    throw std::runtime_error(kernel.what() + ": not an elementwise kernel of the generator");
  // One folder per process: ctest runs test cases in parallel, and cases whose kernels share
  // a source (and so a name) would otherwise write and load the same library at once.
  const std::filesystem::path folder = directory / std::to_string(getpid());
  std::filesystem::create_directories(folder);
  const std::filesystem::path source = folder / (kernel.name + ".cpp");
  const std::filesystem::path library = folder / (kernel.name + ".so");
  files_ = {source, library};
  std::ofstream(source) << kHostPrelude << source::kPreludeTypes << kHostConversions
                        << source::kPreludeMath << kernel.source.substr(prelude.size());
  run_command(std::string(KILN_HOST_CXX) + " -std=c++17 -O1 -shared -fPIC -w -o " +
              library.string() + " " + source.string());
  library_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
  scalar_ = reinterpret_cast<void (*)(FusedArgs)>(dlsym(library_, kernel.name.c_str()));
  vector_ = reinterpret_cast<void (*)(FusedArgs)>(dlsym(library_, (kernel.name + "_v").c_str()));
  set_thread_ = reinterpret_cast<void (*)(unsigned, unsigned, unsigned)>(
      dlsym(library_, "kiln_host_set_thread"));
  if (scalar_ == nullptr || vector_ == nullptr || set_thread_ == nullptr)
    throw std::runtime_error(kernel.what() + ": entry points missing from " + library.string());
}

HostKernel::~HostKernel() {
  if (library_ != nullptr) dlclose(library_);
  std::error_code ignored;  // the files go; the process's folder too once it is empty
  for (const std::filesystem::path& file : files_) std::filesystem::remove(file, ignored);
  if (!files_.empty()) std::filesystem::remove(files_.front().parent_path(), ignored);
}

void HostKernel::run(const FusedArgs& args, bool vector) const {
  const int64_t per_thread = vector ? vector_width_ : 1;
  if (vector && args.count % per_thread != 0)
    throw std::runtime_error("the vector entry needs a multiple of its width");
  const int64_t threads = (args.count + per_thread - 1) / per_thread;
  constexpr unsigned kBlock = 256;
  for (int64_t t = 0; t < threads; ++t) {
    set_thread_(unsigned(t / kBlock), unsigned(t % kBlock), kBlock);
    (vector ? vector_ : scalar_)(args);
  }
}

}  // namespace kiln::cuda::testing
