// ModelRunner: one interface over the CPU reference session and the GPU engine, so the CLI
// subcommands and the Python module need not care which backend runs; CUDA parts compile only with
// KILN_HAS_CUDA.
#include "driver/model_runner.h"

#include <chrono>
#include <optional>

#include "engine/engine_file.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

#ifdef KILN_HAS_CUDA
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/execution_context.h"
#endif

namespace kiln::driver {

const char* backend_name(Backend backend) { return backend == Backend::Cuda ? "cuda" : "cpu"; }

Backend resolve_backend(const std::string& requested) {
#ifdef KILN_HAS_CUDA
  bool built_with_cuda = true;
  bool device_present = cuda::cuda_device_available();
#else
  bool built_with_cuda = false;
  bool device_present = false;
#endif
  if (requested.empty()) return device_present ? Backend::Cuda : Backend::Cpu;
  if (requested == "cpu") return Backend::Cpu;
  check(requested == "cuda", ErrorKind::InvalidArgument, "unknown backend '", requested,
        "' (valid: cpu, cuda)");
  check(built_with_cuda, ErrorKind::Unsupported,
        "backend 'cuda' is not available: this kiln was built without CUDA (reconfigure with "
        "-DKILN_CUDA=ON, or use --backend cpu)");
  check(device_present, ErrorKind::Unsupported,
        "backend 'cuda' needs a GPU, but the CUDA runtime found no CUDA device on this "
        "machine (use --backend cpu)");
  return Backend::Cuda;
}

namespace {

// {"input_ids": [32, 128]} with input_ids declared [batch, 128] → {"batch": 32}.
std::map<std::string, int64_t> symbol_sizes(const ir::Graph& graph,
                                            const std::map<std::string, Dims>& input_dims) {
  std::map<std::string, int64_t> sizes;
  for (const ir::Value* input : graph.inputs()) {
    auto dims = input_dims.find(input->name);
    if (dims == input_dims.end() || !input->shape.rank_known() ||
        input->shape.rank() != int64_t(dims->second.size())) {
      continue;
    }
    for (size_t axis = 0; axis < dims->second.size(); ++axis) {
      const ir::Dim& dim = input->shape.dims()[axis];
      if (dim.is_symbolic()) sizes.emplace(dim.symbol, dims->second[axis]);
    }
  }
  return sizes;
}

}  // namespace

struct ModelRunner::Engines {
  std::optional<CpuSession> cpu;
#ifdef KILN_HAS_CUDA
  std::shared_ptr<cuda::Engine> engine;
  std::unique_ptr<cuda::ExecutionContext> context;
  std::map<std::string, Dims> input_dims;  // what the context was made for
  cuda::Stream stream;
#endif
};

ModelRunner::ModelRunner(const std::string& path, std::set<Precision> precisions,
                         bool strongly_typed, Backend backend)
    : backend_(backend),
      precisions_(std::move(precisions)),
      strongly_typed_(strongly_typed),
      engines_(std::make_unique<Engines>()) {
  if (!engine::is_engine_file(path)) {
    check_enabled();  // before reading the file, as a bad argument
    run_model(load_model(path));
    return;
  }
  // An engine runs in the precisions it was built with; --precision does not apply.
  engine::LoadedEngine loaded = engine::read_engine(path);
  precisions_ = loaded.config.enabled_precisions;
  strongly_typed_ = loaded.config.strongly_typed;
  tuned_dim_sizes_ = symbol_sizes(loaded.graph, loaded.config.tuned_input_dims);
#ifdef KILN_HAS_CUDA
  if (backend_ == Backend::Cuda) {
    engines_->engine = cuda::Engine::from_loaded(std::move(loaded), path);  // checks the GPU
    return;
  }
#endif
  engines_->cpu.emplace(std::move(loaded.graph), precisions_, strongly_typed_,
                        /*keep_precisions=*/true);
}

ModelRunner::ModelRunner(ir::Graph model, std::set<Precision> precisions, bool strongly_typed,
                         Backend backend)
    : backend_(backend),
      precisions_(std::move(precisions)),
      strongly_typed_(strongly_typed),
      engines_(std::make_unique<Engines>()) {
  run_model(std::move(model));
}

void ModelRunner::check_enabled() const {
  check(!precisions_.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
}

void ModelRunner::run_model(ir::Graph graph) {
  check_enabled();
  if (backend_ == Backend::Cpu) {
    engines_->cpu.emplace(std::move(graph), precisions_, strongly_typed_);
    return;
  }
#ifdef KILN_HAS_CUDA
  // A model (not an engine) runs with the heuristic's precisions, as `kiln build` would
  // choose them without timing.
  passes::fold_batch_norm(graph);
  passes::recognize_gelu(graph);
  passes::fuse_epilogues(graph);
  passes::assign_precisions(graph, precisions_, strongly_typed_);
  engines_->engine = std::make_shared<cuda::Engine>(std::move(graph));
#endif
}

ModelRunner::ModelRunner(ir::Graph built_graph, const engine::BuildConfig& config, Backend backend)
    : backend_(backend),
      precisions_(config.enabled_precisions),
      strongly_typed_(config.strongly_typed),
      engines_(std::make_unique<Engines>()) {
  if (backend_ == Backend::Cpu) {
    engines_->cpu.emplace(std::move(built_graph), precisions_, strongly_typed_,
                          /*keep_precisions=*/true);
    return;
  }
#ifdef KILN_HAS_CUDA
  engines_->engine = std::make_shared<cuda::Engine>(
      std::move(built_graph), std::map<std::string, Tensor>{}, config.workspace_bytes);
#endif
}

ModelRunner::~ModelRunner() = default;

const ir::Graph& ModelRunner::graph() const {
#ifdef KILN_HAS_CUDA
  if (engines_->engine) return engines_->engine->graph();
#endif
  return engines_->cpu->graph();
}

void ModelRunner::prepare([[maybe_unused]] const std::map<std::string, Tensor>& inputs) {
  if (engines_->cpu) return;
#ifdef KILN_HAS_CUDA
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims.emplace(name, tensor.dims());
  if (!engines_->context) {
    engines_->context = std::make_unique<cuda::ExecutionContext>(
        engines_->engine, dims, cuda::ContextOptions{.fuse_groups = fuse_groups_});
    engines_->input_dims = dims;
    engines_->stream = cuda::create_stream();
  }
  check(dims == engines_->input_dims, ErrorKind::InvalidArgument,
        "the execution context was made for other input dims; give the same dims on every run");
#endif
}

std::map<std::string, Tensor> ModelRunner::run(const std::map<std::string, Tensor>& inputs) {
  if (engines_->cpu) return engines_->cpu->run(inputs);
#ifdef KILN_HAS_CUDA
  prepare(inputs);
  std::vector<Tensor> results = engines_->context->run(inputs);
  std::vector<std::string> names = engines_->context->output_names();
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < results.size(); ++i) named.emplace(names[i], std::move(results[i]));
  return named;
#else
  fail(ErrorKind::Unsupported, "backend 'cuda' is not available in this build");
#endif
}

std::vector<std::string> ModelRunner::host_nodes() const {
#ifdef KILN_HAS_CUDA
  if (engines_->context) return engines_->context->host_nodes();
#endif
  return {};
}

std::vector<double> ModelRunner::time_on_device(
    [[maybe_unused]] const std::map<std::string, Tensor>& inputs, [[maybe_unused]] int warmup,
    [[maybe_unused]] int iterations, [[maybe_unused]] bool cuda_graph) {
#ifdef KILN_HAS_CUDA
  check(engines_->context != nullptr, ErrorKind::Runtime, "time_on_device before prepare");
  cuda::ExecutionContext& context = *engines_->context;
  cudaStream_t stream = engines_->stream.get();
  context.run(inputs);  // uploads the inputs into the context's input buffers
  context.use_cuda_graph(cuda_graph);
  cuda::Event start_owner = cuda::create_timing_event();
  cuda::Event stop_owner = cuda::create_timing_event();
  cudaEvent_t start = start_owner.get();
  cudaEvent_t stop = stop_owner.get();
  for (int i = 0; i < warmup; ++i) context.enqueue(stream);
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    KILN_CUDA_CHECK(cudaEventRecord(start, stream));
    context.enqueue(stream);
    KILN_CUDA_CHECK(cudaEventRecord(stop, stream));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  context.use_cuda_graph(false);
  return times;
#else
  fail(ErrorKind::Unsupported, "device timing needs the cuda backend");
#endif
}

std::vector<double> ModelRunner::time_runs(const std::map<std::string, Tensor>& inputs, int warmup,
                                           int iterations, bool cuda_graph) {
  if (backend_ == Backend::Cuda) return time_on_device(inputs, warmup, iterations, cuda_graph);
  for (int i = 0; i < warmup; ++i) run(inputs);
  std::vector<double> latencies_ms;
  latencies_ms.reserve(size_t(iterations));
  for (int i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    run(inputs);
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  return latencies_ms;
}

std::string timing_method(Backend backend, bool cuda_graph) {
  if (backend == Backend::Cpu) return "wall clock (steady_clock) per run";
  return std::string("CUDA events around each inference's enqueue, inputs already on the device") +
         (cuda_graph ? ", replaying a captured CUDA graph" : "");
}

std::vector<LayerProfile> ModelRunner::profile_layers([[maybe_unused]] int iterations) {
#ifdef KILN_HAS_CUDA
  check(engines_->context != nullptr, ErrorKind::Runtime, "profile_layers before prepare");
  std::vector<LayerProfile> layers;
  for (const cuda::LayerTime& step :
       engines_->context->profile_layers(engines_->stream.get(), iterations)) {
    layers.push_back({step.name, step.op, step.precision, step.tactic, step.on_host, step.median_ms,
                      step.bytes, step.flops});
  }
  return layers;
#else
  fail(ErrorKind::Unsupported, "layer profiles need the cuda backend");
#endif
}

}  // namespace kiln::driver
