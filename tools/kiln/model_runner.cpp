// ModelRunner: one interface over the CPU reference session and the CUDA executor, so the
// subcommands need not care which backend runs; CUDA parts compile only with KILN_HAS_CUDA.
#include "model_runner.h"

#include <optional>

#include "engine/engine_file.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

#ifdef KILN_HAS_CUDA
#include "backends/cuda/cuda_executor.h"
#include "backends/cuda/cuda_resources.h"
#endif

namespace kiln::cli {

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

struct ModelRunner::Engines {
  std::optional<CpuSession> cpu;
  std::unique_ptr<ir::Graph> cuda_graph;  // precisions assigned; the executor reads it
#ifdef KILN_HAS_CUDA
  std::unique_ptr<cuda::CudaExecutor> cuda_executor;
  std::map<std::string, Dims> cuda_input_dims;  // what the executor was built for
#endif
};

ModelRunner::ModelRunner(const std::string& path, std::set<Precision> precisions,
                         bool strongly_typed, Backend backend)
    : backend_(backend),
      precisions_(std::move(precisions)),
      strongly_typed_(strongly_typed),
      engines_(std::make_unique<Engines>()) {
  ir::Graph graph;
  bool keep_precisions = engine::is_engine_file(path);
  if (keep_precisions) {
    // An engine runs in the precisions it was built with; --precision does not apply.
    engine::LoadedEngine loaded = engine::read_engine(path);
    precisions_ = loaded.config.enabled_precisions;
    strongly_typed_ = loaded.config.strongly_typed;
    graph = std::move(loaded.graph);
  } else {
    graph = load_model(path);
  }
  if (backend_ == Backend::Cpu) {
    engines_->cpu.emplace(std::move(graph), precisions_, strongly_typed_, keep_precisions);
    return;
  }
  check(!precisions_.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
  if (!keep_precisions) passes::assign_precisions(graph, precisions_, strongly_typed_);
  engines_->cuda_graph = std::make_unique<ir::Graph>(std::move(graph));
}

ModelRunner::~ModelRunner() = default;

const ir::Graph& ModelRunner::graph() const {
  return engines_->cpu ? engines_->cpu->graph() : *engines_->cuda_graph;
}

void ModelRunner::prepare([[maybe_unused]] const std::map<std::string, Tensor>& inputs) {
  if (engines_->cpu) return;
#ifdef KILN_HAS_CUDA
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims.emplace(name, tensor.dims());
  if (!engines_->cuda_executor) {
    engines_->cuda_executor = std::make_unique<cuda::CudaExecutor>(*engines_->cuda_graph, dims);
    engines_->cuda_input_dims = dims;
  }
  check(dims == engines_->cuda_input_dims, ErrorKind::InvalidArgument,
        "the CUDA executor was built for other input dims; give the same dims on every run");
#endif
}

std::map<std::string, Tensor> ModelRunner::run(const std::map<std::string, Tensor>& inputs) {
  if (engines_->cpu) return engines_->cpu->run(inputs);
#ifdef KILN_HAS_CUDA
  prepare(inputs);
  std::vector<Tensor> results = engines_->cuda_executor->run(inputs);
  const auto& outputs = engines_->cuda_graph->outputs();
  check(results.size() == outputs.size(), ErrorKind::Runtime, "the CUDA executor returned ",
        results.size(), " outputs for a graph with ", outputs.size());
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < results.size(); ++i)
    named.emplace(outputs[i]->name, std::move(results[i]));
  return named;
#else
  fail(ErrorKind::Unsupported, "backend 'cuda' is not available in this build");
#endif
}

std::vector<std::string> ModelRunner::host_nodes() const {
#ifdef KILN_HAS_CUDA
  if (engines_->cuda_executor) return engines_->cuda_executor->host_nodes();
#endif
  return {};
}

}  // namespace kiln::cli
