// fuse_epilogues: which patterns fold (and which must not), what the fused graph looks like,
// and that the CPU reference computes the same outputs before and after, in fp32 and in bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "ir/verifier.h"
#include "kiln/summary.h"
#include "passes/pass_test_helpers.h"  // tests/passes
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using cpu::testing::random_tensor;
using ir::testing::shape;
using pass_testing::find_node;
using pass_testing::weight;

constexpr double kFp32Tolerance = 1e-6;  // max abs difference, fused vs unfused, fp32
constexpr double kBf16Tolerance = 1e-2;  // normalized error, fused vs unfused, bf16 emulation

// A small network with each pattern once:
//   x[batch,3,16] → MatMul fc1 → Add(b1[12]) → Relu → MatMul fc2 → Add(b2[1,1,10], ·) → Gelu(tanh)
//   → a2 v[4,10] → Gemm proj (no C) → Add(scalar) → Relu → g img[2,3,8,8] → Conv conv (with bias) →
//   Relu → c
void build_network(ir::Graph& graph) {
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3, 16}));
  ir::Node* fc1 = graph.add_node("MatMul", "fc1", {x, weight(graph, "w1", {16, 12}, 1)}, {"h1"});
  ir::Node* add1 =
      graph.add_node("Add", "add1", {fc1->outputs[0], weight(graph, "b1", {12}, 2)}, {"h1b"});
  ir::Node* relu1 = graph.add_node("Relu", "relu1", {add1->outputs[0]}, {"a1"});
  ir::Node* fc2 = graph.add_node("MatMul", "fc2",
                                 {relu1->outputs[0], weight(graph, "w2", {12, 10}, 3)}, {"h2"});
  ir::Node* add2 =
      graph.add_node("Add", "add2", {weight(graph, "b2", {1, 1, 10}, 4), fc2->outputs[0]}, {"h2b"});
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {add2->outputs[0]}, {"a2"});
  gelu->attrs["approximate"] = std::string("tanh");

  ir::Value* v = graph.add_input("v", DType::Float32, shape({4, 10}));
  ir::Node* proj = graph.add_node("Gemm", "proj", {v, weight(graph, "w3", {6, 10}, 5)}, {"p"});
  proj->attrs["transB"] = int64_t{1};
  proj->attrs["alpha"] = 0.5;
  ir::Node* add3 = graph.add_node(
      "Add", "add3", {proj->outputs[0], graph.add_constant("b3", Tensor::scalar<float>(0.25f))},
      {"pb"});
  ir::Node* relu3 = graph.add_node("Relu", "relu3", {add3->outputs[0]}, {"g"});

  ir::Value* img = graph.add_input("img", DType::Float32, shape({2, 3, 8, 8}));
  ir::Node* conv = graph.add_node(
      "Conv", "conv", {img, weight(graph, "wc", {4, 3, 3, 3}, 6), weight(graph, "bc", {4}, 7)},
      {"y"});
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* relu4 = graph.add_node("Relu", "relu4", {conv->outputs[0]}, {"c"});

  graph.add_output(gelu->outputs[0]);
  graph.add_output(relu3->outputs[0]);
  graph.add_output(relu4->outputs[0]);
  ir::infer_graph(graph);
}

std::map<std::string, Tensor> network_inputs() {
  return {{"x", random_tensor({5, 3, 16}, 11)},
          {"v", random_tensor({4, 10}, 12)},
          {"img", random_tensor({2, 3, 8, 8}, 13)}};
}

TEST(FuseEpilogues, FoldsEachPatternKeepingNames) {
  ir::Graph graph;
  build_network(graph);
  EXPECT_EQ(fuse_epilogues(graph), 7);
  ASSERT_EQ(graph.node_count(), 4u);
  EXPECT_NO_THROW(ir::verify(graph));

  ir::Node* fc1 = find_node(graph, "fc1");
  ASSERT_NE(fc1, nullptr);
  ASSERT_EQ(fc1->inputs.size(), 3u);
  EXPECT_EQ(fc1->inputs[2]->name, "b1");  // already a vector: the constant itself
  EXPECT_EQ(fc1->attr_string("fused_activation", ""), "Relu");
  EXPECT_EQ(fc1->outputs[0]->name, "a1");

  ir::Node* fc2 = find_node(graph, "fc2");
  ASSERT_NE(fc2, nullptr);
  ASSERT_EQ(fc2->inputs.size(), 3u);
  EXPECT_EQ(fc2->inputs[2]->shape.to_string(), "[10]");  // [1, 1, 10] reshaped
  EXPECT_EQ(fc2->attr_string("fused_activation", ""), "Gelu_tanh");
  EXPECT_EQ(fc2->outputs[0]->name, "a2");
  EXPECT_EQ(fc2->outputs[0]->shape.to_string(), "[batch, 3, 10]");

  ir::Node* proj = find_node(graph, "proj");
  ASSERT_NE(proj, nullptr);
  ASSERT_EQ(proj->inputs.size(), 3u);
  EXPECT_EQ(proj->inputs[2]->constant->to_double_vector(), std::vector<double>(6, 0.25));
  EXPECT_EQ(proj->attr_float("beta", 0), 1.0);
  EXPECT_EQ(proj->attr_string("fused_activation", ""), "Relu");

  ir::Node* conv = find_node(graph, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attr_string("fused_activation", ""), "Relu");
  EXPECT_EQ(conv->outputs[0]->name, "c");

  EXPECT_EQ(graph.outputs()[0]->name, "a2");
  EXPECT_EQ(graph.outputs()[1]->name, "g");
  EXPECT_EQ(graph.outputs()[2]->name, "c");
  EXPECT_EQ(graph.find_value("h1"), nullptr);  // intermediates are gone
  EXPECT_EQ(graph.find_value("b2"), nullptr);  // replaced by its vector form
  EXPECT_EQ(fuse_epilogues(graph), 0);         // nothing left to fold
}

