// ATen converters one call at a time, run on the CPU reference and compared with values
// worked out by hand from PyTorch's documented semantics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using testing::floats;
using ::testing::HasSubstr;
using testing::int64s;

// int64 tensor + Python float → float32 (the float category wins; a number gives the
// default dtype), as torch.tensor([1, 2, 3]) + 0.5 does.
TEST(AtenMath, IntTensorPlusFloatNumberIsFloat32) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int64, Dims{3});
  ir::Value* out = h.convert("aten.add.Tensor", {arg("self", x), arg("other", 0.5)});
  Tensor result = h.run_one(out, {{"x", int64s({3}, {1, 2, 3})}});
  EXPECT_EQ(result.dtype(), DType::Float32);
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1.5, 2.5, 3.5));
}

// A bf16 tensor times a Python float stays bf16; bf16 with fp16 tensors gives float32.
TEST(AtenMath, PromotionKeepsTensorDtypes) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::BFloat16, Dims{2});
  ir::Value* y = h.input("y", DType::Float16, Dims{2});
  ir::Value* scaled = h.convert("aten.mul.Tensor", {arg("self", x), arg("other", 0.5)}, "scaled");
  EXPECT_EQ(scaled->dtype, DType::BFloat16);
  ir::Value* mixed = h.convert("aten.add.Tensor", {arg("self", x), arg("other", y)}, "mixed");
  EXPECT_EQ(mixed->dtype, DType::Float32);
  // A 0-D int64 tensor does not widen a float16 tensor with dims.
  ir::Value* zero_dim = h.input("z", DType::Int64, Dims{});
  ir::Value* kept = h.convert("aten.sub.Tensor", {arg("self", y), arg("other", zero_dim)}, "kept");
  EXPECT_EQ(kept->dtype, DType::Float16);
}

TEST(AtenMath, AlphaScalesOther) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{2});
  ir::Value* b = h.input("b", DType::Float32, Dims{2});
  ir::Value* out =
      h.convert("aten.sub.Tensor", {arg("self", a), arg("other", b), arg("alpha", 2.0)});
  Tensor result = h.run_one(out, {{"a", floats({2}, {10, 20})}, {"b", floats({2}, {1, 2})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(8.0, 16.0));  // 10-2*1, 20-2*2
}

TEST(AtenMath, IntegerTrueDivisionGivesFloat) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Int64, Dims{2});
  ir::Value* out = h.convert("aten.div.Tensor", {arg("self", a), arg("other", int64_t{2})});
  Tensor result = h.run_one(out, {{"a", int64s({2}, {7, -7})}});
  EXPECT_EQ(result.dtype(), DType::Float32);
  EXPECT_THAT(result.to_double_vector(), ElementsAre(3.5, -3.5));
}

// le = not greater, ge = not less, ne = not equal.
TEST(AtenMath, ComparisonsInBothForms) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3});
  ir::Value* y = h.input("y", DType::Float32, Dims{3});
  ir::Value* le = h.convert("aten.le.Scalar", {arg("self", x), arg("other", int64_t{2})}, "le");
  ir::Value* ge = h.convert("aten.ge.Tensor", {arg("self", x), arg("other", y)}, "ge");
  ir::Value* ne = h.convert("aten.ne.Scalar", {arg("self", x), arg("other", 2.0)}, "ne");
  ir::Value* lt = h.convert("aten.lt.Tensor", {arg("self", x), arg("other", y)}, "lt");
  auto results =
      h.run({le, ge, ne, lt}, {{"x", floats({3}, {1, 2, 3})}, {"y", floats({3}, {2, 2, 2})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 1, 0));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 1, 1));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 0, 1));
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(1, 0, 0));
  EXPECT_EQ(results[0].dtype(), DType::Bool);
}

TEST(AtenMath, LogicalOpsAndWhere) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Bool, Dims{4});
  ir::Value* b = h.input("b", DType::Bool, Dims{4});
  ir::Value* both = h.convert("aten.__and__.Tensor", {arg("self", a), arg("other", b)}, "both");
  ir::Value* either =
      h.convert("aten.logical_or.default", {arg("self", a), arg("other", b)}, "either");
  ir::Value* chosen = h.convert(
      "aten.where.self", {arg("condition", both), arg("self", 1.5), arg("other", -1.0)}, "chosen");
  Tensor av = Tensor::from_vector<bool>({4}, {true, true, false, false});
  Tensor bv = Tensor::from_vector<bool>({4}, {true, false, true, false});
  auto results = h.run({both, either, chosen}, {{"a", av}, {"b", bv}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 0, 0, 0));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 1, 1, 0));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1.5, -1, -1, -1));
  EXPECT_EQ(results[2].dtype(), DType::Float32);
}

