// One small model per ATen op form that Kiln writes as several core ops, made by real PyTorch
// (tests/models/aten_ops/make_aten_op_fixtures.py) as torch.export (.pt2, both dialects), a
// TorchScript trace (.pt) and ONNX: each loads (with the optimizing passes), runs on the CPU
// reference and matches PyTorch's outputs (test_support/aten_op_cases.h). The GPU runs the same
// cases in tests/backends/cuda/aten_op_fixtures_cuda_test.cpp.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "test_support/aten_op_cases.h"

namespace kiln {
namespace {

using test_support::OpCase;

std::string case_name(const testing::TestParamInfo<OpCase>& info) {
  return info.param.name + "_" + info.param.format;
}

class AtenOpFixtureTest : public testing::TestWithParam<OpCase> {};

TEST_P(AtenOpFixtureTest, MatchesPyTorchOnTheCpuReference) {
  const OpCase& op = GetParam();
  if (!op.skip_reason.empty()) GTEST_SKIP() << "PyTorch's exporter failed: " << op.skip_reason;
  if (!op.known_gap.empty()) {
    try {
      load_model(op.model_path());
    } catch (const Error& error) {
      if (error.kind() == ErrorKind::Unsupported) GTEST_SKIP() << "known gap: " << op.known_gap;
      throw;
    }
    FAIL() << "listed in known_gaps.txt but imports now: remove it there";
  }
  std::map<std::string, Tensor> reference = op.reference();
  CpuSession session(load_model(op.model_path()), {Precision::FP32}, false);
  const ir::Graph& graph = session.graph();
  ASSERT_EQ(graph.inputs().size(), static_cast<size_t>(op.inputs));
  std::map<std::string, Tensor> inputs;
  for (int i = 0; i < op.inputs; ++i) {
    inputs[graph.inputs()[static_cast<size_t>(i)]->name] =
        reference.at("input_" + std::to_string(i));
  }
  std::map<std::string, Tensor> outputs = session.run(inputs);
  ASSERT_EQ(graph.outputs().size(), static_cast<size_t>(op.outputs));
  for (int i = 0; i < op.outputs; ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    test_support::expect_matches_pytorch(outputs.at(graph.outputs()[static_cast<size_t>(i)]->name),
                                         reference.at("output_" + std::to_string(i)), op.tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(AtenOps, AtenOpFixtureTest,
                         testing::ValuesIn(test_support::all_op_cases()), case_name);

}  // namespace
}  // namespace kiln
