// Probe calls of the ATen converters that create, cast, size and copy tensors.
#include "aten_probe_scope.h"

namespace kiln::torch::probes {

std::vector<ProbeCall> creation_calls() {
  return {
      {"creation",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3}),      value("size", Ints{2, 3}),
                                           value("fill_value", 1.5),   value("s", 2.0),
                                           value("start", int64_t{0}), value("end", int64_t{5}),
                                           value("step", int64_t{1})};
       }},
      {"range of a run-time size",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{value("end", s.dynamic_size("s0"))};
       }},
      {"filled, of a run-time size",
       [](ProbeScope& s) {
         ir::Shape shape(std::vector<ir::Dim>{ir::Dim::named("s0"), ir::Dim::fixed(3)});
         SymInt rows = s.dynamic_size("s0");
         return std::vector<NamedArgument>{
             {"self", s.input("self", DType::Float32, shape), "self"},
             value("size", std::vector<SymInt>{rows, SymInt::fixed(3)}),
             value("fill_value", 1.5)};
       }},
      {"cast",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3}), value("dtype", DType::Float16),
                                           s.tensor("other", DType::Float16, {2, 3})};
       },
       {{Kind::Tensor, {"out"}}},
       true},
      {"size of a symbolic dim",
       [](ProbeScope& s) {
         ir::Shape shape(std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim::fixed(4)});
         return std::vector<NamedArgument>{{"self", s.input("self", DType::Float32, shape), "self"},
                                           value("dim", int64_t{0})};
       },
       {{Kind::SymInt, {"out"}}}},
      {"size arithmetic",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{value("a", s.dynamic_size("s0")),
                                           value("b", int64_t{2})};
       },
       {{Kind::SymInt, {"out"}}}},
      {"dropout",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {2, 3}), value("p", 0.5),
                                           value("train", false)};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"mask"}}}},
      {"no outputs",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3})};
       },
       {}},
  };
}

}  // namespace kiln::torch::probes
