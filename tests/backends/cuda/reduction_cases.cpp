// Op harness cases of the reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd):
// over the last, a middle, several and all axes, kept or dropped, and none (a copy). ArgMax and
// ArgMin: each axis, keepdims on and off, first or last of tied extremes, NaN, short and long lines
// (one thread or one block each), every storage dtype they take. TopK: the same ties and NaN,
// largest and smallest, each axis, k up to the whole row, int32 and int64.
#include <cmath>

#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

using Axes = std::vector<int64_t>;

// Floats with many ties (small integers), and where `nan_every` > 0, NaN at every
// nan_every-th element starting at `nan_first`.
InputSpec tied_floats(Dims dims, int64_t nan_first = 0, int64_t nan_every = 0) {
  std::vector<float> values(size_t(element_count(dims)));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = float((i * 7 + i / 5) % 4) - 1.f;          // -1, 0, 1, 2
    if (values[i] == 0.f && i % 3 == 0) values[i] = -0.f;  // equal to 0: a tie
    if (nan_every > 0 && int64_t(i) >= nan_first && (int64_t(i) - nan_first) % nan_every == 0)
      values[i] = NAN;
  }
  return given_floats(Tensor::from_vector<float>(std::move(dims), values));
}

std::string axis_name(int64_t axis) {
  return axis < 0 ? "AxisNeg" + std::to_string(-axis) : "Axis" + std::to_string(axis);
}

// ArgMax and ArgMin of `in` along `axis`, with keepdims and select_last_index both ways.
void add_arg_cases(std::vector<OpCase>& cases, const std::string& name, const InputSpec& in,
                   int64_t axis) {
  for (const char* op : {"ArgMax", "ArgMin"}) {
    for (int64_t keepdims : {0, 1}) {
      for (int64_t last : {0, 1}) {
        cases.push_back(
            {.op = op,
             .name = name + axis_name(axis) + (keepdims ? "Kept" : "Dropped") +
                     (last ? "LastIndex" : "FirstIndex"),
             .inputs = {in},
             .attrs = {{"axis", axis}, {"keepdims", keepdims}, {"select_last_index", last}}});
      }
    }
  }
}

// TopK of `in` along `axis`, largest and smallest; values are copies, so exact.
void add_top_k_cases(std::vector<OpCase>& cases, const std::string& name, const InputSpec& in,
                     int64_t axis, int64_t k) {
  for (int64_t largest : {0, 1}) {
    cases.push_back({.op = "TopK",
                     .name = name + axis_name(axis) + "K" + std::to_string(k) +
                             (largest ? "Largest" : "Smallest"),
                     .inputs = {in},
                     .attrs = {{"k", k}, {"axis", axis}, {"largest", largest}},
                     .exact = true,
                     .outputs = 2});
  }
}

std::vector<OpCase> top_k_cases() {
  std::vector<OpCase> cases;
  for (int64_t axis : {0, 1, -1}) {
    add_top_k_cases(cases, "Random", floats({4, 5, 6}), axis, 3);
    add_top_k_cases(cases, "Ties", tied_floats({6, 9, 4}), axis, 4);
    add_top_k_cases(cases, "Nan", tied_floats({6, 9, 4}, 2, 11), axis, 2);
  }
  add_top_k_cases(cases, "WholeRow", tied_floats({3, 40}, 5, 9), 1, 40);
  add_top_k_cases(cases, "LongTiedRows", tied_floats({4, 3000}, 100, 997), 1, 17);
  add_top_k_cases(cases, "Int64", typed(DType::Int64, {5, 300}, -4, 4), -1, 9);
  add_top_k_cases(cases, "Int32Strided", typed(DType::Int32, {3, 50, 7}, 0, 6), 1, 5);
  return cases;
}

