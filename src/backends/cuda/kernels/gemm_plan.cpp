// cuBLASLt descriptors for a GemmProblem, algorithm choice (heuristic, then timing once per
// problem when a GemmPlanCache is given) and the launch.
#include "backends/cuda/kernels/gemm_plan.h"

#include <algorithm>
#include <array>
#include <limits>
#include <sstream>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "core/error.h"

namespace kiln::cuda {

cublasComputeType_t gemm_compute_type(Precision precision, DType ab_dtype) {
  bool wide = ab_dtype == DType::Float32;
  switch (precision) {
    case Precision::FP32:
      return CUBLAS_COMPUTE_32F;
    case Precision::TF32:
      return wide ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    case Precision::FP16:
      return wide ? CUBLAS_COMPUTE_32F_FAST_16F : CUBLAS_COMPUTE_32F;
    case Precision::BF16:
      return wide ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
  }
  return CUBLAS_COMPUTE_32F;
}
namespace {

using MatmulDesc = UniqueHandle<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using MatrixLayout = UniqueHandle<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = UniqueHandle<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

cudaDataType_t cuda_data_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return CUDA_R_32F;
    case DType::Float16:
      return CUDA_R_16F;
    case DType::BFloat16:
      return CUDA_R_16BF;
    default:
      break;
  }
  launch_fail(ErrorKind::Unsupported, "cuBLASLt products take float32, float16 or bfloat16, got ",
              dtype_name(dtype), "; insert a Cast before this node");
}

cublasLtEpilogue_t cublaslt_epilogue(GemmEpilogue epilogue) {
  switch (epilogue) {
    case GemmEpilogue::None:
      return CUBLASLT_EPILOGUE_DEFAULT;
    case GemmEpilogue::Bias:
      return CUBLASLT_EPILOGUE_BIAS;
    case GemmEpilogue::Relu:
      return CUBLASLT_EPILOGUE_RELU;
    case GemmEpilogue::ReluBias:
      return CUBLASLT_EPILOGUE_RELU_BIAS;
    case GemmEpilogue::Gelu:
      return CUBLASLT_EPILOGUE_GELU;
    case GemmEpilogue::GeluBias:
      return CUBLASLT_EPILOGUE_GELU_BIAS;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

bool has_bias(GemmEpilogue epilogue) {
  return epilogue == GemmEpilogue::Bias || epilogue == GemmEpilogue::ReluBias ||
         epilogue == GemmEpilogue::GeluBias;
}

// The largest power of two (up to 256) that divides the address: cuBLASLt's kernels assume
// the alignment the preference states, so it must not claim more than the pointers have.
int alignment_of(const void* pointer) {
  auto address = reinterpret_cast<uintptr_t>(pointer);
  int alignment = 256;
  while (alignment > 1 && address % static_cast<uintptr_t>(alignment) != 0) alignment /= 2;
  return alignment;
}

template <typename Value>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const Value& value) {
  KILN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(value)));
}

MatrixLayout make_layout(DType dtype, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                         int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  KILN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&layout, cuda_data_type(dtype),
                                             static_cast<uint64_t>(rows),
                                             static_cast<uint64_t>(cols), ld));
  MatrixLayout owned(layout);
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    KILN_CUDA_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                     &count, sizeof(count)));
    KILN_CUDA_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return owned;
}

// Everything cuBLASLt needs for one problem, built once per launch.
struct Descriptors {
  MatmulDesc matmul;
  MatrixLayout a, b, c, d;
  Preference preference;
};