TEST(AtenMath, InPlaceOpRebindsTheMutatedName) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2});
  NamedArgument self{"self", x, "x"};
  ir::Value* out = h.convert("aten.add_.Tensor", {self, arg("other", 1.0)});
  EXPECT_EQ(h.context.find_tensor("x"), out);  // later readers of x see x + 1
}

TEST(AtenReduce, AnyDimAndCumsumOfBools) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Bool, Dims{2, 3});
  ir::Value* any = h.convert("aten.any.dim", {arg("self", x), arg("dim", int64_t{1})}, "any");
  ir::Value* sum =
      h.convert("aten.cumsum.default", {arg("self", x), arg("dim", int64_t{-1})}, "sum");
  Tensor xv = Tensor::from_vector<bool>({2, 3}, {false, false, true, false, false, false});
  auto results = h.run({any, sum}, {{"x", xv}});
  EXPECT_EQ(results[0].dtype(), DType::Bool);
  EXPECT_EQ(results[0].dims(), (Dims{2}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 0));
  EXPECT_EQ(results[1].dtype(), DType::Int64);  // cumsum of bool is int64 in PyTorch
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 0, 1, 0, 0, 0));
}

TEST(AtenReduce, CumprodOfIntsIsInt64) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int32, Dims{2, 3});
  ir::Value* product =
      h.convert("aten.cumprod.default", {arg("self", x), arg("dim", int64_t{-1})}, "product");
  Tensor result =
      h.run_one(product, {{"x", Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(result.dtype(), DType::Int64);  // as in PyTorch
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 2, 6, 4, 20, 120));
}

TEST(AtenReduce, DiffWithPrepend) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{4});
  ir::Value* before = h.input("before", DType::Float32, Dims{1});
  ir::Value* out = h.convert(
      "aten.diff.default",
      {arg("self", x), arg("n", int64_t{1}), arg("dim", int64_t{-1}), arg("prepend", before)});
  Tensor result = h.run_one(out, {{"x", floats({4}, {1, 4, 9, 16})}, {"before", floats({1}, {0})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 3, 5, 7));
}

TEST(AtenReduce, MeanOverDims) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2});
  ir::Value* out = h.convert("aten.mean.dim", {arg("self", x), arg("dim", std::vector<int64_t>{-1}),
                                               arg("keepdim", true)});
  Tensor result = h.run_one(out, {{"x", floats({2, 2}, {1, 3, 5, 9})}});
  EXPECT_EQ(result.dims(), (Dims{2, 1}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(2, 7));
}

// maximum / max.other promote as arithmetic does and let NaN through; on bool they are or/and.
TEST(AtenMath, MaximumAndMinimumOfTwoTensors) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{2, 2});
  ir::Value* b = h.input("b", DType::Int64, Dims{2});
  ir::Value* most = h.convert("aten.maximum.default", {arg("self", a), arg("other", b)}, "most");
  ir::Value* least = h.convert("aten.min.other", {arg("self", a), arg("other", b)}, "least");
  ir::Value* p = h.input("p", DType::Bool, Dims{2});
  ir::Value* q = h.input("q", DType::Bool, Dims{2});
  ir::Value* any = h.convert("aten.max.other", {arg("self", p), arg("other", q)}, "any");
  ir::Value* all = h.convert("aten.minimum.default", {arg("self", p), arg("other", q)}, "all");
  Tensor bools(DType::Bool, {2});
  bools.data_mutable<bool>()[0] = true;
  bools.data_mutable<bool>()[1] = false;
  Tensor falses(DType::Bool, {2});
  falses.data_mutable<bool>()[0] = false;
  falses.data_mutable<bool>()[1] = false;
  auto results = h.run({most, least, any, all}, {{"a", floats({2, 2}, {1, NAN, -3, 4})},
                                                 {"b", int64s({2}, {0, 2})},
                                                 {"p", bools},
                                                 {"q", falses}});
  EXPECT_EQ(results[0].dtype(), DType::Float32);
  EXPECT_EQ(results[0].dims(), (Dims{2, 2}));
  std::vector<double> maxima = results[0].to_double_vector();
  EXPECT_EQ(maxima[0], 1);
  EXPECT_TRUE(std::isnan(maxima[1]));
  EXPECT_EQ(maxima[2], 0);
  EXPECT_EQ(maxima[3], 4);
  std::vector<double> minima = results[1].to_double_vector();
  EXPECT_EQ(minima[0], 0);
  EXPECT_TRUE(std::isnan(minima[1]));
  EXPECT_EQ(minima[2], -3);
  EXPECT_EQ(minima[3], 2);
  EXPECT_EQ(results[2].dtype(), DType::Bool);
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 0));
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(0, 0));
}

