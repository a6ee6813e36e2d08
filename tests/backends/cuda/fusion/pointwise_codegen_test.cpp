// The pointwise kernel generator without a GPU: every fusible op's formula compiles with
// NVRTC (for sm_80 and sm_90) in every storage dtype, the kernel name follows the source,
// broadcast operands get the right (div, mod), and what it cannot express is refused.
#include "backends/cuda/fusion/pointwise_codegen.h"

#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "backends/cuda/fusion/index_code.h"
#include "backends/cuda/fusion/nvrtc_compiler.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "passes/fusion_groups.h"

namespace kiln::cuda {
namespace {

using ir::testing::shape;

// x[4,8,16] (and y[16], a bias) through one node of `op`, then a Cast back to x's dtype.
struct OneOp {
  ir::Graph graph;
  GroupSpec group;
  OneOp(const std::string& op, DType storage, DType value_dtype = DType::Float32) {
    ir::Value* x = graph.add_input("x", value_dtype, shape({4, 8, 16}));
    ir::Value* y = graph.add_input("y", value_dtype, shape({16}));
    std::vector<ir::Value*> inputs = {x};
    if (op == "Where") {
      ir::Value* condition = graph.add_input("c", DType::Bool, shape({4, 8, 16}));
      inputs = {condition, x, y};
    } else if (op == "Clip") {
      inputs = {x, graph.add_constant("low", Tensor::from_vector<float>({}, {-1.f})),
                graph.add_input("high", value_dtype, shape({}))};
    } else if (ir::find_schema(op)->max_inputs != 1) {
      inputs.push_back(y);
    }
    ir::Node* node = graph.add_node(op, op, inputs, {"out"});
    if (op == "Cast") node->attrs["to"] = int64_t(DType::BFloat16);
    ir::infer_graph(graph);
    ir::Node* back = graph.add_node("Cast", "back", {node->outputs[0]}, {"back"});
    back->attrs["to"] = int64_t(DType::Float32);
    graph.add_output(back->outputs[0]);
    ir::infer_graph(graph);
    group.nodes = {node, back};
    group.domain = {4, 8, 16};
    for (ir::Value* input : node->inputs) {
      if (input == nullptr || passes::is_inlined_scalar(*input)) continue;
      DType stored = is_floating(input->dtype) ? storage : input->dtype;
      group.inputs.push_back({input, stored, input->shape.static_dims()});
    }
    group.outputs.push_back({back->outputs[0], storage, group.domain});
  }
};

class EveryOp : public testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(EveryOp, CompilesForSm80AndSm90) {
  const auto& [op, storage] = GetParam();
  bool logic = op == "And" || op == "Not";
  OneOp model(op, storage, logic ? DType::Bool : DType::Float32);
  for (const ir::Node* node : model.group.nodes)
    ASSERT_TRUE(passes::is_fusible_pointwise(*node)) << node->describe();
  GeneratedKernel kernel = generate_kernel(model.group);
  EXPECT_EQ(kernel.label, op + "+Cast");
  for (int architecture : {80, 90}) {
    std::string cubin = compile_cubin(kernel.source, kernel.label, architecture);
    EXPECT_GT(cubin.size(), 100u) << op << " sm_" << architecture;
    EXPECT_NE(cubin.find(kernel.name + "_v"), std::string::npos) << "no vector entry point";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, EveryOp,
    testing::Combine(testing::Values("Abs", "Mod", "Relu", "Gelu", "Erf", "Tanh", "Sigmoid",
                                     "HardSigmoid", "HardSwish", "Neg", "Exp", "Log", "Sqrt",
                                     "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
                                     "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil",
                                     "Round", "Sign", "Clip", "Add", "Sub", "Mul", "Div", "Pow",
                                     "Max", "Min", "Equal", "Less", "Greater", "And", "Not",
                                     "IsNaN", "IsInf", "Where", "Cast"),
                     testing::Values(DType::Float32, DType::BFloat16, DType::Float16)),
    [](const testing::TestParamInfo<EveryOp::ParamType>& info) {
      return std::get<0>(info.param) + "_" + std::string(dtype_name(std::get<1>(info.param)));
    });

// x + r → LayerNorm (or Softmax) → Gelu over rows of `cols`, as planned: x and r stored in
// `storage`, the sum and the Gelu written.
GroupSpec row_group(ir::Graph& graph, const std::string& op, int64_t cols, DType storage) {
  Dims dims = {6, cols};
  ir::Value* x = graph.add_input("x", DType::Float32, shape({6, cols}));
  ir::Value* r = graph.add_input("r", DType::Float32, shape({6, cols}));
  ir::Node* add = graph.add_node("Add", "add", {x, r}, {"sum"});
  std::vector<ir::Value*> inputs = {add->outputs[0]};
  if (op == "LayerNormalization") {
    inputs.push_back(graph.add_constant("gamma", Tensor(DType::Float32, {cols})));
    inputs.push_back(graph.add_constant("beta", Tensor(DType::Float32, {cols})));
  }
  ir::Node* norm = graph.add_node(op, "norm", inputs, {"n"});
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {norm->outputs[0]}, {"g"});
  graph.set_outputs({add->outputs[0], gelu->outputs[0]});
  ir::infer_graph(graph);
  GroupSpec group{{add, norm, gelu}, dims, {}, {}, norm};
  for (ir::Value* input : {x, r}) group.inputs.push_back({input, storage, dims});
  for (size_t i = 1; i < inputs.size(); ++i) group.inputs.push_back({inputs[i], storage, {cols}});
  group.outputs = {{add->outputs[0], storage, dims}, {gelu->outputs[0], storage, dims}};
  return group;
}

class RowKernel : public testing::TestWithParam<std::tuple<std::string, int64_t, DType>> {};

TEST_P(RowKernel, CompilesWithTheRowLengthInItsSource) {
  const auto& [op, cols, storage] = GetParam();
  ir::Graph graph;
  GeneratedKernel kernel = generate_kernel(row_group(graph, op, cols, storage));
  EXPECT_EQ(kernel.row_length, cols);
  EXPECT_EQ(cols % kernel.vector_width, 0);
  EXPECT_NE(kernel.source.find("kCols = " + std::to_string(cols) + ";"), std::string::npos);
  EXPECT_EQ(kernel.label, "Add+" + op + "+Gelu");
  EXPECT_GT(compile_cubin(kernel.source, kernel.label, 90).size(), 100u);
}

INSTANTIATE_TEST_SUITE_P(Rows, RowKernel,
                         testing::Combine(testing::Values("LayerNormalization", "Softmax"),
                                          testing::Values(int64_t(768), int64_t(100), int64_t(37),
                                                          int64_t(2048), int64_t(5000),
                                                          int64_t(8192)),
                                          testing::Values(DType::Float32, DType::BFloat16)),
                         [](const testing::TestParamInfo<RowKernel::ParamType>& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "_" +
                                  std::string(dtype_name(std::get<2>(info.param)));
                         });

// The group find_fusion_groups makes of `graph`, with every operand stored in `storage` and
// every value read outside written.
GroupSpec only_group(const ir::Graph& graph, DType storage) {
  std::vector<passes::FusionGroup> groups = passes::find_fusion_groups(graph);
  EXPECT_EQ(groups.size(), 1u);
  GroupSpec spec{groups[0].nodes, groups[0].domain, {}, {}, groups[0].reduction};
  for (const ir::Value* input : groups[0].inputs) {
    DType dtype = is_floating(input->dtype) ? storage : input->dtype;
    spec.inputs.push_back({input, dtype, input->shape.static_dims()});
  }
  for (const ir::Value* output : groups[0].outputs)
    spec.outputs.push_back({output, storage, output->shape.static_dims()});
  return spec;
}

// h = x + r; y = h / sqrt(mean(h^2) + eps) * w, with h, y and the per-row rms written.
TEST(PointwiseCodegen, ASpelledOutRmsNormBecomesOneRowKernel) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({6, 256}));
  ir::Value* r = graph.add_input("r", DType::Float32, shape({6, 256}));
  ir::Value* h = graph.add_node("Add", "add", {x, r}, {"h"})->outputs[0];
  ir::Value* two = graph.add_constant("two", Tensor::from_vector<float>({}, {2.f}));
  ir::Value* squares = graph.add_node("Pow", "square", {h, two}, {"h2"})->outputs[0];
  ir::Node* mean = graph.add_node("ReduceMean", "mean", {squares}, {"ms"});
  mean->attrs["axes"] = std::vector<int64_t>{-1};
  ir::Value* eps = graph.add_input("eps", DType::Float32, shape({}));
  ir::Value* sum = graph.add_node("Add", "eps_add", {mean->outputs[0], eps}, {"mse"})->outputs[0];
  ir::Value* rms = graph.add_node("Sqrt", "rms", {sum}, {"rms"})->outputs[0];
  ir::Value* normed = graph.add_node("Div", "normed", {h, rms}, {"n"})->outputs[0];
  ir::Value* y =
      graph
          .add_node("Mul", "weigh",
                    {normed, graph.add_constant("w", Tensor(DType::Float32, {256}))}, {"y"})
          ->outputs[0];
  graph.set_outputs({h, rms, y});
  ir::infer_graph(graph);
  GroupSpec group = only_group(graph, DType::BFloat16);
  ASSERT_EQ(group.reduction, mean);
  GeneratedKernel kernel = generate_kernel(group);
  EXPECT_EQ(kernel.row_length, 256);
  EXPECT_NE(kernel.source.find("reduced /= (float)kCols"), std::string::npos) << kernel.source;
  EXPECT_NE(kernel.source.find("if (lane_id == 0 && row_valid)"), std::string::npos)
      << "rms is not written";
  EXPECT_GT(compile_cubin(kernel.source, kernel.label, 90).size(), 100u);
}

