// Channels-last convolutions with fused epilogues through the cuDNN graph API (cudnn_conv.h):
// the graph per problem, the engine configuration timed once (or rebuilt from a stored choice)
// and the launch.
#include "backends/cuda/kernels/cudnn_conv.h"

// As in cudnn_sdpa.cpp: Kiln builds against Debian's JSON library, the frontend's copy stays out.
#define CUDNN_FRONTEND_SKIP_JSON_LIB
#include <cudnn_frontend.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <unordered_map>
#include <vector>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "core/tensor.h"

namespace kiln::cuda {
namespace {

namespace fe = cudnn_frontend;

// The graph's tensors, named for the variant pack.
enum Uid : int64_t { kX = 1, kW, kBias, kResidual, kY };

// How many built candidates a new problem times, and how many launches each is timed over.
constexpr int64_t kCandidates = 8;
constexpr int kTimedLaunches = 5;
constexpr int kTimingRounds = 3;

std::atomic<int64_t> graph_launches{0};

fe::DataType_t frontend_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float16:
      return fe::DataType_t::HALF;
    case DType::BFloat16:
      return fe::DataType_t::BFLOAT16;
    default:
      return fe::DataType_t::FLOAT;
  }
}

// Strides of a logically N, C, H, W tensor stored as N, H, W, C.
std::vector<int64_t> nhwc_strides(const std::array<int64_t, 4>& d) {
  return {d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]};
}

std::shared_ptr<fe::graph::Tensor_attributes> tensor(fe::graph::Graph& graph, const char* name,
                                                     int64_t uid, const std::array<int64_t, 4>& d) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({d[0], d[1], d[2], d[3]})
                          .set_stride(nhwc_strides(d)));
}

std::shared_ptr<fe::graph::Tensor_attributes> pointwise(
    fe::graph::Graph& graph, fe::PointwiseMode_t mode,
    std::shared_ptr<fe::graph::Tensor_attributes> a,
    std::shared_ptr<fe::graph::Tensor_attributes> b = nullptr) {
  auto attributes =
      fe::graph::Pointwise_attributes().set_mode(mode).set_compute_data_type(fe::DataType_t::FLOAT);
  return b ? graph.pointwise(std::move(a), std::move(b), attributes)
           : graph.pointwise(std::move(a), attributes);
}

std::shared_ptr<fe::graph::Graph> describe(const ConvProblem& p,
                                           const std::array<int64_t, 4>& y_dims) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(frontend_dtype(p.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto x = tensor(*graph, "X", kX, p.x);
  auto w = tensor(*graph, "W", kW, p.w);
  auto conv = fe::graph::Conv_fprop_attributes()
                  .set_name("conv")
                  .set_pre_padding({p.pad[0], p.pad[1]})
                  .set_post_padding({p.pad_end[0], p.pad_end[1]})
                  .set_stride({p.stride[0], p.stride[1]})
                  .set_dilation({p.dilation[0], p.dilation[1]})
                  .set_compute_data_type(fe::DataType_t::FLOAT);
  auto y = graph->conv_fprop(x, w, conv);
  if (p.bias) {
    y = pointwise(*graph, fe::PointwiseMode_t::ADD, y,
                  tensor(*graph, "bias", kBias, {1, y_dims[1], 1, 1}));
  }
  if (p.residual) {
    y = pointwise(*graph, fe::PointwiseMode_t::ADD, y,
                  tensor(*graph, "residual", kResidual, y_dims));
  }
  if (p.relu) y = pointwise(*graph, fe::PointwiseMode_t::RELU_FWD, y);
  if (p.silu) {
    y = graph->pointwise(y, fe::graph::Pointwise_attributes()
                                .set_mode(fe::PointwiseMode_t::SWISH_FWD)
                                .set_swish_beta(1.f)
                                .set_compute_data_type(fe::DataType_t::FLOAT));
  }
  y->set_output(true)
      .set_uid(kY)
      .set_data_type(frontend_dtype(p.dtype))
      .set_dim({y_dims[0], y_dims[1], y_dims[2], y_dims[3]})
      .set_stride(nhwc_strides(y_dims));
  graph->deselect_workspace_greater_than(int64_t(p.workspace_size));
  return graph;
}

// Drops the engine configurations `p` must not run (the frontend filters the plans already
// created): nondeterministic ones (every run of an engine gives the same bits), and for exact
// FP32 layers the TF32 tensor-core ones.
fe::error_t filter_plans(fe::graph::Graph& graph, const ConvProblem& p) {
  std::vector<fe::NumericalNote_t> barred{fe::NumericalNote_t::NONDETERMINISTIC};
  if (p.dtype == DType::Float32 && p.math == CUDNN_FMA_MATH) {
    barred.push_back(fe::NumericalNote_t::TENSOR_CORE);
    barred.push_back(fe::NumericalNote_t::DOWN_CONVERT_INPUTS);
  }
  graph.deselect_numeric_notes(barred);
  return {fe::error_code_t::OK, ""};
}

std::string problem_text(const ConvProblem& p) {
  std::string text = std::string(dtype_name(p.dtype)) + " NHWC conv x" +
                     dims_to_string(Dims(p.x.begin(), p.x.end())) + " w" +
                     dims_to_string(Dims(p.w.begin(), p.w.end()));
  if (p.bias) text += " +bias";
  if (p.residual) text += " +residual";
  if (p.relu) text += " relu";
  if (p.silu) text += " silu";
  return text;
}

// Runs `steps` in order; the first failure's message, or "" when all succeeded.
std::string run_steps(std::initializer_list<std::function<fe::error_t()>> steps) {
  for (const auto& step : steps) {
    fe::error_t status = step();
    if (status.is_bad()) return status.get_message();
  }
  return "";
}

using Pack = std::unordered_map<int64_t, void*>;

// The mean time of one launch of the plan at `index`, over the fastest of a few rounds.
float time_plan(fe::graph::Graph& graph, cudnnHandle_t handle, cudaStream_t stream, Pack& pack,
                void* space, int64_t index) {
  if (graph.execute_plan_at_index(handle, pack, space, index).is_bad())
    return std::numeric_limits<float>::infinity();
  Event start = create_timing_event();
  Event stop = create_timing_event();
  float best = std::numeric_limits<float>::infinity();
  for (int round = 0; round < kTimingRounds; ++round) {
    KILN_CUDA_CHECK(cudaEventRecord(start.get(), stream));
    for (int i = 0; i < kTimedLaunches; ++i) {
      if (graph.execute_plan_at_index(handle, pack, space, index).is_bad())
        return std::numeric_limits<float>::infinity();
    }
    KILN_CUDA_CHECK(cudaEventRecord(stop.get(), stream));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    best = std::min(best, ms / kTimedLaunches);
  }
  return best;
}

}  // namespace

