// fuse_conv_residual: which Conv → Add (→ Relu) chains fold (and which must not), what the
// fused graph looks like, and that the CPU reference computes the same outputs before and
// after, in NCHW and channels_last, with and without bias and Relu.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
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
using pass_testing::count_op;
using pass_testing::find_node;
using pass_testing::weight;

constexpr double kFp32Tolerance = 1e-6;  // normalized error, fused vs unfused, fp32

struct BlockOptions {
  bool bias = true;
  bool relu = true;
  bool z_first = false;  // Add(z, conv) instead of Add(conv, z)
};

// x[2,4,8,8] → Conv conv (W[6,4,3,3], pads 1, bias b?) → c; s[2,6,8,8] → Neg shortcut → z
// (after the Conv in node order, as a ResNet's shortcut branch can be); Add add(c, z) → sum
// → Relu relu? → y (the graph output).
struct ResidualBlock {
  ir::Graph graph;
  ir::Node* conv = nullptr;
  ir::Node* add = nullptr;

  explicit ResidualBlock(const BlockOptions& options = {}) {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4, 8, 8}));
    ir::Value* s = graph.add_input("s", DType::Float32, shape({2, 6, 8, 8}));
    std::vector<ir::Value*> inputs{x, weight(graph, "w", {6, 4, 3, 3}, 1)};
    if (options.bias) inputs.push_back(weight(graph, "b", {6}, 2));
    conv = graph.add_node("Conv", "conv", inputs, {"c"});
    conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    ir::Value* z = graph.add_node("Neg", "shortcut", {s}, {"z"})->outputs[0];
    ir::Value* c = conv->outputs[0];
    add = graph.add_node("Add", "add", {options.z_first ? z : c, options.z_first ? c : z}, {"sum"});
    ir::Value* y = add->outputs[0];
    if (options.relu) y = graph.add_node("Relu", "relu", {y}, {"y"})->outputs[0];
    graph.add_output(y);
    ir::infer_graph(graph);
  }

  std::map<std::string, Tensor> inputs() const {
    return {{"x", random_tensor({2, 4, 8, 8}, 11)}, {"s", random_tensor({2, 6, 8, 8}, 12)}};
  }
};

// The index of `node` in the graph's node order.
size_t position(const ir::Graph& graph, const ir::Node* node) {
  std::vector<ir::Node*> nodes = graph.nodes();
  return static_cast<size_t>(std::find(nodes.begin(), nodes.end(), node) - nodes.begin());
}

TEST(ConvResidual, FoldsConvAddReluKeepingNames) {
  ResidualBlock block;
  EXPECT_EQ(fuse_conv_residual(block.graph), 1);
  EXPECT_NO_THROW(ir::verify(block.graph));
  ASSERT_EQ(block.graph.node_count(), 2u);  // Neg and the Conv
  ir::Node* conv = find_node(block.graph, "conv");
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->inputs.size(), 4u);
  EXPECT_EQ(conv->inputs[2]->name, "b");
  EXPECT_EQ(conv->inputs[3]->name, "z");
  EXPECT_EQ(conv->attr_string("fused_activation", ""), "Relu");
  EXPECT_EQ(conv->outputs[0]->name, "y");
  EXPECT_EQ(block.graph.outputs()[0], conv->outputs[0]);
  // Z's producer, added after the Conv, now runs before it.
  EXPECT_LT(position(block.graph, find_node(block.graph, "shortcut")), position(block.graph, conv));
  EXPECT_EQ(block.graph.find_value("c"), nullptr);
  EXPECT_EQ(block.graph.find_value("sum"), nullptr);
  EXPECT_EQ(fuse_conv_residual(block.graph), 0);  // nothing left to fold
}

TEST(ConvResidual, FoldsConvAddWithEitherOperandOrder) {
  for (bool z_first : {false, true}) {
    SCOPED_TRACE(z_first ? "Add(z, conv)" : "Add(conv, z)");
    ResidualBlock block({.bias = false, .relu = false, .z_first = z_first});
    EXPECT_EQ(fuse_conv_residual(block.graph), 1);
    EXPECT_NO_THROW(ir::verify(block.graph));
    ASSERT_EQ(block.conv->inputs.size(), 4u);
    EXPECT_EQ(block.conv->inputs[2], nullptr);  // no bias: an absent input before Z
    EXPECT_EQ(block.conv->inputs[3]->name, "z");
    EXPECT_FALSE(block.conv->has_attr("fused_activation"));
    EXPECT_EQ(block.conv->outputs[0]->name, "sum");
    EXPECT_EQ(count_op(block.graph, "Add"), 0);
  }
}

