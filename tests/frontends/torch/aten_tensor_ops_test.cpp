// ATen layout, indexing, creation and layer converters: the IR they build (high-level ops
// stay high-level; dynamic sizes stay cheap) and the values they compute, by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using testing::floats;
using ::testing::HasSubstr;
using testing::int64s;
using testing::iota;

ir::Shape dynamic(std::vector<ir::Dim> dims) { return ir::Shape(std::move(dims)); }

// x[i0, i1] with i0 of shape (2, 1) and i1 of shape (2,): broadcast to (2, 2), GatherND.
TEST(AtenIndexing, TwoIndexTensorsBroadcast) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 4});
  ir::Value* rows = h.input("rows", DType::Int64, Dims{2, 1});
  ir::Value* cols = h.input("cols", DType::Int64, Dims{2});
  ir::Value* out =
      h.convert("aten.index.Tensor", {arg("self", x), arg("indices", TensorList{rows, cols})});
  Tensor result = h.run_one(out, {{"x", floats({3, 4}, iota(12))},
                                  {"rows", int64s({2, 1}, {0, 2})},
                                  {"cols", int64s({2}, {1, 3})}});
  EXPECT_EQ(result.dims(), (Dims{2, 2}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 3, 9, 11));
}

// x[:, idx] → Gather on axis 1.
TEST(AtenIndexing, OneIndexAfterNone) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 4});
  ir::Value* idx = h.input("idx", DType::Int64, Dims{2});
  ir::Value* out =
      h.convert("aten.index.Tensor", {arg("self", x), arg("indices", TensorList{nullptr, idx})});
  Tensor result = h.run_one(out, {{"x", floats({3, 4}, iota(12))}, {"idx", int64s({2}, {2, 0})}});
  EXPECT_THAT(h.ops(), ElementsAre("Gather"));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(2, 0, 6, 4, 10, 8));
}

// x[:, i, j] with i, j of shape (2,): adjacent indexed dims after a full one; the broadcast
// dim takes their place (as NumPy does): out[b, k] = x[b, i[k], j[k]].
TEST(AtenIndexing, AdjacentIndicesAfterNoneKeepTheirPlace) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3, 4});
  ir::Value* i = h.input("i", DType::Int64, Dims{2});
  ir::Value* j = h.input("j", DType::Int64, Dims{2});
  ir::Value* out =
      h.convert("aten.index.Tensor", {arg("self", x), arg("indices", TensorList{nullptr, i, j})});
  Tensor result = h.run_one(
      out,
      {{"x", floats({2, 3, 4}, iota(24))}, {"i", int64s({2}, {2, 0})}, {"j", int64s({2}, {1, 3})}});
  EXPECT_EQ(result.dims(), (Dims{2, 2}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(9, 3, 21, 15));
}

// x[i, :, j]: indexed dims separated by a full one; the broadcast dims lead the result:
// out[k, c] = x[i[k], c, j[k]].
TEST(AtenIndexing, SeparatedIndicesLeadTheResult) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3, 4});
  ir::Value* i = h.input("i", DType::Int64, Dims{2, 1});
  ir::Value* j = h.input("j", DType::Int64, Dims{1});
  ir::Value* out =
      h.convert("aten.index.Tensor", {arg("self", x), arg("indices", TensorList{i, nullptr, j})});
  Tensor result = h.run_one(
      out,
      {{"x", floats({2, 3, 4}, iota(24))}, {"i", int64s({2, 1}, {1, 0})}, {"j", int64s({1}, {2})}});
  EXPECT_EQ(result.dims(), (Dims{2, 1, 3}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(14, 18, 22, 2, 6, 10));
}