struct ConvGraphCache::Entry {
  std::shared_ptr<fe::graph::Graph> graph;  // null where cuDNN refused the problem
  std::string refusal;
  int64_t index = 0;    // the execution plan that runs
  bool chosen = false;  // by timing or from the shared cache (else: heuristic, untimed)
};

ConvGraphCache::ConvGraphCache() = default;
ConvGraphCache::~ConvGraphCache() = default;

namespace {

// A graph for `choice`'s engine configuration alone; null (with `why`) if it no longer builds.
std::shared_ptr<fe::graph::Graph> build_choice(cudnnHandle_t handle, const ConvProblem& p,
                                               const std::array<int64_t, 4>& y_dims,
                                               const ConvPlan& choice, std::string& why) {
  std::shared_ptr<fe::graph::Graph> graph = describe(p, y_dims);
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  for (const auto& [type, value] : choice.knobs) knobs[static_cast<fe::KnobType_t>(type)] = value;
  why = run_steps({[&] { return graph->validate(); },
                   [&] { return graph->build_operation_graph(handle); },
                   [&] { return graph->create_execution_plan(choice.engine, knobs); },
                   [&] { return filter_plans(*graph, p); }, [&] { return graph->check_support(); },
                   [&] { return graph->build_plan_at_index(0); }});
  int64_t workspace = 0;
  if (why.empty() && graph->get_workspace_size_plan_at_index(0, workspace).is_bad()) {
    why = "no workspace size";
  }
  if (why.empty() && workspace > int64_t(p.workspace_size)) why = "needs more workspace";
  return why.empty() ? graph : nullptr;
}

// Builds the heuristics' candidates (up to kCandidates that build), times them on the given
// tensors when `timing`, and fills `entry` with the fastest (or the first, untimed).
void build_candidates(const ConvResources& r, const ConvProblem& p,
                      const std::array<int64_t, 4>& y_dims, Pack& pack, void* space, bool timing,
                      ConvGraphCache::Entry& entry) {
  std::shared_ptr<fe::graph::Graph> graph = describe(p, y_dims);
  std::string why = run_steps(
      {[&] { return graph->validate(); }, [&] { return graph->build_operation_graph(r.cudnn); },
       [&] {
         return graph->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
       },
       [&] { return filter_plans(*graph, p); }, [&] { return graph->check_support(); }});
  if (!why.empty()) {
    entry.refusal = "cuDNN's graph API does not run " + problem_text(p) + ": " + why;
    return;
  }
  std::vector<int64_t> built;
  for (int64_t i = 0; i < graph->get_execution_plan_count() && int64_t(built.size()) < kCandidates;
       ++i) {
    int64_t workspace = 0;
    if (graph->build_plan_at_index(i).is_good() &&
        graph->get_workspace_size_plan_at_index(i, workspace).is_good() &&
        workspace <= int64_t(p.workspace_size)) {
      built.push_back(i);
      if (!timing) break;
    }
  }
  if (built.empty()) {
    entry.refusal = "cuDNN's graph API built no engine for " + problem_text(p);
    return;
  }
  int64_t best = built[0];
  if (timing && built.size() > 1) {
    float best_ms = std::numeric_limits<float>::infinity();
    for (int64_t index : built) {
      float ms = time_plan(*graph, r.cudnn, r.stream, pack, space, index);
      if (ms < best_ms) best_ms = ms, best = index;
    }
    if (!(best_ms < std::numeric_limits<float>::infinity())) {
      entry.refusal = "no cuDNN graph engine ran " + problem_text(p);
      return;
    }
  }
  entry.graph = std::move(graph);
  entry.index = best;
  entry.chosen = timing;
}

// The entry for `p`: built once per context; a choice in the shared cache (another context's,
// or the engine file's) is rebuilt as it is, else candidates are timed when the stream is not
// being captured.
ConvGraphCache::Entry& find_entry(const ConvResources& r, const ConvProblem& p,
                                  const std::array<int64_t, 4>& y_dims, Pack& pack, void* space) {
  std::unique_ptr<ConvGraphCache::Entry>& slot = r.graphs->entries()[p];
  if (slot && (slot->chosen || slot->graph == nullptr)) return *slot;
  // Timing runs the convolution several times: it must not read what it writes.
  bool in_place = pack.count(kResidual) != 0 && pack.at(kResidual) == pack.at(kY);
  bool timing = r.plans != nullptr && !in_place && !stream_is_capturing(r.stream);
  if (slot && !timing) return *slot;  // the untimed heuristic choice until timing is possible
  auto entry = std::make_unique<ConvGraphCache::Entry>();
  std::optional<ConvPlan> known = r.plans != nullptr ? r.plans->find(p) : std::nullopt;
  if (known && known->engine >= 0) {
    std::string why;
    entry->graph = build_choice(r.cudnn, p, y_dims, *known, why);
    if (known->from_file) r.plans->settle(p, entry->graph != nullptr);
    entry->chosen = entry->graph != nullptr;
  }
  if (entry->graph == nullptr) {
    build_candidates(r, p, y_dims, pack, space, timing, *entry);
    if (entry->chosen) {
      ConvPlan plan;
      std::unordered_map<fe::KnobType_t, int64_t> knobs;
      if (entry->graph->get_engine_and_knobs_at_index(entry->index, plan.engine, knobs).is_good()) {
        for (const auto& [type, value] : knobs) plan.knobs.emplace_back(int64_t(type), value);
        std::sort(plan.knobs.begin(), plan.knobs.end());
        ConvPlan kept = r.plans->insert(p, plan);
        if (kept.engine != plan.engine || kept.knobs != plan.knobs) {
          // Another context chose first: run its choice, so every context gives the same bits.
          std::string why;
          std::shared_ptr<fe::graph::Graph> theirs = build_choice(r.cudnn, p, y_dims, kept, why);
          if (theirs != nullptr) entry->graph = std::move(theirs), entry->index = 0;
        }
      }
    }
  }
  slot = std::move(entry);
  return *slot;
}

}  // namespace

