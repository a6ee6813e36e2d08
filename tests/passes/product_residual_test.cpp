// fuse_product_residual: which linear layer → Add chains fold (and which must not), what the
// fused graph looks like, and that the CPU reference computes the same outputs before and
// after, as a transformer sublayer (product, bias, residual, LayerNorm) and with a dynamic
// batch.
#include <gtest/gtest.h>

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

struct SublayerOptions {
  bool residual_first = false;  // Add(h, product) instead of Add(product, h)
  bool symbolic_batch = false;  // x is [n, 8, 32]
};

// x[2,8,32] → Neg → h (the residual stream); h → MatMul proj (W[32,32]) → Add bias → Add(·, h)
// → sum → LayerNormalization → y: a post-LN transformer sublayer.
struct Sublayer {
  ir::Graph graph;
  ir::Node* product = nullptr;
  ir::Node* add = nullptr;

  explicit Sublayer(const SublayerOptions& options = {}) {
    ir::Value* x = graph.add_input(
        "x", DType::Float32, options.symbolic_batch ? shape({"n", 8, 32}) : shape({2, 8, 32}));
    ir::Value* h = graph.add_node("Neg", "stream", {x}, {"h"})->outputs[0];
    product = graph.add_node("MatMul", "proj", {h, weight(graph, "w", {32, 32}, 1)}, {"p"});
    ir::Value* biased =
        graph.add_node("Add", "bias", {product->outputs[0], weight(graph, "b", {32}, 2)}, {"pb"})
            ->outputs[0];
    add = graph.add_node("Add", "add",
                         {options.residual_first ? h : biased, options.residual_first ? biased : h},
                         {"sum"});
    ir::Node* norm = graph.add_node(
        "LayerNormalization", "norm",
        {add->outputs[0], weight(graph, "gamma", {32}, 3), weight(graph, "beta", {32}, 4)}, {"y"});
    norm->attrs["axis"] = int64_t{-1};
    graph.add_output(norm->outputs[0]);
    ir::infer_graph(graph);
  }

  static std::map<std::string, Tensor> inputs() { return {{"x", random_tensor({2, 8, 32}, 11)}}; }
};

TEST(ProductResidual, FoldsTheResidualAddAfterTheBias) {
  for (bool residual_first : {false, true}) {
    SCOPED_TRACE(residual_first ? "Add(h, product)" : "Add(product, h)");
    Sublayer sublayer({.residual_first = residual_first});
    ir::Graph plain = ir::copy_graph(sublayer.graph);
    ASSERT_EQ(fuse_epilogues(sublayer.graph), 1);  // the bias
    EXPECT_EQ(fuse_product_residual(sublayer.graph), 1);
    EXPECT_NO_THROW(ir::verify(sublayer.graph));
    ir::Node* product = find_node(sublayer.graph, "proj");
    ASSERT_NE(product, nullptr);
    ASSERT_EQ(product->inputs.size(), 4u);
    EXPECT_EQ(product->inputs[2]->name, "b");
    EXPECT_EQ(product->inputs[3]->name, "h");
    EXPECT_EQ(product->outputs[0]->name, "sum");
    EXPECT_EQ(product->outputs[0]->shape.to_string(), "[2, 8, 32]");
    EXPECT_EQ(count_op(sublayer.graph, "Add"), 0);
    EXPECT_EQ(fuse_product_residual(sublayer.graph), 0);  // nothing left to fold

    Tensor expected = cpu::Executor(plain).run(Sublayer::inputs()).at(0);
    Tensor actual = cpu::Executor(sublayer.graph).run(Sublayer::inputs()).at(0);
    ASSERT_EQ(actual.dims(), expected.dims());
    EXPECT_LE(normalized_error(actual, expected), kFp32Tolerance);
  }
}

TEST(ProductResidual, FoldsWithoutABiasAndWithADynamicBatch) {
  Sublayer sublayer({.symbolic_batch = true});
  // The bias Add stays an Add: the product's sole reader is then no residual add.
  EXPECT_EQ(fuse_product_residual(sublayer.graph), 0);
  // The bias as the residual's partner instead: product → Add(·, h) directly.
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"n", 8, 32}));
  ir::Value* h = graph.add_node("Neg", "stream", {x}, {"h"})->outputs[0];
  ir::Node* product = graph.add_node("MatMul", "proj", {h, weight(graph, "w", {32, 32}, 1)}, {"p"});
  ir::Node* add = graph.add_node("Add", "add", {product->outputs[0], h}, {"sum"});
  graph.add_output(add->outputs[0]);
  ir::infer_graph(graph);
  ir::Graph plain = ir::copy_graph(graph);
  EXPECT_EQ(fuse_product_residual(graph), 1);
  ASSERT_EQ(product->inputs.size(), 4u);
  EXPECT_EQ(product->inputs[2], nullptr);  // no bias: an absent input before the residual
  EXPECT_EQ(product->outputs[0]->shape.to_string(), "[n, 8, 32]");
  std::map<std::string, Tensor> inputs{{"x", random_tensor({3, 8, 32}, 5)}};
  Tensor expected = cpu::Executor(plain).run(inputs).at(0);
  Tensor actual = cpu::Executor(graph).run(inputs).at(0);
  EXPECT_LE(normalized_error(actual, expected), kFp32Tolerance);
}

