// The engine builder's graph rewrites (epilogue, residual and projection fusions, padded
// products) keep what a model computes: each PyTorch fixture, built in fp32 without timing as
// `kiln build` rewrites it, then specialized to its inputs' sizes as an execution context
// does, runs on the CPU reference within fp32's tolerance of PyTorch's own outputs. The GPU
// suite (TimedBuildTest) runs the same rewrites' kernels.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <tuple>

#include "backends/cpu/executor.h"
#include "core/tensor_io.h"
#include "engine/build_engine.h"
#include "kiln/kiln.h"
#include "kiln/summary.h"
#include "passes/passes.h"

namespace kiln::engine {
namespace {

constexpr double kFp32Tolerance = 1e-4;  // normalized error against PyTorch FP32

std::filesystem::path fixture_folder(const std::string& name) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / name;
}

int count_op(const ir::Graph& graph, const std::string& op, size_t min_inputs = 0) {
  int count = 0;
  for (const ir::Node* node : graph.nodes()) {
    if (node->op == op && node->inputs.size() >= min_inputs) ++count;
  }
  return count;
}

// A fixture and its file's extension (.pt2 or .onnx).
class BuilderRewritesTest : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(BuilderRewritesTest, BuiltGraphMatchesPyTorchOnTheCpu) {
  const auto& [name, extension] = GetParam();
  const std::filesystem::path folder = fixture_folder(name);
  std::map<std::string, Tensor> inputs =
      read_safetensors(folder / (name + "_fp32_inputs.safetensors"));
  Tensor reference = read_safetensors(folder / (name + "_fp32_outputs.safetensors")).at("output_0");
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32};
  for (const auto& [input, tensor] : inputs) config.tuned_input_dims[input] = tensor.dims();
  const std::filesystem::path model = folder / (name + "_fp32" + extension);
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " is not a fixture";
  BuildResult built = build_engine(load_model(model), config, nullptr, nullptr);
  ir::Graph specialized = passes::specialize_shapes(built.graph, config.tuned_input_dims);
  std::vector<Tensor> outputs = cpu::Executor(specialized).run(inputs);
  ASSERT_FALSE(outputs.empty());
  ASSERT_EQ(outputs[0].dims(), reference.dims());
  double error = normalized_error(outputs[0], reference);
  EXPECT_LE(error, kFp32Tolerance) << model << ": normalized error " << error;
  // Transformers' residual adds joined their products (input 3 of a MatMul).
  if (name == "bert" || name == "gpt2" || name == "llama" || name == "vit") {
    EXPECT_GT(count_op(built.graph, "MatMul", 4), 0) << model << ": no residual was fused";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BuilderRewritesTest,
                         testing::Combine(testing::Values("mlp", "resnet", "bert", "gpt2", "llama",
                                                          "vit", "encoder", "t5", "mobilenet",
                                                          "unet"),
                                          testing::Values(".pt2", ".onnx")));

}  // namespace
}  // namespace kiln::engine
