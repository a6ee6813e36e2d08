// A graph of Pad, Resize (linear and nearest) and ArgMax through the execution context: they
// have CUDA kernels, so no node runs on the host and the graph captures into a CUDA graph.
#include <cstring>

#include "backends/cuda/runtime/execution_context.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

ir::Graph pad_resize_argmax_graph() {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({1, 3, 10, 12}));
  ir::Node* pad = graph.add_node("Pad", "pad", {x}, {"padded"});
  pad->attrs = {{"mode", std::string("reflect")},
                {"pads", std::vector<int64_t>{0, 0, 2, 1, 0, 0, 1, 3}}};
  ir::Node* linear = graph.add_node("Resize", "linear", {pad->outputs[0]}, {"linear_out"});
  linear->attrs = {{"mode", std::string("linear")}, {"sizes", std::vector<int64_t>{1, 3, 26, 32}}};
  ir::Node* nearest = graph.add_node("Resize", "nearest", {linear->outputs[0]}, {"nearest_out"});
  nearest->attrs = {{"sizes", std::vector<int64_t>{1, 3, 13, 40}}};
  ir::Node* argmax = graph.add_node("ArgMax", "argmax", {pad->outputs[0]}, {"argmax_out"});
  argmax->attrs = {{"axis", int64_t(1)}, {"keepdims", int64_t(0)}};
  graph.add_output(nearest->outputs[0]);
  graph.add_output(argmax->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

TEST(ResizePadGraphTest, RunsOnTheGpuAndCapturesIntoCudaGraph) {
  KILN_REQUIRE_GPU();
  std::map<std::string, Tensor> inputs = make_random_inputs(pad_resize_argmax_graph(), 3);
  std::map<std::string, Tensor> expected =
      CpuSession(pad_resize_argmax_graph(), {Precision::FP32}, false).run(inputs);
  auto engine = std::make_shared<cuda::Engine>(pad_resize_argmax_graph());
  cuda::ExecutionContext context(engine, {{"x", inputs.at("x").dims()}}, {.poison_values = true});
  for (bool graph_replay : {false, true, true}) {
    context.use_cuda_graph(graph_replay);
    std::vector<Tensor> outputs = context.run(inputs);
    ASSERT_TRUE(context.host_nodes().empty()) << context.host_nodes().front();
    std::vector<std::string> names = context.output_names();
    ASSERT_EQ(outputs.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      const Tensor& want = expected.at(names[i]);
      std::string what = names[i] + (graph_replay ? " (CUDA graph)" : "");
      ASSERT_EQ(outputs[i].dtype(), want.dtype()) << what;
      ASSERT_EQ(outputs[i].dims(), want.dims()) << what;
      if (want.dtype() == DType::Int64) {
        EXPECT_EQ(std::memcmp(outputs[i].raw(), want.raw(), want.nbytes()), 0) << what;
      } else {
        EXPECT_LE(normalized_error(outputs[i], want), cuda_test::tolerance_for(Precision::FP32))
            << what;
      }
    }
  }
}

}  // namespace
}  // namespace kiln