// x[2,8,32] → MatMul(W) → p; Add(p, other) → out, with `other` made by `make`, `weight_rank`
// dims of B (3: a batched, non-linear-layer product). Returns what the pass fused.
int fuse_add_of(const std::function<ir::Value*(ir::Graph&)>& make, int weight_rank = 2) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8, 32}));
  ir::Value* w = weight_rank == 2 ? weight(graph, "w", {32, 16}, 1)
                                  : graph.add_input("w", DType::Float32, shape({2, 32, 16}));
  ir::Node* product = graph.add_node("MatMul", "proj", {x, w}, {"p"});
  ir::Node* add = graph.add_node("Add", "add", {product->outputs[0], make(graph)}, {"out"});
  graph.add_output(add->outputs[0]);
  ir::infer_graph(graph);
  return fuse_product_residual(graph);
}

std::function<ir::Value*(ir::Graph&)> input_of(ir::Shape dims) {
  return [dims](ir::Graph& graph) { return graph.add_input("z", DType::Float32, dims); };
}

TEST(ProductResidual, RefusesBroadcastsAndOtherProducts) {
  EXPECT_EQ(fuse_add_of(input_of(shape({2, 8, 16}))), 1);     // the control
  EXPECT_EQ(fuse_add_of(input_of(shape({1, 8, 16}))), 0);     // Z broadcast over the batch
  EXPECT_EQ(fuse_add_of(input_of(shape({16}))), 0);           // a bias, not a residual
  EXPECT_EQ(fuse_add_of(input_of(shape({"n", 8, 16}))), 0);   // not known to be the same size
  EXPECT_EQ(fuse_add_of(input_of(shape({2, 8, 16})), 3), 0);  // B is no constant 2-D weight
}

TEST(ProductResidual, RefusesMultiUserActivatedAndOtherPrecisionProducts) {
  {  // a second reader of the product
    Sublayer sublayer;
    fuse_epilogues(sublayer.graph);
    ir::Node* other =
        sublayer.graph.add_node("Sigmoid", "other", {sublayer.product->outputs[0]}, {"o"});
    sublayer.graph.add_output(other->outputs[0]);
    EXPECT_EQ(fuse_product_residual(sublayer.graph), 0);
  }
  {  // an activation already fused: the residual would have to come after it
    Sublayer sublayer;
    fuse_epilogues(sublayer.graph);
    sublayer.product->attrs["fused_activation"] = std::string("Relu");
    EXPECT_EQ(fuse_product_residual(sublayer.graph), 0);
  }
  {  // an Add in another precision than the product's
    Sublayer sublayer;
    fuse_epilogues(sublayer.graph);
    sublayer.product->precision = Precision::BF16;
    sublayer.add->precision = Precision::FP32;
    EXPECT_EQ(fuse_product_residual(sublayer.graph), 0);
  }
}

// The builder's timing chose an Add after the product (kResidualAfterTactic): the residual
// goes back to an Add that writes the fused product's output value (so its name, the readers
// and the graph outputs stay), in the product's precision, and the CPU reference computes
// the same. Products fused under another tactic, or none, keep their residual.
TEST(ProductResidual, SeparatesResidualsTimedFasterAsAnAdd) {
  Sublayer sublayer;
  ir::Graph plain = ir::copy_graph(sublayer.graph);
  fuse_epilogues(sublayer.graph);
  ASSERT_EQ(fuse_product_residual(sublayer.graph), 1);
  EXPECT_EQ(separate_timed_residuals(sublayer.graph), 0);  // no tactic: stays fused
  sublayer.product->attrs["tactic"] = std::string("residual_epilogue");
  EXPECT_EQ(separate_timed_residuals(sublayer.graph), 0);
  sublayer.product->attrs["tactic"] = std::string(kResidualAfterTactic);
  sublayer.product->precision = Precision::BF16;
  ASSERT_EQ(separate_timed_residuals(sublayer.graph), 1);
  EXPECT_NO_THROW(ir::verify(sublayer.graph));
  ir::Node* product = find_node(sublayer.graph, "proj");
  ASSERT_EQ(product->inputs.size(), 3u);  // A, B and the bias
  EXPECT_FALSE(product->has_attr("tactic"));
  ir::Value* sum = sublayer.graph.find_value("sum");
  ASSERT_NE(sum, nullptr);
  ASSERT_NE(sum->producer, nullptr);
  EXPECT_EQ(sum->producer->op, "Add");
  EXPECT_EQ(sum->producer->inputs[0], product->outputs[0]);
  EXPECT_EQ(sum->producer->inputs[1]->name, "h");
  EXPECT_EQ(sum->producer->precision, Precision::BF16);
  EXPECT_EQ(product->outputs[0]->shape.to_string(), "[2, 8, 32]");
  EXPECT_EQ(find_node(sublayer.graph, "norm")->inputs[0], sum);
  product->precision.reset();
  sum->producer->precision.reset();
  Tensor expected = cpu::Executor(plain).run(Sublayer::inputs()).at(0);
  Tensor actual = cpu::Executor(sublayer.graph).run(Sublayer::inputs()).at(0);
  EXPECT_LE(normalized_error(actual, expected), kFp32Tolerance);
}

}  // namespace
}  // namespace kiln::passes