TEST(AtenIndexing, SelectSliceAndGather) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 4});
  ir::Value* row =
      h.convert("aten.select.int",
                {arg("self", x), arg("dim", int64_t{0}), arg("index", int64_t{-1})}, "row");
  ir::Value* all = h.convert("aten.slice.Tensor",
                             {arg("self", x), arg("dim", int64_t{1}), arg("start", int64_t{0}),
                              arg("end", int64_t{9223372036854775807})},
                             "all");
  EXPECT_EQ(all, x);  // slicing everything is no node at all
  ir::Value* part = h.convert("aten.slice.Tensor",
                              {arg("self", x), arg("dim", int64_t{1}), arg("start", int64_t{1}),
                               arg("end", int64_t{4}), arg("step", int64_t{2})},
                              "part");
  ir::Value* index = h.input("index", DType::Int64, Dims{3, 1});
  ir::Value* picked =
      h.convert("aten.gather.default",
                {arg("self", x), arg("dim", int64_t{1}), arg("index", index)}, "picked");
  auto results = h.run({row, part, picked},
                       {{"x", floats({3, 4}, iota(12))}, {"index", int64s({3, 1}, {3, 0, 2})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(8, 9, 10, 11));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 3, 5, 7, 9, 11));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(3, 4, 10));
}

// A view whose size is the input's own batch symbol keeps a constant shape (0 = copy).
TEST(AtenShape, DynamicReshapeUsesCopyDims) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, dynamic({ir::Dim::named("s0"), ir::Dim::fixed(6)}));
  h.convert_slots("aten.sym_size.int", {arg("self", x), arg("dim", int64_t{0})},
                  {{OutputSlot::Kind::SymInt, {"batch"}}});
  SymInt batch = *h.context.find_sym_int("batch");
  EXPECT_EQ(batch.symbol, "s0");
  ir::Value* out =
      h.convert("aten.view.default",
                {arg("self", x),
                 arg("size", std::vector<SymInt>{batch, SymInt::fixed(2), SymInt::fixed(-1)})});
  EXPECT_EQ(out->shape.to_string(), "[s0, 2, 3]");
  const ir::Node* reshape = out->producer;
  ASSERT_TRUE(reshape->inputs[1]->is_constant());
  EXPECT_THAT(reshape->inputs[1]->constant->to_int64_vector(), ElementsAre(0, 2, -1));
  Tensor result = h.run_one(out, {{"x", floats({2, 6}, iota(12))}});
  EXPECT_EQ(result.dims(), (Dims{2, 2, 3}));
}

// full([batch * 2, 3]) with a run-time batch: ConstantOfShape of a computed shape.
TEST(AtenCreation, FullWithRunTimeSize) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, dynamic({ir::Dim::named("s0"), ir::Dim::fixed(1)}));
  h.convert_slots("aten.sym_size.int", {arg("self", x), arg("dim", int64_t{0})},
                  {{OutputSlot::Kind::SymInt, {"batch"}}});
  h.convert_slots("operator.mul",
                  {arg("a", *h.context.find_sym_int("batch")), arg("b", int64_t{2})},
                  {{OutputSlot::Kind::SymInt, {"twice"}}});
  ir::Value* out = h.convert(
      "aten.full.default",
      {arg("size", std::vector<SymInt>{*h.context.find_sym_int("twice"), SymInt::fixed(3)}),
       arg("fill_value", 7.0)});
  Tensor result = h.run_one(out, {{"x", floats({2, 1}, {0, 0})}});
  EXPECT_EQ(result.dtype(), DType::Float32);
  EXPECT_EQ(result.dims(), (Dims{4, 3}));
  EXPECT_EQ(result.to_double_vector(), std::vector<double>(12, 7.0));
}

TEST(AtenCreation, ArangeAndCasts) {
  AtenHarness h;
  ir::Value* range = h.convert(
      "aten.arange.start_step",
      {arg("start", int64_t{1}), arg("end", int64_t{7}), arg("step", int64_t{2})}, "range");
  EXPECT_EQ(range->dtype, DType::Int64);
  EXPECT_THAT(range->constant->to_double_vector(), ElementsAre(1, 3, 5));
  ir::Value* as_float =
      h.convert("aten._to_copy.default", {arg("self", range), arg("dtype", DType::Float32)}, "f");
  EXPECT_EQ(as_float->dtype, DType::Float32);
  ir::Value* same =
      h.convert("aten.to.dtype", {arg("self", range), arg("dtype", DType::Int64)}, "same");
  EXPECT_EQ(same, range);
}

