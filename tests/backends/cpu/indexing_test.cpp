// GatherElements, GatherND, ScatterElements, ScatterND, CumSum and CumProd against hand-computed
// values (the ONNX spec's examples and small cases worked out on paper).
#include <gtest/gtest.h>

#include <map>

#include "backends/cpu/kernel.h"
#include "core/error.h"

namespace kiln::cpu {
namespace {

std::vector<Tensor> run_op(const std::string& op, std::map<std::string, ir::AttrValue> attrs,
                           const std::vector<Tensor>& inputs) {
  ir::Graph graph;
  ir::Node* node = graph.add_node(op, "test_" + op, {}, {"y"});
  node->attrs = std::move(attrs);
  Kernel kernel = find_kernel(op);
  EXPECT_NE(kernel, nullptr) << op;
  return kernel(*node, inputs);
}

TEST(GatherElements, Axis1MatchesSpecExample) {
  auto data = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  auto indices = Tensor::from_vector<int64_t>({2, 2}, {0, 0, 1, 0});
  auto out = run_op("GatherElements", {{"axis", int64_t{1}}}, {data, indices});
  EXPECT_EQ(out[0].dims(), (Dims{2, 2}));
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 1, 4, 3}));
}

TEST(GatherElements, Axis0WithNegativeIndex) {
  auto data = Tensor::from_vector<int32_t>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto indices = Tensor::from_vector<int64_t>({2, 3}, {1, 2, 0, 2, 0, -1});
  auto out = run_op("GatherElements", {{"axis", int64_t{0}}}, {data, indices});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{4, 8, 3, 7, 2, 9}));
}

TEST(GatherElements, OutOfRangeIndexNamesNode) {
  auto data = Tensor::from_vector<float>({2}, {1, 2});
  auto indices = Tensor::from_vector<int64_t>({1}, {5});
  try {
    run_op("GatherElements", {}, {data, indices});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("test_GatherElements"), std::string::npos);
  }
}

TEST(GatherND, SpecExamples) {
  auto data = Tensor::from_vector<int32_t>({2, 2}, {0, 1, 2, 3});
  auto out = run_op("GatherND", {}, {data, Tensor::from_vector<int64_t>({2, 2}, {0, 0, 1, 1})});
  EXPECT_EQ(out[0].dims(), (Dims{2}));
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{0, 3}));

  out = run_op("GatherND", {}, {data, Tensor::from_vector<int64_t>({2, 1}, {1, 0})});
  EXPECT_EQ(out[0].dims(), (Dims{2, 2}));
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{2, 3, 0, 1}));

  auto cube = Tensor::from_vector<float>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  out = run_op("GatherND", {{"batch_dims", int64_t{1}}},
               {cube, Tensor::from_vector<int64_t>({2, 1}, {1, 0})});
  EXPECT_EQ(out[0].dims(), (Dims{2, 2}));
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{2, 3, 4, 5}));
}

TEST(CumSum, ForwardExclusiveReverseOnAxis) {
  auto x = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = run_op("CumSum", {{"axis", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 3, 6, 4, 9, 15}));
  out = run_op("CumSum", {{"axis", int64_t{0}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 2, 3, 5, 7, 9}));
  out = run_op("CumSum", {{"axis", int64_t{-1}}, {"exclusive", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{0, 1, 3, 0, 4, 9}));
  out = run_op("CumSum", {{"axis", int64_t{1}}, {"reverse", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{6, 5, 3, 15, 11, 6}));
  auto ints = Tensor::from_vector<int64_t>({4}, {1, 1, 1, 1});
  out = run_op("CumSum", {}, {ints});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{1, 2, 3, 4}));
}

// ONNX's example on axis 1, then duplicates (in index order: the last write wins for none),
// negative indices and each reduction.
TEST(ScatterElements, SpecExampleDuplicatesAndReductions) {
  auto data = Tensor::from_vector<float>({1, 5}, {1, 2, 3, 4, 5});
  auto indices = Tensor::from_vector<int64_t>({1, 2}, {1, 3});
  auto updates = Tensor::from_vector<float>({1, 2}, {1.1f, 2.1f});
  auto out = run_op("ScatterElements", {{"axis", int64_t{1}}}, {data, indices, updates});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 1.1f, 3, 2.1f, 5}));
  auto repeated = Tensor::from_vector<int64_t>({1, 3}, {-1, 4, 0});
  auto three = Tensor::from_vector<float>({1, 3}, {7, 8, 9});
  const std::map<std::string, std::vector<double>> expected = {{"none", {9, 2, 3, 4, 8}},
                                                               {"add", {10, 2, 3, 4, 20}},
                                                               {"mul", {9, 2, 3, 4, 280}},
                                                               {"max", {9, 2, 3, 4, 8}},
                                                               {"min", {1, 2, 3, 4, 5}}};
  for (const auto& [reduction, values] : expected) {
    out = run_op("ScatterElements", {{"axis", int64_t{-1}}, {"reduction", reduction}},
                 {data, repeated, three});
    EXPECT_EQ(out[0].to_double_vector(), values) << reduction;
  }
  auto too_far = Tensor::from_vector<int64_t>({1, 1}, {5});
  auto one = Tensor::from_vector<float>({1, 1}, {0});
  EXPECT_THROW(run_op("ScatterElements", {{"axis", int64_t{1}}}, {data, too_far, one}), Error);
}

// ONNX's 1-D example, then slices with a repeated (and a negative) tuple under add and none.
TEST(ScatterND, SpecExampleAndRepeatedSlices) {
  auto data = Tensor::from_vector<float>({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto indices = Tensor::from_vector<int64_t>({4, 1}, {4, 3, 1, 7});
  auto updates = Tensor::from_vector<float>({4}, {9, 10, 11, 12});
  auto out = run_op("ScatterND", {}, {data, indices, updates});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 11, 3, 10, 9, 6, 7, 12}));
  auto grid = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  auto rows = Tensor::from_vector<int64_t>({3, 1}, {2, -1, 0});
  auto slices = Tensor::from_vector<float>({3, 2}, {10, 20, 30, 40, 50, 60});
  out = run_op("ScatterND", {{"reduction", std::string("add")}}, {grid, rows, slices});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{51, 62, 3, 4, 45, 66}));
  out = run_op("ScatterND", {}, {grid, rows, slices});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{50, 60, 3, 4, 30, 40}));
}

TEST(CumProd, ForwardExclusiveReverseOnAxis) {
  auto x = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = run_op("CumProd", {{"axis", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 2, 6, 4, 20, 120}));
  out = run_op("CumProd", {{"axis", int64_t{0}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 2, 3, 4, 10, 18}));
  out = run_op("CumProd", {{"axis", int64_t{-1}}, {"exclusive", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{1, 1, 2, 1, 4, 20}));
  out = run_op("CumProd",
               {{"axis", int64_t{1}}, {"reverse", int64_t{1}}, {"exclusive", int64_t{1}}}, {x});
  EXPECT_EQ(out[0].to_double_vector(), (std::vector<double>{6, 3, 1, 30, 6, 1}));
}

TEST(CumProd, IntegersWrap) {
  auto ints = Tensor::from_vector<int32_t>({3}, {65536, 65536, 3});
  auto out = run_op("CumProd", {{"axis", int64_t{0}}}, {ints});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{65536, 0, 0}));  // 2^32 wraps to 0
}

}  // namespace
}  // namespace kiln::cpu
