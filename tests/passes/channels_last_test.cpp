// convert_to_channels_last: which nodes move to NHWC, where the Transposes go, and that the
// CPU reference computes the same outputs before and after (a small residual network and
// the ResNet fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "kiln/kiln.h"
#include "kiln/summary.h"
#include "passes/pass_test_helpers.h"  // tests/passes
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using cpu::testing::random_tensor;
using ir::testing::shape;
using pass_testing::count_op;
using pass_testing::find_node;
using pass_testing::weight;

constexpr double kFp32Tolerance = 1e-5;  // max abs difference, converted vs not, fp32

// x[2,3,16,16] → Conv conv1 (bias) → Relu relu1 → MaxPool pool → Conv conv2 → Mul(scale
// [1,8,1,1]) → Add(·, pool) → Relu relu2 → GlobalAveragePool gap → Flatten → Gemm fc → logits.
void build_resnet_like(ir::Graph& graph) {
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 3, 16, 16}));
  ir::Node* conv1 = graph.add_node(
      "Conv", "conv1", {x, weight(graph, "w1", {8, 3, 3, 3}, 1), weight(graph, "b1", {8}, 2)},
      {"c1"});
  conv1->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* relu1 = graph.add_node("Relu", "relu1", {conv1->outputs[0]}, {"r1"});
  ir::Node* pool = graph.add_node("MaxPool", "pool", {relu1->outputs[0]}, {"p"});
  pool->attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  pool->attrs["strides"] = std::vector<int64_t>{2, 2};
  pool->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* conv2 = graph.add_node(
      "Conv", "conv2", {pool->outputs[0], weight(graph, "w2", {8, 8, 3, 3}, 3)}, {"c2"});
  conv2->attrs["pads"] = std::vector<int64_t>{0, 1, 2, 1};  // uneven
  conv2->attrs["strides"] = std::vector<int64_t>{1, 1};
  ir::Node* scale = graph.add_node("Mul", "scale",
                                   {conv2->outputs[0], weight(graph, "s", {1, 8, 1, 1}, 4)}, {"m"});
  ir::Node* add = graph.add_node("Add", "add", {scale->outputs[0], pool->outputs[0]}, {"a"});
  ir::Node* relu2 = graph.add_node("Relu", "relu2", {add->outputs[0]}, {"r2"});
  ir::Node* gap = graph.add_node("GlobalAveragePool", "gap", {relu2->outputs[0]}, {"g"});
  ir::Node* flatten = graph.add_node("Flatten", "flatten", {gap->outputs[0]}, {"f"});
  ir::Node* fc = graph.add_node(
      "Gemm", "fc",
      {flatten->outputs[0], weight(graph, "wf", {10, 8}, 5), weight(graph, "bf", {10}, 6)},
      {"logits"});
  fc->attrs["transB"] = int64_t{1};
  graph.add_output(fc->outputs[0]);
}

// Runs `graph` before and after the pass on the same inputs; every output must agree.
void expect_same_outputs(const ir::Graph& original, const ir::Graph& converted) {
  std::map<std::string, Tensor> inputs = make_random_inputs(original, 11);
  std::vector<Tensor> expected = cpu::Executor(original).run(inputs);
  std::vector<Tensor> actual = cpu::Executor(converted).run(inputs);
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].dims(), expected[i].dims()) << "output " << i;
    EXPECT_LE(compare_tensors(actual[i], expected[i]).max_abs_diff, kFp32Tolerance)
        << "output " << i;
  }
}