// IsInf's detect_negative / detect_positive choose the comparison (both: |x| == inf).
TEST(PointwiseCodegen, IsInfComparesWithTheInfinitiesItsAttributesName) {
  const std::string infinity = "__int_as_float(0x7f800000)";
  const std::pair<std::pair<int64_t, int64_t>, std::string> cases[] = {
      {{1, 1}, "(fabsf("}, {{1, 0}, "== -" + infinity}, {{0, 1}, "== " + infinity}};
  for (const auto& [attributes, fragment] : cases) {
    OneOp model("IsInf", DType::Float32);
    ir::Node* node = model.graph.nodes().front();  // IsInf, then the Cast back
    node->attrs["detect_negative"] = attributes.first;
    node->attrs["detect_positive"] = attributes.second;
    GeneratedKernel kernel = generate_kernel(model.group);
    EXPECT_NE(kernel.source.find(fragment), std::string::npos) << kernel.source;
    EXPECT_GT(compile_cubin(kernel.source, kernel.label, 90).size(), 100u);
  }
}

TEST(PointwiseCodegen, TheNameFollowsTheSourceAndTheVectorWidthTheNarrowestPack) {
  OneOp bf16("Add", DType::BFloat16), bf16_again("Add", DType::BFloat16),
      fp32("Add", DType::Float32);
  GeneratedKernel a = generate_kernel(bf16.group);
  EXPECT_EQ(a.name, generate_kernel(bf16_again.group).name);
  GeneratedKernel b = generate_kernel(fp32.group);
  EXPECT_NE(a.name, b.name);
  EXPECT_EQ(a.vector_width, 8);  // 16 bytes of bf16
  EXPECT_EQ(b.vector_width, 4);  // 16 bytes of float32
}

