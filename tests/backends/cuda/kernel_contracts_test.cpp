// What single CUDA kernels promise beyond matching the CPU reference, which the op harness
// cannot show: out-of-range indices give zeros, launches capture into a CUDA graph (no
// host waits), and what a kernel cannot run is Unsupported, naming the node.
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "kernel_runner.h"
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

// One `op` node in `graph` over fresh graph inputs shaped like `inputs`.
const ir::Node& add_op(ir::Graph& graph, const std::string& name, const std::string& op,
                       const std::vector<Tensor>& inputs, const Attrs& attrs) {
  std::vector<ir::Value*> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    args.push_back(graph.add_input(name + "_in" + std::to_string(i), inputs[i].dtype(),
                                   ir::Shape::from_dims(inputs[i].dims())));
  }
  ir::Node* node = graph.add_node(op, name, args, {name + "_out"});
  node->attrs = attrs;
  return *node;
}

// The CPU reference would reject these indices; the CUDA kernels write zeros for them.
TEST(CudaIndexingTest, OutOfRangeIndicesGiveZeros) {
  KILN_REQUIRE_GPU();
  Tensor data = Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  KernelRunner runner;
  {
    ir::Graph graph;
    Tensor indices = Tensor::from_vector<int64_t>({2, 3}, {0, 9, -1, -5, 3, 2});
    const ir::Node& node =
        add_op(graph, "elements", "GatherElements", {data, indices}, {{"axis", int64_t(1)}});
    std::vector<cuda::DeviceTensor> out{runner.poisoned(DType::Float32, {2, 3})};
    runner.launch(node, std::vector{runner.upload(data), runner.upload(indices)}, out);
    Tensor expected = Tensor::from_vector<float>({2, 3}, {1, 0, 4, 0, 8, 7});
    EXPECT_EQ(first_differing_element(runner.download(out[0]), expected), -1) << "GatherElements";
  }
  {
    ir::Graph graph;
    Tensor indices = Tensor::from_vector<int32_t>({3, 1}, {1, 7, -3});
    const ir::Node& node = add_op(graph, "nd", "GatherND", {data, indices}, {});
    std::vector<cuda::DeviceTensor> out{runner.poisoned(DType::Float32, {3, 4})};
    runner.launch(node, std::vector{runner.upload(data), runner.upload(indices)}, out);
    Tensor expected = Tensor::from_vector<float>({3, 4}, {5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(first_differing_element(runner.download(out[0]), expected), -1) << "GatherND";
  }
  EXPECT_EQ(runner.overwritten_guards(), "");
}

// The shape, indexing, Pad, Resize and ArgMax/ArgMin kernels, each as an op harness case in
// one precision.
std::vector<OpRun> captured_runs() {
  using Ints = std::vector<int64_t>;
  auto scalar = [](float value) { return given(Tensor::scalar<float>(value)); };
  return {
      {{.op = "Pad",
        .name = "Reflect",
        .inputs = {floats({2, 5, 6})},
        .attrs = {{"mode", std::string("reflect")}, {"pads", Ints{0, 1, 2, 0, 3, 1}}},
        .exact = true},
       Precision::FP16},
      {{.op = "Resize",
        .name = "Linear",
        .inputs = {floats({1, 2, 5, 7})},
        .attrs = {{"mode", std::string("linear")}, {"sizes", Ints{1, 2, 9, 4}}}},
       Precision::BF16},
      {{.op = "Resize",
        .name = "NearestInt64",
        .inputs = {data(DType::Int64, {2, 3, 4})},
        .attrs = {{"sizes", Ints{2, 6, 7}}}},
       Precision::FP32},
      {{.op = "ArgMax",
        .name = "LongRowsLastIndex",
        .inputs = {floats({4, 300})},
        .attrs = {{"axis", int64_t(1)}, {"select_last_index", int64_t(1)}}},
       Precision::FP32},
      {{.op = "ArgMin",
        .name = "Strided",
        .inputs = {floats({6, 5, 4})},
        .attrs = {{"axis", int64_t(1)}, {"keepdims", int64_t(0)}}},
       Precision::BF16},
      {{.op = "Shape", .name = "F32", .inputs = {floats({2, 3, 4})}}, Precision::FP32},
      {{.op = "Size", .name = "F32", .inputs = {floats({2, 3, 4})}}, Precision::FP32},
      {{.op = "Range", .name = "Up", .inputs = {scalar(0.5f), scalar(30.f), scalar(0.25f)}},
       Precision::FP32},
      {{.op = "ConstantOfShape",
        .name = "Int64",
        .inputs = {given(Tensor::from_vector<int64_t>({2}, {5, 6}))},
        .attrs = {{"value", Tensor::from_vector<int64_t>({1}, {9})}}},
       Precision::FP32},
      {{.op = "Trilu",
        .name = "K1",
        .inputs = {floats({3, 8, 8}), given(Tensor::scalar<int64_t>(1))},
        .exact = true},
       Precision::BF16},
      {{.op = "CumSum",
        .name = "Rows",
        .inputs = {floats({2, 500})},
        .attrs = {{"axis", int64_t(1)}}},
       Precision::FP32},
      {{.op = "GatherND",
        .name = "Slices",
        .inputs = {floats({4, 5}), typed(DType::Int64, {3, 2}, -4, 4)},
        .exact = true},
       Precision::FP16},
      {{.op = "GatherElements",
        .name = "Int64Data",
        .inputs = {data(DType::Int64, {4, 5}), typed(DType::Int32, {4, 3}, -5, 5)},
        .attrs = {{"axis", int64_t(1)}}},
       Precision::FP32},
  };
}

// No launch may wait for the host: the kernels are captured into a CUDA graph, which is
// then replayed, and the results must match the CPU reference.
TEST(CudaShapeOpsTest, KernelsCaptureIntoCudaGraph) {
  KILN_REQUIRE_GPU();
  std::vector<OpRun> runs = captured_runs();
  KernelRunner runner;
  runner.context().gemm_plans = nullptr;  // as while the runtime captures: nothing is timed
  runner.context().conv_plans = nullptr;
  std::vector<BuiltCase> built;
  std::vector<std::vector<cuda::DeviceTensor>> inputs, outputs;
  std::vector<std::vector<Tensor>> expected;
  for (const OpRun& run : runs) {
    built.push_back(build_case(run.op_case, run.precision));
    expected.push_back(reference_outputs(run.op_case, built.back()));
    inputs.emplace_back();
    for (const Tensor& value : built.back().input_values) {
      inputs.back().push_back(runner.upload(value));
    }
    outputs.emplace_back();
    for (const Tensor& value : expected.back()) {
      outputs.back().push_back(runner.poisoned(value.dtype(), value.dims()));
    }
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(runner.stream()));
  cuda::GraphExec replay = cuda::capture_graph(runner.stream(), [&] {
    for (size_t i = 0; i < runs.size(); ++i) runner.launch(*built[i].node, inputs[i], outputs[i]);
  });
  KILN_CUDA_CHECK(cudaGraphLaunch(replay.get(), runner.stream()));
  for (size_t i = 0; i < runs.size(); ++i) {
    std::vector<Tensor> actual;
    for (const cuda::DeviceTensor& output : outputs[i]) actual.push_back(runner.download(output));
    expect_outputs_match(runs[i].op_case, runs[i].precision, built[i], actual, expected[i]);
  }
  EXPECT_EQ(runner.overwritten_guards(), "");
}

// Straight to the kernels (the schemas would refuse these first): an activation the kernel
// lacks is Unsupported, naming the node, before anything is launched.
TEST(CudaFusedActivation, UnknownValuesAreUnsupported) {
  KILN_REQUIRE_GPU();
  struct Case {
    const char* op;
    const char* activation;
    std::vector<Dims> inputs;
    Dims output;
  };
  for (const Case& c : {Case{"Conv", "Gelu_tanh", {{1, 2, 5, 5}, {3, 2, 3, 3}}, {1, 3, 3, 3}},
                        Case{"MatMul", "Sigmoid", {{4, 8}, {8, 4}}, {4, 4}},
                        Case{"Gemm", "Gelu_erf", {{4, 8}, {8, 4}}, {4, 4}}}) {
    ir::Graph graph;
    ir::Node* node = graph.add_node(c.op, std::string("fused_") + c.op, {}, {"y"});
    node->attrs["fused_activation"] = std::string(c.activation);
    KernelRunner runner;
    std::vector<cuda::DeviceTensor> inputs;
    for (const Dims& dims : c.inputs) inputs.push_back(runner.poisoned(DType::Float32, dims));
    std::vector<cuda::DeviceTensor> outputs{runner.poisoned(DType::Float32, c.output)};
    try {
      runner.launch(*node, inputs, outputs);
      ADD_FAILURE() << c.op << ": no error for fused_activation " << c.activation;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Unsupported) << error.what();
      EXPECT_NE(std::string(error.what()).find(node->name), std::string::npos) << error.what();
    }
  }
}

// A KV cache is refused as Unsupported (so the executor runs the node on the host).
TEST(CudaAttentionTest, PastKeyValueIsRefusedAsUnsupported) {
  KILN_REQUIRE_GPU();
  ir::Graph graph;
  std::vector<ir::Value*> args;
  for (const char* name : {"q", "k", "v"}) {
    args.push_back(graph.add_input(name, DType::Float32, ir::Shape::from_dims({1, 1, 2, 8})));
  }
  ir::Node* node = graph.add_node("Attention", "cached", args, {"y"});
  cuda::CudaKernel kernel = cuda::find_cuda_kernel("Attention");
  ASSERT_NE(kernel, nullptr);
  cuda::LaunchContext context;
  std::vector<cuda::DeviceTensor> ins(5);
  for (size_t i : {0, 1, 2}) ins[i] = {DType::Float32, {1, 1, 2, 8}, nullptr};
  ins[4] = {DType::Float32, {1, 1, 3, 8}, nullptr};
  std::vector<cuda::DeviceTensor> outs(1, {DType::Float32, {1, 1, 2, 8}, nullptr});
  try {
    kernel(context, *node, ins, outs);
    FAIL() << "past_key was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(error.what()).find("cached"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace kiln::cuda_test