TEST(ChannelsLast, ConvertsTheResidualNetworkWithTransposesOnlyAtTheBorders) {
  ir::Graph original, graph;
  build_resnet_like(original);
  build_resnet_like(graph);
  ir::infer_graph(original);
  // conv1 relu1 pool conv2 scale add relu2 gap
  EXPECT_EQ(convert_to_channels_last(graph), 8);
  EXPECT_EQ(count_op(graph, "Transpose"), 2);  // x in, gap's result out to Flatten
  for (const char* name : {"conv1", "pool", "conv2", "gap"}) {
    ASSERT_NE(find_node(graph, name), nullptr) << name;
    EXPECT_EQ(find_node(graph, name)->attr_int("channels_last", 0), 1) << name;
  }
  EXPECT_EQ(find_node(graph, "relu2")->outputs[0]->shape, shape({2, 8, 8, 8}));
  EXPECT_EQ(find_node(graph, "conv2")->input(1)->shape, shape({8, 3, 3, 8}));  // KRSC
  EXPECT_EQ(find_node(graph, "scale")->input(1)->shape, shape({1, 1, 1, 8}));
  EXPECT_EQ(find_node(graph, "flatten")->input(0)->producer->op, "Transpose");
  EXPECT_EQ(graph.outputs()[0]->name, "logits");
  expect_same_outputs(original, graph);
}

// A ConvNeXt block: depthwise Conv → permute to NHWC → LayerNorm → permute back → Mul(gamma
// [C,1,1]) → Add(input) → Conv. The region's exit Transpose cancels against the first permute
// (simplify_shape_ops), and the region reads the second permute's input directly.
TEST(ChannelsLast, ReadsTheModelsOwnNhwcValuesAroundAConvNextBlock) {
  auto build = [](ir::Graph& graph) {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8, 6, 6}));
    ir::Node* stem =
        graph.add_node("Conv", "stem", {x, weight(graph, "ws", {8, 8, 1, 1}, 1)}, {"s"});
    ir::Node* dw = graph.add_node("Conv", "dw",
                                  {stem->outputs[0], weight(graph, "wd", {8, 1, 3, 3}, 2)}, {"d"});
    dw->attrs["group"] = int64_t{8};
    dw->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    ir::Node* to_nhwc = graph.add_node("Transpose", "permute", {dw->outputs[0]}, {"t"});
    to_nhwc->attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
    ir::Node* norm = graph.add_node(
        "LayerNormalization", "norm",
        {to_nhwc->outputs[0], weight(graph, "g", {8}, 3), weight(graph, "b", {8}, 4)}, {"n"});
    norm->attrs["axis"] = int64_t{-1};
    ir::Node* back = graph.add_node("Transpose", "permute_back", {norm->outputs[0]}, {"u"});
    back->attrs["perm"] = std::vector<int64_t>{0, 3, 1, 2};
    ir::Node* scale = graph.add_node(
        "Mul", "layer_scale", {back->outputs[0], weight(graph, "gamma", {8, 1, 1}, 5)}, {"m"});
    ir::Node* add = graph.add_node("Add", "add", {scale->outputs[0], stem->outputs[0]}, {"a"});
    ir::Node* next = graph.add_node("Conv", "next",
                                    {add->outputs[0], weight(graph, "wn", {4, 8, 1, 1}, 6)}, {"y"});
    graph.add_output(next->outputs[0]);
    ir::infer_graph(graph);
  };
  ir::Graph original, graph;
  build(original);
  build(graph);
  EXPECT_EQ(count_op(graph, "Transpose"), 2);
  convert_to_channels_last(graph);
  simplify_shape_ops(graph);
  eliminate_dead_code(graph);
  // Only the image in and the result out: none around the LayerNorm, none before `next`.
  EXPECT_EQ(count_op(graph, "Transpose"), 2);
  EXPECT_EQ(find_node(graph, "norm")->input(0), find_node(graph, "dw")->outputs[0]);
  EXPECT_EQ(find_node(graph, "layer_scale")->input(0), find_node(graph, "norm")->outputs[0]);
  EXPECT_EQ(find_node(graph, "next")->input(0), find_node(graph, "add")->outputs[0]);
  expect_same_outputs(original, graph);
}

