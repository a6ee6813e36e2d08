// Probe calls of the ATen converters that write one call as several core ops and read
// arguments the other families' calls do not name (aten_special_math, aten_statistics,
// aten_layout, aten_matrix, aten_index_update): vectors and matrices, bins, windows, bags.
#include "aten_probe_scope.h"

namespace kiln::torch::probes {

std::vector<ProbeCall> composite_calls() {
  return {
      {"vectors and matrices",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {4}),        s.f32("tensor", {4}),  s.f32("vec2", {4}),
             s.f32("mat", {3, 4}),      s.f32("vec", {4}),     s.f32("vec1", {4}),
             s.f32("end", {4}),         value("weight", 0.25), s.f32("values", {4}),
             s.f32("x1", {3, 4}),       s.f32("x2", {5, 4}),   value("p", 2.0),
             value("dim", int64_t{-1}), value("eps", 1e-8)};
       }},
      {"trilinear",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("i1", {2, 3}),        s.f32("i2", {5, 3, 4}),
                                           s.f32("i3", {2, 4}),        value("expand1", Ints{1, 3}),
                                           value("expand2", Ints{0}),  value("expand3", Ints{1, 2}),
                                           value("sumdim", Ints{2, 3})};
       }},
      {"polygamma",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{value("n", int64_t{1}), s.f32("self", {2, 3})};
       }},
      {"matrix-vector",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {3}), s.f32("mat", {3, 4}),
                                           s.f32("vec", {4})};
       }},
      {"paired rows",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("x1", {3, 4}), s.f32("x2", {3, 4}),
                                           value("dim", int64_t{1})};
       }},
      {"bilinear",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input1", {2, 3}), s.f32("input2", {2, 4}),
                                           s.f32("weight", {5, 3, 4}), s.f32("bias", {5})};
       }},
      {"sizes and ranges",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{value("n", int64_t{3}),     value("m", int64_t{4}),
                                           value("start", 0.0),        value("end", 1.0),
                                           value("steps", int64_t{5}), value("row", int64_t{3}),
                                           value("col", int64_t{4}),   value("offset", int64_t{0})};
       }},
      {"moves and windows",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6, 6}),
                                           value("source", int64_t{1}),
                                           value("destination", int64_t{3}),
                                           value("dim", int64_t{1}),
                                           value("start", int64_t{1}),
                                           value("length", int64_t{2}),
                                           value("dimension", int64_t{3}),
                                           value("size", int64_t{2}),
                                           value("step", int64_t{2}),
                                           value("groups", int64_t{2}),
                                           s.tensor("indices", DType::Int64, {2, 4, 6, 6})};
       }},
      {"tensor lists",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.list("tensors", {{3}, {4}})};
       }},
      {"index updates",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {4, 6}), value("dim", int64_t{0}), s.tensor("index", DType::Int64, {2}),
             s.f32("source", {2, 6}), s.tensor("mask", DType::Bool, {4, 6})};
       }},
      {"lookups",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {3, 5}),     s.f32("boundaries", {4}),    s.f32("sorted_sequence", {4}),
             s.f32("elements", {3, 5}), s.f32("test_elements", {4}), value("test_element", 1.0),
             value("element", 1.0)};
       }},
  };
}

}  // namespace kiln::torch::probes