std::vector<OpCase> arg_reduce_cases() {
  std::vector<OpCase> cases;
  for (int64_t axis : {0, 1, -1}) {
    add_arg_cases(cases, "Random", floats({4, 5, 6}), axis);
    add_arg_cases(cases, "Ties", tied_floats({6, 9, 4}), axis);
    add_arg_cases(cases, "Nan", tied_floats({6, 9, 4}, 2, 11), axis);
  }
  add_arg_cases(cases, "Rank1", tied_floats({50}), 0);
  add_arg_cases(cases, "AllNan", tied_floats({3, 4}, 0, 1), 1);
  // One block per line: long rows, with ties and NaN; a long strided axis.
  add_arg_cases(cases, "LongRows", floats({3, 3000}), 1);
  add_arg_cases(cases, "LongTiedRows", tied_floats({4, 700}), 1);
  add_arg_cases(cases, "LongNanRows", tied_floats({2, 5000}, 1234, 1777), 1);
  add_arg_cases(cases, "LongStrided", tied_floats({3000, 3}), 0);
  // Many strided lines: one thread each.
  add_arg_cases(cases, "ManyLines", floats({25, 160, 100}), 1);
  for (DType dtype : {DType::Int32, DType::Int64, DType::Int8, DType::UInt8, DType::Float64}) {
    add_arg_cases(cases, "Ties" + dtype_label(dtype), typed(dtype, {5, 40}, 0, 4), -1);
    add_arg_cases(cases, "LongTies" + dtype_label(dtype), typed(dtype, {3, 2000}, 0, 5), 1);
  }
  add_arg_cases(cases, "Int16", typed(DType::Int16, {7, 6}, -300, 300), 0);
  return cases;
}

}  // namespace

std::vector<OpCase> reduction_cases() {
  std::vector<OpCase> cases;
  cases.push_back({.op = "ReduceMean",
                   .name = "LastAxis",
                   .inputs = {floats({4, 6, 50})},
                   .attrs = {{"axes", Axes{-1}}}});
  cases.push_back({.op = "ReduceSum",
                   .name = "MiddleAxisDropped",
                   .inputs = {floats({4, 6, 50})},
                   .attrs = {{"axes", Axes{1}}, {"keepdims", int64_t(0)}}});
  cases.push_back({.op = "ReduceMax", .name = "AllAxes", .inputs = {floats({4, 6, 5})}});
  cases.push_back({.op = "ReduceMin", .name = "AllAxes", .inputs = {floats({4, 6, 5})}});
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"}) {
    cases.push_back({.op = op,
                     .name = "OuterAxes",
                     .inputs = {floats({5, 3, 8, 4})},
                     .attrs = {{"axes", Axes{0, 2}}}});
    cases.push_back({.op = op,
                     .name = "LongRows",
                     .inputs = {floats({3, 3000}, -1, 1)},
                     .attrs = {{"axes", Axes{1}}, {"keepdims", int64_t(0)}}});
  }
  // Factors near 1, so that long products stay in range in every precision.
  cases.push_back({.op = "ReduceProd",
                   .name = "MiddleAxis",
                   .inputs = {floats({4, 6, 5}, -1.5, 1.5)},
                   .attrs = {{"axes", Axes{1}}}});
  cases.push_back({.op = "ReduceProd",
                   .name = "LongRows",
                   .inputs = {floats({3, 3000}, 0.999, 1.001)},
                   .attrs = {{"axes", Axes{-1}}, {"keepdims", int64_t(0)}}});
  cases.push_back({.op = "ReduceProd",
                   .name = "OuterAxes",
                   .inputs = {floats({5, 3, 8, 4}, 0.8, 1.2)},
                   .attrs = {{"axes", Axes{0, 2}}}});
  cases.push_back({.op = "ReduceSum",
                   .name = "EmptyAxesNoop",
                   .inputs = {floats({4, 7})},
                   .attrs = {{"noop_with_empty_axes", int64_t(1)}}});
  return concatenated({cases, arg_reduce_cases(), top_k_cases()});
}

INSTANTIATE_TEST_SUITE_P(Reduction, CudaOpTest, testing::ValuesIn(op_runs(reduction_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
