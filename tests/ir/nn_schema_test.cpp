// Shape inference of matrix products, convolution, pooling, normalization, reductions and
// attention. Expected conv/pool sizes are worked out by hand in the comments.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

Value* weight(Graph& graph, const std::string& name, Dims dims) {
  return graph.add_constant(name, Tensor(DType::Float32, std::move(dims)));
}

std::string matmul(Shape a, Shape b) {
  Graph graph;
  Value* x = graph.add_input("a", DType::Float32, std::move(a));
  Value* y = graph.add_input("b", DType::Float32, std::move(b));
  Node* node = graph.add_node("MatMul", "mm", {x, y}, {"out"});
  infer_node(*node);
  return node->outputs[0]->shape.to_string();
}

TEST(MatMulSchema, FollowsNumpyRules) {
  EXPECT_EQ(matmul(shape({2, 3}), shape({3, 4})), "[2, 4]");
  EXPECT_EQ(matmul(shape({3}), shape({3, 4})), "[4]");  // 1-D on the left
  EXPECT_EQ(matmul(shape({2, 3}), shape({3})), "[2]");  // 1-D on the right
  EXPECT_EQ(matmul(shape({3}), shape({3})), "[]");      // dot product
  EXPECT_EQ(matmul(shape({"batch", 1, 5, 3}), shape({7, 3, 4})), "[batch, 7, 5, 4]");
  EXPECT_THROW(matmul(shape({2, 3}), shape({4, 5})), Error);  // inner dims differ
}

TEST(GemmSchema, AppliesTransposes) {
  Graph graph;
  Value* a = graph.add_input("a", DType::Float32, shape({5, "batch"}));
  Node* node =
      graph.add_node("Gemm", "fc", {a, weight(graph, "w", {3, 5}), weight(graph, "b", {3})}, {"y"});
  node->attrs["transA"] = int64_t{1};
  node->attrs["transB"] = int64_t{1};
  infer_node(*node);
  EXPECT_EQ(node->outputs[0]->shape.to_string(), "[batch, 3]");
}

TEST(SymbolicShapes, BatchDimFlowsThroughSmallMlp) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 784}));
  Node* fc1 = graph.add_node(
      "Gemm", "fc1", {x, weight(graph, "w1", {128, 784}), weight(graph, "b1", {128})}, {"h"});
  fc1->attrs["transB"] = int64_t{1};
  Node* relu = graph.add_node("Relu", "relu", {fc1->outputs[0]}, {"a"});
  Node* fc2 =
      graph.add_node("MatMul", "fc2", {relu->outputs[0], weight(graph, "w2", {128, 10})}, {"z"});
  Node* bias =
      graph.add_node("Add", "bias", {fc2->outputs[0], weight(graph, "b2", {10})}, {"logits"});
  Node* softmax = graph.add_node("Softmax", "softmax", {bias->outputs[0]}, {"probs"});
  graph.add_output(softmax->outputs[0]);
  infer_graph(graph);
  EXPECT_EQ(fc1->outputs[0]->shape.to_string(), "[batch, 128]");
  EXPECT_EQ(softmax->outputs[0]->shape.to_string(), "[batch, 10]");
  EXPECT_EQ(softmax->outputs[0]->dtype, DType::Float32);
}

std::string conv(Shape x, Dims w, std::map<std::string, AttrValue> attrs) {
  Graph graph;
  Value* input = graph.add_input("x", DType::Float32, std::move(x));
  Node* node = graph.add_node("Conv", "conv", {input, weight(graph, "w", std::move(w))}, {"y"});
  node->attrs = std::move(attrs);
  infer_node(*node);
  return node->outputs[0]->shape.to_string();
}