TEST(FuseEpilogues, CpuOutputsMatchTheUnfusedGraphInFp32) {
  ir::Graph plain, fused;
  build_network(plain);
  build_network(fused);
  ASSERT_EQ(fuse_epilogues(fused), 7);
  std::vector<Tensor> expected = cpu::Executor(plain).run(network_inputs());
  std::vector<Tensor> actual = cpu::Executor(fused).run(network_inputs());
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].dims(), expected[i].dims()) << "output " << i;
    EXPECT_LE(compare_tensors(actual[i], expected[i]).max_abs_diff, kFp32Tolerance)
        << "output " << i;
  }
}

TEST(FuseEpilogues, CpuOutputsMatchTheUnfusedGraphUnderBf16Emulation) {
  ir::Graph plain, fused;
  build_network(plain);
  build_network(fused);
  assign_precisions(plain, {Precision::BF16}, false);
  assign_precisions(fused, {Precision::BF16}, false);
  ASSERT_EQ(fuse_epilogues(fused), 7);
  EXPECT_EQ(find_node(fused, "fc1")->precision, Precision::BF16);
  std::vector<Tensor> expected = cpu::Executor(plain).run(network_inputs());
  std::vector<Tensor> actual = cpu::Executor(fused).run(network_inputs());
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    // The unfused graph rounds to bf16 between product, Add and activation; the fused one
    // once at the end, as the GPU epilogue does: equal up to bf16 rounding.
    double error = normalized_error(actual[i], expected[i]);
    EXPECT_TRUE(error <= kBf16Tolerance) << "output " << i << ": normalized error " << error;
    for (double value : actual[i].to_double_vector()) {  // every value is a bf16 value
      ASSERT_EQ(static_cast<float>(value), round_to_precision(float(value), Precision::BF16));
    }
  }
}

// x[2,8] → MatMul mm (constant W[8,4]) → h, for the cases that must not fuse.
struct Product {
  ir::Graph graph;
  ir::Node* mm = nullptr;
  Product() {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8}));
    mm = graph.add_node("MatMul", "mm", {x, weight(graph, "w", {8, 4}, 1)}, {"h"});
  }
  ir::Value* h() const { return mm->outputs[0]; }
  ir::Node* relu(ir::Value* input, const std::string& name) {
    return graph.add_node("Relu", name, {input}, {name + "_out"});
  }
  int fuse() {
    ir::infer_graph(graph);
    int count = fuse_epilogues(graph);
    ir::verify(graph);
    return count;
  }
};

TEST(FuseEpilogues, SecondReaderOfTheIntermediateBlocksFusion) {
  Product p;
  ir::Node* add = p.graph.add_node("Add", "add", {p.h(), weight(p.graph, "b", {4}, 2)}, {"y"});
  ir::Node* relu = p.relu(p.h(), "relu");
  p.graph.add_output(add->outputs[0]);
  p.graph.add_output(relu->outputs[0]);
  EXPECT_EQ(p.fuse(), 0);
  EXPECT_EQ(p.graph.node_count(), 3u);
  EXPECT_FALSE(p.mm->has_attr("fused_activation"));
}