// DenseNet / Inception: branches concatenated along the channels stay in the region.
TEST(ChannelsLast, ConcatAlongChannelsJoinsTheRegion) {
  auto build = [](ir::Graph& graph) {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4, 5, 5}));
    ir::Node* a = graph.add_node("Conv", "a", {x, weight(graph, "wa", {3, 4, 1, 1}, 1)}, {"ya"});
    ir::Node* b = graph.add_node("Conv", "b", {x, weight(graph, "wb", {5, 4, 1, 1}, 2)}, {"yb"});
    ir::Node* cat = graph.add_node("Concat", "cat", {x, a->outputs[0], b->outputs[0]}, {"c"});
    cat->attrs["axis"] = int64_t{1};
    ir::Node* next = graph.add_node(
        "Conv", "next", {cat->outputs[0], weight(graph, "wn", {2, 12, 3, 3}, 3)}, {"y"});
    graph.add_output(next->outputs[0]);
    ir::infer_graph(graph);
  };
  ir::Graph original, graph;
  build(original);
  build(graph);
  EXPECT_EQ(convert_to_channels_last(graph), 4);
  EXPECT_EQ(count_op(graph, "Transpose"), 2);  // x in (read by a, b and cat), y out
  EXPECT_EQ(find_node(graph, "cat")->attr_int("axis", 0), 3);
  EXPECT_EQ(find_node(graph, "cat")->outputs[0]->shape, shape({2, 5, 5, 12}));
  expect_same_outputs(original, graph);
}

// DenseNet's layer: Concat → BatchNormalization (unfoldable: no Conv before it) → Relu → Conv.
// The BN becomes Mul and Add by per-channel constants and stays in the region.
TEST(ChannelsLast, UnfoldedBatchNormJoinsTheRegionAsMulAndAdd) {
  auto build = [](ir::Graph& graph) {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4, 5, 5}));
    ir::Node* a = graph.add_node("Conv", "a", {x, weight(graph, "wa", {3, 4, 1, 1}, 1)}, {"ya"});
    ir::Node* cat = graph.add_node("Concat", "cat", {x, a->outputs[0]}, {"c"});
    cat->attrs["axis"] = int64_t{1};
    ir::Node* bn = graph.add_node(
        "BatchNormalization", "bn",
        {cat->outputs[0], weight(graph, "scale", {7}, 2), weight(graph, "shift", {7}, 3),
         weight(graph, "mean", {7}, 4),
         graph.add_constant("var", Tensor::from_vector<float>({7}, std::vector<float>(7, 0.5f)))},
        {"n"});
    bn->attrs["epsilon"] = 1e-3;
    ir::Node* relu = graph.add_node("Relu", "relu", {bn->outputs[0]}, {"r"});
    ir::Node* next = graph.add_node(
        "Conv", "next", {relu->outputs[0], weight(graph, "wn", {2, 7, 3, 3}, 5)}, {"y"});
    graph.add_output(next->outputs[0]);
    ir::infer_graph(graph);
  };
  ir::Graph original, graph;
  build(original);
  build(graph);
  EXPECT_EQ(convert_to_channels_last(graph), 6);  // a, cat, Mul, Add, relu, next
  EXPECT_EQ(count_op(graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(graph, "Transpose"), 2);  // x in, y out
  expect_same_outputs(original, graph);
}

TEST(ChannelsLast, KeepsFusedReluAndBias) {
  ir::Graph original, graph;
  build_resnet_like(original);
  build_resnet_like(graph);
  ir::infer_graph(original);
  ir::infer_graph(graph);
  EXPECT_EQ(fuse_epilogues(original), 1);  // conv1 + relu1
  EXPECT_EQ(fuse_epilogues(graph), 1);
  EXPECT_EQ(convert_to_channels_last(graph), 7);
  ir::Node* conv1 = find_node(graph, "conv1");
  EXPECT_EQ(conv1->attr_string("fused_activation", ""), "Relu");
  EXPECT_NE(conv1->input(2), nullptr);
  expect_same_outputs(original, graph);
}