Descriptors make_descriptors(const GemmProblem& p, const GemmOperands& ops, const GemmPlanKey& key,
                             size_t workspace_size) {
  Descriptors desc;
  cublasLtMatmulDesc_t matmul = nullptr;
  KILN_CUDA_CHECK(cublasLtMatmulDescCreate(&matmul, p.compute, CUDA_R_32F));
  desc.matmul = MatmulDesc(matmul);
  cublasOperation_t op_a = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_desc(matmul, CUBLASLT_MATMUL_DESC_TRANSA, op_a);
  set_desc(matmul, CUBLASLT_MATMUL_DESC_TRANSB, op_b);
  set_desc(matmul, CUBLASLT_MATMUL_DESC_EPILOGUE, cublaslt_epilogue(p.epilogue));
  if (has_bias(p.epilogue)) {
    set_desc(matmul, CUBLASLT_MATMUL_DESC_BIAS_POINTER, ops.bias);
    set_desc(matmul, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, cuda_data_type(p.d_dtype));
  }
  desc.a = make_layout(p.ab_dtype, p.trans_a ? p.k : p.m, p.trans_a ? p.m : p.k, p.lda, p.batch,
                       p.stride_a);
  desc.b = make_layout(p.ab_dtype, p.trans_b ? p.n : p.k, p.trans_b ? p.k : p.n, p.ldb, p.batch,
                       p.stride_b);
  desc.c = make_layout(p.d_dtype, p.m, p.n, p.ldd, p.batch, p.stride_d);
  desc.d = make_layout(p.d_dtype, p.m, p.n, p.ldd, p.batch, p.stride_d);

  cublasLtMatmulPreference_t preference = nullptr;
  KILN_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  desc.preference = Preference(preference);
  uint64_t workspace = workspace_size;
  KILN_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(
      preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
  const std::array<std::pair<cublasLtMatmulPreferenceAttributes_t, int>, 4> alignments{{
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.alignment_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.alignment_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.alignment_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.alignment_d},
  }};
  for (const auto& [attr, bytes] : alignments) {
    auto value = static_cast<uint32_t>(bytes);
    KILN_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, attr, &value, sizeof(value)));
  }
  return desc;
}

void launch(const GemmResources& resources, const Descriptors& desc, const GemmOperands& ops,
            const cublasLtMatmulAlgo_t* algo, float beta) {
  const void* c = ops.c != nullptr ? ops.c : ops.d;
  KILN_CUDA_CHECK(cublasLtMatmul(resources.cublaslt, desc.matmul.get(), &ops.alpha, ops.a,
                                 desc.a.get(), ops.b, desc.b.get(), &beta, c, desc.c.get(), ops.d,
                                 desc.d.get(), algo, resources.workspace, resources.workspace_size,
                                 resources.stream));
}

// Times each candidate on the real operands (one warm-up, then a few reps) and returns the
// index of the fastest. Timing runs use beta = 0: D is rewritten by the final launch anyway,
// and C may alias D, so it must not be accumulated into repeatedly.
size_t fastest_candidate(const GemmResources& resources, const Descriptors& desc,
                         const GemmOperands& ops, const cublasLtMatmulHeuristicResult_t* candidates,
                         int count) {
  constexpr int kReps = 3;
  Event start = create_timing_event();
  Event stop = create_timing_event();
  size_t best = 0;
  float best_ms = std::numeric_limits<float>::infinity();
  const float zero = 0.f;
  for (int i = 0; i < count; ++i) {
    const cublasLtMatmulAlgo_t* algo = &candidates[i].algo;
    if (cublasLtMatmul(resources.cublaslt, desc.matmul.get(), &ops.alpha, ops.a, desc.a.get(),
                       ops.b, desc.b.get(), &zero, ops.d, desc.c.get(), ops.d, desc.d.get(), algo,
                       resources.workspace, resources.workspace_size,
                       resources.stream) != CUBLAS_STATUS_SUCCESS) {
      continue;  // a candidate that will not launch is simply not chosen
    }
    KILN_CUDA_CHECK(cudaEventRecord(start.get(), resources.stream));
    for (int rep = 0; rep < kReps; ++rep) launch(resources, desc, ops, algo, 0.f);
    KILN_CUDA_CHECK(cudaEventRecord(stop.get(), resources.stream));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    if (ms < best_ms) {
      best_ms = ms;
      best = static_cast<size_t>(i);
    }
  }
  return best;
}

}  // namespace

std::string GemmProblem::to_string() const {
  std::ostringstream text;
  text << "m=" << m << " n=" << n << " k=" << k << " batch=" << batch
       << " op(A)=" << (trans_a ? "T" : "N") << " op(B)=" << (trans_b ? "T" : "N") << " A/B "
       << dtype_name(ab_dtype) << " D " << dtype_name(d_dtype) << " compute "
       << static_cast<int>(compute) << " epilogue " << static_cast<int>(epilogue);
  return text.str();
}