// argmax/argmin over a dim, and over the flattened tensor when dim is None (keepdim then
// keeps every dim as 1); ties give the first index, as PyTorch documents.
TEST(AtenReduce, ArgmaxAndArgminWithAndWithoutDim) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* along =
      h.convert("aten.argmax.default",
                {arg("self", x), arg("dim", int64_t{-1}), arg("keepdim", true)}, "along");
  ir::Value* flat =
      h.convert("aten.argmin.default", {arg("self", x), arg("dim", NoneArg{})}, "flat");
  ir::Value* flat_kept =
      h.convert("aten.argmax.default", {arg("self", x), arg("keepdim", true)}, "flat_kept");
  auto results = h.run({along, flat, flat_kept}, {{"x", floats({2, 3}, {4, 9, 9, -1, 7, -1})}});
  EXPECT_EQ(results[0].dtype(), DType::Int64);
  EXPECT_EQ(results[0].dims(), (Dims{2, 1}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 1));
  EXPECT_EQ(results[1].dims(), (Dims{}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(3));
  EXPECT_EQ(results[2].dims(), (Dims{1, 1}));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1));
}

// max.dim gives values and indices; min.dim with only its indices read builds no ReduceMin.
TEST(AtenReduce, MaxAndMinAlongADimGiveValuesAndIndices) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int64, Dims{2, 3});
  h.convert_slots(
      "aten.max.dim", {arg("self", x), arg("dim", int64_t{0})},
      {{OutputSlot::Kind::Tensor, {"values"}}, {OutputSlot::Kind::Tensor, {"indices"}}});
  h.convert_slots("aten.min.dim", {arg("self", x), arg("dim", int64_t{1}), arg("keepdim", true)},
                  {{OutputSlot::Kind::None, {}}, {OutputSlot::Kind::Tensor, {"min_indices"}}});
  EXPECT_EQ(h.ops(), (std::vector<std::string>{"ReduceMax", "ArgMax", "ArgMin"}));
  ir::Value* values = h.context.find_tensor("values");
  ir::Value* indices = h.context.find_tensor("indices");
  ir::Value* min_indices = h.context.find_tensor("min_indices");
  auto results =
      h.run({values, indices, min_indices}, {{"x", int64s({2, 3}, {5, -2, 8, 5, 3, -7})}});
  EXPECT_EQ(results[0].dtype(), DType::Int64);
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(5, 3, 8));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 1, 0));  // the tie: first index
  EXPECT_EQ(results[2].dims(), (Dims{2, 1}));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 2));
}

// topk gives values and indices, smallest first with largest=False; ties by lower index.
TEST(AtenReduce, TopkGivesValuesAndIndices) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int64, Dims{2, 3});
  h.convert_slots(
      "aten.topk.default",
      {arg("self", x), arg("k", int64_t{2}), arg("dim", int64_t{-1}), arg("largest", false)},
      {{OutputSlot::Kind::Tensor, {"values"}}, {OutputSlot::Kind::Tensor, {"indices"}}});
  EXPECT_EQ(h.ops(), (std::vector<std::string>{"TopK"}));
  auto results = h.run({h.context.find_tensor("values"), h.context.find_tensor("indices")},
                       {{"x", int64s({2, 3}, {5, -2, 8, 5, 3, 3})}});
  EXPECT_EQ(results[0].dims(), (Dims{2, 2}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(-2, 5, 3, 3));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 0, 1, 2));
}

