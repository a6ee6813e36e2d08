// Op harness cases of the shape kernels, which write on the device what the host knows:
// Shape (with start and end, and beyond one launch's dims), Size, ConstantOfShape (each
// value dtype) and Range (up, down, empty).
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

std::vector<OpCase> shape_and_size_cases() {
  std::vector<OpCase> cases;
  const std::pair<const char*, Attrs> bounds[] = {
      {"Whole", {}},
      {"Start1", {{"start", int64_t(1)}}},
      {"EndNeg1", {{"end", int64_t(-1)}}},
      {"StartNeg3End3", {{"start", int64_t(-3)}, {"end", int64_t(3)}}},
      {"StartAfterEnd", {{"start", int64_t(3)}, {"end", int64_t(1)}}}};
  for (const auto& [name, attrs] : bounds) {
    cases.push_back(
        {.op = "Shape", .name = name, .inputs = {floats({2, 3, 4, 5})}, .attrs = attrs});
  }
  // More dims than one launch writes.
  cases.push_back({.op = "Shape",
                   .name = "Rank10Int32",
                   .inputs = {data(DType::Int32, {2, 1, 3, 1, 2, 1, 2, 1, 3, 2})}});
  cases.push_back({.op = "Size", .name = "Rank4", .inputs = {floats({2, 3, 4, 5})}});
  cases.push_back(
      {.op = "Size", .name = "Scalar", .inputs = {given_floats(Tensor::scalar<float>(2.f))}});
  return cases;
}

std::vector<OpCase> constant_of_shape_cases() {
  const Tensor values[] = {Tensor::from_vector<float>({1}, {2.5f}),
                           Tensor::from_vector<float>({1}, {-1.75f}).to(DType::Float16),
                           Tensor::from_vector<float>({1}, {3.25f}).to(DType::BFloat16),
                           Tensor::from_vector<int32_t>({1}, {-3}),
                           Tensor::from_vector<int64_t>({1}, {7}),
                           Tensor::from_vector<bool>({1}, {true})};
  std::vector<OpCase> cases;
  InputSpec shape = given(Tensor::from_vector<int64_t>({3}, {3, 4, 5}));
  for (const Tensor& value : values) {
    cases.push_back({.op = "ConstantOfShape",
                     .name = dtype_label(value.dtype()),
                     .inputs = {shape},
                     .attrs = {{"value", value}}});
  }
  cases.push_back({.op = "ConstantOfShape", .name = "NoValue", .inputs = {shape}});
  return cases;
}

std::vector<OpCase> range_cases() {
  auto scalar = [](float value) { return given_floats(Tensor::scalar<float>(value)); };
  auto int32 = [](int32_t value) { return given(Tensor::scalar<int32_t>(value)); };
  auto int64 = [](int64_t value) { return given(Tensor::scalar<int64_t>(value)); };
  return {
      {.op = "Range", .name = "Up", .inputs = {scalar(1.5f), scalar(90.f), scalar(0.75f)}},
      {.op = "Range", .name = "Down", .inputs = {scalar(4.f), scalar(-6.f), scalar(-0.5f)}},
      {.op = "Range", .name = "UpInt32", .inputs = {int32(-5), int32(400), int32(3)}},
      {.op = "Range", .name = "DownInt64", .inputs = {int64(10), int64(-800), int64(-3)}},
      {.op = "Range", .name = "EmptyInt64", .inputs = {int64(3), int64(3), int64(1)}},
  };
}

}  // namespace

std::vector<OpCase> shape_cases() {
  return concatenated({shape_and_size_cases(), constant_of_shape_cases(), range_cases()});
}

INSTANTIATE_TEST_SUITE_P(Shape, CudaOpTest, testing::ValuesIn(op_runs(shape_cases())), op_run_name);

}  // namespace kiln::cuda_test