TEST(PointwiseCodegen, ScalarConstantsAreLiteralsWithTheirExactBits) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({64}));
  ir::Node* mul = graph.add_node(
      "Mul", "mul", {x, graph.add_constant("third", Tensor::from_vector<float>({}, {1.f / 3}))},
      {"m"});
  ir::Node* exp = graph.add_node("Exp", "exp", {mul->outputs[0]}, {"y"});
  graph.add_output(exp->outputs[0]);
  ir::infer_graph(graph);
  GroupSpec group{
      {mul, exp}, {64}, {{x, DType::Float32, {64}}}, {{exp->outputs[0], DType::Float32, {64}}}};
  GeneratedKernel kernel = generate_kernel(group);
  EXPECT_NE(kernel.source.find("__uint_as_float(0x3eaaaaabu)"), std::string::npos) << kernel.source;
  EXPECT_NO_THROW(compile_cubin(kernel.source, kernel.label, 90));
}

TEST(PointwiseCodegen, BlockIndexOfBroadcastOperands) {
  using Pair = std::pair<int64_t, int64_t>;
  auto index = [](const Dims& input, const Dims& domain) {
    source::BlockIndex block = source::block_index(input, domain);
    return Pair{block.div, block.mod};
  };
  EXPECT_EQ(index({16}, {4, 8, 16}), (Pair{1, 16}));            // bias
  EXPECT_EQ(index({1, 3, 1, 1}, {2, 3, 5, 5}), (Pair{25, 3}));  // per channel
  EXPECT_EQ(index({2, 1, 1}, {2, 3, 5}), (Pair{15, 2}));        // per batch
  EXPECT_EQ(index({}, {2, 3}), (Pair{1, 1}));                   // scalar
  EXPECT_EQ(index({2, 3}, {2, 3}), (Pair{1, 6}));               // same size
}

