// The objects the Python module exposes (module.cpp binds them): a loaded model, an engine
// (built here or read from a file) and an execution context over it. Thin: the work is the
// C++ library's (src/driver, the engine builder and runtime).
#pragma once

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "arrays.h"
#include "driver/engine_builder.h"
#include "engine/engine_file.h"
#include "kiln/kiln.h"

namespace kiln::cuda {
class Engine;
class ExecutionContext;
}  // namespace kiln::cuda

namespace kiln::python {

// The inputs a graph takes, checked against the arrays given: every input present, no
// unknown name, the declared rank and static dims, and one size per symbolic dim. Returns
// each input's dims; throws ValueError naming the input, its shape and what was expected.
std::map<std::string, Dims> check_inputs(const ir::Graph& graph, const Arrays& inputs);

// The names of a graph's non-constant inputs or of its outputs.
std::vector<std::string> names_of(const std::vector<ir::Value*>& values);

// The framework results are returned in: `requested` if given, else the inputs' (NumPy when
// they are NumPy arrays or there are none, torch for torch tensors, else DLPack).
Framework result_framework(const nb::dict& inputs, const std::optional<std::string>& requested);

class Model {
 public:
  explicit Model(const std::string& path);
  const std::string& path() const { return path_; }
  const LoadedModel& loaded() const { return model_; }
  // A one-off run, as `kiln run` does it: random inputs (of `seed`, symbolic dims from
  // `dims`, else 1) where `inputs` is empty.
  nb::dict run(const nb::dict& inputs, const std::string& precisions, const std::string& backend,
               bool strongly_typed, const std::map<std::string, int64_t>& dims, uint64_t seed,
               const std::set<std::string>& bf16_views,
               const std::optional<std::string>& framework) const;

 private:
  std::string path_;
  LoadedModel model_;
};

// An engine's data, shared by the Python Engine and its contexts.
struct EngineData {
  engine::LoadedEngine loaded;
  std::string path;  // the file it was read from, "" for a build not yet saved
  std::mutex mutex;
  std::shared_ptr<cuda::Engine> gpu;  // made on the first CUDA context
  std::shared_ptr<cuda::Engine> gpu_engine();
};

class Context;

class Engine {
 public:
  explicit Engine(std::shared_ptr<EngineData> data) : data_(std::move(data)) {}
  static Engine build(const Model& model, const driver::BuildRequest& request);
  static Engine load(const std::string& path);
  void save(const std::string& path);
  std::string report_json() const;  // driver::engine_report
  const std::shared_ptr<EngineData>& data() const { return data_; }

 private:
  std::shared_ptr<EngineData> data_;
};

// One execution context: runs the engine on the CPU reference or on the GPU. On the GPU it
// keeps a small cache of runtime contexts, one per set of input dims (each plans its own
// arena), so that calls with other sizes re-plan only the first time.
class Context {
 public:
  Context(std::shared_ptr<EngineData> data, const std::string& backend, bool cuda_graph,
          size_t cached_shapes);
  ~Context();
  const char* backend() const;
  bool cuda_graph() const { return cuda_graph_; }
  nb::dict run(const nb::dict& inputs, const std::optional<nb::dict>& outputs,
               std::optional<uintptr_t> stream, const std::set<std::string>& bf16_views,
               const std::optional<std::string>& framework);
  // kiln.torch's fast path: torch CUDA tensors in `input_names` order (contiguous, on the
  // current device), outputs written into `outputs` (torch CUDA tensors in `output_names`
  // order), on `stream`. Returns false, having done nothing, where any tensor is not such a
  // tensor (the caller then takes run()); throws as run() does for wrong dtypes or shapes.
  bool run_torch(const std::vector<std::string>& input_names, const nb::tuple& inputs,
                 const std::vector<std::string>& output_names, const nb::tuple& outputs,
                 uintptr_t stream);
  // On the GPU: each output's dims and dtype name for inputs of these dims (planning the
  // context for them if it is new), so that callers can allocate outputs= themselves.
  std::map<std::string, std::pair<Dims, std::string>> output_specs(
      const std::map<std::string, Dims>& input_dims);
  // For measuring this layer's overhead (bench/bench_python.py): `iterations` back-to-back
  // C++ enqueues on the GPU context for `input_dims` (inputs as they are in its own buffers),
  // after a warm-up. Returns host microseconds per enqueue call and wall microseconds per
  // inference, the final wait included.
  std::pair<double, double> time_enqueue(const std::map<std::string, Dims>& input_dims,
                                         int iterations, uintptr_t stream);
  // As `kiln bench` times an engine, on this context (inputs as they are in its own
  // buffers): CUDA events around each C++ enqueue, waiting for each; milliseconds per run.
  std::vector<double> time_device(const std::map<std::string, Dims>& input_dims, int iterations,
                                  uintptr_t stream);

 private:
  struct Gpu;  // context.cpp: the runtime contexts by dims
  nb::dict run_host(const Arrays& inputs, const std::map<std::string, Dims>& dims,
                    const std::set<std::string>& bf16_views, Framework framework);
  nb::dict run_device(const Arrays& inputs, const std::optional<nb::dict>& outputs,
                      const std::map<std::string, Dims>& dims, uintptr_t stream,
                      Framework framework);

  std::shared_ptr<EngineData> data_;
  driver::Backend backend_;
  bool cuda_graph_;
  std::mutex mutex_;  // one run at a time: a context serves one thread
  std::optional<CpuSession> cpu_;
  std::unique_ptr<Gpu> gpu_;
};

}  // namespace kiln::python