// expand(x, [batch, -1, 4]) for x of shape [s0, 3, 1]: a constant target [1, 1, 4].
TEST(AtenShape, ExpandKeepsDimsWithOnes) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32,
                         dynamic({ir::Dim::named("s0"), ir::Dim::fixed(3), ir::Dim::fixed(1)}));
  SymInt batch{0, nullptr, "s0"};
  batch.dynamic = h.graph.add_constant("fake_batch", int64s({1}, {2}));  // never read
  ir::Value* out =
      h.convert("aten.expand.default",
                {arg("self", x),
                 arg("size", std::vector<SymInt>{batch, SymInt::fixed(-1), SymInt::fixed(4)})});
  ASSERT_TRUE(out->producer->inputs[1]->is_constant());
  EXPECT_THAT(out->producer->inputs[1]->constant->to_int64_vector(), ElementsAre(1, 1, 4));
  Tensor result = h.run_one(out, {{"x", floats({2, 3, 1}, iota(6))}});
  EXPECT_EQ(result.dims(), (Dims{2, 3, 4}));
  EXPECT_EQ(result.to_double_vector()[4 * 4 + 3], 4.0);  // x[1, 1, 0] repeated
}

TEST(AtenShape, SplitUnbindAndFlatten) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{5, 2});
  h.convert_slots("aten.split.Tensor", {arg("self", x), arg("split_size", int64_t{2})},
                  {{OutputSlot::Kind::TensorList, {"a", "b", "c"}}});
  ir::Value* last = h.context.find_tensor("c");
  EXPECT_EQ(last->shape.to_string(), "[1, 2]");
  h.convert_slots("aten.unbind.int", {arg("self", x), arg("dim", int64_t{1})},
                  {{OutputSlot::Kind::TensorList, {"col0", "col1"}}});
  ir::Value* flat = h.convert("aten.flatten.using_ints", {arg("self", x)}, "flat");
  auto results =
      h.run({last, h.context.find_tensor("col1"), flat}, {{"x", floats({5, 2}, iota(10))}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(8, 9));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 3, 5, 7, 9));
  EXPECT_EQ(results[2].dims(), (Dims{10}));
}

// chunk as torch cuts: pieces of ceil(size / chunks), the last smaller, and fewer pieces than
// asked when they run out (6 in 4 gives 2, 2, 2); an empty dim gives `chunks` empty pieces.
TEST(AtenShape, ChunkFollowsTorch) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 7});
  h.convert_slots("aten.chunk.default",
                  {arg("self", x), arg("chunks", int64_t{3}), arg("dim", int64_t{-1})},
                  {{OutputSlot::Kind::TensorList, {"a0", "a1", "a2"}}});
  ir::Value* y = h.input("y", DType::Float32, Dims{6, 1});
  h.convert_slots("aten.chunk.default", {arg("self", y), arg("chunks", int64_t{4})},
                  {{OutputSlot::Kind::TensorList, {"b0", "b1", "b2"}}});
  ir::Value* empty = h.input("empty", DType::Float32, Dims{0, 2});
  h.convert_slots("aten.chunk.default", {arg("self", empty), arg("chunks", int64_t{2})},
                  {{OutputSlot::Kind::TensorList, {"e0", "e1"}}});
  EXPECT_EQ(h.context.find_tensor("e1")->shape.to_string(), "[0, 2]");
  auto results =
      h.run({h.context.find_tensor("a1"), h.context.find_tensor("a2"), h.context.find_tensor("b2")},
            {{"x", floats({2, 7}, iota(14))},
             {"y", floats({6, 1}, iota(6))},
             {"empty", floats({0, 2}, {})}});
  EXPECT_EQ(results[0].dims(), (Dims{2, 3}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(3, 4, 5, 10, 11, 12));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(6, 13));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(4, 5));
  // The exported node names as many outputs as torch made; any other count is an error.
  EXPECT_THROW(h.convert_slots("aten.chunk.default", {arg("self", y), arg("chunks", int64_t{4})},
                               {{OutputSlot::Kind::TensorList, {"c0", "c1", "c2", "c3"}}}),
               Error);
}