std::optional<GemmPlan> GemmPlanCache::find(const GemmPlanKey& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = plans_.find(key);
  if (it == plans_.end()) return std::nullopt;
  return it->second;
}

cublasLtMatmulAlgo_t GemmPlanCache::insert(const GemmPlanKey& key,
                                           const cublasLtMatmulAlgo_t& algo) {
  std::lock_guard<std::mutex> lock(mutex_);
  return plans_.try_emplace(key, GemmPlan{algo, false}).first->second.algo;
}

void GemmPlanCache::preload(const GemmPlanKey& key, const cublasLtMatmulAlgo_t& algo) {
  std::lock_guard<std::mutex> lock(mutex_);
  plans_[key] = GemmPlan{algo, true};
}

void GemmPlanCache::settle(const GemmPlanKey& key, bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = plans_.find(key);
  if (it == plans_.end() || !it->second.from_file) return;  // another thread settled it
  if (ok) {
    it->second.from_file = false;
  } else {
    plans_.erase(it);
  }
}

std::vector<std::pair<GemmPlanKey, cublasLtMatmulAlgo_t>> GemmPlanCache::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<GemmPlanKey, cublasLtMatmulAlgo_t>> all;
  for (const auto& [key, plan] : plans_) all.emplace_back(key, plan.algo);
  return all;
}

size_t GemmPlanCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return plans_.size();
}

void run_gemm(const GemmResources& resources, const GemmProblem& problem,
              const GemmOperands& operands, const std::function<void()>& before_launch) {
  launch_check(resources.cublaslt != nullptr, ErrorKind::InvalidArgument,
               "the launch context has no cuBLASLt handle");
  GemmPlanKey key{problem,
                  alignment_of(operands.a),
                  alignment_of(operands.b),
                  alignment_of(operands.c != nullptr ? operands.c : operands.d),
                  alignment_of(operands.d),
                  resources.workspace_size};
  Descriptors desc = make_descriptors(problem, operands, key, resources.workspace_size);
  float beta = operands.c != nullptr ? operands.beta : 0.f;
  if (resources.plans != nullptr) {
    std::optional<GemmPlan> known = resources.plans->find(key);
    if (known && known->from_file) {
      // Chosen by the process that built the engine: this cuBLASLt must accept it here.
      cublasLtMatmulHeuristicResult_t result{};
      bool ok = cublasLtMatmulAlgoCheck(resources.cublaslt, desc.matmul.get(), desc.a.get(),
                                        desc.b.get(), desc.c.get(), desc.d.get(), &known->algo,
                                        &result) == CUBLAS_STATUS_SUCCESS &&
                result.workspaceSize <= resources.workspace_size;
      resources.plans->settle(key, ok);
      if (!ok) known.reset();
    }
    if (known) {
      if (before_launch) before_launch();
      launch(resources, desc, operands, &known->algo, beta);
      return;
    }
  }
  std::array<cublasLtMatmulHeuristicResult_t, kGemmCandidates> candidates{};
  int count = 0;
  bool timing = resources.plans != nullptr && !stream_is_capturing(resources.stream);
  KILN_CUDA_CHECK(cublasLtMatmulAlgoGetHeuristic(
      resources.cublaslt, desc.matmul.get(), desc.a.get(), desc.b.get(), desc.c.get(), desc.d.get(),
      desc.preference.get(), timing ? kGemmCandidates : 1, candidates.data(), &count));
  launch_check(count > 0, ErrorKind::Unsupported, "cuBLASLt has no algorithm for ",
               problem.to_string(), " with ", resources.workspace_size,
               " bytes of workspace; try another precision or a larger workspace");
  size_t chosen =
      timing ? fastest_candidate(resources, desc, operands, candidates.data(), count) : 0;
  cublasLtMatmulAlgo_t algo = candidates[chosen].algo;
  // Another context of the engine may have timed this problem meanwhile: all run its choice.
  if (timing) algo = resources.plans->insert(key, algo);
  if (before_launch) before_launch();
  launch(resources, desc, operands, &algo, beta);
}

}  // namespace kiln::cuda
