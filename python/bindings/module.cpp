// kiln._kiln: the Python module over Kiln's C++ library. Python's kiln package (python/kiln)
// re-exports it with the array conversions NumPy and torch need; errors become the
// exception classes of kiln._errors, carrying Kiln's message.
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/set.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/error.h"
#include "driver/reports.h"
#include "engine/engine_file.h"
#include "kiln/summary.h"
#include "objects.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {
namespace {

const char* exception_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidModel:
      return "InvalidModelError";
    case ErrorKind::Unsupported:
      return "UnsupportedError";
    case ErrorKind::InvalidArgument:
      return "InvalidArgumentError";
    case ErrorKind::Runtime:
      return "KilnRuntimeError";
    case ErrorKind::Cuda:
      return "CudaError";
  }
  return "Error";
}

void translate_errors(const std::exception_ptr& error, void*) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& kiln_error) {
    nb::object type = nb::module_::import_("kiln._errors").attr(exception_name(kiln_error.kind()));
    PyErr_SetString(type.ptr(), kiln_error.what());
  }
}

driver::BuildRequest build_request(const std::string& precisions, bool strongly_typed,
                                   const std::map<std::string, std::string>& layer_precisions,
                                   const std::map<std::string, int64_t>& dims,
                                   const std::map<std::string, std::pair<int64_t, int64_t>>& ranges,
                                   const std::string& timing_cache, int64_t workspace_mib,
                                   const std::string& backend, const std::string& conv_layout) {
  driver::BuildRequest request;
  check(conv_layout == "nhwc" || conv_layout == "nchw", ErrorKind::InvalidArgument, "conv_layout '",
        conv_layout, "' (valid: nhwc, nchw)");
  request.config.channels_last = conv_layout == "nhwc";
  request.config.enabled_precisions = parse_precisions(precisions);
  request.config.strongly_typed = strongly_typed;
  check(workspace_mib > 0, ErrorKind::InvalidArgument, "workspace_mib must be positive");
  request.config.workspace_bytes = size_t(workspace_mib) << 20;
  for (const auto& [key, name] : layer_precisions) {
    std::optional<Precision> precision = precision_from_name(name);
    check(precision.has_value(), ErrorKind::InvalidArgument, "layer_precisions['", key,
          "']: unknown precision '", name, "' (valid: fp32, tf32, fp16, bf16)");
    request.config.layer_precisions[key] = *precision;
  }
  request.dim_sizes = dims;
  for (const auto& [name, bounds] : ranges)
    request.dim_ranges[name] = ir::DimRange{bounds.first, bounds.second};
  request.timing_cache = timing_cache;
  request.backend = driver::resolve_backend(backend);
  return request;
}

}  // namespace

void bind_classes(nb::module_& m);

}  // namespace kiln::python

NB_MODULE(_kiln, m) {
  using namespace kiln::python;
  m.doc() = "Kiln's C++ library (the kiln package wraps it; import kiln instead)";
  nb::register_exception_translator(translate_errors);
  // Engines live on in torch.compile's caches until the interpreter exits; that is not a leak
  // worth a warning at shutdown.
  nb::set_leak_warnings(false);
  m.attr("__version__") = kiln::engine::kiln_version();
#ifdef KILN_HAS_CUDA
  m.attr("built_with_cuda") = true;
#else
  m.attr("built_with_cuda") = false;
#endif
  m.def("cuda_available", [] {
    try {
      return kiln::driver::resolve_backend("") == kiln::driver::Backend::Cuda;
    } catch (const kiln::Error&) {
      return false;
    }
  });
  m.def("inspect_json", [](const std::string& path) {
    kiln::LoadOptions options;
    options.keep_unsupported = true;
    if (kiln::engine::is_engine_file(path))
      return kiln::driver::engine_report(kiln::engine::read_engine(path)).dump();
    return kiln::driver::model_report(kiln::open_model(path, options)).dump();
  });
  m.def(
      "compare",
      [](const InputArray& actual, const InputArray& reference) {
        kiln::Tensor a = host_tensor(actual, "actual", dtype_of(actual.dtype(), "actual"), false);
        kiln::Tensor b =
            host_tensor(reference, "reference", dtype_of(reference.dtype(), "reference"), false);
        kiln::TensorComparison result = kiln::compare_tensors(a, b);
        return std::make_pair(result.normalized_error, result.max_abs_diff);
      },
      "actual"_a, "reference"_a);

  nb::class_<Model>(m, "Model")
      .def(nb::init<const std::string&>(), "path"_a)
      .def_prop_ro("path", &Model::path)
      .def_prop_ro("format", [](const Model& model) { return model.loaded().format; })
      .def_prop_ro("input_names",
                   [](const Model& model) { return names_of(model.loaded().graph.inputs()); })
      .def_prop_ro("output_names",
                   [](const Model& model) { return names_of(model.loaded().graph.outputs()); })
      .def("summary_json",
           [](const Model& model) { return kiln::driver::model_report(model.loaded()).dump(); })
      .def("run", &Model::run, "inputs"_a, "precisions"_a, "backend"_a, "strongly_typed"_a,
           "dims"_a, "seed"_a, "bf16_views"_a, "framework"_a.none());
  m.def(
      "build",
      [](const Model& model, const std::string& precisions, bool strongly_typed,
         const std::map<std::string, std::string>& layer_precisions,
         const std::map<std::string, int64_t>& dims,
         const std::map<std::string, std::pair<int64_t, int64_t>>& dim_ranges,
         const std::string& timing_cache, int64_t workspace_mib, const std::string& backend,
         const std::string& conv_layout) {
        return Engine::build(
            model, build_request(precisions, strongly_typed, layer_precisions, dims, dim_ranges,
                                 timing_cache, workspace_mib, backend, conv_layout));
      },
      "model"_a, "precisions"_a, "strongly_typed"_a, "layer_precisions"_a, "dims"_a, "dim_ranges"_a,
      "timing_cache"_a, "workspace_mib"_a, "backend"_a, "conv_layout"_a);
  bind_classes(m);
}