TEST(ChannelsLast, GraphOutputInsideTheRegionStaysNchwWithItsName) {
  ir::Graph original, graph;
  for (ir::Graph* g : {&original, &graph}) {
    build_resnet_like(*g);
    g->add_output(find_node(*g, "relu1")->outputs[0]);
    g->add_output(find_node(*g, "relu2")->outputs[0]);
  }
  ir::infer_graph(original);
  EXPECT_EQ(convert_to_channels_last(graph), 8);
  EXPECT_EQ(count_op(graph, "Transpose"), 4);  // x in, r1 and r2 out, gap out
  ASSERT_EQ(graph.outputs().size(), 3u);
  EXPECT_EQ(graph.outputs()[1]->name, "r1");
  EXPECT_EQ(graph.outputs()[1]->shape, shape({2, 8, 16, 16}));
  EXPECT_EQ(graph.outputs()[1]->producer->op, "Transpose");
  EXPECT_EQ(graph.outputs()[2]->name, "r2");
  EXPECT_EQ(graph.outputs()[2]->shape, shape({2, 8, 8, 8}));
  // The region still reads the NHWC value, not the restored one.
  EXPECT_NE(find_node(graph, "pool")->input(0)->producer->op, "Transpose");
  expect_same_outputs(original, graph);
}

TEST(ChannelsLast, LeavesOtherConvolutionsAlone) {
  ir::Graph graph;
  ir::Value* signal = graph.add_input("signal", DType::Float32, shape({2, 3, 20}));
  ir::Node* conv1d =
      graph.add_node("Conv", "conv1d", {signal, weight(graph, "w", {4, 3, 3}, 1)}, {"y"});
  ir::Value* image = graph.add_input("image", DType::Float32, shape({1, 3, 8, 8}));
  ir::Value* filter = graph.add_input("filter", DType::Float32, shape({4, 3, 3, 3}));
  ir::Node* dynamic = graph.add_node("Conv", "dynamic", {image, filter}, {"z"});
  ir::Node* relu = graph.add_node("Relu", "relu", {dynamic->outputs[0]}, {"r"});
  graph.add_output(conv1d->outputs[0]);
  graph.add_output(relu->outputs[0]);
  EXPECT_EQ(convert_to_channels_last(graph), 0);
  EXPECT_EQ(count_op(graph, "Transpose"), 0);
  EXPECT_FALSE(conv1d->has_attr("channels_last"));
  EXPECT_FALSE(dynamic->has_attr("channels_last"));
}

// A broadcast partner that is a 4-D NCHW activation enters through a Transpose; a lone
// pool on NCHW data is not converted.
TEST(ChannelsLast, BringsNchwOperandsIntoTheRegion) {
  ir::Graph original, graph;
  for (ir::Graph* g : {&original, &graph}) {
    ir::Value* x = g->add_input("x", DType::Float32, shape({1, 4, 6, 6}));
    ir::Value* gate = g->add_input("gate", DType::Float32, shape({1, 4, 1, 1}));
    ir::Node* pool = g->add_node("AveragePool", "pool", {x}, {"p"});
    pool->attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
    ir::Node* conv =
        g->add_node("Conv", "conv", {pool->outputs[0], weight(*g, "w", {4, 2, 1, 1}, 3)}, {"c"});
    conv->attrs["group"] = int64_t{2};
    ir::Node* mul = g->add_node("Mul", "mul", {conv->outputs[0], gate}, {"m"});
    ir::Node* clip =
        g->add_node("Clip", "clip",
                    {mul->outputs[0], g->add_constant("lo", Tensor::scalar<float>(-0.5f))}, {"y"});
    g->add_output(clip->outputs[0]);
  }
  ir::infer_graph(original);
  EXPECT_EQ(convert_to_channels_last(graph), 3);  // conv, mul, clip
  EXPECT_FALSE(find_node(graph, "pool")->has_attr("channels_last"));
  EXPECT_EQ(count_op(graph, "Transpose"), 3);  // p in, gate in, y out
  EXPECT_EQ(graph.outputs()[0]->name, "y");
  expect_same_outputs(original, graph);
}

