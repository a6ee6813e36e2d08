// make_random_inputs: determinism, symbolic dims, value ranges (Gather-bounded indices).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kiln/kiln.h"

namespace kiln {
namespace {

using ir::Dim;
using ir::Shape;

// x: float32 [batch, 3]; ids: int64 [batch, seq] → Gather(table [50, 4], ids);
// mask: int32 [seq]; flags: bool [4]; half: bfloat16 [2].
ir::Graph sample_graph() {
  ir::Graph graph;
  graph.add_input("x", DType::Float32, Shape({Dim::named("batch"), Dim::fixed(3)}));
  ir::Value* ids =
      graph.add_input("ids", DType::Int64, Shape({Dim::named("batch"), Dim::named("seq")}));
  graph.add_input("mask", DType::Int32, Shape({Dim::named("seq")}));
  graph.add_input("flags", DType::Bool, Shape({Dim::fixed(4)}));
  graph.add_input("half", DType::BFloat16, Shape({Dim::fixed(2)}));
  ir::Value* table = graph.add_constant("table", Tensor(DType::Float32, {50, 4}));
  ir::Value* ids_as_int32 = graph.add_node("Cast", "cast", {ids}, {"ids32"})->outputs[0];
  ir::Node* gather = graph.add_node("Gather", "embed", {table, ids_as_int32}, {"embedded"});
  gather->attrs["axis"] = int64_t{0};
  graph.add_output(gather->outputs[0]);
  return graph;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

TEST(RandomInputs, SameSeedSameTensorsOtherSeedOthers) {
  ir::Graph graph = sample_graph();
  DimSizes sizes{{"batch", 2}, {"seq", 5}};
  auto first = make_random_inputs(graph, 42, sizes);
  auto again = make_random_inputs(graph, 42, sizes);
  auto other = make_random_inputs(graph, 43, sizes);
  ASSERT_EQ(first.size(), 5u);
  for (const auto& [name, tensor] : first) EXPECT_TRUE(same_bytes(tensor, again.at(name))) << name;
  EXPECT_FALSE(same_bytes(first.at("x"), other.at("x")));
}

TEST(RandomInputs, SymbolicDimsAreOneUnlessGiven) {
  ir::Graph graph = sample_graph();
  auto defaults = make_random_inputs(graph, 0);
  EXPECT_EQ(defaults.at("x").dims(), Dims({1, 3}));
  EXPECT_EQ(defaults.at("ids").dims(), Dims({1, 1}));
  auto sized = make_random_inputs(graph, 0, {{"batch", 4}, {"seq", 7}});
  EXPECT_EQ(sized.at("x").dims(), Dims({4, 3}));
  EXPECT_EQ(sized.at("ids").dims(), Dims({4, 7}));
  EXPECT_EQ(sized.at("mask").dims(), Dims({7}));
  EXPECT_EQ(sized.at("half").dtype(), DType::BFloat16);
}

TEST(RandomInputs, FloatsAreStandardNormal) {
  ir::Graph graph = sample_graph();
  Tensor x = make_random_inputs(graph, 3, {{"batch", 100000}}).at("x");
  std::vector<double> values = x.to_double_vector();
  double mean = 0, square = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  for (double v : values) square += (v - mean) * (v - mean);
  double std_dev = std::sqrt(square / static_cast<double>(values.size()));
  // 300,000 samples: the standard error of the mean is ~0.002.
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std_dev, 1.0, 0.01);
  double beyond_two = static_cast<double>(
      std::count_if(values.begin(), values.end(), [](double v) { return std::abs(v) > 2; }));
  EXPECT_NEAR(beyond_two / static_cast<double>(values.size()), 0.0455, 0.003);  // P(|z| > 2)
}

TEST(RandomInputs, GatherIndicesStayInsideTheGatheredAxis) {
  ir::Graph graph = sample_graph();
  auto inputs = make_random_inputs(graph, 5, {{"batch", 50}, {"seq", 40}});
  std::vector<int64_t> ids = inputs.at("ids").to_int64_vector();
  EXPECT_EQ(*std::min_element(ids.begin(), ids.end()), 0);
  EXPECT_EQ(*std::max_element(ids.begin(), ids.end()), 49);  // 2000 draws from [0, 50)
  std::vector<int64_t> mask = inputs.at("mask").to_int64_vector();
  EXPECT_TRUE(std::all_of(mask.begin(), mask.end(), [](int64_t v) { return v == 0 || v == 1; }));
  EXPECT_NE(std::count(mask.begin(), mask.end(), 1), 0);
}

TEST(RandomInputs, UnknownRankOrTypeIsAnError) {
  ir::Graph graph;
  graph.add_input("anything", DType::Float32, Shape());
  EXPECT_THROW(make_random_inputs(graph, 0), Error);
  ir::Graph untyped;
  untyped.add_input("untyped", DType::Undefined, Shape({Dim::fixed(1)}));
  EXPECT_THROW(make_random_inputs(untyped, 0), Error);
}

}  // namespace
}  // namespace kiln