TEST(PointwiseCodegen, IndexExpressionsUseLiteralsAndMergeUnchangedDims) {
  // [1, 5, 1, 8] onto [2, 5, 3, 8]: the last dim, then the sequence dim.
  EXPECT_EQ(index_code::broadcast("i", {2, 5, 3, 8}, {1, 5, 1, 8}),
            "((i % 8) + ((i / 24) % 5) * 8)");
  EXPECT_EQ(index_code::broadcast("i", {2, 5}, {2, 5}), "i");
  EXPECT_EQ(index_code::broadcast("i", {2, 5}, {}), "(0)");
  // [B, 1, 1, S] onto [B, H, S, S]: keys, and the batch without a modulo.
  EXPECT_EQ(index_code::broadcast("i", {2, 4, 7, 7}, {2, 1, 1, 7}), "((i % 7) + (i / 196) * 7)");
  // The second half of [.., 8]: the outer dims as one run, then the offset.
  passes::SliceWindow upper{{0, 0, 0, 4}, {1, 1, 1, 1}};
  EXPECT_EQ(index_code::slice("t", {2, 5, 3, 4}, {2, 5, 3, 8}, upper),
            "((t % 4) + (t / 4) * 8 + 4)");
  passes::SliceWindow strided{{1, 0}, {2, 1}};
  EXPECT_EQ(index_code::slice("t", {3, 6}, {7, 6}, strided), "((t % 6) + (t / 6) * 12 + 6)");
  EXPECT_EQ(index_code::coordinate("i", {2, 5, 3, 8}, 3), "(i % 8)");
  EXPECT_EQ(index_code::coordinate("i", {1, 5, 3}, 1), "(i / 3)");
  EXPECT_EQ(index_code::concat_piece("i", "c", {2, 5, 3, 8}, {2, 5, 3, 4}, 3, 4),
            "((i / 8) * 4 + (c - 4))");
  EXPECT_EQ(index_code::concat_piece("i", "c", {6, 4}, {2, 4}, 0, 4), "((c - 4) * 4 + i % 4)");
}

