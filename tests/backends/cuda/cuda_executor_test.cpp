// The CudaExecutor on small graphs of several nodes, not one op: neighbours in different
// precisions (casts at the boundaries only), and the indexing kernels chained with no host
// fallback, each against the CPU executor.
#include "backends/cuda/runtime/cuda_executor.h"

#include "backends/cpu/executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::cuda_test {
namespace {

// A chain whose neighbours run in different precisions: casts at the boundary only, and
// a fp32 graph input read by a bf16 layer.
TEST(CudaExecutorTest, MixedPrecisionChainMatchesCpu) {
  KILN_REQUIRE_GPU();
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32,
                                 ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(40)}));
  ir::Node* add = graph.add_node("Add", "add", {x, x}, {"sum"});
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {add->outputs[0]}, {"probabilities"});
  ir::Node* tanh = graph.add_node("Tanh", "tanh", {softmax->outputs[0]}, {"y"});
  graph.add_output(tanh->outputs[0]);
  ir::infer_graph(graph);
  add->precision = Precision::BF16;
  softmax->precision = Precision::FP32;
  tanh->precision = Precision::FP16;
  std::map<std::string, Tensor> inputs{{"x", random_tensor(DType::Float32, {3, 40}, -2, 2, 5)}};
  std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
  cuda::CudaExecutor executor(graph, {{"x", {3, 40}}}, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(inputs);
  ASSERT_EQ(actual[0].dtype(), DType::Float32);
  EXPECT_LE(normalized_error(actual[0], expected[0]), tolerance_for(Precision::FP16));
  // Running twice gives the same answer (no state left from the first run).
  EXPECT_EQ(normalized_error(executor.run(inputs)[0], actual[0]), 0.0);
}

// The indexing kernels are in the executor's table: a graph of them runs with no host
// fallback, in each precision, and matches the CPU executor.
TEST(CudaIndexingTest, RunsInExecutorWithoutHostFallback) {
  KILN_REQUIRE_GPU();
  for (Precision precision : {Precision::FP32, Precision::FP16, Precision::BF16}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 70, 70}));
    ir::Value* indices = graph.add_input("indices", DType::Int64, ir::Shape::from_dims({4, 70, 9}));
    ir::Node* cumsum = graph.add_node("CumSum", "cumsum", {x}, {"sums"});
    cumsum->attrs = {{"axis", int64_t(1)}, {"reverse", int64_t(1)}};
    ir::Value* k = graph.add_constant("k", Tensor::scalar<int64_t>(-2));
    ir::Node* trilu = graph.add_node("Trilu", "trilu", {cumsum->outputs[0], k}, {"lower"});
    trilu->attrs = {{"upper", int64_t(0)}};
    ir::Node* gather =
        graph.add_node("GatherElements", "gather", {trilu->outputs[0], indices}, {"y"});
    gather->attrs = {{"axis", int64_t(2)}};
    graph.add_output(gather->outputs[0]);
    ir::infer_graph(graph);
    passes::assign_precisions(graph, {Precision::FP32, precision}, false);
    std::map<std::string, Tensor> inputs = {
        {"x", random_tensor(DType::Float32, {4, 70, 70}, -3, 3, 700)},
        {"indices", random_tensor(DType::Int64, {4, 70, 9}, -70, 70, 701)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    ASSERT_EQ(actual.size(), 1u);
    double error = normalized_error(actual[0], expected[0]);
    EXPECT_LE(error, tolerance_for(precision))
        << precision_name(precision) << ": normalized error " << error;
  }
}

}  // namespace
}  // namespace kiln::cuda_test
