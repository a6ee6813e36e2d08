// Modules compiled with torch.jit.script by real PyTorch 2.11 (make_fixtures.py --scripted):
// a straight-line MLP imports (given its input shapes, which scripted archives do not
// record) and matches PyTorch; forwards with a loop or a data-dependent branch are refused
// with an error naming the construct and its source line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/tensor_io.h"
#include "frontends/torchscript/torchscript_importer.h"
#include "kiln/kiln.h"
#include "models/model_tolerances.h"
#include "passes/passes.h"

namespace kiln {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::filesystem::path scripted(const std::string& name) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures/scripted" / name;
}

double scripted_mlp_error(const std::string& stored, std::set<Precision> precisions,
                          bool strongly_typed) {
  auto inputs = read_safetensors(scripted("mlp_scripted_" + stored + "_inputs.safetensors"));
  Tensor reference =
      read_safetensors(scripted("mlp_scripted_" + stored + "_outputs.safetensors")).at("output_0");
  const Tensor& x = inputs.at("x");
  ir::Graph graph = torchscript::import_torchscript_file(scripted("mlp_scripted_" + stored + ".pt"),
                                                         {{x.dtype(), x.dims()}});
  passes::optimize(graph);
  CpuSession session(std::move(graph), std::move(precisions), strongly_typed);
  auto outputs = session.run(inputs);
  EXPECT_EQ(outputs.size(), 1u);
  return normalized_error(outputs.begin()->second, reference);
}

TEST(ScriptedModules, StraightLineMlpMatchesPyTorch) {
  EXPECT_LE(scripted_mlp_error("fp32", {Precision::FP32}, false), kFp32Tolerance);
  EXPECT_LE(scripted_mlp_error("fp32", {Precision::FP32, Precision::BF16}, false), kBf16Tolerance);
  EXPECT_LE(scripted_mlp_error("bf16", {Precision::BF16}, true), kBf16Tolerance);
}

std::string import_error(const std::string& file,
                         const std::vector<torchscript::InputSpec>& inputs) {
  try {
    torchscript::import_torchscript_file(scripted(file), inputs);
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << file << " imported although its forward has control flow";
  return "";
}

TEST(ScriptedModules, LoopIsRefusedNamingItsLine) {
  // forward(self, x: Tensor, n: int): n arrives as a 0-d int64 tensor.
  EXPECT_THAT(import_error("loop.pt", {{DType::Float32, {2, 3}}, {DType::Int64, {}}}),
              AllOf(HasSubstr("for"), HasSubstr("line")));
}

TEST(ScriptedModules, DataDependentBranchIsRefusedNamingItsLine) {
  // `if bool(x.sum() > 0):` fails at the bool() of a tensor value.
  EXPECT_THAT(import_error("branch.pt", {{DType::Float32, {2, 3}}}),
              AllOf(HasSubstr("line 8"), HasSubstr("bool() of a tensor")));
}

}  // namespace
}  // namespace kiln
