// Whole models, not one op: the PyTorch-exported ONNX fixtures (tests/models/fixtures; .pt2
// where the ONNX exporter failed) on the
// GPU with {fp32} and {fp32,bf16}, against PyTorch's own outputs. Ops without a CUDA kernel run on
// the host through the CPU kernels; the test lists them so the report shows what is still missing.
#include <filesystem>

#include "backends/cuda/runtime/cuda_executor.h"
#include "core/tensor_io.h"
#include "cuda_test_util.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln {
namespace {

constexpr double kFp32FixtureTolerance = 1e-4;
constexpr double kBf16FixtureTolerance = 2e-2;

class CudaFixtureTest : public testing::TestWithParam<std::string> {};

TEST_P(CudaFixtureTest, MatchesPyTorch) {
  KILN_REQUIRE_GPU();
  std::filesystem::path folder =
      std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / GetParam();
  std::string stem = GetParam() + "_fp32";
  std::map<std::string, Tensor> inputs = read_safetensors(folder / (stem + "_inputs.safetensors"));
  Tensor reference = read_safetensors(folder / (stem + "_outputs.safetensors")).at("output_0");
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims[name] = tensor.dims();
  // The ONNX export, or the .pt2 where PyTorch's ONNX exporter failed (T5).
  std::filesystem::path model = folder / (stem + ".onnx");
  if (!std::filesystem::exists(model)) model = folder / (stem + ".pt2");
  for (const std::set<Precision>& enabled :
       {std::set{Precision::FP32}, std::set{Precision::FP32, Precision::BF16}}) {
    ir::Graph graph = load_model(model);
    passes::assign_precisions(graph, enabled, false);
    cuda::CudaExecutor executor(graph, dims, {.poison_values = true});
    std::vector<Tensor> outputs = executor.run(inputs);
    ASSERT_EQ(outputs.size(), 1u);
    ASSERT_EQ(outputs[0].dims(), reference.dims());
    double error = normalized_error(outputs[0], reference);
    double tolerance =
        enabled.count(Precision::BF16) ? kBf16FixtureTolerance : kFp32FixtureTolerance;
    std::string host;
    for (const std::string& node : executor.host_nodes()) host += " " + node;
    EXPECT_LE(error, tolerance) << GetParam() << " with " << precisions_to_string(enabled)
                                << ": normalized error " << error;
    std::cout << GetParam() << " " << precisions_to_string(enabled) << ": error " << error << ", "
              << executor.host_nodes().size() << " host nodes"
              << (host.size() > 300 ? host.substr(0, 300) + " ..." : host) << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorchExports, CudaFixtureTest,
                         testing::Values("mlp", "resnet", "encoder", "gpt2", "bert", "mobilenet",
                                         "vit", "llama", "t5", "unet"));

}  // namespace
}  // namespace kiln
