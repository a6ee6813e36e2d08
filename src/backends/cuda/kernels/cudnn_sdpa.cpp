// cuDNN SDPA through the cudnn-frontend graph API: one graph per problem (Q, K, V, optional
// bias → Y), built with cuDNN's heuristics once and cached; a problem cuDNN cannot run is
// remembered with cuDNN's reason, so callers fall back without rebuilding.
#include "backends/cuda/kernels/cudnn_sdpa.h"

// The frontend bundles its own JSON library; Kiln builds against Debian's, and SDPA needs no
// serialization, so the frontend's copy stays out.
#define CUDNN_FRONTEND_SKIP_JSON_LIB
#include <cudnn_frontend.h>

#include <functional>
#include <sstream>
#include <unordered_map>

#include "backends/cuda/kernels/launch_error.h"

namespace kiln::cuda {
namespace {

namespace fe = cudnn_frontend;

// The graph's tensors, named for the variant pack.
enum Uid : int64_t { kQ = 1, kK, kV, kY, kBias };

fe::DataType_t frontend_dtype(DType dtype) {
  return dtype == DType::Float16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16;
}

std::shared_ptr<fe::graph::Tensor_attributes> tensor(fe::graph::Graph& graph, const char* name,
                                                     int64_t uid, std::vector<int64_t> dims,
                                                     std::vector<int64_t> strides) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim(std::move(dims))
                          .set_stride(std::move(strides)));
}

// Q, K, V (and the bias) in, Y out; no softmax statistics (inference).
std::shared_ptr<fe::graph::Graph> describe(const SdpaProblem& p) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(frontend_dtype(p.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto q = tensor(*graph, "Q", kQ, {p.batch, p.q_heads, p.q_seq, p.head_size},
                  {p.q[0], p.q[1], p.q[2], 1});
  auto k = tensor(*graph, "K", kK, {p.batch, p.kv_heads, p.kv_seq, p.head_size},
                  {p.k[0], p.k[1], p.k[2], 1});
  auto v = tensor(*graph, "V", kV, {p.batch, p.kv_heads, p.kv_seq, p.v_head_size},
                  {p.v[0], p.v[1], p.v[2], 1});
  auto options = fe::graph::SDPA_attributes().set_name("attention").set_generate_stats(false);
  options.set_attn_scale(p.scale);
  if (p.causal) options.set_causal_mask(true);
  if (p.has_bias) {
    int64_t plane = p.q_seq * p.kv_seq;
    options.set_bias(tensor(*graph, "bias", kBias, {p.bias_batch, p.bias_heads, p.q_seq, p.kv_seq},
                            {p.bias_heads * plane, plane, p.kv_seq, 1}));
  }
  auto [y, stats] = graph->sdpa(q, k, v, options);
  (void)stats;
  y->set_output(true)
      .set_uid(kY)
      .set_dim({p.batch, p.q_heads, p.q_seq, p.v_head_size})
      .set_stride({p.y[0], p.y[1], p.y[2], 1});
  return graph;
}

}  // namespace

struct SdpaPlanCache::Plan {
  std::shared_ptr<fe::graph::Graph> graph;  // null where cuDNN refused the problem
  std::string refusal;
  int64_t workspace_bytes = 0;
};

std::string SdpaProblem::to_string() const {
  std::ostringstream out;
  out << dtype_name(dtype) << " batch " << batch << ", heads " << q_heads << "/" << kv_heads
      << ", seq " << q_seq << "x" << kv_seq << ", head size " << head_size << "/" << v_head_size
      << (causal ? ", causal" : "") << (has_bias ? ", bias" : "");
  return out.str();
}