TEST(ConvResidual, AReluThatIsNotTheSumsOnlyReaderStays) {
  ResidualBlock block;
  block.graph.add_output(block.add->outputs[0]);  // the sum is a graph output too
  EXPECT_EQ(fuse_conv_residual(block.graph), 1);
  EXPECT_FALSE(block.conv->has_attr("fused_activation"));
  EXPECT_EQ(block.conv->outputs[0]->name, "sum");
  EXPECT_EQ(count_op(block.graph, "Relu"), 1);
}

using MakeOperand = std::function<ir::Value*(ir::Graph&)>;

MakeOperand input_of(ir::Shape dims) {
  return [dims](ir::Graph& graph) { return graph.add_input("z", DType::Float32, dims); };
}

MakeOperand constant_of(Dims dims) {
  return [dims](ir::Graph& graph) { return weight(graph, "z", dims, 3); };
}

// conv(x[batch,4,8,8]) → c[batch,6,8,8] → Add(c, other) → out; returns what the pass fused.
// A negative batch is the symbol "n".
int fuse_add_of(int64_t batch, const MakeOperand& other) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32,
                                 batch < 0 ? shape({"n", 4, 8, 8}) : shape({batch, 4, 8, 8}));
  ir::Node* conv = graph.add_node("Conv", "conv", {x, weight(graph, "w", {6, 4, 1, 1}, 1)}, {"c"});
  ir::Node* add = graph.add_node("Add", "add", {conv->outputs[0], other(graph)}, {"out"});
  graph.add_output(add->outputs[0]);
  ir::infer_graph(graph);
  int fused = fuse_conv_residual(graph);
  EXPECT_EQ(conv->inputs.size(), fused == 0 ? 2u : 4u);
  return fused;
}

TEST(ConvResidual, RefusesBroadcastingAdds) {
  // Z broadcast over the batch, over the width, or as a per-channel bias.
  EXPECT_EQ(fuse_add_of(2, input_of(shape({1, 6, 8, 8}))), 0);
  EXPECT_EQ(fuse_add_of(2, input_of(shape({2, 6, 8, 1}))), 0);
  EXPECT_EQ(fuse_add_of(2, constant_of({6, 1, 1})), 0);
  // The Conv's output broadcast over the batch: Z has the sum's shape, the Conv's does not.
  EXPECT_EQ(fuse_add_of(1, input_of(shape({2, 6, 8, 8}))), 0);
  // A symbolic dim against a static one: Z's shape is not known to be the sum's.
  EXPECT_EQ(fuse_add_of(2, input_of(shape({"n", 6, 8, 8}))), 0);
  EXPECT_EQ(fuse_add_of(-1, input_of(shape({"m", 6, 8, 8}))), 0);
  // The same symbol on both sides is the same size (a dynamic batch).
  EXPECT_EQ(fuse_add_of(-1, input_of(shape({"n", 6, 8, 8}))), 1);
  // The control: exactly the sum's shape (a graph input, or a constant).
  EXPECT_EQ(fuse_add_of(2, input_of(shape({2, 6, 8, 8}))), 1);
  EXPECT_EQ(fuse_add_of(2, constant_of({2, 6, 8, 8})), 1);
}