// Squeeze-and-excitation: a rank-keeping ReduceMean stays in the region with its axes renamed.
TEST(ChannelsLast, KeepsSqueezeExcitationInTheRegion) {
  ir::Graph original, graph;
  for (ir::Graph* g : {&original, &graph}) {
    ir::Value* x = g->add_input("x", DType::Float32, shape({2, 4, 6, 5}));
    ir::Node* conv = g->add_node("Conv", "conv", {x, weight(*g, "w", {8, 4, 1, 1}, 1)}, {"c"});
    ir::Node* mean = g->add_node("ReduceMean", "mean", {conv->outputs[0]}, {"m"});
    mean->attrs["axes"] = std::vector<int64_t>{-1, 2};
    ir::Node* squeeze = g->add_node("Conv", "squeeze",
                                    {mean->outputs[0], weight(*g, "ws", {8, 8, 1, 1}, 2)}, {"s"});
    ir::Node* gate = g->add_node("Sigmoid", "gate", {squeeze->outputs[0]}, {"g"});
    ir::Node* mul = g->add_node("Mul", "excite", {conv->outputs[0], gate->outputs[0]}, {"y"});
    ir::Node* sum = g->add_node("ReduceSum", "sum", {mul->outputs[0]}, {"z"});
    sum->attrs["axes"] = std::vector<int64_t>{1};
    sum->attrs["keepdims"] = int64_t{0};  // changes the rank: stays NCHW
    g->add_output(mul->outputs[0]);
    g->add_output(sum->outputs[0]);
  }
  ir::infer_graph(original);
  EXPECT_EQ(convert_to_channels_last(graph), 5);
  EXPECT_EQ(find_node(graph, "mean")->attr_ints("axes"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(count_op(graph, "Transpose"), 2);  // x in, y out (read by sum too)
  EXPECT_EQ(find_node(graph, "sum")->input(0)->name, "y");
  expect_same_outputs(original, graph);
}

// Each PyTorch fixture before and after the pass (BN folded first, as the engine builder
// does); models without 2-D convolutions come out unchanged.
class ChannelsLastFixture : public testing::TestWithParam<std::string> {};

TEST_P(ChannelsLastFixture, MatchesTheUnconvertedGraph) {
  std::filesystem::path model = std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" /
                                GetParam() / (GetParam() + "_fp32.onnx");
  ir::Graph original = load_model(model);
  ir::Graph graph = load_model(model);
  fold_batch_norm(graph);
  int converted = convert_to_channels_last(graph);
  if (GetParam() == "resnet") {
    EXPECT_GT(converted, 0);
    EXPECT_EQ(count_op(graph, "Transpose"), 2);  // the image in, the pooled features out
  }
  if (GetParam() == "mobilenet") {
    EXPECT_GT(converted, 0);
  }
  std::printf("  %s: %d nodes converted, %d transposes\n", GetParam().c_str(), converted,
              count_op(graph, "Transpose"));
  std::map<std::string, Tensor> inputs = make_random_inputs(original, 5);
  std::vector<Tensor> expected = cpu::Executor(original).run(inputs);
  std::vector<Tensor> actual = cpu::Executor(graph).run(inputs);
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].dims(), expected[i].dims());
    EXPECT_LE(normalized_error(actual[i], expected[i]), kFp32Tolerance) << "output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorchExports, ChannelsLastFixture,
                         testing::Values("resnet", "mobilenet", "mlp", "encoder", "vit"));

}  // namespace
}  // namespace kiln::passes