// HF GPT-2's MLP: a Gemm on a 2-D view, the view back to 3-D, then GELU (tanh). The GELU moves
// into the Gemm's epilogue; the Reshape stays and writes the GELU's value.
TEST(FuseEpilogues, AnActivationAfterAReshapeFusesIntoTheProduct) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({6, 8}));
  ir::Node* gemm = graph.add_node("Gemm", "gemm", {x, weight(graph, "w", {8, 4}, 3)}, {"h"});
  ir::Node* view = graph.add_node(
      "Reshape", "view",
      {gemm->outputs[0], graph.add_constant("s", Tensor::from_vector<int64_t>({3}, {2, 3, 4}))},
      {"h3"});
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {view->outputs[0]}, {"y"});
  gelu->attrs["approximate"] = std::string("tanh");
  graph.add_output(gelu->outputs[0]);
  ir::infer_graph(graph);
  ir::Graph plain = ir::copy_graph(graph);
  std::map<std::string, Tensor> inputs = {{"x", random_tensor({6, 8}, 5)}};
  EXPECT_EQ(fuse_epilogues(graph), 1);
  EXPECT_EQ(graph.node_count(), 2u);
  EXPECT_EQ(gemm->attr_string("fused_activation", ""), "Gelu_tanh");
  EXPECT_EQ(graph.outputs()[0]->name, "y");
  EXPECT_EQ(graph.outputs()[0]->producer, view);
  ir::verify(graph);
  Tensor expected = cpu::Executor(plain).run(inputs)[0];
  Tensor actual = cpu::Executor(graph).run(inputs)[0];
  EXPECT_LE(compare_tensors(actual, expected).max_abs_diff, kFp32Tolerance);
}

TEST(FuseEpilogues, GraphOutputIntermediateBlocksFusion) {
  Product p;
  ir::Node* relu = p.relu(p.h(), "relu");
  p.graph.add_output(p.h());
  p.graph.add_output(relu->outputs[0]);
  EXPECT_EQ(p.fuse(), 0);
  EXPECT_EQ(p.graph.node_count(), 2u);
}

TEST(FuseEpilogues, NonConstantBiasOrWeightBlocksBiasFusion) {
  Product p;
  ir::Value* bias = p.graph.add_input("bias", DType::Float32, shape({4}));
  ir::Node* add = p.graph.add_node("Add", "add", {p.h(), bias}, {"y"});
  p.graph.add_output(p.relu(add->outputs[0], "relu")->outputs[0]);
  EXPECT_EQ(p.fuse(), 0);  // and the Relu, reading the Add, is not the product's follower
  EXPECT_EQ(p.mm->inputs.size(), 2u);

  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8}));
  ir::Value* w = graph.add_input("w", DType::Float32, shape({8, 4}));
  ir::Node* mm = graph.add_node("MatMul", "mm", {x, w}, {"h"});
  ir::Node* add2 =
      graph.add_node("Add", "add", {mm->outputs[0], weight(graph, "b", {4}, 2)}, {"y"});
  graph.add_output(add2->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(fuse_epilogues(graph), 0);
}

TEST(FuseEpilogues, BiasThatIsNoVectorOverTheLastDimStaysAnAdd) {
  for (const Dims& dims : {Dims{2, 4}, Dims{1, 1, 4}, Dims{2, 1}}) {
    SCOPED_TRACE(dims_to_string(dims));
    Product p;
    ir::Node* add = p.graph.add_node("Add", "add", {p.h(), weight(p.graph, "b", dims, 2)}, {"y"});
    p.graph.add_output(add->outputs[0]);
    EXPECT_EQ(p.fuse(), 0);
  }
}

TEST(FuseEpilogues, PrecisionsMustAgree) {
  struct Case {
    Precision product;
    std::optional<Precision> relu;
    int fused;
  };
  for (const Case& c :
       {Case{Precision::BF16, Precision::FP32, 0}, Case{Precision::FP16, Precision::BF16, 0},
        Case{Precision::BF16, std::nullopt, 1}, Case{Precision::BF16, Precision::BF16, 1},
        Case{Precision::TF32, Precision::FP32, 1}}) {
    Product p;
    p.mm->precision = c.product;
    ir::Node* relu = p.relu(p.h(), "relu");
    relu->precision = c.relu;
    p.graph.add_output(relu->outputs[0]);
    EXPECT_EQ(p.fuse(), c.fused) << precision_name(c.product) << " then "
                                 << (c.relu ? precision_name(*c.relu) : "none");
  }
}

