// Op harness cases of the reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin): over the
// last, a middle, several and all axes, kept or dropped, and none (a copy).
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

using Axes = std::vector<int64_t>;

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
  cases.push_back({.op = "ReduceSum",
                   .name = "EmptyAxesNoop",
                   .inputs = {floats({4, 7})},
                   .attrs = {{"noop_with_empty_axes", int64_t(1)}}});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Reduction, CudaOpTest, testing::ValuesIn(op_runs(reduction_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
