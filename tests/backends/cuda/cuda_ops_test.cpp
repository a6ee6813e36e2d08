// Every op with a CUDA kernel, on fresh random inputs, in each precision that applies,
// against the CPU reference executor run with the same node precisions. Outputs are
// poisoned (NaN bytes) before launch; NaN never passes.
#include <functional>

#include "backends/cpu/executor.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln {
namespace {

struct InputSpec {
  Dims dims;
  DType dtype = DType::Float32;
  double low = -3;
  double high = 3;
  std::optional<Tensor> constant;  // a weight / parameter instead of a graph input
};

struct OpCase {
  std::string name;
  std::string op;
  std::vector<InputSpec> inputs;
  std::map<std::string, ir::AttrValue> attrs;
  bool float_math = true;  // runs in fp16/bf16 too
};

InputSpec f32(Dims dims, double low = -3, double high = 3) {
  return {dims, DType::Float32, low, high, {}};
}
InputSpec of(DType dtype, Dims dims, double low = -3, double high = 3) {
  return {dims, dtype, low, high, {}};
}
InputSpec ints(std::vector<int64_t> values) {
  return {{int64_t(values.size())},
          DType::Int64,
          0,
          0,
          Tensor::from_vector<int64_t>({int64_t(values.size())}, values)};
}
InputSpec weight(Dims dims, double low = -1, double high = 1) {
  return {dims, DType::Float32, low, high,
          cuda_test::random_tensor(DType::Float32, dims, low, high, 99)};
}

std::vector<OpCase> all_cases() {
  std::vector<OpCase> cases;
  for (const char* op : {"Relu", "Erf", "Tanh", "Sigmoid", "HardSwish", "Neg", "Exp"}) {
    cases.push_back({op, op, {f32({3, 5, 67})}});
  }
  cases.push_back({"Log", "Log", {f32({4, 33}, 0.1, 5)}});
  cases.push_back({"Sqrt", "Sqrt", {f32({4, 33}, 0.1, 5)}});
  cases.push_back({"Reciprocal", "Reciprocal", {f32({4, 33}, 0.5, 5)}});
  cases.push_back({"Gelu", "Gelu", {f32({7, 129})}});
  cases.push_back({"GeluTanh", "Gelu", {f32({7, 129})}, {{"approximate", std::string("tanh")}}});
  cases.push_back({"HardSigmoid", "HardSigmoid", {f32({2, 50})}, {{"alpha", 0.25}, {"beta", 0.4}}});
  cases.push_back({"Clip",
                   "Clip",
                   {f32({6, 31}),
                    {{}, DType::Float32, 0, 0, Tensor::scalar<float>(-1.f)},
                    {{}, DType::Float32, 0, 0, Tensor::scalar<float>(1.5f)}}});
  for (const char* op : {"Add", "Sub", "Mul", "Max", "Min"}) {
    cases.push_back({std::string(op) + "Broadcast", op, {f32({2, 3, 1, 17}), f32({4, 1})}});
    cases.push_back({std::string(op) + "Same", op, {f32({8, 33}), f32({8, 33})}});
  }
  cases.push_back({"Div", "Div", {f32({5, 40}), f32({40}, 0.5, 3)}});
  cases.push_back({"Pow", "Pow", {f32({5, 40}, 0.1, 3), f32({1}, 0.5, 2)}});
  cases.push_back({"MaxVariadic", "Max", {f32({3, 4}), f32({4}), f32({3, 1})}});
  cases.push_back({"AddInt32",
                   "Add",
                   {of(DType::Int32, {4, 9}, -50, 50), of(DType::Int32, {9}, -50, 50)},
                   {},
                   false});
  cases.push_back({"MulInt64",
                   "Mul",
                   {of(DType::Int64, {4, 9}, -50, 50), of(DType::Int64, {4, 9}, -50, 50)},
                   {},
                   false});
  cases.push_back({"DivInt64",
                   "Div",
                   {of(DType::Int64, {4, 9}, -50, 50), of(DType::Int64, {1}, 1, 7)},
                   {},
                   false});
  for (const char* op : {"Equal", "Less", "Greater"}) {
    cases.push_back(
        {op, op, {of(DType::Int64, {3, 8}, -3, 3), of(DType::Int64, {8}, -3, 3)}, {}, false});
    cases.push_back({std::string(op) + "Float", op, {f32({3, 8}), f32({3, 8})}, {}, false});
  }
  cases.push_back(
      {"And", "And", {of(DType::Bool, {4, 6}, 0, 2), of(DType::Bool, {6}, 0, 2)}, {}, false});
  cases.push_back({"Not", "Not", {of(DType::Bool, {4, 6}, 0, 2)}, {}, false});
  cases.push_back({"IsNaN", "IsNaN", {f32({4, 6})}, {}, false});
  cases.push_back(
      {"Where", "Where", {of(DType::Bool, {3, 1}, 0, 2), f32({3, 10}), f32({10})}, {}, false});
  for (DType to : {DType::Float16, DType::BFloat16, DType::Int32, DType::Int64, DType::Bool}) {
    cases.push_back({"CastTo" + std::string(dtype_name(to)),
                     "Cast",
                     {f32({5, 21}, -40, 40)},
                     {{"to", int64_t(to)}},
                     false});
  }
  cases.push_back({"CastInt64ToFloat",
                   "Cast",
                   {of(DType::Int64, {5, 21}, -400, 400)},
                   {{"to", int64_t(DType::Float32)}},
                   false});
  cases.push_back({"SoftmaxLast", "Softmax", {f32({3, 4, 300}, -5, 5)}});
  cases.push_back({"SoftmaxMiddle", "Softmax", {f32({3, 7, 5})}, {{"axis", int64_t(1)}}});
  cases.push_back(
      {"LayerNorm", "LayerNormalization", {f32({4, 5, 96}), weight({96}), weight({96})}});
  cases.push_back({"LayerNormNoBias", "LayerNormalization", {f32({6, 64}), weight({64})}});
  cases.push_back(
      {"BatchNorm",
       "BatchNormalization",
       {f32({2, 3, 5, 7}), weight({3}), weight({3}), weight({3}), weight({3}, 0.5, 2)}});
  cases.push_back(
      {"ReduceMeanLast", "ReduceMean", {f32({4, 6, 50})}, {{"axes", std::vector<int64_t>{-1}}}});
  cases.push_back({"ReduceSumMiddle",
                   "ReduceSum",
                   {f32({4, 6, 50})},
                   {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(0)}}});
  cases.push_back({"ReduceMaxAll", "ReduceMax", {f32({4, 6, 5})}});
  cases.push_back({"Transpose",
                   "Transpose",
                   {f32({2, 3, 4, 5})},
                   {{"perm", std::vector<int64_t>{0, 2, 3, 1}}},
                   false});
  cases.push_back({"TransposeBf16", "Transpose", {of(DType::BFloat16, {6, 7})}, {}, false});
  cases.push_back({"Reshape", "Reshape", {f32({2, 3, 4}), ints({6, -1})}, {}, false});
  cases.push_back({"Flatten", "Flatten", {f32({2, 3, 4})}, {{"axis", int64_t(2)}}, false});
  cases.push_back(
      {"Unsqueeze", "Unsqueeze", {f32({2, 3})}, {{"axes", std::vector<int64_t>{0}}}, false});
  cases.push_back(
      {"Squeeze", "Squeeze", {f32({2, 1, 3})}, {{"axes", std::vector<int64_t>{1}}}, false});
  cases.push_back({"Expand", "Expand", {f32({3, 1}), ints({2, 3, 4})}, {}, false});
  cases.push_back({"Slice",
                   "Slice",
                   {f32({6, 10}), ints({1, -8}), ints({5, 100}), ints({0, 1}), ints({2, 3})},
                   {},
                   false});
  cases.push_back({"SliceReverse",
                   "Slice",
                   {f32({6, 10}), ints({-1}), ints({-100}), ints({1}), ints({-2})},
                   {},
                   false});
  cases.push_back(
      {"Concat", "Concat", {f32({2, 3}), f32({2, 5}), f32({2, 1})}, {{"axis", int64_t(1)}}, false});
  cases.push_back(
      {"Gather",
       "Gather",
       {f32({5, 4, 3}),
        {{2, 2}, DType::Int64, 0, 0, Tensor::from_vector<int64_t>({2, 2}, {0, -1, 3, 2})}},
       {{"axis", int64_t(1)}},
       false});
  cases.push_back(
      {"GatherIndicesInput", "Gather", {f32({7, 3}), of(DType::Int64, {4}, -7, 7)}, {}, false});
  return cases;
}

