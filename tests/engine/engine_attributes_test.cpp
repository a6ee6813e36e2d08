// Every attribute kind, symbolic and unknown dims, and node metadata survive the engine file
// exactly (doubles bit-for-bit, NaN and infinities included).
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>

#include "engine/engine_file.h"

namespace kiln::engine {
namespace {

TEST(EngineAttributes, EveryKindRoundTripsExactly) {
  ir::Graph graph;
  graph.name = "attrs";
  ir::Value* x =
      graph.add_input("x", DType::Float32, ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(3)}));
  ir::Value* bias =
      graph.add_constant("bias", Tensor::from_vector<float>({3}, {1.5f, -2.f, 0.25f}));
  ir::Node* add = graph.add_node("Add", "add_node", {x, bias}, {"sum"});
  add->precision = Precision::BF16;
  add->source = "model.onnx: node 'add' (line 3)";
  add->attrs["i"] = int64_t{-7};
  add->attrs["nan"] = std::numeric_limits<double>::quiet_NaN();
  add->attrs["neg_inf"] = -std::numeric_limits<double>::infinity();
  add->attrs["tiny"] = 4.9e-324;
  add->attrs["s"] = std::string("text with \"quotes\" and \xc3\xa9");
  add->attrs["ints"] = std::vector<int64_t>{1, -2, std::numeric_limits<int64_t>::max()};
  add->attrs["floats"] = std::vector<double>{0.1, -0.0};
  add->attrs["tensor"] = Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, -4});
  add->attrs["empty_tensor"] = Tensor();
  add->outputs[0]->dtype = DType::Float32;
  add->outputs[0]->shape = ir::Shape({ir::Dim::unknown(), ir::Dim::fixed(3)});
  graph.add_output(add->outputs[0]);

  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("engine_attrs_" + std::to_string(::getpid()) + ".kiln");
  BuildConfig config;
  config.enabled_precisions = {Precision::BF16, Precision::TF32};
  config.strongly_typed = true;
  config.layer_precisions = {{"add_node", Precision::BF16}};
  write_engine(path, graph, config);
  LoadedEngine loaded = read_engine(path);
  std::filesystem::remove(path);

  EXPECT_EQ(loaded.graph.name, "attrs");
  EXPECT_EQ(loaded.config.enabled_precisions, config.enabled_precisions);
  EXPECT_TRUE(loaded.config.strongly_typed);
  EXPECT_EQ(loaded.config.layer_precisions, config.layer_precisions);
  ASSERT_EQ(loaded.graph.inputs().size(), 1u);
  EXPECT_EQ(loaded.graph.inputs()[0]->shape, x->shape);
  ASSERT_EQ(loaded.graph.node_count(), 1u);
  const ir::Node& node = *loaded.graph.nodes()[0];
  EXPECT_EQ(node.precision, Precision::BF16);
  EXPECT_EQ(node.source, add->source);
  EXPECT_EQ(node.outputs[0]->shape, add->outputs[0]->shape);
  EXPECT_EQ(node.attr_int("i", 0), -7);
  EXPECT_TRUE(std::isnan(node.attr_float("nan", 0)));
  EXPECT_EQ(node.attr_float("neg_inf", 0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::bit_cast<uint64_t>(node.attr_float("tiny", 0)), std::bit_cast<uint64_t>(4.9e-324));
  EXPECT_EQ(node.attr_string("s", ""), std::get<std::string>(add->attrs["s"]));
  EXPECT_EQ(node.attr_ints("ints"), std::get<std::vector<int64_t>>(add->attrs["ints"]));
  std::vector<double> floats = node.attr_floats("floats");
  ASSERT_EQ(floats.size(), 2u);
  EXPECT_EQ(floats[0], 0.1);
  EXPECT_TRUE(std::signbit(floats[1]));  // -0.0 stays negative
  const Tensor* tensor = node.attr_tensor("tensor");
  ASSERT_NE(tensor, nullptr);
  EXPECT_EQ(tensor->dtype(), DType::Int32);
  EXPECT_EQ(tensor->to_int64_vector(), (std::vector<int64_t>{1, 2, 3, -4}));
  EXPECT_FALSE(std::get<Tensor>(node.attrs.at("empty_tensor")).defined());
  const ir::Value* read_bias = loaded.graph.find_value("bias");
  ASSERT_NE(read_bias, nullptr);
  EXPECT_EQ(read_bias->constant->to_double_vector(), (std::vector<double>{1.5, -2.0, 0.25}));
}

}  // namespace
}  // namespace kiln::engine