TEST(ConvSchema, OutputSizesMatchHandComputation) {
  using Ints = std::vector<int64_t>;
  // ResNet stem: (224 + 3 + 3 - 7) / 2 + 1 = 112 (floor).
  EXPECT_EQ(conv(shape({"batch", 3, 224, 224}), {64, 3, 7, 7},
                 {{"strides", Ints{2, 2}}, {"pads", Ints{3, 3, 3, 3}}}),
            "[batch, 64, 112, 112]");
  // Dilation 2 makes a 3-wide kernel span 5: (10 - 5) / 1 + 1 = 6; width 8, pads 1+0:
  // (8 + 1 - 5) / 1 + 1 = 5.
  EXPECT_EQ(conv(shape({1, 4, 10, 8}), {6, 4, 3, 3},
                 {{"dilations", Ints{2, 2}}, {"pads", Ints{0, 1, 0, 0}}}),
            "[1, 6, 6, 5]");
  // SAME_UPPER: ceil(7 / 2) = 4, whatever the kernel.
  EXPECT_EQ(conv(shape({1, 2, 7}), {3, 2, 3},
                 {{"strides", Ints{2}}, {"auto_pad", std::string("SAME_UPPER")}}),
            "[1, 3, 4]");
  // Grouped: 8 input channels = 2 per group x 4 groups; 3-D kernel 1x1x1 keeps symbols.
  EXPECT_EQ(conv(shape({1, 8, "d", "h", 5}), {4, 2, 1, 1, 1}, {{"group", int64_t{4}}}),
            "[1, 4, d, h, 5]");
  // VALID drops the padding: (9 - 3) / 3 + 1 = 3.
  EXPECT_EQ(conv(shape({1, 1, 9}), {1, 1, 3},
                 {{"strides", Ints{3}}, {"pads", Ints{4, 4}}, {"auto_pad", std::string("VALID")}}),
            "[1, 1, 3]");
}

TEST(ConvSchema, ChannelMismatchIsAnError) {
  EXPECT_THROW(conv(shape({1, 5, 8, 8}), {4, 3, 3, 3}, {}), Error);
}

// Conv's residual Z (input 3) has exactly the output's dtype and shape, in its layout; the
// error names the node. x[1,3,8,8] → y[1,4,8,8] (NHWC: [1,8,8,4]).
std::string conv_with_residual(DType z_dtype, Shape z_shape, bool channels_last) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32,
                             channels_last ? shape({1, 8, 8, 3}) : shape({1, 3, 8, 8}));
  Value* z = graph.add_input("z", z_dtype, std::move(z_shape));
  Node* node =
      graph.add_node("Conv", "conv", {x, weight(graph, "w", {4, 3, 3, 3}), nullptr, z}, {"y"});
  node->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  if (channels_last) node->attrs["channels_last"] = int64_t{1};
  try {
    infer_node(*node);
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << error.what();
    EXPECT_NE(std::string(error.what()).find("Conv node 'conv'"), std::string::npos)
        << error.what();
    return error.what();
  }
  return node->outputs[0]->shape.to_string();
}

TEST(ConvSchema, ResidualMustHaveTheOutputsShapeAndDtype) {
  EXPECT_EQ(conv_with_residual(DType::Float32, shape({1, 4, 8, 8}), false), "[1, 4, 8, 8]");
  EXPECT_EQ(conv_with_residual(DType::Float32, shape({1, 8, 8, 4}), true), "[1, 8, 8, 4]");
  EXPECT_EQ(conv_with_residual(DType::Float32, shape({"n", 4, 8, "?"}), false), "[1, 4, 8, 8]");
  EXPECT_EQ(conv_with_residual(DType::Float32, Shape(), false), "[1, 4, 8, 8]");  // rank unknown
  for (const Shape& bad : {shape({1, 4, 8, 1}), shape({4, 8, 8}), shape({2, 4, 8, 8})}) {
    EXPECT_NE(conv_with_residual(DType::Float32, bad, false).find("no broadcasting"),
              std::string::npos)
        << bad.to_string();
  }
  // NCHW Z for an NHWC output.
  EXPECT_NE(conv_with_residual(DType::Float32, shape({1, 4, 8, 8}), true).find("no broadcasting"),
            std::string::npos);
  EXPECT_NE(conv_with_residual(DType::Float16, shape({1, 4, 8, 8}), false).find("float16"),
            std::string::npos);
}

