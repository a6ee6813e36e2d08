// Model and Engine for the Python module, and the input checks every run shares (objects.h).
#include "objects.h"

#include "driver/model_runner.h"
#include "driver/reports.h"
#include "ir/graph.h"
#ifdef KILN_HAS_CUDA
#include "backends/cuda/runtime/gpu_engine.h"
#endif

namespace kiln::python {
namespace {

std::string shape_of(const ir::Value& value) { return value.shape.to_string(); }

[[noreturn]] void shape_error(const ir::Value& input, const Dims& given, const std::string& why) {
  throw nb::value_error(("input '" + input.name + "' has shape " + dims_to_string(given) +
                         ", but the model takes " + shape_of(input) + ": " + why)
                            .c_str());
}

}  // namespace

std::map<std::string, Dims> check_inputs(const ir::Graph& graph, const Arrays& inputs) {
  // The message lists the model's inputs; built only for an error.
  auto names = [&graph] {
    std::string text;
    for (const std::string& name : names_of(graph.inputs()))
      text += (text.empty() ? "'" : ", '") + name + "'";
    return text;
  };
  for (const auto& [name, array] : inputs) {
    const ir::Value* value = graph.find_value(name);
    if (value == nullptr || !value->is_graph_input || value->is_constant())
      throw nb::value_error(
          ("the model has no input '" + name + "' (its inputs: " + names() + ")").c_str());
  }
  std::map<std::string, Dims> dims;
  std::map<std::string, std::pair<int64_t, std::string>> symbols;  // size, the input that set it
  for (const ir::Value* input : graph.inputs()) {
    if (input->is_constant()) continue;
    auto found = inputs.find(input->name);
    if (found == inputs.end())
      throw nb::value_error(
          ("input '" + input->name + "' was not given (the model's inputs: " + names() + ")")
              .c_str());
    Dims given = dims_of(found->second);
    if (input->shape.rank_known()) {
      const std::vector<ir::Dim>& declared = input->shape.dims();
      if (declared.size() != given.size())
        shape_error(*input, given, "rank " + std::to_string(declared.size()) + " expected");
      for (size_t axis = 0; axis < given.size(); ++axis) {
        const ir::Dim& dim = declared[axis];
        if (dim.is_static() && dim.value != given[axis])
          shape_error(*input, given,
                      "dim " + std::to_string(axis) + " must be " + std::to_string(dim.value));
        if (!dim.is_symbolic()) continue;
        auto [found, inserted] = symbols.try_emplace(dim.symbol, given[axis], input->name);
        if (!inserted && found->second.first != given[axis])
          shape_error(*input, given,
                      "dim " + std::to_string(axis) + " is '" + dim.symbol + "', which input '" +
                          found->second.second + "' gave as " +
                          std::to_string(found->second.first));
      }
    }
    dims.emplace(input->name, std::move(given));
  }
  return dims;
}

std::vector<std::string> names_of(const std::vector<ir::Value*>& values) {
  std::vector<std::string> names;
  for (const ir::Value* value : values) {
    if (!value->is_constant()) names.push_back(value->name);
  }
  return names;
}

Framework result_framework(const nb::dict& inputs, const std::optional<std::string>& requested) {
  if (requested) return framework_from_name(*requested);
  std::optional<Framework> common;
  for (auto [key, value] : inputs) {
    Framework framework = framework_of(value);
    if (common && *common != framework) return Framework::DLPack;
    common = framework;
  }
  return common.value_or(Framework::NumPy);
}

Model::Model(const std::string& path) : path_(path), model_(open_model(path)) {}

nb::dict Model::run(const nb::dict& inputs, const std::string& precisions,
                    const std::string& backend, bool strongly_typed,
                    const std::map<std::string, int64_t>& dims, uint64_t seed,
                    const std::set<std::string>& bf16_views,
                    const std::optional<std::string>& framework) const {
  Framework returned = result_framework(inputs, framework);
  std::map<std::string, Tensor> tensors;
  if (inputs.size() == 0) {
    tensors = make_random_inputs(model_.graph, seed, dims);
  } else {
    Arrays arrays = read_arrays(inputs, "input");
    check_inputs(model_.graph, arrays);
    for (const ir::Value* input : model_.graph.inputs()) {
      if (input->is_constant()) continue;
      const InputArray& array = arrays.at(input->name);
      if (on_cuda(array))
        throw nb::value_error(("input '" + input->name +
                               "' is on the GPU: Model.run takes host arrays (build an engine "
                               "and run a context for device tensors)")
                                  .c_str());
      tensors.emplace(input->name, host_tensor(array, input->name, input->dtype,
                                               bf16_views.contains(input->name)));
    }
  }
  std::map<std::string, Tensor> results;
  {
    nb::gil_scoped_release release;
    // The graph loaded once by the constructor, not the file again.
    driver::ModelRunner runner(ir::copy_graph(model_.graph), parse_precisions(precisions),
                               strongly_typed, driver::resolve_backend(backend));
    results = runner.run(tensors);
  }
  nb::dict named;
  for (auto& [name, tensor] : results)
    named[name.c_str()] = host_array(std::move(tensor), returned);
  return named;
}

std::shared_ptr<cuda::Engine> EngineData::gpu_engine() {
#ifdef KILN_HAS_CUDA
  std::lock_guard<std::mutex> lock(mutex);
  if (!gpu) {
    engine::check_engine_architecture(loaded.header, path.empty() ? "this engine" : path,
                                      cuda::architecture_name(cuda::compute_capability()),
                                      cuda::device_name());
    gpu = std::make_shared<cuda::Engine>(ir::copy_graph(loaded.graph), loaded.prepared_weights,
                                         loaded.config.workspace_bytes, loaded.kernels,
                                         loaded.tuned_algorithms);
  }
  return gpu;
#else
  fail(ErrorKind::Unsupported, "this kiln module was built without CUDA");
#endif
}

Engine Engine::build(const Model& model, const driver::BuildRequest& request) {
  driver::BuiltEngine built;
  {
    nb::gil_scoped_release release;
    built = driver::build_model_engine(ir::copy_graph(model.loaded().graph), request);
  }
  auto data = std::make_shared<EngineData>();
  data->loaded.graph = std::move(built.built.graph);
  data->loaded.config = std::move(built.built.config);
  data->loaded.header = std::move(built.built.header);
  data->loaded.header.kiln_version = engine::kiln_version();
  data->loaded.layer_timings = std::move(built.built.layer_timings);
  data->loaded.kernels = std::move(built.kernels);
  data->loaded.tuned_algorithms = std::move(built.tuned_algorithms);
  return Engine(std::move(data));
}

Engine Engine::load(const std::string& path) {
  auto data = std::make_shared<EngineData>();
  data->loaded = engine::read_engine(path);
  data->path = path;
  return Engine(std::move(data));
}

void Engine::save(const std::string& path) {
  const engine::LoadedEngine& loaded = data_->loaded;
  nb::gil_scoped_release release;
  engine::write_engine(path, loaded.graph, loaded.config, loaded.header, loaded.layer_timings,
                       loaded.kernels, loaded.tuned_algorithms);
}

std::string Engine::report_json() const { return driver::engine_report(data_->loaded).dump(); }

}  // namespace kiln::python
