// One cuBLASLt matrix product described in cuBLASLt's own (column-major) terms, the cache of
// timed algorithm choices per problem, and run_gemm, which picks (or recalls) and launches.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/precision.h"

namespace kiln::cuda {

// What cuBLASLt applies after alpha·A·B + beta·C. Gelu is the tanh approximation.
enum class GemmEpilogue : uint8_t { None, Bias, Relu, ReluBias, Gelu, GeluBias };

// cuBLASLt's compute type for a layer's precision on A and B stored as `ab_dtype`: FP32 stays
// exact, TF32 may use tensor cores, 16-bit operands accumulate in FP32, and float32 operands of
// an fp16/bf16 layer use cuBLASLt's down-converting compute types.
cublasComputeType_t gemm_compute_type(Precision precision, DType ab_dtype);

// Column-major D(m×n) = epilogue(alpha·op(A)·op(B) + beta·C [+ bias]) for `batch` matrices.
// C, when present, has D's layout and dtype; the bias vector has m elements of D's dtype.
struct GemmProblem {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  bool trans_a = false, trans_b = false;
  int64_t lda = 0, ldb = 0, ldd = 0;
  int64_t stride_a = 0, stride_b = 0, stride_d = 0;  // batch strides in elements; 0 = shared
  DType ab_dtype = DType::Float32;
  DType d_dtype = DType::Float32;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  GemmEpilogue epilogue = GemmEpilogue::None;

  auto operator<=>(const GemmProblem&) const = default;
  std::string to_string() const;  // for messages and logs
};

struct GemmOperands {
  const void* a = nullptr;
  const void* b = nullptr;
  const void* c = nullptr;  // null: no C term (beta is ignored)
  void* d = nullptr;
  const void* bias = nullptr;  // for the Bias epilogues
  float alpha = 1.f;
  float beta = 0.f;
};

// The algorithm chosen for one problem; alignments are part of the key because an algorithm
// picked for 256-byte-aligned operands may not run on less aligned ones.
struct GemmPlanKey {
  GemmProblem problem;
  int alignment_a = 0, alignment_b = 0, alignment_c = 0, alignment_d = 0;
  size_t workspace_size = 0;
  auto operator<=>(const GemmPlanKey&) const = default;
};

// A remembered choice. `from_file` marks one read from an engine file (tuned_algorithms.h),
// checked with cublasLtMatmulAlgoCheck before its first use, since it was chosen by another
// process.
struct GemmPlan {
  cublasLtMatmulAlgo_t algo{};
  bool from_file = false;
};

// The timed choices, shared by every execution context of an engine (so that contexts run
// the same algorithms and give the same bits) and safe to use from their threads.
class GemmPlanCache {
 public:
  std::optional<GemmPlan> find(const GemmPlanKey& key) const;
  // Remembers `algo` unless another thread remembered a choice first; returns the one kept.
  cublasLtMatmulAlgo_t insert(const GemmPlanKey& key, const cublasLtMatmulAlgo_t& algo);
  // A choice read from an engine file (replacing any other), to be checked before first use.
  void preload(const GemmPlanKey& key, const cublasLtMatmulAlgo_t& algo);
  // After the check: `key`'s choice runs as it is (ok) or is timed again (not ok).
  void settle(const GemmPlanKey& key, bool ok);
  // Every choice, for the engine file.
  std::vector<std::pair<GemmPlanKey, cublasLtMatmulAlgo_t>> entries() const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<GemmPlanKey, GemmPlan> plans_;
};

// How many heuristic candidates are timed when a problem is first seen with a plan cache.
// (16 were tried on an H100: ViT-B/16's and BERT's products chose algorithms no faster.)
constexpr int kGemmCandidates = 8;

// What run_gemm runs with: the caller's cuBLASLt handle, stream and workspace, and the
// timed plans (null: take the heuristic's first choice, time nothing).
struct GemmResources {
  cublasLtHandle_t cublaslt = nullptr;
  cudaStream_t stream = nullptr;
  void* workspace = nullptr;
  size_t workspace_size = 0;
  GemmPlanCache* plans = nullptr;
};

// Runs the product on resources.stream with resources.workspace. With resources.plans set
// and no stream capture in progress, a new problem's candidates are timed once (this syncs
// the stream) and the fastest is remembered; otherwise the heuristic's first choice runs.
// `before_launch` runs on the host just before the final launch, after any timing runs (which
// overwrite D): it may fill D when C aliases D. Throws LaunchError where cuBLASLt cannot run
// the problem (the caller names the node).
void run_gemm(const GemmResources& resources, const GemmProblem& problem,
              const GemmOperands& operands, const std::function<void()>& before_launch = {});

}  // namespace kiln::cuda