// Linear stays one Gemm (transB) for matrices; 3-D inputs become MatMul + Add.
TEST(AtenNn, LinearIsGemmOrMatMul) {
  AtenHarness h;
  ir::Value* x2 = h.input("x2", DType::Float32, Dims{1, 2});
  ir::Value* x3 = h.input("x3", DType::Float32, Dims{1, 1, 2});
  ir::Value* w = h.graph.add_constant("w", floats({3, 2}, {1, 0, 0, 1, 1, 1}));
  ir::Value* b = h.graph.add_constant("b", floats({3}, {10, 20, 30}));
  ir::Value* y2 =
      h.convert("aten.linear.default", {arg("input", x2), arg("weight", w), arg("bias", b)}, "y2");
  EXPECT_EQ(y2->producer->op, "Gemm");
  EXPECT_EQ(y2->producer->attr_int("transB", 0), 1);
  ir::Value* y3 =
      h.convert("aten.linear.default", {arg("input", x3), arg("weight", w), arg("bias", b)}, "y3");
  EXPECT_EQ(y3->producer->op, "Add");
  auto results =
      h.run({y2, y3}, {{"x2", floats({1, 2}, {2, 5})}, {"x3", floats({1, 1, 2}, {2, 5})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(12, 25, 37));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(12, 25, 37));
}

TEST(AtenNn, SdpaIsOneAttentionNode) {
  AtenHarness h;
  ir::Value* q = h.input("q", DType::BFloat16, Dims{1, 2, 4, 8});
  ir::Value* mask = h.input("mask", DType::Bool, Dims{1, 1, 4, 4});
  ir::Value* out = h.convert("aten.scaled_dot_product_attention.default",
                             {arg("query", q), arg("key", q), arg("value", q),
                              arg("attn_mask", mask), arg("scale", 0.25)});
  EXPECT_THAT(h.ops(), ElementsAre("Attention"));
  EXPECT_EQ(out->producer->attr_float("scale", 0), 0.25);
  EXPECT_EQ(out->producer->attr_int("is_causal", 1), 0);
  EXPECT_EQ(out->shape.to_string(), "[1, 2, 4, 8]");
  EXPECT_EQ(out->dtype, DType::BFloat16);
}

TEST(AtenNn, PoolingAndItsLimits) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 4, 4});
  ir::Value* global =
      h.convert("aten.adaptive_avg_pool2d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{1, 1})}, "global");
  EXPECT_EQ(global->producer->op, "GlobalAveragePool");
  ir::Value* halves =
      h.convert("aten.adaptive_avg_pool2d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{2, 2})}, "halves");
  Tensor pooled = h.run_one(halves, {{"x", floats({1, 1, 4, 4}, iota(16))}});
  EXPECT_THAT(pooled.to_double_vector(), ElementsAre(2.5, 4.5, 10.5, 12.5));
  // Uneven bins are two products with bin-averaging matrices (aten_converters_test.cpp checks
  // their values); they need static height and width.
  ir::Value* thirds =
      h.convert("aten.adaptive_avg_pool2d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{3, 3})}, "thirds");
  EXPECT_EQ(thirds->producer->op, "Transpose");
  ir::Value* unknown = h.input(
      "unknown", DType::Float32,
      ir::Shape({ir::Dim::fixed(1), ir::Dim::fixed(1), ir::Dim::unknown(), ir::Dim::unknown()}));
  try {
    h.convert("aten.adaptive_avg_pool2d.default",
              {arg("self", unknown), arg("output_size", std::vector<int64_t>{3, 3})}, "dynamic");
    FAIL() << "expected Unsupported";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(error.what(), HasSubstr("node 'node'"));
    EXPECT_THAT(error.what(), HasSubstr("test.py:1"));
  }
}

}  // namespace
}  // namespace kiln::torch