SdpaProblem sdpa_problem(const AttentionParams& params, DType dtype, bool has_bias,
                         int64_t bias_batch, int64_t bias_heads) {
  SdpaProblem p;
  p.dtype = dtype;
  p.batch = params.batch;
  p.q_heads = params.q_heads;
  p.kv_heads = params.kv_heads;
  p.q_seq = params.q_seq;
  p.kv_seq = params.kv_seq;
  p.head_size = params.head_size;
  p.v_head_size = params.v_head_size;
  p.q = {params.q.batch, params.q.head, params.q.seq};
  p.k = {params.k.batch, params.k.head, params.k.seq};
  p.v = {params.v.batch, params.v.head, params.v.seq};
  p.y = {params.y.batch, params.y.head, params.y.seq};
  p.causal = params.causal;
  p.scale = params.scale;
  p.has_bias = has_bias;
  p.bias_batch = has_bias ? bias_batch : 1;
  p.bias_heads = has_bias ? bias_heads : 1;
  return p;
}

SdpaPlanCache::SdpaPlanCache() = default;
SdpaPlanCache::~SdpaPlanCache() = default;

const SdpaPlanCache::Plan& SdpaPlanCache::plan(cudnnHandle_t handle, const SdpaProblem& problem) {
  std::unique_ptr<Plan>& plan = plans_[problem];
  if (plan) return *plan;
  plan = std::make_unique<Plan>();
  if (problem.dtype != DType::BFloat16 && problem.dtype != DType::Float16) {
    plan->refusal =
        "cuDNN SDPA takes bfloat16 or float16, not " + std::string(dtype_name(problem.dtype));
    return *plan;
  }
  std::shared_ptr<fe::graph::Graph> graph = describe(problem);
  // Each step's error says why cuDNN refuses (unsupported head size, mask, GPU, version);
  // a step runs only after the one before it succeeded.
  const std::function<fe::error_t()> steps[] = {
      [&] { return graph->validate(); },
      [&] { return graph->build_operation_graph(handle); },
      [&] { return graph->create_execution_plans({fe::HeurMode_t::A}); },
      [&] { return graph->check_support(handle); },
      [&] { return graph->build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE); },
      [&] { return graph->get_workspace_size(plan->workspace_bytes); }};
  for (const auto& step : steps) {
    fe::error_t status = step();
    if (status.is_bad()) {
      plan->refusal =
          "cuDNN SDPA does not run " + problem.to_string() + ": " + status.get_message();
      return *plan;
    }
  }
  plan->graph = std::move(graph);
  return *plan;
}

std::string cudnn_sdpa_refusal(SdpaPlanCache& cache, cudnnHandle_t handle,
                               const SdpaProblem& problem, size_t& workspace_bytes) {
  const SdpaPlanCache::Plan& plan = cache.plan(handle, problem);
  workspace_bytes = size_t(plan.workspace_bytes);
  return plan.refusal;
}

void run_cudnn_sdpa(SdpaPlanCache& cache, cudnnHandle_t handle, const SdpaProblem& problem,
                    const void* q, const void* k, const void* v, const void* bias, void* y,
                    void* workspace) {
  const SdpaPlanCache::Plan& plan = cache.plan(handle, problem);
  launch_check(plan.graph != nullptr, ErrorKind::Unsupported, plan.refusal);
  launch_check(problem.has_bias == (bias != nullptr), ErrorKind::InvalidArgument,
               "cuDNN SDPA: a bias pointer must be given exactly when the problem has a bias");
  // The frontend's variant pack takes mutable pointers; cuDNN only reads the inputs.
  std::unordered_map<int64_t, void*> pack = {
      {kQ, const_cast<void*>(q)}, {kK, const_cast<void*>(k)}, {kV, const_cast<void*>(v)}, {kY, y}};
  if (bias != nullptr) pack[kBias] = const_cast<void*>(bias);
  fe::error_t status = plan.graph->execute(handle, pack, workspace);
  launch_check(status.is_good(), ErrorKind::Cuda, "cuDNN SDPA failed on ", problem.to_string(),
               ": ", status.get_message());
}

}  // namespace kiln::cuda