std::string pool(const std::string& op, Shape x, std::map<std::string, AttrValue> attrs) {
  Graph graph;
  Value* input = graph.add_input("x", DType::Float32, std::move(x));
  Node* node = graph.add_node(op, "pool", {input}, {"y"});
  node->attrs = std::move(attrs);
  infer_node(*node);
  return node->outputs[0]->shape.to_string();
}

TEST(PoolSchema, OutputSizesMatchHandComputation) {
  using Ints = std::vector<int64_t>;
  // floor((6 - 3) / 2) + 1 = 2; with ceil_mode: ceil(3 / 2) + 1 = 3 (last window starts at 4 < 6).
  EXPECT_EQ(pool("MaxPool", shape({1, 1, 6}), {{"kernel_shape", Ints{3}}, {"strides", Ints{2}}}),
            "[1, 1, 2]");
  EXPECT_EQ(pool("MaxPool", shape({1, 1, 6}),
                 {{"kernel_shape", Ints{3}}, {"strides", Ints{2}}, {"ceil_mode", int64_t{1}}}),
            "[1, 1, 3]");
  // ceil((5 + 1 + 1 - 2) / 2) + 1 = 4, but the 4th window would start at 6 >= 5 + 1 (inside
  // the end padding), so it is dropped: 3. floor mode: 5 / 2 + 1 = 3 as well.
  EXPECT_EQ(pool("AveragePool", shape({2, 3, 5}),
                 {{"kernel_shape", Ints{2}},
                  {"strides", Ints{2}},
                  {"pads", Ints{1, 1}},
                  {"ceil_mode", int64_t{1}}}),
            "[2, 3, 3]");
  // 2-D with dilation 2 (extent 3) and stride 1: (7 - 3) + 1 = 5; SAME_LOWER keeps 7 / 1.
  EXPECT_EQ(pool("MaxPool", shape({"n", 4, 7, 7}),
                 {{"kernel_shape", Ints{2, 2}}, {"dilations", Ints{2, 2}}}),
            "[n, 4, 5, 5]");
  EXPECT_EQ(pool("MaxPool", shape({"n", 4, 7, "w"}),
                 {{"kernel_shape", Ints{3, 3}}, {"auto_pad", std::string("SAME_LOWER")}}),
            "[n, 4, 7, w]");
  EXPECT_EQ(pool("GlobalAveragePool", shape({"n", 16, 9, 9}), {}), "[n, 16, 1, 1]");
}

TEST(NormalizationSchema, LayerNormStatsAndReductions) {
  Graph graph;
  Value* x = graph.add_input("x", DType::BFloat16, shape({"batch", "seq", 8}));
  Value* scale = graph.add_constant("scale", Tensor(DType::BFloat16, {8}));
  Node* norm = graph.add_node("LayerNormalization", "ln", {x, scale}, {"y", "mean", "inv_std"});
  infer_node(*norm);
  EXPECT_EQ(norm->outputs[0]->shape.to_string(), "[batch, seq, 8]");
  EXPECT_EQ(norm->outputs[0]->dtype, DType::BFloat16);
  EXPECT_EQ(norm->outputs[1]->shape.to_string(), "[batch, seq, 1]");
  EXPECT_EQ(norm->outputs[1]->dtype, DType::Float32);  // stash_type=1

  Node* mean = graph.add_node("ReduceMean", "mean", {x}, {"m"});
  mean->attrs["axes"] = std::vector<int64_t>{-1, 1};
  mean->attrs["keepdims"] = int64_t{0};
  infer_node(*mean);
  EXPECT_EQ(mean->outputs[0]->shape.to_string(), "[batch]");
  Node* sum = graph.add_node("ReduceSum", "sum", {x}, {"s"});
  infer_node(*sum);  // no axes: all, keepdims
  EXPECT_EQ(sum->outputs[0]->shape.to_string(), "[1, 1, 1]");
}