// scatter family → ScatterElements: src, value, scatter_add, scatter_reduce (amax, include_self).
TEST(AtenIndexing, ScatterVariants) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 4});
  ir::Value* index = h.input("index", DType::Int64, Dims{1, 3});
  ir::Value* src = h.input("src", DType::Float32, Dims{1, 3});
  auto base = [&] {
    return std::vector<NamedArgument>{arg("self", x), arg("dim", int64_t{1}), arg("index", index)};
  };
  auto with = [&](NamedArgument extra) {
    std::vector<NamedArgument> args = base();
    args.push_back(std::move(extra));
    return args;
  };
  ir::Value* put = h.convert("aten.scatter.src", with(arg("src", src)), "put");
  ir::Value* fill = h.convert("aten.scatter.value", with(arg("value", 7.0)), "fill");
  ir::Value* sum = h.convert("aten.scatter_add.default", with(arg("src", src)), "sum");
  std::vector<NamedArgument> amax_args = with(arg("src", src));
  amax_args.push_back(arg("reduce", std::string("amax")));
  ir::Value* amax = h.convert("aten.scatter_reduce.two", amax_args, "amax");
  auto results = h.run({put, fill, sum, amax}, {{"x", floats({1, 4}, {1, 2, 3, 4})},
                                                {"index", int64s({1, 3}, {3, 0, 3})},
                                                {"src", floats({1, 3}, {5, 6, 2})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(6, 2, 3, 2));  // the last write wins
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(7, 2, 3, 7));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(7, 2, 3, 11));
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(6, 2, 3, 5));
  // include_self=False: scattered positions reduce src alone, the others keep x.
  AtenHarness excluded;
  ir::Value* x2 = excluded.input("x", DType::Float32, Dims{1, 4});
  ir::Value* index2 = excluded.input("index", DType::Int64, Dims{1, 3});
  ir::Value* src2 = excluded.input("src", DType::Float32, Dims{1, 3});
  ir::Value* amax2 = excluded.convert(
      "aten.scatter_reduce.two",
      {arg("self", x2), arg("dim", int64_t{1}), arg("index", index2), arg("src", src2),
       arg("reduce", std::string("amax")), arg("include_self", false)},
      "excluded");
  Tensor result = excluded.run_one(amax2, {{"x", floats({1, 4}, {9, 2, 3, 4})},
                                           {"index", int64s({1, 3}, {3, 0, 3})},
                                           {"src", floats({1, 3}, {5, 6, 2})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(6, 2, 3, 5));
}

TEST(AtenReduce, AminAndFullMinMax) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2});
  ir::Value* amin =
      h.convert("aten.amin.default", {arg("self", x), arg("dim", std::vector<int64_t>{0})}, "amin");
  ir::Value* least = h.convert("aten.min.default", {arg("self", x)}, "least");
  ir::Value* most = h.convert("aten.max.default", {arg("self", x)}, "most");
  auto results = h.run({amin, least, most}, {{"x", floats({2, 2}, {1, -3, 0.5, 4})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0.5, -3));
  EXPECT_EQ(results[1].dims(), (Dims{}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(-3));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(4));
}

TEST(AtenReduce, ArgmaxOfABadDimNamesTheNode) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  try {
    h.convert("aten.argmax.default", {arg("self", x), arg("dim", int64_t{2})});
    ADD_FAILURE() << "converted";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_THAT(error.what(), HasSubstr("node 'node' (aten.argmax.default)"));
    EXPECT_THAT(error.what(), HasSubstr("dim 2 is out of range for rank 2"));
  }
}

}  // namespace
}  // namespace kiln::torch

namespace kiln::torch::testing {
namespace {

// conv_transpose2d with stride 2 and a 2x2 kernel of ones: each input element fills its own
// 2x2 block of the output.
TEST(AtenNn, ConvTranspose2dSpreadsEachElementOverItsBlock) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 2});
  ir::Value* w = h.input("w", DType::Float32, Dims{1, 1, 2, 2});
  ir::Value* out =
      h.convert("aten.conv_transpose2d.input",
                {arg("input", x), arg("weight", w), arg("stride", std::vector<int64_t>{2, 2})});
  EXPECT_EQ(h.ops(), std::vector<std::string>{"ConvTranspose"});
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4})},
                                  {"w", Tensor::from_vector<float>({1, 1, 2, 2}, {1, 1, 1, 1})}});
  EXPECT_EQ(result.dims(), (Dims{1, 1, 4, 4}));
  EXPECT_EQ(result.to_double_vector(),
            (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

// aten.convolution with transposed=True: padding 1 comes off both ends, output_padding 1 is
// added at the end, so a 3x3 input with stride 2 and a 3x3 kernel gives 2*(3-1)+3-2+1 = 6.
TEST(AtenNn, TransposedConvolutionTakesPaddingAndOutputPadding) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 3, 3});
  ir::Value* w = h.input("w", DType::Float32, Dims{2, 5, 3, 3});
  ir::Value* out = h.convert(
      "aten.convolution.default",
      {arg("input", x), arg("weight", w), arg("bias", NoneArg{}),
       arg("stride", std::vector<int64_t>{2, 2}), arg("padding", std::vector<int64_t>{1, 1}),
       arg("dilation", std::vector<int64_t>{1, 1}), arg("transposed", true),
       arg("output_padding", std::vector<int64_t>{1, 1}), arg("groups", int64_t{1})});
  h.graph.set_outputs({out});
  ir::infer_graph(h.graph);
  EXPECT_EQ(out->shape.static_dims(), (Dims{1, 5, 6, 6}));
}