TEST(ConvResidual, RefusesMultiUserGraphOutputAndActivatedConvs) {
  {  // a second reader of the Conv's output
    ResidualBlock block;
    ir::Node* other = block.graph.add_node("Sigmoid", "other", {block.conv->outputs[0]}, {"o"});
    block.graph.add_output(other->outputs[0]);
    EXPECT_EQ(fuse_conv_residual(block.graph), 0);
  }
  {  // the Conv's output is a graph output
    ResidualBlock block;
    block.graph.add_output(block.conv->outputs[0]);
    EXPECT_EQ(fuse_conv_residual(block.graph), 0);
  }
  {  // an activation already fused: Z would have to come before it
    ResidualBlock block;
    block.conv->attrs["fused_activation"] = std::string("Relu");
    EXPECT_EQ(fuse_conv_residual(block.graph), 0);
  }
  {  // Add(c, c): the Conv's output is no residual of itself
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({1, 4, 5, 5}));
    ir::Node* conv =
        graph.add_node("Conv", "conv", {x, weight(graph, "w", {4, 4, 1, 1}, 1)}, {"c"});
    ir::Node* add = graph.add_node("Add", "add", {conv->outputs[0], conv->outputs[0]}, {"out"});
    graph.add_output(add->outputs[0]);
    ir::infer_graph(graph);
    EXPECT_EQ(fuse_conv_residual(graph), 0);
  }
  {  // a 1-D convolution (3-D data)
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4, 9}));
    ir::Node* conv = graph.add_node("Conv", "conv", {x, weight(graph, "w", {6, 4, 3}, 1)}, {"c"});
    ir::Value* z = graph.add_input("z", DType::Float32, shape({2, 6, 7}));
    ir::Node* add = graph.add_node("Add", "add", {conv->outputs[0], z}, {"out"});
    graph.add_output(add->outputs[0]);
    ir::infer_graph(graph);
    EXPECT_EQ(fuse_conv_residual(graph), 0);
  }
  {  // an Add in another precision than the Conv's
    ResidualBlock block;
    block.conv->precision = Precision::BF16;
    block.add->precision = Precision::FP32;
    EXPECT_EQ(fuse_conv_residual(block.graph), 0);
  }
}

// Runs both graphs on the block's inputs; the single outputs must agree.
void expect_same_output(const ResidualBlock& block, const ir::Graph& plain,
                        const ir::Graph& fused) {
  Tensor expected = cpu::Executor(plain).run(block.inputs()).at(0);
  Tensor actual = cpu::Executor(fused).run(block.inputs()).at(0);
  ASSERT_EQ(actual.dims(), expected.dims());
  double error = normalized_error(actual, expected);
  EXPECT_LE(error, kFp32Tolerance) << "normalized error " << error;
}

TEST(ConvResidual, CpuOutputsMatchTheUnfusedGraph) {
  for (bool channels_last : {false, true}) {
    for (bool bias : {false, true}) {
      for (bool relu : {false, true}) {
        SCOPED_TRACE(std::string(channels_last ? "NHWC" : "NCHW") + (bias ? " bias" : "") +
                     (relu ? " relu" : ""));
        ResidualBlock block({.bias = bias, .relu = relu});
        ir::Graph plain = ir::copy_graph(block.graph);
        if (channels_last) {
          EXPECT_GT(convert_to_channels_last(block.graph), 0);
        }
        ASSERT_EQ(fuse_conv_residual(block.graph), 1);
        EXPECT_NO_THROW(ir::verify(block.graph));
        EXPECT_EQ(block.conv->attr_int("channels_last", 0), channels_last ? 1 : 0);
        EXPECT_EQ(block.conv->attr_string("fused_activation", ""), relu ? "Relu" : "");
        expect_same_output(block, plain, block.graph);
      }
    }
  }
}

// Under TF32 the Conv's operands are rounded, but Z, added after the product, is not: as in
// the unfused graph, whose Add runs in FP32.
TEST(ConvResidual, CpuOutputsMatchTheUnfusedGraphUnderTf32Emulation) {
  ResidualBlock block;
  ir::Graph plain = ir::copy_graph(block.graph);
  assign_precisions(plain, {Precision::TF32, Precision::FP32}, false);
  assign_precisions(block.graph, {Precision::TF32, Precision::FP32}, false);
  ASSERT_EQ(block.conv->precision, Precision::TF32);
  ASSERT_EQ(fuse_conv_residual(block.graph), 1);
  expect_same_output(block, plain, block.graph);
}

// Fused first, then converted: Z, an NCHW value, must enter the region as X does.
TEST(ConvResidual, ChannelsLastConversionMovesZWithTheOutput) {
  ResidualBlock block;
  ir::Graph plain = ir::copy_graph(block.graph);
  ASSERT_EQ(fuse_conv_residual(block.graph), 1);
  EXPECT_GT(convert_to_channels_last(block.graph), 0);
  EXPECT_EQ(block.conv->attr_int("channels_last", 0), 1);
  const ir::Value* z = block.conv->inputs.at(3);
  ASSERT_NE(z->producer, nullptr);
  EXPECT_EQ(z->producer->op, "Transpose");
  EXPECT_EQ(z->shape.to_string(), "[2, 8, 8, 6]");
  expect_same_output(block, plain, block.graph);
}

}  // namespace
}  // namespace kiln::passes