struct Built {
  ir::Graph graph;
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Dims> dims;
};

Built build(const OpCase& c, uint32_t seed, size_t outputs) {
  Built built;
  std::vector<ir::Value*> args;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const InputSpec& spec = c.inputs[i];
    std::string name = "in" + std::to_string(i);
    if (spec.constant) {
      args.push_back(built.graph.add_constant(name, *spec.constant));
      continue;
    }
    args.push_back(built.graph.add_input(name, spec.dtype, ir::Shape::from_dims(spec.dims)));
    built.inputs[name] =
        cuda_test::random_tensor(spec.dtype, spec.dims, spec.low, spec.high, seed + uint32_t(i));
    built.dims[name] = spec.dims;
  }
  std::vector<std::string> output_names;
  for (size_t i = 0; i < outputs; ++i) output_names.push_back("out" + std::to_string(i));
  ir::Node* node = built.graph.add_node(c.op, c.name, args, output_names);
  node->attrs = c.attrs;
  for (ir::Value* output : node->outputs) built.graph.add_output(output);
  ir::infer_graph(built.graph);
  return built;
}

void PrintTo(const OpCase& c, std::ostream* out) { *out << c.name; }

class CudaOpTest : public testing::TestWithParam<OpCase> {};

TEST_P(CudaOpTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const OpCase& c = GetParam();
  std::vector<Precision> precisions = {Precision::FP32};
  if (c.float_math) precisions = {Precision::FP32, Precision::FP16, Precision::BF16};
  uint32_t seed = 1234;
  for (Precision precision : precisions) {
    Built built = build(c, seed++, 1);
    std::set<Precision> enabled = {Precision::FP32, precision};
    passes::assign_precisions(built.graph, enabled, false);
    std::vector<Tensor> expected = cpu::Executor(built.graph).run(built.inputs);
    cuda::CudaExecutor executor(built.graph, built.dims, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(built.inputs);
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
      ASSERT_EQ(actual[i].dtype(), expected[i].dtype());
      ASSERT_EQ(actual[i].dims(), expected[i].dims());
      double error = normalized_error(actual[i], expected[i]);
      EXPECT_LE(error, cuda_test::tolerance_for(precision))  // NaN fails this too
          << c.name << " in " << precision_name(precision) << ": normalized error " << error;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaOpTest, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<OpCase>& info) {
                           return info.param.name;
                         });

TEST(CudaExecutorTest, SplitWritesEveryOutput) {
  KILN_REQUIRE_GPU();
  OpCase c{"Split",
           "Split",
           {f32({4, 9})},
           {{"axis", int64_t(1)}, {"split", std::vector<int64_t>{2, 3, 4}}},
           false};
  Built built = build(c, 7, 3);
  std::vector<Tensor> expected = cpu::Executor(built.graph).run(built.inputs);
  cuda::CudaExecutor executor(built.graph, built.dims, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(built.inputs);
  ASSERT_EQ(actual.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(normalized_error(actual[i], expected[i]), 0.0) << i;
}

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
  std::map<std::string, Tensor> inputs{
      {"x", cuda_test::random_tensor(DType::Float32, {3, 40}, -2, 2, 5)}};
  std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
  cuda::CudaExecutor executor(graph, {{"x", {3, 40}}}, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(inputs);
  ASSERT_EQ(actual[0].dtype(), DType::Float32);
  EXPECT_LE(normalized_error(actual[0], expected[0]), cuda_test::tolerance_for(Precision::FP16));
  // Running twice gives the same answer (no state left from the first run).
  EXPECT_EQ(normalized_error(executor.run(inputs)[0], actual[0]), 0.0);
}

}  // namespace
}  // namespace kiln
