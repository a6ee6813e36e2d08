// Engine and Context bindings (module.cpp binds the rest).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/set.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "objects.h"

namespace kiln::python {

using namespace nb::literals;

void bind_classes(nb::module_& m) {
  nb::class_<Engine>(m, "Engine")
      .def_static("load", &Engine::load, "path"_a)
      .def("save", &Engine::save, "path"_a)
      .def("report_json", &Engine::report_json)
      .def_prop_ro(
          "input_names",
          [](const Engine& engine) { return names_of(engine.data()->loaded.graph.inputs()); })
      .def_prop_ro(
          "output_names",
          [](const Engine& engine) { return names_of(engine.data()->loaded.graph.outputs()); })
      .def_prop_ro("path", [](const Engine& engine) { return engine.data()->path; })
      .def_prop_ro("output_dtypes",
                   [](const Engine& engine) {
                     std::map<std::string, std::string> dtypes;
                     for (const ir::Value* output : engine.data()->loaded.graph.outputs())
                       dtypes[output->name] = dtype_name(output->dtype);
                     return dtypes;
                   })
      .def(
          "context",
          [](const Engine& engine, const std::string& backend, bool cuda_graph,
             size_t cached_shapes) {
            return new Context(engine.data(), backend, cuda_graph, cached_shapes);
          },
          "backend"_a, "cuda_graph"_a, "cached_shapes"_a);

  nb::class_<Context>(m, "Context")
      .def_prop_ro("backend", &Context::backend)
      .def_prop_ro("cuda_graph", &Context::cuda_graph)
      .def("run", &Context::run, "inputs"_a, "outputs"_a.none(), "stream"_a.none(), "bf16_views"_a,
           "framework"_a.none())
      .def("output_specs", &Context::output_specs, "input_dims"_a)
      .def("run_torch", &Context::run_torch, "input_names"_a, "inputs"_a, "output_names"_a,
           "outputs"_a, "stream"_a)
      .def("time_enqueue", &Context::time_enqueue, "input_dims"_a, "iterations"_a, "stream"_a)
      .def("time_device", &Context::time_device, "input_dims"_a, "iterations"_a, "stream"_a);
}

}  // namespace kiln::python