// PyTorch's adaptive average pooling, written out: bin o of a dim of n spans
// [floor(o*n/out), ceil((o+1)*n/out)).
std::vector<double> adaptive_average(const std::vector<double>& x, int64_t planes, int64_t height,
                                     int64_t width, int64_t out_h, int64_t out_w) {
  std::vector<double> y;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < out_h; ++i) {
      for (int64_t j = 0; j < out_w; ++j) {
        int64_t h0 = i * height / out_h, h1 = ((i + 1) * height + out_h - 1) / out_h;
        int64_t w0 = j * width / out_w, w1 = ((j + 1) * width + out_w - 1) / out_w;
        double sum = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) sum += x[size_t((p * height + h) * width + w)];
        y.push_back(sum / double((h1 - h0) * (w1 - w0)));
      }
    }
  }
  return y;
}

// Sizes that do not divide (7x6 to 4x5, 5x5 to 3x3): overlapping bins of unequal length.
TEST(AtenNn, AdaptiveAveragePoolingWithUnevenBins) {
  for (auto [height, width, out_h, out_w] :
       std::vector<std::array<int64_t, 4>>{{7, 6, 4, 5}, {5, 5, 3, 3}, {3, 8, 2, 3}}) {
    AtenHarness h;
    Dims dims{2, 3, height, width};
    ir::Value* x = h.input("x", DType::Float32, dims);
    ir::Value* out =
        h.convert("aten.adaptive_avg_pool2d.default",
                  {arg("self", x), arg("output_size", std::vector<int64_t>{out_h, out_w})});
    std::vector<float> values;
    for (int64_t i = 0; i < element_count(dims); ++i) values.push_back(float((i * 37) % 11) - 5);
    Tensor result = h.run_one(out, {{"x", Tensor::from_vector<float>(dims, values)}});
    EXPECT_EQ(result.dims(), (Dims{2, 3, out_h, out_w}));
    std::vector<double> expected = adaptive_average(
        std::vector<double>(values.begin(), values.end()), 6, height, width, out_h, out_w);
    std::vector<double> actual = result.to_double_vector();
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i)
      EXPECT_NEAR(actual[i], expected[i], 1e-5) << height << "x" << width << " element " << i;
  }
}

// remainder takes the divisor's sign (Python's %), fmod the dividend's (C's), for integers and
// floats alike.
TEST(AtenMath, RemainderAndFmodDifferInTheirSign) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Int64, Dims{4});
  ir::Value* b = h.input("b", DType::Int64, Dims{4});
  ir::Value* x = h.input("x", DType::Float32, Dims{2});
  ir::Value* remainder =
      h.convert("aten.remainder.Tensor", {arg("self", a), arg("other", b)}, "remainder");
  ir::Value* fmod = h.convert("aten.fmod.Tensor", {arg("self", a), arg("other", b)}, "fmod");
  ir::Value* float_remainder =
      h.convert("aten.remainder.Scalar", {arg("self", x), arg("other", 2.0)}, "float_remainder");
  ir::Value* float_fmod =
      h.convert("aten.fmod.Scalar", {arg("self", x), arg("other", 2.0)}, "float_fmod");
  std::vector<Tensor> results = h.run({remainder, fmod, float_remainder, float_fmod},
                                      {{"a", Tensor::from_vector<int64_t>({4}, {-7, 7, 7, -7})},
                                       {"b", Tensor::from_vector<int64_t>({4}, {3, -3, 3, -3})},
                                       {"x", Tensor::from_vector<float>({2}, {-7.5f, 7.5f})}});
  EXPECT_EQ(results[0].to_double_vector(), (std::vector<double>{2, -2, 1, -1}));
  EXPECT_EQ(results[1].to_double_vector(), (std::vector<double>{-1, 1, 1, -1}));
  EXPECT_EQ(results[2].to_double_vector(), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(results[3].to_double_vector(), (std::vector<double>{-1.5, 1.5}));
}

}  // namespace
}  // namespace kiln::torch::testing
