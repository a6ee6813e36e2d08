// The one-op PyTorch exports of tests/models/aten_ops on the GPU: each imports, runs through
// the CUDA executor in fp32 (poisoned buffers, so an unwritten output shows) and matches
// PyTorch's outputs as the CPU reference must (test_support/aten_op_cases.h), with float
// tolerances of at least 2e-6 for the GPU's own rounding of transcendental functions. Ops
// without a CUDA kernel run on the host and are printed.
#include <gtest/gtest.h>

#include <iostream>

#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "kiln/kiln.h"
#include "passes/passes.h"
#include "test_support/aten_op_cases.h"

namespace kiln {
namespace {

using test_support::OpCase;

std::vector<OpCase> importable_cases() {
  std::vector<OpCase> cases;
  for (const OpCase& op : test_support::all_op_cases()) {
    if (op.skip_reason.empty() && op.known_gap.empty()) cases.push_back(op);
  }
  return cases;
}

std::string case_name(const testing::TestParamInfo<OpCase>& info) {
  return info.param.name + "_" + info.param.format;
}

class AtenOpCudaTest : public testing::TestWithParam<OpCase> {};

TEST_P(AtenOpCudaTest, MatchesPyTorchOnTheGpu) {
  KILN_REQUIRE_GPU();
  const OpCase& op = GetParam();
  std::map<std::string, Tensor> reference = op.reference();
  ir::Graph graph = load_model(op.model_path());
  passes::assign_precisions(graph, {Precision::FP32}, false);
  ASSERT_EQ(graph.inputs().size(), static_cast<size_t>(op.inputs));
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Dims> dims;
  for (int i = 0; i < op.inputs; ++i) {
    const std::string& name = graph.inputs()[static_cast<size_t>(i)]->name;
    inputs[name] = reference.at("input_" + std::to_string(i));
    dims[name] = inputs[name].dims();
  }
  cuda::CudaExecutor executor(graph, dims, {.poison_values = true});
  std::vector<Tensor> outputs = executor.run(inputs);
  ASSERT_EQ(outputs.size(), static_cast<size_t>(op.outputs));
  std::optional<double> tolerance = op.tolerance;
  if (tolerance && *tolerance > 0) tolerance = std::max(*tolerance, 2e-6);
  for (int i = 0; i < op.outputs; ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    test_support::expect_matches_pytorch(outputs[static_cast<size_t>(i)],
                                         reference.at("output_" + std::to_string(i)), tolerance);
  }
  if (!executor.host_nodes().empty()) {
    std::cout << op.name << "_" << op.format << ": " << executor.host_nodes().size()
              << " host nodes\n";
  }
}

INSTANTIATE_TEST_SUITE_P(AtenOps, AtenOpCudaTest, testing::ValuesIn(importable_cases()), case_name);

}  // namespace
}  // namespace kiln
