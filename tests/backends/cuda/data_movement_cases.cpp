// Op harness cases of the data movement kernels (Transpose, the Reshape family and Identity,
// Expand, Slice, Concat, Split, Gather) in every storage dtype, bit for bit. Their wide-word
// and misaligned paths are fast_paths_test.cpp's subject.
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

using Ints = std::vector<int64_t>;

std::vector<OpCase> layout_cases() {
  std::vector<OpCase> cases;
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Transpose",
                  .name = "Perm0231",
                  .inputs = {data(dtype, {2, 3, 4, 5})},
                  .attrs = {{"perm", Ints{0, 2, 3, 1}}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Transpose", .name = "DefaultPerm", .inputs = {data(dtype, {6, 7})}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Reshape",
                  .name = "ShapeConstant",
                  .inputs = {data(dtype, {2, 3, 4}), int64s({6, -1})}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{
        .op = "Reshape",
        .name = "ShapeInput",
        .inputs = {data(dtype, {2, 3, 4}), given(Tensor::from_vector<int64_t>({2}, {6, -1}))}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Flatten",
                  .name = "Axis2",
                  .inputs = {data(dtype, {2, 3, 4})},
                  .attrs = {{"axis", int64_t(2)}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Unsqueeze",
                  .name = "Front",
                  .inputs = {data(dtype, {2, 3})},
                  .attrs = {{"axes", Ints{0}}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Unsqueeze",
                  .name = "FrontAndBack",
                  .inputs = {data(dtype, {2, 3, 4})},
                  .attrs = {{"axes", Ints{0, 4}}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Squeeze",
                  .name = "Middle",
                  .inputs = {data(dtype, {2, 1, 3})},
                  .attrs = {{"axes", Ints{1}}}};
  });
  // Identity has no IR schema or CPU kernel (the importers drop it): its definition is the
  // reference.
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Identity",
                  .name = "Copy",
                  .inputs = {data(dtype, {3, 5, 7})},
                  .reference = [](const ir::Node&, const std::vector<Tensor>& inputs) {
                    return std::vector<Tensor>{inputs[0]};
                  }};
  });
  return cases;
}

std::vector<OpCase> selection_cases() {
  std::vector<OpCase> cases;
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{
        .op = "Expand", .name = "Broadcast", .inputs = {data(dtype, {3, 1}), int64s({2, 3, 4})}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Slice",
                  .name = "Steps",
                  .inputs = {data(dtype, {6, 10}), int64s({1, -8}), int64s({5, 100}),
                             int64s({0, 1}), int64s({2, 3})}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{
        .op = "Slice",
        .name = "Reverse",
        .inputs = {data(dtype, {6, 10}), int64s({-1}), int64s({-100}), int64s({1}), int64s({-2})}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Concat",
                  .name = "ThreeInputs",
                  .inputs = {data(dtype, {2, 3}), data(dtype, {2, 5}), data(dtype, {2, 1})},
                  .attrs = {{"axis", int64_t(1)}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Split",
                  .name = "ThreePieces",
                  .inputs = {data(dtype, {4, 9})},
                  .attrs = {{"axis", int64_t(1)}, {"split", Ints{2, 3, 4}}},
                  .outputs = 3};
  });
  return cases;
}

std::vector<OpCase> gather_cases() {
  std::vector<OpCase> cases;
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Gather",
                  .name = "ConstantIndices",
                  .inputs = {data(dtype, {5, 4, 3}),
                             constant(Tensor::from_vector<int64_t>({2, 2}, {0, -1, 3, 2}))},
                  .attrs = {{"axis", int64_t(1)}}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Gather",
                  .name = "IndicesInput",
                  .inputs = {data(dtype, {7, 3}), typed(DType::Int64, {4}, -7, 7)}};
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return OpCase{.op = "Gather",
                  .name = "Int32IndicesLastAxis",
                  .inputs = {data(dtype, {3, 4, 6}), typed(DType::Int32, {2, 5}, -6, 6)},
                  .attrs = {{"axis", int64_t(-1)}}};
  });
  return cases;
}

}  // namespace

std::vector<OpCase> data_movement_cases() {
  return concatenated({layout_cases(), selection_cases(), gather_cases()});
}

INSTANTIATE_TEST_SUITE_P(DataMovement, CudaOpTest,
                         testing::ValuesIn(op_runs(data_movement_cases())), op_run_name);

}  // namespace kiln::cuda_test