// q * cos + cat(-q[..., 4:], q[..., :4]) * sin over [2, 5, 3, 8], cos and sin [1, 5, 1, 8]:
// one kernel that reads q as packs at its element and element by element at the other half.
TEST(PointwiseCodegen, ARotaryEmbeddingBecomesOneIndexedKernel) {
  ir::Graph graph;
  ir::Value* q = graph.add_input("q", DType::Float32, shape({2, 5, 3, 8}));
  ir::Value* cos = graph.add_constant("cos", Tensor(DType::Float32, {1, 5, 1, 8}));
  ir::Value* sin = graph.add_constant("sin", Tensor(DType::Float32, {1, 5, 1, 8}));
  auto ints = [&](const std::string& name, int64_t value) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({1}, {value}));
  };
  ir::Value* first =
      graph.add_node("Slice", "first", {q, ints("s0", 0), ints("e0", 4), ints("a0", 3)}, {"q1"})
          ->outputs[0];
  ir::Value* second =
      graph.add_node("Slice", "second", {q, ints("s1", 4), ints("e1", 8), ints("a1", 3)}, {"q2"})
          ->outputs[0];
  ir::Value* neg = graph.add_node("Neg", "neg", {second}, {"n"})->outputs[0];
  ir::Node* cat = graph.add_node("Concat", "cat", {neg, first}, {"r"});
  cat->attrs["axis"] = int64_t(-1);
  ir::Value* straight = graph.add_node("Mul", "straight", {q, cos}, {"qc"})->outputs[0];
  ir::Value* rotated = graph.add_node("Mul", "rotated", {cat->outputs[0], sin}, {"rs"})->outputs[0];
  graph.add_output(graph.add_node("Add", "sum", {straight, rotated}, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  GroupSpec group = only_group(graph, DType::BFloat16);
  ASSERT_TRUE(is_index_group(group));
  GeneratedKernel kernel = generate_kernel(group);
  EXPECT_EQ(kernel.label, "Slice+Slice+Neg+Concat+Mul+Mul+Add");
  EXPECT_EQ(kernel.vector_width, 8);
  EXPECT_EQ(kernel.input_access,
            (std::vector<source::Access>{source::Access::Pack, source::Access::Strided,
                                         source::Access::Strided}));
  EXPECT_NE(kernel.source.find("if (c"), std::string::npos) << kernel.source;
  EXPECT_GT(compile_cubin(kernel.source, kernel.what(), 90).size(), 100u) << kernel.source;
}

TEST(PointwiseCodegen, FusedArgsCarryAddressesAndIndexing) {
  OneOp model("Add", DType::BFloat16);
  int x = 0, y = 0, out = 0;
  FusedArgs args = fused_args(model.group, {&x, &y}, {&out});
  EXPECT_EQ(args.count, 4 * 8 * 16);
  EXPECT_EQ(args.inputs[0], &x);
  EXPECT_EQ(args.inputs[1], &y);
  EXPECT_EQ(args.outputs[0], &out);
  EXPECT_EQ(args.mod[1], 16);
}

TEST(PointwiseCodegen, RefusesAnOpItHasNoFormulaFor) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 4}));
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {x}, {"s"});
  ir::Node* exp = graph.add_node("Exp", "exp", {softmax->outputs[0]}, {"y"});
  ir::infer_graph(graph);
  GroupSpec group{{softmax, exp},
                  {4, 4},
                  {{x, DType::Float32, {4, 4}}},
                  {{exp->outputs[0], DType::Float32, {4, 4}}}};
  try {
    generate_kernel(group);
    FAIL() << "Softmax was generated";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(error.what()).find("softmax"), std::string::npos) << error.what();
  }
}

TEST(PointwiseCodegen, ACompileErrorNamesTheGroupAndCarriesTheLog) {
  try {
    compile_cubin("extern \"C\" __global__ void k() { undefined_thing(); }", "Add+Gelu", 90);
    FAIL() << "bad source compiled";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("Add+Gelu"), std::string::npos) << message;
    EXPECT_NE(message.find("undefined_thing"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace kiln::cuda