TEST(FuseEpilogues, OnlyEpiloguesTheLibrariesHave) {
  {  // exact GELU after a product: fused as "Gelu" (the CUDA MatMul decides how it runs)
    Product p;
    ir::Node* gelu = p.graph.add_node("Gelu", "gelu", {p.h()}, {"y"});
    p.graph.add_output(gelu->outputs[0]);
    EXPECT_EQ(p.fuse(), 1);
    EXPECT_EQ(p.mm->attr_string("fused_activation", ""), "Gelu");
  }
  {  // Conv + GELU: cuDNN's fused convolution has ReLU only
    ir::Graph graph;
    ir::Value* img = graph.add_input("img", DType::Float32, shape({1, 2, 5, 5}));
    ir::Node* conv =
        graph.add_node("Conv", "conv", {img, weight(graph, "w", {3, 2, 3, 3}, 1)}, {"y"});
    ir::Node* gelu = graph.add_node("Gelu", "gelu", {conv->outputs[0]}, {"z"});
    gelu->attrs["approximate"] = std::string("tanh");
    graph.add_output(gelu->outputs[0]);
    ir::infer_graph(graph);
    EXPECT_EQ(fuse_epilogues(graph), 0);
  }
  {  // an activation already fused: a later Add is no bias of the product
    Product p;
    ir::Node* relu = p.relu(p.h(), "relu");
    ir::Node* add =
        p.graph.add_node("Add", "add", {relu->outputs[0], weight(p.graph, "b", {4}, 2)}, {"y"});
    p.graph.add_output(add->outputs[0]);
    EXPECT_EQ(p.fuse(), 1);
    EXPECT_EQ(p.mm->inputs.size(), 2u);
    EXPECT_EQ(p.graph.node_count(), 2u);
  }
}

TEST(FuseEpilogues, SchemasRejectUnknownActivationsAndBadBiases) {
  auto expect_kind = [](ir::Graph& graph, ErrorKind kind) {
    try {
      ir::infer_graph(graph);
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), kind) << error.what();
    }
  };
  {
    Product p;
    p.mm->attrs["fused_activation"] = std::string("Sigmoid");
    expect_kind(p.graph, ErrorKind::Unsupported);
  }
  {
    Product p;
    p.mm->inputs.push_back(weight(p.graph, "b", {5}, 2));  // 5 values for 4 columns
    expect_kind(p.graph, ErrorKind::InvalidModel);
  }
  {
    ir::Graph graph;
    ir::Value* img = graph.add_input("img", DType::Float32, shape({1, 2, 5, 5}));
    ir::Node* conv =
        graph.add_node("Conv", "conv", {img, weight(graph, "w", {3, 2, 3, 3}, 1)}, {"y"});
    conv->attrs["fused_activation"] = std::string("Gelu_tanh");
    expect_kind(graph, ErrorKind::Unsupported);
  }
  {  // Sigmoid only ends a 1x1 convolution of 1x1 images
    ir::Graph graph;
    ir::Value* img = graph.add_input("img", DType::Float32, shape({1, 2, 5, 5}));
    ir::Node* conv =
        graph.add_node("Conv", "conv", {img, weight(graph, "w", {3, 2, 1, 1}, 1)}, {"y"});
    conv->attrs["fused_activation"] = std::string("Sigmoid");
    expect_kind(graph, ErrorKind::Unsupported);
  }
}

// A squeeze-excite block's end: a 1x1 Conv of pooled [N, C, 1, 1] (or NHWC [N, 1, 1, C])
// vectors, then Sigmoid, fuses as fused_activation "Sigmoid"; the same pair over a 2x2 image,
// with pads or with groups does not (cuDNN's graphs have no sigmoid epilogue).
TEST(FuseEpilogues, SigmoidEndsAVectorProjection) {
  struct Case {
    Dims x, w;
    std::vector<int64_t> pads;
    int64_t group;
    bool nhwc;
    bool fuses;
  };
  const Case cases[] = {
      {{4, 8, 1, 1}, {6, 8, 1, 1}, {0, 0, 0, 0}, 1, false, true},
      {{4, 1, 1, 8}, {6, 1, 1, 8}, {0, 0, 0, 0}, 1, true, true},
      {{4, 8, 1}, {6, 8, 1}, {0, 0}, 1, false, true},
      {{4, 8, 2, 2}, {6, 8, 1, 1}, {0, 0, 0, 0}, 1, false, false},
      {{4, 8, 1, 1}, {6, 8, 1, 1}, {1, 1, 1, 1}, 1, false, false},
      {{4, 8, 1, 1}, {8, 4, 1, 1}, {0, 0, 0, 0}, 2, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(dims_to_string(c.x));
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims(c.x));
    ir::Node* conv = graph.add_node("Conv", "se", {x, weight(graph, "w", c.w, 1)}, {"y"});
    conv->attrs["pads"] = c.pads;
    conv->attrs["group"] = c.group;
    if (c.nhwc) conv->attrs["channels_last"] = int64_t(1);
    ir::Node* sigmoid = graph.add_node("Sigmoid", "gate", {conv->outputs[0]}, {"s"});
    graph.add_output(sigmoid->outputs[0]);
    ir::infer_graph(graph);
    EXPECT_EQ(fuse_epilogues(graph), c.fuses ? 1 : 0);
    EXPECT_EQ(conv->attr_string("fused_activation", ""), c.fuses ? "Sigmoid" : "");
    if (c.fuses) EXPECT_EQ(graph.outputs()[0]->producer, conv);
  }
}

}  // namespace
}  // namespace kiln::passes