std::string run_conv_graph(const ConvResources& resources, const ConvProblem& problem,
                           const std::array<int64_t, 4>& y_dims, const void* x, const void* w,
                           const void* bias, const void* residual, void* y, void* space,
                           size_t space_size) {
  if (resources.graphs == nullptr) return "no cuDNN graph cache";
  launch_check(problem.channels_last && problem.graph_api, ErrorKind::InvalidArgument,
               "run_conv_graph takes channels_last graph-API problems");
  launch_check(problem.bias == (bias != nullptr) && problem.residual == (residual != nullptr),
               ErrorKind::InvalidArgument,
               "run_conv_graph: bias and residual pointers must match the problem");
  launch_check(problem.workspace_size <= space_size, ErrorKind::InvalidArgument,
               "run_conv_graph: the problem's workspace exceeds the space given");
  KILN_CUDA_CHECK(cudnnSetStream(resources.cudnn, resources.stream));
  // The frontend's variant pack takes mutable pointers; cuDNN only reads the inputs.
  Pack pack = {{kX, const_cast<void*>(x)}, {kW, const_cast<void*>(w)}, {kY, y}};
  if (bias != nullptr) pack[kBias] = const_cast<void*>(bias);
  if (residual != nullptr) pack[kResidual] = const_cast<void*>(residual);
  ConvGraphCache::Entry& entry = find_entry(resources, problem, y_dims, pack, space);
  if (entry.graph == nullptr) return entry.refusal;
  fe::error_t status =
      entry.graph->execute_plan_at_index(resources.cudnn, pack, space, entry.index);
  launch_check(status.is_good(), ErrorKind::Cuda, "cuDNN graph convolution failed on ",
               problem_text(problem), ": ", status.get_message());
  graph_launches.fetch_add(1, std::memory_order_relaxed);
  return "";
}

int64_t cudnn_graph_conv_launches() { return graph_launches.load(std::memory_order_relaxed); }

}  // namespace kiln::cuda