TEST(NormalizationSchema, ReduceMinKeepsTheDtype) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Int32, shape({"batch", 5, 8}));
  Node* min = graph.add_node("ReduceMin", "min", {x}, {"m"});
  min->attrs["axes"] = std::vector<int64_t>{-1};
  infer_node(*min);
  EXPECT_EQ(min->outputs[0]->shape.to_string(), "[batch, 5, 1]");
  EXPECT_EQ(min->outputs[0]->dtype, DType::Int32);
}

TEST(NormalizationSchema, ArgMaxAndArgMinGiveInt64Indices) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float16, shape({"batch", "seq", 8}));
  Node* max = graph.add_node("ArgMax", "argmax", {x}, {"i"});
  max->attrs["axis"] = int64_t{-1};
  max->attrs["keepdims"] = int64_t{0};
  infer_node(*max);
  EXPECT_EQ(max->outputs[0]->shape.to_string(), "[batch, seq]");
  EXPECT_EQ(max->outputs[0]->dtype, DType::Int64);
  Node* min = graph.add_node("ArgMin", "argmin", {x}, {"j"});  // axis 0, keepdims by default
  infer_node(*min);
  EXPECT_EQ(min->outputs[0]->shape.to_string(), "[1, seq, 8]");
  EXPECT_EQ(min->outputs[0]->dtype, DType::Int64);

  auto error_of = [](Node& node) -> std::string {
    try {
      infer_node(node);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
      return error.what();
    }
    return "no error";
  };
  Node* bad_axis = graph.add_node("ArgMax", "bad_axis", {x}, {"k"});
  bad_axis->attrs["axis"] = int64_t{3};
  EXPECT_NE(error_of(*bad_axis).find("axis 3 is out of range for rank 3 in ArgMax node 'bad_axis'"),
            std::string::npos)
      << error_of(*bad_axis);
  Node* bad_flag = graph.add_node("ArgMin", "bad_flag", {x}, {"l"});
  bad_flag->attrs["select_last_index"] = int64_t{2};
  EXPECT_NE(error_of(*bad_flag).find("'bad_flag'"), std::string::npos);
  Value* empty = graph.add_input("empty", DType::Float32, shape({3, 0}));
  Node* of_nothing = graph.add_node("ArgMax", "of_nothing", {empty}, {"n"});
  of_nothing->attrs["axis"] = int64_t{1};
  EXPECT_NE(error_of(*of_nothing).find("is empty"), std::string::npos);
  Value* scalar = graph.add_input("scalar", DType::Float32, Shape(std::vector<Dim>{}));
  Node* of_scalar = graph.add_node("ArgMax", "of_scalar", {scalar}, {"o"});
  EXPECT_NE(error_of(*of_scalar).find("rank 1 or more"), std::string::npos);
}

TEST(AttentionSchema, FourAndThreeDimensionalForms) {
  Graph graph;
  Value* q = graph.add_input("q", DType::Float16, shape({"b", 8, "s", 64}));
  Value* k = graph.add_input("k", DType::Float16, shape({"b", 2, "l", 64}));
  Value* v = graph.add_input("v", DType::Float16, shape({"b", 2, "l", 32}));
  Node* gqa = graph.add_node("Attention", "attn4", {q, k, v}, {"o4"});
  infer_node(*gqa);
  EXPECT_EQ(gqa->outputs[0]->shape.to_string(), "[b, 8, s, 32]");

  Value* q3 = graph.add_input("q3", DType::Float16, shape({"b", "s", 512}));
  Value* k3 = graph.add_input("k3", DType::Float16, shape({"b", "l", 128}));
  Value* v3 = graph.add_input("v3", DType::Float16, shape({"b", "l", 64}));
  Node* packed = graph.add_node("Attention", "attn3", {q3, k3, v3}, {"o3"});
  packed->attrs["q_num_heads"] = int64_t{8};
  packed->attrs["kv_num_heads"] = int64_t{2};
  infer_node(*packed);
  // V head size 64 / 2 = 32, times 8 query heads = 256.
  EXPECT_EQ(packed->outputs[0]->shape.to_string(), "[b, s, 256]");
  packed->attrs.erase("q_num_heads");
  EXPECT_THROW(infer_node(*packed), Error);
}

}  // namespace
}  // namespace kiln::ir
